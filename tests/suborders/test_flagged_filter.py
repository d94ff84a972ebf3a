"""The suborder list's `flagged` filter: late, or a parcel that needs a look (a carrier exception, or no scan
for TRACKING_STALE_DAYS) — the same parcels as the flagged parcels page. One query, through the index of
each branch; the unfiltered list does not touch shipments."""
from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.tenancy import in_merchant_schema
from fulfillment.models import Shipment
from fulfillment.shipments import shipment_create
from fulfillment.tracking import parcels_flagged_for_merchant
from fulfillment.tracking_entry import shipment_tracking_event_enter
from suborders.models import SubOrder
from suborders.selectors import suborder_list_filters_parse, suborder_list_for_merchant
from suborders.services import suborder_accept, suborder_mark_late
from tests.payments.helpers import pay, place_order

_n = itertools.count(1)


def _suborder(mall, *, ship: bool, merchant="acme"):
    order, _ = place_order(mall, stores=(merchant,), qty=1)
    pay(order)
    m = getattr(mall, merchant)
    with in_merchant_schema(m):
        so = SubOrder.objects.get(order_id=order.pk)
        suborder_accept(suborder_id=so.pk, actor=mall.users[f"{merchant}:owner"])
        shipment = None
        if ship:
            shipment = shipment_create(suborder_id=so.pk, actor=mall.users[f"{merchant}:warehouse"], lines=None, carrier="sf",
                                       tracking_number=f"SF{(time.time_ns() // 1000 + next(_n)) % 10**13:013d}")
    return so, shipment


@pytest.fixture
def board(mall, settings):
    """acme: late (not shipped), a silent parcel, a parcel with an exception, a parcel with a recent scan, a parcel
    silent for long but delivered; globex: a silent parcel."""
    settings.TRACKING_STALE_DAYS = 3
    now = timezone.now()
    late, _ = _suborder(mall, ship=False)
    silent, silent_parcel = _suborder(mall, ship=True)
    problem, problem_parcel = _suborder(mall, ship=True)
    moving, moving_parcel = _suborder(mall, ship=True)
    delivered, delivered_parcel = _suborder(mall, ship=True)
    theirs, theirs_parcel = _suborder(mall, ship=True, merchant="globex")
    clerk = mall.users["acme:warehouse"]
    with in_merchant_schema(mall.acme):
        so = SubOrder.objects.get(pk=late.pk)
        assert suborder_mark_late(suborder_id=so.pk, now=so.ship_by + timedelta(hours=1)) is not None
        Shipment.objects.filter(pk__in=[silent_parcel.pk, moving_parcel.pk, delivered_parcel.pk]).update(
            shipped_at=now - timedelta(days=5))
        shipment_tracking_event_enter(shipment_id=problem_parcel.pk, actor=clerk, kind="exception")
        shipment_tracking_event_enter(shipment_id=moving_parcel.pk, actor=clerk, kind="in_transit")
        shipment_tracking_event_enter(shipment_id=delivered_parcel.pk, actor=clerk, kind="delivered",
                                      at=now - timedelta(days=4, hours=23))
    with in_merchant_schema(mall.globex):
        Shipment.objects.filter(pk=theirs_parcel.pk).update(shipped_at=now - timedelta(days=5))
    return {"late": late.pk, "silent": silent.pk, "problem": problem.pk, "moving": moving.pk, "delivered": delivered.pk,
            "theirs": theirs.pk}


def _ids(mall, params) -> set[int]:
    with in_merchant_schema(mall.acme):
        filters, errors = suborder_list_filters_parse(params)
        assert not errors
        ids, page = set(), suborder_list_for_merchant(filters=filters)
        while True:
            ids |= {so.pk for so in page.rows}
            if page.next_cursor is None:
                return ids
            filters, _e = suborder_list_filters_parse({**params, "cursor": page.next_cursor})
            page = suborder_list_for_merchant(filters=filters)


def test_flagged_means_late_or_a_parcel_that_needs_a_look(mall, board):
    mine = {k: v for k, v in board.items() if k != "theirs"}
    flagged = _ids(mall, {"flagged": "true", "limit": "2"})  # small pages: the cursor walks the UNION too
    assert {k for k, v in mine.items() if v in flagged} == {"late", "silent", "problem"}
    not_flagged = _ids(mall, {"flagged": "false", "limit": "2"})
    assert {k for k, v in mine.items() if v in not_flagged} == {"moving", "delivered"}
    with in_merchant_schema(mall.acme):  # the same parcels as the flagged parcels page
        parcels = {p.suborder_id for p in parcels_flagged_for_merchant()}
        late = set(SubOrder.objects.filter(is_late=True).values_list("pk", flat=True))
    assert flagged == parcels | late
    assert not flagged & not_flagged


def test_flagged_combines_with_search_and_other_filters(mall, board):
    with in_merchant_schema(mall.acme):
        silent = SubOrder.objects.get(pk=board["silent"])
    assert _ids(mall, {"flagged": "true", "q": silent.number}) == {silent.pk}
    assert _ids(mall, {"flagged": "true", "status": "accepted"}) >= {board["late"]}
    assert board["silent"] not in _ids(mall, {"flagged": "true", "status": "accepted"})


def test_flagged_filter_on_the_page_and_the_api(mall, board, client_at, api_at):
    rows = api_at(mall.acme, mall.users["acme:customer_service"]).get("/api/v1/suborders/", {"flagged": "true", "limit": 100})
    assert rows.status_code == 200
    assert {board[k] for k in ("late", "silent", "problem")} <= {r["id"] for r in rows.json()["results"]}
    page = client_at(mall.acme, mall.users["acme:owner"]).get("/suborders/", {"flagged": "true"}).content.decode()
    with in_merchant_schema(mall.acme):
        numbers = dict(SubOrder.objects.filter(pk__in=board.values()).values_list("pk", "number"))
    assert f'data-number="{numbers[board["problem"]]}"' in page and f'data-number="{numbers[board["moving"]]}"' not in page


def _sql(mall, params) -> list[str]:
    with in_merchant_schema(mall.acme):
        filters, _e = suborder_list_filters_parse(params)
        with CaptureQueriesContext(connection) as ctx:
            suborder_list_for_merchant(filters=filters)
    return [q["sql"] for q in ctx.captured_queries if "search_path" not in q["sql"]]


def test_flagged_is_one_query_through_the_parcels_index_and_the_plain_list_is_unchanged(mall, board):
    (sql,) = _sql(mall, {"flagged": "true"})
    assert "fulfillment_shipment" in sql and " UNION " in sql
    with in_merchant_schema(mall.acme), connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + sql)
        plan = "\n".join(r[0] for r in cur.fetchall())
        cur.execute("SET LOCAL enable_seqscan = on")
    assert "shipment_needs_look_idx" in plan and "suborder_late_created_idx" in plan, plan
    (plain,) = _sql(mall, {})
    assert "fulfillment_shipment" not in plain and " UNION " not in plain
