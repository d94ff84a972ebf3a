"""Export pages on merchant hosts (/exports/): start an export of a list, watch its progress bar (polling
the JSON status), download the file. Only the person who asked may see or download an export."""
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import DomainError, NotFound
from core.tenancy import current_merchant, in_public_schema
from permissions.decorators import require_capability
from reports.exports import download_name, export_for_actor, export_recent, export_start
from reports.exports_models import ExportJob


def _job(request, job_id) -> ExportJob:
    try:
        return export_for_actor(job_id=job_id, actor=request.user, merchant=current_merchant())
    except NotFound:
        raise Http404(_("No such export.")) from None


@require_capability("dashboard.view")
def export_list(request):
    return render(request, "reports/exports.html", {"jobs": export_recent(actor=request.user, merchant=current_merchant())})


@require_POST
@require_capability("dashboard.view")
def export_create(request):
    params = request.POST.dict()
    try:
        job = export_start(actor=request.user, merchant=current_merchant(), kind=params.pop("kind", ""),
                           fmt=params.pop("format", ""), params=params)
    except DomainError as exc:
        return render(request, "reports/exports.html", {
            "jobs": export_recent(actor=request.user, merchant=current_merchant()),
            "error": f"{exc.field}: {exc.message}" if exc.field else exc.message}, status=exc.status)
    return redirect("exports-detail", job_id=job.pk)


@require_capability("dashboard.view")
def export_detail(request, job_id):
    job = _job(request, job_id)
    return render(request, "reports/export_detail.html", {"job": job})


def _status(job: ExportJob) -> dict:
    return {"id": str(job.pk), "status": job.status, "progress": job.progress, "rows": job.row_count,
            "total": job.total_rows, "error": job.error,
            "download": reverse("exports-download", args=[job.pk]) if job.status == ExportJob.Status.DONE else None}


@require_capability("dashboard.view")
def export_status(request, job_id):
    return JsonResponse(_status(_job(request, job_id)))


@require_capability("dashboard.view")
def export_download(request, job_id):
    from django.core.files.storage import default_storage

    job = _job(request, job_id)
    if job.status != ExportJob.Status.DONE or not job.file_name:
        raise Http404(_("This export is not ready."))
    with in_public_schema():
        try:
            handle = default_storage.open(job.file_name, "rb")
        except FileNotFoundError:
            raise Http404(_("This export has expired.")) from None
    ctype = ("text/csv; charset=utf-8" if job.format == ExportJob.Format.CSV else
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return FileResponse(handle, as_attachment=True, filename=download_name(job, current_merchant()), content_type=ctype)
