"""Celery tasks of orders: take ids or nothing, call a service, idempotent."""
from celery import shared_task


@shared_task(name="orders.tasks.expire_unpaid_orders", acks_late=True, ignore_result=True)
def expire_unpaid_orders() -> int:
    from orders.services import orders_expire_unpaid

    return orders_expire_unpaid()
