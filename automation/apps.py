from django.apps import AppConfig


class AutomationConfig(AppConfig):
    name = "automation"
    label = "automation"
    verbose_name = "Automation rules"

    def ready(self):
        from automation import handlers  # noqa: F401  registers outbox handlers
