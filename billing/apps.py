from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        from billing import console, receivers  # noqa: F401  (receivers: prices sessions when they complete)
        from billing.selectors import cost_summary
        from billing.services import total_cost_of_completed_session
        from charging.pricing import register_cost_reader, register_pricer

        # Chargers that take the total cost in the answer to a transaction's last event get it
        # (2.0.1 I03.FR.02); the price is stored then, and again by the task the completion sends.
        register_pricer(total_cost_of_completed_session)
        # The charger page shows the cost so far of running sessions; the session page the
        # stored price and its receipt.
        console.register()
        register_cost_reader(cost_summary)
