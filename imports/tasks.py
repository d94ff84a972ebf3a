"""Celery task writing a confirmed order import while its page polls the progress (imports.services)."""
from celery import shared_task


@shared_task(name="imports.tasks.import_orders", acks_late=True, ignore_result=True)
def import_orders_task(job_id: str) -> str:
    from imports.services import import_job_run

    job = import_job_run(job_id=job_id)
    return job.status if job is not None else "missing"
