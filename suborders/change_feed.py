"""Reads: the change feed of this store's suborders for integrations (GET /api/v1/suborders/changes/).

Stable under concurrent writes. `updated_at` is the writer's clock at write time, not its commit time:
a transaction that stamped 10:00:00 and commits at 10:00:05 becomes visible after a reader has already
handed out rows of 10:00:03 and moved its cursor past them, so a plain `updated_at > cursor` loses it.

Instead every suborder row carries `change_xid`, the full id of the transaction that last wrote it
(stamped by a database trigger, migration 0010), and the feed pages by (change_xid, id), handing out
only rows whose writer is older than every transaction still running in this database
(`change_xid <` the oldest of `pg_snapshot_xip(pg_current_snapshot())` that is ours, in the same
statement and snapshot; see _HORIZON). A
transaction still running when the reader looks has an id >= that horizon, and one not yet begun will
get a larger id: whatever it commits sorts after every cursor handed out so far, so it is returned on a
later page. The price: a change waits until every transaction that began writing before it has ended
(a long writing transaction in this database delays the feed, never loses a row).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.core import signing
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from core.tenancy import merchant_only
from suborders.models import SubOrder
from suborders.selectors import _moment, _RowCompare, _text

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
_SALT = "suborders.changes.cursor"
# The horizon, in this statement's own snapshot (xid8 as bigint, like change_xid): the oldest transaction
# still running that may write our tables, else the snapshot's xmax (every older one has ended).
# pg_snapshot_xmin() alone would be the oldest running transaction of the whole server: a writer in
# another database (a second app, another test run) cannot write these rows but would hold the feed
# back. So a running transaction is left out only when it is positively known to be in another
# database: its transactionid lock is held by a backend connected there. One whose lock or backend
# cannot be found (it just ended; a prepared two-phase transaction has no backend) is kept: safe side.
# The reader's own transaction, if it wrote anything, counts too (its rows could still roll back).
# pg_locks names the 32-bit xid, so the full xid is compared modulo 2^32.
_HORIZON = """(
    SELECT LEAST(pg_snapshot_xmax(snap.s), pg_current_xact_id_if_assigned(), (
        SELECT min(x) FROM pg_snapshot_xip(snap.s) AS x
        WHERE NOT EXISTS (
            SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'transactionid' AND l.transactionid::text::bigint = x::text::bigint %% 4294967296
              AND a.datname IS DISTINCT FROM current_database())))::text::bigint
    FROM (SELECT pg_current_snapshot() AS s) AS snap)"""


@dataclass(frozen=True)
class ChangeFilters:
    after: tuple[int, int] = (0, 0)  # (change_xid, id) of the last row handed out
    updated_after: datetime | None = None
    limit: int = PAGE_SIZE


@dataclass(frozen=True)
class ChangePage:
    rows: list[SubOrder]
    next_cursor: str  # always present: where to go on from (poll again with it when nothing was left)
    has_more: bool  # more rows are ready now: ask again at once


def change_cursor_encode(position: tuple[int, int]) -> str:
    """Signed, without a timestamp: the same position always gives the same cursor (a client may compare them)."""
    return signing.Signer(salt=_SALT).sign_object({"x": position[0], "i": position[1]}, compress=False)


def _cursor_decode(text: str) -> tuple[int, int]:
    try:
        data = signing.Signer(salt=_SALT).unsign_object(text)
        position = (int(data["x"]), int(data["i"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ValidationFailed(_("This cursor is not one the change feed gave out (or is damaged); start without `after`."),
                               field="after") from None
    if position[0] < 0 or position[1] < 0:
        raise ValidationFailed(_("This cursor is not one the change feed gave out (or is damaged); start without `after`."),
                               field="after")
    return position


def change_filters_parse(params: Mapping[str, str]) -> ChangeFilters:
    """Query string -> filters; the first refused value raises ValidationFailed naming it
    (`after`, `updated_after`, `limit`)."""
    values: dict = {}
    after = _text(params.get("after"), "after", 400)
    if after:
        values["after"] = _cursor_decode(after)
    updated_after = _text(params.get("updated_after"), "updated_after", 40)
    if updated_after:
        values["updated_after"] = _moment(updated_after, "updated_after", end=False)
    limit = _text(params.get("limit"), "limit", 4)
    if limit:
        if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= MAX_PAGE_SIZE:
            raise ValidationFailed(_("limit must be a whole number between 1 and %(max)s.") % {"max": MAX_PAGE_SIZE},
                                   field="limit")
        values["limit"] = int(limit)
    return ChangeFilters(**values)


@merchant_only
def suborder_changes_for_merchant(*, filters: ChangeFilters, warehouse_ids: frozenset[int] | None = None,
                                  suborder_ids: frozenset[int] | None = None) -> ChangePage:
    """The next page of suborders changed after the cursor, oldest change first, each in its current state.

    A suborder changed again later appears again later (at its new position); one changed by a
    transaction still running appears once it has committed and every older writer has ended."""
    qs = SubOrder.objects.filter(change_xid__lt=RawSQL(_HORIZON, []))
    if filters.after != (0, 0):
        qs = qs.filter(_RowCompare(("change_xid", "id"), filters.after, ">"))
    if filters.updated_after is not None:
        qs = qs.filter(updated_at__gte=filters.updated_after)
    if warehouse_ids is not None:
        qs = qs.filter(warehouse_id__in=sorted(warehouse_ids))
    if suborder_ids is not None:
        qs = qs.filter(pk__in=sorted(suborder_ids))
    rows = list(qs.order_by("change_xid", "id").prefetch_related("lines")[:filters.limit + 1])
    has_more = len(rows) > filters.limit
    rows = rows[:filters.limit]
    position = (rows[-1].change_xid, rows[-1].pk) if rows else filters.after
    return ChangePage(rows=rows, next_cursor=change_cursor_encode(position), has_more=has_more)
