"""The change feed stays complete under concurrent writes (real connections, committed rows).

A writer stamps suborder A and holds its transaction open; meanwhile B is changed and committed, with a
later `updated_at` than A. A feed paging by `updated_at` would hand out B, move its cursor past A's time,
and never return A once A commits. Ours withholds B while A's writer runs, and returns both (A in its
new version) on a later page once the writer commits.
"""
from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from rest_framework.test import APIClient

from core.tenancy import in_merchant_schema
from permissions.services import api_token_create
from suborders.models import SubOrder
from tests.payments.helpers import place_order

DEADLINE = 60.0  # seconds: a writing transaction of this database holds the feed back meanwhile


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 0  # polling until a condition holds; tests/api/test_rate_limit.py covers the limit


def _client(mall):
    _, secret = api_token_create(user=mall.users["acme:owner"], name="feed", merchant=mall.acme)
    client = APIClient(HTTP_HOST="acme.localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _page(client, after: str, since) -> dict:
    params = {"updated_after": since.isoformat(), "limit": 2}
    if after:
        params["after"] = after
    resp = client.get("/api/v1/suborders/changes/", params)
    assert resp.status_code == 200, resp.content
    return resp.json()


def _drain(client, after: str, since) -> tuple[list[tuple[int, int]], str]:
    """Every page that is ready now, from `after`: [(id, version)], and the cursor to go on from."""
    seen = []
    while True:
        page = _page(client, after, since)
        seen += [(r["id"], r["version"]) for r in page["results"]]
        after = page["next"]
        if not page["has_more"]:
            return seen, after


def _drain_until(client, after: str, since, wanted: set[tuple[int, int]]) -> tuple[list[tuple[int, int]], str]:
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + DEADLINE
    while not wanted <= set(seen):
        if time.monotonic() > deadline:
            raise AssertionError(f"the feed did not return {wanted - set(seen)} within {DEADLINE}s (saw {seen})")
        more, after = _drain(client, after, since)
        seen += more
        if not wanted <= set(seen):
            time.sleep(0.2)
    return seen, after


def _orders(mall, n: int) -> list[int]:
    ids = []
    for _ in range(n):
        order, _items = place_order(mall, stores=("acme",), qty=1)
        with in_merchant_schema(mall.acme):
            ids.append(SubOrder.objects.get(order_id=order.pk).pk)
    return ids


def test_a_row_committed_late_by_a_slow_writer_comes_on_a_later_page(committed):
    mall = committed
    since = timezone.now()
    a, b = _orders(mall, 2)
    client = _client(mall)
    with in_merchant_schema(mall.acme):
        versions = dict(SubOrder.objects.filter(pk__in=[a, b]).values_list("pk", "version"))
    seen, cursor = _drain_until(client, "", since, {(a, versions[a]), (b, versions[b])})

    stamped, release, done = threading.Event(), threading.Event(), threading.Event()
    errors = []

    def slow_writer():
        try:
            with in_merchant_schema(mall.acme), transaction.atomic():
                SubOrder.objects.filter(pk=a).update(version=F("version") + 1, updated_at=timezone.now(), note="slow writer")
                stamped.set()
                if not release.wait(DEADLINE):
                    raise AssertionError("never released")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()
            done.set()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert stamped.wait(DEADLINE)
        with in_merchant_schema(mall.acme):  # B changes after A was stamped, and commits at once
            SubOrder.objects.filter(pk=b).update(version=F("version") + 1, updated_at=timezone.now(), note="fast writer")
            a_row = SubOrder.objects.get(pk=a)  # (A's new version is not visible yet)
            b_row = SubOrder.objects.get(pk=b)
        assert a_row.version == versions[a] and b_row.version == versions[b] + 1
        # B is committed and visible, but its writer is younger than A's, which is still running: withheld
        middle, cursor = _drain(client, cursor, since)
        assert middle == [], "a change younger than a running writer must wait, or the cursor would pass it"
    finally:
        release.set()
        writer.join(DEADLINE)
    assert not errors and done.is_set()
    with in_merchant_schema(mall.acme):
        a_row, b_row = SubOrder.objects.get(pk=a), SubOrder.objects.get(pk=b)
    # a cursor by time would have lost A: B's time is later than A's, and B would have been handed out
    assert a_row.updated_at < b_row.updated_at and a_row.change_xid < b_row.change_xid
    later, _cursor = _drain_until(client, cursor, since, {(a, versions[a] + 1), (b, versions[b] + 1)})
    assert later.index((a, versions[a] + 1)) < later.index((b, versions[b] + 1))  # in the order their writers began


def test_every_change_moves_the_row_to_the_end_of_the_feed_once(committed):
    mall = committed
    since = timezone.now()
    a, b, c = _orders(mall, 3)
    client = _client(mall)
    with in_merchant_schema(mall.acme):
        versions = dict(SubOrder.objects.filter(pk__in=[a, b, c]).values_list("pk", "version"))
    first, cursor = _drain_until(client, "", since, {(x, versions[x]) for x in (a, b, c)})
    assert [x for x, _v in first if x in (a, b, c)] == [a, b, c]  # in the order they were written
    with in_merchant_schema(mall.acme):
        SubOrder.objects.filter(pk=a).update(version=F("version") + 1, updated_at=timezone.now())
    again, _cursor = _drain_until(client, cursor, since, {(a, versions[a] + 1)})
    assert [x for x, _v in again if x in (a, b, c)] == [a]  # only the one that changed, after the cursor


def test_a_user_limited_to_some_warehouses_follows_only_their_suborders(committed, unique):
    from catalog.services import warehouse_grants_set
    from permissions.roles import Role
    from permissions.services import membership_grant, user_create

    mall = committed
    since = timezone.now()
    clerk = user_create(email=f"{unique('clerk')}@acme.test", password="test-pass-123")
    membership_grant(user=clerk, merchant=mall.acme, roles=[Role.WAREHOUSE])
    mine, theirs = _orders(mall, 2)  # each order's item sits in a warehouse of its own
    with in_merchant_schema(mall.acme):
        rows = dict(SubOrder.objects.filter(pk__in=[mine, theirs]).values_list("pk", "warehouse_id"))
        warehouse_grants_set(actor=mall.users["acme:owner"], user=clerk, warehouse_ids=[rows[mine]])
    assert rows[mine] != rows[theirs]
    _drain_until(_client(mall), "", since, {(theirs, 1)})  # the owner sees both: the horizon is past them
    _, secret = api_token_create(user=clerk, name="wms", merchant=mall.acme)
    wms = APIClient(HTTP_HOST="acme.localhost")
    wms.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    seen, _cursor = _drain(wms, "", since)
    ids = {i for i, _v in seen}
    assert mine in ids and theirs not in ids
    assert all("total_minor" not in r for r in _page(wms, "", since)["results"])  # and no amounts, as everywhere


def test_a_cloned_merchant_schema_has_the_stamp_trigger_and_the_feed_index(mall):
    with in_merchant_schema(mall.initech), connection.cursor() as cur:
        cur.execute("""SELECT t.tgname FROM pg_trigger t WHERE t.tgrelid = 'suborders_suborder'::regclass
                       AND NOT t.tgisinternal""")
        assert ("suborders_change_xid",) in cur.fetchall()
        cur.execute("""SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                       WHERE c.relname = 'suborder_change_xid_idx' AND c.relnamespace = current_schema()::regnamespace""")
        valid, definition = cur.fetchone()
        assert valid and definition.endswith("(change_xid, id)")
