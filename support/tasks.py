"""Celery tasks of support: the SLA sweep (beat, every minute)."""
from celery import shared_task


@shared_task(name="support.tasks.sla_sweep", acks_late=True, ignore_result=True)
def sla_sweep() -> int:
    """Warn, breach and escalate the tickets whose next SLA mark is due (public rows, one index, SKIP LOCKED)."""
    from support.services import sla_sweep as sweep

    handled = total = sweep()
    while handled >= 500:  # a backlog: keep going in bounded batches
        handled = sweep()
        total += handled
    return total
