"""Payment sweeps (beat): capture or void authorizations about to lapse; resend refunds left pending."""
from celery import shared_task

from payments.services import payments_capture_due, refunds_resubmit_stale


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def payments_sweep() -> dict:
    return {"captured_or_voided": payments_capture_due(), "refunds_resent": refunds_resubmit_stale()}
