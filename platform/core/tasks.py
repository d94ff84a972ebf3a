"""Celery tasks of the shared kernel."""
from celery import shared_task


@shared_task(name="core.tasks.outbox_relay", acks_late=True, ignore_result=True)
def outbox_relay() -> int:
    from core.outbox import outbox_relay_batch

    return outbox_relay_batch(limit=500)


@shared_task(name="core.tasks.outbox_sweep_history", acks_late=True, ignore_result=True)
def outbox_sweep_history() -> int:
    from core.outbox import outbox_sweep_history as sweep

    return sweep()
