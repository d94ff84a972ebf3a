"""A store's branding of its own shoppers' emails: set by its owner or manager on its dashboard, applied to
that store's shopper emails only; another store's staff and a same-store role without branding.edit are
refused; a logo must be a small real PNG/JPEG."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import PermissionDenied, ValidationFailed
from notifications.models import StoreBranding
from notifications.services import Notice, branding_update, notice_send
from permissions.models import AuditEntry
from tests.notifications.helpers import FakeEvent, shipped_notice


def _png(size=(40, 20), fmt="PNG") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def _post(client, **data):
    return client.post("/branding/", data)


def test_owner_sets_branding_and_only_that_stores_shopper_emails_carry_it(mall, client_at, mailoutbox):
    logo = _png()
    resp = _post(client_at(mall.acme, mall.users["acme:owner"]), display_name="ACME 极致户外", footer_text="Acme · Call 400-1",
                 logo=SimpleUploadedFile("logo.png", logo, content_type="image/png"))
    assert resp.status_code == 302
    row = StoreBranding.objects.get(merchant_id=mall.acme.pk)
    assert (row.display_name, row.footer_text, bytes(row.logo), row.logo_content_type) == (
        "ACME 极致户外", "Acme · Call 400-1", logo, "image/png")
    entry = AuditEntry.objects.filter(entity="store_branding", entity_id=str(mall.acme.pk)).latest("id")
    assert entry.schema_name == mall.acme.schema_name and entry.after["display_name"] == "ACME 极致户外"

    notice_send(event=FakeEvent(), delivery_key="b1", notice=shipped_notice(email="b-acme@example.test", merchant_id=mall.acme.pk))
    notice_send(event=FakeEvent(), delivery_key="b2", notice=shipped_notice(
        email="b-globex@example.test", merchant_id=mall.globex.pk, store="Globex Electronics"))
    acme_mail = next(m for m in mailoutbox if m.to == ["b-acme@example.test"])
    globex_mail = next(m for m in mailoutbox if m.to == ["b-globex@example.test"])
    assert acme_mail.subject == "ACME 极致户外 shipped your order M-TEST-1"
    assert acme_mail.body.rstrip().endswith("-- \nAcme · Call 400-1")
    html = acme_mail.alternatives[0][0]
    assert '<img src="cid:store-logo"' in html and "Acme · Call 400-1" in html and "http" not in html.split("<img")[1][:40]
    raw = acme_mail.message().as_bytes()
    assert b"Content-ID: <store-logo>" in raw and b"multipart/related" in raw
    # another store's shopper email is unchanged: its own name, no footer, no logo, no HTML part
    assert globex_mail.subject == "Globex Electronics shipped your order M-TEST-1"
    assert "Acme" not in globex_mail.body and globex_mail.alternatives == []
    # the mall's own emails (no store) are not branded either
    notice_send(event=FakeEvent(topic="order.expired"), delivery_key="b3", notice=Notice(
        kind="order_expired", email="b-acme@example.test", context={"number": "M-TEST-2", "mall_host": "localhost"},
        merchant_id=mall.acme.pk))
    expired = next(m for m in mailoutbox if m.subject == "Mallard order M-TEST-2 was cancelled")
    assert "Acme · Call 400-1" not in expired.body


def test_the_dashboard_page_shows_the_logo_inline_and_a_manager_may_edit(mall, client_at):
    branding_update(actor=mall.users["acme:owner"], merchant=mall.acme, display_name="A", footer_text="F", logo=_png())
    body = client_at(mall.acme, mall.users["acme:manager"]).get("/branding/").content.decode()
    assert 'data-testid="branding-logo"' in body and 'src="data:image/png;base64,' in body
    preview = body.split('data-testid="branding-preview"')[1]
    assert "A accepted your order M-20261203-0042" in preview and "-- \nF</pre>" in preview
    resp = _post(client_at(mall.acme, mall.users["acme:manager"]), display_name="B", footer_text="G", remove_logo="on")
    assert resp.status_code == 302
    row = StoreBranding.objects.get(merchant_id=mall.acme.pk)
    assert (row.display_name, row.footer_text, row.logo) == ("B", "G", None)


def test_another_stores_staff_and_a_role_without_branding_edit_are_refused(mall, client_at):
    branding_update(actor=mall.users["acme:owner"], merchant=mall.acme, display_name="Acme own", footer_text="acme footer")
    acme_row = StoreBranding.objects.get(merchant_id=mall.acme.pk)
    # globex's owner on acme's host: refused by the membership check
    resp = _post(client_at(mall.acme, mall.users["globex:owner"]), display_name="hijacked", footer_text="x")
    assert resp.status_code == 403
    # acme's warehouse clerk and finance: no branding.edit
    for role in ("warehouse", "finance", "customer_service"):
        assert _post(client_at(mall.acme, mall.users[f"acme:{role}"]), display_name="hijacked").status_code == 403
        assert client_at(mall.acme, mall.users[f"acme:{role}"]).get("/branding/").status_code == 403
    # the service, handed acme's real merchant row by globex's owner
    with pytest.raises(PermissionDenied):
        branding_update(actor=mall.users["globex:owner"], merchant=mall.acme, display_name="hijacked", footer_text="")
    # globex's owner on globex's own host edits globex only
    assert _post(client_at(mall.globex, mall.users["globex:owner"]), display_name="Globex own").status_code == 302
    acme_after = StoreBranding.objects.get(merchant_id=mall.acme.pk)
    assert (acme_after.display_name, acme_after.footer_text) == (acme_row.display_name, acme_row.footer_text)
    assert StoreBranding.objects.get(merchant_id=mall.globex.pk).display_name == "Globex own"


@pytest.mark.parametrize("data,name,message", [
    (b"GIF89a" + b"\x00" * 40, "logo.gif", "PNG or JPEG"),
    (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 4, "logo.png", "not a readable"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo.svg", "PNG or JPEG"),
])
def test_a_bad_logo_is_refused_naming_the_field_and_nothing_changes(mall, client_at, data, name, message):
    resp = _post(client_at(mall.acme, mall.users["acme:owner"]), display_name="X",
                 logo=SimpleUploadedFile(name, data, content_type="image/png"))
    body = resp.content.decode()
    assert resp.status_code == 400 and 'data-field="logo"' in body and message in body
    assert not StoreBranding.objects.filter(merchant_id=mall.acme.pk, display_name="X").exists()


def test_a_logo_too_large_in_bytes_or_pixels_is_refused(mall):
    with pytest.raises(ValidationFailed) as err:
        branding_update(actor=mall.users["acme:owner"], merchant=mall.acme, display_name="", footer_text="",
                        logo=_png(size=(2000, 10)))
    assert err.value.field == "logo"
    with pytest.raises(ValidationFailed) as err:
        branding_update(actor=mall.users["acme:owner"], merchant=mall.acme, display_name="", footer_text="",
                        logo=b"\xff\xd8\xff" + b"\x00" * (300 * 1024))
    assert err.value.field == "logo" and "200 KB" in err.value.message
    assert branding_update(actor=mall.users["acme:owner"], merchant=mall.acme, display_name="", footer_text="",
                           logo=_png(fmt="JPEG")).logo_content_type == "image/jpeg"


def test_a_display_name_too_long_is_refused_naming_it(mall, client_at):
    resp = _post(client_at(mall.acme, mall.users["acme:owner"]), display_name="x" * 121)
    assert resp.status_code == 400 and 'data-field="display_name"' in resp.content.decode()


def test_through_the_real_subscriber_only_the_branded_stores_acceptance_email_changes(mall, mailoutbox):
    """acme's and globex's acceptance of one order: the suborder.changed subscriber itself, in each store's
    schema, brands acme's email and leaves globex's as it was."""
    from core.models import OutboxEvent
    from core.tenancy import in_merchant_schema
    from notifications.handlers import send_suborder_lifecycle_email
    from permissions.services import user_create
    from suborders.models import SubOrder
    from suborders.services import suborder_accept
    from tests.payments.helpers import pay, place_order

    shopper = user_create(email="brand-shopper@example.test", password="x-pass-123")
    branding_update(actor=mall.users["acme:manager"], merchant=mall.acme, display_name="ACME Brand", footer_text="Acme foot",
                    logo=_png())
    order, _items = place_order(mall, stores=("acme", "globex"), shopper=shopper)
    pay(order)
    events = {}
    for merchant in (mall.acme, mall.globex):
        with in_merchant_schema(merchant):
            so = SubOrder.objects.get(order_id=order.pk)
            suborder_accept(suborder_id=so.pk, actor=mall.users[f"{merchant.slug}:owner"])
        events[merchant.slug] = OutboxEvent.objects.filter(
            topic="suborder.changed", schema_name=merchant.schema_name, aggregate_id=str(so.pk),
            payload__action="accepted").get()
    for merchant in (mall.acme, mall.globex):
        with in_merchant_schema(merchant):
            send_suborder_lifecycle_email(events[merchant.slug])
            send_suborder_lifecycle_email(events[merchant.slug])  # a re-run sends nothing more
    mine = [m for m in mailoutbox if m.to == [shopper.email]]
    assert sorted(m.subject for m in mine) == sorted([f"ACME Brand accepted your order {order.number}",
                                                      f"Globex Electronics accepted your order {order.number}"])
    acme_mail = next(m for m in mine if m.subject.startswith("ACME Brand"))
    globex_mail = next(m for m in mine if m.subject.startswith("Globex"))
    assert "Acme foot" in acme_mail.body and acme_mail.alternatives and "cid:store-logo" in acme_mail.alternatives[0][0]
    assert "Acme" not in globex_mail.body and globex_mail.alternatives == []
