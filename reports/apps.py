from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    label = "reports"

    def ready(self) -> None:
        from reports import (
            export_notices,  # noqa: F401  the export-ready email subscriber
            handlers,  # noqa: F401  registers the rollup subscribers
        )
