"""Tags, staff notes, and the review hold of a suborder (merchant schema): used by staff and by
automation rules acting as their owner. Each change is one transaction: the suborder locked, the change,
a timeline event, version bump, the mirror snapshot (version-guarded), a `suborder.changed` outbox event
and one audit row. A held suborder cannot be accepted or shipped (suborders.errors.SubOrderHeld) until
someone who may accept releases it.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidTransition, ValidationFailed
from core.inputs import clean_text
from core.outbox import outbox_emit
from core.readmodels import read_model_publish
from core.tenancy import current_merchant, merchant_only
from suborders.models import SubOrder, SubOrderEvent
from suborders.services import _lock, _snapshot
from suborders.states import TERMINAL

TAG_MAX = 40
MAX_TAGS = 20
NOTE_MAX = 2000
# who may do what: tags and notes are customer service's tools; a hold keeps people from accepting, so
# holding and releasing take the acceptance capability.
TAG_CAPABILITY = "suborders.edit_address"
HOLD_CAPABILITY = "suborders.accept"


def clean_tag(value: object, *, field: str = "tag") -> str:
    tag = clean_text(value, field=field, max_length=TAG_MAX, required=True)
    if any(ch in tag for ch in ",\n\r\t"):
        raise ValidationFailed(_("A tag is one word or phrase, without commas or line breaks."), field=field)
    return tag


def _authorize(actor, capability: str, suborder_id: int) -> None:
    from permissions.policy import authorize
    from suborders.selectors import suborder_get

    authorize(actor, capability, merchant=current_merchant())
    suborder_get(suborder_id=suborder_id, actor=actor)  # an agent limited to some suborders: only those


def _record(so: SubOrder, lines, *, action: str, actor, changes: list[dict], reason: str, fields: list[str]) -> SubOrder:
    from permissions.services import audit_record

    now = timezone.now()
    so.version, so.updated_at = so.version + 1, now
    so.save(update_fields=[*fields, "version", "updated_at"])
    SubOrderEvent.objects.create(suborder=so, action=action, from_status=so.status, to_status=so.status,
                                 actor_id=getattr(actor, "pk", None), lines=changes, at=now, reason=reason[:300])
    read_model_publish("suborder", _snapshot(so, lines))
    outbox_emit(topic="suborder.changed", aggregate_type="suborder", aggregate_id=so.pk, payload={
        "number": so.number, "order_id": so.order_id, "merchant_id": current_merchant().pk, "from": so.status,
        "to": so.status, "action": action, "lines": [], "reason": reason[:300], "version": so.version})
    audit_record(actor=actor, entity="suborder", entity_id=so.number, action=action,
                 before={c["field"]: c["before"] for c in changes}, after={c["field"]: c["after"] for c in changes})
    return so


@merchant_only
def suborder_tag_add(*, suborder_id: int, tag: str, actor, reason: str = "") -> SubOrder:
    """Add a tag (a no-op, with no event, when the suborder already has it)."""
    tag = clean_tag(tag)
    _authorize(actor, TAG_CAPABILITY, suborder_id)
    with transaction.atomic():
        so, lines = _lock(suborder_id)
        if tag in so.tags:
            return so
        if len(so.tags) >= MAX_TAGS:
            raise ValidationFailed(_("A suborder has at most %(n)s tags.") % {"n": MAX_TAGS}, field="tag")
        before = list(so.tags)
        so.tags = [*so.tags, tag]
        return _record(so, lines, action="tagged", actor=actor, fields=["tags"], reason=reason or tag,
                       changes=[{"field": "tags", "before": ", ".join(before), "after": ", ".join(so.tags)}])


@merchant_only
def suborder_note_append(*, suborder_id: int, text: str, actor, reason: str = "") -> SubOrder:
    """Append a line to the staff note (kept within NOTE_MAX characters: an append that would pass it is refused)."""
    text = clean_text(text, field="note", max_length=NOTE_MAX, required=True)
    _authorize(actor, TAG_CAPABILITY, suborder_id)
    with transaction.atomic():
        so, lines = _lock(suborder_id)
        new = f"{so.note}\n{text}" if so.note else text
        if len(new) > NOTE_MAX:
            raise ValidationFailed(_("The note would pass %(max)s characters.") % {"max": NOTE_MAX}, field="note")
        before, so.note = so.note, new
        return _record(so, lines, action="note_added", actor=actor, fields=["note"], reason=reason or text[:120],
                       changes=[{"field": "note", "before": before, "after": new}])


@merchant_only
def suborder_hold(*, suborder_id: int, reason: str, actor) -> SubOrder:
    """Hold an open suborder for review. Holding a held suborder changes nothing."""
    reason = clean_text(reason, field="reason", max_length=300, required=True)
    _authorize(actor, HOLD_CAPABILITY, suborder_id)
    with transaction.atomic():
        so, lines = _lock(suborder_id)
        if so.held_at is not None:
            return so
        if so.status in TERMINAL:
            raise InvalidTransition(_("Suborder %(number)s is closed; it cannot be held.") % {"number": so.number}, field="status")
        so.held_at, so.hold_reason = timezone.now(), reason
        return _record(so, lines, action="held", actor=actor, fields=["held_at", "hold_reason"], reason=reason,
                       changes=[{"field": "hold", "before": "", "after": reason}])


@merchant_only
def suborder_release(*, suborder_id: int, actor, reason: str = "") -> SubOrder:
    """Release the hold: the suborder can be accepted and shipped again. Releasing twice changes nothing."""
    reason = clean_text(reason, field="reason", max_length=300)
    _authorize(actor, HOLD_CAPABILITY, suborder_id)
    with transaction.atomic():
        so, lines = _lock(suborder_id)
        if so.held_at is None:
            return so
        before = so.hold_reason
        so.held_at, so.hold_reason = None, ""
        return _record(so, lines, action="released", actor=actor, fields=["held_at", "hold_reason"], reason=reason,
                       changes=[{"field": "hold", "before": before, "after": ""}])
