from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Merchant webhooks: endpoints and deliveries, in each merchant's schema."""

    name = "webhooks"
    label = "webhooks"

    def ready(self):
        from webhooks import handlers  # noqa: F401  registers the outbox subscribers
