"""Checkout: one order, one suborder per merchant per shipping warehouse, ONE transaction.

Order of work (and of locks, so that concurrent checkouts cannot deadlock):
  1. validate input; an earlier order with the same Idempotency-Key is returned as is;
  2. one cross-schema read of prices, availability and shipping rules; all arithmetic in
     orders.pricing (pure);
  3. BEGIN; INSERT the order (the idempotency unique index serialises duplicates here, before
     any stock is touched); lock the voucher row; for each merchant in merchant-id order:
     switch to its schema, insert its suborders and lock/reserve its stock rows in
     (variant, warehouse) order; back in public: lines, mirror rows, payment, outbox; COMMIT.
Any failure anywhere rolls back every schema's rows together. A reservation refused because the
planned warehouse ran out after step 2 re-plans that merchant from fresh stock and tries again.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.cross_schema import checkout_variants_many
from core.errors import Conflict, MerchantSuspended, OutOfStock, ValidationFailed
from core.money import Money, percent_of
from core.outbox import outbox_batch, outbox_emit
from core.tenancy import in_merchant_schema, platform_only
from fulfillment.selectors import shipping_rules_many
from fulfillment.shipping import quote
from orders.models import Order, OrderLine, SubOrderMirror, Voucher, VoucherRedemption
from orders.pricing import (
    Line,
    Shipment,
    WarehouseOption,
    apply_discount,
    order_totals,
    plan_warehouses,
    split_shipping,
)
from orders.validation import MAX_LINES, clean_address, clean_email, clean_quantity
from payments.models import Payment
from payments.sql import CHECKOUT_PAYMENT_CTES, checkout_payment_params
from suborders.services import suborders_create_for_checkout
from tenants.models import Merchant

FREE_SHIPPING_NAME = "Standard (free)"  # merchants without shipping rules ship free; see docs/decisions
MAX_REPLANS = 4  # re-plans of a checkout whose planned warehouse ran out under the lock (see order_checkout)


@dataclass(frozen=True)
class CheckoutLine:
    merchant_id: int
    variant_id: int
    quantity: int
    expected_unit_price_minor: int | None = None  # the price the shopper saw; a change stops checkout


@dataclass
class _MerchantPart:
    merchant: Merchant
    lines: list[Line]
    shipments: list[Shipment]
    shipping_method: str
    shipping_minor: int


def _request_hash(lines, address, shipping_choices, voucher_code, merchant_discounts=None) -> str:
    canonical = json.dumps({
        "lines": sorted([ln.merchant_id, ln.variant_id, ln.quantity, ln.expected_unit_price_minor] for ln in lines),
        "address": address, "shipping": sorted((shipping_choices or {}).items()), "voucher": voucher_code or "",
        # only when given: the hash of every other checkout stays what it was
        **({"merchant_discounts": sorted([m, a, r] for m, (a, r) in merchant_discounts.items())} if merchant_discounts else {}),
    }, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _order_number() -> str:
    # 48 random bits after the date: about one clash per 100 days at a million orders a day,
    # and a clash only means another draw (see order_checkout).
    return timezone.now().strftime("%y%m%d") + "-" + secrets.token_hex(6).upper()


# The three plain rows checkout reads or writes on every call go through hand-written SQL, not the
# ORM: its query compiler costs ≈ 1 ms of Python per statement on the 2-core bench machine, most of
# the time of these statements (docs/benchmarks.md). The column lists come from the models' _meta,
# so they follow the models; the instances are built from the row the database returned.
def _columns(fields) -> str:
    return ", ".join(connection.ops.quote_name(f.column) for f in fields)


_EXISTING_SQL = f"SELECT id, request_hash FROM {Order._meta.db_table} WHERE idempotency_scope = %s AND idempotency_key = %s"
_MERCHANT_FIELDS = list(Merchant._meta.concrete_fields)
# The ids go as one array literal in text: psycopg's list dumper cost more Python than the rest of
# this read (≈ 6 % of a checkout's Python time for three ints, docs/benchmarks.md).
_MERCHANTS_SQL = f"SELECT {_columns(_MERCHANT_FIELDS)} FROM {Merchant._meta.db_table} WHERE id = ANY(%s::bigint[]) AND NOT is_template"
_ORDER_FIELDS = [f for f in Order._meta.concrete_fields if not f.primary_key]
_ORDER_INSERT_SQL = (f"INSERT INTO {Order._meta.db_table} ({_columns(_ORDER_FIELDS)})"
                     f" VALUES ({', '.join(['%s'] * len(_ORDER_FIELDS))}) RETURNING id")


def _existing(scope: str, key: str, request_hash: str) -> Order | None:
    """The order placed earlier with this Idempotency-Key, if any (Conflict if its body differed)."""
    with connection.cursor() as cur:
        cur.execute(_EXISTING_SQL, [scope, key])
        row = cur.fetchone()
    if row is None:
        return None
    if row[1] != request_hash:
        raise Conflict(_("This Idempotency-Key was already used for a different checkout."),
                       field="Idempotency-Key", code="idempotency_key_reused")
    return Order.objects.get(pk=row[0])


def _merchants(ids: list[int]) -> dict[int, Merchant]:
    with connection.cursor() as cur:
        cur.execute(_MERCHANTS_SQL, ["{" + ",".join(str(int(i)) for i in ids) + "}"])
        rows = cur.fetchall()
    names = [f.attname for f in _MERCHANT_FIELDS]
    return {m.pk: m for m in (Merchant.from_db(connection.alias, names, row) for row in rows)}


def _order_insert(order: Order) -> Order:
    """INSERT the new order (IntegrityError on a clash of number or Idempotency-Key, as with save())."""
    with connection.cursor() as cur:
        cur.execute(_ORDER_INSERT_SQL, [f.get_db_prep_save(getattr(order, f.attname), connection) for f in _ORDER_FIELDS])
        order.pk = cur.fetchone()[0]
    return _loaded(order)


def _merge_lines(lines: list[CheckoutLine]) -> tuple[list[CheckoutLine], dict[tuple[int, int], int]]:
    merged: dict[tuple[int, int], CheckoutLine] = {}
    first_index: dict[tuple[int, int], int] = {}
    for i, ln in enumerate(lines):
        key = (ln.merchant_id, ln.variant_id)
        qty = clean_quantity(ln.quantity, field=f"lines[{i}].quantity")
        if key in merged:
            prev = merged[key]
            merged[key] = CheckoutLine(ln.merchant_id, ln.variant_id, clean_quantity(prev.quantity + qty, field=f"lines[{i}].quantity"),
                                       prev.expected_unit_price_minor)
        else:
            merged[key] = CheckoutLine(ln.merchant_id, ln.variant_id, qty, ln.expected_unit_price_minor)
            first_index[key] = i
    return list(merged.values()), first_index


def _plan_shipments(merchant: Merchant, lines: list[Line], catalog: dict) -> list[Shipment]:
    """One merchant's suborders: orders.pricing.plan_warehouses over the stock in `catalog`
    ({variant id: CheckoutVariant}); OutOfStock names the first line no warehouse can ship."""
    warehouses: dict[int, WarehouseOption] = {}
    for ln in lines:
        snap = catalog.get(ln.variant_id)
        for wid, (wname, prio, available) in (snap.stock.items() if snap is not None else ()):
            opt = warehouses.get(wid) or WarehouseOption(wid, wname, prio, {})
            opt.available[ln.variant_id] = available
            warehouses[wid] = opt
    plan, unplaced = plan_warehouses(lines, list(warehouses.values()))
    if unplaced:
        ln = unplaced[0]
        best = max((w.available.get(ln.variant_id, 0) for w in warehouses.values()), default=0)
        raise OutOfStock(_("Line %(n)s: %(sku)s — %(req)s requested, %(avail)s available.")
                         % {"n": ln.index + 1, "sku": ln.sku, "req": ln.quantity, "avail": best},
                         field=f"lines[{ln.index}].quantity",
                         details={"sku": ln.sku, "requested": ln.quantity, "available": best})
    return [Shipment(merchant.pk, wh.warehouse_id, wh.name, reason, list(wl)) for wh, wl, reason in plan]


def _replan_after_refusal(part: _MerchantPart) -> bool:
    """The reservation of `part` was refused under the row locks: the plan came from a stock read
    taken before the transaction, and a concurrent checkout took the units meanwhile. Read this
    merchant's stock afresh (newer than what the refusal saw) and plan again in the same order, so
    the lines go to the next warehouse that can ship them. True if the plan changed (try again);
    False if the same plan comes out (refuse as the reservation did); OutOfStock if no warehouse
    can ship a line any more. Error path only: the normal path costs nothing for this."""
    schema = part.merchant.schema_name
    fresh = checkout_variants_many(wanted={schema: [ln.variant_id for ln in part.lines]})[schema]
    shipments = _plan_shipments(part.merchant, part.lines, fresh)

    def shape(ships):
        return [(s.warehouse_id, [ln.variant_id for ln in s.lines]) for s in ships]

    if shape(shipments) == shape(part.shipments):
        return False
    part.shipments = shipments
    return True


def _price_merchant(merchant: Merchant, clines: list[tuple[int, CheckoutLine]], catalog: dict, rules: list,
                    region: str, choice: int | None, currency: str) -> _MerchantPart:
    lines: list[Line] = []
    changed = []
    for index, cl in clines:
        snap = catalog.get(cl.variant_id)
        if snap is None or not snap.is_active:
            raise ValidationFailed(_("Line %(n)s: product %(v)s is not sold by %(store)s (unknown or inactive).")
                                   % {"n": index + 1, "v": cl.variant_id, "store": merchant.name}, field=f"lines[{index}].variant_id")
        if snap.currency != currency:
            raise ValidationFailed(_("Line %(n)s is priced in %(c)s; this checkout is in %(o)s.")
                                   % {"n": index + 1, "c": snap.currency, "o": currency}, field=f"lines[{index}]")
        if cl.expected_unit_price_minor is not None and cl.expected_unit_price_minor != snap.price_minor:
            changed.append({"line": index, "sku": snap.sku, "expected_minor": cl.expected_unit_price_minor, "price_minor": snap.price_minor})
        lines.append(Line(index=index, merchant_id=merchant.pk, variant_id=cl.variant_id, sku=snap.sku, name=snap.name,
                          unit_price_minor=snap.price_minor, quantity=cl.quantity, weight_g=snap.weight_g,
                          commission_bp=merchant.commission_bp))
    if changed:
        first = changed[0]
        raise Conflict(_("The price of %(sku)s changed from %(old)s to %(new)s (minor units); review your cart.")
                       % {"sku": first["sku"], "old": first["expected_minor"], "new": first["price_minor"]},
                       field=f"lines[{first['line']}].expected_unit_price_minor", code="price_changed",
                       details={"changed": changed})
    shipments = _plan_shipments(merchant, lines, catalog)
    subtotal = sum(ln.gross_minor for ln in lines)
    weight = sum(ln.weight_g * ln.quantity for ln in lines)
    if not rules:
        method, cost = FREE_SHIPPING_NAME, 0
    else:
        quotes = [q for q in (quote(r, subtotal_minor=subtotal, weight_g=weight, region=region) for r in rules) if q]
        if not quotes:
            raise ValidationFailed(_("%(store)s does not ship to %(region)s.") % {"store": merchant.name, "region": region},
                                   field="shipping_address.region")
        if choice is not None:
            picked = [q for q in quotes if q.rule_id == choice]
            if not picked:
                raise ValidationFailed(_("Shipping method %(id)s is not available from %(store)s for this address.")
                                       % {"id": choice, "store": merchant.name}, field=f"shipping_methods.{merchant.slug}")
            chosen = picked[0]
        else:
            chosen = min(quotes, key=lambda q: (q.cost_minor, q.rule_id))
        method, cost = chosen.name, chosen.cost_minor
    return _MerchantPart(merchant, lines, shipments, method, cost)


def _tagged(voucher: Voucher, email: str) -> bool:
    """A tag-only voucher: has its store tagged this shopper (automation.CustomerTag, in the store's schema)?
    A platform voucher has no store's tags to read, so a tag restriction on one matches nobody."""
    if voucher.merchant_id is None or not email:
        return False
    from suborders.customers import customer_has_tag

    with in_merchant_schema(voucher.merchant):
        return customer_has_tag(email=email, tag=voucher.customer_tag)


def _voucher_apply(*, code: str, parts: list[_MerchantPart], scope: str, currency: str, now, lock: bool = True,
                   email: str = "") -> tuple[Voucher, int]:
    """Lock the voucher, check every rule, spread its discount; the caller records the redemption.

    `lock=False` is for quotes: the same checks without taking the row lock.
    """
    vouchers = Voucher.objects.select_for_update() if lock else Voucher.objects.all()
    voucher = vouchers.filter(code=code.strip().upper()).first()
    if voucher is None or not voucher.is_active:
        raise ValidationFailed(_("Voucher %(code)s does not exist.") % {"code": code}, field="voucher_code", code="voucher_invalid")
    if voucher.starts_at > now or (voucher.expires_at and voucher.expires_at <= now):
        raise ValidationFailed(_("Voucher %(code)s is not valid now.") % {"code": voucher.code}, field="voucher_code", code="voucher_expired")
    if voucher.currency != currency:
        raise ValidationFailed(_("Voucher %(code)s is for %(c)s prices.") % {"code": voucher.code, "c": voucher.currency}, field="voucher_code")
    if voucher.max_redemptions is not None and voucher.redeemed_count >= voucher.max_redemptions:
        raise Conflict(_("Voucher %(code)s has run out.") % {"code": voucher.code}, field="voucher_code", code="voucher_exhausted")
    if voucher.per_shopper_limit is not None:
        used = VoucherRedemption.objects.filter(voucher=voucher, shopper_key=scope, released_at__isnull=True).count()
        if used >= voucher.per_shopper_limit:
            raise Conflict(_("You have already used voucher %(code)s.") % {"code": voucher.code}, field="voucher_code",
                           code="voucher_limit_reached")
    if voucher.customer_tag and not _tagged(voucher, email):
        raise ValidationFailed(_("Voucher %(code)s is only for selected customers of the store.") % {"code": voucher.code},
                               field="voucher_code", code="voucher_not_for_customer")
    applicable = [ln for p in parts if voucher.merchant_id in (None, p.merchant.pk) for ln in p.lines]
    base = sum(ln.gross_minor for ln in applicable)
    if not applicable:
        raise ValidationFailed(_("Voucher %(code)s does not apply to anything in this cart.") % {"code": voucher.code}, field="voucher_code")
    if base < voucher.min_spend_minor:
        raise ValidationFailed(_("Voucher %(code)s needs a spend of at least %(min)s (minor units).")
                               % {"code": voucher.code, "min": voucher.min_spend_minor}, field="voucher_code", code="voucher_min_spend")
    amount = voucher.amount_minor if voucher.kind == Voucher.Kind.FIXED else percent_of(base, voucher.percent_bp)
    amount = min(amount, base)
    apply_discount(applicable, amount, platform_funded=voucher.merchant_id is None)
    return voucher, amount


def _merchant_discounts_apply(*, parts: list[_MerchantPart], merchant_discounts: dict[int, tuple[int, str]], currency: str) -> None:
    """A discount a store grants, with its reason, on an order its staff enter (suborders.drafts):
    merchant-funded, spread over that store's lines like a voucher, never more than they still cost."""
    by_merchant = {p.merchant.pk: p for p in parts}
    for merchant_id, (amount, reason) in sorted(merchant_discounts.items()):
        field = f"merchant_discounts.{merchant_id}"
        part = by_merchant.get(merchant_id)
        if part is None:
            raise ValidationFailed(_("A discount is given by a store with nothing in this order."), field=field)
        left = sum(ln.total_minor for ln in part.lines)
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= left:
            raise ValidationFailed(_("The discount must be between 0 and %(left)s, what the items cost.")
                                   % {"left": Money(left, currency).format()}, field=field)
        if amount and not (reason or "").strip():
            raise ValidationFailed(_("A discount needs a reason."), field=f"{field}.reason")
        apply_discount(part.lines, amount, platform_funded=False)


@dataclass
class _Prepared:
    shopper: object
    email: str
    scope: str
    address: dict
    voucher_code: str | None
    merchants: dict[int, Merchant]
    parts: list[_MerchantPart]


def _prepare(*, shopper, email, lines, shipping_address, shipping_choices, voucher_code, currency,
             before_pricing=None) -> _Prepared:
    """Validate the request and price it (reads only): shared by checkout and quote."""
    if shopper is not None and getattr(shopper, "is_authenticated", False):
        email = shopper.email
        scope = f"user:{shopper.pk}"
    else:
        shopper = None
        email = clean_email(email)
        scope = f"guest:{email}"
    if not lines:
        raise ValidationFailed(_("The cart is empty."), field="lines", code="empty_cart")
    if len(lines) > MAX_LINES:
        raise ValidationFailed(_("At most %(n)s lines per order.") % {"n": MAX_LINES}, field="lines")
    address = clean_address(shipping_address)
    voucher_code = (voucher_code or "").strip() or None
    if before_pricing is not None:
        found = before_pricing(scope, address, voucher_code)
        if found is not None:
            return found

    merged, first_index = _merge_lines(lines)
    merchant_ids = sorted({ln.merchant_id for ln in merged})
    merchants = _merchants(merchant_ids)
    for ln in merged:
        m = merchants.get(ln.merchant_id)
        if m is None:
            raise ValidationFailed(_("Line %(n)s: unknown store %(id)s.") % {"n": first_index[(ln.merchant_id, ln.variant_id)] + 1, "id": ln.merchant_id},
                                   field=f"lines[{first_index[(ln.merchant_id, ln.variant_id)]}].merchant_id")
        if not m.is_active:
            raise MerchantSuspended(_("%(store)s is closed at the moment; remove its items to check out.") % {"store": m.name},
                                    field=f"lines[{first_index[(ln.merchant_id, ln.variant_id)]}].merchant_id")
    by_merchant: dict[int, list[tuple[int, CheckoutLine]]] = {mid: [] for mid in merchant_ids}
    for ln in merged:
        by_merchant[ln.merchant_id].append((first_index[(ln.merchant_id, ln.variant_id)], ln))
    schemas = {merchants[mid].schema_name: [cl.variant_id for _, cl in by_merchant[mid]] for mid in merchant_ids}
    catalogs = checkout_variants_many(wanted=schemas)
    rules = shipping_rules_many(schemas=list(schemas))
    choices = shipping_choices or {}
    parts = [
        _price_merchant(merchants[mid], by_merchant[mid], catalogs[merchants[mid].schema_name], rules[merchants[mid].schema_name],
                        address["region"], choices.get(mid), currency)
        for mid in merchant_ids
    ]
    return _Prepared(shopper, email, scope, address, voucher_code, merchants, parts)


@dataclass
class Quote:
    """What a checkout would cost now, per store and in total; nothing is written or reserved."""

    parts: list[_MerchantPart]
    voucher_code: str | None
    discount_minor: int
    totals: dict[str, int]


@platform_only
def order_quote(*, shopper, email: str | None, lines: list[CheckoutLine], shipping_address: dict,
                shipping_choices: dict[int, int] | None = None, voucher_code: str | None = None, currency: str = "CNY",
                merchant_discounts: dict[int, tuple[int, str]] | None = None) -> Quote:
    """Price a checkout exactly as order_checkout would (same errors), for the review step."""
    prep = _prepare(shopper=shopper, email=email or "quote@example.invalid", lines=lines, shipping_address=shipping_address,
                    shipping_choices=shipping_choices, voucher_code=voucher_code, currency=currency)
    discount = 0
    if prep.voucher_code:
        _, discount = _voucher_apply(code=prep.voucher_code, parts=prep.parts, scope=prep.scope, currency=currency,
                                     now=timezone.now(), lock=False, email=prep.email)
    if merchant_discounts:
        _merchant_discounts_apply(parts=prep.parts, merchant_discounts=merchant_discounts, currency=currency)
    for part in prep.parts:
        split_shipping(part.shipments, part.shipping_minor)
    return Quote(prep.parts, prep.voucher_code, discount, order_totals([s for p in prep.parts for s in p.shipments]))


# The public rows of a placed order in ONE statement: its lines (snapshots of name, SKU, price and
# the merchant's commission), one mirror per suborder, and the pending payment. Lines and mirrors
# arrive as two JSON arrays (cheap to bind); ORDER BY i keeps the caller's order, so the ids
# (handed out as rows are inserted) ascend in that order.
_PUBLIC_ROWS_SQL = """
    WITH ol AS (
        INSERT INTO orders_orderline (order_id, merchant_id, variant_id, sku, name, unit_price_minor, quantity, discount_minor,
                                      line_total_minor, commission_bp, commission_minor, suborder_id)
        SELECT %(order_id)s, x.merchant_id, x.variant_id, x.sku, x.name, x.unit_price_minor, x.quantity, x.discount_minor,
               x.line_total_minor, x.commission_bp, x.commission_minor, x.suborder_id
        FROM jsonb_to_recordset(%(lines)s::jsonb)
            AS x(i integer, merchant_id bigint, variant_id bigint, sku text, name text, unit_price_minor bigint, quantity integer,
                 discount_minor bigint, line_total_minor bigint, commission_bp integer, commission_minor bigint, suborder_id bigint)
        ORDER BY x.i
        RETURNING id, merchant_id, variant_id
    ), mi AS (
        INSERT INTO orders_subordermirror (order_id, merchant_id, suborder_id, number, status, warehouse_name, shipping_method,
                                           subtotal_minor, shipping_minor, discount_minor, total_minor, updated_at)
        SELECT %(order_id)s, x.merchant_id, x.suborder_id, x.number, x.status, x.warehouse_name, x.shipping_method,
               x.subtotal_minor, x.shipping_minor, x.discount_minor, x.total_minor, %(now)s
        FROM jsonb_to_recordset(%(mirrors)s::jsonb)
            AS x(i integer, merchant_id bigint, suborder_id bigint, number text, status text, warehouse_name text,
                 shipping_method text, subtotal_minor bigint, shipping_minor bigint, discount_minor bigint, total_minor bigint)
        ORDER BY x.i
        RETURNING id, merchant_id, suborder_id
    ), """ + CHECKOUT_PAYMENT_CTES + """
    SELECT 'line', id, merchant_id, variant_id FROM ol
    UNION ALL SELECT 'mirror', id, merchant_id, suborder_id FROM mi
    UNION ALL SELECT 'payment', id, NULL, NULL FROM pay
"""  # noqa: S608 (constant SQL fragments, no input)


def _loaded(instance):
    """Mark a model instance built from values just written as a saved row."""
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def _write_public_rows(*, order: Order, all_shipments: list, now) -> tuple[list[OrderLine], list[SubOrderMirror], Payment]:
    """Write the order's lines, suborder mirrors and payment with _PUBLIC_ROWS_SQL; returns them as instances."""
    lines = [(m, so, ln) for m, s, so in all_shipments for ln in s.lines]
    params = {
        "order_id": order.pk, "now": now,
        "lines": json.dumps([
            {"i": i, "merchant_id": m.pk, "variant_id": ln.variant_id, "sku": ln.sku, "name": ln.name,
             "unit_price_minor": ln.unit_price_minor, "quantity": ln.quantity, "discount_minor": ln.discount_minor,
             "line_total_minor": ln.total_minor, "commission_bp": ln.commission_bp, "commission_minor": ln.commission_minor,
             "suborder_id": so.pk}
            for i, (m, so, ln) in enumerate(lines)
        ]),
        "mirrors": json.dumps([
            {"i": i, "merchant_id": m.pk, "suborder_id": so.pk, "number": so.number, "status": so.status,
             "warehouse_name": so.warehouse_name, "shipping_method": so.shipping_method, "subtotal_minor": so.subtotal_minor,
             "shipping_minor": so.shipping_minor, "discount_minor": so.discount_minor, "total_minor": so.total_minor}
            for i, (m, _s, so) in enumerate(all_shipments)
        ]),
        **checkout_payment_params(amount_minor=order.total_minor, currency=order.currency),
    }
    with connection.cursor() as cur:
        cur.execute(_PUBLIC_ROWS_SQL, params)
        rows = cur.fetchall()
    # ids are matched to rows by key (a variant appears once per merchant in an order; a suborder once)
    line_ids = {(m, v): pk for kind, pk, m, v in rows if kind == "line"}
    mirror_ids = {(m, so): pk for kind, pk, m, so in rows if kind == "mirror"}
    payment_id = next(pk for kind, pk, _m, _k in rows if kind == "payment")
    order_lines = [
        _loaded(OrderLine(id=line_ids[(m.pk, ln.variant_id)], order=order, merchant_id=m.pk, variant_id=ln.variant_id, sku=ln.sku, name=ln.name,
                          unit_price_minor=ln.unit_price_minor, quantity=ln.quantity, discount_minor=ln.discount_minor,
                          line_total_minor=ln.total_minor, commission_bp=ln.commission_bp,
                          commission_minor=ln.commission_minor, suborder_id=so.pk))
        for m, so, ln in lines
    ]
    mirrors = [
        _loaded(SubOrderMirror(id=mirror_ids[(m.pk, so.pk)], order=order, merchant_id=m.pk, suborder_id=so.pk, number=so.number, status=so.status,
                               warehouse_name=so.warehouse_name, shipping_method=so.shipping_method,
                               subtotal_minor=so.subtotal_minor, shipping_minor=so.shipping_minor,
                               discount_minor=so.discount_minor, total_minor=so.total_minor, updated_at=now))
        for m, _s, so in all_shipments
    ]
    payment = _loaded(Payment(id=payment_id, order=order, gateway="", amount_minor=order.total_minor,
                              currency=order.currency, status=Payment.Status.PENDING, gateway_reference="",
                              created_at=now, updated_at=now))
    return order_lines, mirrors, payment


@platform_only
def order_checkout(
    *, shopper, email: str | None, lines: list[CheckoutLine], shipping_address: dict,
    idempotency_key: str, shipping_choices: dict[int, int] | None = None, voucher_code: str | None = None,
    currency: str = "CNY", cart=None,
    merchant_discounts: dict[int, tuple[int, str]] | None = None, unpaid_ttl: timedelta | None = None,
) -> tuple[Order, bool]:
    """Place an order. Returns (order, created); a retried request returns the first order with created=False.

    For orders a store's staff enter (suborders.drafts): `merchant_discounts` {merchant id: (amount_minor,
    reason)} and `unpaid_ttl`, the time the customer has to pay (default ORDER_UNPAID_TTL_MINUTES)."""
    key = (idempotency_key or "").strip()
    if not key or len(key) > 200:
        raise ValidationFailed(_("An Idempotency-Key (1–200 characters) is required."), field="Idempotency-Key")
    request_hash = ""

    def replay(scope, address, code):
        nonlocal request_hash
        request_hash = _request_hash(lines, address, shipping_choices, code, merchant_discounts)
        return _existing(scope, key, request_hash)

    prep = _prepare(shopper=shopper, email=email, lines=lines, shipping_address=shipping_address,
                    shipping_choices=shipping_choices, voucher_code=voucher_code, currency=currency, before_pricing=replay)
    if isinstance(prep, Order):  # a retry of an order already placed
        return prep, False
    shopper, email, scope, address, voucher_code = prep.shopper, prep.email, prep.scope, prep.address, prep.voucher_code
    merchants, parts = prep.merchants, prep.parts

    now = timezone.now()
    expires_at = now + (unpaid_ttl or timedelta(minutes=settings.ORDER_UNPAID_TTL_MINUTES))
    # The transaction is tried again, whole, when (rare) the random order number clashes, or when
    # a merchant's stock reservation is refused because the warehouse planned from the read above
    # ran out meanwhile (a burst on one variant): that merchant is re-planned from a fresh read and
    # its lines go to the next warehouse in planning order. The retry is of the whole transaction
    # because a refusal inside suborders_create_for_checkout dooms it (its rows are already
    # written and it runs without a savepoint, which keeps the normal path at 3 statements per
    # merchant). Each re-plan follows a newer committed state of the stock, so it ends quickly;
    # MAX_REPLANS bounds it anyway.
    attempt = replans = 0
    while True:
        for line in (ln for part in parts for ln in part.lines):  # a retry prices the voucher afresh
            line.discount_minor = line.platform_discount_minor = 0
        reserving: _MerchantPart | None = None
        try:
            with transaction.atomic(), outbox_batch():
                voucher = discount = None
                if voucher_code:  # locks the voucher row first: redemptions are counted under it
                    voucher, discount = _voucher_apply(code=voucher_code, parts=parts, scope=scope, currency=currency, now=now,
                                                       email=email)
                if merchant_discounts:
                    _merchant_discounts_apply(parts=parts, merchant_discounts=merchant_discounts, currency=currency)
                for part in parts:
                    split_shipping(part.shipments, part.shipping_minor)
                totals = order_totals([s for part in parts for s in part.shipments])
                order = _order_insert(Order(
                    number=_order_number(), shopper=shopper, email=email, currency=currency, voucher=voucher,
                    shipping_address=address, idempotency_scope=scope, idempotency_key=key,
                    request_hash=request_hash, created_at=now, expires_at=expires_at, **totals,
                ))
                all_shipments: list[tuple[Merchant, Shipment, object]] = []
                for part in parts:  # merchant-id order: the lock order across schemas
                    reserving = part
                    with in_merchant_schema(part.merchant):
                        created = suborders_create_for_checkout(
                            order=order, shipments=part.shipments, shipping_method=part.shipping_method,
                            shipping_address=address, reservation_expires_at=expires_at + timedelta(minutes=15), actor=shopper,
                        )
                    all_shipments += [(part.merchant, s, so) for s, so in zip(part.shipments, created, strict=True)]
                reserving = None
                if voucher is not None:
                    Voucher.objects.filter(pk=voucher.pk).update(redeemed_count=voucher.redeemed_count + 1)
                    VoucherRedemption.objects.create(voucher=voucher, order=order, shopper_key=scope, discount_minor=discount)
                order_lines, mirrors, payment = _write_public_rows(order=order, all_shipments=all_shipments, now=now)
                if cart is not None:
                    from orders.models import Cart

                    Cart.objects.filter(pk=cart.pk).update(checked_out_at=now)
                outbox_emit(topic="order.placed", aggregate_type="order", aggregate_id=order.pk,
                            payload={"number": order.number, "email": email, "total_minor": order.total_minor, "currency": currency,
                                     "suborders": [[m.pk, so.pk] for m, _, so in all_shipments],
                                     **({"merchant_discounts": {str(m): {"amount_minor": a, "reason": r}
                                                                for m, (a, r) in merchant_discounts.items()}}
                                        if merchant_discounts else {})})
        except OutOfStock:
            if reserving is None or replans >= MAX_REPLANS or not _replan_after_refusal(reserving):
                raise
            replans += 1
            continue
        except IntegrityError as exc:
            if "(number)=" in str(exc) and attempt < 2:
                attempt += 1
                continue
            if "order_idempotency_once" not in str(exc):
                raise
            # A concurrent identical request committed first: answer with its order.
            existing = _existing(scope, key, request_hash)
            if existing is None:
                raise
            return existing, False
        break
    # Hand back the order with what was just written, so callers need not read it again.
    for mirror in mirrors:
        mirror.merchant = merchants[mirror.merchant_id]
    order.payment = payment
    order._prefetched_objects_cache = {"suborders": mirrors, "lines": order_lines}
    return order, True
