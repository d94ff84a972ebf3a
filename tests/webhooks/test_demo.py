"""The demo seeder records its webhooks honestly: one test event really received (200) by a receiver that
ran only during seeding (its endpoint then disabled, saying why), one that failed on a name that cannot
resolve; production SSRF rules stay on for everything else; running it again adds nothing."""
from core.tenancy import in_merchant_schema
from webhooks.demo import DEMO_ERP, DEMO_RECEIVER, seed_webhooks
from webhooks.models import WebhookDelivery, WebhookEndpoint


def test_the_demo_seeds_one_succeeded_and_one_failed_delivery_on_acme(mall, settings):
    settings.MALLARD_WEBHOOKS_ALLOW_PRIVATE = False
    seed_webhooks([mall.acme, mall.globex])
    seed_webhooks([mall.acme, mall.globex])
    with in_merchant_schema(mall.acme):
        receiver = WebhookEndpoint.objects.get(description=DEMO_RECEIVER)
        erp = WebhookEndpoint.objects.get(description=DEMO_ERP)
        ok = WebhookDelivery.objects.get(endpoint=receiver)
        failed = WebhookDelivery.objects.get(endpoint=erp)
    assert (ok.status, ok.response_code, ok.event_type) == ("succeeded", 200, "webhook.test"), ok.last_error
    assert "mallard demo receiver" in ok.response_body and ok.request_headers["Mallard-Signature"].startswith("t=")
    assert not receiver.enabled and "demo receiver" in receiver.disabled_reason
    assert failed.status == "failed" and failed.response_code is None and "cannot be resolved" in failed.last_error
    assert erp.enabled and erp.event_types == ["*"]
    with in_merchant_schema(mall.globex):
        assert WebhookEndpoint.objects.count() == 0
