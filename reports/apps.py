from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    label = "reports"

    def ready(self) -> None:
        from reports import handlers  # noqa: F401  registers the rollup subscribers
