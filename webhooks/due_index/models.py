"""The public due index of merchant webhooks: one row per merchant with deliveries waiting, carrying the
earliest time one of them can be sent. The beat sweep reads this table (an index on `due_at`) instead of
looping over every merchant schema; the merchant side keeps it up to date (webhooks.scheduling)."""
from django.db import models


class WebhookDueMerchant(models.Model):
    merchant_id = models.BigIntegerField(unique=True)  # tenants.Merchant, public
    schema_name = models.CharField(max_length=63)
    due_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "merchant with webhook deliveries due"

    def __str__(self) -> str:
        return f"{self.schema_name} due {self.due_at:%Y-%m-%d %H:%M:%S}"
