"""Sales rollups: what a suborder or a refund contributes, applied as increments, and the rebuild from source rows.

A paid suborder's *fact* (sale day and hour, province, units, GMV, commission, acceptance and shipping
times, late, cancelled, its products) is computed from the merchant's books; the handler stores the fact
it applied (SuborderFact) and adds new − old to every rollup row with INSERT ... ON CONFLICT DO UPDATE.
Deliveries are exactly once and per-aggregate ordered, and new − old is idempotent anyway, so the
rollups always equal the sum of the current facts - which is what `rollups_rebuild` recomputes.
Refunds count on the day they succeeded (a refund of a May order in June lowers June).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Sum

from reports.rollup_models import (
    MerchantDayRollup,
    MerchantHourRollup,
    MerchantProductDayRollup,
    MerchantRegionRollup,
    MerchantValueBandRollup,
    SuborderFact,
)

# Upper bounds (major units) of the order value bands; the last band is open.
VALUE_BANDS = (50, 100, 200, 500, 1000, 2000)
CANCELLED = frozenset({"cancelled", "refused"})
# Subscribers hold this advisory lock shared, a rebuild exclusive: a rebuild never interleaves with an increment.
REBUILD_LOCK = 0x5245504F  # "REPO"
PAID_ACTIONS = ("paid", "imported")

# kind -> (model, key columns, measure columns, extra columns overwritten on every write)
TABLES = {
    "day": (MerchantDayRollup, ("merchant_id", "day", "currency"),
            ("orders", "units", "gmv_minor", "commission_minor", "refunds_minor", "refund_count", "cancellations",
             "accept_seconds", "accept_count", "ship_seconds", "ship_count", "late_count"), ()),
    "hour": (MerchantHourRollup, ("merchant_id", "day", "hour", "currency"), ("orders", "gmv_minor"), ()),
    "region": (MerchantRegionRollup, ("merchant_id", "day", "province", "currency"), ("orders", "units", "gmv_minor"), ()),
    "band": (MerchantValueBandRollup, ("merchant_id", "day", "band", "currency"), ("orders",), ()),
    "product": (MerchantProductDayRollup, ("merchant_id", "day", "variant_id", "currency"), ("orders", "units", "gmv_minor"),
                ("sku", "name")),
}


def report_zone() -> ZoneInfo:
    return ZoneInfo(settings.DISPLAY_TIME_ZONE)


def value_band(total_minor: int) -> int:
    major = total_minor / 100
    for i, top in enumerate(VALUE_BANDS):
        if major < top:
            return i
    return len(VALUE_BANDS)


# --- facts, read from the merchant's books (run in its schema) ------------------------------------------

def suborder_facts(*, merchant_id: int, suborder_ids: list[int] | None = None) -> dict[int, dict]:
    """The facts of this merchant's paid suborders (all, or those ids), read in the current merchant schema."""
    from orders.models import OrderLine  # public, reached through the search path
    from suborders.models import SubOrder, SubOrderEvent, SubOrderLine

    zone = report_zone()
    events = SubOrderEvent.objects.filter(action__in=PAID_ACTIONS)
    subs = SubOrder.objects.all()
    lines = SubOrderLine.objects.all()
    commission = OrderLine.objects.filter(merchant_id=merchant_id)
    if suborder_ids is not None:
        events = events.filter(suborder_id__in=suborder_ids)
        subs = subs.filter(pk__in=suborder_ids)
        lines = lines.filter(suborder_id__in=suborder_ids)
        commission = commission.filter(suborder_id__in=suborder_ids)
    paid_at = {r["suborder_id"]: r["at"] for r in events.values("suborder_id").annotate(at=Min("at"))}
    if not paid_at:
        return {}
    comm = {r["suborder_id"]: r["c"] or 0 for r in commission.values("suborder_id").annotate(c=Sum("commission_minor"))}
    products: dict[int, dict] = defaultdict(dict)
    units: Counter = Counter()
    for sid, vid, sku, name, qty, total in lines.values_list("suborder_id", "variant_id", "sku", "name", "quantity",
                                                             "line_total_minor").order_by("pk"):
        if sid not in paid_at:
            continue
        p = products[sid].setdefault(str(vid), [sku, name[:300], 0, 0])
        p[2] += qty
        p[3] += total
        units[sid] += qty
    facts = {}
    for so in subs.filter(pk__in=list(paid_at)).only("pk", "currency", "shipping_address", "total_minor", "status",
                                                      "accepted_at", "shipped_at", "is_late"):
        at = paid_at[so.pk]
        local = at.astimezone(zone)
        addr = so.shipping_address or {}
        fact = {"currency": so.currency, "day": local.date().isoformat(), "hour": local.hour,
                "province": str(addr.get("province") or addr.get("region") or addr.get("country") or "")[:60],
                "units": units[so.pk], "gmv": so.total_minor, "commission": comm.get(so.pk, 0),
                "cancelled": int(so.status in CANCELLED), "late": int(bool(so.is_late)),
                "accept_s": 0, "accept_n": 0, "ship_s": 0, "ship_n": 0, "products": products.get(so.pk, {})}
        if so.accepted_at:
            fact["accept_s"], fact["accept_n"] = max(0, int((so.accepted_at - at).total_seconds())), 1
        if so.shipped_at:
            fact["ship_s"], fact["ship_n"] = max(0, int((so.shipped_at - at).total_seconds())), 1
        facts[so.pk] = fact
    return facts


def contributions(merchant_id: int, fact: dict | None) -> dict[tuple, dict]:
    """{(kind, key...): {measure: n, ...}} that one fact adds to the rollups."""
    if not fact:
        return {}
    cur, day = fact["currency"], fact["day"]
    out = {
        ("day", merchant_id, day, cur): {
            "orders": 1, "units": fact["units"], "gmv_minor": fact["gmv"], "commission_minor": fact["commission"],
            "cancellations": fact["cancelled"], "accept_seconds": fact["accept_s"], "accept_count": fact["accept_n"],
            "ship_seconds": fact["ship_s"], "ship_count": fact["ship_n"], "late_count": fact["late"]},
        ("hour", merchant_id, day, fact["hour"], cur): {"orders": 1, "gmv_minor": fact["gmv"]},
        ("region", merchant_id, day, fact["province"], cur): {"orders": 1, "units": fact["units"], "gmv_minor": fact["gmv"]},
        ("band", merchant_id, day, value_band(fact["gmv"]), cur): {"orders": 1},
    }
    for vid, (sku, name, qty, total) in fact["products"].items():
        out[("product", merchant_id, day, int(vid), cur)] = {"orders": 1, "units": qty, "gmv_minor": total,
                                                             "_extra": (sku, name)}
    return out


def _delta(new: dict, old: dict) -> dict[tuple, dict]:
    out = {}
    for key in set(new) | set(old):
        n, o = new.get(key, {}), old.get(key, {})
        d = {m: n.get(m, 0) - o.get(m, 0) for m in set(n) | set(o) if m != "_extra"}
        if any(d.values()) or (key in new and "_extra" in n):
            d["_extra"] = n.get("_extra") or o.get("_extra")
            out[key] = d
    return out


def _lock(*, exclusive: bool) -> None:
    with connection.cursor() as cur:
        cur.execute(f"SELECT pg_advisory_xact_lock{'' if exclusive else '_shared'}(%s)", [REBUILD_LOCK])


def _upsert(rows: dict[tuple, dict]) -> None:
    by_kind: dict[str, list] = defaultdict(list)
    for key, measures in rows.items():
        by_kind[key[0]].append((key[1:], measures))
    with connection.cursor() as cur:
        for kind, items in by_kind.items():
            model, keys, measures, extra = TABLES[kind]
            table = model._meta.db_table
            cols = (*keys, *measures, *extra)
            sets = [f"{m} = {table}.{m} + EXCLUDED.{m}" for m in measures] + [f"{e} = EXCLUDED.{e}" for e in extra]
            sql = (f"INSERT INTO public.{table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))}) "
                   f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {', '.join(sets)}")
            params = []
            for key, m in sorted(items, key=lambda kv: tuple(str(k) for k in kv[0])):  # a fixed order: no deadlocks
                params.append((*key, *(m.get(c, 0) for c in measures), *((m.get("_extra") or ("", ""))[:len(extra)])))
            cur.executemany(sql, params)


def suborder_rollup_refresh(*, merchant_id: int, suborder_id: int) -> None:
    """Recompute one suborder's fact and add its difference to the rollups (run in the merchant's schema)."""
    _lock(exclusive=False)
    new = suborder_facts(merchant_id=merchant_id, suborder_ids=[suborder_id]).get(suborder_id)
    row = SuborderFact.objects.select_for_update().filter(merchant_id=merchant_id, suborder_id=suborder_id).first()
    old = row.fact if row else None
    if new == old:
        return
    _upsert(_delta(contributions(merchant_id, new), contributions(merchant_id, old)))
    if new is None:
        SuborderFact.objects.filter(pk=row.pk).delete()
    elif row is None:
        SuborderFact.objects.create(merchant_id=merchant_id, suborder_id=suborder_id, fact=new)
    else:
        SuborderFact.objects.filter(pk=row.pk).update(fact=new)


def refund_contribution(*, merchant_id: int, currency: str, amount_minor: int, at) -> dict[tuple, dict]:
    day = at.astimezone(report_zone()).date().isoformat()
    return {("day", merchant_id, day, currency): {"refunds_minor": amount_minor, "refund_count": 1}}


def refund_succeeded_rows(*, refund_ids: list[int] | None = None, merchant_ids: list[int] | None = None) -> list[dict]:
    """Succeeded refunds with the moment they succeeded (their RefundEvent), read from public."""
    from payments.models import RefundEvent

    qs = RefundEvent.objects.filter(to_status="succeeded")
    if refund_ids is not None:
        qs = qs.filter(refund_id__in=refund_ids)
    if merchant_ids is not None:
        qs = qs.filter(refund__merchant_id__in=merchant_ids)
    return [{"merchant_id": m, "currency": c, "amount_minor": a, "at": at}
            for m, c, a, at in qs.values_list("refund__merchant_id", "refund__currency", "refund__amount_minor", "at")]


def refund_rollup_add(*, refund_id: int) -> None:
    """A refund succeeded: count it on the day it did."""
    _lock(exclusive=False)
    for row in refund_succeeded_rows(refund_ids=[refund_id]):
        _upsert(refund_contribution(**row))


# --- rebuild ------------------------------------------------------------------------------------------------

def rollups_rebuild(*, merchants) -> int:
    """Recompute these merchants' rollups from the source rows (their books, public refunds). Returns facts."""
    from core.tenancy import in_merchant_schema

    ids = [m.pk for m in merchants]
    n = 0
    with transaction.atomic():
        _lock(exclusive=True)
        SuborderFact.objects.filter(merchant_id__in=ids).delete()
        for model, *_rest in TABLES.values():
            model.objects.filter(merchant_id__in=ids).delete()
        total: dict[tuple, dict] = {}

        def add(rows):
            for key, m in rows.items():
                acc = total.setdefault(key, {})
                for k, v in m.items():
                    acc[k] = v if k == "_extra" else acc.get(k, 0) + v

        for merchant in sorted(merchants, key=lambda m: m.pk):
            with in_merchant_schema(merchant):
                facts = suborder_facts(merchant_id=merchant.pk)
            SuborderFact.objects.bulk_create([SuborderFact(merchant_id=merchant.pk, suborder_id=sid, fact=f)
                                              for sid, f in facts.items()], batch_size=2000)
            for fact in facts.values():
                add(contributions(merchant.pk, fact))
            n += len(facts)
        for row in refund_succeeded_rows(merchant_ids=ids):
            add(refund_contribution(**row))
        _upsert(total)
    return n


def rollups_snapshot(*, merchant_ids: list[int]) -> dict[str, set]:
    """Every rollup row of these merchants with a non-zero measure, as comparable tuples (tests, checks)."""
    out = {}
    for kind, (model, keys, measures, _extra) in TABLES.items():
        rows = model.objects.filter(merchant_id__in=merchant_ids).values_list(*keys, *measures)
        out[kind] = {r for r in rows if any(r[len(keys):])}
    return out
