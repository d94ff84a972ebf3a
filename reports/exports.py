"""Exports that never block: a person asks for an export of a list, a Celery task writes the file.

- `export_start` checks the capability and the list's filters (a bad value is refused naming the field, and
  nothing is queued), writes an ExportJob in `public` and queues `exports_run` after the commit.
- `export_run` reads the rows in ONE REPEATABLE READ transaction (a writer committing meanwhile is not
  seen: the file is the list as it was when the export started, complete) a page of EXPORT_PAGE rows at
  a time through the list's own keyset pagination, so memory stays constant; CSV and XLSX go through
  core.exports (formula-safe; XLSX in openpyxl's write-only mode) into a temporary file, then into
  Django's storage under exports/<schema>/<id>.<format>. Progress is written on a side connection so the
  polling page sees it while the read transaction is still open.
- What a row shows is decided with the actor's FieldAccess (permissions.visibility), as on the pages:
  no price columns at all for warehouse staff, names, phones and street masked for finance.
- Only the actor who asked may download, on the same merchant's host (`export_for_actor`).
"""
from __future__ import annotations

import csv
import logging
import tempfile
from collections.abc import Iterator
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.exports import FORMULA_STARTS, csv_cell, export_xlsx
from core.tenancy import in_merchant_schema, in_public_schema, side_connection
from reports.exports_models import ExportJob

log = logging.getLogger(__name__)

EXPORT_PAGE = 500
KIND_CAPABILITY = {ExportJob.Kind.SUBORDERS: "suborders.view", ExportJob.Kind.STOCK: "stock.view",
                   ExportJob.Kind.JOURNAL: "stock.view"}


def keep_days() -> int:
    return int(getattr(settings, "EXPORT_KEEP_DAYS", 7))


# ---------------------------------------------------------------- starting one

def export_start(*, actor, merchant, kind: str, fmt: str, params) -> ExportJob:
    """Queue an export of `kind` (suborders, stock) of `merchant` for `actor` with the list's query params."""
    from permissions.selectors import user_can

    if kind not in KIND_CAPABILITY:
        raise ValidationFailed(_("Choose what to export: suborders, stock or the stock journal."), field="kind")
    if fmt not in ExportJob.Format.values:
        raise ValidationFailed(_("Choose CSV or XLSX."), field="format")
    if not user_can(user=actor, merchant=merchant, capability=KIND_CAPABILITY[kind]):
        raise PermissionDenied(_("Your role cannot export this list."))
    filters = {k: str(v) for k, v in params.items() if k not in ("cursor", "limit", "format", "kind", "csrfmiddlewaretoken")}
    if kind == ExportJob.Kind.SUBORDERS:
        from suborders.selectors import suborder_list_filters_parse

        with in_merchant_schema(merchant):
            _f, errors = suborder_list_filters_parse(filters)
        if errors:
            raise errors[0]
    if kind == ExportJob.Kind.JOURNAL:
        _journal_dates(filters)
    with in_public_schema(), transaction.atomic():
        job = ExportJob.objects.create(merchant_id=merchant.pk, actor=actor, kind=kind, format=fmt, filters=filters)
        job_id = str(job.pk)
        transaction.on_commit(lambda: exports_run.delay(job_id))
    return job


def export_for_actor(*, job_id, actor, merchant) -> ExportJob:
    """The job if `actor` asked for it on this merchant; NotFound otherwise (another's real id included)."""
    with in_public_schema():
        job = ExportJob.objects.filter(pk=job_id, actor_id=actor.pk,
                                       merchant_id=merchant.pk if merchant is not None else None).first()
    if job is None:
        raise NotFound(_("No such export."))
    return job


def export_recent(*, actor, merchant, limit: int = 10) -> list[ExportJob]:
    with in_public_schema():
        return list(ExportJob.objects.filter(actor_id=actor.pk, merchant_id=merchant.pk)[:limit])


# ---------------------------------------------------------------- the rows

def _money(minor: int) -> float:
    return minor / 100


def suborder_rows(*, filters: dict, actor, merchant, count_to=None) -> Iterator[list]:
    """Header, then one row per suborder of the list filtered as `filters`, in the list's order, a page at a
    time. Runs in the merchant's schema, inside the caller's (snapshot) transaction."""
    from dataclasses import replace

    from permissions.visibility import address_for, field_access
    from suborders.models import SubOrderLine
    from suborders.selectors import (
        _cursor_decode,
        _filtered,
        _search_kinds,
        suborder_filters_for_actor,
        suborder_list_filters_parse,
        suborder_list_for_merchant,
    )

    see = field_access(user=actor, merchant=merchant)
    f, _errors = suborder_list_filters_parse(filters)
    if not see.amounts and f.ordering in ("-total", "total"):
        f = replace(f, ordering="-created")
    f = replace(suborder_filters_for_actor(f, actor=actor), limit=EXPORT_PAGE, after=None)
    if count_to is not None and not _search_kinds(f.q) and f.flagged is not True:
        count_to(_filtered(f).count())
    head = [_("Suborder"), _("Order"), _("Created"), _("Status"), _("Warehouse"), _("Channel"), _("Shopper"),
            _("Phone"), _("Province"), _("City"), _("District"), _("Street"), _("Items")]
    if see.amounts:
        head += [_("Currency"), _("Subtotal"), _("Shipping"), _("Discount"), _("Total")]
    yield head
    tz = timezone.get_current_timezone()
    while True:
        page = suborder_list_for_merchant(filters=f)
        lines: dict[int, list[str]] = {}
        for line in SubOrderLine.objects.filter(suborder_id__in=[so.pk for so in page.rows]).only(
                "suborder_id", "sku", "quantity"):
            lines.setdefault(line.suborder_id, []).append(f"{line.sku}×{line.quantity}")
        for so in page.rows:
            a = address_for(see, so.shipping_address)
            row = [so.number, so.order_number, timezone.localtime(so.created_at, tz).strftime("%Y-%m-%d %H:%M"),
                   so.status, so.warehouse_name, so.channel, a.get("name", ""), a.get("phone", ""), a.get("region", ""),
                   a.get("city", ""), a.get("district", ""),
                   " ".join(str(a.get(k) or "") for k in ("line1", "line2") if a.get(k)),
                   ", ".join(lines.get(so.pk, []))]
            if see.amounts:
                row += [so.currency, _money(so.subtotal_minor), _money(so.shipping_minor), _money(so.discount_minor),
                        _money(so.total_minor)]
            yield row
        if not page.next_cursor:
            return
        f = replace(f, after=_cursor_decode(page.next_cursor, f.ordering))


def stock_rows(*, filters: dict, actor, merchant, count_to=None) -> Iterator[list]:
    """Header, then one row per stock level (variant × warehouse) the actor may see, by id pages."""
    from catalog.models import StockLevel
    from catalog.selectors import warehouse_scope_for

    qs = StockLevel.objects.select_related("variant", "warehouse").order_by("id")
    scope = warehouse_scope_for(user=actor, merchant=merchant)
    if scope is not None:
        qs = qs.filter(warehouse_id__in=sorted(scope))
    if count_to is not None:
        count_to(qs.count())
    yield [_("SKU"), _("Warehouse"), _("On hand"), _("Reserved"), _("Available")]
    last = 0
    while True:
        page = list(qs.filter(id__gt=last)[:EXPORT_PAGE])
        for s in page:
            yield [s.variant.sku, s.warehouse.name, s.on_hand, s.reserved, s.on_hand - s.reserved]
        if len(page) < EXPORT_PAGE:
            return
        last = page[-1].id


def _journal_dates(filters: dict):
    """The journal's `from` and `to` (dates, both inclusive), refused naming the field."""
    import datetime as dt

    out = []
    for field in ("from", "to"):
        raw = (filters.get(field) or "").strip()
        try:
            out.append(dt.date.fromisoformat(raw) if raw else None)
        except ValueError:
            raise ValidationFailed(_("Enter a date as YYYY-MM-DD."), field=field) from None
    return out


def journal_rows(*, filters: dict, actor, merchant, count_to=None) -> Iterator[list]:
    """Header, then the stock journal's movements (oldest first) in the actor's warehouses, by id pages up
    to the last id there was at the start."""
    import datetime as dt

    from catalog.models import StockMovement
    from catalog.selectors import warehouse_scope_for

    start, end = _journal_dates(filters)
    qs = StockMovement.objects.select_related("variant", "warehouse").order_by("id")
    scope = warehouse_scope_for(user=actor, merchant=merchant)
    if scope is not None:
        qs = qs.filter(warehouse_id__in=sorted(scope))
    if start:
        qs = qs.filter(created_at__gte=timezone.make_aware(dt.datetime.combine(start, dt.time())))
    if end:
        qs = qs.filter(created_at__lt=timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time())))
    top = qs.order_by("-id").values_list("id", flat=True).first() or 0
    qs = qs.filter(id__lte=top)
    if count_to is not None:
        count_to(qs.count())
    yield [_("Time"), _("Kind"), _("SKU"), _("Warehouse"), _("On hand change"), _("Reserved change"), _("Reason"),
           _("Reference")]
    last = 0
    while True:
        page = list(qs.filter(id__gt=last)[:EXPORT_PAGE])
        for m in page:
            yield [timezone.localtime(m.created_at).strftime("%Y-%m-%d %H:%M:%S"), m.kind, m.variant.sku, m.warehouse.name,
                   m.on_hand_delta, m.reserved_delta, m.reason, m.reference]
        if len(page) < EXPORT_PAGE:
            return
        last = page[-1].id


ROWS = {ExportJob.Kind.SUBORDERS: suborder_rows, ExportJob.Kind.STOCK: stock_rows, ExportJob.Kind.JOURNAL: journal_rows}


# ---------------------------------------------------------------- running one

def _write_csv(rows, target) -> None:
    import io

    text = io.TextIOWrapper(target, encoding="utf-8", newline="")
    text.write("\ufeff")
    writer = csv.writer(text)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    text.flush()
    text.detach()


def export_run(job_id) -> ExportJob:
    """Write the job's file (see the module doc). A failure marks the job failed with a short reason."""
    from django.contrib.auth import get_user_model

    from tenants.models import Merchant

    with in_public_schema():
        job = ExportJob.objects.get(pk=job_id)
        if job.status not in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
            return job
        actor = get_user_model().objects.get(pk=job.actor_id)
        merchant = Merchant.objects.get(pk=job.merchant_id)
        # progress goes on a side connection so the polling page sees it during the read transaction; a
        # caller already inside a transaction (tests) would hide the job's row from it: then on this one
        side = None if connection.in_atomic_block else side_connection()
    try:
        def progress(**fields):
            sets = ", ".join(f"{k} = %s" for k in fields)
            if side is None:
                with in_public_schema():
                    ExportJob.objects.filter(pk=job.pk).update(**fields)
                return
            with side.cursor() as cur:
                cur.execute(f"UPDATE reports_exportjob SET {sets} WHERE id = %s", [*fields.values(), job.pk])  # noqa: S608  fixed column names

        progress(status=ExportJob.Status.RUNNING)
        counted = {"n": 0}

        def counting(rows):
            for i, row in enumerate(rows):
                yield row
                if i and i % EXPORT_PAGE == 0:
                    counted["n"] = i
                    progress(row_count=i)
                if i:
                    counted["n"] = i

        with tempfile.TemporaryFile() as tmp:
            with in_merchant_schema(merchant):
                snapshot = not connection.in_atomic_block
                with transaction.atomic():
                    if snapshot:  # one snapshot for every page: rows committed meanwhile are not half-seen
                        with connection.cursor() as cur:
                            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    rows = ROWS[job.kind](filters=job.filters, actor=actor, merchant=merchant,
                                          count_to=lambda n: progress(total_rows=n))
                    if job.format == ExportJob.Format.XLSX:
                        export_xlsx(counting(rows), tmp, sheet=job.kind)
                    else:
                        _write_csv(counting(rows), tmp)
            tmp.seek(0)
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
            with in_public_schema():
                name = default_storage.save(f"exports/{merchant.schema_name}/{job.pk}.{job.format}", File(tmp))
                now = timezone.now()
                with transaction.atomic():  # done, and the event that emails the asker, together
                    ExportJob.objects.filter(pk=job.pk).update(
                        status=ExportJob.Status.DONE, row_count=counted["n"], file_name=name, finished_at=now,
                        expires_at=now + timedelta(days=keep_days()), error="")
                    from reports.export_notices import export_ready_emit

                    export_ready_emit(job=ExportJob.objects.get(pk=job.pk), merchant=merchant)
        log.info("export %s (%s %s) of %s: %s rows, %s", job.pk, job.kind, job.format, merchant.schema_name,
                 counted["n"], stamp)
    except Exception as exc:
        log.exception("export %s failed", job.pk)
        with in_public_schema():
            ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.FAILED, error=str(exc)[:300],
                                                       finished_at=timezone.now())
    finally:
        if side is not None:
            side.close()
    with in_public_schema():
        return ExportJob.objects.get(pk=job.pk)


def download_name(job: ExportJob, merchant) -> str:
    return f"{job.kind}-{merchant.slug}-{timezone.localtime(job.created_at).strftime('%Y%m%d-%H%M')}.{job.format}"


def exports_sweep() -> int:
    """Delete files and rows of exports past their expiry."""
    n = 0
    with in_public_schema():
        for job in ExportJob.objects.filter(expires_at__lt=timezone.now()):
            if job.file_name:
                default_storage.delete(job.file_name)
            job.delete()
            n += 1
    return n


@shared_task(name="reports.tasks.exports_run", acks_late=True, ignore_result=True)
def exports_run(job_id: str) -> None:
    export_run(job_id)


@shared_task(name="reports.tasks.exports_sweep", ignore_result=True)
def exports_sweep_task() -> int:
    return exports_sweep()


__all__ = ["FORMULA_STARTS", "export_for_actor", "export_recent", "export_run", "export_start"]
