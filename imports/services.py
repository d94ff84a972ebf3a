"""Channel order imports: a job per file (upload -> preview -> confirm -> background write -> report), and
the API's direct import of JSON orders.

Preview reads the whole file (streamed) and checks every row: the columns of its format, each field,
duplicate order ids inside the file, unknown stores and SKUs, stock enough for the file, and which orders
were imported before (they are skipped, never written twice). A file with any bad row is rejected whole
and nothing is written. Writing reads the file again and hands chunks of CHUNK_ORDERS orders to
orders.services.channel.orders_import_chunk (one transaction each, the checkout's invariants). A chunk
that fails (stock sold meanwhile) stops the job: the chunks before it stay imported, the report says how
far it got, and importing the same file again skips what is in and writes the rest.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from core.tenancy import in_public_schema
from imports.formats import FORMATS, MALLARD, FileRejected, RowError
from imports.models import OrderImportJob
from imports.reading import ParsedOrder, clean_channel, open_file, parsed_orders

log = logging.getLogger(__name__)

CHUNK_ORDERS = 1000
ERRORS_CAP = 1000  # errors kept on the job; error_count has the full number
SYNC_MAX_ORDERS = 200  # smaller files are written in the request; larger ones by the Celery task


def max_file_bytes() -> int:
    """Uploads through the web and the API are refused above MALLARD_MAX_UPLOAD_BYTES by core.middleware (413)."""
    return settings.MALLARD_MAX_UPLOAD_BYTES


def _jobs_root() -> Path:
    return Path(os.environ.get("MALLARD_IMPORT_DIR") or str(settings.BASE_DIR / "var" / "imports")) / "orders"


def upload_path(job_id) -> Path:
    return _jobs_root() / str(job_id)


def _authorize(actor, merchant) -> None:
    from permissions.policy import authorize

    if merchant is None:
        authorize(actor, "orders.import_all")
    else:
        authorize(actor, "orders.import", merchant=merchant)


# ---------------------------------------------------------------- resolving stores and SKUs

class Catalogs:
    """Stores by slug and variants by (store, SKU), looked up in batches and kept for the job."""

    def __init__(self, fixed_merchant=None):
        self.fixed = fixed_merchant
        self.merchants: dict[str, object | None] = {}
        self.variants: dict[tuple[int, str], object | None] = {}

    def load(self, slugs: Iterable[str], keys: Iterable[tuple[str, str]]) -> None:
        from catalog.cross_schema import variants_by_sku_many
        from tenants.models import Merchant

        missing = {s for s in slugs if s and s not in self.merchants}
        if missing:
            found = {m.slug: m for m in Merchant.objects.filter(slug__in=missing, is_template=False)}
            for s in missing:
                self.merchants[s] = found.get(s)
        wanted: dict[str, set[str]] = {}
        by_schema = {}
        for slug, sku in keys:
            m = self.merchant(slug)
            if m is not None and (m.pk, sku) not in self.variants:
                wanted.setdefault(m.schema_name, set()).add(sku)
                by_schema[m.schema_name] = m
        if wanted:
            found = variants_by_sku_many(wanted={s: sorted(v) for s, v in wanted.items()})
            for schema, skus in wanted.items():
                for sku in skus:
                    self.variants[(by_schema[schema].pk, sku)] = found[schema].get(sku)

    def merchant(self, slug: str):
        if self.fixed is not None:
            return self.fixed if slug in ("", self.fixed.slug) else None
        return self.merchants.get(slug)

    def variant(self, slug: str, sku: str):
        m = self.merchant(slug)
        return None if m is None else self.variants.get((m.pk, sku))


def _line_problems(order: ParsedOrder, catalogs: Catalogs, fmt, operator: bool) -> list[RowError]:
    errors = []
    merchant_col = fmt.columns.get("merchant", "merchant")
    for ln in order.lines:
        if operator and not ln.merchant:
            errors.append(RowError(ln.row, merchant_col, _("Name the store of this line (its slug).")))
            continue
        m = catalogs.merchant(ln.merchant)
        if m is None:
            errors.append(RowError(ln.row, merchant_col, _("Unknown store %(s)s.") % {"s": repr(ln.merchant[:40])} if operator
                                   else _("This line names another store (%(s)s); a store imports its own orders.") % {"s": ln.merchant[:40]}))
            continue
        if not m.is_active:
            errors.append(RowError(ln.row, merchant_col, _("%(store)s is suspended.") % {"store": m.name}))
            continue
        v = catalogs.variant(ln.merchant, ln.sku)
        if v is None:
            errors.append(RowError(ln.row, fmt.columns["sku"], _("Unknown SKU %(sku)s at %(store)s.") % {"sku": ln.sku, "store": m.name}))
        elif not v.is_active:
            errors.append(RowError(ln.row, fmt.columns["sku"], _("%(sku)s is not on sale at %(store)s.") % {"sku": ln.sku, "store": m.name}))
        elif v.currency != order.currency:
            errors.append(RowError(ln.row, fmt.columns.get("currency", "currency"),
                                   _("%(sku)s is sold in %(c)s; this order is in %(o)s.") % {"sku": ln.sku, "c": v.currency, "o": order.currency}))
    return errors


def _channel_order(order: ParsedOrder, catalogs: Catalogs, shipping_method: str):
    from orders.services.channel import ChannelLine, ChannelOrder

    lines, shipping = [], {}
    for ln in order.lines:
        m, v = catalogs.merchant(ln.merchant), catalogs.variant(ln.merchant, ln.sku)
        lines.append(ChannelLine(ln.row, m.pk, v.variant_id, v.sku, v.name, ln.unit_price_minor, ln.quantity, ln.discount_minor))
        shipping[m.pk] = shipping.get(m.pk, 0) + ln.shipping_minor
    return ChannelOrder(order.external_id, order.row, order.email, order.currency, order.address, order.created_at, lines,
                        shipping, order.discount_minor, order.shipping_method or shipping_method)


# ---------------------------------------------------------------- preview

@dataclass
class Preview:
    format_code: str
    encoding: str
    orders: int = 0
    lines: int = 0
    merchants: list[str] = field(default_factory=list)
    already_imported: int = 0
    already_sample: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def summary(self) -> dict:
        return {"orders": self.orders, "lines": self.lines, "merchants": self.merchants, "already_imported": self.already_imported,
                "already_sample": self.already_sample, "to_create": self.orders - self.already_imported,
                "format": self.format_code, "encoding": self.encoding}


def import_preview(*, path: str, format_code: str = "", channel: str, merchant=None) -> Preview:
    """Check every row of the file (nothing is written). `merchant` None = the operator's multi-merchant file."""
    from orders.selectors import orders_imported_keys
    from orders.services.channel import import_scope
    from suborders.cross_schema import external_ids_imported_many

    try:
        table, fmt = open_file(path, format_code)
    except FileRejected as exc:
        return Preview(format_code, "", errors=exc.errors)
    preview = Preview(fmt.code, table.encoding)
    errors: list[RowError] = []
    catalogs = Catalogs(fixed_merchant=merchant)
    demand: dict[tuple[str, str], list[int]] = {}  # (store, sku) -> [quantity, first row]
    stores: set[str] = set()
    pending: list[ParsedOrder] = []
    scope = import_scope(channel=channel, merchant_id=getattr(merchant, "pk", None))

    def check(batch: list[ParsedOrder]) -> None:
        catalogs.load({ln.merchant for o in batch for ln in o.lines}, {(ln.merchant, ln.sku) for o in batch for ln in o.lines})
        good = []
        for o in batch:
            problems = _line_problems(o, catalogs, fmt, operator=merchant is None)
            errors.extend(problems)
            if not problems:
                good.append((o, sorted({catalogs.merchant(ln.merchant).slug for ln in o.lines})))
        # orders imported before are skipped (not errors) and need no stock
        wanted: dict[str, list[str]] = {}
        for o, slugs in good:
            for slug in slugs:
                wanted.setdefault(catalogs.merchant(slug).schema_name, []).append(o.external_id)
        with in_public_schema():
            known = external_ids_imported_many(channel=channel, wanted=wanted)
            already = set().union(*known.values()) if known else set()
            already |= orders_imported_keys(scope=scope, keys=[o.external_id for o, _s in good])
        for o, slugs in good:
            if o.external_id in already:
                preview.already_imported += 1
                if len(preview.already_sample) < 20:
                    preview.already_sample.append(o.external_id)
                continue
            stores.update(slugs)
            for ln in o.lines:
                entry = demand.setdefault((catalogs.merchant(ln.merchant).slug, ln.sku), [0, ln.row])
                entry[0] += ln.quantity

    try:
        for order in parsed_orders(table, fmt, errors, store_column=merchant is None or fmt is MALLARD):
            preview.orders += 1
            preview.lines += len(order.lines)
            pending.append(order)
            if len(pending) >= CHUNK_ORDERS:
                check(pending)
                pending = []
        check(pending)
    except FileRejected as exc:
        errors.extend(exc.errors)
    # stock: what the file's new orders need against what all the store's warehouses have, per SKU
    for (slug, sku), (qty, row) in demand.items():
        v = catalogs.variant(slug, sku)
        available = sum(a for _w, _p, a in v.stock.values()) if v is not None else 0
        if v is not None and qty > available:
            errors.append(RowError(row, fmt.columns["quantity"], _("The file orders %(q)s × %(sku)s; only %(a)s are in stock at %(store)s.")
                                   % {"q": qty, "sku": sku, "a": available, "store": slug}))
    preview.merchants = sorted(stores)
    preview.errors = sorted(errors, key=lambda e: (e.row or 0, e.field))
    return preview


# ---------------------------------------------------------------- jobs

def _job_set(job_id, **changes) -> None:
    OrderImportJob.objects.filter(pk=job_id).update(**changes)


def import_job_create(*, file, actor, merchant=None, format_code: str = "", channel: str = "", source: str = "web") -> OrderImportJob:
    """Store the upload, preview it; the job ends `ready` (counts to confirm) or `rejected` (its errors). Nothing else is written."""
    _authorize(actor, merchant)
    if format_code and format_code not in FORMATS:
        raise ValidationFailed(_("Unknown format %(f)s.") % {"f": format_code}, field="format")
    filename = os.path.basename(getattr(file, "name", "") or "upload")[:200]
    with in_public_schema():
        job = OrderImportJob.objects.create(merchant=merchant, filename=filename, created_by=actor, source=source)
    path = upload_path(job.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        for chunk in (file.chunks() if hasattr(file, "chunks") else [file.read()]):
            out.write(chunk)
    return _preview_job(job, path, format_code, channel)


def _preview_job(job, path, format_code, channel) -> OrderImportJob:
    if not channel:  # the format's own name (shopify, taobao, import)
        try:
            channel = open_file(str(path), format_code)[1].default_channel
        except FileRejected:
            channel = MALLARD.default_channel  # the preview below names what is wrong with the file
    try:
        channel = clean_channel(channel)
    except ValidationFailed as exc:
        _finish(job.pk, path, status=OrderImportJob.Status.REJECTED, errors=[RowError(None, "channel", str(exc.message))])
        with in_public_schema():
            return OrderImportJob.objects.get(pk=job.pk)
    preview = import_preview(path=str(path), format_code=format_code, channel=channel, merchant=job.merchant)
    changes = {"file_format": preview.format_code, "channel": channel, "encoding": preview.encoding,
               "total_orders": preview.orders, "summary": preview.summary}
    with in_public_schema():
        if preview.ok:
            _job_set(job.pk, status=OrderImportJob.Status.READY, **changes)
        else:
            _finish(job.pk, path, status=OrderImportJob.Status.REJECTED, errors=preview.errors, **changes)
        return OrderImportJob.objects.get(pk=job.pk)


def _finish(job_id, path, *, status, errors=(), **changes) -> None:
    errors = list(errors)
    with in_public_schema():
        _job_set(job_id, status=status, error_count=len(errors), errors=[e.as_dict() for e in errors[:ERRORS_CAP]],
                 finished_at=timezone.now(), **changes)
    Path(path).unlink(missing_ok=True)


def import_job_get_for(*, job_id, actor, merchant=None) -> OrderImportJob:
    """The job, if it belongs to this store (merchant) or is the operator's (merchant None) — else NotFound."""
    _authorize(actor, merchant)
    with in_public_schema():
        job = OrderImportJob.objects.filter(pk=job_id, merchant=merchant).first()
    if job is None:
        raise NotFound(_("No such import."), field="job")
    return job


def import_job_start(*, job_id, actor, merchant=None) -> OrderImportJob:
    """Confirm a ready job: written in this request when small, else queued for the Celery task."""
    job = import_job_get_for(job_id=job_id, actor=actor, merchant=merchant)
    with in_public_schema(), transaction.atomic():
        job = OrderImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != OrderImportJob.Status.READY:
            return job
        job.status = OrderImportJob.Status.QUEUED
        job.save(update_fields=["status"])
    if job.total_orders <= SYNC_MAX_ORDERS:
        return import_job_run(job_id=job.pk)
    from imports.tasks import import_orders_task

    try:
        with in_public_schema():
            import_orders_task.apply_async(kwargs={"job_id": str(job.pk)}, ignore_result=True)
    except Exception:  # noqa: BLE001 - no broker: write it in this request rather than leave the job queued forever
        log.warning("order import %s: no broker, writing in the request", job.pk)
        return import_job_run(job_id=job.pk)
    return job


def import_job_run(*, job_id, progress_every: int = CHUNK_ORDERS) -> OrderImportJob:
    """Write a queued job (the Celery task, or the request for a small file). Safe to run twice."""
    from orders.services.channel import import_scope, orders_import_chunk

    with in_public_schema(), transaction.atomic():
        job = OrderImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in (OrderImportJob.Status.QUEUED, OrderImportJob.Status.RUNNING):
            return job
        job.status = OrderImportJob.Status.RUNNING
        job.save(update_fields=["status"])
    path = upload_path(job.pk)
    actor, merchant = job.created_by, job.merchant
    created = skipped = processed = 0
    try:
        _authorize(actor, merchant)  # the person who confirmed may have lost the role since
        table, fmt = open_file(str(path), job.file_format)
        catalogs = Catalogs(fixed_merchant=merchant)
        scope = import_scope(channel=job.channel, merchant_id=getattr(merchant, "pk", None))
        errors: list[RowError] = []
        batch: list[ParsedOrder] = []

        def write(batch):
            nonlocal created, skipped, processed
            catalogs.load({ln.merchant for o in batch for ln in o.lines}, {(ln.merchant, ln.sku) for o in batch for ln in o.lines})
            problems = [p for o in batch for p in _line_problems(o, catalogs, fmt, operator=merchant is None)]
            if problems or errors:
                raise FileRejected(errors + problems)
            orders = [_channel_order(o, catalogs, job.channel) for o in batch]
            used = {catalogs.merchant(ln.merchant).pk: catalogs.merchant(ln.merchant) for o in batch for ln in o.lines}
            with in_public_schema():
                result = orders_import_chunk(channel=job.channel, scope=scope, orders=orders, merchants=used, actor=actor)
                created += len(result.created)
                skipped += len(result.skipped)
                processed += len(batch)
                _job_set(job.pk, processed_orders=processed, created_orders=created, skipped_orders=skipped)

        for order in parsed_orders(table, fmt, errors, store_column=merchant is None or fmt is MALLARD):
            batch.append(order)
            if len(batch) >= progress_every:
                write(batch)
                batch = []
        if errors:
            raise FileRejected(errors)
        if batch:
            write(batch)
    except FileRejected as exc:
        _finish(job.pk, path, status=OrderImportJob.Status.FAILED, errors=exc.errors,
                message=_("The file no longer passes its checks (the catalog changed?); %(n)s orders were imported before this.") % {"n": created})
    except (DomainError, PermissionDenied) as exc:
        _finish(job.pk, path, status=OrderImportJob.Status.FAILED,
                message=_("Stopped after %(n)s orders were imported: %(why)s Importing the file again skips them and writes the rest.")
                % {"n": created, "why": exc.message})
    except Exception:
        log.exception("order import %s failed", job.pk)
        _finish(job.pk, path, status=OrderImportJob.Status.FAILED,
                message=_("Stopped after %(n)s orders were imported by an internal error (logged). Importing the file again skips them.")
                % {"n": created})
        raise
    else:
        _finish(job.pk, path, status=OrderImportJob.Status.DONE)
        if actor is not None:
            from permissions.services import audit_record

            with in_public_schema():
                audit_record(actor=actor, entity="order_import", entity_id=str(job.pk), action="imported",
                             after={"channel": job.channel, "file": job.filename, "created": created, "skipped": skipped},
                             schema_name=merchant.schema_name if merchant is not None else None)
    with in_public_schema():
        return OrderImportJob.objects.get(pk=job.pk)
