"""Edits to a suborder after it was placed, by the store's staff: the shipping contact and the staff
note (customer service, before anything ships). Each edit is one transaction: the suborder locked,
the change, a timeline event with before → after, the mirror snapshot, an outbox event and one audit row.
"""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidTransition, ValidationFailed
from core.money import Money
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
    from suborders.selectors import suborder_get

    suborder_get(suborder_id=suborder_id, actor=actor)  # an agent limited to assigned suborders: only those
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


SWAPPABLE = ("awaiting_acceptance", "accepted")


@merchant_only
def suborder_line_variant_swap(*, suborder_id: int, line_id: int, variant_id: int, actor):
    """Ship another variant of the same product on a line (size M instead of L) before anything of it
    ships: the old reservation is released and the new variant reserved in the same warehouse, in one
    transaction (no stock: nothing changes); the order's line follows; the shopper keeps the price paid,
    and when the new variant is cheaper the difference is refunded (payments, through the outbox)."""
    from catalog.models import Variant
    from catalog.services import ReserveLine, stock_release, stock_reserve
    from orders.services import order_line_variant_swap
    from permissions.policy import authorize
    from permissions.services import audit_record
    from suborders.models import SubOrderLine
    from suborders.sql import skus_of

    merchant = current_merchant()
    authorize(actor, "suborders.edit_lines", merchant=merchant)
    for name, value in (("line", line_id), ("variant_id", variant_id)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationFailed(_("%(field)s must be an id.") % {"field": name}, field=name)
    with transaction.atomic():
        so, lines = _lock(suborder_id)
        line = next((ln for ln in lines if ln.pk == line_id), None)
        if line is None:
            raise ValidationFailed(_("Line %(id)s is not a line of suborder %(number)s.") % {"id": line_id, "number": so.number},
                                   field="line")
        if so.status not in SWAPPABLE or line.shipped_qty or line.refused_qty or line.cancelled_qty:
            raise InvalidTransition(_("Only a line with nothing shipped, refused or cancelled can change its variant."),
                                    field="line")
        old = Variant.objects.select_related("product").filter(pk=line.variant_id).first()
        new = Variant.objects.select_related("product").filter(pk=variant_id, is_active=True).first()
        if new is None or old is None or new.product_id != old.product_id or new.pk == old.pk:
            raise ValidationFailed(_("Choose another active variant of the same product."), field="variant_id")
        if new.currency != so.currency:
            raise ValidationFailed(_("The variant is priced in another currency."), field="variant_id")
        owner = line.reservation_owner
        stock_release(owners=[owner], reason=f"variant swapped on {so.number}"[:300], actor=actor)
        stock_reserve(lines=[ReserveLine(variant_id=new.pk, warehouse_id=so.warehouse_id, quantity=line.quantity, owner=owner)],
                      expires_at=None, actor=actor, reference=so.number)
        before = {"sku": line.sku, "variant_id": line.variant_id}
        new_name = f"{new.product.name} {new.name_suffix}".strip() if new.name_suffix else new.product.name
        SubOrderLine.objects.filter(pk=line.pk).update(variant_id=new.pk, sku=new.sku, name=new_name[:300])
        order_line_variant_swap(merchant_id=merchant.pk, suborder_id=so.pk, old_variant_id=old.pk, new_variant_id=new.pk,
                                sku=new.sku, name=new_name)
        refund_minor = max(0, (line.unit_price_minor - new.price_minor) * line.quantity)
        now = timezone.now()
        so.skus = skus_of(new.sku if ln.pk == line.pk else ln.sku for ln in lines)
        so.version, so.updated_at = so.version + 1, now
        so.save(update_fields=["skus", "version", "updated_at"])
        changes = [{"field": "sku", "before": line.sku, "after": new.sku}]
        SubOrderEvent.objects.create(suborder=so, action="variant_swapped", from_status=so.status, to_status=so.status,
                                     actor_id=getattr(actor, "pk", None), lines=changes, at=now,
                                     reason=(_("difference of %(amount)s refunded") % {"amount": Money(refund_minor, so.currency).format()}
                                             if refund_minor else "")[:300])
        line.variant_id, line.sku = new.pk, new.sku
        read_model_publish("suborder", _snapshot(so, lines))
        outbox_emit(topic="suborder.changed", aggregate_type="suborder", aggregate_id=so.pk, payload={
            "number": so.number, "order_id": so.order_id, "merchant_id": merchant.pk, "from": so.status, "to": so.status,
            "action": "variant_swapped", "lines": [], "reason": f"{before['sku']} → {new.sku}", "version": so.version,
            "refund_minor": refund_minor})
        audit_record(actor=actor, entity="suborder", entity_id=so.number, action="variant_swapped",
                     before=before, after={"sku": new.sku, "variant_id": new.pk, "refund_minor": refund_minor})
    return so


@merchant_only
def suborder_assign(*, suborder_id: int, agent, actor):
    """Give a suborder to one customer-service agent (or to nobody: agent=None). Owners and managers
    (suborders.assign). Stored as the django-guardian object permission suborders.handle_suborder."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from permissions.policy import authorize
    from permissions.roles import Role
    from permissions.selectors import membership_roles
    from permissions.services import audit_record
    from suborders.models import SubOrder, SubOrderUserObjectPermission

    merchant = current_merchant()
    authorize(actor, "suborders.assign", merchant=merchant)
    if agent is not None and Role.CUSTOMER_SERVICE not in membership_roles(user=agent, merchant=merchant):
        raise ValidationFailed(_("%(email)s is not customer service at this store.") % {"email": agent.email}, field="agent")
    with transaction.atomic():
        so, _lines = _lock(suborder_id)
        perm, _created = Permission.objects.get_or_create(
            codename="handle_suborder", content_type=ContentType.objects.get_for_model(SubOrder),
            defaults={"name": "Handle this suborder (customer service)"})
        current = SubOrderUserObjectPermission.objects.filter(content_object_id=so.pk, permission=perm)
        before = list(current.values_list("user__email", flat=True))
        current.delete()
        if agent is not None:
            SubOrderUserObjectPermission.objects.create(user=agent, permission=perm, content_object_id=so.pk)
        after = [agent.email] if agent is not None else []
        if before != after:
            audit_record(actor=actor, entity="suborder", entity_id=so.number, action="assign",
                         before={"agent": ", ".join(before)}, after={"agent": ", ".join(after)})
    return so
