"""Celery tasks of the catalog: the beat sweep that expires stock reservations in every merchant schema."""
import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="catalog.tasks.expire_reservations_all", acks_late=True, ignore_result=True)
def expire_reservations_all(limit_per_merchant: int = 1000) -> int:
    """Release expired reservations merchant by merchant (suspended ones too: their stock must come back).

    Each schema's sweep is its own transaction with SKIP LOCKED, so two overlapping runs are safe.
    """
    from catalog.services import reservation_expire_sweep
    from core.tenancy import in_merchant_schema
    from tenants.selectors import merchant_list

    total = 0
    for merchant in merchant_list(active_only=False):
        try:
            with in_merchant_schema(merchant):
                n = reservation_expire_sweep(limit=limit_per_merchant)
        except Exception:  # one broken schema must not stop the others; beat runs us again in 60 s
            log.exception("reservation sweep failed in schema %s", merchant.schema_name)
            continue
        if n:
            log.info("expired %s stock reservations in schema %s", n, merchant.schema_name)
        total += n
    return total
