"""`./mallard bench storefront`: the shopper's pages with the listing index at 200,000 products.

Method (docs/benchmarks.md, "Storefront"):

* Load: `--merchants M` (default 200) merchants and `--products N` (default 200,000) products spread
  over them, 1-4 variants each, generated straight into the PUBLIC listing index (storefront_listingproduct
  and storefront_listingentry) with COPY. The index is a read model (storefront.models): the catalogs it is
  normally fed from are not needed to measure the shopper's reads, so the bench merchants (slug
  `sfb-NNN`) are tenant rows without schemas, made with bulk_create. One real merchant (`sfbench`, made by
  merchant_create, with a product, stock and shipping) backs the cart, whose page reads the merchant
  schema. ANALYZE after loading.
* Time, in process through Django's test client (middleware, session, templates: everything but the
  socket), `--requests` (default 200) requests each after 20 warm-ups: the home page, a search with a word
  from the names + a price range + in stock + sort by price, a product page (random product), the cart
  (3 lines). p50/p99 in ms, target p99 <= 100 ms.
* Raw-SQL reference for the search: the same four statements (count, page, two facets) written by hand
  and run through a plain cursor in the same loop; the ratio is page p50 / raw p50.
* Cold load: for each page, the HTML plus every stylesheet, script and image it references (fetched
  through the same client, so whitenoise serves static files): number of requests and bytes (raw and
  gzip), and a check that no URL leaves the host.

Runs only in a database whose name ends in `_bench`. `--keep` keeps the loaded rows for another run
(the next run reuses them when the counts match); without it they are deleted at the end.
"""
from __future__ import annotations

import gzip
import json
import random
import re
import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from storefront.models import ListingEntry, ListingProduct

TARGET_MS = 100
PREFIX = "sfb-"
ADJ = ("Alpine Summit Trail Storm Ridge Granite Canyon Mesa Cirrus Basecamp Nomad Polar Aurora Ember Pulse Echo Nova "
       "Quantum Vector Flux Apex Volt Ion Spark Halo Beacon Oak Slate Copper Linen Cloud Meadow Harbor Nordic Bamboo "
       "Loft Lumen Dusk Amber").split()
NOUN = ("Jacket|Down Jacket|Fleece|Hiking Boot|Trail Runner|Sandal|Daypack|Tent|Sleeping Bag|Headlamp|Earbuds|Headphones|"
        "Speaker|Keyboard|Mouse|USB-C Hub|Monitor|Power Bank|Charger|Phone Case|Cable|Smart Plug|Camera|Bulb|Knife|Pan|"
        "Kettle|Rice Cooker|Duvet Cover|Pillow|Sheets|Storage Box|Shoe Rack|Basket|Desk Lamp|Floor Lamp|Night Light|"
        "Tea Set|Scarf|T-Shirt").split("|")
ZH = "冲锋衣 羽绒服 登山鞋 背包 帐篷 睡袋 头灯 耳机 音箱 键盘 鼠标 充电宝 手机壳 数据线 插座 灯泡 菜刀 铸铁锅 水壶 电饭煲 被套 枕头 收纳箱 台灯".split()
CATEGORIES = ("Jackets 外套|Footwear 鞋|Packs 背包|Camping 露营|Audio 音频|Computing 电脑|Mobile 手机配件|Smart Home 智能家居|"
              "Kitchen 厨房|Bedding 床品|Storage 收纳|Lighting 灯具|Tea 茶|Apparel 服饰").split("|")
SIZES = ("S", "M", "L", "XL")
COLOURS = ("black", "white", "navy", "red", "green", "grey")


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[k]


class Command(BaseCommand):
    help = "Benchmark the storefront's pages with a large listing index (see the module doc)."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=200_000)
        parser.add_argument("--merchants", type=int, default=200)
        parser.add_argument("--requests", type=int, default=200)
        parser.add_argument("--seed", type=int, default=15)
        parser.add_argument("--keep", action="store_true", help="keep the loaded rows (and reuse them next time)")
        parser.add_argument("--json", action="store_true", help="print the results as JSON on the last line")

    # ------------------------------------------------------------ load

    def handle(self, *args, products, merchants, requests, seed, keep, json: bool = False, **options):
        name = settings.DATABASES["default"]["NAME"]
        if not str(name).endswith("_bench") and not str(name).startswith("test_"):
            raise CommandError(f"bench_storefront loads {products:,} rows: run it in a database of its own whose name ends "
                               f"in _bench, not {name!r} (DATABASE_URL=postgres://…/mallard_bench)")
        if products < merchants or merchants < 1:
            raise CommandError("--products must be at least --merchants, and --merchants at least 1")
        rng = random.Random(seed)
        connection.set_schema_to_public()
        t0 = time.perf_counter()
        bench_merchants = self._merchants(merchants)
        loaded = ListingProduct.objects.filter(merchant__slug__startswith=PREFIX).count()
        if loaded != products:
            self._clear()
            bench_merchants = self._merchants(merchants)
            self._load(rng, bench_merchants, products)
        load_s = time.perf_counter() - t0
        real = self._real_merchant()
        results = {"products": products, "merchants": merchants, "requests": requests, "load_s": round(load_s, 1),
                   "method": "in-process Django test client", "pages": {}}
        self.stdout.write(f"listing index: {products:,} products over {merchants} merchants "
                          f"({ListingEntry.objects.filter(merchant__slug__startswith=PREFIX).count():,} variant rows), "
                          f"loaded/checked in {load_s:.1f}s")
        try:
            self._measure(rng, results, real, requests)
        finally:
            if not keep:
                self._clear()
        if json:
            import json as _json

            self.stdout.write(_json.dumps(results))

    def _merchants(self, n: int):
        from tenants.models import Merchant

        have = {m.slug: m for m in Merchant.objects.filter(slug__startswith=PREFIX)}
        missing = [Merchant(slug=f"{PREFIX}{i:03d}", name=f"Bench Store {i:03d} 测试店", schema_name=f"sfb_{i:03d}",
                            status=Merchant.Status.ACTIVE, contact_email=f"owner@{PREFIX}{i:03d}.bench")
                   for i in range(1, n + 1) if f"{PREFIX}{i:03d}" not in have]
        if missing:
            Merchant.objects.bulk_create(missing)  # rows only: no schema (the listing index is all that is read)
            with connection.cursor() as cur:
                cur.execute("ANALYZE tenants_merchant")
        return list(Merchant.objects.filter(slug__startswith=PREFIX).order_by("slug")[:n])

    def _clear(self) -> None:
        from tenants.models import Merchant

        with transaction.atomic():
            ids = list(Merchant.objects.filter(slug__startswith=PREFIX).values_list("id", flat=True))
            ListingEntry.objects.filter(merchant_id__in=ids).delete()
            ListingProduct.objects.filter(merchant_id__in=ids).delete()
            Merchant.objects.filter(id__in=ids).delete()

    def _load(self, rng: random.Random, merchants, n: int) -> None:
        now = timezone.now()
        prod_cols = ["merchant_id", "product_id", "name", "description", "specifications", "store_name", "category",
                     "min_price_minor", "max_price_minor", "currency", "variant_count", "available", "stock_state",
                     "in_stock", "images", "image_url", "sold_count", "listed_at", "updated_at"]
        entry_cols = ["merchant_id", "variant_id", "product_id", "sku", "name", "options", "store_name", "category",
                      "price_minor", "currency", "image_url", "available", "stock_state", "is_listed", "updated_at"]
        self._check_columns(ListingProduct, prod_cols)
        self._check_columns(ListingEntry, entry_cols)
        t = time.perf_counter()
        with connection.cursor() as cur:
            raw = cur.cursor
            entries = []
            with raw.copy(f"COPY storefront_listingproduct ({', '.join(prod_cols)}) FROM STDIN") as pcopy:
                for i in range(n):
                    m = merchants[i % len(merchants)]
                    pid = i // len(merchants) + 1
                    noun = rng.choice(NOUN)
                    name = f"{rng.choice(ADJ)} {noun} {rng.choice(ZH)} {i:06d}"
                    base = rng.randint(9, 2999) * 100 - rng.choice((0, 1, 10))
                    axes = rng.choice(((), ("size",), ("colour",), ("size", "colour")))
                    combos = [{}]
                    if "size" in axes:
                        combos = [{"size": s} for s in rng.sample(SIZES, 2)]
                    if "colour" in axes:
                        combos = [{**c, "colour": col} for c in combos for col in rng.sample(COLOURS, 2)]
                    states, prices, avail = [], [], 0
                    for k, opts in enumerate(combos):
                        a = 0 if rng.random() < 0.1 else rng.randint(1, 200)
                        state = "out" if a == 0 else ("low" if a <= 5 else "in_stock")
                        price = base + k * 1000
                        states.append(state)
                        prices.append(price)
                        avail += a
                        entries.append((m.pk, pid * 10 + k, pid, f"B{m.pk}-{pid}-{k}", name, json.dumps(opts), m.name,
                                        CATEGORIES[NOUN.index(noun) % len(CATEGORIES)], price, "CNY", "", a, state, True, now))
                    state = "in_stock" if "in_stock" in states else ("low" if "low" in states else "out")
                    pcopy.write_row((m.pk, pid, name, f"{name}: bench description.", json.dumps([["Material", "Nylon"]]),
                                     m.name, CATEGORIES[NOUN.index(noun) % len(CATEGORIES)], min(prices), max(prices), "CNY",
                                     len(combos), avail, state, state != "out", "[]", "",
                                     int(rng.paretovariate(1.2)) - 1, now - timedelta(minutes=rng.randint(0, 525_600)), now))
            with raw.copy(f"COPY storefront_listingentry ({', '.join(entry_cols)}) FROM STDIN") as ecopy:
                for row in entries:
                    ecopy.write_row(row)
            cur.execute("ANALYZE storefront_listingproduct")
            cur.execute("ANALYZE storefront_listingentry")
        self.stdout.write(f"COPY of {n:,} products and {len(entries):,} variants: {time.perf_counter() - t:.1f}s")

    @staticmethod
    def _check_columns(model, columns: list[str]) -> None:
        """The generator fills every column without a database default; a new column fails loudly here."""
        from django.db.models.fields import NOT_PROVIDED

        for f in model._meta.concrete_fields:
            if f.column not in columns and not f.primary_key and f.db_default is NOT_PROVIDED and not f.null:
                raise CommandError(f"bench_storefront does not fill {model._meta.db_table}.{f.column}: add it")

    def _real_merchant(self):
        """One real merchant (schema, product, stock, shipping) for the cart page, which reads the merchant schema."""
        from catalog.services import product_create, stock_receive, warehouse_create
        from core.tenancy import in_merchant_schema
        from merchants.services import merchant_create
        from tenants.models import Merchant

        m = Merchant.objects.filter(slug="sfbench").first() or merchant_create(slug="sfbench", name="Storefront Bench")
        with in_merchant_schema(m):
            from catalog.models import Variant

            variants = list(Variant.objects.filter(sku__startswith="SFB-").order_by("id"))
            if len(variants) < 3:
                wh = warehouse_create(code="SFB-W1", name="Bench warehouse", region="CN-SH", priority=1)
                product = product_create(name="Bench Jacket", variants=[
                    {"sku": f"SFB-{k}", "price_minor": 10000 + k * 100, "options": {"size": s}} for k, s in enumerate("SML")])
                variants = list(product.variants.order_by("id"))
                for v in variants:
                    stock_receive(variant_id=v.pk, warehouse_id=wh.pk, quantity=100_000, reason="bench")
        return m, variants

    # ------------------------------------------------------------ measure

    def _measure(self, rng, results, real, n: int) -> None:
        from orders.models import Cart, CartLine

        host = settings.MALL_HOST.split(":")[0]
        client = Client(HTTP_HOST=host)
        merchant, variants = real
        cart = Cart.objects.create()
        for v in variants:
            CartLine.objects.create(cart=cart, merchant=merchant, variant_id=v.pk, quantity=1,
                                    unit_price_seen_minor=v.price_minor)
        session = client.session
        session["cart_token"] = str(cart.token)
        session.save()
        sample = list(ListingProduct.objects.filter(merchant__slug__startswith=PREFIX).order_by("?")
                      .values_list("merchant__slug", "product_id", "name")[:500])
        words = [s[2].split()[1] for s in sample]

        def search_params():
            lo = rng.randint(1, 10) * 100
            return {"q": rng.choice(words), "price_min": str(lo), "price_max": str(lo + rng.randint(3, 20) * 100),
                    "in_stock": "1", "sort": rng.choice(("price_asc", "price_desc", "best_selling"))}

        pages = {
            "home": lambda: ("/", {}),
            "search": lambda: ("/products/", search_params()),
            "product": lambda: ("/products/{}/{}/".format(*rng.choice(sample)[:2]), {}),
            "cart": lambda: ("/cart/", {}),
        }
        for label, make in pages.items():
            for _ in range(20):  # warm-up
                path, params = make()
                client.get(path, params)
            times = []
            for _ in range(n):
                path, params = make()
                t = time.perf_counter()
                resp = client.get(path, params)
                times.append((time.perf_counter() - t) * 1000)
                if resp.status_code != 200:
                    raise CommandError(f"{label} {path} {params}: HTTP {resp.status_code}")
            path, params = make()
            cold = self._cold_load(client, path, params)
            results["pages"][label] = {"p50_ms": round(_pct(times, 50), 1), "p99_ms": round(_pct(times, 99), 1), **cold}
            ok = "ok" if _pct(times, 99) <= TARGET_MS else f"ABOVE the {TARGET_MS} ms target"
            self.stdout.write(f"{label:8s} p50 {_pct(times, 50):6.1f} ms  p99 {_pct(times, 99):6.1f} ms ({ok});  "
                              f"cold load: {cold['requests']} requests, {cold['bytes']:,} bytes ({cold['gzip_bytes']:,} gzip)"
                              + ("" if not cold["outside"] else f"  OUTSIDE HOSTS: {cold['outside']}"))
        self._raw_reference(rng, results, search_params, n)
        CartLine.objects.filter(cart=cart).delete()
        cart.delete()

    def _cold_load(self, client, path, params) -> dict:
        """The page and every stylesheet, script and image it names, fetched once each (an empty cache)."""
        resp = client.get(path, params)
        html = resp.content
        urls = set(re.findall(rb'<(?:link[^>]+rel="stylesheet"[^>]*href|script[^>]+src|img[^>]+src)="([^"]+)"', html))
        total, zipped, outside = len(html), len(gzip.compress(html)), []
        for u in sorted(urls):
            u = u.decode()
            if re.match(r"^(https?:)?//", u):
                outside.append(u)
                continue
            r = client.get(u)
            body = b"".join(r.streaming_content) if r.streaming else r.content
            total += len(body)
            zipped += len(gzip.compress(body)) if not u.endswith((".jpg", ".png", ".webp")) else len(body)
        return {"requests": 1 + len(urls), "bytes": total, "gzip_bytes": zipped, "outside": outside}

    def _raw_reference(self, rng, results, search_params, n: int) -> None:
        """The search's four statements by hand, through a plain cursor: the floor under the page."""
        from storefront.selectors import ProductQuery, product_search
        from storefront.views import parse_product_query

        order = {"price_asc": "p.min_price_minor, p.id", "price_desc": "p.min_price_minor DESC, p.id DESC",
                 "best_selling": "p.sold_count DESC, p.id DESC"}
        where = ("FROM storefront_listingproduct p WHERE p.merchant_id = ANY(%s) AND UPPER(p.name::text) LIKE UPPER(%s) "
                 "AND p.min_price_minor >= %s AND p.min_price_minor <= %s AND p.in_stock")
        raw_t, sel_t = [], []
        with connection.cursor() as cur:
            for _ in range(n):
                params = search_params()
                like = "%" + params["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                lo, hi = int(params["price_min"]) * 100, int(params["price_max"]) * 100
                t = time.perf_counter()
                cur.execute("SELECT id FROM tenants_merchant WHERE status = 'active' AND NOT is_template")
                args = [[r[0] for r in cur.fetchall()], like, lo, hi]
                cur.execute(f"SELECT COUNT(*) {where}", args)
                cur.execute(f"SELECT p.id, p.name, p.min_price_minor, p.max_price_minor, p.store_name, p.merchant_id {where} "
                            f"ORDER BY {order[params['sort']]} LIMIT 24", args)
                rows = cur.fetchall()
                cur.execute(f"SELECT p.merchant_id, p.store_name, COUNT(*) {where} GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 50", args)
                cur.execute(f"SELECT p.category, COUNT(*) {where} AND p.category <> '' GROUP BY 1 ORDER BY 2 DESC LIMIT 50",
                            args)
                raw_t.append((time.perf_counter() - t) * 1000)
                query = parse_product_query(params)
                t = time.perf_counter()
                found = product_search(query)
                sel_t.append((time.perf_counter() - t) * 1000)
                assert isinstance(query, ProductQuery)
                if [r.id for r in found.rows] != [r[0] for r in rows]:
                    raise CommandError(f"raw reference and selector disagree for {params}")
            cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) SELECT p.id {where} ORDER BY p.min_price_minor, p.id LIMIT 24",
                        [args[0], "%" + search_params()["q"] + "%", 10000, 80000])
            plan = "\n".join(r[0] for r in cur.fetchall())
        page_p50 = results["pages"]["search"]["p50_ms"]
        results["search_raw"] = {"raw_p50_ms": round(_pct(raw_t, 50), 2), "raw_p99_ms": round(_pct(raw_t, 99), 2),
                                 "selector_p50_ms": round(_pct(sel_t, 50), 2),
                                 "page_over_raw": round(page_p50 / max(_pct(raw_t, 50), 0.001), 1),
                                 "selector_over_raw": round(_pct(sel_t, 50) / max(_pct(raw_t, 50), 0.001), 1)}
        r = results["search_raw"]
        self.stdout.write(f"search raw SQL p50 {r['raw_p50_ms']} ms p99 {r['raw_p99_ms']} ms; selector p50 "
                          f"{r['selector_p50_ms']} ms ({r['selector_over_raw']}x); page/raw {r['page_over_raw']}x")
        self.stdout.write("EXPLAIN of the search page query:\n" + plan)
