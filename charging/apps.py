from django.apps import AppConfig


class ChargingConfig(AppConfig):
    name = "charging"
    verbose_name = "Charging"

    def ready(self) -> None:
        # Connect their command_settled receivers.
        from charging import command_forms, command_rules, console, local_list, reservations, smart_charging  # noqa: F401

        command_forms.register()
        command_rules.register()
        console.register()  # the running session of each connector, on the charger page
