"""OCPP 2.0.1 (edition 3): the only package besides `v16/` that knows 2.0.1 wire actions and
fields. Its handlers, rules and codec reach the consumer through `ocpp_gateway.protocols`."""
