from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    """Returns (RMA), exchanges and refund-only requests: the merchant's books (tenant app)."""

    name = "returns"
    label = "returns"
    verbose_name = "Returns and exchanges"

    def ready(self):
        from returns import handlers  # noqa: F401  registers outbox handlers (shopper emails)
