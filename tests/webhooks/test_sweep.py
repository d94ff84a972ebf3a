"""The beat sweep finds merchants with due deliveries through the public due index, without visiting the
others' schemas; it leases what it dispatched; the index follows the deliveries exactly."""
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from core.tenancy import current_schema, in_merchant_schema
from tests.webhooks.helpers import dispatch_round, fan_out
from webhooks.dispatch import SWEEP_LEASE, deliveries_dispatch, delivery_attempt, due_index_refresh, webhooks_sweep
from webhooks.due_index.models import WebhookDueMerchant
from webhooks.services import endpoint_create


def _endpoint(mall, merchant, url):
    owner = mall.users[f"{merchant.slug}:owner"]
    with in_merchant_schema(merchant):
        return endpoint_create(actor=owner, url=url, event_types=["*"])[0]


def test_the_sweep_dispatches_exactly_the_due_merchants_in_their_schema(mall, receiver):
    _endpoint(mall, mall.acme, receiver.url("/acme"))
    _endpoint(mall, mall.globex, receiver.url("/globex"))
    fan_out(mall.acme, suborder_id=9901, event_no=19901)
    fan_out(mall.globex, suborder_id=9902, event_no=19902)
    now = timezone.now()
    assert WebhookDueMerchant.objects.get(merchant_id=mall.acme.pk).due_at <= now
    WebhookDueMerchant.objects.filter(merchant_id=mall.globex.pk).update(due_at=now + timedelta(minutes=5))
    WebhookDueMerchant.objects.exclude(merchant_id__in=[mall.acme.pk, mall.globex.pk]).delete()

    seen = []

    def dispatch(merchant):
        seen.append((merchant.slug, current_schema()))
        deliveries_dispatch(send=lambda pk: delivery_attempt(delivery_pk=pk))

    assert webhooks_sweep(dispatch=dispatch, now=now) == 1
    assert seen == [("acme", mall.acme.schema_name)]
    assert connection.schema_name == "public"
    assert [r.json["merchant"] for r in receiver.at("/acme")] == ["acme"] and receiver.at("/globex") == []
    # acme has nothing left: its row is gone; a second sweep at once dispatches nobody
    assert not WebhookDueMerchant.objects.filter(merchant_id=mall.acme.pk).exists()
    assert webhooks_sweep(dispatch=dispatch, now=now) == 0
    # globex when its time comes
    assert webhooks_sweep(dispatch=dispatch, now=now + timedelta(minutes=5)) == 1
    assert seen[-1] == ("globex", mall.globex.schema_name)
    assert [r.json["merchant"] for r in receiver.at("/globex")] == ["globex"]


def test_a_dispatched_merchant_is_leased_so_overlapping_sweeps_send_one_task(mall, receiver):
    _endpoint(mall, mall.acme, receiver.url("/acme"))
    fan_out(mall.acme, suborder_id=9911, event_no=19911)
    now = timezone.now()
    calls = []
    assert webhooks_sweep(dispatch=lambda m: calls.append(m.slug), now=now) >= 1  # the task is queued, not run yet
    assert WebhookDueMerchant.objects.get(merchant_id=mall.acme.pk).due_at == now + SWEEP_LEASE
    webhooks_sweep(dispatch=lambda m: calls.append(m.slug), now=now + timedelta(seconds=5))
    assert calls.count("acme") == 1
    # the task never ran (worker lost): after the lease the sweep sends it again
    webhooks_sweep(dispatch=lambda m: calls.append(m.slug), now=now + SWEEP_LEASE + timedelta(seconds=1))
    assert calls.count("acme") == 2


def test_the_index_holds_the_next_retry_time_and_never_a_later_one(mall, receiver):
    _endpoint(mall, mall.acme, receiver.url("/fail"))
    fan_out(mall.acme, suborder_id=9921, event_no=19921)
    now = timezone.now()
    dispatch_round(mall.acme, now=now)
    row = WebhookDueMerchant.objects.get(merchant_id=mall.acme.pk)
    assert row.due_at == now + timedelta(seconds=60)  # the first retry
    fan_out(mall.acme, suborder_id=9922, event_no=19922)  # a new event of another suborder: due now
    row.refresh_from_db()
    assert row.due_at <= timezone.now()
    with in_merchant_schema(mall.acme):
        assert due_index_refresh() <= timezone.now()


def test_finished_deliveries_older_than_the_retention_are_forgotten(mall, receiver, settings):
    from webhooks.models import WebhookDelivery

    settings.WEBHOOKS_RETENTION_DAYS = 30
    ep = _endpoint(mall, mall.acme, receiver.url("/ok"))
    for n in range(3):
        fan_out(mall.acme, suborder_id=9930 + n, event_no=19930 + n)
    dispatch_round(mall.acme)
    with in_merchant_schema(mall.acme):
        old, kept, _other = WebhookDelivery.objects.filter(endpoint=ep).order_by("id")
        WebhookDelivery.objects.filter(pk=old.pk).update(completed_at=timezone.now() - timedelta(days=31))
        WebhookDelivery.objects.filter(pk=kept.pk).update(completed_at=timezone.now() - timedelta(days=29))
    dispatch_round(mall.acme)
    with in_merchant_schema(mall.acme):
        assert not WebhookDelivery.objects.filter(pk=old.pk).exists()
        assert WebhookDelivery.objects.filter(pk=kept.pk).exists()


def test_a_due_row_of_a_merchant_that_no_longer_exists_is_dropped(mall):
    WebhookDueMerchant.objects.all().delete()
    WebhookDueMerchant.objects.create(merchant_id=987654321, schema_name="m_gone", due_at=timezone.now())
    calls = []
    assert webhooks_sweep(dispatch=lambda m: calls.append(m), now=timezone.now()) == 1
    assert calls == [] and not WebhookDueMerchant.objects.filter(merchant_id=987654321).exists()
