"""Automation rules: evaluation by the outbox subscriber as the rule's owner, recorded runs on the suborder
timeline, order, holds, refusals, idempotent re-delivery, and the dry run that writes nothing."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from automation.handlers import run_rules
from automation.models import AutomationRule, RuleRun
from automation.selectors import rule_dry_run
from automation.services import rule_create, rules_reorder
from core.errors import PermissionDenied
from core.models import OutboxEvent
from core.outbox import outbox_relay_batch
from core.tenancy import in_merchant_schema
from permissions.models import Membership
from permissions.services import membership_roles_set
from suborders.errors import SubOrderHeld
from suborders.models import SubOrder, SubOrderEvent
from tests.payments.helpers import pay, place_order


def _rule(mall, merchant="acme", owner="acme:owner", enabled=True, **kw):
    kw.setdefault("name", "Accept big Shanghai orders")
    kw.setdefault("trigger", "paid")
    kw.setdefault("conditions", {})
    with in_merchant_schema(getattr(mall, merchant)):
        return rule_create(actor=mall.users[owner], enabled=enabled, **kw)


def _paid(mall, *, qty=2, price_minor=1999):
    order, _items = place_order(mall, qty=qty, price_minor=price_minor)
    pay(order)
    with in_merchant_schema(mall.acme):
        return SubOrder.objects.get(order_id=order.pk)


def _event(mall, so, action="paid") -> OutboxEvent:
    return OutboxEvent.objects.filter(topic="suborder.changed", aggregate_id=str(so.pk), schema_name=mall.acme.schema_name,
                                      payload__action=action).latest("id")


def _deliver(mall, so, action="paid"):
    """Deliver one suborder event to the automation subscriber, as the relay does (in the event's schema)."""
    event = _event(mall, so, action)
    with TestCase.captureOnCommitCallbacks(execute=True), in_merchant_schema(mall.acme):
        run_rules(event)
    return event


def _fresh(mall, so):
    with in_merchant_schema(mall.acme):
        return SubOrder.objects.get(pk=so.pk)


def test_rule_accepts_a_paid_suborder_over_an_amount_in_a_region_and_the_timeline_names_it(mall, client_at):
    rule = _rule(mall, conditions={"amount_min_minor": 3000, "regions": ["sh", "bj"]},
                 actions=[{"type": "add_tag", "tag": "auto"}, {"type": "accept"}])
    so = _paid(mall, qty=2, price_minor=1999)  # 39.98 + shipping, shipped to SH
    with TestCase.captureOnCommitCallbacks(execute=True):  # the real relay, with every subscriber of the event
        outbox_relay_batch(limit=500)
    fresh = _fresh(mall, so)
    assert fresh.status == "accepted" and fresh.tags == ["auto"]
    with in_merchant_schema(mall.acme):
        accepted = SubOrderEvent.objects.get(suborder_id=so.pk, action="accepted")
        assert accepted.actor_id == mall.users["acme:owner"].pk and "Accept big Shanghai orders" in accepted.reason
        run = RuleRun.objects.get(rule=rule, suborder_id=so.pk)
        assert (run.outcome, [a["status"] for a in run.actions], run.actor_id) == ("done", ["done", "done"], mall.users["acme:owner"].pk)
        assert run.event_id == _event(mall, so).pk
    page = client_at(mall.acme, mall.users["acme:customer_service"]).get(f"/suborders/{so.pk}/")
    body = page.content.decode()
    assert page.status_code == 200 and "automation rule “Accept big Shanghai orders” fired" in body and 'data-testid="rule-run"' in body
    history = client_at(mall.acme, mall.users["acme:manager"]).get(f"/automation/{rule.pk}/runs/").content.decode()
    assert so.number in history and 'data-outcome="done"' in history


@pytest.mark.parametrize("conditions", [{"amount_min_minor": 10**9}, {"regions": ["BJ"]}, {"skus": ["NOPE-1"]},
                                        {"channels": ["shopify"]}, {"customer_tags": ["vip"]}, {"categories": ["shoes"]}])
def test_conditions_not_met_do_nothing(mall, conditions):
    _rule(mall, conditions=conditions, actions=[{"type": "accept"}, {"type": "add_tag", "tag": "x"}])
    so = _paid(mall)
    version = _fresh(mall, so).version
    _deliver(mall, so)
    fresh = _fresh(mall, so)
    assert (fresh.status, fresh.tags, fresh.version) == ("awaiting_acceptance", [], version)
    with in_merchant_schema(mall.acme):
        assert not RuleRun.objects.filter(suborder_id=so.pk).exists()


def test_customer_tag_and_sku_conditions_hold_when_the_shopper_and_line_match(mall):
    from automation.services import customer_tags_set

    so_probe = _paid(mall)  # to learn the sku pattern and the shopper's email
    with in_merchant_schema(mall.acme):
        customer_tags_set(actor=mall.users["acme:manager"], email=so_probe.shopper_email.upper(), tags="VIP, wholesale")
    so = _paid(mall)
    with in_merchant_schema(mall.acme):
        sku = so.lines.get().sku
    _rule(mall, conditions={"customer_tags": ["vip"], "skus": [sku]}, actions=[{"type": "add_tag", "tag": "vip-order"}])
    _deliver(mall, so)
    assert _fresh(mall, so).tags == ["vip-order"]


def test_rules_run_in_position_order_and_reordering_changes_the_result(mall):
    hold = _rule(mall, name="Hold everything", actions=[{"type": "hold", "reason": "check the address"}])
    accept = _rule(mall, name="Accept everything", actions=[{"type": "accept"}])
    so = _paid(mall)
    _deliver(mall, so)
    fresh = _fresh(mall, so)
    assert (fresh.status, fresh.hold_reason) == ("awaiting_acceptance", "check the address")
    with in_merchant_schema(mall.acme):
        run = RuleRun.objects.get(rule=accept, suborder_id=so.pk)
        assert run.outcome == "refused" and run.actions[0]["code"] == "suborder_held"
        assert RuleRun.objects.get(rule=hold, suborder_id=so.pk).id < run.id
        rules_reorder(actor=mall.users["acme:manager"], rule_ids=[accept.pk, hold.pk])
    so2 = _paid(mall)
    _deliver(mall, so2)
    fresh = _fresh(mall, so2)
    assert (fresh.status, fresh.hold_reason) == ("accepted", "check the address")  # accepted first, then held


def test_a_hold_blocks_acceptance_and_shipping_by_a_person_until_released(mall, api_at):
    from fulfillment.shipments import shipment_create
    from suborders.holds import suborder_hold, suborder_release
    from suborders.services import suborder_accept

    so = _paid(mall)
    cs = mall.users["acme:customer_service"]
    with in_merchant_schema(mall.acme):
        suborder_hold(suborder_id=so.pk, reason="fraud check", actor=cs)
        with pytest.raises(SubOrderHeld):
            suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
    resp = api_at(mall.acme, mall.users["acme:manager"]).post(f"/api/v1/suborders/{so.pk}/accept/", HTTP_IDEMPOTENCY_KEY=f"held-{so.pk}")
    assert resp.status_code == 409 and resp.json()["code"] == "suborder_held"
    assert _fresh(mall, so).status == "awaiting_acceptance"
    with in_merchant_schema(mall.acme):
        with pytest.raises(PermissionDenied):  # warehouse may not release a hold (suborders.accept)
            suborder_release(suborder_id=so.pk, actor=mall.users["acme:warehouse"])
        suborder_release(suborder_id=so.pk, actor=cs)
        suborder_accept(suborder_id=so.pk, actor=cs)
        suborder_hold(suborder_id=so.pk, reason="wait for the shopper's call", actor=cs)
        line = so.lines.get()
        with pytest.raises(SubOrderHeld):
            shipment_create(suborder_id=so.pk, actor=mall.users["acme:warehouse"], lines=[(line.pk, 1)], carrier="sf",
                            tracking_number="SF1234567890123")
        assert not so.shipments.exists()
        assert [e.action for e in SubOrderEvent.objects.filter(suborder_id=so.pk, action__in=["held", "released"])] == \
            ["held", "released", "held"]


def test_release_button_on_the_page(mall, client_at):
    from suborders.holds import suborder_hold

    so = _paid(mall)
    with in_merchant_schema(mall.acme):
        suborder_hold(suborder_id=so.pk, reason="fraud check", actor=mall.users["acme:owner"])
    assert 'data-testid="held"' in client_at(mall.acme, mall.users["acme:owner"]).get(f"/suborders/{so.pk}/").content.decode()
    assert client_at(mall.acme, mall.users["acme:warehouse"]).post(f"/suborders/{so.pk}/release/").status_code == 403
    assert _fresh(mall, so).held_at is not None
    client_at(mall.acme, mall.users["acme:customer_service"]).post(f"/suborders/{so.pk}/release/")
    assert _fresh(mall, so).held_at is None


def test_an_owner_who_lost_the_capability_is_refused_and_the_refusal_is_recorded(mall):
    manager = mall.users["acme:manager"]
    rule = _rule(mall, owner="acme:manager", actions=[{"type": "accept"}, {"type": "add_tag", "tag": "seen"}])
    membership = Membership.objects.get(user=manager, merchant=mall.acme)
    membership_roles_set(actor=mall.users["acme:owner"], membership=membership, roles=["warehouse"])  # demoted: no accept, no tags
    so = _paid(mall)
    _deliver(mall, so)
    fresh = _fresh(mall, so)
    assert (fresh.status, fresh.tags) == ("awaiting_acceptance", [])
    with in_merchant_schema(mall.acme):
        run = RuleRun.objects.get(rule=rule, suborder_id=so.pk)
        assert run.outcome == "refused"
        assert [(a["type"], a["status"], a["code"]) for a in run.actions] == [("accept", "refused", "permission_denied"),
                                                                              ("add_tag", "refused", "permission_denied")]
        assert "suborders.accept" in run.actions[0]["detail"]
        assert not SubOrderEvent.objects.filter(suborder_id=so.pk, action="accepted").exists()


def test_an_owner_who_left_the_store_is_refused(mall):
    rule = _rule(mall, owner="acme:manager", actions=[{"type": "accept"}])
    Membership.objects.filter(user=mall.users["acme:manager"], merchant=mall.acme).update(is_active=False)
    so = _paid(mall)
    _deliver(mall, so)
    assert _fresh(mall, so).status == "awaiting_acceptance"
    with in_merchant_schema(mall.acme):
        assert RuleRun.objects.get(rule=rule, suborder_id=so.pk).actions[0]["status"] == "refused"


def test_a_redelivered_event_does_nothing_twice(mall):
    rule = _rule(mall, actions=[{"type": "add_note", "text": "checked by rule"}, {"type": "accept"}])
    so = _paid(mall)
    _deliver(mall, so)
    after_first = _fresh(mall, so)
    _deliver(mall, so)  # the same event again (a retried delivery)
    after_second = _fresh(mall, so)
    assert (after_second.status, after_second.note, after_second.version) == ("accepted", "checked by rule", after_first.version)
    with in_merchant_schema(mall.acme):
        assert RuleRun.objects.filter(rule=rule, suborder_id=so.pk).count() == 1
        assert SubOrderEvent.objects.filter(suborder_id=so.pk, action__in=["accepted", "note_added"]).count() == 2


def test_rules_that_are_off_or_for_another_trigger_do_not_fire(mall):
    _rule(mall, enabled=False, actions=[{"type": "accept"}])
    _rule(mall, trigger="accepted", actions=[{"type": "add_tag", "tag": "accepted"}])
    so = _paid(mall)
    _deliver(mall, so)
    assert (_fresh(mall, so).status, _fresh(mall, so).tags) == ("awaiting_acceptance", [])
    with in_merchant_schema(mall.acme):
        from suborders.services import suborder_accept

        suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
    _deliver(mall, so, action="accepted")
    assert _fresh(mall, so).tags == ["accepted"]


def test_line_out_of_stock_fires_when_the_paid_suborder_took_the_last_units(mall):
    rule = _rule(mall, trigger="line_out_of_stock", actions=[{"type": "hold", "reason": "last units: count the shelf"}])
    order, _items = place_order(mall, qty=3, price_minor=1000, stock=3)
    pay(order)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
    _deliver(mall, so)
    assert _fresh(mall, so).hold_reason == "last units: count the shelf"
    so2 = _paid(mall)  # stock left: the rule does not fire
    _deliver(mall, so2)
    with in_merchant_schema(mall.acme):
        assert list(RuleRun.objects.filter(rule=rule).values_list("suborder_id", flat=True)) == [so.pk]


def test_notify_staff_and_webhook_go_through_the_outbox(mall, mailoutbox):
    _rule(mall, actions=[{"type": "notify_staff", "email": "manager@acme.test"}, {"type": "webhook"}])
    so = _paid(mall)
    event = _deliver(mall, so)
    fired = OutboxEvent.objects.get(topic="automation.rule_fired", aggregate_id=str(so.pk))
    assert fired.payload["outcome"] == "done" and fired.payload["number"] == so.number and fired.id > event.id
    notify = OutboxEvent.objects.get(topic="automation.staff_notify", aggregate_id=str(so.pk))
    assert notify.payload["email"] == "manager@acme.test" and mailoutbox == []  # nothing sent inside the transaction
    from core.outbox import delivery_key

    with TestCase.captureOnCommitCallbacks(execute=True):  # the relay makes the external subscriber's delivery
        outbox_relay_batch(limit=500)
    mine = [m for m in mailoutbox if m.extra_headers.get("Message-ID", "").endswith("@automation.mallard>")]
    assert [m.to for m in mine] == [["manager@acme.test"]] and so.number in mine[0].subject and "Accept big Shanghai orders" in mine[0].subject
    assert mine[0].extra_headers["Message-ID"] == f"<{delivery_key(notify.pk, 'automation.staff_email')}@automation.mallard>"


def test_dry_run_writes_nothing_and_lists_the_right_suborders(mall):
    from core.models import OutboxEvent as Outbox
    from permissions.models import AuditEntry

    small = _paid(mall, qty=1, price_minor=1000)
    big = _paid(mall, qty=3, price_minor=5000)
    unpaid, _items = place_order(mall, qty=3, price_minor=5000)
    rule = _rule(mall, enabled=False, conditions={"amount_min_minor": 10000}, actions=[{"type": "accept"}, {"type": "add_tag", "tag": "big"}])
    with in_merchant_schema(mall.acme):
        unpaid_so = SubOrder.objects.get(order_id=unpaid.pk)
        counts = lambda: (SubOrderEvent.objects.count(), RuleRun.objects.count(), AuditEntry.objects.count(),  # noqa: E731
                          Outbox.objects.count(), sorted(SubOrder.objects.values_list("pk", "version", "status")))
        before = counts()
        with CaptureQueriesContext(connection) as queries:
            rows = rule_dry_run(rule=AutomationRule.objects.get(pk=rule.pk), last=3)
        assert counts() == before
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    by_number = {r.number: r for r in rows}
    assert [r.number for r in rows] == [unpaid_so.number, big.number, small.number]  # newest first
    assert by_number[big.number].matched and [a["type"] for a in by_number[big.number].actions] == ["accept", "add_tag"]
    assert not by_number[small.number].matched and "total at least" in by_number[small.number].why_not
    assert not by_number[unpaid_so.number].matched and by_number[unpaid_so.number].triggered_at is None


def test_print_label_queues_the_shipments_labels_after_commit(mall, monkeypatch, tmp_path):
    import json

    from fulfillment.shipments import shipment_create
    from suborders.services import suborder_accept

    monkeypatch.setenv("MALLARD_DOCUMENTS_DIR", str(tmp_path))
    rule = _rule(mall, trigger="shipped", actions=[{"type": "print_label"}])
    so = _paid(mall)
    with in_merchant_schema(mall.acme):
        suborder_accept(suborder_id=so.pk, actor=mall.users["acme:owner"])
        shipment = shipment_create(suborder_id=so.pk, actor=mall.users["acme:warehouse"], lines=None, carrier="sf",
                                   tracking_number="SF7654321098765")
    _deliver(mall, so, action="shipped")
    with in_merchant_schema(mall.acme):
        run = RuleRun.objects.get(rule=rule, suborder_id=so.pk)
    assert (run.outcome, run.actions[0]["status"]) == ("done", "done")
    jobs = [json.loads(p.read_text()) for p in (tmp_path / mall.acme.schema_name / "label-jobs").glob("*.json")]
    assert [(j["shipment_ids"], j["actor_id"]) for j in jobs] == [([shipment.pk], mall.users["acme:owner"].pk)]


def test_print_label_without_a_shipment_is_refused_and_recorded(mall):
    rule = _rule(mall, trigger="late", actions=[{"type": "print_label"}])
    so = _paid(mall)
    with in_merchant_schema(mall.acme):
        from automation.services import automation_rules_run

        automation_rules_run(event_id=-so.pk, suborder_id=so.pk, action="late", at=so.created_at)
        run = RuleRun.objects.get(rule=rule, suborder_id=so.pk)
    assert run.outcome == "refused" and "no shipment" in run.actions[0]["detail"]


def test_time_of_day_window_in_the_merchants_zone_and_category_conditions(mall):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from catalog.services import category_create, product_create
    from orders.services import CheckoutLine, order_checkout
    from tests.orders.factories import ADDRESS, stock_item

    item = stock_item(mall.acme, price_minor=1500)
    with in_merchant_schema(mall.acme):
        parent = category_create(name="Outdoor")
        child = category_create(name="Tents", parent_id=parent.pk)
        product = product_create(name="Tent", category_id=child.pk, variants=[{"sku": "TENT-AUTO-1", "price_minor": 9900, "currency": "CNY"}])
        from catalog.services import stock_receive

        variant_id = product.variants.get().pk
        stock_receive(variant_id=variant_id, warehouse_id=item["warehouse_ids"][0], quantity=5, reason="t")
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address=ADDRESS, idempotency_key="auto-cat-1",
                              lines=[CheckoutLine(mall.acme.pk, variant_id, 1)])
    pay(order)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
    at = _event(mall, so).created_at.astimezone(ZoneInfo("Asia/Shanghai"))
    inside = {"start": (at - timedelta(minutes=30)).strftime("%H:%M"), "end": (at + timedelta(minutes=30)).strftime("%H:%M"),
              "timezone": "Asia/Shanghai"}
    outside = {"start": (at + timedelta(hours=2)).strftime("%H:%M"), "end": (at + timedelta(hours=3)).strftime("%H:%M"),
               "timezone": "Asia/Shanghai"}
    _rule(mall, name="in window", conditions={"time_window": inside, "categories": ["outdoor"]}, actions=[{"type": "add_tag", "tag": "in"}])
    _rule(mall, name="out of window", conditions={"time_window": outside}, actions=[{"type": "add_tag", "tag": "out"}])
    _rule(mall, name="other category", conditions={"categories": ["kitchen"]}, actions=[{"type": "add_tag", "tag": "kitchen"}])
    _deliver(mall, so)
    assert _fresh(mall, so).tags == ["in"]


def test_a_window_that_wraps_past_midnight():
    from datetime import UTC, datetime

    from automation.rules import _in_window

    night = {"start": "22:00", "end": "06:00", "timezone": "Asia/Shanghai"}
    assert _in_window(datetime(2026, 12, 3, 15, 30, tzinfo=UTC), night)  # 23:30 in Shanghai
    assert _in_window(datetime(2026, 12, 3, 21, 59, tzinfo=UTC), night)  # 05:59
    assert not _in_window(datetime(2026, 12, 3, 22, 0, tzinfo=UTC), night)  # 06:00
    assert not _in_window(datetime(2026, 12, 3, 4, 0, tzinfo=UTC), night)  # 12:00


def test_an_order_imported_from_another_channel_is_a_paid_trigger(mall):
    from django.utils import timezone

    from orders.services.channel import ChannelLine, ChannelOrder, import_scope, orders_import_chunk
    from tests.orders.factories import ADDRESS, stock_item

    _rule(mall, conditions={"channels": ["shopify"]}, actions=[{"type": "add_tag", "tag": "from-shopify"}, {"type": "accept"}])
    item = stock_item(mall.acme, price_minor=2000)
    result = orders_import_chunk(channel="shopify", scope=import_scope(channel="shopify", merchant_id=mall.acme.pk), merchants={mall.acme.pk: mall.acme},
                                 orders=[ChannelOrder(external_order_id="#AUTO1001", row=2, email="buyer@example.test", currency="CNY",
                                                      address=ADDRESS, created_at=timezone.now(),
                                                      lines=[ChannelLine(row=2, merchant_id=mall.acme.pk, variant_id=item["variant_id"],
                                                                         sku=item["sku"], name="Thing", unit_price_minor=2000, quantity=1)])])
    order_id = result.created[0][1]
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order_id)
    _deliver(mall, so, action="imported")
    fresh = _fresh(mall, so)
    assert (fresh.channel, fresh.status, fresh.tags) == ("shopify", "accepted", ["from-shopify"])
    with in_merchant_schema(mall.acme):
        rows = rule_dry_run(rule=AutomationRule.objects.get(name="Accept big Shanghai orders"), last=1)
    assert rows[0].number == so.number and rows[0].triggered_at is not None


def test_the_webhook_action_reaches_an_endpoint_subscribed_to_rule_fired_only(mall, settings):
    """automation.rule_fired fans out to the store's endpoints that subscribed to it, ordered with the suborder."""
    from webhooks.models import WebhookDelivery
    from webhooks.services import endpoint_create

    settings.MALLARD_WEBHOOKS_ALLOW_PRIVATE = True
    with in_merchant_schema(mall.acme):
        wanted, _secret = endpoint_create(actor=mall.users["acme:owner"], url="http://127.0.0.1:9/rules",
                                          event_types=["automation.rule_fired"])
        other, _secret = endpoint_create(actor=mall.users["acme:owner"], url="http://127.0.0.1:9/shipped",
                                         event_types=["suborder.shipped"])
    _rule(mall, actions=[{"type": "webhook"}])
    so = _paid(mall)
    _deliver(mall, so)
    outbox_relay_batch(limit=500)  # the fan-out of the rule's event
    with in_merchant_schema(mall.acme):
        got = list(WebhookDelivery.objects.filter(event_type="automation.rule_fired").values_list("endpoint_id", "body"))
    assert [endpoint for endpoint, _body in got] == [wanted.pk]
    assert f'"number": "{so.number}"' in got[0][1] or so.number in str(got[0][1])
    assert other.pk not in [endpoint for endpoint, _body in got]
