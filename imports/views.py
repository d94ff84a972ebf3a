"""Order import pages: the merchant's (its own store's orders) and the operator's on the mall host (a
multi-merchant file). Upload -> preview with every bad row -> confirm -> progress (polling the JSON status)
-> report. Each page calls one imports.services function; a job of another store answers 404."""
from __future__ import annotations

from django import forms
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core.errors import DomainError, NotFound
from core.tenancy import current_merchant, in_public_schema
from imports import services
from imports.formats import FORMATS
from imports.models import OrderImportJob
from permissions.decorators import require_capability, require_platform_capability

FORMAT_CHOICES = [("", gettext_lazy("Recognise it from the columns"))] + [(f.code, f.label) for f in FORMATS.values()]


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Order file (CSV or XLSX)"))
    file_format = forms.ChoiceField(label=gettext_lazy("Format"), choices=FORMAT_CHOICES, required=False)
    channel = forms.CharField(label=gettext_lazy("Channel"), max_length=32, required=False,
                              help_text=gettext_lazy("Where these orders were sold, e.g. shopify, taobao, mystore. Empty: the format's own name."))


def _base(console: bool) -> str:
    return "base.html" if console else "merchants/base_dashboard.html"


def _urls(console: bool) -> dict:
    prefix = "console-imports" if console else "imports-orders"
    return {"page": prefix, "job": f"{prefix}-job", "status": f"{prefix}-status"}


def _upload(request, *, merchant, console: bool):
    form = UploadForm()
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = services.import_job_create(file=form.cleaned_data["file"], actor=request.user, merchant=merchant,
                                                 format_code=form.cleaned_data["file_format"], channel=form.cleaned_data["channel"])
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                return redirect(_urls(console)["job"], job_id=job.pk)
    with in_public_schema():
        jobs = list(OrderImportJob.objects.filter(merchant=merchant).select_related("created_by")[:20])
    return render(request, "imports/upload.html", {"form": form, "jobs": jobs, "console": console, "urls": _urls(console), "base_template": _base(console),
                                                   "formats": FORMATS, "max_mb": services.max_file_bytes() // 1024 // 1024})


def _job(request, job_id, *, merchant, console: bool):
    try:
        if request.method == "POST":
            services.import_job_start(job_id=job_id, actor=request.user, merchant=merchant)
            return redirect(_urls(console)["job"], job_id=job_id)
        job = services.import_job_get_for(job_id=job_id, actor=request.user, merchant=merchant)
    except NotFound:
        raise Http404("No such import.") from None
    return render(request, "imports/job.html", {"job": job, "console": console, "urls": _urls(console),
                                                "base_template": _base(console)})


def _status(request, job_id, *, merchant):
    try:
        job = services.import_job_get_for(job_id=job_id, actor=request.user, merchant=merchant)
    except NotFound:
        raise Http404("No such import.") from None
    return JsonResponse(job_status_body(job))


def job_status_body(job: OrderImportJob) -> dict:
    return {"id": str(job.pk), "status": job.status, "format": job.file_format, "channel": job.channel, "filename": job.filename,
            "total": job.total_orders, "done": job.processed_orders, "created": job.created_orders, "skipped": job.skipped_orders,
            "error_count": job.error_count, "errors": job.errors, "summary": job.summary, "message": job.message}


# merchant host
@require_capability("orders.import")
@require_http_methods(["GET", "POST"])
def orders_import(request):
    return _upload(request, merchant=current_merchant(), console=False)


@require_capability("orders.import")
@require_http_methods(["GET", "POST"])
def orders_import_job(request, job_id):
    return _job(request, job_id, merchant=current_merchant(), console=False)


@require_capability("orders.import")
def orders_import_status(request, job_id):
    return _status(request, job_id, merchant=current_merchant())


# mall host (operator console)
@require_platform_capability("orders.import_all")
@require_http_methods(["GET", "POST"])
def console_import(request):
    return _upload(request, merchant=None, console=True)


@require_platform_capability("orders.import_all")
@require_http_methods(["GET", "POST"])
def console_import_job(request, job_id):
    return _job(request, job_id, merchant=None, console=True)


@require_platform_capability("orders.import_all")
def console_import_status(request, job_id):
    return _status(request, job_id, merchant=None)
