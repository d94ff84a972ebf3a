"""The merchant's suborder list: every filter and search returns exactly the suborders it should
(checked on the API and the page), the cursor walks every row once, bad values are a 400 naming the
field (a message on the page), another merchant's rows never appear, and the view needs its role.

Rows are made through checkout, payment and the lifecycle services; only created_at is moved back
(to dates no other test uses), so that the date filters can be asserted exactly.
"""
from __future__ import annotations

import random
import sys
import types
import uuid
from datetime import UTC, datetime, timedelta
from importlib import import_module

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.urls import URLResolver

from core.tenancy import in_merchant_schema
from fulfillment.shipments import shipment_create
from orders.services import CheckoutLine, order_checkout
from suborders.models import SubOrder
from suborders.services import suborder_accept, suborder_mark_late
from tests.orders.factories import ADDRESS, stock_item
from tests.payments.helpers import pay

API = "/api/v1/suborders/"


def _order(mall, item, *, name, phone, qty=1):
    """place_order (tests/payments/helpers.py) with this shopper's name and phone on the address."""
    order, _ = order_checkout(shopper=mall.users["shopper"], email=None, shipping_address={**ADDRESS, "name": name, "phone": phone},
                              lines=[CheckoutLine(item["merchant_id"], item["variant_id"], qty)], idempotency_key=uuid.uuid4().hex)
    return order


def _suborder(merchant, order) -> SubOrder:
    with in_merchant_schema(merchant):
        return SubOrder.objects.get(order_id=order.pk)


@pytest.fixture
def shop(mall):
    """Five acme suborders, and one globex suborder with the first one's name and phone (and its own parcel)."""
    r = random.Random()
    tail = str(r.randrange(3000, 10**4))  # A's and D's phones end alike (never "26…": an order number's start)
    phone_a = f"+86 139 {r.randrange(10**4):04d} {tail}"
    phone_d = f"+86 137 {r.randrange(10**4):04d} {tail}"
    phone_b = f"+86 135 5550 {r.randrange(10**4):04d}"  # a Chinese address takes a mainland mobile (accounts.regions)
    while tail in phone_b.replace(" ", ""):  # the 4-digit search must find A and D only
        phone_b = f"+86 135 5550 {r.randrange(10**4):04d}"
    tracking_a = f"SF{r.randrange(10**12, 10**13)}"
    tracking_e = f"75{r.randrange(10**11, 10**12)}"
    tracking_g = f"SF{r.randrange(10**12, 10**13)}"
    owner = mall.users["acme:owner"]
    x = stock_item(mall.acme, price_minor=5000, stock=(10,), tag="lf")  # A and C: same SKU, same warehouse
    y = stock_item(mall.acme, price_minor=1200, stock=(10,), tag="lf")
    z = stock_item(mall.acme, price_minor=300, stock=(10,), tag="lf")
    w = stock_item(mall.acme, price_minor=800, stock=(10,), tag="lf")
    g = stock_item(mall.globex, price_minor=5000, stock=(10,), tag="lf")
    orders = {
        "A": _order(mall, x, name="欧阳秀英", phone=phone_a, qty=2),
        "B": _order(mall, y, name="Maria Garcia", phone=phone_b),
        "C": _order(mall, x, name="李娜", phone=f"+86 138 {r.randrange(10**4):04d} {r.randrange(10**4):04d}"),
        "D": _order(mall, z, name="张伟明", phone=phone_d),
        "E": _order(mall, w, name="王芳", phone=f"+86 136 {r.randrange(10**4):04d} {r.randrange(10**4):04d}", qty=3),
        "G": _order(mall, g, name="欧阳秀英", phone=phone_a),
    }
    for key, order in orders.items():
        if key != "D":  # D stays unpaid
            pay(order)
    so = {k: _suborder(mall.globex if k == "G" else mall.acme, o) for k, o in orders.items()}
    with in_merchant_schema(mall.acme):
        for k in ("A", "B", "E"):
            suborder_accept(suborder_id=so[k].pk, actor=owner)
        shipment_create(suborder_id=so["A"].pk, actor=owner, lines=None, carrier="sf", tracking_number=tracking_a)
        shipment_create(suborder_id=so["E"].pk, actor=owner, lines=None, carrier="zto", tracking_number=tracking_e)
        late = SubOrder.objects.get(pk=so["B"].pk)
        assert suborder_mark_late(suborder_id=late.pk, now=late.ship_by + timedelta(hours=1)) is not None
        dates = {"A": (2024, 3, 10), "B": (2024, 3, 20), "C": (2024, 4, 5), "D": (2024, 2, 1), "E": (2024, 3, 15)}
        for k, (y_, m_, d_) in dates.items():
            SubOrder.objects.filter(pk=so[k].pk).update(created_at=datetime(y_, m_, d_, 4, 0, tzinfo=UTC))
        rows = {k: SubOrder.objects.get(pk=so[k].pk) for k in "ABCDE"}
    with in_merchant_schema(mall.globex):
        suborder_accept(suborder_id=so["G"].pk, actor=mall.users["globex:owner"])
        shipment_create(suborder_id=so["G"].pk, actor=mall.users["globex:owner"], lines=None, carrier="sf", tracking_number=tracking_g)
        rows["G"] = SubOrder.objects.get(pk=so["G"].pk)
    assert [rows[k].status for k in "ABCDEG"] == ["shipped", "accepted", "awaiting_acceptance", "pending_payment", "shipped", "shipped"]
    return {"so": rows, "id": {k: v.pk for k, v in rows.items()}, "x": x, "tracking_a": tracking_a, "tracking_g": tracking_g, "phone_a": phone_a,
            "tail": tail, "phone_b": phone_b}


def _walk(client, params, limit=2) -> list[dict]:
    """Every row of a list, following `next` page by page."""
    rows, cursor, seen_cursors = [], None, set()
    while True:
        resp = client.get(API, {**params, "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.content
        body = resp.json()
        assert len(body["results"]) <= limit
        rows += body["results"]
        cursor = body["next"]
        if cursor is None:
            return rows
        assert cursor not in seen_cursors
        seen_cursors.add(cursor)


def _mine(shop, rows, keys="ABCDE") -> set[str]:
    ids = {shop["id"][k]: k for k in keys}
    return {ids[r["id"]] for r in rows if r["id"] in ids}


# -- filters ----------------------------------------------------------------------------------------

FILTERS = [
    ({"status": "shipped"}, "AE", lambda r: r["status"] == "shipped"),
    ({"status": "accepted"}, "B", lambda r: r["status"] == "accepted"),
    ({"from": "2024-03-01", "to": "2024-03-31"}, "ABE", lambda r: "2024-02-29" < r["created_at"][:10] < "2024-04-02"),
    ({"from": "2024-03-15", "to": "2024-03-15"}, "E", lambda r: r["created_at"][:10] in ("2024-03-14", "2024-03-15", "2024-03-16")),
    ({"from": "2024-03-01T00:00:00+00:00", "to": "2024-03-20T04:00:00+00:00"}, "ABE", None),  # "to" a moment includes it
    ({"status": "shipped", "from": "2024-03-12", "to": "2024-03-31"}, "E", lambda r: r["status"] == "shipped"),
    ({"carrier": "sf"}, "A", None),
    ({"carrier": "ZTO"}, "E", None),
    ({"late": "true"}, "B", lambda r: r["is_late"]),
    ({"late": "false"}, "ACDE", lambda r: not r["is_late"]),
    ({"flagged": "true"}, "B", None),  # late, or a parcel needs a look (tests/suborders/test_flagged_filter.py)
]


@pytest.mark.parametrize(("params", "expected", "holds"), FILTERS, ids=[str(p) for p, _e, _h in FILTERS])
def test_each_filter_returns_exactly_the_matching_suborders(mall, api_at, shop, params, expected, holds):
    rows = _walk(api_at(mall.acme, mall.users["acme:warehouse"]), params)
    assert _mine(shop, rows) == set(expected)
    if holds is not None:  # rows of other tests in this database obey the filter too
        assert all(holds(r) for r in rows)
    if "carrier" in params:
        from fulfillment.models import Shipment

        with in_merchant_schema(mall.acme):
            ids = {r["id"] for r in rows}
            assert ids == set(Shipment.objects.filter(suborder_id__in=ids, carrier=params["carrier"].lower())
                              .values_list("suborder_id", flat=True))


def test_warehouse_filter(mall, api_at, shop):
    warehouse = shop["x"]["warehouse_ids"][0]
    rows = _walk(api_at(mall.acme, mall.users["acme:owner"]), {"warehouse": str(warehouse)})
    assert {r["id"] for r in rows} == {shop["id"]["A"], shop["id"]["C"]}  # nobody else ships from this new warehouse


def test_page_applies_the_same_filters(mall, client_at, shop):
    c = client_at(mall.acme, mall.users["acme:owner"])
    body = c.get("/suborders/", {"status": "shipped", "from": "2024-03-01", "to": "2024-03-31"}).content.decode()
    numbers = {k: shop["so"][k].number for k in "ABCDE"}
    assert f'data-number="{numbers["A"]}"' in body and f'data-number="{numbers["E"]}"' in body
    assert not any(numbers[k] in body for k in "BCD")
    body = c.get("/suborders/", {"q": "秀英"}).content.decode()
    assert f'data-number="{numbers["A"]}"' in body and shop["so"]["G"].number not in body
    assert "shopper name" in body  # says what the search box matched against


# -- search -----------------------------------------------------------------------------------------

def _searches(shop):
    so = shop["so"]
    digits_a = "".join(ch for ch in shop["phone_a"] if ch.isdigit())
    return [
        (so["A"].order_number, "A"),  # order number, whole
        (so["A"].order_number[:13].lower(), "A"),  # order number prefix, typed in lower case
        (so["A"].number, "A"),  # suborder number
        (shop["phone_a"], "A"),  # phone as written
        (digits_a[2:], "A"),  # without the country code
        (shop["tail"], "AD"),  # the last 4 digits
        (shop["phone_b"].replace(" ", "-"), "B"),
        (shop["tracking_a"], "A"),
        (shop["tracking_a"].lower(), "A"),
        (shop["x"]["sku"], "AC"),
        ("秀英", "A"),  # a 2-character fragment of a Chinese name
        ("欧阳", "A"),
        ("欧阳秀英", "A"),
        ("李娜", "C"),
        ("伟明", "D"),
        ("garc", "B"),  # Latin fragment, any case
        ("MARIA GARCIA", "B"),
    ]


def test_each_search_returns_exactly_the_matching_suborders(mall, api_at, shop):
    client = api_at(mall.acme, mall.users["acme:customer_service"])
    for q, expected in _searches(shop):
        rows = _walk(client, {"q": q}, limit=100)
        assert {r["id"] for r in rows} == {shop["id"][k] for k in expected}, q


def test_search_combines_with_filters(mall, api_at, shop):
    client = api_at(mall.acme, mall.users["acme:owner"])
    assert _mine(shop, _walk(client, {"q": shop["tail"], "status": "pending_payment"})) == {"D"}
    assert _mine(shop, _walk(client, {"q": shop["x"]["sku"], "carrier": "sf"})) == {"A"}
    assert _walk(client, {"q": "秀英", "late": "true"}) == []


# -- order and pages --------------------------------------------------------------------------------

@pytest.mark.parametrize(("ordering", "key", "reverse"), [
    ("-created", lambda r: (r["created_at"], r["id"]), True), ("created", lambda r: (r["created_at"], r["id"]), False),
    ("-total", lambda r: (r["total_minor"], r["id"]), True), ("total", lambda r: (r["total_minor"], r["id"]), False),
    ("status", lambda r: (r["status"], r["created_at"], r["id"]), False),
    ("-status", lambda r: (r["status"], r["created_at"], r["id"]), True),
])
def test_sorting(mall, api_at, shop, ordering, key, reverse):
    rows = _walk(api_at(mall.acme, mall.users["acme:owner"]), {"ordering": ordering, "from": "2024-01-01", "to": "2024-12-31"}, limit=2)
    assert [r["id"] for r in rows] == [r["id"] for r in sorted(rows, key=key, reverse=reverse)]
    assert _mine(shop, rows) == set("ABCDE")


@pytest.mark.parametrize("params", [{"from": "2024-01-01", "to": "2024-12-31"}, {"ordering": "-total", "from": "2024-01-01"},
                                    {"q": "tail"}, {}])
def test_pagination_returns_every_row_once(mall, api_at, shop, params):
    client = api_at(mall.acme, mall.users["acme:owner"])
    if params.get("q") == "tail":
        params = {"q": shop["tail"]}  # a UNION of searches (number, phone, SKU) paginated
    one_by_one = _walk(client, params, limit=1 if params else 3)
    all_at_once = _walk(client, params, limit=100)
    ids = [r["id"] for r in one_by_one]
    assert ids == [r["id"] for r in all_at_once] and len(ids) == len(set(ids))
    assert _mine(shop, one_by_one) == ({"A", "D"} if "q" in params else set("ABCDE"))
    if not params:  # the whole store: every suborder of acme, once
        with in_merchant_schema(mall.acme):
            assert sorted(ids) == sorted(SubOrder.objects.values_list("id", flat=True))


def test_page_next_link_walks_the_list(mall, client_at, shop):
    import re

    c = client_at(mall.acme, mall.users["acme:owner"])
    url, seen = "/suborders/?from=2024-01-01&to=2024-12-31&limit=2", []
    for _ in range(10):
        body = c.get(url).content.decode()
        seen += re.findall(r'<tr data-number="([^"]+)"', body)
        nxt = re.search(r'href="(\?[^"]*cursor=[^"]+)" data-testid="next-page"', body)
        if not nxt:
            break
        assert 'data-testid="first-page"' in c.get("/suborders/" + nxt.group(1).replace("&amp;", "&")).content.decode()
        url = "/suborders/" + nxt.group(1).replace("&amp;", "&")
    assert seen == [shop["so"][k].number for k in "CBEAD"]  # newest first, each once


# -- bad input --------------------------------------------------------------------------------------

BAD = [
    ("status", "bogus"), ("from", "2026-13-01"), ("from", "yesterday"), ("to", "2026-02-30"), ("from", "1900-01-01"),
    ("to", "9999-12-31"), ("warehouse", "abc"), ("warehouse", "１２"), ("warehouse", "-3"), ("carrier", "pigeon"),
    ("late", "maybe"), ("flagged", "2"), ("q", "a"), ("q", "x\x00y"), ("q", "１２３４５"), ("q", "w" * 101), ("q", "%%"),
    ("ordering", "-price"), ("cursor", "garbage"), ("limit", "0"), ("limit", "1000"), ("limit", "ten"),
]


@pytest.mark.parametrize(("field", "value"), BAD, ids=[f"{f}={v[:12]!r}" for f, v in BAD])
def test_bad_value_is_a_400_naming_the_field_and_a_message_on_the_page(mall, api_at, client_at, field, value):
    resp = api_at(mall.acme, mall.users["acme:owner"]).get(API, {field: value})
    assert resp.status_code == 400, resp.content
    assert resp.json()["field"] == field and resp.json()["code"] == "invalid"
    page = client_at(mall.acme, mall.users["acme:owner"]).get("/suborders/", {field: value})
    if "\x00" in value:  # refused before any view by the NUL guard (core.middleware), naming the parameter
        assert page.status_code == 400 and field in page.content.decode()
        return
    assert page.status_code == 200
    assert f'data-field="{field}"' in page.content.decode()


def test_from_after_to_and_a_cursor_of_another_order_are_refused(mall, api_at, shop):
    client = api_at(mall.acme, mall.users["acme:owner"])
    resp = client.get(API, {"from": "2024-04-01", "to": "2024-03-01"})
    assert resp.status_code == 400 and resp.json()["field"] == "to"
    cursor = client.get(API, {"limit": 1}).json()["next"]
    assert cursor
    resp = client.get(API, {"limit": 1, "ordering": "-total", "cursor": cursor})
    assert resp.status_code == 400 and resp.json()["field"] == "cursor"
    tampered = cursor[:-3] + ("AAA" if not cursor.endswith("AAA") else "BBB")
    assert client.get(API, {"cursor": tampered}).json()["field"] == "cursor"


def test_page_with_a_bad_value_lists_without_it(mall, client_at, shop):
    body = client_at(mall.acme, mall.users["acme:owner"]).get(
        "/suborders/", {"status": "nonsense", "from": "2024-03-01", "to": "2024-03-31"}).content.decode()
    assert 'data-field="status"' in body and "Unknown status" in body
    assert all(f'data-number="{shop["so"][k].number}"' in body for k in "ABE")  # the date range still applies
    assert shop["so"]["C"].number not in body


# -- isolation and roles ----------------------------------------------------------------------------

def test_another_merchants_rows_never_appear(mall, api_at, client_at, shop):
    g = shop["so"]["G"]
    acme = api_at(mall.acme, mall.users["acme:owner"])
    globex = api_at(mall.globex, mall.users["globex:owner"])
    for q in (shop["tracking_g"], shop["phone_a"], "欧阳秀英", g.order_number, g.number):
        found = {r["id"] for r in _walk(acme, {"q": q}, limit=100)}
        assert found <= {shop["id"]["A"]}, q  # G's id may equal some acme id: compare numbers below too
        assert g.number not in {r["number"] for r in _walk(acme, {"q": q}, limit=100)}
    assert [r["number"] for r in _walk(globex, {"q": shop["tracking_g"]}, limit=100)] == [g.number]
    assert _walk(acme, {"q": shop["tracking_g"]}, limit=100) == []
    everything = _walk(acme, {}, limit=100)
    assert g.number not in {r["number"] for r in everything}
    assert g.number not in client_at(mall.acme, mall.users["acme:owner"]).get("/suborders/", {"q": "欧阳秀英"}).content.decode()
    # a globex user on acme's host is refused, with a real globex value in the query
    assert api_at(mall.acme, mall.users["globex:owner"]).get(API, {"q": g.number}).status_code == 403
    assert client_at(mall.acme, mall.users["globex:owner"]).get("/suborders/", {"q": g.number}).status_code == 403


def test_a_role_without_suborders_view_is_refused(mall, api_at, client_at, shop, monkeypatch):
    from permissions import roles

    monkeypatch.setitem(roles.CAPABILITIES, "suborders.view", frozenset({roles.Role.OWNER}))
    warehouse = mall.users["acme:warehouse"]
    resp = api_at(mall.acme, warehouse).get(API, {"q": shop["so"]["A"].number})
    assert resp.status_code == 403 and shop["so"]["A"].number not in resp.content.decode()
    resp = client_at(mall.acme, warehouse).get("/suborders/", {"q": shop["so"]["A"].number})
    assert resp.status_code == 403 and "data-number=" not in resp.content.decode()  # (the URL itself is echoed in the nav)
    assert api_at(mall.acme, mall.users["shopper"]).get(API).status_code == 403
    assert api_at(mall.acme, mall.users["acme:owner"]).get(API, {"q": shop["so"]["A"].number}).status_code == 200


# -- the page's bulk form -----------------------------------------------------------------------------

def test_bulk_checkboxes_post_to_suborders_bulk_for_roles_that_may_accept(mall, client_at, shop):
    from django.urls import reverse

    a = shop["so"]["A"]
    body = client_at(mall.acme, mall.users["acme:owner"]).get("/suborders/", {"q": a.number}).content.decode()
    assert f'action="{reverse("suborders-bulk")}"' in body and 'id="bulk-form"' in body
    assert f'name="ids" value="{a.pk}" form="bulk-form"' in body
    body = client_at(mall.acme, mall.users["acme:warehouse"]).get("/suborders/", {"q": a.number}).content.decode()
    assert 'id="bulk-form"' not in body and 'name="ids"' not in body and a.number in body


def _without_name(patterns, name):
    out = []
    for p in patterns:
        if isinstance(p, URLResolver):
            out.append(URLResolver(p.pattern, _without_name(p.url_patterns, name), p.default_kwargs, p.app_name, p.namespace))
        elif getattr(p, "name", None) != name:
            out.append(p)
    return out


def test_page_renders_without_the_bulk_url(mall, client_at, shop, monkeypatch):
    module = types.ModuleType("urls_without_suborders_bulk")
    module.urlpatterns = _without_name(import_module(settings.ROOT_URLCONF).urlpatterns, "suborders-bulk")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with override_settings(ROOT_URLCONF=module.__name__):
        resp = client_at(mall.acme, mall.users["acme:owner"]).get("/suborders/", {"q": shop["so"]["A"].number})
    assert resp.status_code == 200
    body = resp.content.decode()
    assert shop["so"]["A"].number in body and 'id="bulk-form"' not in body


# -- indexes --------------------------------------------------------------------------------------------

INDEXES = {"suborder_created_id_idx", "suborder_total_id_idx", "suborder_late_created_idx", "suborder_order_number_like",
           "suborder_phone_rev_idx", "suborder_name_trgm", "suborderline_sku_idx", "suborder_skus_gin"}


def test_cloned_merchant_schemas_have_the_list_indexes(mall):
    from merchants.services import merchant_create

    fresh = merchant_create(slug=f"lf{uuid.uuid4().hex[:8]}", name="Fresh clone")  # cloned from the template just now
    with connection.cursor() as cur:
        for schema in (settings.TEMPLATE_SCHEMA_NAME, mall.acme.schema_name, fresh.schema_name):
            cur.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", [schema])
            assert INDEXES <= {r[0] for r in cur.fetchall()}, schema
            # the name-search estimate's statistics target (migration 0006), which a clone must carry over
            cur.execute("""SELECT a.attstattarget FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                           WHERE c.relname = 'suborder_name_trgm' AND c.relnamespace = %s::regnamespace""", [f'"{schema}"'])
            assert cur.fetchall() == [(1000,)], schema
        cur.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cur.fetchone() == ("public",)


def _list_sql(merchant, q) -> str:
    from django.test.utils import CaptureQueriesContext

    from suborders.selectors import suborder_list_filters_parse, suborder_list_for_merchant

    with in_merchant_schema(merchant):
        filters, errors = suborder_list_filters_parse({"q": q})
        assert not errors
        with CaptureQueriesContext(connection) as ctx:
            suborder_list_for_merchant(filters=filters)
    return [x["sql"] for x in ctx.captured_queries if "suborders_suborder" in x["sql"] and "ORDER BY" in x["sql"]][-1]


@pytest.mark.parametrize(("q", "index"), [("秀英", "suborder_name_trgm"), ("5678", "suborder_phone_rev_idx"),
                                          ("261201-AB", "suborder_order_number_like"), ("sku", "suborder_skus_gin")])
def test_search_predicates_match_their_index(mall, shop, q, index, monkeypatch):
    """The ORM's SQL must match the index expressions of migrations 0003 and 0005, or the search scans the table."""
    monkeypatch.setattr("suborders.selectors.RARE_SKU_LINES", 0)  # the test's SKUs are rare: search them as common
    sql = _list_sql(mall.acme, shop["x"]["sku"] if q == "sku" else q)
    with in_merchant_schema(mall.acme), connection.cursor() as cur:  # only bitmap scans with an index condition are left
        cur.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off; SET LOCAL enable_indexonlyscan = off")
        cur.execute("EXPLAIN " + sql)
        plan = "\n".join(r[0] for r in cur.fetchall())
        cur.execute("SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = on; SET LOCAL enable_indexonlyscan = on")
    assert index in plan, plan


def test_a_sku_no_line_has_is_not_searched(mall, shop, monkeypatch):
    """PostgreSQL cannot tell that a SKU is absent and would walk the whole list for it."""
    monkeypatch.setattr("suborders.selectors.RARE_SKU_LINES", 0)
    assert '"skus" &&' in _list_sql(mall.acme, shop["x"]["sku"])  # the SKU branch reads the row's skus (0005)
    sql = _list_sql(mall.acme, "NOSUCHSKU-42")  # still a number prefix search
    assert '"skus" &&' not in sql and "LIKE 'NOSUCHSKU-42%'" in sql


def test_a_search_is_planned_for_its_own_values(mall, shop, monkeypatch):
    """Prepared statements would get a generic plan after 5 runs (a rare SKU then walks the whole list):
    the search runs with plan_cache_mode = force_custom_plan, and leaves the setting as it found it."""
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr("suborders.selectors.RARE_SKU_LINES", 0)

    from suborders.selectors import suborder_list_filters_parse, suborder_list_for_merchant

    with in_merchant_schema(mall.acme):
        with CaptureQueriesContext(connection) as ctx:
            suborder_list_for_merchant(filters=suborder_list_filters_parse({"q": shop["x"]["sku"]})[0])
        sqls = [q["sql"] for q in ctx.captured_queries]
        at = sqls.index("SET LOCAL plan_cache_mode = force_custom_plan")
        assert any('"skus" &&' in sql for sql in sqls[at + 1:])
        with connection.cursor() as cur:
            cur.execute("SHOW plan_cache_mode")
            assert cur.fetchone() == ("auto",)
        with CaptureQueriesContext(connection) as ctx:  # no search: no setting
            suborder_list_for_merchant(filters=suborder_list_filters_parse({})[0])
        assert not any("plan_cache_mode" in q["sql"] for q in ctx.captured_queries)


def test_a_word_without_digits_is_no_number_prefix(mall, shop):
    """Order and suborder numbers begin with their date: a name fragment is searched as a name (and a
    SKU when one exists), in one branch, not also as a number prefix."""
    sql = _list_sql(mall.acme, "garc")
    assert "LIKE 'GARC%'" not in sql and "UNION" not in sql and "LIKE '%GGAARRCC%'" in sql
    assert "LIKE '261201-AB%'" in _list_sql(mall.acme, "261201-ab")


def test_a_rare_sku_is_searched_by_its_suborders_ids(mall, shop, monkeypatch):
    """A SKU PostgreSQL did not sample is estimated as common and the list would be walked for it (7 s at a
    million suborders): fewer than RARE_SKU_LINES lines and the search takes their suborders by id."""
    sku = shop["x"]["sku"]  # A and C
    sql = _list_sql(mall.acme, sku)
    assert '"skus" &&' not in sql
    assert f'IN ({shop["so"]["A"].pk}, {shop["so"]["C"].pk})' in sql or f'IN ({shop["so"]["C"].pk}, {shop["so"]["A"].pk})' in sql
    rare = _walk_ids(mall, sku)
    monkeypatch.setattr("suborders.selectors.RARE_SKU_LINES", 1)  # two lines: now common, read from skus
    assert '"skus" &&' in _list_sql(mall.acme, sku)
    assert _walk_ids(mall, sku) == rare == [shop["so"]["C"].pk, shop["so"]["A"].pk]


def _walk_ids(mall, q):
    from suborders.selectors import suborder_list_filters_parse, suborder_list_for_merchant

    with in_merchant_schema(mall.acme):
        return [so.pk for so in suborder_list_for_merchant(filters=suborder_list_filters_parse({"q": q})[0]).rows]
