from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    label = "imports"
    verbose_name = "Channel order imports"

    def ready(self) -> None:
        from imports import tasks  # noqa: F401  registers the Celery task wherever Django starts (web and worker)
