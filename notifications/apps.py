from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    label = "notifications"

    def ready(self):
        from notifications import handlers  # noqa: F401  registers outbox handlers
