"""Celery tasks of fulfillment: the bulk label job (many labels printed into one PDF).

Runs in the merchant schema the task was sent from (tenant-schemas-celery carries it), so the job's
files and rows are that merchant's only.
"""
from celery import shared_task


@shared_task(name="fulfillment.tasks.labels_job_run", bind=True, acks_late=True, ignore_result=True,
             autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=60, max_retries=5)
def labels_job_run_task(self, job_id: str) -> str:
    from fulfillment.documents import label_job_run

    return label_job_run(job_id=job_id).status
