"""Celery tasks of returns: the deadline sweep (beat) and its per-merchant apply."""
from celery import shared_task


@shared_task(name="returns.tasks.returns_sweep", acks_late=True, ignore_result=True)
def returns_sweep() -> int:
    from returns.sweeps import returns_sweep as sweep

    def dispatch(merchant, ids):
        returns_apply.delay(ids)  # sent from inside the merchant's schema: the task runs there

    return sweep(dispatch=dispatch)


@shared_task(name="returns.tasks.returns_apply", acks_late=True, ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, max_retries=5)
def returns_apply(return_ids: list[int]) -> int:
    from returns.sweeps import apply_due

    return apply_due(return_ids=return_ids)
