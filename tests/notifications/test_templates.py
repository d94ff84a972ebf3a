"""Operator-edited templates: saved after a check, previewed on sample data, broken ones refused with the
error named (never a 500 at send time), audited; the console message log and who may see it."""
import pytest

from notifications.models import Message, NotificationTemplate
from notifications.services import notice_send, template_update
from permissions.models import AuditEntry
from permissions.services import user_create
from tests.conftest import PASSWORD
from tests.notifications.helpers import FakeEvent, shipped_notice

URL = "/console/notifications/suborder_shipped/en/"


@pytest.fixture
def support(mall):
    return user_create(email="sup-notif@mallard.test", password=PASSWORD, platform_roles=["support"])


def _form(**over):
    fields = {"subject": "{{ store }} sent {{ number }} on its way", "body_text": "Parcel {{ number }} is coming.",
              "body_html": "", "sms_body": "{{ number }} shipped"}
    fields.update(over)
    return fields


def test_every_kind_and_language_is_seeded_from_the_built_in_text(mall):
    from notifications.defaults import DEFAULTS
    from notifications.kinds import KINDS, LANGUAGES

    rows = {(t.kind, t.language): t for t in NotificationTemplate.objects.all()}
    assert set(rows) == {(k, lang) for k in KINDS for lang in LANGUAGES}
    assert rows[("order_placed", "en")].subject == DEFAULTS[("order_placed", "en")]["subject"]


def test_operator_saves_a_template_it_is_audited_and_the_next_email_uses_it(mall, client_at, mailoutbox):
    admin = mall.users["operator"]
    resp = client_at(None, admin).post(URL, {**_form(), "action": "save"})
    assert resp.status_code == 302
    row = NotificationTemplate.objects.get(kind="suborder_shipped", language="en")
    assert row.subject == "{{ store }} sent {{ number }} on its way" and row.updated_by == admin
    entry = AuditEntry.objects.filter(entity="notification_template", entity_id="suborder_shipped:en").latest("id")
    assert entry.actor == admin and entry.after["subject"] == row.subject
    notice_send(event=FakeEvent(), delivery_key="k1", notice=shipped_notice(email="t1@example.test", merchant_id=mall.acme.pk))
    assert [m.subject for m in mailoutbox] == ["Acme Outfitters sent M-TEST-1 on its way"]
    assert mailoutbox[0].body.startswith("Parcel M-TEST-1 is coming.")


def test_preview_renders_the_sample_data_and_saves_nothing(mall, client_at):
    before = NotificationTemplate.objects.get(kind="suborder_shipped", language="en").subject
    resp = client_at(None, mall.users["operator"]).post(URL, {
        **_form(body_html="<p>{{ store }} &amp; <b>{{ number }}</b></p>"), "action": "preview"})
    body = resp.content.decode()
    assert resp.status_code == 200
    assert 'data-testid="preview-subject">Acme Outfitters sent M-20261203-0042 on its way<' in body
    assert "Parcel M-20261203-0042 is coming." in body
    assert "data-testid=\"preview-html\"" in body
    assert NotificationTemplate.objects.get(kind="suborder_shipped", language="en").subject == before


@pytest.mark.parametrize("field,text,expected", [
    ("body_text", "{% if number %}unclosed", "body_text"),
    ("subject", "{{ number|nosuchfilter }}", "nosuchfilter"),
    ("body_text", "{{ secret_key }} {{ number }}", "secret_key"),
    ("body_text", "{% load static %}{{ number }}", "load"),
    ("body_text", '{% include "base.html" %}', "include"),
    ("body_text", "{% debug %}", "debug"),
    ("body_html", "{% url 'console-home' %}", "url"),
    ("sms_body", "{{ number|center:'999999999' }}", "center"),
    ("body_text", "{{ number.__class__ }}", "body_text"),
])
def test_a_broken_template_is_refused_with_its_error_named_and_nothing_saved(mall, client_at, field, text, expected):
    before = NotificationTemplate.objects.get(kind="suborder_shipped", language="en")
    audits = AuditEntry.objects.filter(entity="notification_template").count()
    resp = client_at(None, mall.users["operator"]).post(URL, {**_form(**{field: text}), "action": "save"})
    body = resp.content.decode()
    assert resp.status_code == 400
    assert f'data-field="{field}"' in body and expected in body
    after = NotificationTemplate.objects.get(kind="suborder_shipped", language="en")
    assert (after.subject, after.body_text, after.body_html, after.sms_body) == (
        before.subject, before.body_text, before.body_html, before.sms_body)
    assert AuditEntry.objects.filter(entity="notification_template").count() == audits


def test_reset_restores_the_built_in_text(mall, client_at):
    from notifications.defaults import default_for

    template_update(actor=mall.users["operator"], kind="order_expired", language="zh-hans",
                    fields=_form(subject="订单 {{ number }}", body_text="x {{ number }}", sms_body=""))
    resp = client_at(None, mall.users["operator"]).post("/console/notifications/order_expired/zh-hans/", {"action": "reset"})
    assert resp.status_code == 302
    row = NotificationTemplate.objects.get(kind="order_expired", language="zh-hans")
    assert row.body_text == default_for("order_expired", "zh-hans")["body_text"]


def test_a_support_operator_may_read_the_log_but_not_edit_templates(mall, client_at, support):
    from core.errors import PermissionDenied

    assert client_at(None, support).get(URL).status_code == 403
    assert client_at(None, support).post(URL, {**_form(), "action": "save"}).status_code == 403
    with pytest.raises(PermissionDenied):
        template_update(actor=support, kind="suborder_shipped", language="en", fields=_form())
    assert client_at(None, support).get("/console/notifications/messages/").status_code == 200


def test_unknown_kind_or_language_is_a_404_not_a_500(mall, client_at):
    client = client_at(None, mall.users["operator"])
    assert client.get("/console/notifications/nope/en/").status_code == 404
    assert client.get("/console/notifications/order_placed/fr/").status_code == 404


def test_the_message_log_lists_and_filters_and_refuses_non_operators(mall, client_at, support):
    event = FakeEvent()
    notice_send(event=event, delivery_key="log-1", notice=shipped_notice(email="log-a@example.test", merchant_id=mall.acme.pk))
    notice_send(event=FakeEvent(), delivery_key="log-2", notice=shipped_notice(email="log-b@example.test", merchant_id=mall.acme.pk))
    Message.objects.filter(recipient="log-b@example.test").update(status="failed", error="SMTP 550")
    client = client_at(None, support)
    body = client.get("/console/notifications/messages/?recipient=log-").content.decode()
    assert 'data-recipient="log-a@example.test"' in body and 'data-recipient="log-b@example.test"' in body
    body = client.get("/console/notifications/messages/?status=failed&recipient=log-").content.decode()
    assert 'data-recipient="log-a@example.test"' not in body and "SMTP 550" in body
    body = client.get(f"/console/notifications/messages/?event={event.pk}").content.decode()
    assert body.count('data-testid="message"') == 1 and 'data-recipient="log-a@example.test"' in body
    assert client.get("/console/notifications/messages/?event=12%C2%B3").status_code == 200  # non-ASCII digit: ignored
    for user in (mall.users["acme:owner"], mall.users["shopper"]):
        resp = client_at(None, user).get("/console/notifications/messages/")
        assert resp.status_code == 302 and resp["Location"].startswith("/admin/login/")
    assert client_at(None, None).get("/console/notifications/messages/").status_code == 302
    # the super-admin's read-only list for operators
    assert client_at(None, support).get("/admin/notifications/message/").status_code == 200
    assert client_at(None, mall.users["acme:owner"]).get("/admin/notifications/message/").status_code == 302


def test_the_edit_page_loads_its_live_preview_script_from_our_own_origin(mall, client_at):
    body = client_at(None, mall.users["operator"]).get(URL).content.decode()
    assert '<script src="/static/notifications/template_preview.js" defer></script>' in body
    assert 'data-testid="template-preview"' in body  # the stored text, previewed on opening
    resp = client_at(None, None).get("/static/notifications/template_preview.js")
    assert resp.status_code == 200 and b"action" in b"".join(resp.streaming_content)


def test_a_stored_template_that_fails_at_send_time_falls_back_to_the_built_in_text(mall, mailoutbox, caplog):
    # written around the service's check (a hand edit in the database): the send must still go out
    NotificationTemplate.objects.filter(kind="suborder_shipped", language="en").update(body_text="{% if %}broken")
    notice_send(event=FakeEvent(), delivery_key="fb", notice=shipped_notice(email="fb@example.test", merchant_id=mall.acme.pk))
    assert [m.subject for m in mailoutbox] == ["Acme Outfitters shipped your order M-TEST-1"]
    assert mailoutbox[0].body.startswith("Acme Outfitters shipped your order M-TEST-1.\nCarrier: SF Express")
    assert "failed on real data" in caplog.text
    assert Message.objects.get(recipient="fb@example.test").status == "sent"


def test_a_template_calling_a_method_of_its_data_cannot_change_what_others_render_with(mall):
    from notifications.rendering import template_render

    context = {"store": "S", "number": "N", "lines": [{"quantity": 1, "sku": "A"}], "reason": "", "mall_host": "h"}
    out = template_render({"subject": "x{{ lines.0.clear }}", "body_text": "{% for l in lines %}{{ l.sku }}{% endfor %}"},
                          context)
    assert out.body_text == "A" and context["lines"] == [{"quantity": 1, "sku": "A"}]


def test_every_built_in_text_passes_the_save_check():
    from notifications.defaults import default_for
    from notifications.kinds import KINDS, LANGUAGES
    from notifications.rendering import template_check

    for kind in KINDS:
        for language in LANGUAGES:
            out = template_check(kind=kind, fields=default_for(kind, language))
            assert out.subject and out.body_text, (kind, language)
            assert ("\x00" not in out.body_text) and ("{{" not in out.body_text), (kind, language)
