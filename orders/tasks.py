"""Celery tasks of orders: take ids or nothing, call a service, idempotent."""
from celery import shared_task


@shared_task(name="orders.tasks.expire_unpaid_orders", acks_late=True, ignore_result=True)
def expire_unpaid_orders() -> int:
    from orders.services import orders_expire_unpaid

    return orders_expire_unpaid()


@shared_task(name="orders.tasks.lifecycle_sweep", acks_late=True, ignore_result=True)
def lifecycle_sweep() -> dict:
    """Beat: every lifecycle deadline; each merchant's due ids go to a task in that merchant's schema."""
    from orders.services.sweeps import DUE, suborders_sweep

    def dispatch(merchant, kind, ids):
        lifecycle_apply.delay(kind, ids)  # sent from inside the merchant's schema: the task runs there

    return {kind: suborders_sweep(kind=kind, dispatch=dispatch) for kind in DUE}


@shared_task(name="orders.tasks.lifecycle_apply", acks_late=True, ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, max_retries=5)
def lifecycle_apply(kind: str, suborder_ids: list[int]) -> int:
    from orders.services.sweeps import apply_due

    return apply_due(kind=kind, suborder_ids=suborder_ids)
