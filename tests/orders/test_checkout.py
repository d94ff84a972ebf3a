"""order_checkout: one transaction across public and every merchant schema."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import Conflict, MerchantSuspended, OutOfStock, ValidationFailed
from core.models import OutboxEvent
from core.tenancy import in_merchant_schema
from merchants.services import merchant_reinstate, merchant_suspend
from orders.models import Order, OrderLine, SubOrderMirror, Voucher
from orders.services import CheckoutLine, order_checkout
from payments.models import Payment
from suborders.models import SubOrder, SubOrderLine
from tests.orders.factories import ADDRESS, levels, stock_item


def _line(item, qty=1, **kw):
    return CheckoutLine(merchant_id=item["merchant_id"], variant_id=item["variant_id"], quantity=qty, **kw)


def _checkout(shopper, lines, key="k1", **kw):
    return order_checkout(shopper=shopper, email=None, lines=lines, shipping_address=ADDRESS, idempotency_key=key, **kw)


def _suborder_count(merchant):
    with in_merchant_schema(merchant):
        return SubOrder.objects.count(), SubOrderLine.objects.count()


def test_three_merchant_checkout_creates_everything_once(mall):
    a = stock_item(mall.acme, price_minor=1999, stock=(5,))
    g = stock_item(mall.globex, price_minor=50000, stock=(2,))
    i = stock_item(mall.initech, price_minor=305, stock=(9,))
    order, created = _checkout(mall.users["shopper"], [_line(a, 2), _line(g, 1), _line(i, 3)])
    assert created
    assert order.subtotal_minor == 2 * 1999 + 50000 + 3 * 305
    assert order.total_minor == order.subtotal_minor + order.shipping_minor - order.discount_minor
    mirrors = list(SubOrderMirror.objects.filter(order=order).order_by("merchant_id"))
    assert [m.merchant_id for m in mirrors] == sorted([mall.acme.pk, mall.globex.pk, mall.initech.pk])
    assert sum(m.total_minor for m in mirrors) == order.total_minor
    assert OrderLine.objects.filter(order=order).count() == 3
    assert Payment.objects.get(order=order).amount_minor == order.total_minor
    for item, on_hand, qty in ((a, 5, 2), (g, 2, 1), (i, 9, 3)):
        assert levels(item) == [(on_hand, qty)]
        with in_merchant_schema(item["merchant"]):
            so = SubOrder.objects.get(order_id=order.pk)
            assert so.status == "pending_payment" and so.lines.get().quantity == qty
    # each line snapshots the merchant's commission rate
    line = OrderLine.objects.get(order=order, merchant=mall.globex)
    assert line.commission_bp == mall.globex.commission_bp and line.commission_minor == 5000
    assert OutboxEvent.objects.filter(topic="order.placed", aggregate_id=str(order.pk)).count() == 1


def test_failure_at_third_merchant_leaves_no_rows_anywhere(mall, monkeypatch):
    """The plan sees initech's unit; inside the transaction, after acme's and globex's suborders are
    written, that unit is gone (taken just before initech's reservation): everything rolls back."""
    import suborders.services as so_services
    from catalog.services import stock_adjust

    a = stock_item(mall.acme, stock=(5,))
    g = stock_item(mall.globex, stock=(5,))
    i = stock_item(mall.initech, stock=(1,))
    before = [_suborder_count(m) for m in (mall.acme, mall.globex, mall.initech)]
    orders_before, events_before = Order.objects.count(), OutboxEvent.objects.count()
    real = so_services.suborders_create_for_checkout
    written = []

    def take_initech_unit_first(**kw):
        from core.tenancy import current_merchant

        if current_merchant().pk == mall.initech.pk:
            written.append(_suborder_count(mall.acme)[0] - before[0][0] + _suborder_count(mall.globex)[0] - before[1][0])
            stock_adjust(variant_id=i["variant_id"], warehouse_id=i["warehouse_ids"][0], delta=-1, reason="taken meanwhile")
        return real(**kw)

    monkeypatch.setattr("orders.services.checkout.suborders_create_for_checkout", take_initech_unit_first)
    with pytest.raises(OutOfStock) as err:
        _checkout(mall.users["shopper"], [_line(a, 1), _line(g, 1), _line(i, 1)])
    assert written == [2]  # the failure came inside the transaction, after two merchants were written
    assert "1 requested, 0 available" in err.value.message
    assert [_suborder_count(m) for m in (mall.acme, mall.globex, mall.initech)] == before
    assert (Order.objects.count(), OutboxEvent.objects.count()) == (orders_before, events_before)
    assert levels(a) == [(5, 0)] and levels(g) == [(5, 0)] and levels(i) == [(1, 0)]


def test_reservation_failure_after_two_merchants_written_rolls_back_all(mall, monkeypatch):
    """Inject the failure inside the transaction, after acme's and globex's suborders are written."""
    import suborders.services as so_services

    a = stock_item(mall.acme, stock=(5,))
    g = stock_item(mall.globex, stock=(5,))
    i = stock_item(mall.initech, stock=(5,))
    real = so_services.suborders_create_for_checkout
    calls = []

    def flaky(**kw):
        calls.append(connection.schema_name)
        if connection.schema_name == mall.initech.schema_name:
            raise OutOfStock("initech ran dry", field="lines[2].quantity")
        return real(**kw)

    monkeypatch.setattr("orders.services.checkout.suborders_create_for_checkout", flaky)
    orders_before = Order.objects.count()
    before = [_suborder_count(m) for m in (mall.acme, mall.globex, mall.initech)]
    with pytest.raises(OutOfStock):
        _checkout(mall.users["shopper"], [_line(a), _line(g), _line(i)])
    assert len(calls) == 3  # acme and globex were written before the failure
    assert [_suborder_count(m) for m in (mall.acme, mall.globex, mall.initech)] == before
    assert Order.objects.count() == orders_before
    assert levels(a) == [(5, 0)] and levels(g) == [(5, 0)]


def test_same_key_returns_same_order_and_reserves_once(mall):
    a = stock_item(mall.acme, stock=(5,))
    o1, c1 = _checkout(mall.users["shopper"], [_line(a, 2)], key="same")
    o2, c2 = _checkout(mall.users["shopper"], [_line(a, 2)], key="same")
    assert (c1, c2) == (True, False) and o1.pk == o2.pk
    assert levels(a) == [(5, 2)]


def test_same_key_different_body_is_409(mall):
    a = stock_item(mall.acme, stock=(5,))
    _checkout(mall.users["shopper"], [_line(a, 1)], key="dup")
    with pytest.raises(Conflict) as err:
        _checkout(mall.users["shopper"], [_line(a, 2)], key="dup")
    assert err.value.code == "idempotency_key_reused" and err.value.status == 409
    assert levels(a) == [(5, 1)]


def test_warehouse_choice_prefers_one_shipment_then_priority(mall):
    # Two variants; warehouse 0 (priority 10) holds only the first, warehouse 1 (priority 20) holds both.
    from catalog.services import stock_receive

    x = stock_item(mall.acme, stock=(5, 5), priorities=[10, 20])
    y = stock_item(mall.acme, stock=(0,), tag="y")
    with in_merchant_schema(mall.acme):
        stock_receive(variant_id=y["variant_id"], warehouse_id=x["warehouse_ids"][1], quantity=3, reason="t")
    order, _ = _checkout(mall.users["shopper"], [_line(x, 1), _line(y, 1)])
    with in_merchant_schema(mall.acme):
        sos = list(SubOrder.objects.filter(order_id=order.pk))
    assert len(sos) == 1 and sos[0].warehouse_id == x["warehouse_ids"][1]
    assert "holds every line" in sos[0].warehouse_reason


def test_split_across_warehouses_makes_two_suborders(mall):
    x = stock_item(mall.acme, stock=(5, 0), priorities=[10, 20])
    y = stock_item(mall.acme, stock=(0, 4), priorities=[10, 20], tag="z")
    order, _ = _checkout(mall.users["shopper"], [_line(x, 2), _line(y, 4)])
    with in_merchant_schema(mall.acme):
        sos = list(SubOrder.objects.filter(order_id=order.pk).order_by("warehouse_id"))
    assert [s.warehouse_id for s in sos] == sorted([x["warehouse_ids"][0], y["warehouse_ids"][1]])
    assert sum(s.total_minor for s in sos) == order.total_minor
    assert SubOrderMirror.objects.filter(order=order).count() == 2


@pytest.mark.parametrize("lines_kw,field,code", [
    ("empty", "lines", "empty_cart"),
    ("qty0", "lines[0].quantity", "invalid"),
    ("qty_huge", "lines[0].quantity", "invalid"),
    ("unknown_variant", "lines[0].variant_id", "invalid"),
    ("unknown_store", "lines[0].merchant_id", "invalid"),
])
def test_bad_lines_are_refused_and_write_nothing(mall, lines_kw, field, code):
    a = stock_item(mall.acme, stock=(5,))
    lines = {
        "empty": [],
        "qty0": [_line(a, 0)],
        "qty_huge": [_line(a, 10**9)],
        "unknown_variant": [CheckoutLine(merchant_id=a["merchant_id"], variant_id=999999, quantity=1)],
        "unknown_store": [CheckoutLine(merchant_id=999999, variant_id=a["variant_id"], quantity=1)],
    }[lines_kw]
    before = (Order.objects.count(), OutboxEvent.objects.count(), levels(a))
    with pytest.raises(ValidationFailed) as err:
        _checkout(mall.users["shopper"], lines)
    assert err.value.field == field and err.value.code == code
    assert (Order.objects.count(), OutboxEvent.objects.count(), levels(a)) == before


def test_malformed_address_names_the_field(mall):
    a = stock_item(mall.acme, stock=(5,))
    bad = dict(ADDRESS, country="China")
    with pytest.raises(ValidationFailed) as err:
        order_checkout(shopper=mall.users["shopper"], email=None, lines=[_line(a)], shipping_address=bad, idempotency_key="x")
    assert err.value.field == "shipping_address.country"
    with pytest.raises(ValidationFailed) as err:
        order_checkout(shopper=mall.users["shopper"], email=None, lines=[_line(a)], shipping_address={"name": "x"}, idempotency_key="x")
    assert err.value.field == "shipping_address.phone"  # the first required field missing after name
    assert levels(a) == [(5, 0)]


def test_changed_price_is_reported_before_paying(mall):
    a = stock_item(mall.acme, price_minor=1000, stock=(5,))
    with pytest.raises(Conflict) as err:
        _checkout(mall.users["shopper"], [_line(a, 1, expected_unit_price_minor=900)])
    assert err.value.code == "price_changed" and err.value.details["changed"][0]["price_minor"] == 1000
    assert levels(a) == [(5, 0)]


def test_suspended_merchant_refused(mall):
    a = stock_item(mall.acme, stock=(5,))
    merchant_suspend(merchant=mall.acme, reason="audit")
    try:
        with pytest.raises(MerchantSuspended) as err:
            _checkout(mall.users["shopper"], [_line(a)])
        assert err.value.field == "lines[0].merchant_id"
    finally:
        merchant_reinstate(merchant=mall.acme)
    assert levels(a) == [(5, 0)]


def test_guest_checkout_needs_valid_email(mall):
    a = stock_item(mall.acme, stock=(5,))
    with pytest.raises(ValidationFailed) as err:
        order_checkout(shopper=None, email="not-an-email", lines=[_line(a)], shipping_address=ADDRESS, idempotency_key="g")
    assert err.value.field == "email"
    order, _ = order_checkout(shopper=None, email="Guest@Example.com", lines=[_line(a)], shipping_address=ADDRESS, idempotency_key="g")
    assert order.email == "guest@example.com" and order.shopper is None


def test_platform_voucher_split_across_suborders(mall):
    a = stock_item(mall.acme, price_minor=1000, stock=(5,))
    g = stock_item(mall.globex, price_minor=2000, stock=(5,))
    Voucher.objects.create(code="SAVE10", kind="fixed", amount_minor=1001, currency="CNY")
    order, _ = _checkout(mall.users["shopper"], [_line(a), _line(g)], voucher_code="save10")
    mirrors = {m.merchant_id: m for m in SubOrderMirror.objects.filter(order=order)}
    assert order.discount_minor == 1001
    assert mirrors[mall.acme.pk].discount_minor + mirrors[mall.globex.pk].discount_minor == 1001
    assert mirrors[mall.acme.pk].discount_minor == 334 and mirrors[mall.globex.pk].discount_minor == 667
    assert Voucher.objects.get(code="SAVE10").redeemed_count == 1


def test_merchant_voucher_applies_only_to_its_store(mall):
    a = stock_item(mall.acme, price_minor=1000, stock=(5,))
    g = stock_item(mall.globex, price_minor=2000, stock=(5,))
    Voucher.objects.create(code="ACME20", kind="percent", percent_bp=2000, merchant=mall.acme, currency="CNY")
    order, _ = _checkout(mall.users["shopper"], [_line(a), _line(g)], voucher_code="ACME20")
    mirrors = {m.merchant_id: m for m in SubOrderMirror.objects.filter(order=order)}
    assert mirrors[mall.acme.pk].discount_minor == 200 and mirrors[mall.globex.pk].discount_minor == 0


def test_exhausted_voucher_refused_and_nothing_written(mall):
    a = stock_item(mall.acme, stock=(5,))
    Voucher.objects.create(code="ONCE", kind="fixed", amount_minor=100, max_redemptions=1, redeemed_count=1)
    with pytest.raises(Conflict) as err:
        _checkout(mall.users["shopper"], [_line(a)], voucher_code="ONCE")
    assert err.value.code == "voucher_exhausted"
    assert levels(a) == [(5, 0)]


def test_sql_statements_per_three_merchant_checkout(mall):
    items = [stock_item(m, stock=(50,)) for m in (mall.acme, mall.globex, mall.initech)]
    _checkout(mall.users["shopper"], [_line(x) for x in items], key="warm")
    with CaptureQueriesContext(connection) as ctx:
        _checkout(mall.users["shopper"], [_line(x) for x in items], key="measured")
    sql = [q["sql"] for q in ctx.captured_queries]
    # Inside the test's transaction the checkout's BEGIN/COMMIT show up as one SAVEPOINT/RELEASE pair.
    outer = [q for q in sql if q.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))][:1] + [q for q in sql if q.startswith("RELEASE SAVEPOINT")][-1:]
    assert len(sql) - len(outer) <= 40, "\n".join(q[:120] for q in sql)


def test_quote_prices_like_checkout_and_writes_nothing(mall):
    from orders.services import order_quote

    a = stock_item(mall.acme, price_minor=1000, stock=(5,))
    g = stock_item(mall.globex, price_minor=2000, stock=(5,))
    Voucher.objects.create(code="Q10", kind="fixed", amount_minor=1001, currency="CNY")
    before = (Order.objects.count(), OutboxEvent.objects.count(), levels(a), levels(g))
    quote = order_quote(shopper=mall.users["shopper"], email=None, lines=[_line(a), _line(g)], shipping_address=ADDRESS,
                        voucher_code="Q10")
    assert (Order.objects.count(), OutboxEvent.objects.count(), levels(a), levels(g)) == before
    assert Voucher.objects.get(code="Q10").redeemed_count == 0
    order, _ = _checkout(mall.users["shopper"], [_line(a), _line(g)], voucher_code="Q10")
    assert quote.discount_minor == order.discount_minor == 1001
    assert quote.totals == {k: getattr(order, k) for k in ("subtotal_minor", "shipping_minor", "discount_minor", "total_minor")}


def test_order_number_clash_draws_another(mall, monkeypatch):
    from orders.services import checkout as checkout_module

    a = stock_item(mall.acme, stock=(5,))
    first, _ = _checkout(mall.users["shopper"], [_line(a)], key="n1")
    draws = iter([first.number, "261124-FRESHNUMBER1"])
    monkeypatch.setattr(checkout_module, "_order_number", lambda: next(draws))
    second, created = _checkout(mall.users["shopper"], [_line(a)], key="n2", voucher_code=None)
    assert created and second.number == "261124-FRESHNUMBER1"
    assert levels(a) == [(5, 2)]  # the clashing attempt left nothing behind


def test_each_reservation_belongs_to_the_line_of_its_variant(mall):
    from catalog.models import StockReservation

    x = stock_item(mall.acme, stock=(5, 0), priorities=[10, 20], tag="own")
    y = stock_item(mall.acme, stock=(0, 4), priorities=[10, 20], tag="own2")
    z = stock_item(mall.acme, stock=(7,), tag="own3")
    order, _ = _checkout(mall.users["shopper"], [_line(z, 3), _line(x, 2), _line(y, 4)])
    with in_merchant_schema(mall.acme):
        lines = {ln.pk: ln for ln in SubOrderLine.objects.filter(suborder__order_id=order.pk).select_related("suborder")}
        reservations = list(StockReservation.objects.filter(owner__in=[f"suborder_line:{pk}" for pk in lines]))
        assert len(reservations) == 3
        for r in reservations:
            line = lines[int(r.owner.split(":")[1])]
            assert (r.variant_id, r.warehouse_id, r.quantity) == (line.variant_id, line.suborder.warehouse_id, line.quantity)
