"""Demo catalog: two warehouses and ~110 products per demo merchant, stock received through the
journal (a few items low or sold out). Idempotent: a merchant that already has its demo warehouses
is left alone. Registered in merchants.demo.DEMO_SEEDERS."""
from __future__ import annotations

import random

from catalog.images import product_image_add, product_specifications_set
from catalog.models import Variant, Warehouse
from catalog.services import ReceiveLine, category_ensure, product_create, stock_receive_bulk, warehouse_create
from core.tenancy import in_merchant_schema

WAREHOUSES = {
    "acme": [("SH-01", "上海浦东仓 Shanghai Pudong", "CN-SH", 1, "88 Chuanqiao Rd, Pudong, Shanghai"),
             ("CD-01", "成都仓 Chengdu", "CN-SC", 2, "12 Tianfu Ave, Chengdu, Sichuan")],
    "globex": [("SZ-01", "深圳龙华仓 Shenzhen Longhua", "CN-GD", 1, "5 Minzhi Rd, Longhua, Shenzhen"),
               ("BJ-01", "北京仓 Beijing", "CN-BJ", 2, "21 Jingshun Rd, Chaoyang, Beijing")],
    "initech": [("HZ-01", "杭州仓 Hangzhou", "CN-ZJ", 1, "7 Wenyi W Rd, Hangzhou, Zhejiang"),
                ("WH-01", "武汉仓 Wuhan", "CN-HB", 2, "33 Optics Valley Ave, Wuhan, Hubei")],
}

# (category, [(english noun, chinese noun)], [adjectives], price range in yuan, option axes)
CATALOG = {
    "acme": [
        ("Jackets 外套", [("Rain Jacket", "冲锋衣"), ("Down Jacket", "羽绒服"), ("Fleece", "抓绒衣"), ("Softshell", "软壳衣")],
         ["Alpine", "Summit", "Trail", "Storm", "Ridge"], (299, 1299), {"size": ["S", "M", "L", "XL"], "colour": ["black", "red", "navy"]}),
        ("Footwear 鞋", [("Hiking Boot", "登山鞋"), ("Trail Runner", "越野跑鞋"), ("Sandal", "溯溪鞋")],
         ["Granite", "Canyon", "Mesa", "Scree"], (399, 1499), {"size": ["40", "41", "42", "43", "44"]}),
        ("Packs 背包", [("Daypack 24L", "双肩包 24升"), ("Trekking Pack 45L", "登山包 45升"), ("Waist Pack", "腰包")],
         ["Cirrus", "Basecamp", "Nomad"], (149, 999), {"colour": ["grey", "green", "orange"]}),
        ("Camping 露营", [("Tent 2P", "双人帐篷"), ("Sleeping Bag", "睡袋"), ("Headlamp", "头灯"), ("Trekking Poles", "登山杖")],
         ["Polar", "Aurora", "Ember"], (89, 1899), {}),
    ],
    "globex": [
        ("Audio 音频", [("Wireless Earbuds", "无线耳机"), ("Over-ear Headphones", "头戴式耳机"), ("Bluetooth Speaker", "蓝牙音箱")],
         ["Pulse", "Echo", "Nova", "Quantum"], (129, 1999), {"colour": ["black", "white"]}),
        ("Computing 电脑", [("Mechanical Keyboard", "机械键盘"), ("Wireless Mouse", "无线鼠标"), ("USB-C Hub", "扩展坞"), ("Monitor 27\"", "27英寸显示器")],
         ["Vector", "Flux", "Apex"], (79, 2499), {"layout": ["US", "CN"]}),
        ("Mobile 手机配件", [("Power Bank 20000mAh", "充电宝"), ("65W Charger", "65W 充电器"), ("Phone Case", "手机壳"), ("Cable 1m", "数据线")],
         ["Volt", "Ion", "Spark"], (29, 299), {"colour": ["black", "blue", "pink"]}),
        ("Smart Home 智能家居", [("Smart Plug", "智能插座"), ("Security Camera", "监控摄像头"), ("Smart Bulb", "智能灯泡")],
         ["Halo", "Beacon"], (39, 599), {}),
    ],
    "initech": [
        ("Kitchen 厨房", [("Chef's Knife", "主厨刀"), ("Cast Iron Pan", "铸铁锅"), ("Kettle", "电热水壶"), ("Rice Cooker", "电饭煲")],
         ["Oak", "Slate", "Copper", "Linen"], (59, 999), {}),
        ("Bedding 床品", [("Duvet Cover", "被套"), ("Pillow", "枕头"), ("Cotton Sheets", "纯棉床单")],
         ["Cloud", "Meadow", "Harbor"], (89, 699), {"size": ["1.5m", "1.8m"], "colour": ["white", "sage", "sand"]}),
        ("Storage 收纳", [("Storage Box", "收纳箱"), ("Shoe Rack", "鞋架"), ("Laundry Basket", "洗衣篮")],
         ["Nordic", "Bamboo", "Loft"], (29, 399), {}),
        ("Lighting 灯具", [("Desk Lamp", "台灯"), ("Floor Lamp", "落地灯"), ("Night Light", "小夜灯")],
         ["Lumen", "Dusk", "Amber"], (49, 899), {"colour": ["white", "black"]}),
    ],
}
PRODUCTS_PER_MERCHANT = 110


def demo_image(label: str, *, seed: str, size: int = 360) -> bytes:
    """A product picture drawn locally with Pillow: a two-tone background, a simple shape and the product's
    English name (the demo never fetches images from an outside host)."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    hue = [rng.randint(60, 200) for _i in range(3)]
    img = Image.new("RGB", (size, size), tuple(hue))
    draw = ImageDraw.Draw(img)
    lighter = tuple(min(255, c + 50) for c in hue)
    draw.rectangle([0, size * 2 // 3, size, size], fill=lighter)
    r = rng.randint(size // 6, size // 4)
    cx, cy = rng.randint(r, size - r), rng.randint(r, size // 2)
    if rng.random() < 0.5:
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(250, 250, 245))
    else:
        draw.rounded_rectangle([cx - r, cy - r, cx + r, cy + r], radius=r // 4, fill=(250, 250, 245))
    font = ImageFont.load_default(size=size // 12)
    draw.text((size // 16, size * 3 // 4), label[:22], fill=(30, 30, 30), font=font)
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85)
    return out.getvalue()


def _variants(rng: random.Random, axes: dict[str, list[str]]) -> list[dict]:
    if not axes:
        return [{}]
    combos: list[dict] = [{}]
    for axis, values in axes.items():
        picked = rng.sample(values, k=min(len(values), rng.randint(1, 2)))
        combos = [{**c, axis: v} for c in combos for v in picked]
    return combos[:3]


def seed_catalog(merchants) -> None:
    for merchant in merchants:
        plan = CATALOG.get(merchant.slug)
        if plan is None:
            continue
        with in_merchant_schema(merchant):
            _seed_one(merchant.slug, plan)


def _seed_one(slug: str, plan) -> None:
    codes = [f"{slug.upper()}-{code}" for code, *_rest in WAREHOUSES[slug]]
    if Warehouse.objects.filter(code__in=codes).count() == len(codes):
        return  # seeded before
    warehouses = [
        Warehouse.objects.filter(code=f"{slug.upper()}-{code}").first()
        or warehouse_create(code=f"{slug.upper()}-{code}", name=name, region=region, priority=priority, address=address)
        for code, name, region, priority, address in WAREHOUSES[slug]
    ]
    rng = random.Random(f"mallard-demo-{slug}")
    categories = {cat: category_ensure(name=cat) for cat, *_rest in plan}
    receipts: list[ReceiveLine] = []
    n = 0
    while n < PRODUCTS_PER_MERCHANT:
        cat, nouns, adjectives, (lo, hi), axes = plan[n % len(plan)]
        noun_en, noun_zh = nouns[(n // len(plan)) % len(nouns)]
        adjective = adjectives[(n // (len(plan) * len(nouns))) % len(adjectives)]
        generation = n // (len(plan) * len(nouns) * len(adjectives))
        name = f"{adjective} {noun_en} {noun_zh}" + (f" {generation + 1}" if generation else "")
        if n % 4 == 0:
            name = f"{noun_zh} {adjective}款" + (f" {generation + 1}" if generation else "")
        base_sku = f"{slug[:2].upper()}-{n + 1:04d}"
        price = rng.randint(lo, hi) * 100 - rng.choice([0, 1, 10, 100])
        variants = []
        for i, options in enumerate(_variants(rng, axes)):
            variants.append({
                "sku": f"{base_sku}-{i + 1}" if options else base_sku,
                "price_minor": max(price + (i * 1000 if "size" in options else 0), 100),
                "currency": "CNY",
                "options": options,
                "weight_g": rng.randint(80, 3000),
                "barcode": f"69{rng.randint(10**10, 10**11 - 1)}",
                "image_url": "",  # pictures are uploaded below (catalog.images), never fetched from an outside host
                "low_stock_threshold": 5,
            })
        product = product_create(name=name, description=f"{adjective} {noun_en.lower()} from our {cat} range. {noun_zh}，品质保证。",
                                 category_id=categories[cat].pk, status="draft" if n % 37 == 36 else "active", variants=variants)
        product_specifications_set(product_id=product.pk, specifications=[
            ["Brand", adjective], ["Category", cat], ["Weight", f"{variants[0]['weight_g']} g"], ["Origin", "China 中国"]])
        if n % 11 != 10:  # a few products keep the placeholder, as in a real catalog
            for k in range(2 if n % 4 == 1 else 1):
                product_image_add(product_id=product.pk, data=demo_image(noun_en, seed=f"{base_sku}-{k}"), alt=noun_en)
        n += 1
    variants = list(Variant.objects.filter(sku__startswith=f"{slug[:2].upper()}-").order_by("id").values_list("id", flat=True))
    for k, vid in enumerate(variants):
        if k % 29 == 7:
            continue  # sold out everywhere
        for j, wh in enumerate(warehouses):
            qty = 3 if k % 23 == 5 else rng.randint(10, 120)  # a few low-stock items
            if j == 1 and k % 3 == 0:
                continue  # not every item is stocked in the second warehouse
            receipts.append(ReceiveLine(vid, wh.pk, qty))
    stock_receive_bulk(lines=receipts, reason="opening stock", reference="DEMO-OPENING")
