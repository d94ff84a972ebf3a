"""Celery tasks of accounts and the audit trail."""
from celery import shared_task


@shared_task(name="permissions.tasks.audit_seal_pending", acks_late=True, ignore_result=True)
def audit_seal_pending() -> int:
    """Seal audit rows whose after-commit sealing did not run (a process died between the two)."""
    from permissions.audit import audit_seal

    return audit_seal()
