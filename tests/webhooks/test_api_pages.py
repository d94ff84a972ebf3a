"""Webhooks through the merchant API and the dashboard pages: the operations, their audit rows, bad input
naming the field, and who is refused (another store's staff with acme's real ids, staff without the role)."""
import time

import pytest

from core.tenancy import in_merchant_schema
from permissions.models import AuditEntry
from tests.webhooks.helpers import dispatch_until_idle, endpoint_with_delivery, fan_out
from webhooks.models import WebhookDelivery, WebhookEndpoint


def _create(api, url, types=("*",)):
    return api.post("/api/v1/webhooks/endpoints/", {"url": url, "event_types": list(types), "description": "ERP"}, format="json")


def test_an_owner_manages_an_endpoint_through_the_api(mall, api_at, receiver, verify_snippet):
    api = api_at(mall.acme, mall.users["acme:owner"])
    resp = _create(api, receiver.url("/api-hooks"), ["suborder.shipped", "suborder.paid"])
    assert resp.status_code == 201, resp.content
    body = resp.json()
    ep_id, secret = body["id"], body["secret"]
    assert secret.startswith("whsec_") and body["event_types"] == ["suborder.paid", "suborder.shipped"]
    assert ep_id in [e["id"] for e in api.get("/api/v1/webhooks/endpoints/").json()["results"]]
    assert "secret" not in api.get(f"/api/v1/webhooks/endpoints/{ep_id}/").json()
    assert api.get(f"/api/v1/webhooks/endpoints/{ep_id}/secret/").json()["secret"] == secret

    resp = api.patch(f"/api/v1/webhooks/endpoints/{ep_id}/", {"description": "ERP prod"}, format="json")
    assert resp.status_code == 200 and resp.json()["description"] == "ERP prod"

    # rotate, keeping the old secret for a day: both signatures are on the next request
    new = api.post(f"/api/v1/webhooks/endpoints/{ep_id}/secret/rotate/", {"keep_previous_hours": 24}, format="json").json()
    assert new["secret"] != secret and new["previous_secret_expires_at"]
    resp = api.post(f"/api/v1/webhooks/endpoints/{ep_id}/test/")
    assert resp.status_code == 201 and resp.json()["event_type"] == "webhook.test"
    dispatch_until_idle(mall.acme)
    [req] = receiver.at("/api-hooks")
    assert req.json["type"] == "webhook.test" and req.json["data"]["endpoint_id"] == ep_id
    assert verify_snippet(secret, req.headers["Mallard-Signature"], req.body)
    assert verify_snippet(new["secret"], req.headers["Mallard-Signature"], req.body)
    assert req.headers["Mallard-Signature"].count("v1=") == 2

    deliveries = api.get(f"/api/v1/webhooks/endpoints/{ep_id}/deliveries/").json()["results"]
    assert [(d["event_type"], d["status"], d["response_code"]) for d in deliveries] == [("webhook.test", "succeeded", 200)]
    detail = api.get(f"/api/v1/webhooks/deliveries/{deliveries[0]['id']}/").json()
    assert detail["request_headers"]["Mallard-Delivery"] == detail["delivery_id"]
    assert detail["response_body"] == '{"received": true}' and detail["attempt_log"][0]["response_code"] == 200
    assert detail["request_body"] == req.body.decode()

    resp = api.post(f"/api/v1/webhooks/deliveries/{deliveries[0]['id']}/redeliver/")
    assert resp.status_code == 201 and resp.json()["kind"] == "redelivery"
    assert resp.json()["replay_of"] == deliveries[0]["delivery_id"]
    dispatch_until_idle(mall.acme)
    second = receiver.at("/api-hooks")[1]
    assert second.json["id"] == req.json["id"] and second.headers["Mallard-Delivery"] != req.headers["Mallard-Delivery"]

    resp = api.patch(f"/api/v1/webhooks/endpoints/{ep_id}/", {"enabled": False}, format="json")
    assert resp.json()["enabled"] is False and resp.json()["disabled_reason"]
    assert api.post(f"/api/v1/webhooks/endpoints/{ep_id}/test/").status_code == 409

    actions = sorted(AuditEntry.objects.filter(schema_name=mall.acme.schema_name, entity="webhook_endpoint",
                                               entity_id=str(ep_id)).values_list("action", flat=True))
    assert actions == ["create", "redeliver", "secret_revealed", "secret_rotated", "send_test", "update", "update"]
    assert not any(secret in str(e.after) + str(e.before) for e in AuditEntry.objects.filter(entity="webhook_endpoint"))


def test_event_types_are_listed_with_their_payload(mall, api_at):
    body = api_at(mall.acme, mall.users["acme:manager"]).get("/api/v1/webhooks/event-types/").json()
    types = {r["type"]: r for r in body["results"]}
    assert body["api_version"] == "2026-12-01"
    assert {"suborder.paid", "suborder.shipped", "suborder.delivered", "catalog.low_stock", "webhook.test"} <= set(types)
    assert "suborder_id" in types["suborder.shipped"]["payload"]


@pytest.mark.parametrize(("payload", "field"), [
    ({"url": "not a url", "event_types": ["*"]}, "url"),
    ({"url": "ftp://example.com/x", "event_types": ["*"]}, "url"),
    ({"url": "http://127.0.0.1:9/x", "event_types": ["suborder.paid", "suborder.exploded"]}, "event_types[1]"),
    ({"url": "http://127.0.0.1:9/x", "event_types": []}, "event_types"),
    ({"url": "http://127.0.0.1:9/x", "event_types": "suborder.paid"}, "event_types"),
    ({"url": "http://127.0.0.1:9/x", "event_types": ["*"], "description": "x" * 201}, "description"),
    ({"event_types": ["*"]}, "url"),
])
def test_bad_input_names_the_field_and_creates_nothing(mall, api_at, payload, field):
    api = api_at(mall.acme, mall.users["acme:owner"])
    with in_merchant_schema(mall.acme):
        before = WebhookEndpoint.objects.count()
    resp = api.post("/api/v1/webhooks/endpoints/", payload, format="json")
    assert resp.status_code == 400 and resp.json()["field"] == field, resp.content
    with in_merchant_schema(mall.acme):
        assert WebhookEndpoint.objects.count() == before


def test_a_private_url_is_refused_by_the_api_in_production(mall, api_at, settings):
    settings.MALLARD_WEBHOOKS_ALLOW_PRIVATE = False
    resp = _create(api_at(mall.acme, mall.users["acme:owner"]), "http://169.254.169.254/latest/")
    assert resp.status_code == 400 and resp.json()["field"] == "url" and "private" in resp.json()["message"]


def test_replay_bad_input_names_the_field(mall, api_at):
    api = api_at(mall.acme, mall.users["acme:owner"])
    with in_merchant_schema(mall.acme):
        ep, _ = endpoint_with_delivery()
    url = f"/api/v1/webhooks/endpoints/{ep.pk}/replay/"
    assert api.post(url, {"since": "yesterday", "until": "2026-12-01T00:00:00Z"}, format="json").json()["field"] == "since"
    resp = api.post(url, {"since": "2026-12-02T00:00:00Z", "until": "2026-12-01T00:00:00Z"}, format="json")
    assert resp.status_code == 400 and resp.json()["field"] == "until"
    resp = api.post(url, {"since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00Z"}, format="json")
    assert resp.status_code == 400 and resp.json()["field"] == "since"
    with in_merchant_schema(mall.acme):
        assert WebhookDelivery.objects.filter(endpoint=ep).count() == 1


def test_another_stores_staff_get_404_for_acmes_real_endpoint_and_delivery(mall, api_at, client_at):
    with in_merchant_schema(mall.acme):
        ep, d = endpoint_with_delivery("https://acme-erp.example.com/hooks")
    with in_merchant_schema(mall.globex):  # ids are per schema: make sure globex has no row with these ids
        assert not WebhookEndpoint.objects.filter(pk=ep.pk).exists()
        assert not WebhookDelivery.objects.filter(pk=d.pk).exists()
    api = api_at(mall.globex, mall.users["globex:owner"])
    for url in (f"/api/v1/webhooks/endpoints/{ep.pk}/", f"/api/v1/webhooks/endpoints/{ep.pk}/secret/",
                f"/api/v1/webhooks/endpoints/{ep.pk}/deliveries/", f"/api/v1/webhooks/deliveries/{d.pk}/"):
        resp = api.get(url)
        assert resp.status_code == 404, url
        assert b"acme-erp" not in resp.content and b"whsec_fixture" not in resp.content
    for url in (f"/api/v1/webhooks/deliveries/{d.pk}/redeliver/", f"/api/v1/webhooks/endpoints/{ep.pk}/test/"):
        assert api.post(url).status_code == 404
    page = client_at(mall.globex, mall.users["globex:owner"])
    assert page.get(f"/webhooks/{ep.pk}/").status_code == 404
    assert page.get(f"/webhooks/{ep.pk}/deliveries/{d.pk}/").status_code == 404
    assert page.post(f"/webhooks/{ep.pk}/secret/").status_code == 404
    assert b"acme-erp" not in page.get("/webhooks/").content
    # globex's staff on acme's host: refused before anything is looked up
    assert client_at(mall.acme, mall.users["globex:owner"]).get(f"/webhooks/{ep.pk}/").status_code == 403
    with in_merchant_schema(mall.acme):
        assert WebhookDelivery.objects.filter(endpoint=ep).count() == 1


@pytest.mark.parametrize("role", ["warehouse", "finance", "customer_service"])
def test_acme_staff_without_the_role_are_refused(mall, api_at, client_at, role):
    with in_merchant_schema(mall.acme):
        ep, d = endpoint_with_delivery()
        before = (WebhookEndpoint.objects.count(), WebhookDelivery.objects.count())
    user = mall.users[f"acme:{role}"]
    api = api_at(mall.acme, user)
    assert api.get("/api/v1/webhooks/endpoints/").status_code == 403
    assert api.get(f"/api/v1/webhooks/endpoints/{ep.pk}/secret/").status_code == 403
    assert _create(api, "http://127.0.0.1:9/x").status_code == 403
    assert api.post(f"/api/v1/webhooks/deliveries/{d.pk}/redeliver/").status_code == 403
    page = client_at(mall.acme, user)
    assert page.get("/webhooks/").status_code == 403
    resp = page.post(f"/webhooks/{ep.pk}/secret/")
    assert resp.status_code == 403 and b"whsec_fixture" not in resp.content
    with in_merchant_schema(mall.acme):
        assert (WebhookEndpoint.objects.count(), WebhookDelivery.objects.count()) == before


def test_the_owner_adds_an_endpoint_on_the_page_and_reads_its_deliveries(mall, client_at, receiver):
    page = client_at(mall.acme, mall.users["acme:owner"])
    resp = page.post("/webhooks/", {"url": "gopher://x", "event_types": ["suborder.paid"]})
    assert resp.status_code == 400 and b'data-testid="error-url"' in resp.content
    resp = page.post("/webhooks/", {"url": receiver.url("/page"), "event_types": ["suborder.nope"]})
    assert resp.status_code == 400 and b'data-testid="error-event_types"' in resp.content
    resp = page.post("/webhooks/", {"url": receiver.url("/page"), "event_types": ["suborder.paid"], "description": "WMS"})
    assert resp.status_code == 200 and b'data-testid="secret"' in resp.content
    with in_merchant_schema(mall.acme):
        ep = WebhookEndpoint.objects.get(url=receiver.url("/page"))
        assert resp.content.decode().count(ep.secret) == 1
    fan_out(mall.acme, event_type="suborder.paid", suborder_id=5151, event_no=51)
    dispatch_until_idle(mall.acme)
    html = page.get(f"/webhooks/{ep.pk}/").content.decode()
    assert "suborder.paid" in html and 'data-testid="delivery-code">200' in html
    with in_merchant_schema(mall.acme):
        d = WebhookDelivery.objects.get(endpoint=ep)
    html = page.get(f"/webhooks/{ep.pk}/deliveries/{d.pk}/").content.decode()
    assert d.delivery_id in html and "Mallard-Signature" in html and "{&quot;received&quot;: true}" in html
    assert page.post(f"/webhooks/{ep.pk}/deliveries/{d.pk}/redeliver/").status_code == 302
    assert page.post(f"/webhooks/{ep.pk}/test/").status_code == 302
    resp = page.post(f"/webhooks/{ep.pk}/replay/", {"since": "2000-01-01T00:00", "until": "2100-01-01T00:00"}, follow=True)
    assert "1 events queued" in resp.content.decode()
    assert page.post(f"/webhooks/{ep.pk}/edit/", {"url": "http://", "event_types": ["*"]}).status_code == 400
    assert page.post(f"/webhooks/{ep.pk}/toggle/", {"enabled": "0"}).status_code == 302
    with in_merchant_schema(mall.acme):
        assert not WebhookEndpoint.objects.get(pk=ep.pk).enabled
        assert WebhookDelivery.objects.filter(endpoint=ep).count() == 4
    started = time.monotonic()
    dispatch_until_idle(mall.acme)  # disabled: nothing goes out
    assert len(receiver.at("/page")) == 1 and time.monotonic() - started < 2
