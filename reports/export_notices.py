"""The "your export is ready" email: an outbox event in the job's done transaction, sent by an external
subscriber through notifications (once per event, recipient and channel)."""
from __future__ import annotations

from core.outbox import delivery_key, outbox_emit, outbox_handler


def export_ready_emit(*, job, merchant) -> None:
    outbox_emit(topic="export.ready", aggregate_type="export", aggregate_id=str(job.pk),
                payload={"job_id": str(job.pk), "merchant_id": job.merchant_id, "actor_id": job.actor_id,
                         "kind": job.kind, "format": job.format, "rows": job.row_count})


@outbox_handler("export.ready", name="reports.export_ready_email", external=True)
def email_export_ready(event) -> None:
    from django.utils import timezone

    from notifications.services import Notice, notice_send
    from permissions.models import User
    from reports.exports_models import ExportJob
    from tenants.models import Merchant
    from tenants.selectors import merchant_host

    job = ExportJob.objects.filter(pk=event.payload.get("job_id")).first()
    actor = User.objects.filter(pk=event.payload.get("actor_id")).first()
    merchant = Merchant.objects.filter(pk=event.payload.get("merchant_id")).first()
    if job is None or actor is None or merchant is None or job.status != ExportJob.Status.DONE:
        return
    notice_send(event=event, delivery_key=getattr(event, "delivery_key", None) or delivery_key(event.pk, "reports.export_ready_email"),
                notice=Notice(kind="export_ready", email=actor.email, merchant_id=merchant.pk,
                              language=getattr(actor, "preferred_language", None) or None,
                              context={"what": job.get_kind_display(), "format": job.format.upper(), "rows": job.row_count,
                                       "expires": timezone.localtime(job.expires_at) if job.expires_at else None,
                                       "link": f"http://{merchant_host(merchant)}/exports/{job.pk}/"}))
