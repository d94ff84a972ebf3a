"""Carrier tracking: both webhook formats end to end (signed request -> event in the right merchant schema,
shipment and suborder moved), idempotent replays, refused signatures storing nothing, per-event reports,
the public tracking index, estimated delivery from the transit-time table, flags, and the console page."""
import itertools
import json
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from carriers.models import TrackingIndex, TransitTime
from carriers.selectors import parcels_flagged_for_operator, transit_time_for
from core.errors import Conflict
from core.tenancy import in_merchant_schema
from fulfillment.models import Shipment, TrackingEvent
from fulfillment.shipments import shipment_create, suborder_confirm_receipt
from fulfillment.tracking import (
    KUAIDI100_COMPANIES,
    KUAIDI100_TZ,
    CarrierEvent,
    end_of_local_day,
    kuaidi100_external_id,
    kuaidi100_sign,
    kuaidi100_state_kind,
    parcels_flagged_for_merchant,
    signature_header,
    tracking_events_receive,
)
from orders.models import SubOrderMirror
from suborders.models import SubOrder, SubOrderEvent
from suborders.services import suborder_accept
from tests.payments.helpers import pay, place_order

SECRET = "test-tracking-secret"
SALT = "test-kuaidi100-salt"
_n = itertools.count(1)


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.TRACKING_WEBHOOK_SECRET = SECRET
    settings.KUAIDI100_SALT = SALT
    settings.TRACKING_STALE_DAYS = 3


def _number(prefix="SF"):
    return f"{prefix}{(time.time_ns() // 1000 + next(_n)) % 10**13:013d}"


def _shipped(mall, merchant="acme", carrier="sf", number=None, service=""):
    """A paid, accepted suborder shipped whole in one parcel: (suborder, shipment)."""
    order, _ = place_order(mall, stores=(merchant,), qty=1)
    pay(order)
    m = getattr(mall, merchant)
    with in_merchant_schema(m):
        so = SubOrder.objects.get(order_id=order.pk)
        suborder_accept(suborder_id=so.pk, actor=mall.users[f"{merchant}:owner"])
        shipment = shipment_create(suborder_id=so.pk, actor=mall.users[f"{merchant}:warehouse"], lines=None, carrier=carrier,
                                   tracking_number=number or _number(), service=service)
    return so, shipment


def _state(merchant, shipment):
    with in_merchant_schema(merchant):
        s = Shipment.objects.get(pk=shipment.pk)
        events = list(TrackingEvent.objects.filter(shipment=s).order_by("at", "id")
                      .values_list("kind", "at", "location", "description", "source", "external_id"))
        so = SubOrder.objects.get(pk=s.suborder_id)
    return s, events, so


def _index(shipment):
    return TrackingIndex.objects.get(carrier=shipment.carrier, tracking_number=shipment.tracking_number)


def _post_generic(client_at, events, *, header=None, timestamp=None, secret=None, body=None):
    body = body if body is not None else json.dumps({"events": events}).encode()
    sig = header if header is not None else signature_header(body, timestamp=timestamp, secret=secret or SECRET)
    return client_at(None).post("/webhooks/tracking/", data=body, content_type="application/json",
                                HTTP_X_MALLARD_SIGNATURE=sig)


def _event(shipment, kind, at, ref=None, **kw):
    return {"id": ref or f"evt-{next(_n)}", "carrier": shipment.carrier, "tracking_number": shipment.tracking_number,
            "kind": kind, "at": at.isoformat(), "location": kw.get("location", "Shanghai hub"),
            "description": kw.get("description", f"{kind} scan")}


def _now():
    return timezone.now().replace(microsecond=0)


# --- generic format ---------------------------------------------------------------------------------------

def test_signed_generic_events_move_each_shipment_in_its_own_merchant_schema(mall, client_at):
    _so, shipment = _shipped(mall)
    _gso, other = _shipped(mall, merchant="globex")
    _iso, untouched = _shipped(mall, merchant="initech")
    at = _now()
    resp = _post_generic(client_at, [_event(shipment, "in_transit", at, ref="evt-a1", location="上海转运中心",
                                            description="Departed hub"),
                                     _event(other, "out_for_delivery", at, ref="evt-g1", location="", description="With courier")])
    assert resp.status_code == 200
    assert resp.json() == {"results": [{"id": "evt-a1", "result": "recorded"}, {"id": "evt-g1", "result": "recorded"}]}
    s, events, so = _state(mall.acme, shipment)
    assert s.status == "in_transit" and s.last_event_at == at
    assert s.estimated_delivery_at == shipment.estimated_delivery_at  # still before the estimate: unchanged
    assert events == [("in_transit", at, "上海转运中心", "Departed hub", "webhook", "evt-a1")]
    assert so.status == "shipped"
    idx = _index(shipment)
    assert (idx.merchant_id, idx.shipment_id, idx.status, idx.last_event_at, idx.last_event, idx.flagged_reason) == (
        mall.acme.pk, shipment.pk, "in_transit", at, "Departed hub (上海转运中心)", "")
    g, gevents, _ = _state(mall.globex, other)
    assert (g.status, [e[5] for e in gevents], _index(other).status) == ("out_for_delivery", ["evt-g1"], "out_for_delivery")
    i, ievents, _ = _state(mall.initech, untouched)  # a third store's parcel was not touched
    assert (i.status, ievents, _index(untouched).status) == ("shipped", [], "shipped")


def test_delivered_event_delivers_the_shipment_and_the_suborder(mall, client_at):
    so, shipment = _shipped(mall)
    at = _now()
    resp = _post_generic(client_at, [_event(shipment, "delivered", at, ref="evt-d1")])
    assert resp.json() == {"results": [{"id": "evt-d1", "result": "recorded"}]}
    s, events, fresh = _state(mall.acme, shipment)
    assert (s.status, s.delivered_at) == ("delivered", at)
    assert [e[0] for e in events] == ["delivered"]
    assert fresh.status == "delivered" and fresh.delivered_at is not None and fresh.complete_after is not None
    assert SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk).status == "delivered"
    assert _index(shipment).status == "delivered"


def test_replayed_generic_delivery_changes_nothing_the_second_time(mall, client_at):
    so, shipment = _shipped(mall)
    events = [_event(shipment, "in_transit", _now() - timedelta(hours=2), ref="evt-r1"),
              _event(shipment, "delivered", _now(), ref="evt-r2")]
    first = _post_generic(client_at, events)
    assert [r["result"] for r in first.json()["results"]] == ["recorded", "recorded"]
    with in_merchant_schema(mall.acme):
        audit = SubOrderEvent.objects.filter(suborder_id=so.pk).count()
    again = _post_generic(client_at, events)  # re-signed later, same event ids
    assert again.status_code == 200
    assert again.json() == {"results": [{"id": "evt-r1", "result": "duplicate"}, {"id": "evt-r2", "result": "duplicate"}]}
    s, recorded, fresh = _state(mall.acme, shipment)
    assert [e[0] for e in recorded] == ["in_transit", "delivered"]
    assert (s.status, fresh.status) == ("delivered", "delivered")
    with in_merchant_schema(mall.acme):
        assert SubOrderEvent.objects.filter(suborder_id=so.pk).count() == audit


@pytest.mark.parametrize("case", ["wrong_secret", "tampered", "missing", "stale", "from_the_future", "not_ascii", "unconfigured"])
def test_bad_or_stale_signature_is_refused_and_nothing_is_stored(mall, client_at, settings, case):
    _so, shipment = _shipped(mall)
    body = json.dumps({"events": [_event(shipment, "delivered", _now(), ref="evt-x")]}).encode()
    tolerance = settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS
    header = {
        "wrong_secret": signature_header(body, secret="not-the-secret"),
        "tampered": signature_header(body.replace(b"delivered", b"exception"), secret=SECRET),
        "missing": "",
        "stale": signature_header(body, secret=SECRET, timestamp=int(time.time()) - tolerance - 5),
        "from_the_future": signature_header(body, secret=SECRET, timestamp=int(time.time()) + tolerance + 5),
        "not_ascii": f"t={int(time.time())},v1=签名",
        "unconfigured": signature_header(body, secret=SECRET),
    }[case]
    if case == "unconfigured":
        settings.TRACKING_WEBHOOK_SECRET = ""
    resp = _post_generic(client_at, None, body=body, header=header)
    assert resp.status_code == 400
    assert resp.json()["code"] == {"stale": "stale", "from_the_future": "stale", "unconfigured": "not_configured"}.get(case, "bad_signature")
    s, events, so = _state(mall.acme, shipment)
    assert (s.status, s.last_event_at, s.delivered_at, events, so.status) == ("shipped", None, None, [], "shipped")
    idx = _index(shipment)
    assert (idx.status, idx.last_event_at) == ("shipped", None)


def test_unknown_number_kind_and_carrier_are_reported_per_event_and_change_nothing(mall, client_at):
    _so, shipment = _shipped(mall)
    at = _now()
    stranger = {**_event(shipment, "in_transit", at, ref="evt-u1"), "tracking_number": "SF9999999999999"}
    wrong_kind = _event(shipment, "lost_in_space", at, ref="evt-u2")
    wrong_carrier = {**_event(shipment, "in_transit", at, ref="evt-u3"), "carrier": "pigeon"}
    no_offset = {**_event(shipment, "in_transit", at, ref="evt-u4"), "at": "2026-01-01T10:00:00"}
    future = _event(shipment, "delivered", at + timedelta(days=2), ref="evt-u5")
    good = _event(shipment, "accepted", at, ref="evt-u6")
    resp = _post_generic(client_at, [stranger, wrong_kind, wrong_carrier, no_offset, future, good, "junk"])
    assert resp.status_code == 200
    results = resp.json()["results"]
    assert [(r["id"], r["result"]) for r in results] == [
        ("evt-u1", "unknown_tracking_number"), ("evt-u2", "unknown_kind"), ("evt-u3", "unknown_carrier"),
        ("evt-u4", "invalid"), ("evt-u5", "invalid"), ("evt-u6", "recorded"), ("", "invalid")]
    assert [r.get("field") for r in results] == [None, "events[1].kind", "events[2].carrier", "events[3].at",
                                                 "events[4].at", None, "events[6]"]
    s, events, _ = _state(mall.acme, shipment)
    assert [e[5] for e in events] == ["evt-u6"] and s.status == "shipped" and s.delivered_at is None


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"events": []}', b'{"events": "x"}', b"[1]"])
def test_a_body_that_is_not_an_event_list_is_refused_whole(mall, client_at, body):
    resp = _post_generic(client_at, None, body=body)
    assert resp.status_code == 400 and resp.json()["code"] == "invalid"


def test_webhooks_are_not_served_on_a_merchant_host(mall, client_at):
    from django.urls import Resolver404, resolve

    for path in ("/webhooks/tracking/", "/webhooks/tracking/kuaidi100/"):
        with pytest.raises(Resolver404):
            resolve(path, urlconf="config.urls_tenant")
    body = b'{"events": []}'
    resp = client_at(mall.acme, mall.users["acme:owner"]).post(
        "/webhooks/tracking/", data=body, content_type="application/json",
        HTTP_X_MALLARD_SIGNATURE=signature_header(body, secret=SECRET))
    assert resp.status_code == 404


# --- Kuaidi100 --------------------------------------------------------------------------------------------

def _k100_param(shipment, state, scans, *, com="shunfeng", status="polling"):
    """scans: (ftime, context, areaName, item status or None), newest first as Kuaidi100 sends them."""
    data = []
    for ftime, context, area, item_status in scans:
        item = {"time": ftime, "ftime": ftime, "context": context, "areaName": area}
        if item_status is not None:
            item["status"] = item_status
        data.append(item)
    return json.dumps({"status": status, "billstatus": "got", "message": "", "autoCheck": "0", "comOld": "", "comNew": "",
                       "lastResult": {"message": "ok", "state": state, "status": "200", "condition": "F00", "ischeck": "0",
                                      "com": com, "nu": shipment.tracking_number, "data": data}}, ensure_ascii=False)


def _post_k100(client_at, param, sign=None):
    form = urlencode({"param": param, "sign": kuaidi100_sign(param, salt=SALT) if sign is None else sign})
    return client_at(None).post("/webhooks/tracking/kuaidi100/", data=form, content_type="application/x-www-form-urlencoded")


def _k100_time(minutes_ago):
    local = (timezone.now() - timedelta(minutes=minutes_ago)).astimezone(KUAIDI100_TZ)
    return local.strftime("%Y-%m-%d %H:%M:%S")


def test_kuaidi100_push_records_each_scan_and_delivers_the_suborder(mall, client_at):
    so, shipment = _shipped(mall)
    t1, t2, t3, t4 = _k100_time(300), _k100_time(200), _k100_time(100), _k100_time(10)
    scans = [(t4, "已签收,签收人:本人", "上海市", "签收"), (t3, "快件派送中", "上海市", "派件"),
             (t2, "到达上海转运中心", "上海市", "在途"), (t1, "顺丰速运已收取快件", "深圳市", "揽收")]
    resp = _post_k100(client_at, _k100_param(shipment, "3", scans, status="shutdown"))
    assert resp.status_code == 200
    assert resp.json() == {"result": True, "returnCode": "200", "message": "成功"}
    s, events, fresh = _state(mall.acme, shipment)

    def at(t):
        return timezone.datetime.strptime(t, "%Y-%m-%d %H:%M:%S").replace(tzinfo=KUAIDI100_TZ)

    assert events == [
        ("accepted", at(t1), "深圳市", "顺丰速运已收取快件", "kuaidi100", kuaidi100_external_id(t1, "顺丰速运已收取快件")),
        ("in_transit", at(t2), "上海市", "到达上海转运中心", "kuaidi100", kuaidi100_external_id(t2, "到达上海转运中心")),
        ("out_for_delivery", at(t3), "上海市", "快件派送中", "kuaidi100", kuaidi100_external_id(t3, "快件派送中")),
        ("delivered", at(t4), "上海市", "已签收,签收人:本人", "kuaidi100", kuaidi100_external_id(t4, "已签收,签收人:本人")),
    ]
    assert (s.status, s.delivered_at) == ("delivered", at(t4))
    assert fresh.status == "delivered"
    assert SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk).status == "delivered"


def test_kuaidi100_repush_of_the_whole_history_is_idempotent(mall, client_at):
    _so, shipment = _shipped(mall)
    t1, t2, t3 = _k100_time(300), _k100_time(200), _k100_time(100)
    first = [(t2, "到达上海转运中心", "上海市", None), (t1, "已收取快件", "深圳市", None)]
    assert _post_k100(client_at, _k100_param(shipment, "0", first)).status_code == 200
    s, events, _ = _state(mall.acme, shipment)
    # without per-scan states: the newest scan takes lastResult.state, older ones count as in transit
    assert [e[0] for e in events] == ["in_transit", "in_transit"] and s.status == "in_transit"
    second = [(t3, "快件派送中", "上海市", None), *first]
    assert _post_k100(client_at, _k100_param(shipment, "5", second)).status_code == 200
    assert _post_k100(client_at, _k100_param(shipment, "5", second)).status_code == 200  # the same push again
    s, events, _ = _state(mall.acme, shipment)
    assert [(e[0], e[3]) for e in events] == [("in_transit", "已收取快件"), ("in_transit", "到达上海转运中心"),
                                              ("out_for_delivery", "快件派送中")]
    assert s.status == "out_for_delivery"
    assert s.estimated_delivery_at == end_of_local_day(events[2][1])  # out for delivery: today


@pytest.mark.parametrize("sign", ["0" * 32, "", "签名"])
def test_kuaidi100_push_with_a_bad_sign_is_refused_and_stores_nothing(mall, client_at, sign):
    _so, shipment = _shipped(mall)
    param = _k100_param(shipment, "3", [(_k100_time(5), "已签收", "上海市", "签收")])
    resp = _post_k100(client_at, param, sign=sign)
    assert resp.status_code == 400
    assert resp.json() == {"result": False, "returnCode": "400", "message": "签名错误"}
    s, events, so = _state(mall.acme, shipment)
    assert (s.status, events, so.status, _index(shipment).status) == ("shipped", [], "shipped", "shipped")


def test_kuaidi100_push_for_an_unknown_number_is_acknowledged_and_changes_nothing(mall, client_at):
    _so, shipment = _shipped(mall)
    stranger = Shipment(carrier="sf", tracking_number="SF8888888888888")
    resp = _post_k100(client_at, _k100_param(stranger, "3", [(_k100_time(5), "已签收", "上海市", "签收")]))
    assert resp.json() == {"result": True, "returnCode": "200", "message": "成功"}
    s, events, _ = _state(mall.acme, shipment)
    assert (s.status, events) == ("shipped", [])
    assert not TrackingIndex.objects.filter(tracking_number="SF8888888888888").exists()


def test_kuaidi100_states_and_companies_map_to_ours():
    expected = {"0": "in_transit", "1": "accepted", "2": "exception", "3": "delivered", "4": "returned",
                "5": "out_for_delivery", "6": "returned", "7": "in_transit", "8": "in_transit", "13": "exception",
                "14": "exception", "101": "accepted", "1001": "in_transit", "501": "out_for_delivery", "304": "delivered",
                "401": "exception", 3: "delivered",
                # finer codes not in the table fall back to their main state
                "207": "exception", "305": "delivered", "1004": "in_transit",
                "9": None, "999": None, "x": None, "": None}
    assert {code: kuaidi100_state_kind(code) for code in expected} == expected
    assert {c: KUAIDI100_COMPANIES[c] for c in ("shunfeng", "zhongtong", "yuantong", "jd", "ems", "dhl", "ups", "fedex")} == {
        "shunfeng": "sf", "zhongtong": "zto", "yuantong": "yto", "jd": "jd", "ems": "ems", "dhl": "dhl", "ups": "ups",
        "fedex": "fedex"}
    assert kuaidi100_sign('{"a":1}', salt="s") == "994475780ABD4D5E9F20FDD8BED82F4B"  # MD5(param + salt), upper-case


# --- the index --------------------------------------------------------------------------------------------

def test_a_tracking_number_held_by_another_store_is_refused(mall):
    _so, shipment = _shipped(mall)
    order, _ = place_order(mall, stores=("globex",), qty=1)
    pay(order)
    with in_merchant_schema(mall.globex):
        so = SubOrder.objects.get(order_id=order.pk)
        suborder_accept(suborder_id=so.pk, actor=mall.users["globex:owner"])
        with pytest.raises(Conflict) as exc:
            shipment_create(suborder_id=so.pk, actor=mall.users["globex:warehouse"], lines=None, carrier="sf",
                            tracking_number=shipment.tracking_number)
        assert exc.value.code == "tracking_number_taken"
        assert not Shipment.objects.filter(suborder_id=so.pk).exists()
        assert SubOrder.objects.get(pk=so.pk).status == "accepted"
    assert list(TrackingIndex.objects.filter(tracking_number=shipment.tracking_number).values_list("merchant_id", "shipment_id")) == [
        (mall.acme.pk, shipment.pk)]


# --- estimated delivery -----------------------------------------------------------------------------------

def test_eta_comes_from_the_transit_table_with_the_most_specific_row_and_a_default(mall, settings):
    # seeded: SF within CN 1–2 days; the test warehouse and address are both region SH in CN
    _so, sf = _shipped(mall, carrier="sf")
    assert sf.estimated_delivery_at == end_of_local_day(sf.shipped_at + timedelta(days=2))
    assert _index(sf).estimated_delivery_at == sf.estimated_delivery_at
    TransitTime.objects.create(carrier="sf", service="*", from_region="CN-SH", to_region="CN-SH", days_min=1, days=1)
    _so, same_city = _shipped(mall, carrier="sf")
    assert same_city.estimated_delivery_at == end_of_local_day(same_city.shipped_at + timedelta(days=1))
    _so, jd = _shipped(mall, carrier="jd", number=f"JDVA{_number('')[:11]}")  # no JD row: the default
    assert jd.estimated_delivery_at == end_of_local_day(jd.shipped_at + timedelta(days=settings.TRACKING_DEFAULT_TRANSIT_DAYS))


def test_transit_rows_rank_region_then_service(db):
    TransitTime.objects.create(carrier="zto", service="次日达", from_region="CN", to_region="CN", days_min=1, days=1)
    TransitTime.objects.create(carrier="zto", service="*", from_region="CN-SH", to_region="CN-BJ", days_min=2, days=3)
    route = {"carrier": "zto", "from_region": "SH"}
    assert transit_time_for(service="", to_region="GD", to_country="CN", **route).days == 4  # seeded CN -> CN
    assert transit_time_for(service="次日达", to_region="GD", to_country="CN", **route).days == 1  # service beats *
    assert transit_time_for(service="次日达", to_region="CN-BJ", **route).days == 3  # region beats service
    assert transit_time_for(service="", to_region="Ontario", to_country="CA", **route).rule is None  # no row: default
    assert transit_time_for(carrier="dhl", service="", from_region="CN-SH", to_region="NY", to_country="US").days == 7


def test_eta_moves_on_out_for_delivery_and_when_still_in_transit_past_it(mall):
    _so, shipment = _shipped(mall)
    eta = shipment.estimated_delivery_at

    def receive(kind, at):
        return tracking_events_receive(events=[CarrierEvent(
            ref=f"e{next(_n)}", carrier="sf", tracking_number=shipment.tracking_number, kind=kind, at=at, location="",
            description=kind, source="webhook", external_id=f"ext-{next(_n)}")])

    assert receive("in_transit", shipment.shipped_at + timedelta(hours=5))[0]["result"] == "recorded"
    assert _state(mall.acme, shipment)[0].estimated_delivery_at == eta  # before the estimate: unchanged
    late = eta + timedelta(hours=3)
    receive("in_transit", late)
    assert _state(mall.acme, shipment)[0].estimated_delivery_at == end_of_local_day(late + timedelta(days=1))
    out = late + timedelta(days=1, hours=1)
    receive("out_for_delivery", out)
    s = _state(mall.acme, shipment)[0]
    assert s.estimated_delivery_at == end_of_local_day(out)
    assert _index(shipment).estimated_delivery_at == s.estimated_delivery_at


# --- flags ------------------------------------------------------------------------------------------------

def _flags_for(shipments, **kw):
    numbers = {s.tracking_number for s in shipments}
    return [(p.tracking_number, p.reason, p.quiet_days) for p in parcels_flagged_for_operator(**kw) if p.tracking_number in numbers]


def _receive(shipment, kind, at):
    return tracking_events_receive(events=[CarrierEvent(
        ref="x", carrier=shipment.carrier, tracking_number=shipment.tracking_number, kind=kind, at=at, location="",
        description=f"{kind} scan", source="webhook", external_id=f"ext-{next(_n)}")])


def test_a_parcel_without_a_scan_for_the_stale_days_is_flagged_until_it_moves(mall):
    _so, shipment = _shipped(mall)
    shipped = shipment.shipped_at
    assert _flags_for([shipment], now=shipped + timedelta(days=3) - timedelta(seconds=1)) == []
    assert _flags_for([shipment], now=shipped + timedelta(days=3, seconds=1)) == [(shipment.tracking_number, "stale", 3)]
    _receive(shipment, "in_transit", shipped + timedelta(days=2))
    assert _flags_for([shipment], now=shipped + timedelta(days=3, seconds=1)) == []
    assert _flags_for([shipment], now=shipped + timedelta(days=5, seconds=1)) == [(shipment.tracking_number, "stale", 3)]
    with in_merchant_schema(mall.acme):
        mine = [(p.tracking_number, p.reason) for p in parcels_flagged_for_merchant(now=shipped + timedelta(days=5, seconds=1))]
    with in_merchant_schema(mall.globex):
        theirs = [p.tracking_number for p in parcels_flagged_for_merchant(now=shipped + timedelta(days=5, seconds=1))]
    assert (shipment.tracking_number, "stale") in mine and shipment.tracking_number not in theirs


def test_an_exception_is_flagged_at_once_and_cleared_by_the_next_scan(mall):
    _so, shipment = _shipped(mall)
    shipped = shipment.shipped_at
    _receive(shipment, "exception", shipped + timedelta(hours=1))
    assert _index(shipment).flagged_reason == "exception"
    assert _flags_for([shipment], now=shipped + timedelta(hours=2)) == [(shipment.tracking_number, "exception", 0)]
    with in_merchant_schema(mall.acme):
        assert [(p.tracking_number, p.reason, p.last_event) for p in parcels_flagged_for_merchant(now=shipped + timedelta(hours=2))
                if p.shipment_id == shipment.pk] == [(shipment.tracking_number, "exception", "exception scan")]
    _receive(shipment, "in_transit", shipped + timedelta(hours=3))
    assert _index(shipment).flagged_reason == ""
    assert _flags_for([shipment], now=shipped + timedelta(hours=4)) == []


def test_delivered_parcels_are_never_flagged(mall):
    _so, by_carrier = _shipped(mall)
    so, by_shopper = _shipped(mall)
    much_later = by_shopper.shipped_at + timedelta(days=30)
    _receive(by_carrier, "delivered", by_carrier.shipped_at + timedelta(days=1))
    with in_merchant_schema(mall.acme):  # delivered by the shopper's receipt, not through a carrier event
        suborder_confirm_receipt(suborder_id=so.pk, shopper_email=so.shopper_email)
        assert [p for p in parcels_flagged_for_merchant(now=much_later) if p.shipment_id in (by_carrier.pk, by_shopper.pk)] == []
    assert _flags_for([by_carrier, by_shopper], now=much_later) == []


# --- the console page -------------------------------------------------------------------------------------

def test_console_parcels_lists_flagged_parcels_for_operators_only(mall, client_at):
    _so, shipment = _shipped(mall)
    _receive(shipment, "exception", _now())
    for who in ("acme:owner", "shopper", "nobody", None):
        resp = client_at(None, mall.users[who] if who else None).get("/console/parcels/")
        assert resp.status_code == 302 and resp["Location"].startswith("/admin/login/"), who
    resp = client_at(None, mall.users["operator"]).get("/console/parcels/")
    assert resp.status_code == 200
    page = resp.content.decode()
    assert shipment.tracking_number in page and "Acme Outfitters" in page and "Carrier exception" in page


# --- backfill ---------------------------------------------------------------------------------------------

def test_backfill_indexes_shipments_missing_from_the_index_and_can_run_again(mall):
    from django.core.management import call_command

    _so, shipment = _shipped(mall)
    _receive(shipment, "in_transit", shipment.shipped_at + timedelta(hours=1))
    before = _index(shipment)
    TrackingIndex.objects.filter(pk=before.pk).delete()  # as if shipped before the index existed
    call_command("tracking_index_backfill", stdout=open("/dev/null", "w"))
    call_command("tracking_index_backfill", stdout=open("/dev/null", "w"))
    after = _index(shipment)
    assert (after.merchant_id, after.shipment_id, after.status, after.last_event_at, after.estimated_delivery_at) == (
        before.merchant_id, before.shipment_id, "in_transit", before.last_event_at, before.estimated_delivery_at)
    assert TrackingIndex.objects.filter(merchant=mall.acme, shipment_id=shipment.pk).count() == 1
