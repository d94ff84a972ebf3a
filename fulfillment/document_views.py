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


def _scope(request):
    """The warehouses this user is limited to (django-guardian grants), or None."""
    from catalog.selectors import warehouse_scope_for
    from core.tenancy import current_merchant

    return warehouse_scope_for(user=request.user, merchant=current_merchant())


def _check_scope(request, *, suborder_ids=(), shipment_ids=()) -> None:
    """404 for any suborder or shipment of a warehouse the user is not granted (as if it did not exist)."""
    scope = _scope(request)
    if scope is None:
        return
    from fulfillment.models import Shipment
    from suborders.models import SubOrder

    outside = (SubOrder.objects.filter(pk__in=list(suborder_ids)).exclude(warehouse_id__in=sorted(scope)).exists()
               or Shipment.objects.filter(pk__in=list(shipment_ids)).exclude(warehouse_id__in=sorted(scope)).exists())
    if outside:
        raise Http404("No such document in this store.")


@require_GET
@require_capability(CAPABILITY)
def documents_home(request):
    scope = _scope(request)
    shipments = [sh for sh in documents.shipments_recent(limit=200) if scope is None or sh.warehouse_id in scope]
    for sh in shipments:
        carrier = carrier_get(sh.carrier)
        sh.carrier_name = carrier.name if carrier else sh.carrier
    return render(request, "fulfillment/documents.html", {
        "suborders": [so for so in documents.suborders_to_pick(limit=200) if scope is None or so.warehouse_id in scope],
        "shipments": shipments,
        "max_ids": documents.MAX_DOCUMENT_IDS,
    })


@require_GET
@require_capability(CAPABILITY)
def packing_slip(request, suborder_id: int):
    _check_scope(request, suborder_ids=[suborder_id])
    body = documents.packing_slip_pdf(suborder_id=suborder_id)  # NotFound -> 404 page (core middleware)
    return _pdf(body, f"packing-slip-{suborder_id}.pdf")


@require_GET
@require_capability(CAPABILITY)
def shipping_label(request, shipment_id: int):
    _check_scope(request, shipment_ids=[shipment_id])
    return _pdf(documents.shipping_label_pdf(shipment_id=shipment_id), f"label-{shipment_id}.pdf")


@require_http_methods(["GET", "POST"])
@require_capability(CAPABILITY)
def pick_list(request):
    ids = _ids(request)
    _check_scope(request, suborder_ids=ids)
    return _pdf(documents.pick_list_pdf(suborder_ids=ids), "pick-list.pdf")


@require_POST
@require_capability(CAPABILITY)
def labels_job_start(request):
    ids = _ids(request)
    _check_scope(request, shipment_ids=ids)
    job = documents.label_job_create(shipment_ids=ids, actor=request.user)
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
