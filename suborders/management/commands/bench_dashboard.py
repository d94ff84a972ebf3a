"""`./mallard bench dashboard`: the merchant's suborder list and search at a million suborders.

Loads ONE dedicated merchant (slug `dashbench`, made by merchants.services.merchant_create) with
`--suborders N` suborders (default 1,000,000), ~3 lines and ~0.9 shipments each, by COPY (not the
ORM); ANALYZE. Then, for each query the dashboard serves (filtered list, searches by number, phone,
tracking number, name fragment and SKU, each other filter, a second page), it times `--requests`
first pages (default 200), each with other values drawn from the data:

* in process, around `suborder_list_for_merchant` (parsing, SQL, model instances);
* the raw-SQL reference: the same SQL written by hand, through a plain psycopg cursor, in the same
  loop (alternating), checked to return the same rows;
* the full page and the API through Django's test client (middleware, auth, template/serializer).

Then `suborder_accept` and `shipment_create` per second on fresh suborders made for this run
(awaiting acceptance / accepted, with their public order and mirror, stock reservations and journal),
each against a raw-SQL reference writing the same rows. Prints p50/p99, the ratios, and
EXPLAIN (ANALYZE, BUFFERS) of the slowest queries; `--json` prints everything as the last line.

Runs only in a database whose name ends in `_bench`:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mallard_bench ./mallard bench dashboard
`--keep` reuses the bench merchant loaded by an earlier run (if it holds N suborders).
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import F
from django.db.models.fields import NOT_PROVIDED
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.tenancy import in_merchant_schema
from suborders.sql import skus_of

SLUG = "dashbench"
OWNER_EMAIL = "owner@dashbench.bench"
TARGET = 50  # the page's p99 target, ms
CHUNK = 50_000  # suborders per COPY round (bounds the FK-check queue of one statement)
WAREHOUSES = [("SH1", "上海青浦仓 Shanghai Qingpu", "CN-SH", 50), ("GZ1", "广州白云仓 Guangzhou Baiyun", "CN-GD", 30),
              ("CD1", "成都双流仓 Chengdu Shuangliu", "CN-SC", 20)]
CARRIER_WEIGHTS = [("sf", 35), ("zto", 25), ("yto", 15), ("jd", 12), ("ems", 8), ("dhl", 2), ("ups", 1.5), ("fedex", 1.5)]
SURNAMES = ("王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 高 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董 袁 潘 于 蒋 蔡 "
            "余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 石 廖 贾 夏 韦 付 方 白 邹 孟 熊 秦 邱 江 尹 薛 闫 段 雷 侯 龙 "
            "史 陶 黎 贺 顾 毛 郝 龚 邵 万 钱 严 覃 武 戴 莫 孔 向 汤").split()
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英霞平刚桂华玉萍红鹏飞建文辉力斌宇浩凯婷雪琳晨欣怡子轩梓涵俊博思雨嘉佳"
             "颖慧丹倩宁东海波志鑫宏峰亮琪瑶璐晶莉兰凤梅琴云鹤松")
FIRST = ("Maria José Ana Lucas Sofía John Emma Olivia Liam Noah Mia Luca Hannah Pierre Camille Diego Valentina Mateo "
         "Isabella Carlos Anna Elena David Daniel Laura Sarah Thomas Julia Marco Chloé Léa Jonas Felix Nora Ivan Olga").split()
LAST = ("Garcia Martinez Lopez Smith Johnson Müller Schmidt Dubois Rossi Silva Santos Fernández González Brown Wilson "
        "Taylor Anderson Thomas Moreau Nguyen Kowalski Novak Ivanova Jensen Larsen Costa Romano Bianchi Weber Fischer").split()
CITIES = [("上海市", "CN-SH", "2000"), ("北京市", "CN-BJ", "1000"), ("广州市", "CN-GD", "5100"), ("深圳市", "CN-GD", "5180"),
          ("杭州市", "CN-ZJ", "3100"), ("成都市", "CN-SC", "6100"), ("南京市", "CN-JS", "2100"), ("武汉市", "CN-HB", "4300"),
          ("西安市", "CN-SN", "7100"), ("重庆市", "CN-CQ", "4000")]
ROADS = "南京 人民 中山 解放 建设 长江 黄河 和平 淮海 延安 学院 科技".split()
PRODUCTS = ("Longjing Green Tea|Tieguanyin Oolong|Pu'er Cake|Jasmine Tea|Silk Scarf|Cotton T-Shirt|Down Jacket|Running Shoes|"
            "Bluetooth Earbuds|Power Bank|USB-C Cable|Phone Case|Rice Cooker|Kettle|Chopsticks Set|Porcelain Bowl|Wok|"
            "Notebook|Fountain Pen|Backpack").split("|")
SIZES = ("S", "M", "L")

# age in days -> cumulative status weights: the pipeline is young, the bulk of a year is completed.
STATUS_BY_AGE = [
    (0.5, [("pending_payment", 8), ("awaiting_acceptance", 52), ("accepted", 25), ("cancelled", 5), ("refused", 3), ("shipped", 7)]),
    (2, [("awaiting_acceptance", 8), ("accepted", 22), ("partially_shipped", 4), ("shipped", 52), ("cancelled", 8), ("refused", 6)]),
    (10, [("accepted", 2), ("partially_shipped", 2), ("shipped", 40), ("delivered", 46), ("cancelled", 6), ("refused", 4)]),
    (20, [("shipped", 3), ("delivered", 50), ("completed", 39), ("cancelled", 5), ("refused", 3)]),
    (10**9, [("completed", 89), ("delivered", 1), ("cancelled", 6), ("refused", 4)]),
]
SHIPPED = frozenset({"partially_shipped", "shipped", "delivered", "completed"})


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[k]


def _cum(weights):
    names, total, cum = [], 0.0, []
    for name, w in weights:
        total += w
        names.append(name)
        cum.append(total)
    return names, cum


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _tracking(carrier: str, n: int) -> str:
    """A tracking number in the carrier's own format (fulfillment.carriers), unique per carrier."""
    return {
        "sf": f"SF{n:013d}", "zto": f"75{n:012d}", "yto": f"YT{n:013d}", "jd": f"JDVB{n:011d}",
        "ems": f"E{chr(65 + n % 26)}{n // 26 % 10**9:09d}CN", "dhl": f"{n % 10**10:010d}", "ups": f"1Z{n:016d}",
        "fedex": f"{n % 10**12:012d}",
    }[carrier]


class _Columns:
    """Column list of a model for COPY, from its _meta (it follows the model); a column the generator
    does not fill takes the field's Python default, or fails loudly when there is none."""

    def __init__(self, model, provided: set[str]):
        self.table = model._meta.db_table
        self.columns, self.defaults = [], {}
        for f in model._meta.concrete_fields:
            if f.column in provided:
                self.columns.append(f.column)
            elif f.has_default():
                self.columns.append(f.column)
                self.defaults[f.column] = f.get_default()
            elif f.db_default is not NOT_PROVIDED or f.null:
                continue  # the database fills it
            else:
                raise CommandError(f"bench_dashboard does not fill {self.table}.{f.column} (no default): add it to the generator")

    def row(self, values: dict) -> tuple:
        d = self.defaults
        return tuple(values[c] if c in values else d[c] for c in self.columns)

    def copy(self, cur, schema: str, rows) -> int:
        cols = ", ".join(f'"{c}"' for c in self.columns)
        n = 0
        with cur.copy(f'COPY "{schema}"."{self.table}" ({cols}) FROM STDIN') as cp:
            for r in rows:
                cp.write_row(r)
                n += 1
        return n


class _Generator:
    """Realistic suborders: repeat customers (Chinese and Latin names, phones), statuses by age over
    12 months, 3 warehouses, a Zipf-like SKU mix, shipments with carrier-formatted tracking numbers."""

    def __init__(self, *, seed: int, now: datetime, slug: str, warehouses: list, variants: list, customers: int):
        self.rng = random.Random(seed)
        self.now = now
        self.suffix = slug[:6].upper()
        self.warehouses = warehouses  # [(id, name, weight)]
        self.wh_cum = _cum([((w[0], w[1]), w[2]) for w in warehouses])
        self.variants = variants  # [(id, sku, name, price_minor)]
        self.var_cum = list(_cum([(v, 1 / (i + 1) ** 0.8) for i, v in enumerate(variants)])[1])
        self.carriers = _cum(CARRIER_WEIGHTS)
        self.tracking_n = {c: self.rng.randrange(10**9, 10**10) for c, _ in CARRIER_WEIGHTS}
        self.status_cum = [(age, _cum(w)) for age, w in STATUS_BY_AGE]
        self.customers = [self._customer(i) for i in range(customers)]

    def _customer(self, i: int) -> dict:
        r = self.rng
        if r.random() < 0.8:
            name = r.choice(SURNAMES[:30] if r.random() < 0.7 else SURNAMES) + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2))))
        else:
            name = f"{r.choice(FIRST)} {r.choice(LAST)}"
        if r.random() < 0.9:
            phone = f"+86 1{r.choice('3456789')}{r.randrange(10)} {r.randrange(10**4):04d} {r.randrange(10**4):04d}"
        else:
            phone = r.choice([f"+1 {r.randrange(200, 999)} 555 {r.randrange(10**4):04d}", f"+49 30 {r.randrange(10**7, 10**8)}",
                              f"+33 6 {r.randrange(10, 99)} {r.randrange(10, 99)} {r.randrange(10, 99)} {r.randrange(10, 99)}",
                              f"+44 20 {r.randrange(1000, 9999)} {r.randrange(1000, 9999)}"])
        city, region, post = r.choice(CITIES)
        return {"name": name, "phone": phone, "line1": f"{r.randrange(1, 999)}号 {r.choice(ROADS)}路", "city": city,
                "region": region, "postcode": f"{post}{r.randrange(10, 99)}", "country": "CN", "email": f"shopper{i}@example.com"}

    def _status(self, age_days: float) -> str:
        for limit, (names, cum) in self.status_cum:
            if age_days < limit:
                return self.rng.choices(names, cum_weights=cum)[0]
        raise AssertionError

    def created_at(self) -> datetime:
        x = 2 - math.sqrt(4 - 3 * self.rng.random())  # over 12 months, twice as many now as a year ago: a growing store
        return self.now - timedelta(days=365 * x)

    def keys(self) -> tuple[set, set, set]:
        """The columns the generator fills, per table (from one throwaway shipped suborder)."""
        state, numbers = self.rng.getstate(), dict(self.tracking_n)
        so, lines, ships = self.suborder(so_id=1, line_id=1, ship_id=1, order_id=1, status="shipped")
        self.rng.setstate(state)
        self.tracking_n = numbers
        return set(so), set(lines[0]), set(ships[0])

    def tracking(self, carrier: str) -> str:
        self.tracking_n[carrier] += 1
        return _tracking(carrier, self.tracking_n[carrier])

    def suborder(self, *, so_id: int, line_id: int, ship_id: int, order_id: int, status: str | None = None,
                 created_at: datetime | None = None):
        """One suborder with its lines and shipments, as (suborder dict, [line dicts], [shipment dicts])."""
        r, now = self.rng, self.now
        created_at = created_at or self.created_at()
        age = (now - created_at).total_seconds() / 86400
        status = status or self._status(age)
        cust = self.customers[min(len(self.customers) - 1, int(len(self.customers) * r.random() ** 1.6))]  # some shop often
        (wh_id, wh_name) = r.choices(self.wh_cum[0], cum_weights=self.wh_cum[1])[0]
        n_lines = r.choices((1, 2, 3, 4, 5), cum_weights=(15, 35, 65, 85, 100))[0]
        picked = {v[0]: v for v in r.choices(self.variants, cum_weights=self.var_cum, k=n_lines)}
        if status == "partially_shipped" and len(picked) == 1:
            status = "shipped"
        lines, subtotal = [], 0
        for i, v in enumerate(picked.values()):
            q = r.choices((1, 2, 3), cum_weights=(70, 90, 100))[0]
            total = v[3] * q
            subtotal += total
            acc = q if status in SHIPPED or status == "accepted" else 0
            shipped = q if status in ("shipped", "delivered", "completed") or (status == "partially_shipped" and i == 0) else 0
            lines.append({"id": line_id + i, "suborder_id": so_id, "variant_id": v[0], "sku": v[1], "name": v[2],
                          "unit_price_minor": v[3], "quantity": q, "discount_minor": 0, "line_total_minor": total,
                          "accepted_qty": acc, "refused_qty": q if status == "refused" else 0,
                          "cancelled_qty": q if status == "cancelled" else 0, "shipped_qty": shipped,
                          "delivered_qty": q if status in ("delivered", "completed") else 0, "returned_qty": 0})
        shipping = r.choices((0, 800, 1000, 1500), cum_weights=(60, 75, 95, 100))[0]
        discount = subtotal // 10 if r.random() < 0.2 else 0
        t = {k: None for k in ("accept_by", "ship_by", "auto_receipt_at", "complete_after", "accepted_at", "shipped_at",
                               "delivered_at", "completed_at")}
        is_late, version = False, 2 if status != "pending_payment" else 1
        if status == "awaiting_acceptance":
            t["accept_by"] = created_at + timedelta(hours=48)
        if status in SHIPPED or status == "accepted":
            t["accepted_at"] = min(now, created_at + timedelta(minutes=r.uniform(5, 360)))
            version += 1
        if status in ("accepted", "partially_shipped"):
            t["ship_by"] = t["accepted_at"] + timedelta(hours=48)
            is_late = t["ship_by"] < now
        if status in SHIPPED:
            t["shipped_at"] = min(now - timedelta(minutes=1), t["accepted_at"] + timedelta(hours=r.uniform(2, 40)))
            is_late = is_late or r.random() < 0.04
            version += 1
        if status == "shipped":
            t["auto_receipt_at"] = t["shipped_at"] + timedelta(days=10)
        if status in ("delivered", "completed"):
            t["delivered_at"] = min(now, t["shipped_at"] + timedelta(days=r.uniform(1, 4)))
            version += 1
        if status == "delivered":
            t["complete_after"] = t["delivered_at"] + timedelta(days=7)
        if status == "completed":
            t["completed_at"] = min(now, t["delivered_at"] + timedelta(days=7))
            version += 1
        order_number = f"{created_at:%y%m%d}-{(order_id * 0x9E3779B97F4A7C15) % (1 << 48):012X}"  # unique, looks random
        address = {k: cust[k] for k in ("name", "phone", "line1", "city", "region", "postcode", "country")}
        so = {"id": so_id, "number": f"{order_number}-{self.suffix}1", "order_id": order_id, "order_number": order_number,
              "shopper_email": cust["email"], "status": status, "currency": "CNY", "warehouse_id": wh_id,
              "warehouse_name": wh_name, "warehouse_reason": "", "shipping_method": "Standard" if shipping else "Standard (free)",
              "shipping_address": json.dumps(address, ensure_ascii=False), "subtotal_minor": subtotal,
              "shipping_minor": shipping, "discount_minor": discount, "platform_discount_minor": 0,
              "total_minor": subtotal + shipping - discount, "created_at": created_at, "skus": skus_of(v[1] for v in picked.values()),
              "updated_at": max(v for v in (created_at, *t.values()) if v is not None), "is_late": is_late, "version": version, **t}
        shipments = []
        if status in SHIPPED:
            carrier = r.choices(self.carriers[0], cum_weights=self.carriers[1])[0]
            count = 2 if len(lines) > 1 and status != "partially_shipped" and r.random() < 0.06 else 1
            for k in range(count):
                delivered = status in ("delivered", "completed")
                shipments.append({"id": ship_id + k, "suborder_id": so_id, "warehouse_id": wh_id, "carrier": carrier,
                                  "service": "", "tracking_number": self.tracking(carrier), "weight_g": r.randrange(200, 5000),
                                  "parcels": 1, "status": "delivered" if delivered else r.choice(("shipped", "in_transit")),
                                  "shipped_at": t["shipped_at"], "delivered_at": t["delivered_at"],
                                  "estimated_delivery_at": t["shipped_at"] + timedelta(days=3), "last_event_at": t["shipped_at"],
                                  "created_by_id": None})
        return so, lines, shipments


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--suborders", type=int, default=1_000_000)
        parser.add_argument("--keep", action="store_true", help="reuse the bench merchant of an earlier run (same --suborders)")
        parser.add_argument("--requests", type=int, default=200, help="requests per query and per measure")
        parser.add_argument("--ops", type=int, default=300, help="suborder_accept and shipment_create calls each (and as many raw)")
        parser.add_argument("--seed", type=int, default=20261201)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        name = settings.DATABASES["default"]["NAME"]
        if not name.endswith("_bench"):
            raise CommandError(f"bench_dashboard loads a million rows: run it in a database of its own whose name ends in "
                               f"_bench, not {name!r} (DATABASE_URL=postgres://…/mallard_bench)")
        self.opts = opts
        self.rng = random.Random(opts["seed"] + 1)
        load_before = os.getloadavg()
        connection.set_schema_to_public()
        merchant, load_s = self._merchant(opts["suborders"], opts["keep"])
        self.merchant, self.schema = merchant, merchant.schema_name
        self._owner()
        samples = self._samples()
        lists = self._measure_lists(samples)
        ops = self._measure_ops()
        explains = self._explain_slowest(lists)
        self._report(lists, ops, explains, load_s, load_before)

    # -- the merchant and its data ------------------------------------------------------------
    def _merchant(self, n: int, keep: bool):
        from merchants.services import merchant_create
        from tenants.models import Merchant

        existing = Merchant.objects.filter(slug=SLUG).first()
        if existing is not None and keep:
            with in_merchant_schema(existing), connection.cursor() as cur:
                cur.execute("SELECT count(*) FROM suborders_suborder")
                have = cur.fetchone()[0]
            if have >= n:
                self.stdout.write(f"reusing {SLUG} ({have} suborders)")
                return existing, None
            self.stdout.write(f"{SLUG} holds {have} suborders, not {n}: loading again")
        if existing is not None:
            self._drop(existing)
        merchant = merchant_create(slug=SLUG, name="Dashboard bench store", contact_email=OWNER_EMAIL)
        started = time.perf_counter()
        self._load(merchant, n)
        return merchant, time.perf_counter() - started

    def _drop(self, merchant) -> None:
        from core.models import OutboxEvent
        from orders.models import Order, SubOrderMirror
        from permissions.models import Membership
        from tenants.models import Domain

        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute(f'DROP SCHEMA IF EXISTS "{merchant.schema_name}" CASCADE')
            with connection.cursor() as cur:  # the bench's orders have nothing else attached: no cascade to collect
                cur.execute(f"WITH m AS (DELETE FROM {SubOrderMirror._meta.db_table} WHERE merchant_id = %s RETURNING order_id) "
                            f"DELETE FROM {Order._meta.db_table} WHERE id IN (SELECT order_id FROM m)", [merchant.pk])
            OutboxEvent.objects.filter(schema_name=merchant.schema_name).delete()
            OutboxEvent.objects.filter(aggregate_type="merchant", aggregate_id=str(merchant.pk)).delete()
            Membership.objects.filter(merchant=merchant).delete()
            Domain.objects.filter(tenant=merchant).delete()
            # whatever else in public points at the bench merchant (read models, indexes of other apps)
            with connection.cursor() as cur:
                for rel in type(merchant)._meta.get_fields(include_hidden=True):  # hidden: related_name="+"
                    if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
                        continue
                    cur.execute(f'DELETE FROM "{rel.related_model._meta.db_table}" WHERE "{rel.field.column}" = %s', [merchant.pk])
                cur.execute(f'DELETE FROM "{type(merchant)._meta.db_table}" WHERE id = %s', [merchant.pk])

    def _catalog(self):
        """3 warehouses and 120 variants through the catalog services, each stocked generously."""
        from catalog.models import Variant, Warehouse
        from catalog.services import ReceiveLine, product_create, stock_receive_bulk, warehouse_create

        if not Warehouse.objects.exists():
            for i, (code, name, region, _w) in enumerate(WAREHOUSES):
                warehouse_create(code=code, name=name, region=region, priority=10 * (i + 1))
            r = random.Random(self.opts["seed"])
            for i, pname in enumerate(PRODUCTS * 2):
                n = i + 1
                price = r.randrange(9, 900) * 100 - 1
                product_create(name=f"{pname} {n}", variants=[
                    {"sku": f"DB-{n:03d}-{size}", "price_minor": price + k * 500, "currency": "CNY", "weight_g": 300}
                    for k, size in enumerate(SIZES)])
            warehouses = list(Warehouse.objects.order_by("id"))
            stock_receive_bulk(lines=[ReceiveLine(v.pk, w.pk, 10**6) for v in Variant.objects.order_by("id") for w in warehouses],
                               reason="bench stock")
        weights = {code: w for code, _n, _r, w in WAREHOUSES}
        warehouses = [(w.pk, w.name, weights.get(w.code, 10)) for w in Warehouse.objects.order_by("id")]
        variants = [(v.pk, v.sku, f"{v.product.name} {v.sku[-1]}", v.price_minor)
                    for v in Variant.objects.select_related("product").order_by("id")]
        return warehouses, variants

    def _generator(self, customers: int) -> _Generator:
        warehouses, variants = self._catalog()
        return _Generator(seed=self.opts["seed"], now=timezone.now(), slug=SLUG, warehouses=warehouses, variants=variants,
                          customers=customers)

    def _load(self, merchant, n: int) -> None:
        from fulfillment.models import Shipment
        from suborders.models import SubOrder, SubOrderLine

        schema = merchant.schema_name
        raw = self._raw()
        with in_merchant_schema(merchant):
            gen = self._generator(customers=max(100, n // 3))
            cols = {m: _Columns(m, keys) for m, keys in zip((SubOrder, SubOrderLine, Shipment), gen.keys(), strict=True)}
            with raw.cursor() as cur:
                # Bulk-load practice: drop the plain indexes (not those behind constraints), load, then build them
                # again from their own definitions: the indexes measured are exactly the migration's.
                cur.execute("""SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
                               JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
                               WHERE t.relnamespace = %s::regnamespace AND t.relname = ANY(%s)
                                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)""",
                            [schema, [c.table for c in cols.values()]])
                indexes = cur.fetchall()
                for idx, _def in indexes:
                    cur.execute(f'DROP INDEX "{schema}"."{idx}"')
                started, so_id, line_id, ship_id, counts = time.perf_counter(), 1, 1, 1, [0, 0, 0]
                # ids grow with created_at, as they do in a real store (the oldest suborder has the lowest id)
                created = sorted(gen.created_at() for _ in range(n))
                while so_id <= n:
                    batch = ([], [], [])
                    for _ in range(min(CHUNK, n - so_id + 1)):
                        so, lines, ships = gen.suborder(so_id=so_id, line_id=line_id, ship_id=ship_id, order_id=10**12 + so_id,
                                                        created_at=created[so_id - 1])
                        batch[0].append(cols[SubOrder].row(so))
                        batch[1].extend(cols[SubOrderLine].row(ln) for ln in lines)
                        batch[2].extend(cols[Shipment].row(s) for s in ships)
                        so_id, line_id, ship_id = so_id + 1, line_id + len(lines), ship_id + len(ships)
                    for k, model in enumerate((SubOrder, SubOrderLine, Shipment)):
                        counts[k] += cols[model].copy(cur, schema, batch[k])
                    self.stdout.write(f"  COPY {counts[0]:,} suborders, {counts[1]:,} lines, {counts[2]:,} shipments "
                                      f"({time.perf_counter() - started:.0f}s)")
                copy_s = time.perf_counter() - started
                cur.execute("SET maintenance_work_mem = '512MB'")
                for idx, definition in indexes:
                    t0 = time.perf_counter()
                    cur.execute(definition)
                    self.stdout.write(f"  index {idx}: {time.perf_counter() - t0:.1f}s")
                for model in (SubOrder, SubOrderLine, Shipment):
                    table = model._meta.db_table
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{schema}\".\"{table}\"', 'id'), "
                                f"(SELECT max(id) FROM \"{schema}\".\"{table}\"))")
                # what autovacuum would long have done to a year of rows: statistics and the visibility map
                for table in ("suborders_suborder", "suborders_suborderline", "fulfillment_shipment", "catalog_stocklevel"):
                    cur.execute(f'VACUUM (ANALYZE) "{schema}"."{table}"')
        self.stdout.write(f"loaded {counts[0]:,} suborders, {counts[1]:,} lines, {counts[2]:,} shipments: COPY {copy_s:.0f}s, "
                          f"indexes + ANALYZE {time.perf_counter() - started - copy_s:.0f}s")

    def _raw(self):
        """The psycopg connection under Django's (same session: same schema, same transaction state)."""
        connection.ensure_connection()
        return connection.connection

    def _owner(self):
        from permissions.models import User
        from permissions.services import api_token_create, membership_grant, user_create

        owner = User.objects.filter(email=OWNER_EMAIL).first() or user_create(email=OWNER_EMAIL, password="bench-pass-123")
        membership_grant(user=owner, merchant=self.merchant, roles=["owner"])
        self.owner = owner
        self.token, self.secret = api_token_create(user=owner, name="bench dashboard", merchant=self.merchant)

    # -- what to search for -------------------------------------------------------------------
    def _samples(self) -> dict:
        """Values drawn from the loaded rows: real numbers, phones, tracking numbers, names, SKUs."""
        with in_merchant_schema(self.merchant), connection.cursor() as cur:
            cur.execute("SELECT max(id) FROM suborders_suborder")
            top = cur.fetchone()[0]
            ids = [self.rng.randrange(1, top + 1) for _ in range(3000)]
            cur.execute("SELECT number, order_number, shipping_address->>'name', shipping_address->>'phone' "
                        "FROM suborders_suborder WHERE id = ANY(%s)", [ids])
            rows = cur.fetchall()
            cur.execute("SELECT max(id) FROM fulfillment_shipment")
            stop = cur.fetchone()[0]
            cur.execute("SELECT tracking_number FROM fulfillment_shipment WHERE id = ANY(%s)",
                        [[self.rng.randrange(1, stop + 1) for _ in range(1000)]])
            tracking = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT sku FROM catalog_variant ORDER BY id")
            skus = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT id FROM catalog_warehouse ORDER BY id")
            warehouses = [r[0] for r in cur.fetchall()]
        chinese = [r[2] for r in rows if not r[2].isascii()]
        latin = [r[2] for r in rows if r[2].isascii()]
        return {"numbers": [r[0] for r in rows], "orders": [r[1] for r in rows], "phones": [r[3] for r in rows],
                "chinese": chinese, "latin": latin, "tracking": tracking, "skus": skus, "warehouses": warehouses}

    def _scenarios(self, s: dict) -> dict:
        """query name -> a function giving the query-string parameters of one request."""
        r, today = self.rng, timezone.localdate()

        def status_dates():
            start = today - timedelta(days=r.randrange(14, 360))
            return {"status": r.choice(("completed", "completed", "shipped", "delivered", "cancelled", "refused")),
                    "from": start.isoformat(), "to": (start + timedelta(days=r.randrange(7, 90))).isoformat()}

        def number():
            k = r.random()
            if k < 0.5:
                return {"q": r.choice(s["orders"])}
            if k < 0.75:
                return {"q": r.choice(s["numbers"])}
            return {"q": r.choice(s["orders"])[:11].lower()}  # "261130-a1b2": a prefix, typed in lower case

        def phone():
            p, k = r.choice(s["phones"]), r.random()
            digits = "".join(ch for ch in p if ch.isdigit())
            if k < 0.4:
                return {"q": p}
            if k < 0.7:
                return {"q": digits[2:] if p.startswith("+86") else digits}
            return {"q": digits[-4:]}

        def name():
            k = r.random()
            if k < 0.35 or not s["latin"]:
                return {"q": r.choice(s["chinese"])}  # a whole Chinese name, 2 or 3 characters
            if k < 0.7:
                n = r.choice([x for x in s["chinese"][:300] if len(x) == 3] or s["chinese"])
                return {"q": n[1:] if r.random() < 0.7 else n[:2]}  # a given name, or surname + first character
            first, last = r.choice(s["latin"]).split(" ", 1)
            return {"q": (last if r.random() < 0.6 else first)[:r.randrange(3, 6)].lower()}

        return {
            "list, newest first (no filter)": lambda: {},
            "status + date range": status_dates,
            "warehouse": lambda: {"warehouse": str(r.choice(s["warehouses"]))},
            "carrier (via shipments)": lambda: {"carrier": r.choice(("sf", "zto", "yto", "jd", "ems", "dhl"))},
            "late": lambda: {"late": "true"},
            "sort by total, highest first": lambda: {"ordering": "-total", "status": r.choice(("completed", "shipped"))},
            "search: order / suborder number": number,
            "search: shopper phone": phone,
            "search: tracking number": lambda: {"q": r.choice(s["tracking"])},
            "search: name fragment": name,
            "search: SKU (the more sold half)": lambda: {"q": r.choice(s["skus"][:len(s["skus"]) // 2])},
            "search: SKU (the less sold half)": lambda: {"q": r.choice(s["skus"][len(s["skus"]) // 2:])},
        }

    # -- the raw-SQL reference of the list ----------------------------------------------------
    def _raw_sql(self, f, kinds) -> tuple[str, list]:
        """The selector's SQL written by hand: the same columns, predicates, UNION branches and order."""
        from suborders.models import SubOrder
        from suborders.selectors import LIST_ORDERINGS

        cols = ", ".join(f'"{fld.column}"' for fld in SubOrder._meta.concrete_fields)
        keys, desc = LIST_ORDERINGS[f.ordering]
        direction = " DESC" if desc else ""
        order = ", ".join(f"{k}{direction}" for k in (*keys, "id"))
        where, params = [], []
        for sql, value in (("status = %s", f.status), ("created_at >= %s", f.created_from), ("created_at < %s", f.created_before),
                           ("warehouse_id = %s", f.warehouse_id), ("is_late = %s", f.late), ("is_late = %s", f.flagged)):
            if value is not None:
                where.append(sql)
                params.append(value)
        if f.carrier:
            where.append("EXISTS (SELECT 1 FROM fulfillment_shipment s WHERE s.suborder_id = suborders_suborder.id AND s.carrier = %s)")
            params.append(f.carrier)
        if f.after is not None:
            where.append(f"({', '.join((*keys, 'id'))}) {'<' if desc else '>'} ({', '.join(['%s'] * len(f.after))})")
            params.extend(f.after)
        n = f.limit + 1
        outer = f"SELECT {cols} FROM suborders_suborder WHERE id IN ({{ids}}) ORDER BY {order} LIMIT {n}"
        if not kinds:
            return outer.format(ids=f"SELECT id FROM suborders_suborder {'WHERE ' + ' AND '.join(where) if where else ''} "
                                    f"ORDER BY {order} LIMIT {n}"), params
        q = f.q
        if "sku" in kinds:  # the selector's probe: an absent SKU is not searched
            self._raw_cur.execute("SELECT EXISTS (SELECT 1 FROM suborders_suborderline WHERE sku = ANY(%s))", [sorted({q, q.upper()})])
            if not self._raw_cur.fetchone()[0]:
                kinds = [k for k in kinds if k != "sku"]
                if not kinds:
                    return "SELECT 1 WHERE false", []
        compact = q.upper().replace(" ", "")
        digits = "".join(ch for ch in q if ch.isdigit())
        doubled = "".join((u if len(u := ch.upper()) == 1 else ch) * 2 for ch in q)
        branch = {
            "number": ("(number LIKE %s OR order_number LIKE %s)", [_like_escape(compact) + "%"] * 2),
            "phone": ("reverse(regexp_replace(shipping_address ->> 'phone', '[^0-9]', '', 'g')) LIKE %s", [digits[::-1] + "%"]),
            "tracking": ("id IN (SELECT suborder_id FROM fulfillment_shipment WHERE tracking_number = %s)", [compact]),
            "sku": ("skus && %s::varchar(64)[]", [sorted({q, q.upper()})]),
            "name": ("regexp_replace(upper(shipping_address ->> 'name'), '(.)', '\\1\\1', 'g') LIKE %s",
                     ["%" + _like_escape(doubled) + "%"]),
        }
        parts, all_params = [], []
        for kind in kinds:
            sql, p = branch[kind]
            parts.append(f"(SELECT id FROM suborders_suborder WHERE {' AND '.join([*where, sql])} ORDER BY {order} LIMIT {n})")
            all_params.extend([*params, *p])
        return outer.format(ids=" UNION ".join(parts)), all_params

    # -- measuring ----------------------------------------------------------------------------
    def _measure_lists(self, samples: dict) -> dict:
        import psycopg

        from suborders.selectors import suborder_list_filters_parse, suborder_list_for_merchant

        n_req = self.opts["requests"]
        scenarios = self._scenarios(samples)
        plans = {name: [make() for _ in range(n_req)] for name, make in scenarios.items()}
        # page 2 of the busiest list: the cursor of page 1 of a status + date range query
        results: dict = {}
        with in_merchant_schema(self.merchant):
            raw_cur = self._raw_cur = psycopg.ClientCursor(self._raw())  # literals inlined, like Django's cursor
            connection.cursor().execute("SELECT 1")  # search_path for this schema is set now
            second = []
            for params in plans["status + date range"]:
                page = suborder_list_for_merchant(filters=suborder_list_filters_parse(params)[0])
                if page.next_cursor:
                    second.append({**params, "cursor": page.next_cursor})
            plans["status + date range, page 2 (cursor)"] = second[:n_req]
            for name, plan in plans.items():
                orm, raw, mismatches, rows_seen, worst = [], [], 0, 0, (0.0, {})
                for params in plan:
                    t0 = time.perf_counter()
                    filters, errors = suborder_list_filters_parse(params)
                    page = suborder_list_for_merchant(filters=filters)
                    ms = (time.perf_counter() - t0) * 1000
                    if errors:
                        raise CommandError(f"{name}: {params} refused: {errors[0].message}")
                    orm.append(ms)
                    worst = max(worst, (ms, params), key=lambda w: w[0])
                    t0 = time.perf_counter()
                    sql, sql_params = self._raw_sql(filters, page.searched)
                    raw_cur.execute(sql, sql_params)
                    got = raw_cur.fetchall()
                    raw.append((time.perf_counter() - t0) * 1000)
                    rows_seen += len(page.rows)
                    if [g[0] for g in got[:filters.limit]] != [so.pk for so in page.rows]:
                        mismatches += 1
                results[name] = {"orm": orm, "raw": raw, "mismatches": mismatches, "rows": rows_seen / max(1, len(plan)),
                                 "worst": worst, "plan": plan}
                self.stdout.write(f"  {name}: in-process p50 {_percentile(orm, 50):.1f} p99 {_percentile(orm, 99):.1f} ms, "
                                  f"raw p50 {_percentile(raw, 50):.1f} p99 {_percentile(raw, 99):.1f} ms")
            raw_cur.close()
        self._measure_views(results)
        return results

    def _measure_views(self, results: dict) -> None:
        from tenants.selectors import merchant_host

        connection.set_schema_to_public()
        host = merchant_host(self.merchant)
        page_client = Client(HTTP_HOST=host)
        page_client.force_login(self.owner)
        api_client = Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {self.secret}")
        for name, res in results.items():
            page_ms, api_ms = [], []
            for params in res["plan"]:
                t0 = time.perf_counter()
                resp = page_client.get("/suborders/", params)
                page_ms.append((time.perf_counter() - t0) * 1000)
                if resp.status_code != 200:
                    raise CommandError(f"page {params}: {resp.status_code}")
                t0 = time.perf_counter()
                resp = api_client.get("/api/v1/suborders/", params)
                api_ms.append((time.perf_counter() - t0) * 1000)
                if resp.status_code != 200:
                    raise CommandError(f"API {params}: {resp.status_code} {resp.content[:300]!r}")
            res["page"], res["api"] = page_ms, api_ms
            self.stdout.write(f"  {name}: page p50 {_percentile(page_ms, 50):.1f} p99 {_percentile(page_ms, 99):.1f} ms, "
                              f"API p50 {_percentile(api_ms, 50):.1f} p99 {_percentile(api_ms, 99):.1f} ms")

    # -- accept and ship at this size ---------------------------------------------------------
    def _targets(self, k: int) -> dict:
        """4 × k fresh suborders: awaiting acceptance (ORM, raw) and accepted with reserved stock (ORM, raw),
        each with its public order and mirror, as checkout and payment would have left them."""
        from catalog.models import StockLevel, StockMovement, StockReservation
        from orders.models import Order, SubOrderMirror
        from suborders.models import SubOrder, SubOrderLine

        now = timezone.now()
        with in_merchant_schema(self.merchant):
            gen = self._generator(customers=500)
            with connection.cursor() as cur:
                cur.execute("SELECT (SELECT coalesce(max(id), 0) FROM suborders_suborder), "
                            "(SELECT coalesce(max(id), 0) FROM suborders_suborderline)")
                so_id, line_id = (x + 1 for x in cur.fetchone())
        groups = {"accept_orm": "awaiting_acceptance", "accept_raw": "awaiting_acceptance",
                  "ship_orm": "accepted", "ship_raw": "accepted"}
        made, orders = {}, []
        for group, status in groups.items():
            made[group] = []
            for _ in range(k):
                so, lines, _ships = gen.suborder(so_id=so_id, line_id=line_id, ship_id=0, order_id=2 * 10**12 + so_id, status=status,
                                                 created_at=now - timedelta(minutes=self.rng.uniform(1, 600)))
                made[group].append((so, lines))
                so_id, line_id = so_id + 1, line_id + len(lines)
                orders.append(Order(number=f"DB{so['order_number']}", email=so["shopper_email"], currency="CNY",
                                    subtotal_minor=so["subtotal_minor"], shipping_minor=so["shipping_minor"],
                                    discount_minor=so["discount_minor"], total_minor=so["total_minor"],
                                    shipping_address=json.loads(so["shipping_address"]), idempotency_scope="bench:dashboard",
                                    idempotency_key=f"{SLUG}-{so['id']}-{time.time_ns()}", request_hash="0" * 64,
                                    created_at=so["created_at"], expires_at=so["created_at"] + timedelta(minutes=30)))
        connection.set_schema_to_public()
        Order.objects.bulk_create(orders, batch_size=2000)
        pairs = [pair for group in groups for pair in made[group]]
        for (so, _lines), order in zip(pairs, orders, strict=True):
            so["order_id"] = order.pk
        SubOrderMirror.objects.bulk_create([
            SubOrderMirror(order_id=so["order_id"], merchant_id=self.merchant.pk, suborder_id=so["id"], number=so["number"],
                           status=so["status"], warehouse_name=so["warehouse_name"], shipping_method=so["shipping_method"],
                           subtotal_minor=so["subtotal_minor"], shipping_minor=so["shipping_minor"],
                           discount_minor=so["discount_minor"], total_minor=so["total_minor"], accept_by=so["accept_by"],
                           ship_by=so["ship_by"], version=so["version"], updated_at=so["updated_at"])
            for so, _lines in pairs], batch_size=2000)
        with in_merchant_schema(self.merchant):
            so_keys, line_keys, _ship_keys = gen.keys()
            so_cols, line_cols = _Columns(SubOrder, so_keys), _Columns(SubOrderLine, line_keys)
            with self._raw().cursor() as cur:
                so_cols.copy(cur, self.schema, [so_cols.row(so) for so, _l in pairs])
                line_cols.copy(cur, self.schema, [line_cols.row(ln) for _s, lines in pairs for ln in lines])
            # the accepted ones hold their stock, as checkout reserved it (journal included)
            reserved = [(so, ln) for group in ("ship_orm", "ship_raw") for so, lines in made[group] for ln in lines]
            with transaction.atomic():
                StockReservation.objects.bulk_create([
                    StockReservation(owner=f"suborder_line:{ln['id']}", variant_id=ln["variant_id"], warehouse_id=so["warehouse_id"],
                                     quantity=ln["quantity"], created_at=now) for so, ln in reserved], batch_size=2000)
                StockMovement.objects.bulk_create([
                    StockMovement(kind=StockMovement.Kind.RESERVATION, variant_id=ln["variant_id"], warehouse_id=so["warehouse_id"],
                                  reserved_delta=ln["quantity"], reason="checkout", reference=f"suborder_line:{ln['id']}",
                                  created_at=now) for so, ln in reserved], batch_size=2000)
                totals: dict = {}
                for so, ln in reserved:
                    totals[(ln["variant_id"], so["warehouse_id"])] = totals.get((ln["variant_id"], so["warehouse_id"]), 0) + ln["quantity"]
                for (vid, wid), q in sorted(totals.items()):
                    StockLevel.objects.filter(variant_id=vid, warehouse_id=wid).update(reserved=F("reserved") + q)
            with connection.cursor() as cur:
                for table in ("suborders_suborder", "suborders_suborderline", "catalog_stockreservation"):
                    cur.execute(f"ANALYZE {table}")
        return {g: [so["id"] for so, _l in made[g]] for g in groups}

    def _measure_ops(self) -> dict:
        from fulfillment.shipments import shipment_create
        from suborders.services import suborder_accept

        k = self.opts["ops"]
        targets = self._targets(k)
        out: dict = {}
        with in_merchant_schema(self.merchant):
            raw = self._raw()
            with CaptureQueriesContext(connection) as ctx:
                suborder_accept(suborder_id=targets["accept_orm"][0], actor=self.owner)
            out["accept_sql"] = len(ctx.captured_queries)
            lat_orm, lat_raw = [], []
            for orm_id, raw_id in zip(targets["accept_orm"][1:], targets["accept_raw"][1:], strict=True):
                t0 = time.perf_counter()
                suborder_accept(suborder_id=orm_id, actor=self.owner)
                lat_orm.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                self._raw_accept(raw, raw_id)
                lat_raw.append(time.perf_counter() - t0)
            out["accept"] = (lat_orm, lat_raw)
            n = self.tracking_seq = random.SystemRandom().randrange(10**11, 10**12)  # not seeded: a --keep run must not reuse the last run's numbers
            with CaptureQueriesContext(connection) as ctx:
                shipment_create(suborder_id=targets["ship_orm"][0], actor=self.owner, lines=None, carrier="sf",
                                tracking_number=f"SF9{n:012d}")
            out["ship_sql"] = len(ctx.captured_queries)
            lat_orm, lat_raw = [], []
            for i, (orm_id, raw_id) in enumerate(zip(targets["ship_orm"][1:], targets["ship_raw"][1:], strict=True)):
                t0 = time.perf_counter()
                shipment_create(suborder_id=orm_id, actor=self.owner, lines=None, carrier="sf", tracking_number=f"SF9{n + 2 * i + 1:012d}")
                lat_orm.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                self._raw_ship(raw, raw_id, f"SF9{n + 2 * i + 2:012d}")
                lat_raw.append(time.perf_counter() - t0)
            out["ship"] = (lat_orm, lat_raw)
            from catalog.services import stock_journal_check

            out["journal_drift"] = len(stock_journal_check())
        for what in ("accept", "ship"):
            lat_orm, lat_raw = out[what]
            self.stdout.write(f"  {what}: {len(lat_orm) / sum(lat_orm):.1f}/s (p50 {_percentile(lat_orm, 50) * 1000:.1f} ms), "
                              f"raw {len(lat_raw) / sum(lat_raw):.1f}/s")
        return out

    def _raw_accept(self, raw, so_id: int) -> None:
        """suborder_accept's rows by hand: lock, lines accepted, suborder accepted, event, mirror, 2 outbox events."""
        connection.cursor().close()  # django-tenants sets the merchant's search_path lazily, on Django's next cursor
        now = timezone.now()
        ship_by = now + timedelta(hours=self.merchant.shipping_hours)
        with raw.transaction(), raw.cursor() as cur:
            cur.execute("SELECT number, order_id, version, status FROM suborders_suborder WHERE id = %s FOR UPDATE", [so_id])
            number, order_id, version, status = cur.fetchone()
            cur.execute("SELECT id, sku, variant_id, quantity - accepted_qty - refused_qty - cancelled_qty FROM suborders_suborderline "
                        "WHERE suborder_id = %s ORDER BY id FOR UPDATE", [so_id])
            lines = cur.fetchall()
            cur.execute("UPDATE suborders_suborderline SET accepted_qty = quantity - refused_qty - cancelled_qty WHERE suborder_id = %s",
                        [so_id])
            cur.execute("UPDATE suborders_suborder SET status = 'accepted', ship_by = %s, accept_by = NULL, accepted_at = %s, "
                        "updated_at = %s, version = version + 1 WHERE id = %s", [ship_by, now, now, so_id])
            changed = [{"line": i, "sku": s, "variant_id": v, "quantity": q} for i, s, v, q in lines if q]
            cur.execute("INSERT INTO suborders_suborderevent (suborder_id, action, from_status, to_status, actor_id, lines, reason_code, "
                        "reason, at) VALUES (%s, 'accepted', %s, 'accepted', %s, %s, '', '', %s)",
                        [so_id, status, self.owner.pk, json.dumps(changed), now])
            cur.execute("UPDATE public.orders_subordermirror SET status = 'accepted', ship_by = %s, accept_by = NULL, version = %s, "
                        "updated_at = %s WHERE merchant_id = %s AND suborder_id = %s AND version < %s",
                        [ship_by, version + 1, now, self.merchant.pk, so_id, version + 1])
            payload = json.dumps({"number": number, "order_id": order_id, "merchant_id": self.merchant.pk, "from": status,
                                  "to": "accepted", "action": "accepted", "lines": changed, "reason": "", "version": version + 1})
            self._outbox(cur, [("suborder.accepted", "suborder", so_id, payload), ("suborder.changed", "suborder", so_id, payload)], now)

    def _raw_ship(self, raw, so_id: int, tracking: str) -> None:
        """shipment_create's rows by hand: shipment, stock levels and journal, reservations committed, lines
        shipped, suborder shipped, event, mirror, shipment lines, outbox events (one listing event per line)."""
        connection.cursor().close()  # as in _raw_accept: the service left the search_path to be set again
        now = timezone.now()
        owners_sql = "'suborder_line:' || l.id"
        with raw.transaction(), raw.cursor() as cur:
            cur.execute("SELECT number, order_id, version, status, warehouse_id, shopper_email FROM suborders_suborder "
                        "WHERE id = %s FOR UPDATE", [so_id])
            number, order_id, version, status, wh, email = cur.fetchone()
            cur.execute("SELECT id, sku, variant_id, accepted_qty - shipped_qty, unit_price_minor * accepted_qty "
                        "FROM suborders_suborderline WHERE suborder_id = %s ORDER BY id FOR UPDATE", [so_id])
            lines = cur.fetchall()
            cur.execute("INSERT INTO fulfillment_shipment (suborder_id, warehouse_id, carrier, service, tracking_number, weight_g, "
                        "parcels, status, shipped_at, created_by_id) VALUES (%s, %s, 'sf', '', %s, 0, 1, 'shipped', %s, %s) RETURNING id",
                        [so_id, wh, tracking, now, self.owner.pk])
            shipment_id = cur.fetchone()[0]
            cur.execute(f"SELECT r.id FROM catalog_stockreservation r JOIN suborders_suborderline l ON r.owner = {owners_sql} "
                        "WHERE l.suborder_id = %s AND r.status = 'active' ORDER BY r.id FOR UPDATE OF r", [so_id])
            cur.execute("SELECT s.id FROM catalog_stocklevel s JOIN unnest(%s::bigint[]) AS k(vid) ON s.variant_id = k.vid "
                        "WHERE s.warehouse_id = %s ORDER BY s.variant_id FOR UPDATE OF s", [[ln[2] for ln in lines], wh])
            cur.execute("UPDATE catalog_stocklevel s SET on_hand = s.on_hand - d.q, reserved = s.reserved - d.q, updated_at = %s "
                        "FROM unnest(%s::bigint[], %s::bigint[]) AS d(vid, q) WHERE s.variant_id = d.vid AND s.warehouse_id = %s",
                        [now, [ln[2] for ln in lines], [ln[3] for ln in lines], wh])
            ref = f"sf {tracking}"
            cur.executemany("INSERT INTO catalog_stockmovement (kind, variant_id, warehouse_id, on_hand_delta, reserved_delta, "
                            "actor_id, reason, reference, created_at) VALUES ('shipment', %s, %s, %s, %s, %s, %s, %s, %s)",
                            [(ln[2], wh, -ln[3], -ln[3], self.owner.pk, f"shipped for suborder_line:{ln[0]}", ref, now) for ln in lines])
            cur.execute(f"UPDATE catalog_stockreservation r SET shipped_quantity = r.quantity, status = 'committed', closed_at = %s "
                        f"FROM suborders_suborderline l WHERE r.owner = {owners_sql} AND l.suborder_id = %s AND r.status = 'active'",
                        [now, so_id])
            cur.execute("UPDATE suborders_suborderline SET shipped_qty = accepted_qty WHERE suborder_id = %s", [so_id])
            receipt = now + timedelta(days=self.merchant.auto_receipt_days)
            cur.execute("UPDATE suborders_suborder SET status = 'shipped', shipped_at = %s, auto_receipt_at = %s, ship_by = NULL, "
                        "updated_at = %s, version = version + 1 WHERE id = %s", [now, receipt, now, so_id])
            changed = [{"line": i, "sku": s, "variant_id": v, "quantity": q} for i, s, v, q, _m in lines]
            cur.execute("INSERT INTO suborders_suborderevent (suborder_id, action, from_status, to_status, actor_id, lines, reason_code, "
                        "reason, at) VALUES (%s, 'shipped', %s, 'shipped', %s, %s, '', %s, %s)",
                        [so_id, status, self.owner.pk, json.dumps(changed), ref, now])
            cur.execute("UPDATE public.orders_subordermirror SET status = 'shipped', ship_by = NULL, auto_receipt_at = %s, "
                        "shipped_minor = %s, version = %s, updated_at = %s WHERE merchant_id = %s AND suborder_id = %s AND version < %s",
                        [receipt, sum(ln[4] for ln in lines), version + 1, now, self.merchant.pk, so_id, version + 1])
            cur.executemany("INSERT INTO fulfillment_shipmentline (shipment_id, line_id, quantity) VALUES (%s, %s, %s)",
                            [(shipment_id, ln[0], ln[3]) for ln in lines])
            payload = json.dumps({"number": number, "order_id": order_id, "merchant_id": self.merchant.pk, "from": status,
                                  "to": "shipped", "action": "shipped", "lines": changed, "reason": ref, "version": version + 1})
            events = [("catalog.listing_changed", "variant", ln[2], json.dumps({"variant_ids": [ln[2]]})) for ln in lines]
            events += [("suborder.shipped", "suborder", so_id, payload), ("suborder.changed", "suborder", so_id, payload),
                       ("shipment.created", "suborder", so_id, json.dumps({"shipment_id": shipment_id, "number": number,
                                                                           "order_id": order_id, "carrier": "sf",
                                                                           "tracking_number": tracking, "email": email}))]
            self._outbox(cur, events, now)

    def _outbox(self, cur, events, now) -> None:
        cur.executemany("INSERT INTO public.core_outboxevent (topic, aggregate_type, aggregate_id, schema_name, payload, "
                        "payload_version, status, created_at) VALUES (%s, %s, %s, %s, %s, 1, 'pending', %s)",
                        [(t, a, str(i), self.schema, p, now) for t, a, i, p in events])

    # -- EXPLAIN of the slowest and the report ------------------------------------------------
    def _explain_slowest(self, lists: dict, count: int = 2) -> list:
        from suborders.selectors import suborder_list_filters_parse, suborder_list_for_merchant

        slowest = sorted(lists.items(), key=lambda kv: _percentile(kv[1]["orm"], 99), reverse=True)[:count]
        out = []
        with in_merchant_schema(self.merchant):
            for name, res in slowest:
                params = res["worst"][1]
                with CaptureQueriesContext(connection) as ctx:
                    suborder_list_for_merchant(filters=suborder_list_filters_parse(params)[0])
                sql = [q["sql"] for q in ctx.captured_queries if "suborders_suborder" in q["sql"]][-1]
                with connection.cursor() as cur:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    plan = "\n".join(r[0] for r in cur.fetchall())
                out.append({"query": name, "params": params, "plan": plan})
        return out

    def _report(self, lists, ops, explains, load_s, load_before) -> None:
        def stats(values, scale=1.0):
            return round(_percentile(values, 50) * scale, 2), round(_percentile(values, 99) * scale, 2)

        summary = {"suborders": self.opts["suborders"], "requests": self.opts["requests"], "load_s": load_s and round(load_s),
                   "loadavg_before": [round(x, 2) for x in load_before], "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                   "queries": {}, "ops": {}}
        self.stdout.write("\nquery (first page unless said) | rows | in-process p50/p99 ms | raw SQL p50/p99 ms | ratio p50 | "
                          "page p50/p99 ms | API p50/p99 ms | same rows")
        for name, res in lists.items():
            orm, raw, page, api = stats(res["orm"]), stats(res["raw"]), stats(res["page"]), stats(res["api"])
            ratio = round(orm[0] / raw[0], 2) if raw[0] else None
            ok = len(res["plan"]) - res["mismatches"]
            summary["queries"][name] = {"rows": round(res["rows"], 1), "in_process": orm, "raw_sql": raw, "ratio_p50": ratio,
                                        "page": page, "api": api, "same_rows": f"{ok}/{len(res['plan'])}"}
            over = [m for m, v in (("in-process", orm[1]), ("page", page[1]), ("API", api[1])) if v > TARGET]
            flag = f"  p99 over {TARGET} ms: {', '.join(over)}" if over else ""
            self.stdout.write(f"{name} | {res['rows']:.1f} | {orm[0]} / {orm[1]} | {raw[0]} / {raw[1]} | {ratio} | "
                              f"{page[0]} / {page[1]} | {api[0]} / {api[1]} | {ok}/{len(res['plan'])}{flag}")
        for what, label in (("accept", "suborder_accept"), ("ship", "shipment_create")):
            lat_orm, lat_raw = ops[what]
            per_s, raw_per_s = len(lat_orm) / sum(lat_orm), len(lat_raw) / sum(lat_raw)
            summary["ops"][label] = {"calls": len(lat_orm), "per_s": round(per_s, 1), "p50_ms": stats(lat_orm, 1000)[0],
                                     "p99_ms": stats(lat_orm, 1000)[1], "raw_per_s": round(raw_per_s, 1),
                                     "ratio": round(per_s / raw_per_s, 2), "sql_statements": ops[f"{what}_sql"]}
            self.stdout.write(f"{label}: {per_s:.1f}/s (p50 {stats(lat_orm, 1000)[0]} ms, p99 {stats(lat_orm, 1000)[1]} ms, "
                              f"{ops[f'{what}_sql']} SQL statements); raw-SQL reference {raw_per_s:.1f}/s; ratio {per_s / raw_per_s:.2f}")
        summary["ops"]["stock_journal_drift"] = ops["journal_drift"]
        self.stdout.write(f"stock journal drift after the shipments: {ops['journal_drift']} levels")
        for e in explains:
            self.stdout.write(f"\nEXPLAIN (ANALYZE, BUFFERS) — {e['query']} {e['params']}:\n{e['plan']}")
        summary["explain"] = explains
        self.stdout.write(f"load average before {summary['loadavg_before']}, after {summary['loadavg_after']}")
        if self.opts["json"]:
            self.stdout.write(json.dumps(summary, default=str, ensure_ascii=False))
        self.token.delete()

