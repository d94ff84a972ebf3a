"""Orders entered by a store's staff (代客下单): drafts, confirm into a checkout order, pay link, paid offline."""
import itertools
import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, connections
from django.db.models import Max, Sum
from django.test import Client
from django.utils import timezone

from catalog.models import StockReservation, Variant
from catalog.services import product_create, stock_receive, warehouse_create
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.models import OutboxEvent
from core.tenancy import in_merchant_schema, in_public_schema
from fulfillment.services import shipping_rule_create
from orders.models import Order, OrderLine, SubOrderMirror
from payments.models import LedgerEntry, Payment, PaymentEvent, Refund
from payments.services import ledger_check, payment_mark_paid_offline, refund_create
from payments.services.refunds import RefundLineRequest
from permissions.models import AuditEntry
from suborders.drafts import DraftLine, draft_confirm, draft_create, draft_discard, draft_update, pay_link_url
from suborders.models import OrderDraft, SubOrder, SubOrderLine
from tests.orders.factories import ADDRESS
from tests.payments.helpers import run_commit_hooks

_n = itertools.count(1)
REASON = "regular customer, agreed by phone"


def _catalog(merchant, prices=(2500, 1000), stock=10, tag=""):
    """One product with a variant per price, all stocked in ONE warehouse (so a checkout is one suborder)."""
    n = next(_n)
    with in_merchant_schema(merchant):
        wh = warehouse_create(code=f"D{tag}{n}", name=f"Draft warehouse {n}", region="SH", priority=1)
        product = product_create(name=f"Draft thing {n}", variants=[
            {"sku": f"D{tag}{n}-{i}-{merchant.slug[:3]}".upper(), "price_minor": p, "currency": "CNY", "weight_g": 400,
             "name_suffix": f"v{i}"} for i, p in enumerate(prices)])
        variants = list(product.variants.order_by("pk"))
        for v in variants:
            stock_receive(variant_id=v.pk, warehouse_id=wh.pk, quantity=stock, reason="test stock")
    return {"warehouse_id": wh.pk, "variants": [v.pk for v in variants], "skus": [v.sku for v in variants]}


def _reserved(merchant, item) -> list[int]:
    from catalog.models import StockLevel

    with in_merchant_schema(merchant):
        return [StockLevel.objects.get(variant_id=v, warehouse_id=item["warehouse_id"]).reserved for v in item["variants"]]


def _confirmed_order(mall, *, discount=0):
    """A confirmed draft of acme (2 × 2500 + 3 × 1000, flat shipping 1200) and its order."""
    item = _catalog(mall.acme)
    cs = mall.users["acme:customer_service"]
    with in_merchant_schema(mall.acme):
        rule = shipping_rule_create(actor=None, name="Courier", regions=["SH"], flat_minor=1200)
        draft = draft_create(actor=cs, lines=[DraftLine(item["variants"][0], 2), DraftLine(item["variants"][1], 3)],
                             email="li.lei@example.com", shipping_address=ADDRESS, shipping_rule_id=rule.pk,
                             discount_minor=discount, discount_reason=REASON if discount else "")
        draft = draft_confirm(draft_id=draft.pk, actor=cs)
    return draft, Order.objects.get(pk=draft.order_id), item


def test_draft_edited_then_confirmed_is_one_order_with_one_suborder_reserved_stock_and_the_discount(mall):
    item = _catalog(mall.acme)
    v1, v2 = item["variants"]
    cs = mall.users["acme:customer_service"]
    with in_merchant_schema(mall.acme):
        rule = shipping_rule_create(actor=None, name="Courier", regions=["SH"], flat_minor=1200)
        draft = draft_create(actor=cs, lines=[DraftLine(v1, 1)], email=" Li.Lei@Example.com ")
        assert draft.status == "draft" and draft.email == "li.lei@example.com" and draft.shipping_address == {}
        draft_update(draft_id=draft.pk, actor=cs, lines=[DraftLine(v1, 2), DraftLine(v2, 3)], shipping_address=ADDRESS,
                     shipping_rule_id=rule.pk, discount_minor=1500, discount_reason=REASON)
        assert list(OrderDraft.objects.get(pk=draft.pk).lines.values_list("variant_id", "quantity")) == [(v1, 2), (v2, 3)]
        assert _reserved(mall.acme, item) == [0, 0]  # a draft reserves nothing
        done = draft_confirm(draft_id=draft.pk, actor=cs)
        assert done.status == "confirmed" and done.discount_reason == REASON and done.confirmed_at is not None
    order = Order.objects.get(pk=done.order_id)
    assert done.order_number == order.number
    # totals = lines − discount + shipping: 2 × 25.00 + 3 × 10.00 − 15.00 + 12.00
    assert (order.subtotal_minor, order.discount_minor, order.shipping_minor, order.total_minor) == (8000, 1500, 1200, 7700)
    assert order.shopper is None and order.email == "li.lei@example.com" and order.shipping_address["region"] == "SH"
    assert timedelta(days=3) - timedelta(minutes=1) < order.expires_at - order.created_at <= timedelta(days=3)
    mirror = SubOrderMirror.objects.get(order=order)
    assert (mirror.merchant_id, mirror.total_minor, mirror.discount_minor, mirror.shipping_method) == (mall.acme.pk, 7700, 1500, "Courier")
    # merchant-funded: spread over the lines by the largest remainder, none of it the platform's
    assert list(OrderLine.objects.filter(order=order).order_by("variant_id").values_list("quantity", "discount_minor", "line_total_minor")) \
        == [(2, 938, 4062), (3, 562, 2438)]
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.amount_minor, payment.captured_minor) == ("pending", 7700, 0)
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
        assert (so.status, so.total_minor, so.discount_minor, so.platform_discount_minor) == ("pending_payment", 7700, 1500, 0)
        lines = list(SubOrderLine.objects.filter(suborder=so).order_by("variant_id"))
        assert StockReservation.objects.filter(owner__in=[ln.reservation_owner for ln in lines]).count() == 2
    assert _reserved(mall.acme, item) == [2, 3]
    placed = OutboxEvent.objects.get(topic="order.placed", aggregate_id=str(order.pk))
    assert placed.payload["merchant_discounts"] == {str(mall.acme.pk): {"amount_minor": 1500, "reason": REASON}}
    audit = AuditEntry.objects.get(schema_name=mall.acme.schema_name, entity="order_draft", entity_id=str(draft.pk), action="confirm")
    assert audit.actor == cs and audit.after["order"] == order.number and audit.after["discount_reason"] == REASON
    assert audit.after["total_minor"] == 7700


def test_confirming_twice_places_one_order(mall, api_at):
    draft, order, item = _confirmed_order(mall, discount=500)
    cs = mall.users["acme:customer_service"]
    with in_merchant_schema(mall.acme):
        again = draft_confirm(draft_id=draft.pk, actor=cs)
    assert again.order_id == order.pk
    api = api_at(mall.acme, cs)
    r1 = api.post(f"/api/v1/drafts/{draft.pk}/confirm/", format="json", HTTP_IDEMPOTENCY_KEY="c-1")
    r2 = api.post(f"/api/v1/drafts/{draft.pk}/confirm/", format="json", HTTP_IDEMPOTENCY_KEY="c-2")
    assert r1.status_code == r2.status_code == 200
    assert r1.json()["order"]["number"] == r2.json()["order"]["number"] == order.number
    assert Order.objects.filter(idempotency_key=f"order-draft-{mall.acme.pk}-{draft.pk}").count() == 1
    assert Order.objects.filter(email="li.lei@example.com", pk__gte=order.pk).count() == 1
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.filter(order_id=order.pk).count() == 1
    assert _reserved(mall.acme, item) == [2, 3]


def test_two_staff_confirming_at_once_place_one_order(committed, unique):
    """Real connections: the second confirm waits for the draft's row lock and finds the order."""
    mall = committed
    tag = unique("C").replace("-", "")
    item = _catalog(mall.acme, tag=tag)
    cs, owner = mall.users["acme:customer_service"], mall.users["acme:owner"]
    with in_merchant_schema(mall.acme):
        draft = draft_create(actor=cs, lines=[DraftLine(item["variants"][0], 1)], email=f"race-{tag}@example.test",
                             shipping_address=ADDRESS)
    barrier = threading.Barrier(2)
    results, errors = [None, None], [None, None]

    def confirm(i, actor):
        try:
            barrier.wait(timeout=60)
            with in_merchant_schema(mall.acme):
                results[i] = draft_confirm(draft_id=draft.pk, actor=actor).order_id
        except Exception as exc:  # asserted below
            errors[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm, args=(i, a)) for i, a in enumerate((cs, owner))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [None, None] and results[0] == results[1] is not None
    assert Order.objects.filter(email__iexact=f"race-{tag}@example.test").count() == 1
    assert _reserved(mall.acme, item) == [1, 0]
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.filter(order_id=results[0]).count() == 1


def _refused(call, field):
    with pytest.raises(ValidationFailed) as exc:
        call()
    assert exc.value.field == field, (exc.value.field, exc.value.message)
    return exc.value


def test_bad_input_is_refused_naming_the_field_and_changes_nothing(mall, api_at):
    item = _catalog(mall.acme)
    v1 = item["variants"][0]
    cs = mall.users["acme:customer_service"]
    with in_merchant_schema(mall.acme):
        beijing_only = shipping_rule_create(actor=None, name="Beijing courier", regions=["BJ"], flat_minor=800)
        shipping_rule_create(actor=None, name="Standard", regions=[], flat_minor=1000)  # serves SH when none is chosen
        unknown = (Variant.objects.aggregate(m=Max("id"))["m"] or 0) + 1000
        drafts_before = OrderDraft.objects.count()
        audits_before = AuditEntry.objects.filter(entity="order_draft").count()
        _refused(lambda: draft_create(actor=cs, lines=[DraftLine(v1, 1), DraftLine(unknown, 1)]), "lines[1].variant_id")
        _refused(lambda: draft_create(actor=cs, lines=[DraftLine(v1, 0)]), "lines[0].quantity")
        err = _refused(lambda: draft_create(actor=cs, lines=[DraftLine(v1, 2)], discount_minor=5001, discount_reason="x"),
                       "discount_minor")
        assert "CNY 50.01" in err.message and "CNY 50.00" in err.message
        _refused(lambda: draft_create(actor=cs, lines=[DraftLine(v1, 2)], discount_minor=100), "discount_reason")
        _refused(lambda: draft_create(actor=cs, email="li.lei@example"), "email")
        _refused(lambda: draft_create(actor=cs, lines=[DraftLine(v1, 1)], shipping_address=ADDRESS,
                                      shipping_rule_id=beijing_only.pk), "shipping_address.region")
        _refused(lambda: draft_create(actor=cs, shipping_address={**ADDRESS, "city": ""}), "shipping_address.city")
        assert OrderDraft.objects.count() == drafts_before
        assert AuditEntry.objects.filter(entity="order_draft").count() == audits_before
        draft = draft_create(actor=cs, lines=[DraftLine(v1, 2)], email="li.lei@example.com", shipping_address=ADDRESS)
        saved = (draft.email, draft.shipping_address, draft.shipping_rule_id, draft.discount_minor,
                 list(draft.lines.values_list("variant_id", "quantity")))
        _refused(lambda: draft_update(draft_id=draft.pk, actor=cs, lines=[DraftLine(v1, 0)]), "lines[0].quantity")
        _refused(lambda: draft_update(draft_id=draft.pk, actor=cs, shipping_rule_id=beijing_only.pk), "shipping_address.region")
        _refused(lambda: draft_update(draft_id=draft.pk, actor=cs, discount_minor=5001, discount_reason="x"), "discount_minor")
        _refused(lambda: draft_update(draft_id=draft.pk, actor=cs, email="not an email"), "email")
        fresh = OrderDraft.objects.get(pk=draft.pk)
        assert (fresh.email, fresh.shipping_address, fresh.shipping_rule_id, fresh.discount_minor,
                list(fresh.lines.values_list("variant_id", "quantity"))) == saved
    # the API names the same fields
    api = api_at(mall.acme, cs)
    for body, field in (({"lines": [{"variant_id": v1, "quantity": 0}]}, "lines[0].quantity"),
                        ({"lines": [{"variant_id": unknown, "quantity": 1}]}, "lines[0].variant_id"),
                        ({"email": "nope"}, "email"),
                        ({"lines": [{"variant_id": v1, "quantity": 1}], "discount_minor": 2501, "discount_reason": "x"}, "discount_minor")):
        r = api.post("/api/v1/drafts/", body, format="json", HTTP_IDEMPOTENCY_KEY=f"bad-{field}")
        assert r.status_code == 400 and r.json()["field"] == field, r.json()
    r = api.patch(f"/api/v1/drafts/{draft.pk}/", {"shipping_rule_id": beijing_only.pk}, format="json")
    assert r.status_code == 400 and r.json()["field"] == "shipping_address.region"
    with in_merchant_schema(mall.acme):
        assert OrderDraft.objects.count() == drafts_before + 1
    # an incomplete draft cannot be confirmed; no order, no reservation
    with in_merchant_schema(mall.acme):
        empty = draft_create(actor=cs, lines=[DraftLine(v1, 1)])
        _refused(lambda: draft_confirm(draft_id=empty.pk, actor=cs), "email")
        assert OrderDraft.objects.get(pk=empty.pk).status == "draft"
    assert _reserved(mall.acme, item) == [0, 0]


def test_confirm_refused_by_checkout_names_the_draft_field_and_leaves_the_draft(mall):
    item = _catalog(mall.acme, stock=2)
    cs = mall.users["acme:customer_service"]
    with in_merchant_schema(mall.acme):
        draft = draft_create(actor=cs, lines=[DraftLine(item["variants"][1], 1), DraftLine(item["variants"][0], 3)],
                             email="li.lei@example.com", shipping_address=ADDRESS)
        with pytest.raises(Exception) as exc:
            draft_confirm(draft_id=draft.pk, actor=cs)
        assert exc.value.code == "out_of_stock" and exc.value.field == "lines[1].quantity"
        assert OrderDraft.objects.get(pk=draft.pk).status == "draft"
    assert not Order.objects.filter(idempotency_key=f"order-draft-{mall.acme.pk}-{draft.pk}").exists()
    assert _reserved(mall.acme, item) == [0, 0]


def test_another_merchants_draft_ids_are_not_found(mall, api_at, client_at):
    item = _catalog(mall.acme)
    with in_merchant_schema(mall.acme):
        draft = draft_create(actor=mall.users["acme:owner"], lines=[DraftLine(item["variants"][0], 1)],
                             email="li.lei@example.com", shipping_address=ADDRESS)
    with in_merchant_schema(mall.globex):
        assert not OrderDraft.objects.filter(pk=draft.pk).exists()  # acme's real id, absent in globex's schema
        with pytest.raises(NotFound):
            draft_confirm(draft_id=draft.pk, actor=mall.users["globex:owner"])
    globex = api_at(mall.globex, mall.users["globex:owner"])
    assert globex.get(f"/api/v1/drafts/{draft.pk}/").status_code == 404
    assert globex.patch(f"/api/v1/drafts/{draft.pk}/", {"email": "x@example.com"}, format="json").status_code == 404
    assert globex.post(f"/api/v1/drafts/{draft.pk}/confirm/", HTTP_IDEMPOTENCY_KEY="g-1").status_code == 404
    assert client_at(mall.globex, mall.users["globex:owner"]).get(f"/drafts/{draft.pk}/").status_code == 404
    assert client_at(mall.globex, mall.users["globex:owner"]).post(f"/drafts/{draft.pk}/confirm/").status_code == 404
    # globex's owner on acme's host is not a member there
    assert api_at(mall.acme, mall.users["globex:owner"]).get(f"/api/v1/drafts/{draft.pk}/").status_code == 403
    assert globex.get("/api/v1/drafts/").json() == []
    with in_merchant_schema(mall.acme):
        assert OrderDraft.objects.get(pk=draft.pk).status == "draft"


@pytest.mark.parametrize("role", ["warehouse", "finance"])
def test_warehouse_and_finance_users_cannot_create_drafts(mall, api_at, client_at, role):
    item = _catalog(mall.acme)
    user = mall.users[f"acme:{role}"]
    with in_merchant_schema(mall.acme):
        before = OrderDraft.objects.count()
    body = {"lines": [{"variant_id": item["variants"][0], "quantity": 1}], "email": "li.lei@example.com"}
    assert api_at(mall.acme, user).post("/api/v1/drafts/", body, format="json", HTTP_IDEMPOTENCY_KEY="r-1").status_code == 403
    page = client_at(mall.acme, user)
    assert page.post("/drafts/new/", {"rows": "1", "sku_0": item["skus"][0], "qty_0": "1"}).status_code == 403
    assert page.get("/drafts/new/").status_code == 403
    with in_merchant_schema(mall.acme):
        with pytest.raises(PermissionDenied):
            draft_create(actor=user, lines=[DraftLine(item["variants"][0], 1)])
        assert OrderDraft.objects.count() == before
    assert 'href="/drafts/"' not in page.get("/").content.decode()
    assert 'href="/drafts/"' in client_at(mall.acme, mall.users["acme:customer_service"]).get("/").content.decode()


def test_the_dashboard_pages_enter_edit_and_confirm_an_order(mall, client_at):
    item = _catalog(mall.acme)
    cs = client_at(mall.acme, mall.users["acme:customer_service"])
    with in_merchant_schema(mall.acme):
        last = OrderDraft.objects.aggregate(m=Max("id"))["m"] or 0
    address = {f"address_{k}": v for k, v in ADDRESS.items()}
    form = {"rows": "4", "sku_0": item["skus"][0], "qty_0": "2", "sku_1": "", "qty_1": "", "email": "li.lei@example.com",
            **address, "shipping_rule": "", "discount": "5.50", "discount_reason": REASON}
    bad = cs.post("/drafts/new/", {**form, "qty_0": "0"})
    assert bad.status_code == 400 and 'data-field="lines[0].quantity"' in bad.content.decode()
    r = cs.post("/drafts/new/", form)
    assert r.status_code == 302
    with in_merchant_schema(mall.acme):
        draft = OrderDraft.objects.get(pk__gt=last)
        assert (draft.discount_minor, draft.discount_reason) == (550, REASON)
    page = cs.get(f"/drafts/{draft.pk}/").content.decode()
    assert 'data-testid="draft-total">CNY 44.50<' in page  # 2 × 25.00 − 5.50, free shipping (no rules)
    r = cs.post(f"/drafts/{draft.pk}/", {**form, "sku_1": item["skus"][1], "qty_1": "1"})
    assert r.status_code == 302
    assert 'data-testid="draft-total">CNY 54.50<' in cs.get(f"/drafts/{draft.pk}/").content.decode()
    assert cs.post(f"/drafts/{draft.pk}/confirm/").status_code == 302
    with in_merchant_schema(mall.acme):
        draft = OrderDraft.objects.get(pk__gt=last)
    page = cs.get(f"/drafts/{draft.pk}/").content.decode()
    assert draft.status == "confirmed" and f'data-testid="order-number">{draft.order_number}<' in page
    assert 'data-testid="pay-link"' in page and 'data-testid="mark-paid"' not in page  # customer service: no money rights
    finance = client_at(mall.acme, mall.users["acme:finance"]).get(f"/drafts/{draft.pk}/").content.decode()
    assert 'data-testid="mark-paid"' in finance and 'data-testid="send-link"' not in finance
    assert client_at(mall.acme, mall.users["acme:warehouse"]).get(f"/drafts/{draft.pk}/").status_code == 403


def test_a_discarded_draft_cannot_be_confirmed(mall):
    item = _catalog(mall.acme)
    cs = mall.users["acme:customer_service"]
    with in_merchant_schema(mall.acme):
        draft = draft_create(actor=cs, lines=[DraftLine(item["variants"][0], 1)], email="li.lei@example.com", shipping_address=ADDRESS)
        draft_discard(draft_id=draft.pk, actor=cs)
        with pytest.raises(Exception) as exc:
            draft_confirm(draft_id=draft.pk, actor=cs)
        assert exc.value.code == "invalid_transition"
        assert OrderDraft.objects.get(pk=draft.pk).order_id is None
    assert _reserved(mall.acme, item) == [0, 0]


def test_marked_paid_offline_by_finance_is_captured_audited_and_released(mall, api_at):
    draft, order, item = _confirmed_order(mall, discount=1500)
    finance = mall.users["acme:finance"]
    api = api_at(mall.acme, finance)
    body = {"method": "bank_transfer", "reference": "ICBC 20261201-0042"}
    r1 = api.post(f"/api/v1/orders/{order.number}/offline-payment/", body, format="json", HTTP_IDEMPOTENCY_KEY="off-1")
    r2 = api.post(f"/api/v1/orders/{order.number}/offline-payment/", body, format="json", HTTP_IDEMPOTENCY_KEY="off-1")
    assert r1.status_code == 200, r1.json()
    assert r1.json() == {"order": order.number, "payment_status": "captured", "gateway": "offline",
                         "reference": "ICBC 20261201-0042", "captured_minor": 7700, "currency": "CNY"}
    assert r2.status_code == 200 and r2["Idempotent-Replayed"] == "true"
    connection.set_schema_to_public()  # a test client's request leaves the connection in its host's schema
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.gateway, payment.gateway_reference, payment.captured_minor) == \
        ("captured", "offline", "ICBC 20261201-0042", 7700)
    assert list(PaymentEvent.objects.filter(payment=payment).order_by("pk").values_list("from_status", "to_status", "actor_id", "reason")) == \
        [("", "pending", None, "checkout"), ("pending", "captured", finance.pk, "paid offline (bank_transfer): ICBC 20261201-0042")]
    assert ledger_check(order_ids=[order.pk]) == []
    assert LedgerEntry.objects.filter(order_id=order.pk).aggregate(s=Sum("amount_minor"))["s"] == 7700
    audit = AuditEntry.objects.get(entity="payment", entity_id=str(payment.pk), action="paid_offline")
    assert (audit.actor, audit.schema_name) == (finance, mall.acme.schema_name)
    assert audit.before["status"] == "pending"
    assert audit.after == {"status": "captured", "gateway": "offline", "method": "bank_transfer", "reference": "ICBC 20261201-0042",
                           "amount_minor": 7700, "currency": "CNY", "order": order.number}
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(order_id=order.pk)
        assert so.status == "awaiting_acceptance" and so.accept_by is not None
        owners = [ln.reservation_owner for ln in so.lines.all()]
        assert not StockReservation.objects.filter(owner__in=owners, expires_at__isnull=False).exists()  # kept, no longer expiring
    assert SubOrderMirror.objects.get(order=order).status == "awaiting_acceptance"
    # a second recording with another reference is refused, nothing changes
    again = api.post(f"/api/v1/orders/{order.number}/offline-payment/", {**body, "reference": "other"}, format="json",
                     HTTP_IDEMPOTENCY_KEY="off-2")
    assert again.status_code == 409 and again.json()["code"] == "already_paid"
    connection.set_schema_to_public()
    assert PaymentEvent.objects.filter(payment=payment).count() == 2
    # its refunds are paid back offline: no gateway is asked
    line = OrderLine.objects.filter(order=order).order_by("variant_id").first()
    with in_merchant_schema(mall.acme):
        so_id = SubOrder.objects.get(order_id=order.pk).pk
    refund, _ = run_commit_hooks(refund_create, actor=finance, merchant_id=mall.acme.pk, suborder_id=so_id,
                                 lines=[RefundLineRequest(order_line_id=line.pk, quantity=1)], reason="one arrived broken")
    refund = Refund.objects.get(pk=refund.pk)
    assert (refund.status, refund.gateway_reference, refund.amount_minor) == ("succeeded", "refunded offline", 2031)
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_minor) == ("partially_refunded", 2031)
    assert ledger_check(order_ids=[order.pk]) == []


def test_customer_service_cannot_mark_paid_offline(mall, api_at):
    draft, order, item = _confirmed_order(mall)
    body = {"method": "cash_on_delivery", "reference": "COD slip 17"}
    cs = api_at(mall.acme, mall.users["acme:customer_service"])
    assert cs.post(f"/api/v1/orders/{order.number}/offline-payment/", body, format="json", HTTP_IDEMPOTENCY_KEY="cs-1").status_code == 403
    with in_public_schema():  # (a test client's request leaves the connection in its host's schema)
        for who in ("acme:customer_service", "acme:warehouse", "globex:finance"):  # globex's finance: another store's money
            with pytest.raises(PermissionDenied):
                payment_mark_paid_offline(order=order, reference="COD slip 17", method="cash_on_delivery", actor=mall.users[who])
    # globex's finance on globex's host with acme's real order number: not an order of that store
    globex = api_at(mall.globex, mall.users["globex:finance"])
    assert globex.post(f"/api/v1/orders/{order.number}/offline-payment/", body, format="json",
                       HTTP_IDEMPOTENCY_KEY="g-1").status_code == 404
    bad = api_at(mall.acme, mall.users["acme:finance"]).post(f"/api/v1/orders/{order.number}/offline-payment/",
                                                             {"method": "cash_on_delivery", "reference": " "}, format="json",
                                                             HTTP_IDEMPOTENCY_KEY="f-1")
    assert bad.status_code == 400 and bad.json()["field"] == "reference"
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.gateway, payment.captured_minor) == ("pending", "", 0)
    assert not LedgerEntry.objects.filter(order_id=order.pk).exists()
    assert not AuditEntry.objects.filter(entity="payment", entity_id=str(payment.pk)).exists()
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(order_id=order.pk).status == "pending_payment"


def test_the_pay_link_opens_the_order_for_a_guest_and_offers_the_payment_methods(mall, client_at, django_capture_on_commit_callbacks):
    draft, order, item = _confirmed_order(mall)
    cs = client_at(mall.acme, mall.users["acme:customer_service"])
    with django_capture_on_commit_callbacks(execute=True):
        assert cs.post(f"/drafts/{draft.pk}/send-link/").status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["li.lei@example.com"]
    assert "CNY 92.00" in mail.outbox[0].body and order.number in mail.outbox[0].subject
    links = re.findall(r"http://localhost(/orders/\S+/pay/\S+/)", mail.outbox[0].body)
    assert len(links) == 1 and links[0].startswith(f"/orders/{order.number}/pay/")
    path = links[0]
    assert 'data-testid="pay-link"' in cs.get(f"/drafts/{draft.pk}/").content.decode()
    guest = Client(HTTP_HOST="localhost")
    assert guest.get(f"/orders/{order.number}/").status_code == 404  # not without the link
    r = guest.get(path)
    assert r.status_code == 302 and r["Location"] == f"/orders/{order.number}/"
    page = guest.get(f"/orders/{order.number}/").content.decode()
    assert 'data-testid="pay"' in page and 'data-testid="gateway-sandbox"' in page
    assert 'data-testid="order-total">CNY 92.00<' in page
    # a link altered to name another order, or tampered with, opens nothing
    other = Client(HTTP_HOST="localhost")
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert other.get(f"/orders/{order.number}/pay/{token[:-2]}xx/").status_code == 404
    assert other.get(f"/orders/000000-ABCDEF000000/pay/{token}/").status_code == 404
    assert other.get(f"/orders/{order.number}/").status_code == 404
    # a link made for another order does not open this one
    with in_public_schema():
        foreign = pay_link_url(number="000000-ABCDEF000000", email=order.email).split("localhost", 1)[1]
    assert other.get(foreign.replace("000000-ABCDEF000000", order.number, 1)).status_code == 404
    # once paid offline there is nothing left to send
    with in_public_schema():
        payment_mark_paid_offline(order=order, reference="T-1", method="bank_transfer", actor=mall.users["acme:finance"])
    with django_capture_on_commit_callbacks(execute=True):
        cs.post(f"/drafts/{draft.pk}/send-link/")
    assert len(mail.outbox) == 1
    assert 'data-testid="pay"' not in guest.get(f"/orders/{order.number}/").content.decode()


def test_api_draft_lifecycle_with_idempotent_create(mall, api_at):
    item = _catalog(mall.acme)
    api = api_at(mall.acme, mall.users["acme:manager"])
    body = {"lines": [{"variant_id": item["variants"][0], "quantity": 1}], "email": "li.lei@example.com"}
    r1 = api.post("/api/v1/drafts/", body, format="json", HTTP_IDEMPOTENCY_KEY="new-1")
    r2 = api.post("/api/v1/drafts/", body, format="json", HTTP_IDEMPOTENCY_KEY="new-1")
    assert r1.status_code == 201 and r2.status_code == 201 and r2.json()["id"] == r1.json()["id"]
    draft_id = r1.json()["id"]
    assert r1.json()["totals"]["subtotal_minor"] == 2500 and r1.json()["totals"]["total_minor"] is None
    assert api.post("/api/v1/drafts/", body, format="json").status_code == 400  # no Idempotency-Key
    r = api.patch(f"/api/v1/drafts/{draft_id}/", {"shipping_address": ADDRESS, "discount_minor": 300, "discount_reason": REASON},
                  format="json")
    assert r.status_code == 200 and r.json()["totals"]["total_minor"] == 2200 and r.json()["email"] == "li.lei@example.com"
    assert [d["id"] for d in api.get("/api/v1/drafts/?status=draft").json()] == [draft_id]
    r = api.post(f"/api/v1/drafts/{draft_id}/confirm/", format="json", HTTP_IDEMPOTENCY_KEY="conf-1")
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    out = r.json()["order"]
    assert out["total_minor"] == 2200 and out["payment_status"] == "pending" and len(out["suborder_ids"]) == 1
    assert out["pay_link"].startswith(f"http://localhost/orders/{out['number']}/pay/")
    late = api.patch(f"/api/v1/drafts/{draft_id}/", {"email": "x@example.com"}, format="json")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"
    assert Order.objects.get(number=out["number"]).created_at > timezone.now() - timedelta(minutes=5)
