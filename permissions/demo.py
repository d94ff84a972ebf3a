"""Demo data for staff and permissions: a warehouse clerk limited to one warehouse, a pending staff
invitation, and a shipping address changed by customer service, all through the services (so the
audit trail shows them too). Safe to run again."""
from __future__ import annotations

from core.tenancy import in_merchant_schema
from merchants.demo import DEMO_PASSWORD


def seed_staff(merchants) -> None:
    from catalog.selectors import warehouse_grants_for, warehouse_list
    from catalog.services import warehouse_grants_set
    from permissions.models import Membership, StaffInvitation, User
    from permissions.services import membership_grant, staff_invite, user_create

    acme = next((m for m in merchants if m.slug == "acme"), None)
    if acme is None:
        return
    owner = Membership.objects.get(merchant=acme, user__email="owner@acme.localhost").user
    clerk = User.objects.filter(email="warehouse2@acme.localhost").first() or user_create(
        email="warehouse2@acme.localhost", password=DEMO_PASSWORD, full_name="Acme clerk (one warehouse)")
    membership_grant(user=clerk, merchant=acme, roles=["warehouse"])
    with in_merchant_schema(acme):
        warehouses = warehouse_list()
        if warehouses and not warehouse_grants_for(user_ids=[clerk.pk]):
            warehouse_grants_set(actor=owner, user=clerk, warehouse_ids=[warehouses[0].pk])
        _contact_edit(acme)
    if not StaffInvitation.objects.filter(merchant=acme, email="newhire@acme.localhost").exists():
        staff_invite(actor=owner, merchant=acme, email="newhire@acme.localhost", roles=["customer_service"])


def _contact_edit(acme) -> None:
    """Customer service adds a delivery note and a new phone to one unshipped suborder."""
    from permissions.models import Membership
    from suborders.edits import suborder_contact_change
    from suborders.models import SubOrder, SubOrderEvent

    if SubOrderEvent.objects.filter(action="contact_changed").exists():
        return
    so = SubOrder.objects.filter(status__in=["awaiting_acceptance", "accepted"]).order_by("id").first()
    if so is None or so.lines.filter(shipped_qty__gt=0).exists():
        return
    cs = Membership.objects.get(merchant=acme, user__email="customerservice@acme.localhost").user
    suborder_contact_change(suborder_id=so.pk, actor=cs, address={"phone": "+86 139 0000 2468"},
                            note="Shopper called: please deliver after 6 pm. 请下午六点后送达。")
