"""Two dispatchers claiming at the same moment on real concurrent connections never claim one delivery twice."""
import threading

from django.db import connection
from django.utils import timezone

from core.tenancy import in_merchant_schema
from webhooks.dispatch import deliveries_claim_due
from webhooks.models import WebhookEndpoint
from webhooks.services import _body, _new_delivery, stable_delivery_id


def test_concurrent_claims_are_disjoint_and_complete(committed, unique):
    mall = committed
    tag = unique("cc")
    now = timezone.now()
    with in_merchant_schema(mall.acme):
        endpoints = [WebhookEndpoint.objects.create(url=f"https://{tag}-{i}.example/hooks", event_types=["*"],
                                                    secret="whsec_cc") for i in range(2)]
        mine = []
        for ep in endpoints:
            for n in range(8):
                d = _new_delivery(endpoint=ep, delivery_id=stable_delivery_id(f"{tag}:{n}", ep.pk), kind="event",
                                  event_type="suborder.paid", event_id=f"evt_{tag}_{n}", event_created_at=now,
                                  aggregate_key=f"suborder:{tag}-{n}", body=_body(event_id=f"evt_{tag}_{n}",
                                  event_type="suborder.paid", created=now, data={}), now=now)
                d.save()
                mine.append(d.pk)
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]
    errors = []

    def claim(slot):
        try:
            with in_merchant_schema(mall.acme):
                barrier.wait(timeout=10)
                claimed[slot] = deliveries_claim_due(now=now, limit=500)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        assert set(claimed[0]).isdisjoint(claimed[1])
        assert set(mine) <= set(claimed[0]) | set(claimed[1])
    finally:
        with in_merchant_schema(mall.acme):
            WebhookEndpoint.objects.filter(pk__in=[e.pk for e in endpoints]).delete()
