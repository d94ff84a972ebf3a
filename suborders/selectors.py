"""Reads of suborders for the merchant's dashboard and API (current merchant schema only).

The list (`suborder_list_for_merchant`) is filtered, searched, sorted and paginated in the database:
one query per page, keyset on (sort key, id) behind an opaque cursor, each predicate backed by an
index of migration 0003. The page and the API parse their query string with the same
`suborder_list_filters_parse`.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core import signing
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, Expression, F, Func, OuterRef, Q, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Reverse, Upper
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from core.errors import NotFound, ValidationFailed
from core.tenancy import current_merchant, merchant_only
from fulfillment.carriers import CARRIERS, carrier_get
from fulfillment.models import Shipment
from suborders.models import SubOrder, SubOrderLine
from suborders.states import SubOrderStatus

# ordering -> (sort key before the id tie-break, descending). Each has an index that returns rows in
# this order: (created_at, id), (total_minor, id), (status, created_at).
LIST_ORDERINGS: dict[str, tuple[tuple[str, ...], bool]] = {
    "-created": (("created_at",), True),
    "created": (("created_at",), False),
    "-total": (("total_minor",), True),
    "total": (("total_minor",), False),
    "-status": (("status", "created_at"), True),
    "status": (("status", "created_at"), False),
}
PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
_CURSOR_SALT = "suborders.list.cursor"
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUMBER_RE = re.compile(r"[0-9A-Z][0-9A-Z-]*")
_PHONE_RE = re.compile(r"\+?[0-9][0-9 ()-]*")
_SKU_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")


@dataclass(frozen=True)
class SubOrderListFilters:
    status: str | None = None
    created_from: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    warehouse_id: int | None = None
    carrier: str | None = None
    channel: str | None = None  # where it was sold: mallard, or an import channel (imports/)
    late: bool | None = None
    flagged: bool | None = None  # late, or a parcel of it needs a look (fulfillment.selectors.shipments_flagged)
    q: str = ""
    ordering: str = "-created"
    after: tuple | None = None  # from the cursor: the sort key values and id of the last row shown
    limit: int = PAGE_SIZE
    warehouse_ids: frozenset[int] | None = None  # the viewer's warehouse grants (None: every warehouse)
    suborder_ids: frozenset[int] | None = None  # an agent limited to their assigned suborders (None: all)


@dataclass(frozen=True)
class SubOrderPage:
    rows: list[SubOrder]
    next_cursor: str | None  # None on the last page
    searched: tuple[str, ...] = ()  # what `q` was matched against: number, phone, tracking, sku, name


# --- parsing the query string (page and API) ------------------------------------------------------

def _text(raw, field: str, max_length: int) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if len(text) > max_length or _CONTROL.search(text):
        raise ValidationFailed(_("%(field)s is too long or contains control characters.") % {"field": field}, field=field)
    return text


def _ascii_digits(text: str, field: str) -> int:
    if not text or len(text) > 18 or not text.isascii() or not text.isdigit():
        raise ValidationFailed(_("%(field)s must be a whole number.") % {"field": field}, field=field)
    return int(text)


def _moment(text: str, field: str, *, end: bool) -> datetime:
    """A date (the whole day, in the viewer's zone) or a date and time; `end` gives the exclusive bound."""
    bad = ValidationFailed(_("%(field)s must be a date like 2026-12-01 or a date and time like 2026-12-01T08:30+08:00.")
                           % {"field": field}, field=field)
    if not text.isascii() or len(text) > 40:
        raise bad
    try:
        day = parse_date(text)
        if day is not None:
            moment = datetime.combine(day + timedelta(days=1) if end else day, time.min)
        else:
            moment = parse_datetime(text)
            if moment is None:
                raise bad
            if end:
                moment += timedelta(microseconds=1)  # "to" a moment includes that moment
    except (ValueError, OverflowError):
        raise bad from None
    if not 2000 <= moment.year <= 2100:
        raise bad
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _flag(text: str, field: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValidationFailed(_("%(field)s must be true or false.") % {"field": field}, field=field)


def _search(text: str) -> str:
    text = " ".join(text.split())
    if any(ch.isdigit() and not ch.isascii() for ch in text):
        raise ValidationFailed(_("Type digits as 0–9."), field="q")
    if len(text) < 2:
        raise ValidationFailed(_("Type at least 2 characters to search."), field="q")
    if not _search_kinds(text):
        raise ValidationFailed(_("Search by order or suborder number, shopper name, phone, tracking number or SKU."), field="q")
    return text


def _status(text: str) -> str:
    if text not in SubOrderStatus.values:
        raise ValidationFailed(_("Unknown status %(status)s; use one of %(statuses)s.")
                               % {"status": text[:30], "statuses": ", ".join(SubOrderStatus.values)}, field="status")
    return text


def _carrier(text: str) -> str:
    carrier = carrier_get(text)
    if carrier is None:
        raise ValidationFailed(_("Unknown carrier %(code)s; use one of %(codes)s.")
                               % {"code": text[:20], "codes": ", ".join(CARRIERS)}, field="carrier")
    return carrier.code


def _ordering(text: str) -> str:
    if text not in LIST_ORDERINGS:
        raise ValidationFailed(_("ordering must be one of %(orderings)s.") % {"orderings": ", ".join(LIST_ORDERINGS)},
                               field="ordering")
    return text


def _channel(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", text):
        raise ValidationFailed(_("A channel is lowercase letters, digits, - and _, such as shopify."), field="channel")
    return text


def _limit(text: str) -> int:
    n = _ascii_digits(text, "limit")
    if not 1 <= n <= MAX_PAGE_SIZE:
        raise ValidationFailed(_("limit must be between 1 and %(max)s.") % {"max": MAX_PAGE_SIZE}, field="limit")
    return n


# query parameter -> (max length, parser returning the SubOrderListFilters fields it sets)
_PARAMS = {
    "status": (30, lambda t: {"status": _status(t)}),
    "from": (40, lambda t: {"created_from": _moment(t, "from", end=False)}),
    "to": (40, lambda t: {"created_before": _moment(t, "to", end=True)}),
    "warehouse": (18, lambda t: {"warehouse_id": _ascii_digits(t, "warehouse")}),
    "carrier": (20, lambda t: {"carrier": _carrier(t)}),
    "channel": (32, lambda t: {"channel": _channel(t)}),
    "late": (5, lambda t: {"late": _flag(t, "late")}),
    "flagged": (5, lambda t: {"flagged": _flag(t, "flagged")}),
    "q": (100, lambda t: {"q": _search(t)}),
    "ordering": (10, lambda t: {"ordering": _ordering(t)}),
    "limit": (3, lambda t: {"limit": _limit(t)}),
}


def suborder_list_filters_parse(params: Mapping[str, str]) -> tuple[SubOrderListFilters, list[ValidationFailed]]:
    """Query-string values -> filters, and one error (naming its field) per value that was refused.

    The API refuses the request on the first error; the page shows every error and lists without
    the refused values. Unknown parameters are ignored.
    """
    values: dict = {}
    errors: list[ValidationFailed] = []
    for name, (max_length, parse) in _PARAMS.items():
        try:
            text = _text(params.get(name), name, max_length)
            if text:
                values.update(parse(text))
        except ValidationFailed as err:
            errors.append(err)
    if values.get("created_from") and values.get("created_before") and values["created_from"] >= values["created_before"]:
        errors.append(ValidationFailed(_("to must be after from."), field="to"))
        values.pop("created_before")
    try:
        text = _text(params.get("cursor"), "cursor", 300)
        if text:
            values["after"] = _cursor_decode(text, values.get("ordering", "-created"))
    except ValidationFailed as err:
        errors.append(err)
    return SubOrderListFilters(**values), errors


# --- the cursor: the sort key of the last row shown, signed so that it stays opaque ---------------

def _cursor_encode(row: SubOrder, ordering: str) -> str:
    keys, _desc = LIST_ORDERINGS[ordering]
    values = [getattr(row, k) for k in keys]
    return signing.dumps({"o": ordering, "k": [v.isoformat() if isinstance(v, datetime) else v for v in values], "i": row.pk},
                         salt=_CURSOR_SALT, compress=False)


def _cursor_decode(text: str, ordering: str) -> tuple:
    bad = ValidationFailed(_("This cursor does not belong to this list (or is damaged); start from the first page."),
                           field="cursor")
    try:
        data = signing.loads(text, salt=_CURSOR_SALT)
        keys, _desc = LIST_ORDERINGS[ordering]
        if data["o"] != ordering or len(data["k"]) != len(keys):
            raise bad
        out = []
        for key, value in zip(keys, data["k"], strict=True):
            if key == "created_at":
                out.append(datetime.fromisoformat(value))
            elif key == "total_minor":
                out.append(int(value))
            else:
                out.append(_status(value))
        return (*out, int(data["i"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, ValidationFailed):
        raise bad from None


# --- the query ------------------------------------------------------------------------------------

class _RowCompare(Expression):
    """`(a, b, id) < (x, y, z)`: a row comparison, which PostgreSQL uses as a range on an index of
    (a, b[, id]); the OR-of-ANDs Django would write instead is only a filter."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, fields, values, op: str):
        super().__init__(output_field=BooleanField())
        self.cols, self.values, self.op = [F(f) for f in fields], list(values), op

    def get_source_expressions(self):
        return self.cols

    def set_source_expressions(self, exprs):
        self.cols = list(exprs)

    def as_sql(self, compiler, connection):
        sqls, params = [], []
        for col in self.cols:
            sql, p = compiler.compile(col)
            sqls.append(sql)
            params.extend(p)
        return f"({', '.join(sqls)}) {self.op} ({', '.join(['%s'] * len(self.values))})", (*params, *self.values)


def _regexp_replace(expr, pattern: str, replacement: str):
    return Func(expr, Value(pattern), Value(replacement), Value("g"), function="REGEXP_REPLACE", output_field=TextField())


# The same expressions as the indexes of migration 0003 (so PostgreSQL matches them to the index).
def _phone_digits_reversed():
    return Reverse(_regexp_replace(KeyTextTransform("phone", "shipping_address"), "[^0-9]", ""))


def _name_doubled():
    return _regexp_replace(Upper(KeyTextTransform("name", "shipping_address")), "(.)", "\\1\\1")


def _doubled(text: str) -> str:
    """Upper-case (one character for one, like PostgreSQL's upper) and double every character: the
    fragment "秀英" of "王秀英" has no whole trigram, but "秀秀英英" in "王王秀秀英英" has two.

    Exact, with no ILIKE beside it: the doubled name contains the doubled fragment if and only if the
    name contains the fragment (an occurrence out of step needs a run of one repeated character, which
    then contains the fragment too). A second, redundant condition would make the planner square the
    selectivity and fetch 12 000 rows by trigrams for "tho" (docs/benchmarks.md)."""
    return "".join((u if len(u := ch.upper()) == 1 else ch) * 2 for ch in text)


def _search_kinds(q: str) -> list[str]:
    """What `q` can be: one text box for order and suborder numbers, phones, tracking numbers, SKUs and names."""
    if not q:
        return []
    compact = q.upper().replace(" ", "")
    kinds = []
    # order and suborder numbers begin with their date (YYMMDD, orders.services.checkout._order_number):
    # a word without a digit is no number's prefix, and a name fragment then needs no second branch
    if " " not in q and _NUMBER_RE.fullmatch(compact) and any(ch.isdigit() for ch in compact):
        kinds.append("number")
    if _PHONE_RE.fullmatch(q) and sum(ch.isdigit() for ch in q) >= 4:
        kinds.append("phone")
    if any(c.valid(compact) for c in CARRIERS.values()):
        kinds.append("tracking")
    if _SKU_RE.fullmatch(q):
        kinds.append("sku")
    if any(ch.isalpha() for ch in q) and not any(ch.isdigit() for ch in q):
        kinds.append("name")
    return kinds


def _search_predicate(kind: str, q: str, sku_ids: list[int] | None = None) -> Q:
    """The predicate of one kind of search. Each kind is its own branch of a UNION so that every one can
    use its own index (an OR across them, or across tables, would be a scan)."""
    compact = q.upper().replace(" ", "")
    if kind == "number":
        return Q(number__startswith=compact) | Q(order_number__startswith=compact)
    if kind == "phone":
        return Q(phone_digits_reversed__startswith=re.sub(r"[^0-9]", "", q)[::-1])
    if kind == "tracking":
        return Q(pk__in=Shipment.objects.filter(tracking_number=compact).values("suborder_id"))
    if kind == "sku":
        if sku_ids is not None:  # a rare SKU: its few suborders, by id (see _sku_suborders)
            return Q(pk__in=sku_ids)
        # the SKUs on the row (migration 0005): read in the pages the newest-first walk visits anyway, or
        # through the GIN index, instead of probing the lines of every suborder walked
        return Q(skus__overlap=sorted({q, q.upper()}))
    return Q(name_doubled__contains=_doubled(q))


@contextmanager
def _planned_for_its_values():
    """Run the search under `plan_cache_mode = force_custom_plan` (this transaction only).

    With server-side prepared statements (settings: DB_PREPARE_THRESHOLD) PostgreSQL switches a
    statement run 5 times to a generic plan, made without the values: after a few searches for a
    common SKU, a SKU on fewer than a page of suborders walked the whole list newest first (3.7 s at
    a million suborders), and a rare name fragment could do the same. The right plan depends on the
    value (walk newest first for a common one, the index for a rare one), so SKU and name searches are
    planned for their own values; planning costs ~1 ms. (Number, phone and tracking searches keep
    their cached plans: a generic plan of theirs looks dearer than the custom one, so PostgreSQL keeps
    planning them per value.)"""
    outer = connection.in_atomic_block
    with transaction.atomic(savepoint=False), connection.cursor() as cur:
        cur.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield
        if outer:  # not our transaction: leave it as it was
            cur.execute("SET LOCAL plan_cache_mode = DEFAULT")


RARE_SKU_LINES = 500


def _sku_suborders(q: str) -> list[int] | None:
    """The suborders of a rare SKU: [] when no line has it, their ids when fewer than RARE_SKU_LINES
    lines do, None for a common SKU (one index-only range of suborderline_sku_idx, at most
    RARE_SKU_LINES + 1 entries).

    PostgreSQL estimates a SKU from the statistics of `skus`; one it did not sample (absent, or new
    and rare) gets the least common sampled SKU's share, and the list is walked newest first looking
    for 51 suborders that do not exist: 5.7 s for an absent SKU on 12-01, 7.0 s for one with the SKUs on
    the row. So an absent SKU is not searched, and a rare one is searched by its suborders' ids."""
    ids = list(SubOrderLine.objects.filter(sku__in=sorted({q, q.upper()})).order_by("sku", "suborder_id")  # the index's order:
               .values_list("suborder_id", flat=True)[:RARE_SKU_LINES + 1])  # without it, a LIMIT over a seq scan (0.3-1 s)
    return None if len(ids) > RARE_SKU_LINES else sorted(set(ids))


def _filtered(f: SubOrderListFilters):
    qs = SubOrder.objects.all()
    if f.status:
        qs = qs.filter(status=f.status)
    if f.created_from:
        qs = qs.filter(created_at__gte=f.created_from)
    if f.created_before:
        qs = qs.filter(created_at__lt=f.created_before)
    if f.warehouse_id is not None:
        qs = qs.filter(warehouse_id=f.warehouse_id)
    if f.warehouse_ids is not None:
        qs = qs.filter(warehouse_id__in=sorted(f.warehouse_ids))
    if f.suborder_ids is not None:
        qs = qs.filter(pk__in=sorted(f.suborder_ids))
    if f.channel == "mallard":
        qs = qs.filter(channel="mallard")
    elif f.channel:  # an imported order always has its external id: the partial unique index serves this
        qs = qs.filter(channel=f.channel).exclude(external_order_id="")
    if f.carrier:
        qs = qs.filter(Exists(Shipment.objects.filter(suborder_id=OuterRef("pk"), carrier=f.carrier)))
    if f.late is not None:
        qs = qs.filter(is_late=f.late)
    if f.flagged is False:  # flagged=True is two branches of the page's UNION: see _flagged_branches
        qs = qs.filter(is_late=False).exclude(pk__in=_flagged_parcels())
    return qs


def _flagged_parcels():
    """The suborder ids of this store's parcels that need a look (carrier exception, or no scan for
    TRACKING_STALE_DAYS): one range of the shipments' partial index `shipment_needs_look_idx`."""
    from fulfillment.selectors import shipments_flagged

    return shipments_flagged().values("suborder_id")


def _flagged_branches(base, f: SubOrderListFilters) -> list:
    """flagged=true means "late, or a parcel needs a look" (docs/decisions.md): two branches, each found
    through its own index (the late suborders' partial index; the flagged parcels' index, then their
    suborders by id), never one OR across tables, which PostgreSQL could only check row by row while
    walking the whole list. Without the filter: the base alone, so the unfiltered list is unchanged."""
    if f.flagged is not True:
        return [base]
    return [base.filter(is_late=True), base.filter(pk__in=_flagged_parcels())]


@merchant_only
def suborder_list_for_merchant(*, filters: SubOrderListFilters | None = None) -> SubOrderPage:
    """One page of this store's suborders: filters, search and sort applied by PostgreSQL."""
    f = filters or SubOrderListFilters()
    keys, desc = LIST_ORDERINGS[f.ordering]
    fields = (*keys, "id")
    order = [f"-{k}" if desc else k for k in fields]
    base = _filtered(f)
    if f.after is not None:
        base = base.filter(_RowCompare(fields, f.after, "<" if desc else ">"))
    n = f.limit + 1  # one more than shown: is there a next page?
    kinds = _search_kinds(f.q)
    sku_ids = _sku_suborders(f.q) if "sku" in kinds else None
    branches = [k for k in kinds if k != "sku" or sku_ids != []]
    if kinds and not branches:
        return SubOrderPage(rows=[], next_cursor=None, searched=tuple(kinds))
    # The ids of the page first, then its rows: finding them often needs only indexes (the keyset
    # order, the SKU and carrier probes), and only the n rows shown are read from the table.
    # Each branch (flagged: late / a parcel needs a look; search: one per kind) takes its own first n ids
    # in the page's order; the union's first n are the page.
    parts = []
    for start in _flagged_branches(base, f):
        if not branches:
            parts.append(start.order_by(*order).values("pk")[:n])
        for kind in branches:
            part = (start.alias(phone_digits_reversed=_phone_digits_reversed()) if kind == "phone" else
                    start.alias(name_doubled=_name_doubled()) if kind == "name" else start)
            parts.append(part.filter(_search_predicate(kind, f.q, sku_ids)).order_by(*order).values("pk")[:n])
    ids = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
    with _planned_for_its_values() if {"sku", "name"} & set(branches) else nullcontext():
        rows = list(SubOrder.objects.filter(pk__in=ids).order_by(*order)[:n])
    next_cursor = _cursor_encode(rows[f.limit - 1], f.ordering) if len(rows) > f.limit else None
    return SubOrderPage(rows=rows[:f.limit], next_cursor=next_cursor, searched=tuple(kinds))


def suborder_filters_for_actor(filters: SubOrderListFilters, *, actor) -> SubOrderListFilters:
    """The list's filters narrowed to the warehouses the actor is limited to (django-guardian grants)."""
    from dataclasses import replace

    from catalog.selectors import warehouse_scope_for

    merchant = current_merchant()
    scope = warehouse_scope_for(user=actor, merchant=merchant)
    assigned = suborders_assigned_scope_for(user=actor, merchant=merchant)
    if scope is not None:
        filters = replace(filters, warehouse_ids=scope)
    return filters if assigned is None else replace(filters, suborder_ids=assigned)


def suborders_assigned_scope_for(*, user, merchant) -> frozenset[int] | None:
    """The suborders a customer-service agent is limited to (their membership's `assigned_only`, set by an
    owner), as django-guardian object permissions; None when not limited."""
    from permissions.models import Membership
    from permissions.roles import Role
    from permissions.selectors import membership_roles
    from suborders.models import SubOrderUserObjectPermission

    if user is None or getattr(user, "is_staff", False) or not getattr(user, "is_authenticated", False):
        return None
    if set(membership_roles(user=user, merchant=merchant)) != {Role.CUSTOMER_SERVICE}:
        return None
    cache = getattr(user, "_mallard_assigned_scope", None)
    if cache is None:
        cache = user._mallard_assigned_scope = {}
    if merchant.pk not in cache:
        limited = Membership.objects.filter(user_id=user.pk, merchant_id=merchant.pk, assigned_only=True).exists()
        cache[merchant.pk] = frozenset(SubOrderUserObjectPermission.objects.filter(
            user_id=user.pk, permission__codename="handle_suborder").values_list("content_object_id", flat=True)) \
            if limited else None
    return cache[merchant.pk]


@merchant_only
def suborder_get(*, suborder_id: int, actor=None) -> SubOrder:
    """One suborder of this store; with an `actor` limited to some warehouses, only one of theirs."""
    try:
        so = SubOrder.objects.prefetch_related("lines", "events").get(pk=suborder_id)
    except (SubOrder.DoesNotExist, ValueError):
        raise NotFound(_("No such suborder in this store.")) from None
    if actor is not None:
        from catalog.selectors import warehouse_scope_for

        scope = warehouse_scope_for(user=actor, merchant=current_merchant())
        assigned = suborders_assigned_scope_for(user=actor, merchant=current_merchant())
        if (scope is not None and so.warehouse_id not in scope) or (assigned is not None and so.pk not in assigned):
            raise NotFound(_("No such suborder in this store."))
    return so


def suborder_actions_for(*, so, lines, user, merchant) -> dict:
    """Exactly the actions the suborder's state and the user's role allow (the page shows only these)."""
    from permissions.selectors import user_can
    from suborders.states import SubOrderStatus as S

    can_accept = user_can(user=user, merchant=merchant, capability="suborders.accept")
    can_refuse = user_can(user=user, merchant=merchant, capability="suborders.refuse")
    can_ship = user_can(user=user, merchant=merchant, capability="suborders.ship")
    undecided = sum(ln.undecided_qty for ln in lines)
    to_ship = sum(ln.to_ship_qty for ln in lines)
    return {
        "accept": can_accept and so.status == S.AWAITING_ACCEPTANCE and undecided > 0,
        "refuse": can_refuse and so.status == S.AWAITING_ACCEPTANCE and undecided > 0,
        "cancel": can_refuse and so.status in (S.AWAITING_ACCEPTANCE, S.ACCEPTED, S.PARTIALLY_SHIPPED) and (undecided + to_ship) > 0,
        "ship": can_ship and so.status in (S.ACCEPTED, S.PARTIALLY_SHIPPED) and to_ship > 0,
        "deliver": can_ship and so.status in (S.PARTIALLY_SHIPPED, S.SHIPPED),
    }
