"""The OCPP 2.0.1 device model of each station (2.0.1 part 1 "Device model", part 2 B07/B08,
N02, N07/N08): its components and variables as the station reported them (NotifyReport), its
monitors (NotifyMonitoringReport) and its events (NotifyEvent). Version-neutral in its API:
the gateway maps payloads to the dataclasses of `services`, the admin and the API read through
`selectors`. The models are imported by `sites.models` (one app, one set of migrations)."""
