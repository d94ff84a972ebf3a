"""Merchant dashboard documents, mounted at /documents/ on merchant hosts (merchants.urls): packing slips,
shipping labels, pick lists, and the bulk label job with its progress page.

Every page needs `suborders.ship` (the warehouse's capability). The request runs in the merchant's own
schema, so an id of another merchant's row finds nothing here: 404.
"""
from __future__ import annotations

from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import NotFound
from fulfillment import documents
from fulfillment.carriers import carrier_get
from permissions.decorators import require_capability

CAPABILITY = "suborders.ship"


def _pdf(body: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"  # names, phones and addresses
    return response


def _ids(request) -> list[int]:
    source = request.POST if request.method == "POST" else request.GET
    return documents.parse_ids(source.getlist("ids"))


@require_GET
@require_capability(CAPABILITY)
def documents_home(request):
    shipments = documents.shipments_recent(limit=200)
    for sh in shipments:
        carrier = carrier_get(sh.carrier)
        sh.carrier_name = carrier.name if carrier else sh.carrier
    return render(request, "fulfillment/documents.html", {
        "suborders": documents.suborders_to_pick(limit=200), "shipments": shipments,
        "max_ids": documents.MAX_DOCUMENT_IDS,
    })


@require_GET
@require_capability(CAPABILITY)
def packing_slip(request, suborder_id: int):
    body = documents.packing_slip_pdf(suborder_id=suborder_id)  # NotFound -> 404 page (core middleware)
    return _pdf(body, f"packing-slip-{suborder_id}.pdf")


@require_GET
@require_capability(CAPABILITY)
def shipping_label(request, shipment_id: int):
    return _pdf(documents.shipping_label_pdf(shipment_id=shipment_id), f"label-{shipment_id}.pdf")


@require_http_methods(["GET", "POST"])
@require_capability(CAPABILITY)
def pick_list(request):
    return _pdf(documents.pick_list_pdf(suborder_ids=_ids(request)), "pick-list.pdf")


@require_POST
@require_capability(CAPABILITY)
def labels_job_start(request):
    job = documents.label_job_create(shipment_ids=_ids(request), actor=request.user)
    return redirect("documents-labels-job", job_id=job.id)


def _job_or_404(job_id):
    try:
        return documents.label_job_get(job_id=job_id)
    except NotFound as err:
        raise Http404(err.message) from None


@require_GET
@require_capability(CAPABILITY)
def labels_job_page(request, job_id):
    return render(request, "fulfillment/labels_job.html", {"job": _job_or_404(job_id)})


@require_GET
@require_capability(CAPABILITY)
def labels_job_status(request, job_id):
    return JsonResponse(_job_or_404(job_id).as_status(), headers={"Cache-Control": "no-store"})


@require_GET
@require_capability(CAPABILITY)
def labels_job_download(request, job_id):
    job = _job_or_404(job_id)
    path = documents.label_job_pdf_path(job.id)
    if job.status != "done" or not path.exists():
        raise Http404("The labels are not ready yet.")
    response = FileResponse(path.open("rb"), content_type="application/pdf", filename=f"labels-{job.id[:8]}.pdf")
    response["Cache-Control"] = "private, no-store"
    return response
