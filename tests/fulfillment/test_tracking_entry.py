"""Tracking events entered by the store's staff: on the suborder page, through the API, and from a
CSV/XLSX (preview, then confirm). A manual "delivered" event completes the delivery exactly as a carrier
webhook does; bad input names its field and writes nothing; finance and customer service are refused;
another store's staff never reach a shipment; a re-uploaded file records nothing twice. Also the
merchant's flagged parcels page."""
import html
import io
import itertools
import json
import re
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from carriers.models import TrackingIndex
from core.errors import NotFound, PermissionDenied
from core.tenancy import in_merchant_schema
from fulfillment.models import Shipment, TrackingEvent
from fulfillment.shipments import shipment_create
from fulfillment.tracking_entry import shipment_tracking_event_enter
from orders.models import SubOrderMirror
from suborders.models import SubOrder, SubOrderEvent
from suborders.services import suborder_accept
from tests.payments.helpers import pay, place_order

_n = itertools.count(1)


def _number():
    return f"SF{(time.time_ns() // 1000 + next(_n)) % 10**13:013d}"


def _shipped(mall, merchant="acme", qty=1, parcels=1):
    """A paid, accepted suborder shipped in `parcels` parcels (qty must be >= parcels): (suborder, [shipments])."""
    order, _ = place_order(mall, stores=(merchant,), qty=qty)
    pay(order)
    m = getattr(mall, merchant)
    with in_merchant_schema(m):
        so = SubOrder.objects.get(order_id=order.pk)
        suborder_accept(suborder_id=so.pk, actor=mall.users[f"{merchant}:owner"])
        line = so.lines.get()
        shipments = []
        for k in range(parcels):
            lines = None if k == parcels - 1 else [(line.pk, 1)]
            shipments.append(shipment_create(suborder_id=so.pk, actor=mall.users[f"{merchant}:warehouse"], lines=lines,
                                             carrier="sf", tracking_number=_number()))
    return so, shipments


def _state(merchant, shipment):
    with in_merchant_schema(merchant):
        s = Shipment.objects.get(pk=shipment.pk)
        events = list(TrackingEvent.objects.filter(shipment=s).order_by("at", "id")
                      .values_list("kind", "location", "description", "source", "recorded_by_id"))
        so = SubOrder.objects.get(pk=s.suborder_id)
    return s, events, so


def _unchanged(mall, shipment, so_status="shipped"):
    s, events, so = _state(mall.acme, shipment)
    idx = TrackingIndex.objects.get(carrier=s.carrier, tracking_number=s.tracking_number)
    assert (s.status, s.last_event_at, s.delivered_at, events, so.status, idx.status, idx.last_event_at) == (
        "shipped", None, None, [], so_status, "shipped", None)


def _viewer(moment):
    """`moment` in the zone pages read a time without an offset in (the viewer's; DISPLAY_TIME_ZONE here)."""
    return moment.astimezone(ZoneInfo(settings.DISPLAY_TIME_ZONE))


def _local_minute(moment):
    return _viewer(moment).strftime("%Y-%m-%dT%H:%M")


def _api_url(shipment):
    return f"/api/v1/shipments/{shipment.pk}/tracking-events/"


# --- the suborder page ------------------------------------------------------------------------------------

def test_a_delivered_event_entered_on_the_page_delivers_the_shipment_and_the_suborder(mall, client_at):
    so, (shipment,) = _shipped(mall)
    clerk = mall.users["acme:warehouse"]
    c = client_at(mall.acme, clerk)
    page = c.get(f"/suborders/{so.pk}/").content.decode()
    assert 'data-testid="tracking-form"' in page and f'/parcels/{shipment.pk}/tracking-events/' in page
    resp = c.post(f"/parcels/{shipment.pk}/tracking-events/", {
        "kind": "delivered", "at": _local_minute(timezone.now()), "location": "上海市徐汇区",
        "description": "Signed by the front desk", "key": "page-key-1"})
    assert resp.status_code == 302 and resp["Location"] == f"/suborders/{so.pk}/"
    s, events, fresh = _state(mall.acme, shipment)
    assert events == [("delivered", "上海市徐汇区", "Signed by the front desk", "manual", clerk.pk)]
    assert s.status == "delivered" and s.delivered_at is not None
    assert fresh.status == "delivered" and fresh.complete_after is not None
    assert SubOrderMirror.objects.get(merchant=mall.acme, suborder_id=so.pk).status == "delivered"
    assert TrackingIndex.objects.get(carrier="sf", tracking_number=shipment.tracking_number).status == "delivered"
    with in_merchant_schema(mall.acme):  # the person is on the suborder's audit event
        ev = SubOrderEvent.objects.filter(suborder_id=so.pk).order_by("-id").first()
        assert (ev.to_status, ev.actor_id, ev.reason) == ("delivered", clerk.pk, "manual: delivered")
    body = c.get(f"/suborders/{so.pk}/").content.decode()
    assert "Tracking event added." in body and 'data-source="manual"' in body


def test_the_same_page_form_sent_twice_records_one_event(mall, client_at):
    so, (shipment,) = _shipped(mall)
    c = client_at(mall.acme, mall.users["acme:manager"])
    form = {"kind": "in_transit", "at": _local_minute(timezone.now()), "location": "Hub", "description": "", "key": "k-twice"}
    c.post(f"/parcels/{shipment.pk}/tracking-events/", form)
    second = c.post(f"/parcels/{shipment.pk}/tracking-events/", form, follow=True).content.decode()
    assert "This tracking event was already added." in second
    s, events, _so = _state(mall.acme, shipment)
    assert [e[0] for e in events] == ["in_transit"] and s.status == "in_transit"


def test_a_delivered_event_on_one_of_two_parcels_leaves_the_suborder_partly_delivered_until_the_second(mall):
    so, (first, second) = _shipped(mall, qty=2, parcels=2)
    clerk = mall.users["acme:warehouse"]
    with in_merchant_schema(mall.acme):
        shipment_tracking_event_enter(shipment_id=first.pk, actor=clerk, kind="delivered")
        assert SubOrder.objects.get(pk=so.pk).status == "shipped"
        assert so.lines.get().delivered_qty == 1
        shipment_tracking_event_enter(shipment_id=second.pk, actor=clerk, kind="delivered")
        assert SubOrder.objects.get(pk=so.pk).status == "delivered"


@pytest.mark.parametrize(("form", "message"), [
    ({"kind": "teleported"}, "Unknown kind teleported"),
    ({"at": "in-the-future"}, "is in the future"),
    ({"at": "before-shipping"}, "is before the parcel was shipped"),
    ({"at": "yesterday-ish"}, "The time must be a date and time"),
    ({"location": "x" * 121}, "The location is longer than 120 characters"),
])
def test_bad_page_input_is_a_message_and_writes_nothing(mall, client_at, form, message):
    so, (shipment,) = _shipped(mall)
    at = {"in-the-future": _local_minute(timezone.now() + timedelta(minutes=30)),
          "before-shipping": _local_minute(shipment.shipped_at - timedelta(hours=2))}.get(form.get("at"), form.get("at"))
    data = {"kind": "in_transit", "at": _local_minute(timezone.now()), "location": "", "description": "", "key": "k", **form}
    if at is not None:
        data["at"] = at
    c = client_at(mall.acme, mall.users["acme:warehouse"])
    body = c.post(f"/parcels/{shipment.pk}/tracking-events/", data, follow=True).content.decode()
    assert message in html.unescape(body)
    _unchanged(mall, shipment)


# --- the API ----------------------------------------------------------------------------------------------

def test_api_records_an_event_replays_a_retry_and_lists_the_events(mall, api_at):
    so, (shipment,) = _shipped(mall)
    clerk = mall.users["acme:warehouse"]
    wh = api_at(mall.acme, clerk)
    at = timezone.now().replace(microsecond=0)
    body = {"kind": "out_for_delivery", "at": at.isoformat(), "location": "浦东新区", "description": "With the courier"}
    first = wh.post(_api_url(shipment), body, format="json", HTTP_IDEMPOTENCY_KEY="trk-1")
    assert first.status_code == 201, first.content
    out = first.json()
    assert out["created"] is True
    assert {k: out["event"][k] for k in ("kind", "location", "description", "source", "recorded_by_id")} == {
        "kind": "out_for_delivery", "location": "浦东新区", "description": "With the courier", "source": "manual",
        "recorded_by_id": clerk.pk}
    assert out["shipment"]["status"] == "out_for_delivery" and out["shipment"]["delivered_at"] is None
    again = wh.post(_api_url(shipment), body, format="json", HTTP_IDEMPOTENCY_KEY="trk-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true" and again.json() == out
    delivered = wh.post(_api_url(shipment), {"kind": "delivered"}, format="json", HTTP_IDEMPOTENCY_KEY="trk-2")
    assert delivered.status_code == 201 and delivered.json()["shipment"]["status"] == "delivered"
    listed = api_at(mall.acme, mall.users["acme:finance"]).get(_api_url(shipment))  # every role may read
    assert listed.status_code == 200
    assert [(e["kind"], e["source"]) for e in listed.json()] == [("out_for_delivery", "manual"), ("delivered", "manual")]
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=so.pk).status == "delivered"
    missing_key = wh.post(_api_url(shipment), {"kind": "in_transit"}, format="json")
    assert missing_key.status_code == 400 and missing_key.json()["field"] == "Idempotency-Key"


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"kind": "lost_in_space"}, "kind", "invalid"),
    ({"kind": "in_transit", "at": "future"}, "at", "invalid"),
    ({"kind": "in_transit", "at": "before"}, "at", "invalid"),
    ({"kind": "in_transit", "at": "2026-12-01T10:00:00"}, "at", "invalid"),  # no offset: ambiguous, refused
    ({"kind": "in_transit", "at": "１２"}, "at", "invalid"),
    ({"kind": "in_transit", "description": "d" * 301}, "description", "invalid"),
    ({}, "kind", "invalid"),
])
def test_bad_api_input_is_a_400_naming_the_field_and_writes_nothing(mall, api_at, settings, body, field, code):
    _so, (shipment,) = _shipped(mall)
    tolerance = settings.PAYMENT_WEBHOOK_TOLERANCE_SECONDS
    at = {"future": timezone.now() + timedelta(seconds=tolerance + 60),
          "before": shipment.shipped_at - timedelta(minutes=2)}.get(body.get("at"))
    if at is not None:
        body = {**body, "at": at.isoformat()}
    resp = api_at(mall.acme, mall.users["acme:warehouse"]).post(_api_url(shipment), body, format="json",
                                                              HTTP_IDEMPOTENCY_KEY=f"bad-{next(_n)}")
    assert resp.status_code == 400, resp.content
    assert (resp.json()["code"], resp.json()["field"]) == (code, field)
    _unchanged(mall, shipment)


def test_a_time_within_the_webhook_tolerance_is_accepted(mall):
    _so, (shipment,) = _shipped(mall)
    with in_merchant_schema(mall.acme):
        event, created = shipment_tracking_event_enter(shipment_id=shipment.pk, actor=mall.users["acme:owner"],
                                                       kind="accepted", at=timezone.now() + timedelta(seconds=60))
    assert created and event.kind == "accepted"


# --- who may ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["finance", "customer_service"])
def test_finance_and_customer_service_are_refused_with_a_real_shipment(mall, api_at, client_at, role):
    so, (shipment,) = _shipped(mall)
    user = mall.users[f"acme:{role}"]
    resp = api_at(mall.acme, user).post(_api_url(shipment), {"kind": "delivered"}, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    assert resp.status_code == 403 and resp.json()["code"] == "permission_denied"
    page = client_at(mall.acme, user).post(f"/parcels/{shipment.pk}/tracking-events/", {"kind": "delivered", "key": "r2"})
    assert page.status_code == 403
    assert 'data-testid="tracking-form"' not in client_at(mall.acme, user).get(f"/suborders/{so.pk}/").content.decode()
    with in_merchant_schema(mall.acme), pytest.raises(PermissionDenied):
        shipment_tracking_event_enter(shipment_id=shipment.pk, actor=user, kind="delivered")
    assert client_at(mall.acme, user).get("/parcels/tracking-import/").status_code == 403
    _unchanged(mall, shipment)


@pytest.mark.parametrize("role", ["warehouse", "manager", "owner"])
def test_the_roles_that_ship_may_enter_events(mall, role):
    _so, (shipment,) = _shipped(mall)
    with in_merchant_schema(mall.acme):
        _event, created = shipment_tracking_event_enter(shipment_id=shipment.pk, actor=mall.users[f"acme:{role}"],
                                                        kind="in_transit")
    assert created and _state(mall.acme, shipment)[0].status == "in_transit"


def test_another_stores_staff_never_reach_a_shipment(mall, api_at, client_at):
    _so, (shipment,) = _shipped(mall)  # acme's real shipment
    with in_merchant_schema(mall.globex):
        assert not Shipment.objects.filter(pk=shipment.pk).exists()  # the id names nothing at globex
    globex = mall.users["globex:owner"]
    # on acme's host: not a member
    assert api_at(mall.acme, globex).post(_api_url(shipment), {"kind": "delivered"}, format="json",
                                          HTTP_IDEMPOTENCY_KEY="iso-1").status_code == 403
    assert api_at(mall.acme, globex).get(_api_url(shipment)).status_code == 403
    assert client_at(mall.acme, globex).post(f"/parcels/{shipment.pk}/tracking-events/", {"kind": "delivered"}).status_code == 403
    # on globex's host with acme's id: no such shipment there
    resp = api_at(mall.globex, globex).post(_api_url(shipment), {"kind": "delivered"}, format="json", HTTP_IDEMPOTENCY_KEY="iso-2")
    assert resp.status_code == 404 and resp.json()["field"] == "shipment"
    assert api_at(mall.globex, globex).get(_api_url(shipment)).status_code == 404
    assert client_at(mall.globex, globex).post(f"/parcels/{shipment.pk}/tracking-events/",
                                               {"kind": "delivered", "key": "iso-3"}).status_code == 404
    with in_merchant_schema(mall.globex), pytest.raises(NotFound) as exc:
        shipment_tracking_event_enter(shipment_id=shipment.pk, actor=globex, kind="delivered")
    assert exc.value.code == "not_found"
    _unchanged(mall, shipment)


# --- from a file ------------------------------------------------------------------------------------------

def _rows_json(page: str) -> str:
    return html.unescape(re.search(r'name="rows" value="([^"]*)"', page).group(1))


def _preview(page: str) -> dict[int, tuple[str, str]]:
    """row -> (ok, field) from the preview table."""
    return {int(r): (ok, field) for r, ok, field in
            re.findall(r'data-testid="preview-row" data-row="(\d+)" data-ok="(\d)" data-field="([^"]*)"', page)}


def test_a_tracking_file_is_previewed_with_its_bad_rows_and_only_good_rows_are_recorded_on_confirm(mall, client_at):
    so1, (a,) = _shipped(mall)
    so2, (b,) = _shipped(mall)
    so3, (c1, c2) = _shipped(mall, qty=2, parcels=2)
    _gso, (theirs,) = _shipped(mall, merchant="globex")
    fmt = "%Y-%m-%d %H:%M"
    now_local = _viewer(timezone.now()).strftime(fmt)  # this minute: not before shipping, not ahead
    future = _viewer(timezone.now() + timedelta(hours=1)).strftime(fmt)
    before = _viewer(a.shipped_at - timedelta(hours=3)).strftime(fmt)
    csv_text = "\n".join([
        "Tracking_Number,suborder,shipment,kind,time,location,description",
        f"{a.tracking_number},,,in_transit,{now_local},上海转运中心,Departed hub",           # 2 good, by number
        f",{so2.number},,delivered,{now_local},Front desk,Signed",                            # 3 good, by suborder
        f",{so3.number},2,exception,{now_local},,Address unknown",                            # 4 good, second parcel
        f",{so3.number},,in_transit,{now_local},,",                                           # 5 which parcel?
        f"{theirs.tracking_number},,,in_transit,{now_local},,",                               # 6 globex's parcel
        f"{a.tracking_number},,,teleported,{now_local},,",                                    # 7 unknown kind
        f"{a.tracking_number},,,in_transit,{future},,",                                       # 8 future
        f"{a.tracking_number},,,in_transit,{before},,",                                       # 9 before shipping
        f"{a.tracking_number},,,in_transit,{now_local},上海转运中心,Departed hub",           # 10 same as row 2
        f"{a.tracking_number},{so2.number},,in_transit,{now_local},,",                        # 11 not that suborder's
        f",NOPE-1,,in_transit,{now_local},,",                                                  # 12 no such suborder
        f"{a.tracking_number},,,in_transit,,,",                                               # 13 no time
    ]) + "\n"
    wh = client_at(mall.acme, mall.users["acme:warehouse"])
    page = wh.post("/parcels/tracking-import/", {"file": SimpleUploadedFile("events.csv", csv_text.encode())}).content.decode()
    assert _preview(page) == {2: ("1", ""), 3: ("1", ""), 4: ("1", ""), 5: ("0", "shipment"), 6: ("0", "tracking_number"),
                              7: ("0", "kind"), 8: ("0", "at"), 9: ("0", "at"), 10: ("0", "row"), 11: ("0", "suborder"),
                              12: ("0", "suborder"), 13: ("0", "at")}
    assert "3 rows can be recorded, 9 have a problem, 0 were recorded before" in page
    for s in (a, b, c1, c2):  # the preview wrote nothing
        assert _state(mall.acme, s)[1] == []
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.get(pk=so2.pk).status == "shipped"
    rows = _rows_json(page)
    assert [r["kind"] for r in json.loads(rows)] == ["in_transit", "delivered", "exception"]
    done = wh.post("/parcels/tracking-import/", {"confirm": "1", "rows": rows}, follow=True).content.decode()
    assert "3 tracking events recorded; 0 were already recorded." in done
    clerk = mall.users["acme:warehouse"].pk
    assert _state(mall.acme, a)[1] == [("in_transit", "上海转运中心", "Departed hub", "csv", clerk)]
    sb, eb, fresh2 = _state(mall.acme, b)
    assert (eb, sb.status, fresh2.status) == ([("delivered", "Front desk", "Signed", "csv", clerk)], "delivered", "delivered")
    assert _state(mall.acme, c1)[1] == [] and _state(mall.acme, c2)[0].status == "exception"
    with in_merchant_schema(mall.globex):
        assert not TrackingEvent.objects.filter(shipment_id=theirs.pk).exists()

    # the same file again: every good row was recorded before, nothing to confirm, nothing written
    again = wh.post("/parcels/tracking-import/", {"file": SimpleUploadedFile("events.csv", csv_text.encode())}).content.decode()
    assert "0 rows can be recorded, 9 have a problem, 3 were recorded before" in again
    assert 'data-testid="confirm"' not in again
    # and the first confirmation sent again (a second tab, a colleague): nothing twice
    replay = wh.post("/parcels/tracking-import/", {"confirm": "1", "rows": rows}, follow=True).content.decode()
    assert "0 tracking events recorded; 3 were already recorded." in replay
    assert [len(_state(mall.acme, s)[1]) for s in (a, b, c1, c2)] == [1, 1, 0, 1]


def test_a_tracking_workbook_is_read_too_with_its_date_cells(mall, client_at):
    from openpyxl import Workbook

    _so, (shipment,) = _shipped(mall)
    wb = Workbook()
    ws = wb.active
    ws.append(["tracking_number", "kind", "at", "location"])
    when = _viewer(timezone.now()).replace(second=0, microsecond=0)
    ws.append([shipment.tracking_number, "out_for_delivery", when.replace(tzinfo=None), "徐汇"])
    buf = io.BytesIO()
    wb.save(buf)
    wh = client_at(mall.acme, mall.users["acme:warehouse"])
    page = wh.post("/parcels/tracking-import/", {"file": SimpleUploadedFile("events.xlsx", buf.getvalue())}).content.decode()
    assert _preview(page) == {2: ("1", "")}
    wh.post("/parcels/tracking-import/", {"confirm": "1", "rows": _rows_json(page)})
    s = _state(mall.acme, shipment)[0]
    assert s.status == "out_for_delivery" and s.last_event_at == when


@pytest.mark.parametrize(("content", "message"), [
    (b"kind,at\nin_transit,2026-01-01 10:00\n", "Missing column(s): one of tracking_number/suborder."),
    (b"tracking_number,kind\nSF1,in_transit\n", "Missing column(s): at."),
    (b"\xff\xfe", "The CSV must be UTF-8."),
])
def test_an_unreadable_tracking_file_is_refused_whole(mall, client_at, content, message):
    page = client_at(mall.acme, mall.users["acme:owner"]).post(
        "/parcels/tracking-import/", {"file": SimpleUploadedFile("x.csv", content)}).content.decode()
    assert message in html.unescape(page) and 'data-testid="preview"' not in page


# --- flagged parcels --------------------------------------------------------------------------------------

def test_flagged_parcels_page_lists_exceptions_first_then_the_longest_silent(mall, client_at, settings):
    settings.TRACKING_STALE_DAYS = 3
    _s1, (quiet,) = _shipped(mall)
    _s2, (quieter,) = _shipped(mall)
    _s3, (problem,) = _shipped(mall)
    _s4, (fine,) = _shipped(mall)
    _g, (theirs,) = _shipped(mall, merchant="globex")
    now = timezone.now()
    with in_merchant_schema(mall.acme):
        Shipment.objects.filter(pk=quiet.pk).update(shipped_at=now - timedelta(days=4))
        Shipment.objects.filter(pk=quieter.pk).update(shipped_at=now - timedelta(days=6))
        shipment_tracking_event_enter(shipment_id=problem.pk, actor=mall.users["acme:warehouse"], kind="exception",
                                      description="Recipient refused")
    with in_merchant_schema(mall.globex):
        Shipment.objects.filter(pk=theirs.pk).update(shipped_at=now - timedelta(days=9))
    for role in ("customer_service", "finance", "warehouse"):  # everyone who sees suborders sees this
        resp = client_at(mall.acme, mall.users[f"acme:{role}"]).get("/parcels/")
        assert resp.status_code == 200, role
    page = resp.content.decode()
    rows = re.findall(r'data-testid="parcel-row" data-tracking="([^"]+)" data-reason="(\w+)"', page)
    mine = [r for r in rows if r[0] in {quiet.tracking_number, quieter.tracking_number, problem.tracking_number,
                                        fine.tracking_number, theirs.tracking_number}]
    assert mine == [(problem.tracking_number, "exception"), (quieter.tracking_number, "stale"), (quiet.tracking_number, "stale")]
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), key=lambda x: x != "exception")  # all exceptions first
    assert "Recipient refused" in page and "No scan for 6 days" in page
    only_stale = client_at(mall.acme, mall.users["acme:owner"]).get("/parcels/", {"reason": "stale"}).content.decode()
    assert problem.tracking_number not in only_stale and quiet.tracking_number in only_stale
    assert client_at(mall.acme, mall.users["globex:owner"]).get("/parcels/").status_code == 403
    nav = client_at(mall.acme, mall.users["acme:finance"]).get("/suborders/").content.decode()
    assert 'href="/parcels/"' in nav


def test_openapi_schema_documents_the_tracking_events_endpoint_with_an_example(mall, client_at):
    resp = client_at(mall.acme, mall.users["acme:owner"]).get("/api/v1/schema/", {"format": "json"})
    assert resp.status_code == 200
    schema = json.loads(resp.content)
    op = schema["paths"]["/api/v1/shipments/{shipment_id}/tracking-events/"]
    assert set(op) >= {"get", "post"}
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in op["post"]["parameters"])
    examples = op["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert any(e["value"]["kind"] == "delivered" for e in examples.values())
