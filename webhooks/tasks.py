"""Celery tasks of merchant webhooks. The sweep runs in public (beat); dispatch and send run in the merchant
schema carried by the task (tenant-schemas-celery), take ids, and are safe to run twice."""
from celery import shared_task


@shared_task(name="webhooks.tasks.webhooks_sweep", acks_late=True, ignore_result=True)
def webhooks_sweep_task() -> int:
    """Beat: merchants with deliveries due (the public due index), one dispatch task each in its schema."""
    from webhooks.dispatch import webhooks_sweep

    return webhooks_sweep(dispatch=lambda merchant: webhooks_dispatch.apply_async(ignore_result=True))


@shared_task(name="webhooks.tasks.webhooks_dispatch", bind=True, acks_late=True, ignore_result=True)
def webhooks_dispatch(self) -> int:
    """In a merchant schema: claim due deliveries (committed) and queue one send task per delivery, so a slow
    endpoint holds one worker for one delivery at a time, never the other endpoints' deliveries. The sends go
    to the queue this task came from: a deployment that routes webhooks to workers of their own keeps them there."""
    from webhooks.dispatch import deliveries_dispatch

    queue = (self.request.delivery_info or {}).get("routing_key") or None
    return deliveries_dispatch(send=lambda pk: webhook_send.apply_async((pk,), queue=queue, ignore_result=True))


@shared_task(name="webhooks.tasks.webhook_send", acks_late=True, ignore_result=True)
def webhook_send(delivery_pk: int) -> str:
    from webhooks.dispatch import delivery_attempt

    delivery = delivery_attempt(delivery_pk=delivery_pk)
    return delivery.status if delivery else "skipped"
