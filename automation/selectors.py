"""Reads of automation rules (merchant schema): the rule list, a suborder's facts for the conditions,
run history, and the dry run (what a rule would have done to past suborders, reading only)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from automation.models import AutomationRule, CustomerTag, RuleRun, Trigger
from automation.rules import ACTION_CAPABILITY, CONDITION_LABELS, Facts, describe_action, first_failed
from core.errors import NotFound
from core.tenancy import current_merchant, merchant_only

# The suborder timeline action that marks each trigger's moment (the dry run reads it from SubOrderEvent).
PAID = ("paid", "imported")  # imported orders arrive paid on their own channel
TRIGGER_EVENT_ACTION = {Trigger.PAID: PAID, Trigger.LINE_OUT_OF_STOCK: PAID, Trigger.ACCEPTED: ("accepted",),
                        Trigger.LATE: ("late",), Trigger.SHIPPED: ("shipped",), Trigger.RETURN_REQUESTED: ("return_requested",)}
DRY_RUN_MAX = 500


@merchant_only
def rule_list():
    return AutomationRule.objects.select_related("owner").order_by("position", "id")


@merchant_only
def rule_get(*, rule_id: int) -> AutomationRule:
    rule = AutomationRule.objects.select_related("owner").filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("No such automation rule in this store."), field="rule_id")
    return rule


@merchant_only
def rules_enabled_for(*, triggers: list[str]) -> list[AutomationRule]:
    return list(AutomationRule.objects.select_related("owner").filter(enabled=True, trigger__in=triggers).order_by("position", "id"))


@merchant_only
def rule_runs(*, rule_id: int | None = None, limit: int = 200):
    runs = RuleRun.objects.select_related("suborder", "actor").order_by("-id")
    if rule_id is not None:
        runs = runs.filter(rule_id=rule_id)
    return list(runs[:limit])


@merchant_only
def rule_runs_for_suborder(*, suborder_id: int) -> list[RuleRun]:
    return list(RuleRun.objects.filter(suborder_id=suborder_id).select_related("actor").order_by("id"))


@merchant_only
def customer_tag_list():
    return CustomerTag.objects.order_by("email")


def customer_tags_of(email: str) -> set[str]:
    row = CustomerTag.objects.filter(email=(email or "").strip().lower()).only("tags").first()
    return set(row.tags) if row else set()


def staff_emails() -> set[str]:
    """Lower-case emails of this store's active members (notify_staff may email only them)."""
    from permissions.models import Membership

    return {e.lower() for e in Membership.objects.filter(merchant_id=current_merchant().pk, is_active=True)
            .values_list("user__email", flat=True)}


def lines_out_of_stock(so) -> list[str]:
    """SKUs of the suborder's lines with nothing left available in its warehouse."""
    from catalog.models import StockLevel

    variant_ids = {ln.variant_id: ln.sku for ln in so.lines.all()}
    levels = {lv.variant_id: lv.available for lv in StockLevel.objects.filter(variant_id__in=variant_ids, warehouse_id=so.warehouse_id)}
    return sorted(sku for vid, sku in variant_ids.items() if levels.get(vid, 0) <= 0)


def suborder_facts(so, *, at: datetime) -> Facts:
    from catalog.models import Variant

    lines = list(so.lines.all())
    categories: set[str] = set()
    for v in Variant.objects.filter(pk__in=[ln.variant_id for ln in lines]).select_related("product__category__parent"):
        cat = v.product.category
        while cat is not None and len(categories) < 50:
            categories.add(cat.name.lower())
            cat = cat.parent
    return Facts(total_minor=so.total_minor, region=str((so.shipping_address or {}).get("region", "")),
                 skus={ln.sku for ln in lines}, categories=categories, channel=so.channel or "mallard",
                 customer_tags=customer_tags_of(so.shopper_email), at=at)


# --- dry run -----------------------------------------------------------------------------------------------

@dataclass
class DryRunRow:
    suborder_id: int
    number: str
    triggered_at: datetime | None
    matched: bool
    why_not: str  # the trigger never happened, or the first condition that failed
    actions: list[dict]  # [{"type", "label", "allowed", "reason"}]


@merchant_only
def rule_dry_run(*, rule: AutomationRule, last: int = 50, since: datetime | None = None, until: datetime | None = None) -> list[DryRunRow]:
    """For the last `last` suborders (or those created in [since, until)), newest first: whether the rule's
    trigger happened, whether its conditions held then, and each action it would have taken and whether its
    owner may take it today. Reads only: nothing is written, no event is emitted."""
    from permissions.selectors import user_can
    from suborders.models import SubOrder, SubOrderEvent

    merchant = current_merchant()
    suborders = SubOrder.objects.prefetch_related("lines").order_by("-id")
    if since is not None:
        suborders = suborders.filter(created_at__gte=since)
    if until is not None:
        suborders = suborders.filter(created_at__lt=until)
    suborders = list(suborders[:max(1, min(last, DRY_RUN_MAX))])
    wanted = TRIGGER_EVENT_ACTION[rule.trigger]
    moments: dict[int, datetime] = {}
    for sid, at in (SubOrderEvent.objects.filter(suborder_id__in=[s.pk for s in suborders], action__in=wanted)
                    .order_by("id").values_list("suborder_id", "at")):
        moments.setdefault(sid, at)
    owner_ok = rule.owner is not None and rule.owner.is_active
    rows = []
    for so in suborders:
        at = moments.get(so.pk)
        row = DryRunRow(suborder_id=so.pk, number=so.number, triggered_at=at, matched=False, why_not="", actions=[])
        if at is None:
            row.why_not = _("the trigger did not happen") if rule.trigger != Trigger.RETURN_REQUESTED else \
                _("returns are not recorded yet")
        elif rule.trigger == Trigger.LINE_OUT_OF_STOCK and not lines_out_of_stock(so):
            row.why_not = _("no line is out of stock")
        else:
            failed = first_failed(rule.conditions, suborder_facts(so, at=at))
            if failed:
                row.why_not = _("condition not met: %(name)s") % {"name": CONDITION_LABELS.get(failed, failed)}
            else:
                row.matched = True
                for action in rule.actions:
                    cap = ACTION_CAPABILITY[action["type"]]
                    allowed = owner_ok and user_can(user=rule.owner, merchant=merchant, capability=cap)
                    row.actions.append({"type": action["type"], "label": describe_action(action), "allowed": allowed,
                                        "reason": "" if allowed else _("the rule's owner may not (%(cap)s)") % {"cap": cap}})
        rows.append(row)
    return rows
