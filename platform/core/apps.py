from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    label = "core"
    verbose_name = "Platform core"

    def ready(self):
        # Bind shared tasks to our Celery app in every process (web, worker, tests).
        import config.celery  # noqa: F401
