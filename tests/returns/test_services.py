"""Returns end to end in services: request → approve → ship back → receive → inspect (restock / write-off)
→ refund through payments; exchange with a reserved replacement; refund only; bad input named by field."""
import uuid
from datetime import timedelta

import pytest

from catalog.models import StockMovement, StockReservation
from core.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from core.outbox import OutboxEvent
from core.tenancy import in_merchant_schema
from fulfillment.models import Shipment
from fulfillment.shipments import shipment_mark_delivered
from payments.models import Refund
from returns import services as svc
from returns.due_index.models import ReturnDue
from returns.models import ReturnEvent, ReturnRequest
from suborders.models import SubOrderLine
from tests.returns.helpers import delivered_suborder, lines_of, png_bytes

pytestmark = pytest.mark.django_db


def _request(mall, so, lines, kind="return", reason_code="damaged", photos=None, **kw):
    return svc.return_request_create(suborder_id=so.pk, shopper_email=so.shopper_email, kind=kind, lines=lines,
                                     reason_code=reason_code, reason=kw.pop("reason", ""), photos=photos, **kw)



def test_return_full_path_restocks_and_refunds_accepted_units_once(mall):
    order, so, items = delivered_suborder(mall, qty=3, lines=2, price_minor=1000)
    owner, wh, fin = mall.users["acme:owner"], mall.users["acme:warehouse"], mall.users["acme:finance"]
    with in_merchant_schema(mall.acme):
        l1, l2 = lines_of(so)
        ret = _request(mall, so, [(l1.pk, 2), (l2.pk, 1)], photos=[png_bytes()])
        assert ret.status == "requested" and ret.photos.count() == 1
        assert ReturnDue.objects.filter(merchant_id=mall.acme.pk, return_id=ret.pk, kind="answer").exists()
        svc.return_approve(return_id=ret.pk, actor=owner)
        ret.refresh_from_db()
        assert ret.status == "awaiting_return_shipment" and ret.ship_by is not None
        assert ReturnDue.objects.get(merchant_id=mall.acme.pk, return_id=ret.pk).kind == "ship"
        svc.return_mark_shipped(return_id=ret.pk, shopper_email=so.shopper_email, carrier="SF", tracking_number="SF123")
        assert not ReturnDue.objects.filter(merchant_id=mall.acme.pk, return_id=ret.pk).exists()
        svc.return_receive(return_id=ret.pk, actor=wh)
        rl1, rl2 = list(ret.lines.order_by("pk"))
        wh_id = items[0]["warehouse_id"]
        svc.return_inspect(return_id=ret.pk, actor=wh, lines=[svc.InspectLine(rl1.pk, 1, 1, wh_id), svc.InspectLine(rl2.pk, 0, 0)])
        ret.refresh_from_db()
        assert (ret.status, ret.inspection) == ("inspected", "partially_accepted")
        assert [ln.returned_qty for ln in lines_of(so)] == [2, 0]
        moves = list(StockMovement.objects.filter(reference=f"return {ret.number}").order_by("pk")
                     .values_list("kind", "on_hand_delta"))
        assert moves == [("return", 1), ("return", 1), ("adjustment", -1)]
        svc.return_refund(return_id=ret.pk, actor=fin)
        ret.refresh_from_db()
        assert ret.status == "refunded" and ret.refund_minor == 2000
        with pytest.raises(Conflict) as err:
            svc.return_refund(return_id=ret.pk, actor=fin)
        assert err.value.field == "status"
        actions = list(ReturnEvent.objects.filter(request=ret).values_list("action", flat=True))
        assert actions == ["requested", "approved", "awaiting_shipment", "shipped_back", "received", "inspected", "refunded"]
        assert OutboxEvent.objects.filter(topic="return.changed", aggregate_id=str(ret.pk)).count() == 7
    refund = Refund.objects.get(pk=ret.refund_id)
    assert (refund.amount_minor, refund.suborder_id) == (2000, so.pk)
    assert [(rl.order_line.variant_id, rl.quantity) for rl in refund.lines.select_related("order_line")] == [(items[0]["variant_id"], 2)]


def test_no_reason_within_seven_days_is_approved_without_the_store(mall):
    _order, so, _ = delivered_suborder(mall, qty=1)
    with in_merchant_schema(mall.acme):
        ret = _request(mall, so, [(lines_of(so)[0].pk, 1)], reason_code="no_reason_7d")
        assert ret.status == "awaiting_return_shipment"
        assert ReturnEvent.objects.filter(request=ret, action="auto_approved", actor=None).exists()


def test_refund_only_is_decided_by_the_store_and_refunded_without_goods(mall):
    _order, so, items = delivered_suborder(mall, qty=2, price_minor=500)
    with in_merchant_schema(mall.acme):
        ret = _request(mall, so, [(lines_of(so)[0].pk, 1)], kind="refund_only", reason_code="no_reason_7d")
        assert ret.status == "requested"  # refund only is always decided by the store
        with pytest.raises(InvalidTransition):
            svc.return_refund(return_id=ret.pk, actor=mall.users["acme:finance"])
        svc.return_approve(return_id=ret.pk, actor=mall.users["acme:customer_service"])
        assert ReturnRequest.objects.get(pk=ret.pk).status == "approved"
        svc.return_refund(return_id=ret.pk, actor=mall.users["acme:finance"])
        ret.refresh_from_db()
        assert (ret.status, ret.refund_minor) == ("refunded", 500)
        assert not StockMovement.objects.filter(reference=f"return {ret.number}").exists()
        assert lines_of(so)[0].returned_qty == 0


def test_exchange_reserves_the_replacement_at_inspection_and_ships_it(mall):
    _order, so, items = delivered_suborder(mall, qty=2)
    wh_user, wh_id = mall.users["acme:warehouse"], items[0]["warehouse_id"]
    with in_merchant_schema(mall.acme):
        ret = _request(mall, so, [(lines_of(so)[0].pk, 1)], kind="exchange", reason_code="size_fit")
        svc.return_approve(return_id=ret.pk, actor=mall.users["acme:manager"])
        svc.return_receive(return_id=ret.pk, actor=wh_user)
        rl = ret.lines.get()
        svc.return_inspect(return_id=ret.pk, actor=wh_user, lines=[svc.InspectLine(rl.pk, 1, 0, wh_id)])
        res = StockReservation.objects.get(owner=f"return_line:{rl.pk}")
        assert (res.quantity, res.status) == (1, "active")
        with pytest.raises(Conflict):
            svc.return_refund(return_id=ret.pk, actor=mall.users["acme:finance"])
        with pytest.raises(ValidationFailed) as err:  # checked like any parcel's tracking number
            svc.return_ship_replacement(return_id=ret.pk, actor=wh_user, carrier="sf", tracking_number="SF999")
        assert err.value.field == "tracking_number"
        tracking = f"SF{uuid.uuid4().int % 10**13:013d}"
        svc.return_ship_replacement(return_id=ret.pk, actor=wh_user, carrier="sf", tracking_number=tracking)
        res.refresh_from_db()
        assert res.status == "committed"
        assert ReturnRequest.objects.get(pk=ret.pk).status == "exchanged"
        parcel = Shipment.objects.get(suborder_id=so.pk, tracking_number=tracking)
        assert parcel.lines.count() == 0  # the suborder's delivered units are not shipped twice
        shipment_mark_delivered(shipment_id=parcel.pk, actor=wh_user)
        assert [ln.delivered_qty for ln in lines_of(so)] == [2]
        moves = list(StockMovement.objects.filter(reference__startswith=f"exchange {ret.number}").order_by("pk")
                     .values_list("kind", "on_hand_delta", "reserved_delta"))
        assert moves == [("reservation", 0, 1), ("shipment", -1, -1)]  # reserved at inspection, shipped with the parcel


def test_suborder_auto_complete_waits_while_a_return_is_open(mall):
    from suborders.services import suborder_complete

    _order, so, _ = delivered_suborder(mall, qty=1)
    later = so.complete_after + timedelta(minutes=1)
    with in_merchant_schema(mall.acme):
        ret = _request(mall, so, [(lines_of(so)[0].pk, 1)])
        assert suborder_complete(suborder_id=so.pk, now=later) is None
        svc.return_refuse(return_id=ret.pk, actor=mall.users["acme:owner"], reason="Photos show normal wear")
        assert suborder_complete(suborder_id=so.pk, now=later).status == "completed"


# --- bad input: a clear error naming the field, nothing changed -------------------------------------------

def _nothing_changed(so, before_returns):
    assert ReturnRequest.objects.filter(suborder_id=so.pk).count() == before_returns


def test_returning_more_than_delivered_or_already_returned_names_the_line_quantity(mall):
    _order, so, _ = delivered_suborder(mall, qty=2)
    with in_merchant_schema(mall.acme):
        line = lines_of(so)[0]
        with pytest.raises(ValidationFailed) as err:
            _request(mall, so, [(line.pk, 3)])
        assert (err.value.field, err.value.code) == ("lines[0].quantity", "over_return")
        _nothing_changed(so, 0)
        _request(mall, so, [(line.pk, 2)])
        with pytest.raises(ValidationFailed) as err:
            _request(mall, so, [(line.pk, 1)])
        assert err.value.field == "lines[0].quantity"
        _nothing_changed(so, 1)


def test_return_after_the_window_is_refused(mall):
    _order, so, _ = delivered_suborder(mall, qty=1)
    with in_merchant_schema(mall.acme):
        late = so.delivered_at + timedelta(days=svc.return_policy_get().window_days, minutes=1)
        with pytest.raises(Conflict) as err:
            _request(mall, so, [(lines_of(so)[0].pk, 1)], now=late)
        assert (err.value.field, err.value.code) == ("suborder", "return_window_closed")
        _nothing_changed(so, 0)


def test_approving_twice_is_refused_and_changes_nothing(mall):
    _order, so, _ = delivered_suborder(mall, qty=1)
    with in_merchant_schema(mall.acme):
        ret = _request(mall, so, [(lines_of(so)[0].pk, 1)])
        svc.return_approve(return_id=ret.pk, actor=mall.users["acme:owner"])
        events = ReturnEvent.objects.filter(request=ret).count()
        with pytest.raises(InvalidTransition) as err:
            svc.return_approve(return_id=ret.pk, actor=mall.users["acme:owner"])
        assert (err.value.field, err.value.code) == ("status", "return_already_decided")
        with pytest.raises(InvalidTransition):
            svc.return_refuse(return_id=ret.pk, actor=mall.users["acme:owner"], reason="no")
        assert ReturnEvent.objects.filter(request=ret).count() == events


def test_refund_before_receipt_is_refused_when_the_policy_requires_receipt(mall):
    _order, so, _ = delivered_suborder(mall, qty=1)
    with in_merchant_schema(mall.acme):
        ret = _request(mall, so, [(lines_of(so)[0].pk, 1)])
        svc.return_approve(return_id=ret.pk, actor=mall.users["acme:owner"])
        with pytest.raises(Conflict) as err:
            svc.return_refund(return_id=ret.pk, actor=mall.users["acme:finance"])
        assert (err.value.field, err.value.code) == ("status", "refund_before_receipt")
        assert ReturnRequest.objects.get(pk=ret.pk).refund_id is None
    assert not Refund.objects.filter(suborder_id=so.pk, merchant_id=mall.acme.pk).exists()


def test_refund_before_receipt_is_allowed_when_the_policy_says_so_and_completes_at_inspection(mall):
    _order, so, items = delivered_suborder(mall, qty=1)
    with in_merchant_schema(mall.acme):
        svc.return_policy_update(actor=mall.users["acme:owner"], window_days=7, no_approval_reasons=[],
                                 return_shipping_payer="merchant", refund_requires_receipt=False, answer_days=2, ship_days=7)
        ret = _request(mall, so, [(lines_of(so)[0].pk, 1)])
        svc.return_approve(return_id=ret.pk, actor=mall.users["acme:owner"])
        svc.return_refund(return_id=ret.pk, actor=mall.users["acme:finance"])
        ret.refresh_from_db()
        assert ret.status == "awaiting_return_shipment" and ret.refund_minor == 1000
        svc.return_receive(return_id=ret.pk, actor=mall.users["acme:warehouse"])
        svc.return_inspect(return_id=ret.pk, actor=mall.users["acme:warehouse"],
                           lines=[svc.InspectLine(ret.lines.get().pk, 1, 0, items[0]["warehouse_id"])])
        assert ReturnRequest.objects.get(pk=ret.pk).status == "refunded"


@pytest.mark.parametrize("photo,message", [
    (b"%PDF-1.4 not an image", "PNG, JPEG or WebP"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "PNG, JPEG or WebP"),  # PNG magic, not a decodable image
    (b"\xff\xd8\xff" + b"0" * (svc.MAX_PHOTO_BYTES + 1), "at most 2 MB"),
])
def test_a_bad_attachment_names_the_photo_and_changes_nothing(mall, photo, message):
    _order, so, _ = delivered_suborder(mall, qty=1)
    with in_merchant_schema(mall.acme):
        with pytest.raises(ValidationFailed) as err:
            _request(mall, so, [(lines_of(so)[0].pk, 1)], photos=[png_bytes(), photo])
        assert err.value.field == "photos[1]" and message in err.value.message
        _nothing_changed(so, 0)


def test_inspecting_more_than_came_back_names_the_line(mall):
    _order, so, items = delivered_suborder(mall, qty=2)
    with in_merchant_schema(mall.acme):
        ret = _request(mall, so, [(lines_of(so)[0].pk, 1)])
        svc.return_approve(return_id=ret.pk, actor=mall.users["acme:owner"])
        svc.return_receive(return_id=ret.pk, actor=mall.users["acme:warehouse"])
        with pytest.raises(ValidationFailed) as err:
            svc.return_inspect(return_id=ret.pk, actor=mall.users["acme:warehouse"],
                               lines=[svc.InspectLine(ret.lines.get().pk, 2, 0, items[0]["warehouse_id"])])
        assert err.value.field == "lines[0].restock_qty"
        assert ReturnRequest.objects.get(pk=ret.pk).status == "received"
        assert SubOrderLine.objects.get(pk=lines_of(so)[0].pk).returned_qty == 0


def test_roles_without_the_capability_are_refused(mall):
    _order, so, items = delivered_suborder(mall, qty=1)
    with in_merchant_schema(mall.acme):
        ret = _request(mall, so, [(lines_of(so)[0].pk, 1)])
        for role in ("finance", "warehouse"):
            with pytest.raises(PermissionDenied):
                svc.return_approve(return_id=ret.pk, actor=mall.users[f"acme:{role}"])
        with pytest.raises(PermissionDenied):  # globex's owner has no role at acme
            svc.return_approve(return_id=ret.pk, actor=mall.users["globex:owner"])
        svc.return_approve(return_id=ret.pk, actor=mall.users["acme:owner"])
        with pytest.raises(PermissionDenied):
            svc.return_receive(return_id=ret.pk, actor=mall.users["acme:customer_service"])
        with pytest.raises(PermissionDenied):
            svc.return_policy_update(actor=mall.users["acme:warehouse"], window_days=7, no_approval_reasons=[],
                                     return_shipping_payer="shopper", refund_requires_receipt=True, answer_days=2, ship_days=7)
        assert ReturnRequest.objects.get(pk=ret.pk).status == "awaiting_return_shipment"


def test_another_shopper_cannot_request_a_return_of_a_parcel_not_theirs(mall):
    _order, so, _ = delivered_suborder(mall, qty=1)
    with in_merchant_schema(mall.acme):
        with pytest.raises(NotFound):
            svc.return_request_create(suborder_id=so.pk, shopper_email="someone@else.test", kind="return",
                                      lines=[(lines_of(so)[0].pk, 1)], reason_code="damaged")
        _nothing_changed(so, 0)
