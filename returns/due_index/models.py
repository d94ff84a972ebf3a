"""The public due index of returns: one row per open return that has a deadline (the merchant must answer,
or the shopper must ship). The beat sweep reads this table (an index on `due_at`) once across all merchants
instead of looping over every merchant schema; returns.services._transition is its only writer."""
from django.db import models


class ReturnDue(models.Model):
    merchant_id = models.BigIntegerField()  # tenants.Merchant, public
    return_id = models.BigIntegerField()  # returns.ReturnRequest in that merchant's schema
    kind = models.CharField(max_length=16)  # "answer" (auto-approve) | "ship" (close)
    due_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant_id", "return_id"], name="return_due_uniq")]

    def __str__(self) -> str:
        return f"return {self.merchant_id}/{self.return_id} {self.kind} due {self.due_at:%Y-%m-%d %H:%M}"
