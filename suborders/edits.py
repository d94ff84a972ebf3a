"""Edits to a suborder after it was placed, by the store's staff: the shipping contact and the staff
note (customer service, before anything ships). Each edit is one transaction: the suborder locked,
the change, a timeline event with before → after, the mirror snapshot, an outbox event and one audit row.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidTransition, ValidationFailed
from core.outbox import outbox_emit
from core.readmodels import read_model_publish
from core.tenancy import current_merchant, merchant_only
from suborders.models import SubOrderEvent
from suborders.services import _lock, _snapshot
from suborders.states import HOLDS_RESERVATION

NOTE_MAX = 2000


@merchant_only
def suborder_contact_change(*, suborder_id: int, actor, address: dict | None = None, note: str | None = None):
    """Change the shipping address/phone (fields given are merged into the current address, then the
    whole address is checked like at checkout) and/or the staff note, before any unit has shipped.
    Nothing changes, and no event is written, when the values are the same."""
    from orders.validation import ADDRESS_FIELDS, clean_address
    from permissions.policy import authorize
    from permissions.services import audit_record

    authorize(actor, "suborders.edit_address", merchant=current_merchant())
    if note is not None:
        if not isinstance(note, str) or len(note) > NOTE_MAX or "\x00" in note:
            raise ValidationFailed(_("The note must be text of at most %(max)s characters.") % {"max": NOTE_MAX}, field="note")
        note = note.strip()
    with transaction.atomic():
        so, lines = _lock(suborder_id)
        if so.status not in HOLDS_RESERVATION or any(ln.shipped_qty for ln in lines):
            raise InvalidTransition(_("Suborder %(number)s has shipped or is closed; its address can no longer change.")
                                    % {"number": so.number}, field="status")
        changes: list[dict] = []
        if address is not None:
            if not isinstance(address, dict):
                raise ValidationFailed(_("The address must be an object."), field="shipping_address")
            current = {k: (so.shipping_address or {}).get(k, "") for k in ADDRESS_FIELDS}
            new = clean_address({**current, **address}, field="shipping_address")
            changes += [{"field": k, "before": current.get(k, ""), "after": v} for k, v in new.items() if current.get(k, "") != v]
            if changes:
                so.shipping_address = {**(so.shipping_address or {}), **new}
        if note is not None and note != so.note:
            changes.append({"field": "note", "before": so.note, "after": note})
            so.note = note
        if not changes:
            return so
        now = timezone.now()
        so.version, so.updated_at = so.version + 1, now
        so.save(update_fields=["shipping_address", "note", "version", "updated_at"])
        SubOrderEvent.objects.create(suborder=so, action="contact_changed", from_status=so.status, to_status=so.status,
                                     actor_id=getattr(actor, "pk", None), lines=changes, at=now,
                                     reason=", ".join(c["field"] for c in changes)[:300])
        read_model_publish("suborder", _snapshot(so, lines))
        outbox_emit(topic="suborder.changed", aggregate_type="suborder", aggregate_id=so.pk, payload={
            "number": so.number, "order_id": so.order_id, "merchant_id": current_merchant().pk, "from": so.status,
            "to": so.status, "action": "contact_changed", "lines": [], "reason": "", "version": so.version})
        audit_record(actor=actor, entity="suborder", entity_id=so.number, action="contact_changed",
                     before={c["field"]: c["before"] for c in changes}, after={c["field"]: c["after"] for c in changes})
    return so
