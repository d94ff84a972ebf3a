from django.apps import AppConfig


class SubordersConfig(AppConfig):
    name = "suborders"
    label = "suborders"

    def ready(self) -> None:
        from suborders import cancellation_notices  # noqa: F401  registers the cancellation emails (outbox)
