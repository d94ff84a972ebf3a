"""Demo: two automation rules on acme (tag big orders; note Shanghai deliveries), created by its owner, and
their runs on the demo's paid suborders, replayed from those suborders' real "paid" outbox events through
the same evaluation the relay uses. Safe to run again (skipped once acme has rules). Registered in
merchants.demo.DEMO_SEEDERS after the lifecycle seeder."""
from __future__ import annotations

from core.tenancy import in_merchant_schema


def seed_automation(merchants) -> None:
    from automation.models import AutomationRule
    from automation.services import automation_rules_run, customer_tags_set, rule_create
    from core.models import OutboxEvent
    from orders.demo import DEMO_ADDRESS
    from permissions.models import User

    acme = next((m for m in merchants if m.slug == "acme"), None)
    owner = User.objects.filter(email="owner@acme.localhost").first()
    if acme is None or owner is None:
        return
    with in_merchant_schema(acme):
        if AutomationRule.objects.exists():
            return
        rule_create(actor=owner, name="Tag big orders 大额订单", trigger="paid", enabled=True,
                    conditions={"amount_min_minor": 20000},
                    actions=[{"type": "add_tag", "tag": "big-order"}, {"type": "add_note", "text": "Big order: double-check the packing."}])
        rule_create(actor=owner, name="Shanghai deliveries 上海订单", trigger="paid", enabled=True,
                    conditions={"regions": [DEMO_ADDRESS.get("region", "SH")], "time_window": {"start": "00:00", "end": "23:59"}},
                    actions=[{"type": "add_tag", "tag": "shanghai"}])
        rule_create(actor=owner, name="Hold remote regions for review", trigger="paid", enabled=False,
                    conditions={"regions": ["XJ", "XZ"]}, actions=[{"type": "hold", "reason": "Remote region: confirm the carrier"}])
        customer_tags_set(actor=owner, email="shopper1@example.com", tags=["vip"])
        events = OutboxEvent.objects.filter(topic="suborder.changed", schema_name=acme.schema_name,
                                            payload__action="paid").order_by("-id")[:12]
        for event in reversed(events):
            automation_rules_run(event_id=event.pk, suborder_id=int(event.aggregate_id), action="paid", at=event.created_at)
