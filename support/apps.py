from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    label = "support"
    verbose_name = "Support: tickets, SLA clocks and disputes"

    def ready(self):
        from support import handlers  # noqa: F401  registers outbox subscribers
