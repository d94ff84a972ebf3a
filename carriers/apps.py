from django.apps import AppConfig


class CarriersConfig(AppConfig):
    name = "carriers"
    label = "carriers"
    verbose_name = "Carriers"

    def ready(self) -> None:
        from carriers import services  # noqa: F401  registers the tracking-index read-model writers
