"""Automation writes (merchant schema): rules (create, edit, switch on/off, reorder), shoppers' tags, and
the evaluation of the store's rules for one suborder event (called by the outbox subscriber in
automation.handlers). Rules act through the suborder services as their owner: `authorize()` with the
owner as actor, so a rule never does what its owner may not; a refused action is recorded, not done.
"""
from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from automation.models import AutomationRule, CustomerTag, RuleRun, Trigger
from automation.rules import clean_actions, clean_conditions, clean_trigger, first_failed
from core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from core.inputs import clean_text
from core.outbox import outbox_emit
from core.tenancy import current_merchant, in_merchant_schema, merchant_only
from permissions.services import audit_record

log = logging.getLogger("mallard.automation")
CAPABILITY = "automation.manage"
_FIELDS = ("name", "trigger", "conditions", "actions", "position", "enabled")


def _authorize(actor) -> None:
    from permissions.policy import authorize

    authorize(actor, CAPABILITY, merchant=current_merchant())


def _snapshot(rule: AutomationRule) -> dict:
    return {f: getattr(rule, f) for f in _FIELDS}


def _clean(*, name, trigger, conditions, actions) -> dict:
    from automation.selectors import staff_emails

    name = clean_text(name, field="name", max_length=120, required=True)
    trigger = clean_trigger(trigger)
    return {"name": name, "trigger": trigger, "conditions": clean_conditions(conditions, merchant=current_merchant()),
            "actions": clean_actions(actions, trigger=trigger, staff_emails=staff_emails())}


def _locked(rule_id: int) -> AutomationRule:
    rule = AutomationRule.objects.select_for_update(of=("self",)).filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("No such automation rule in this store."), field="rule_id")
    return rule


@merchant_only
def rule_create(*, actor, name: str, trigger: str, conditions: dict | None, actions: list, enabled: bool = False) -> AutomationRule:
    """A new rule, last in the evaluation order, owned by `actor`. Off unless `enabled` (dry-run it first)."""
    _authorize(actor)
    values = _clean(name=name, trigger=trigger, conditions=conditions, actions=actions)
    with transaction.atomic():
        AutomationRule.objects.select_for_update().order_by("pk").first()  # serialize positions per store
        last = AutomationRule.objects.aggregate(m=Max("position"))["m"] or 0
        rule = AutomationRule.objects.create(**values, position=last + 1, enabled=bool(enabled), owner=actor)
        audit_record(actor=actor, entity="automation_rule", entity_id=rule.pk, action="create", after=_snapshot(rule))
    return rule


@merchant_only
def rule_update(*, actor, rule_id: int, name: str, trigger: str, conditions: dict | None, actions: list) -> AutomationRule:
    """Change what a rule says; its owner, position and switch stay."""
    _authorize(actor)
    values = _clean(name=name, trigger=trigger, conditions=conditions, actions=actions)
    with transaction.atomic():
        rule = _locked(rule_id)
        before = _snapshot(rule)
        for key, value in values.items():
            setattr(rule, key, value)
        rule.updated_at = timezone.now()
        rule.save(update_fields=[*values, "updated_at"])
        audit_record(actor=actor, entity="automation_rule", entity_id=rule.pk, action="update", before=before, after=_snapshot(rule))
    return rule


@merchant_only
def rule_set_enabled(*, actor, rule_id: int, enabled: bool) -> AutomationRule:
    _authorize(actor)
    with transaction.atomic():
        rule = _locked(rule_id)
        if rule.enabled == bool(enabled):
            return rule
        rule.enabled, rule.updated_at = bool(enabled), timezone.now()
        rule.save(update_fields=["enabled", "updated_at"])
        audit_record(actor=actor, entity="automation_rule", entity_id=rule.pk, action="enable" if enabled else "disable",
                     before={"enabled": not rule.enabled}, after={"enabled": rule.enabled})
    return rule


@merchant_only
def rules_reorder(*, actor, rule_ids: list[int]) -> list[AutomationRule]:
    """Set the evaluation order: `rule_ids` names every rule of the store once, first evaluated first."""
    _authorize(actor)
    with transaction.atomic():
        rules = {r.pk: r for r in AutomationRule.objects.select_for_update().order_by("pk")}
        if not isinstance(rule_ids, list) or sorted(rule_ids) != sorted(rules) or len(set(rule_ids)) != len(rule_ids):
            raise ValidationFailed(_("List every rule of the store exactly once."), field="rule_ids")
        before = [r.pk for r in sorted(rules.values(), key=lambda r: (r.position, r.pk))]
        if before == rule_ids:
            return [rules[pk] for pk in rule_ids]
        for position, pk in enumerate(rule_ids, start=1):
            rules[pk].position = position
        AutomationRule.objects.bulk_update(rules.values(), ["position"])
        audit_record(actor=actor, entity="automation_rule", entity_id="order", action="reorder",
                     before={"order": before}, after={"order": rule_ids})
    return [rules[pk] for pk in rule_ids]


@merchant_only
def rule_move(*, actor, rule_id: int, up: bool) -> None:
    """Swap a rule with its neighbour in the evaluation order (the list page's arrows)."""
    order = list(AutomationRule.objects.order_by("position", "id").values_list("pk", flat=True))
    if rule_id not in order:
        raise NotFound(_("No such automation rule in this store."), field="rule_id")
    i = order.index(rule_id)
    j = i - 1 if up else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
        rules_reorder(actor=actor, rule_ids=order)


@merchant_only
def customer_tags_set(*, actor, email: str, tags: list[str] | str, authorized: bool = False) -> CustomerTag | None:
    """Set a shopper's tags (by email); no tags removes the row. `authorized`: the caller checked its own
    capability (the customers page, suborders.customers: customers.edit)."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from automation.rules import clean_list

    if not authorized:
        _authorize(actor)
    email = clean_text(email, field="email", max_length=254, required=True).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed(_("Enter a valid email address."), field="email") from None
    try:
        cleaned = clean_list(tags, field_name="tags", lower=True)
    except ValidationFailed as err:
        raise ValidationFailed(err.message, field="tags") from None
    if any(len(t) > 40 for t in cleaned):
        raise ValidationFailed(_("A tag is at most 40 characters."), field="tags")
    with transaction.atomic():
        row = CustomerTag.objects.select_for_update().filter(email=email).first()
        before = list(row.tags) if row else []
        if before == cleaned:
            return row
        if not cleaned:
            row.delete()
            row = None
        elif row is None:
            row = CustomerTag.objects.create(email=email, tags=cleaned)
        else:
            row.tags, row.updated_at = cleaned, timezone.now()
            row.save(update_fields=["tags", "updated_at"])
        audit_record(actor=actor, entity="customer_tag", entity_id=email[:64], action="set",
                     before={"tags": before}, after={"tags": cleaned})
    return row


# --- evaluation ---------------------------------------------------------------------------------------------

# suborder.changed actions -> the triggers they are (line_out_of_stock is a paid event with an empty shelf)
ACTION_TRIGGERS = {"paid": [Trigger.PAID, Trigger.LINE_OUT_OF_STOCK],
                   "imported": [Trigger.PAID, Trigger.LINE_OUT_OF_STOCK],  # an order paid on another channel, imported
                   "accepted": [Trigger.ACCEPTED], "late": [Trigger.LATE],
                   "shipped": [Trigger.SHIPPED], "return_requested": [Trigger.RETURN_REQUESTED]}


@merchant_only
def automation_rules_run(*, event_id: int, suborder_id: int, action: str, at: datetime) -> list[RuleRun]:
    """Evaluate the store's enabled rules for one suborder event, in position order, each rule once per
    event (RuleRun is unique on (rule, event): a re-delivered event does nothing twice). Each rule sees
    the suborder as the rules before it left it. Runs inside the caller's transaction."""
    from automation.selectors import lines_out_of_stock, rules_enabled_for, suborder_facts
    from suborders.models import SubOrder

    triggers = ACTION_TRIGGERS.get(action)
    if not triggers:
        return []
    rules = rules_enabled_for(triggers=triggers)
    if not rules:
        return []
    done_already = set(RuleRun.objects.filter(event_id=event_id, rule__in=rules).values_list("rule_id", flat=True))
    runs = []
    for rule in rules:
        if rule.pk in done_already:
            continue
        so = SubOrder.objects.prefetch_related("lines").filter(pk=suborder_id).first()
        if so is None:
            return runs
        if rule.trigger == Trigger.LINE_OUT_OF_STOCK and not lines_out_of_stock(so):
            continue
        if first_failed(rule.conditions, suborder_facts(so, at=at)) is not None:
            continue
        results = [_perform(rule, so, action_spec) for action_spec in rule.actions]
        webhook = next((r for r in results if r["type"] == "webhook" and r["status"] == "done"), None)
        statuses = {r["status"] for r in results}
        outcome = RuleRun.Outcome.DONE if statuses == {"done"} else (
            RuleRun.Outcome.REFUSED if "done" not in statuses else RuleRun.Outcome.PARTIAL)
        run = RuleRun.objects.create(rule=rule, rule_name=rule.name, suborder=so, event_id=event_id, trigger=rule.trigger,
                                     outcome=outcome, actions=results, actor=rule.owner)
        if webhook is not None:  # after the other actions, so the payload says what the rule did
            outbox_emit(topic="automation.rule_fired", aggregate_type="suborder", aggregate_id=so.pk, payload={
                "merchant_id": current_merchant().pk, "rule_id": rule.pk, "rule_name": rule.name, "trigger": rule.trigger,
                "suborder_id": so.pk, "number": so.number, "run_id": run.pk, "outcome": outcome, "actions": results})
        runs.append(run)
    return runs


def _perform(rule: AutomationRule, so, spec: dict) -> dict:
    """One action, as the rule's owner, in its own savepoint. A refusal (no capability, wrong state, the
    owner gone) is recorded with its reason; an unexpected error propagates (the delivery is retried)."""
    kind = spec["type"]
    result = {"type": kind, "status": "done", "detail": ""}
    owner = rule.owner
    if owner is None or not owner.is_active:
        return {**result, "status": "refused", "detail": _("The rule's owner no longer has an account.")}
    try:
        with transaction.atomic():
            result["detail"] = _ACTIONS[kind](rule=rule, so=so, spec=spec, owner=owner) or ""
    except DomainError as err:
        return {**result, "status": "refused", "detail": err.message, "code": err.code}
    return result


def _why(rule) -> str:
    return _("automation rule “%(name)s”") % {"name": rule.name}


def _accept(*, rule, so, spec, owner):
    from suborders.services import suborder_accept

    suborder_accept(suborder_id=so.pk, actor=owner, reason=_why(rule))


def _hold(*, rule, so, spec, owner):
    from suborders.holds import suborder_hold

    suborder_hold(suborder_id=so.pk, reason=spec["reason"], actor=owner)
    return spec["reason"]


def _tag(*, rule, so, spec, owner):
    from suborders.holds import suborder_tag_add

    suborder_tag_add(suborder_id=so.pk, tag=spec["tag"], actor=owner, reason=_why(rule))
    return spec["tag"]


def _note(*, rule, so, spec, owner):
    from suborders.holds import suborder_note_append

    suborder_note_append(suborder_id=so.pk, text=spec["text"], actor=owner, reason=_why(rule))
    return spec["text"][:120]


def _print_label(*, rule, so, spec, owner):
    """Queue one label PDF of the suborder's shipments (fulfillment's bulk label job), after commit: the
    job is a file and a Celery task, outside this transaction."""
    from fulfillment.models import Shipment
    from permissions.policy import authorize

    merchant = current_merchant()
    authorize(owner, "suborders.ship", merchant=merchant)
    ids = list(Shipment.objects.filter(suborder_id=so.pk).order_by("id").values_list("pk", flat=True))
    if not ids:
        raise ValidationFailed(_("Suborder %(number)s has no shipment to label yet.") % {"number": so.number}, field="shipments")

    def queue():
        from fulfillment.documents import label_job_create

        try:
            with in_merchant_schema(merchant):
                label_job_create(shipment_ids=ids, actor=owner)
        except Exception:  # the run is recorded; the labels can be printed from the documents page
            log.exception("automation: the label job of %s could not be queued (schema %s)", so.number, merchant.schema_name)

    transaction.on_commit(queue)
    return _("%(n)s shipment(s)") % {"n": len(ids)}


def _notify(*, rule, so, spec, owner):
    """Email one staff member, through the outbox (automation.staff_notify, sent by an external subscriber
    with a Message-ID from its delivery): the email is never sent from inside this transaction."""
    from automation.selectors import staff_emails
    from permissions.policy import authorize

    authorize(owner, CAPABILITY, merchant=current_merchant())
    if spec["email"] not in staff_emails():
        raise PermissionDenied(_("%(email)s is no longer on this store's staff.") % {"email": spec["email"]})
    outbox_emit(topic="automation.staff_notify", aggregate_type="suborder", aggregate_id=so.pk, payload={
        "merchant_id": current_merchant().pk, "rule_id": rule.pk, "rule_name": rule.name, "suborder_id": so.pk,
        "number": so.number, "email": spec["email"], "trigger": rule.trigger})
    return spec["email"]


def _webhook(*, rule, so, spec, owner):
    from permissions.policy import authorize

    authorize(owner, CAPABILITY, merchant=current_merchant())  # emitted by automation_rules_run after the others


_ACTIONS = {"accept": _accept, "hold": _hold, "add_tag": _tag, "add_note": _note, "print_label": _print_label,
            "notify_staff": _notify, "webhook": _webhook}
