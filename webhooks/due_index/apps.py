from django.apps import AppConfig


class WebhooksDueIndexConfig(AppConfig):
    """The public side of merchant webhooks: which merchants have deliveries due, and when."""

    name = "webhooks.due_index"
    label = "webhooks_due"
