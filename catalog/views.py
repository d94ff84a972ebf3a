"""Merchant dashboard pages of the catalog: products, warehouses, stock, bulk import/export.

Pages parse input, call one catalog service and render; lists page by keyset (`?after=<id>`), never
by OFFSET or a COUNT(*) of the whole catalog, so they stay fast at 100k variants.
"""
from __future__ import annotations

import tempfile

from django import forms
from django.contrib import messages
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Prefetch, Q
from django.forms import formset_factory
from django.http import FileResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from catalog import bulk
from catalog.models import Product, StockLevel, Variant
from catalog.selectors import (
    category_list,
    import_job_get,
    low_stock_count,
    movement_list_for_variant,
    product_get,
    product_list_for_merchant,
    stock_levels_for_variant,
    variant_get,
    warehouse_get,
    warehouse_list,
)
from catalog.services import (
    category_ensure,
    product_create,
    product_update,
    stock_adjust,
    stock_receive,
    warehouse_create,
    warehouse_update,
)
from core.errors import DomainError, ValidationFailed
from core.inputs import is_ascii_digits
from core.money import CURRENCY_EXPONENTS, Money
from core.tenancy import current_merchant, in_merchant_schema
from permissions.decorators import require_capability
from permissions.selectors import user_can

PAGE = 50


def _can(request, capability: str) -> bool:
    return user_can(user=request.user, merchant=current_merchant(), capability=capability)


def _granted(request, warehouses):
    """The warehouses a warehouse user limited by an owner's grants works in (all for everyone else)."""
    from catalog.selectors import warehouse_scope_for

    scope = warehouse_scope_for(user=request.user, merchant=current_merchant())
    return [w for w in warehouses if scope is None or w.pk in scope]


def _see(request):
    """What this role may see of the catalog: warehouse staff never see prices (permissions.visibility)."""
    from permissions.visibility import field_access

    return field_access(user=request.user, merchant=current_merchant())


def _after(request) -> int | None:
    text = request.GET.get("after", "")
    return int(text) or None if is_ascii_digits(text) else None


def _keyset_page(qs, request, *, size: int = PAGE):
    """Rows of a queryset ordered by -id after the `after` cursor; returns (rows, next cursor or None)."""
    after = _after(request)
    if after:
        qs = qs.filter(pk__lt=after)
    rows = list(qs[: size + 1])
    nxt = rows[size - 1].pk if len(rows) > size else None
    return rows[:size], nxt


def _next_url(request, cursor) -> str:
    if not cursor:
        return ""
    params = request.GET.copy()
    params["after"] = cursor
    return "?" + params.urlencode()


# ---------------------------------------------------------------- products

@require_capability("catalog.view")
def product_list(request):
    q = request.GET.get("q", "").strip()[:100]
    qs = product_list_for_merchant(search=q).prefetch_related(
        Prefetch("variants", queryset=Variant.objects.only("id", "sku", "product_id", "price_minor", "currency")
                 .order_by("id"))
    )
    rows, cursor = _keyset_page(qs, request)
    for p in rows:  # counted from the prefetched page rows, never by aggregating the whole catalog
        p.variant_count = len(p.variants.all())
    return render(request, "catalog/product_list.html", {
        "rows": rows, "q": q, "next_url": _next_url(request, cursor), "first_page": _after(request) is None,
        "can_edit": _can(request, "catalog.edit"), "see": _see(request),
    })


class ProductForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    description = forms.CharField(label=gettext_lazy("Description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)
    new_category = forms.CharField(label=gettext_lazy("…or a new category"), required=False, max_length=120)
    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=Product.Status.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—")] + [(str(c.pk), c.name) for c in category_list()]


class VariantForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    sku = forms.CharField(label=gettext_lazy("SKU"), max_length=64, required=False)
    options = forms.CharField(label=gettext_lazy("Options"), required=False,
                              help_text=gettext_lazy("e.g. size=M; colour=red"))
    price = forms.CharField(label=gettext_lazy("Price"), required=False, max_length=20)
    currency = forms.ChoiceField(label=gettext_lazy("Currency"),
                                 choices=[(c, c) for c in CURRENCY_EXPONENTS])
    weight_g = forms.IntegerField(label=gettext_lazy("Weight (g)"), required=False, min_value=0)
    barcode = forms.CharField(label=gettext_lazy("Barcode"), required=False, max_length=64)
    image_url = forms.CharField(label=gettext_lazy("Image URL"), required=False, max_length=500)
    low_stock_threshold = forms.IntegerField(label=gettext_lazy("Low-stock threshold"), required=False,
                                             min_value=0, initial=5)
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def is_blank(self) -> bool:
        d = self.cleaned_data
        return not d.get("id") and not d.get("sku") and not d.get("price")


# A product page edits at most MAX_VARIANT_ROWS variants. Without absolute_max a POST claiming
# TOTAL_FORMS=100000 builds Django's default ceiling of 2,000 forms; validate_max makes too many
# rows a form error rather than a silent cut.
MAX_VARIANT_ROWS = 200
VariantFormSet = formset_factory(VariantForm, extra=0, max_num=MAX_VARIANT_ROWS, absolute_max=MAX_VARIANT_ROWS,
                                 validate_max=True)


def _variant_payload(form: VariantForm) -> dict:
    """Turn one variant row into the service's dict, or add errors to the row and raise."""
    d = form.cleaned_data
    out: dict = {}
    if d.get("id"):
        out["id"] = d["id"]
    for key in ("sku", "barcode", "image_url"):
        out[key] = d.get(key) or ""
    if not out["sku"]:
        form.add_error("sku", _("SKU is required."))
    try:
        out["price_minor"] = Money.parse(d.get("price") or "", d["currency"]).minor
        if out["price_minor"] < 0:
            form.add_error("price", _("Price must not be negative."))
    except ValidationFailed as exc:
        form.add_error("price", exc.message)
    out["currency"] = d["currency"]
    try:
        out["options"] = bulk._parse_options(d.get("options") or "") if d.get("options") else {}
    except ValueError:
        form.add_error("options", _("Write options as name=value pairs separated by ';', e.g. size=M; colour=red."))
    out["weight_g"] = d.get("weight_g") or 0
    out["low_stock_threshold"] = d["low_stock_threshold"] if d.get("low_stock_threshold") is not None else 5
    out["is_active"] = bool(d.get("is_active"))
    if not out["barcode"]:
        out.pop("barcode")
    if not out["image_url"]:
        out.pop("image_url")
    return out


def _attach_service_error(exc: ValidationFailed, form: ProductForm, rows: list[VariantForm]) -> None:
    """Show a service error next to the field it names (`name`, `variants[2].sku`, ...)."""
    field = exc.field or ""
    if field.startswith("variants[") and "]" in field:
        try:
            index = int(field[len("variants["):field.index("]")])
            name = field.split("].", 1)[1] if "]." in field else None
            target = rows[index]
            if name == "price_minor":
                name = "price"
            target.add_error(name if name in target.fields else None, exc.message)
            return
        except (ValueError, IndexError):
            pass
    if field in form.fields:
        form.add_error(field, exc.message)
    elif field == "category_id":
        form.add_error("category", exc.message)
    else:
        form.add_error(None, exc.message)


def _product_form_page(request, *, product=None, show_only: bool = False, status: int = 200, specs_text=None):
    """`show_only`: render the page as on GET (after an image or specifications form was refused)."""
    merchant = current_merchant()
    currency = getattr(merchant, "default_currency", "CNY")
    if request.method == "POST" and not show_only:
        form = ProductForm(request.POST)
        formset = VariantFormSet(request.POST, prefix="v")
        if form.is_valid() and formset.is_valid():
            rows = [f for f in formset.forms if not f.is_blank()]
            variants = [_variant_payload(f) for f in rows]
            if not variants and product is None:
                form.add_error(None, _("Add at least one variant (SKU and price)."))
            if not form.errors and not any(f.errors for f in rows):
                d = form.cleaned_data
                try:
                    with transaction.atomic():
                        category_id = int(d["category"]) if d.get("category") else None
                        if d.get("new_category"):
                            category_id = category_ensure(name=d["new_category"]).pk
                        if product is None:
                            product = product_create(name=d["name"], description=d["description"],
                                                     category_id=category_id, status=d["status"],
                                                     variants=variants, actor=request.user)
                            messages.success(request, _("Product created."))
                        else:
                            product_update(product_id=product.pk, name=d["name"], description=d["description"],
                                           category_id=category_id, status=d["status"], variants=variants,
                                           actor=request.user)
                            messages.success(request, _("Product saved."))
                    return redirect("catalog-product-edit", product_id=product.pk)
                except ValidationFailed as exc:
                    _attach_service_error(exc, form, rows)
    else:
        if product is None:
            form = ProductForm(initial={"status": Product.Status.ACTIVE})
            initial = [{"currency": currency, "low_stock_threshold": 5, "is_active": True} for _i in range(3)]
        else:
            form = ProductForm(initial={"name": product.name, "description": product.description,
                                        "category": str(product.category_id or ""), "status": product.status})
            initial = [{"id": v.pk, "sku": v.sku, "options": bulk.options_text(v.options),
                        "price": str(Money(v.price_minor, v.currency).to_decimal()), "currency": v.currency,
                        "weight_g": v.weight_g, "barcode": v.barcode, "image_url": v.image_url,
                        "low_stock_threshold": v.low_stock_threshold, "is_active": v.is_active}
                       for v in product.variants.order_by("id")]
            initial.append({"currency": currency, "low_stock_threshold": 5, "is_active": True})
        formset = VariantFormSet(initial=initial, prefix="v")
    from catalog.images import max_image_bytes, specifications_text

    return render(request, "catalog/product_form.html", {
        "form": form, "formset": formset, "product": product,
        "images": [{"pk": im.pk, "alt": im.alt, "thumb": default_storage.url(im.thumb_path)}
                   for im in product.images.all()] if product is not None else [],
        "specs_text": specs_text if specs_text is not None else specifications_text(product.specifications if product else []),
        "max_image_mb": max_image_bytes() // (1024 * 1024),
    }, status=status)


@require_capability("catalog.edit")
@require_http_methods(["GET", "POST"])
def product_new(request):
    return _product_form_page(request)


@require_capability("catalog.edit")
@require_http_methods(["GET", "POST"])
def product_edit(request, product_id: int):
    return _product_form_page(request, product=product_get(product_id=product_id))


# ---------------------------------------------------------------- warehouses

class WarehouseForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=32)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    address = forms.CharField(label=gettext_lazy("Address"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    region = forms.CharField(label=gettext_lazy("Region"), required=False, max_length=32)
    priority = forms.IntegerField(label=gettext_lazy("Priority (lower ships first)"), initial=100)
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)


@require_capability("stock.view")
@require_http_methods(["GET", "POST"])
def warehouse_list_page(request):
    can_edit = _can(request, "warehouse.edit")
    form = WarehouseForm()
    if request.method == "POST":
        if not can_edit:
            return render(request, "error.html", {"title": _("Not allowed"), "message": _(
                "Your role does not allow this (%(capability)s).") % {"capability": "warehouse.edit"}}, status=403)
        form = WarehouseForm(request.POST)
        if form.is_valid():
            try:
                warehouse_create(actor=request.user, **form.cleaned_data)
                messages.success(request, _("Warehouse added."))
                return redirect("catalog-warehouses")
            except ValidationFailed as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return render(request, "catalog/warehouse_list.html", {
        "warehouses": warehouse_list(), "form": form, "can_edit": can_edit})


class WarehouseEditForm(WarehouseForm):
    code = None  # the code is the warehouse's identity in imports and the API; it is not edited


@require_capability("warehouse.edit")
@require_http_methods(["GET", "POST"])
def warehouse_edit(request, warehouse_id: int):
    warehouse = warehouse_get(warehouse_id=warehouse_id)
    form = WarehouseEditForm(initial={"name": warehouse.name, "address": warehouse.address, "region": warehouse.region,
                                      "priority": warehouse.priority, "is_active": warehouse.is_active})
    if request.method == "POST":
        form = WarehouseEditForm(request.POST)
        if form.is_valid():
            try:
                warehouse_update(warehouse_id=warehouse.pk, actor=request.user, **form.cleaned_data)
                messages.success(request, _("Warehouse saved."))
                return redirect("catalog-warehouses")
            except ValidationFailed as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return render(request, "catalog/warehouse_form.html", {"warehouse": warehouse, "form": form})


# ---------------------------------------------------------------- stock

@require_capability("stock.view")
def stock_list(request):
    q = request.GET.get("q", "").strip()[:100]
    warehouses = _granted(request, warehouse_list())
    qs = Variant.objects.select_related("product").order_by("-id")
    if q:
        qs = qs.filter(Q(sku__istartswith=q) | Q(product__name__icontains=q))
    rows, cursor = _keyset_page(qs, request)
    levels = {(lv.variant_id, lv.warehouse_id): lv
              for lv in StockLevel.objects.filter(variant_id__in=[v.pk for v in rows])}
    table = [{"variant": v, "cells": [levels.get((v.pk, w.pk)) for w in warehouses]} for v in rows]
    return render(request, "catalog/stock_list.html", {
        "table": table, "warehouses": warehouses, "q": q, "next_url": _next_url(request, cursor),
        "first_page": _after(request) is None, "low_stock_count": low_stock_count(),
    })


class ReceiveForm(forms.Form):
    warehouse = forms.ChoiceField(label=gettext_lazy("Warehouse"))
    quantity = forms.IntegerField(label=gettext_lazy("Quantity"))
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=300)
    reference = forms.CharField(label=gettext_lazy("Reference (delivery note, PO)"), required=False, max_length=120)

    def __init__(self, *args, warehouses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = [(str(w.pk), f"{w.code} · {w.name}") for w in warehouses]


class AdjustForm(ReceiveForm):
    quantity = forms.IntegerField(label=gettext_lazy("Change (+/−)"))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


@require_capability("stock.view")
@require_http_methods(["GET", "POST"])
def stock_variant(request, variant_id: int):
    variant = variant_get(variant_id=variant_id)
    warehouses = _granted(request, warehouse_list())
    can_edit = _can(request, "stock.edit")
    receive = ReceiveForm(prefix="receive", warehouses=warehouses)
    adjust = AdjustForm(prefix="adjust", warehouses=warehouses)
    if request.method == "POST":
        if not can_edit:
            return render(request, "error.html", {"title": _("Not allowed"), "message": _(
                "Your role does not allow this (%(capability)s).") % {"capability": "stock.edit"}}, status=403)
        action = request.POST.get("action")
        form = (ReceiveForm if action == "receive" else AdjustForm)(
            request.POST, prefix=action, warehouses=warehouses)
        if action == "receive":
            receive = form
        else:
            adjust = form
        if form.is_valid():
            d = form.cleaned_data
            try:
                if action == "receive":
                    stock_receive(variant_id=variant.pk, warehouse_id=int(d["warehouse"]), quantity=d["quantity"],
                                  actor=request.user, reason=d["reason"] or _("received"), reference=d["reference"])
                    messages.success(request, _("Received %(n)s units.") % {"n": d["quantity"]})
                else:
                    stock_adjust(variant_id=variant.pk, warehouse_id=int(d["warehouse"]), delta=d["quantity"],
                                 actor=request.user, reason=d["reason"], reference=d["reference"])
                    messages.success(request, _("Stock adjusted by %(n)s.") % {"n": d["quantity"]})
                return redirect("catalog-stock-variant", variant_id=variant.pk)
            except ValidationFailed as exc:
                field = {"delta": "quantity"}.get(exc.field or "", exc.field)
                form.add_error(field if field in form.fields else None, exc.message)
            except DomainError as exc:  # OutOfStock / Conflict: show the domain message on the form
                form.add_error(None, exc.message)
    movements, cursor = _keyset_page(movement_list_for_variant(variant_id=variant.pk), request, size=100)
    return render(request, "catalog/stock_variant.html", {
        "see": _see(request),
        "variant": variant, "receive": receive,
        "levels": [lv for lv in stock_levels_for_variant(variant_id=variant.pk) if lv.warehouse in warehouses],
        "adjust": adjust, "can_edit": can_edit and bool(warehouses), "movements": movements,
        "next_url": _next_url(request, cursor),
    })


# ---------------------------------------------------------------- import / export

class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV or XLSX file"))


@require_capability("catalog.edit")
@require_http_methods(["GET", "POST"])
def import_page(request):
    form = ImportForm()
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            job = bulk.import_job_create(file=form.cleaned_data["file"], actor=request.user)
            return redirect("catalog-import-job", job_id=job.pk)
    return render(request, "catalog/import.html", {
        "form": form, "columns": bulk.COLUMNS, "warehouses": warehouse_list(),
        "max_mb": bulk.MAX_FILE_BYTES // 1024 // 1024,
    })


@require_capability("catalog.edit")
@require_http_methods(["GET", "POST"])
def import_job(request, job_id):
    job = import_job_get(job_id=job_id)
    if request.method == "POST":
        bulk.import_job_start(job_id=job.pk, actor=request.user)
        return redirect("catalog-import-job", job_id=job.pk)
    percent = int(100 * job.processed_rows / job.total_rows) if job.total_rows else 0
    return render(request, "catalog/import_job.html", {"job": job, "percent": percent})


@require_capability("catalog.edit")
def import_status(request, job_id):
    job = import_job_get(job_id=job_id)
    return JsonResponse({"status": job.status, "done": job.processed_rows, "total": job.total_rows,
                         "phase": job.phase, "error_count": job.error_count})


@require_capability("catalog.view")
def export(request):
    fmt = request.GET.get("format", "csv")
    merchant = current_merchant()
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    name = f"{merchant.slug}-catalog-{stamp}"
    see = _see(request)
    if fmt == "xlsx":
        # openpyxl writes a zip, which needs a seekable file: spool to disk (write-only mode keeps memory flat)
        tmp = tempfile.TemporaryFile()
        bulk.export_xlsx(_without_prices(bulk.export_rows(), see), tmp)
        tmp.seek(0)
        return FileResponse(tmp, as_attachment=True, filename=f"{name}.xlsx",
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response = StreamingHttpResponse(bulk.export_csv_chunks(_without_prices(_rows_in_schema(merchant), see)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _without_prices(rows, see):
    """The export's rows without the price and currency columns for a role that sees no amounts."""
    if see.amounts:
        yield from rows
        return
    drop = None
    for row in rows:
        if drop is None:
            drop = {i for i, name in enumerate(row) if name in ("price", "currency")}
        yield [v for i, v in enumerate(row) if i not in drop]


def _rows_in_schema(merchant):
    """The streaming body is read after the view has returned: pin the merchant's schema while
    it is read, so nothing that touches the connection in between can point it elsewhere."""
    with in_merchant_schema(merchant):
        yield from bulk.export_rows()



# ---------------------------------------------------------------- product images and specifications

@require_capability("catalog.edit")
@require_http_methods(["POST"])
def product_images(request, product_id: int):
    """Upload (field `image`) or remove (field `delete`: an image id) a picture of the product."""
    from catalog.images import max_image_bytes, product_image_add, product_image_delete
    from core.inputs import parse_id

    product = product_get(product_id=product_id)  # another merchant's id is a 404 here
    try:
        if request.POST.get("delete"):
            product_image_delete(product_id=product.pk, image_id=parse_id(request.POST["delete"], field="delete"),
                                 actor=request.user)
            messages.success(request, _("Image removed."))
        else:
            upload = request.FILES.get("image")
            if upload is None:
                raise ValidationFailed(_("Choose an image file to upload."), field="image")
            if upload.size > max_image_bytes():
                raise ValidationFailed(_("%(field)s is too large: at most %(mb)s MB.")
                                       % {"field": _("Image"), "mb": max_image_bytes() // (1024 * 1024)}, field="image")
            product_image_add(product_id=product.pk, data=upload.read(), alt=request.POST.get("alt", ""),
                              actor=request.user)
            messages.success(request, _("Image added."))
    except ValidationFailed as exc:
        label = {"image": _("Image"), "alt": _("Description of the picture"), "delete": _("Image")}.get(exc.field or "", "")
        messages.error(request, f"{label}: {exc.message}" if label else exc.message)
        return _product_form_page(request, product=product, show_only=True, status=400)
    return redirect(f"{reverse('catalog-product-edit', args=[product.pk])}#images")


@require_capability("catalog.edit")
@require_http_methods(["POST"])
def product_specifications(request, product_id: int):
    """Replace the product's specifications ("Label: value" lines)."""
    from catalog.images import parse_specifications, product_specifications_set

    product = product_get(product_id=product_id)
    try:
        specs = parse_specifications(request.POST.get("specifications", ""), field="specifications")
        product_specifications_set(product_id=product.pk, specifications=specs, actor=request.user)
    except ValidationFailed as exc:
        messages.error(request, f"{_('Specifications')}: {exc.message}")
        return _product_form_page(request, product=product, show_only=True, status=400,
                                  specs_text=request.POST.get("specifications", "")[:20000])
    messages.success(request, _("Specifications saved."))
    return redirect(f"{reverse('catalog-product-edit', args=[product.pk])}#specifications")
