"""Celery task applying a large catalog import while the import page polls its progress.

Registered by `app.autodiscover_tasks(..., related_name="bulk_tasks")` in config.celery; the task
runs in the merchant schema it was sent from (tenant-schemas-celery).
"""
from celery import shared_task


@shared_task(name="catalog.bulk_tasks.import_apply", acks_late=True, ignore_result=True)
def import_apply_task(job_id: str) -> str:
    from catalog.bulk import import_job_run

    return import_job_run(job_id=job_id).status
