"""Through a real Celery worker (subprocess) on the real broker: a committed fan-out queues the dispatch task
with the merchant's schema, the worker claims and sends it, the receiver gets it and the delivery is recorded."""
import os
import time

import pytest
from django.db import transaction
from django.utils import timezone

from core.tenancy import in_merchant_schema
from tests.core.test_celery_worker import _assert_alive, worker_queue  # noqa: F401  (the worker fixture)
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import deliveries_fan_out


@pytest.fixture(scope="module")
def webhook_worker(request):
    """The worker of tests/core/test_celery_worker.py, allowed to call the receiver on 127.0.0.1."""
    os.environ["MALLARD_WEBHOOKS_ALLOW_PRIVATE"] = "1"
    try:
        yield request.getfixturevalue("worker_queue")
    finally:
        os.environ.pop("MALLARD_WEBHOOKS_ALLOW_PRIVATE", None)


def test_a_committed_event_is_sent_by_the_worker_in_the_merchants_schema(committed, webhook_worker, receiver, unique):
    mall = committed
    path = "/" + unique("worker")
    with in_merchant_schema(mall.acme):
        ep = WebhookEndpoint.objects.create(url=receiver.url(path), event_types=["suborder.paid"], secret="whsec_worker")
    try:
        with in_merchant_schema(mall.acme), transaction.atomic():
            [delivery] = deliveries_fan_out(event_type="suborder.paid", event_id=f"evt_{path[1:]}", event_created_at=timezone.now(),
                                            data={"suborder_id": 1}, aggregate_key=f"suborder:{path}", source_key=path)
        # nothing in this process sends: only the worker, woken by the dispatch task queued on commit
        deadline = time.monotonic() + 90
        while not receiver.at(path):
            _assert_alive(webhook_worker)
            assert time.monotonic() < deadline, "the worker never sent the delivery"
            time.sleep(0.1)  # polling a condition with a deadline
        [request] = receiver.at(path)
        assert request.headers["Mallard-Delivery"] == delivery.delivery_id
        while True:
            with in_merchant_schema(mall.acme):
                row = WebhookDelivery.objects.get(delivery_id=delivery.delivery_id)
            if row.status == "succeeded" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert (row.status, row.response_code, row.attempts) == ("succeeded", 200, 1)
    finally:
        with in_merchant_schema(mall.acme):
            WebhookEndpoint.objects.filter(pk=ep.pk).delete()
