"""Automation rules of one merchant (merchant schema): when a suborder event happens and the rule's
conditions hold, its actions run as the rule's owner. Every firing is a RuleRun (one per rule and
outbox event); shoppers' tags (CustomerTag) feed the customer-tag condition."""
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Trigger(models.TextChoices):
    PAID = "paid", _("Suborder paid")
    ACCEPTED = "accepted", _("Suborder accepted")
    LATE = "late", _("Suborder late to ship")
    SHIPPED = "shipped", _("Suborder shipped")
    LINE_OUT_OF_STOCK = "line_out_of_stock", _("Paid with a line out of stock in its warehouse")
    # Declared now; fires once returns exist (a later issue emits suborder.changed with action "return_requested").
    RETURN_REQUESTED = "return_requested", _("Return requested")


class AutomationRule(models.Model):
    name = models.CharField(max_length=120)
    trigger = models.CharField(max_length=32, choices=Trigger.choices)
    conditions = models.JSONField(default=dict, blank=True)  # automation.rules.clean_conditions: all must hold
    actions = models.JSONField(default=list)  # automation.rules.clean_actions: run in this order
    position = models.PositiveIntegerField()  # the store's rules are evaluated in this order (lowest first)
    enabled = models.BooleanField(default=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["trigger", "position"], name="automation_rule_trigger_idx",
                                condition=models.Q(enabled=True))]

    def __str__(self) -> str:
        return self.name


class RuleRun(models.Model):
    """One firing of a rule on a suborder for one outbox event: what it did and what it was refused."""

    class Outcome(models.TextChoices):
        DONE = "done", _("Done")
        PARTIAL = "partial", _("Partly refused")
        REFUSED = "refused", _("Refused")

    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="runs")
    rule_name = models.CharField(max_length=120)  # as it was when it fired
    suborder = models.ForeignKey("suborders.SubOrder", on_delete=models.CASCADE, related_name="rule_runs")
    event_id = models.BigIntegerField()  # the outbox event (public core_outboxevent.id) that triggered it
    trigger = models.CharField(max_length=32, choices=Trigger.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    actions = models.JSONField(default=list)  # [{"type": "accept", "status": "done"|"refused", "detail": "..."}]
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["rule", "event_id"], name="automation_run_once_per_event")]
        indexes = [models.Index(fields=["suborder", "id"], name="automation_run_suborder_idx")]


class CustomerTag(models.Model):
    """The store's own labels for a shopper (by email): "vip", "wholesale", "fraud-watch"."""

    email = models.EmailField(unique=True)  # stored lower-case
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["email"]
