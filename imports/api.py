"""Merchant API: import orders sold on another channel (`POST /api/v1/imports/orders/`), as a file or as JSON.

Both go through the same job as the dashboard (imports.services): the body is checked whole first (a bad
order or line is named and nothing is written), orders imported before are skipped, then the orders are
written (in the request for up to SYNC_MAX_ORDERS orders, else by the worker: poll the job's URL).
"""
from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ValidationFailed
from core.idempotency import idempotent
from core.tenancy import current_merchant
from imports import services
from imports.views import job_status_body
from permissions.api_auth import capability

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True,
                               description="A retry with the same key returns the first answer")
MAX_JSON_ORDERS = 1000
_ADDRESS = {"name": "name", "phone": "phone", "line1": "address", "line2": "address2", "city": "city", "district": "district",
            "region": "region", "postcode": "postcode", "country": "country"}
_ORDER = {"email": "email", "currency": "currency", "created_at": "created_at", "shipping": "shipping", "discount": "order_discount",
          "shipping_method": "shipping_method"}
_LINE = {"sku": "sku", "quantity": "quantity", "unit_price": "unit_price", "discount": "discount"}
_COLUMNS = ["order_id", *_ORDER.values(), *_ADDRESS.values(), *_LINE.values()]


class LineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.CharField(max_length=12, help_text="a whole number from 1 to 9999")
    unit_price = serializers.CharField(max_length=24, help_text='decimal in major units, e.g. "129.90"')
    discount = serializers.CharField(max_length=24, required=False, allow_blank=True, default="")


class AddressInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    district = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = serializers.CharField(max_length=2)


class OrderInput(serializers.Serializer):
    external_order_id = serializers.CharField(max_length=100)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    currency = serializers.CharField(max_length=3, required=False, default="CNY")
    created_at = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    shipping = serializers.CharField(max_length=24, required=False, allow_blank=True, default="", help_text="this store's shipping charge")
    discount = serializers.CharField(max_length=24, required=False, allow_blank=True, default="", help_text="order-level discount")
    shipping_method = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    shipping_address = AddressInput()
    lines = LineInput(many=True, min_length=1, max_length=100)


class ImportInput(serializers.Serializer):
    channel = serializers.CharField(max_length=32, help_text="where the orders were sold, e.g. shopify, mystore")
    orders = OrderInput(many=True, min_length=1, max_length=MAX_JSON_ORDERS)


class ImportFileInput(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or XLSX: our format, a Shopify orders export or a 千牛 export")
    format = serializers.ChoiceField(choices=["mallard", "shopify", "taobao"], required=False, help_text="default: from the header")
    channel = serializers.CharField(max_length=32, required=False, help_text="default: the format's name")


class ImportJobOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField(help_text="ready | rejected | queued | running | done | failed")
    format = serializers.CharField()
    channel = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    created = serializers.IntegerField()
    skipped = serializers.IntegerField()
    error_count = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())
    summary = serializers.DictField()
    message = serializers.CharField()
    url = serializers.CharField()


def _json_as_csv(orders: list[dict]) -> tuple[bytes, dict[int, tuple[int, int]]]:
    """The JSON orders as a file of our format; row number -> (order index, line index) to name errors."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_COLUMNS)
    rows: dict[int, tuple[int, int]] = {}
    for i, o in enumerate(orders):
        for j, ln in enumerate(o["lines"]):
            rows[len(rows) + 2] = (i, j)
            first = j == 0
            writer.writerow([o["external_order_id"], *[(o[k] if first else "") for k in _ORDER],
                             *[o["shipping_address"][k] if first else "" for k in _ADDRESS], *[ln[k] for k in _LINE]])
    return out.getvalue().encode(), rows


def _json_field(error: dict, rows: dict) -> str:
    where = rows.get(error.get("row"))
    if where is None:
        return error.get("field", "")
    i, j = where
    column = error.get("field", "")
    for key, col in _LINE.items():
        if col == column:
            return f"orders[{i}].lines[{j}].{key}"
    for key, col in _ADDRESS.items():
        if col == column:
            return f"orders[{i}].shipping_address.{key}"
    for key, col in _ORDER.items():
        if col == column:
            return f"orders[{i}].{key}"
    return f"orders[{i}].external_order_id" if column == "order_id" else f"orders[{i}]"


def _body(request, job, rows=None) -> dict:
    body = job_status_body(job)
    if rows is not None:
        body["errors"] = [{**e, "field": _json_field(e, rows)} for e in body["errors"]]
    body["url"] = request.build_absolute_uri(reverse("api-import-orders-job", args=[job.pk]))
    return body


class OrderImportView(APIView):
    permission_classes = [capability("orders.import")]
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(
        summary="Import orders sold on another channel (JSON, or a file of our, Shopify's or Taobao's format)",
        description="multipart/form-data with `file` (+ optional `format`: mallard|shopify|taobao, `channel`) or JSON "
                    "{channel, orders: [...]}. `?preview=1` only checks (200). 400 `import_rejected` with every bad row "
                    "and field in `errors` when anything is wrong (nothing written); orders imported before are skipped. "
                    "201 when written, 202 when queued (poll `url`).",
        request={"application/json": ImportInput, "multipart/form-data": ImportFileInput}, responses={200: ImportJobOutput, 201: ImportJobOutput, 202: ImportJobOutput}, parameters=[IDEMPOTENCY],
        examples=[OpenApiExample("One order", request_only=True, value={
            "channel": "mystore", "orders": [{"external_order_id": "S-1001", "email": "li@example.com", "shipping": "8.00",
                                              "shipping_address": {"name": "Li Lei", "phone": "13800000000", "line1": "1 Nanjing Road",
                                                                   "city": "Shanghai", "region": "SH", "postcode": "200001", "country": "CN"},
                                              "lines": [{"sku": "TEE-M", "quantity": "2", "unit_price": "99.00"}]}]})],
    )
    @idempotent
    def post(self, request):
        merchant = current_merchant()
        rows = None
        upload = request.FILES.get("file")
        if upload is not None:
            job = services.import_job_create(file=upload, actor=request.user, merchant=merchant, source="api",
                                             format_code=str(request.data.get("format", ""))[:12],
                                             channel=str(request.data.get("channel", ""))[:40])
        else:
            data = ImportInput(data=request.data)
            data.is_valid(raise_exception=True)
            body = data.validated_data
            ids = [o["external_order_id"] for o in body["orders"]]
            if len(set(ids)) != len(ids):
                dup = next(i for i, x in enumerate(ids) if ids.index(x) != i)
                raise ValidationFailed(_("This external_order_id appears twice in the request."), field=f"orders[{dup}].external_order_id")
            content, rows = _json_as_csv(body["orders"])
            job = services.import_job_create(file=SimpleUploadedFile("api-orders.csv", content), actor=request.user,
                                             merchant=merchant, source="api", format_code="mallard", channel=body["channel"])
        if job.status == job.Status.REJECTED:  # the API's error shape (core.api.ErrorOutput), with every problem
            body = _body(request, job, rows)
            first = body["errors"][0] if body["errors"] else {}
            return Response({"code": "import_rejected", "field": first.get("field") or "file",
                             "message": _("%(n)s problem(s) found; nothing was imported. The first: %(first)s")
                             % {"n": body["error_count"], "first": first.get("message", "")},
                             "errors": body["errors"], "details": body}, status=400)
        if request.query_params.get("preview") in ("1", "true"):
            return Response(_body(request, job, rows), status=200)
        job = services.import_job_start(job_id=job.pk, actor=request.user, merchant=merchant)
        return Response(_body(request, job, rows), status=201 if job.status == job.Status.DONE else 202)


class OrderImportJobView(APIView):
    permission_classes = [capability("orders.import")]

    @extend_schema(summary="An order import of this store: status, progress and report", responses=ImportJobOutput)
    def get(self, request, job_id):
        job = services.import_job_get_for(job_id=job_id, actor=request.user, merchant=current_merchant())
        return Response(_body(request, job))
