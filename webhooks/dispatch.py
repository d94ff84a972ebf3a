"""Sending merchant webhooks: the public due index, the beat sweep, claiming due deliveries, one attempt,
the retry schedule, and disabling an endpoint that keeps failing.

Flow. A delivery is written (fan-out, redeliver, replay, test) together with a note in the public due index
(`webhooks_due.WebhookDueMerchant`: one row per merchant, the earliest due time, only ever moved earlier by a
note). Beat's sweep reads that index once across all merchants (no loop over schemas), leases each due
merchant's row and sends that merchant a dispatch task carrying its schema. The dispatch claims due chain
heads (status `sending`, committed) and hands each to a send task; the send runs with no transaction open,
then records the outcome and recomputes the merchant's row exactly (under its row lock, so a concurrent
note is never lost). A worker that dies mid-send leaves a `sending` row whose lease runs out: it is sent
again with the same delivery id.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.tenancy import assert_merchant_schema, current_merchant, platform_only
from webhooks import sql, transport
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(seconds=60)  # > transport.TOTAL_TIMEOUT: a live send always records before this
SWEEP_LEASE = timedelta(seconds=30)  # a merchant's dispatch task has this long before the sweep sends another
PER_ENDPOINT_IN_FLIGHT = 10
FAILING_ENDPOINT_IN_FLIGHT = 1  # an endpoint in a failing streak gets one probe at a time
RESPONSE_KEEP_BYTES = 4096
USER_AGENT = "Mallard-Webhooks/1.0"
S = WebhookDelivery.Status


def retry_delay(attempt: int) -> timedelta:
    """Wait after the `attempt`-th failed attempt: base, 2×base, 4×base … capped (settings)."""
    base = getattr(settings, "WEBHOOKS_RETRY_BASE_SECONDS", 60)
    cap = getattr(settings, "WEBHOOKS_RETRY_MAX_SECONDS", 4 * 3600)
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempt - 1)))


def disable_after() -> timedelta:
    return timedelta(days=getattr(settings, "WEBHOOKS_DISABLE_AFTER_DAYS", 3))


# --- the public due index ------------------------------------------------------------------------------

def deliveries_scheduled(when: datetime) -> None:
    """In the caller's transaction: this merchant has a delivery due at `when`; after commit, nudge a dispatch."""
    merchant = current_merchant()
    assert_merchant_schema()
    with connection.cursor() as cur:
        cur.execute(sql.DUE_NOTE_SQL, [merchant.pk, merchant.schema_name, when])
    if when <= timezone.now() + timedelta(seconds=1):
        schema = merchant.schema_name
        transaction.on_commit(lambda: _kick(schema))


def _kick(schema_name: str) -> None:
    from webhooks.tasks import webhooks_dispatch

    try:  # the task carries the schema in its headers (tenant-schemas-celery), whatever schema we are in now
        webhooks_dispatch.apply_async(headers={"_schema_name": schema_name}, ignore_result=True)
    except Exception:  # broker down: the beat sweep finds the due index row
        log.warning("webhook dispatch for %s could not be queued; the sweep will send it", schema_name, exc_info=True)


def due_index_refresh() -> datetime | None:
    """Recompute this merchant's row of the due index from its deliveries: the exact next due time, or no row."""
    from webhooks.due_index.models import WebhookDueMerchant

    merchant = current_merchant()
    assert_merchant_schema()
    with transaction.atomic():
        # Lock the row first, then read the deliveries in a later statement: a fan-out that noted a due
        # time holds this lock until it commits, so its deliveries are visible to the read below.
        row = WebhookDueMerchant.objects.select_for_update().filter(merchant_id=merchant.pk).first()
        with connection.cursor() as cur:
            cur.execute(sql.NEXT_DUE_SQL)
            next_due = cur.fetchone()[0]
        if row is None:
            if next_due is not None:
                with connection.cursor() as cur:
                    cur.execute(sql.DUE_NOTE_SQL, [merchant.pk, merchant.schema_name, next_due])
        elif next_due is None:
            row.delete()
        elif row.due_at != next_due:
            row.due_at = next_due
            row.save(update_fields=["due_at"])
    return next_due


@platform_only
def webhooks_sweep(*, dispatch, now=None, limit: int = 200) -> int:
    """Beat: every merchant whose due time has come gets one dispatch (`dispatch(merchant)`, called inside
    that merchant's schema). Leases the row first, so overlapping sweeps dispatch a merchant once."""
    from core.tenancy import in_merchant_schema
    from tenants.models import Merchant
    from webhooks.due_index.models import WebhookDueMerchant

    now = now or timezone.now()
    with transaction.atomic():
        rows = list(WebhookDueMerchant.objects.select_for_update(skip_locked=True).filter(due_at__lte=now)
                    .order_by("due_at")[:limit])
        WebhookDueMerchant.objects.filter(pk__in=[r.pk for r in rows]).update(due_at=now + SWEEP_LEASE)
    merchants = list(Merchant.objects.filter(pk__in=[r.merchant_id for r in rows]).order_by("pk"))
    gone = {r.merchant_id for r in rows} - {m.pk for m in merchants}
    if gone:  # a merchant deleted with its schema: nothing left to send
        WebhookDueMerchant.objects.filter(merchant_id__in=gone).delete()
    for merchant in merchants:
        try:
            with in_merchant_schema(merchant):
                dispatch(merchant)
        except Exception:  # one merchant's trouble never stops the others; its lease expires and it comes back
            log.exception("webhook dispatch failed for schema %s", merchant.schema_name)
    return len(rows)


# --- claiming and sending ------------------------------------------------------------------------------

def deliveries_claim_due(*, now=None, limit: int = 100) -> list[int]:
    """Claim due deliveries of this merchant (status sending, attempts + 1), committed before returning."""
    assert_merchant_schema()
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute(sql.DUE_CANDIDATES_SQL, {"now": now, "cap": PER_ENDPOINT_IN_FLIGHT,
                                                 "failing_cap": FAILING_ENDPOINT_IN_FLIGHT, "limit": limit})
            ids = [r[0] for r in cur.fetchall()]
            if not ids:
                return []
            cur.execute(sql.CLAIM_SQL, {"now": now, "lease_until": now + CLAIM_LEASE, "ids": ids})
            claimed = {r[0] for r in cur.fetchall()}
    return [pk for pk in ids if pk in claimed]


def deliveries_dispatch(*, send, now=None, limit: int = 100) -> int:
    """Claim what is due and hand each claimed delivery to `send(delivery_pk)` (a task, or inline)."""
    ids = deliveries_claim_due(now=now, limit=limit)
    for pk in ids:
        send(pk)
    deliveries_forget_old(now=now)
    due_index_refresh()
    return len(ids)


def deliveries_forget_old(*, now=None, batch: int = 500) -> int:
    """Finished deliveries older than WEBHOOKS_RETENTION_DAYS go (a batch per dispatch, with their attempts):
    the deliveries page and replays reach back that far."""
    days = getattr(settings, "WEBHOOKS_RETENTION_DAYS", 30)
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = list(WebhookDelivery.objects.filter(status__in=[S.SUCCEEDED, S.DEAD], completed_at__lt=cutoff)
               .order_by("id").values_list("id", flat=True)[:batch])
    if old:
        WebhookDelivery.objects.filter(pk__in=old).delete()
    return len(old)


def _headers(delivery: WebhookDelivery, endpoint: WebhookEndpoint, now: datetime) -> dict[str, str]:
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets.append(endpoint.previous_secret)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(secrets=secrets, timestamp=int(time.time()), body=delivery.body),
        DELIVERY_HEADER: delivery.delivery_id,
        EVENT_HEADER: delivery.event_type,
        EVENT_ID_HEADER: delivery.event_id,
    }


def delivery_attempt(*, delivery_pk: int, now=None) -> WebhookDelivery | None:
    """Send one claimed delivery and record the outcome. No transaction is open during the HTTP call
    (`now`: the clock the outcome is recorded at, for tests of the schedule)."""
    assert_merchant_schema()
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_pk).first()
    if delivery is None or delivery.status != S.SENDING:
        return None  # recorded by another worker, or never claimed
    claim = delivery.claimed_at
    endpoint = delivery.endpoint
    headers = _headers(delivery, endpoint, timezone.now())
    result = transport.post(endpoint.url, body=delivery.body.encode(), headers=headers,
                            connect_timeout=transport.CONNECT_TIMEOUT, total_timeout=transport.TOTAL_TIMEOUT,
                            read_limit=transport.RESPONSE_READ_LIMIT)
    return _record(delivery_pk=delivery_pk, claim=claim, headers=headers, result=result, now=now)


def _record(*, delivery_pk: int, claim, headers: dict, result: transport.PostResult, now=None) -> WebhookDelivery | None:
    now = now or timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_pk).first()
        if delivery is None or delivery.status != S.SENDING or delivery.claimed_at != claim:
            return None  # our lease ran out and another worker took the delivery over: its outcome counts
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
        text = result.body[:RESPONSE_KEEP_BYTES].decode("utf-8", errors="replace")
        delivery.request_headers = headers
        delivery.response_code = result.status
        delivery.response_body = text
        delivery.response_truncated = result.truncated or len(result.body) > RESPONSE_KEEP_BYTES
        delivery.duration_ms = result.duration_ms
        delivery.last_attempt_at = now
        if result.ok:
            delivery.status, delivery.completed_at, delivery.next_attempt_at, delivery.last_error = S.SUCCEEDED, now, None, ""
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                endpoint.save(update_fields=["failing_since"])
        else:
            delivery.last_error = (result.error or _("The endpoint answered %(code)s.") % {"code": result.status})[:500]
            retry_at = now + retry_delay(delivery.attempts)
            if retry_at > delivery.give_up_at:
                delivery.status, delivery.completed_at, delivery.next_attempt_at = S.DEAD, now, None
            else:
                delivery.status, delivery.next_attempt_at = S.FAILED, retry_at
            if endpoint.failing_since is None:
                endpoint.failing_since = now
                endpoint.save(update_fields=["failing_since"])
            elif endpoint.enabled and now - endpoint.failing_since >= disable_after():
                endpoint_auto_disable(endpoint=endpoint, now=now)
        delivery.save()
        WebhookAttempt.objects.create(delivery=delivery, number=delivery.attempts, at=now, response_code=result.status,
                                      duration_ms=result.duration_ms, error=delivery.last_error)
    next_due = due_index_refresh()
    if next_due is not None and next_due <= now:
        _kick(current_merchant().schema_name)
    return delivery


def endpoint_auto_disable(*, endpoint: WebhookEndpoint, now) -> None:
    """The endpoint failed continuously for the configured days: disable it and tell the owner, once (the
    outbox event is written with the change; its email handler sends it with a Message-ID of the event)."""
    from core.outbox import outbox_emit
    from webhooks.events import TOPIC_ENDPOINT_DISABLED

    days = disable_after().days
    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = (_("Failing since %(since)s (%(days)s days without a successful delivery).")
                                % {"since": endpoint.failing_since.strftime("%Y-%m-%d %H:%M UTC"), "days": days})[:300]
    endpoint.save(update_fields=["enabled", "disabled_at", "disabled_reason"])
    outbox_emit(topic=TOPIC_ENDPOINT_DISABLED, aggregate_type="webhook_endpoint", aggregate_id=endpoint.pk, payload={
        "endpoint_id": endpoint.pk, "url": endpoint.url, "failing_since": endpoint.failing_since.isoformat(),
        "reason": endpoint.disabled_reason})
    log.warning("webhook endpoint %s disabled after failing since %s", endpoint.pk, endpoint.failing_since)
