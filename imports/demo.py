"""Demo: acme's orders from two other channels, imported through the real job (a Shopify orders export and a
淘宝千牛 export in GBK), then worked like any order: one accepted, one shipped, the rest awaiting acceptance.
Idempotent: skipped when acme already has Shopify orders. Registered in merchants.demo.DEMO_SEEDERS."""
from __future__ import annotations

import time

from django.core.files.uploadedfile import SimpleUploadedFile

from core.tenancy import in_merchant_schema
from orders.demo import _buyable


def _skus(merchant, n):
    from catalog.models import Variant

    ids = _buyable(merchant, n)
    with in_merchant_schema(merchant):
        return [(v.sku, v.price_minor) for v in Variant.objects.filter(pk__in=ids).order_by("pk")]


def _price(minor: int) -> str:
    return f"{minor / 100:.2f}"


def seed_imports(merchants) -> None:
    from fulfillment.shipments import shipment_create
    from imports.models import OrderImportJob
    from imports.services import import_job_create, import_job_run
    from permissions.models import User
    from suborders.models import SubOrder
    from suborders.services import suborder_accept

    acme = next((m for m in merchants if m.slug == "acme"), None)
    owner = User.objects.filter(email="owner@acme.localhost").first()
    if acme is None or owner is None:
        return
    with in_merchant_schema(acme):
        if SubOrder.objects.filter(channel="shopify").exists():
            return
    (a, pa), (b, pb), (c, pc) = _skus(acme, 3)
    shopify = (
        "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Taxes,Total,Discount Amount,"
        "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Shipping Name,Shipping Address1,Shipping City,"
        "Shipping Zip,Shipping Province,Shipping Country,Shipping Phone,Created at\n"
        f"#1001,emma@example.com,paid,2026-11-28 10:02:11 +0800,,CNY,{_price(2 * pa + pb)},12.00,0.00,{_price(2 * pa + pb + 1200)},0.00,"
        f"2,Item,{_price(pa)},{a},Emma Zhou,88 Jianguo Road,Beijing,100022,BJ,CN,13900001111,2026-11-28 10:00:00 +0800\n"
        f"#1001,,,,,,,,,,,1,Item,{_price(pb)},{b},,,,,,,,\n"
        f"#1002,noah@example.com,paid,2026-11-29 16:40:00 +0800,,CNY,{_price(pc)},0.00,0.00,{_price(pc)},0.00,"
        f"1,Item,{_price(pc)},{c},Noah Wang,1 Huaihai Road,Shanghai,200001,SH,CN,13900002222,2026-11-29 16:38:00 +0800\n"
        f"#1003,mia@example.com,paid,2026-11-30 09:15:00 +0800,,CNY,{_price(pa)},8.00,0.00,{_price(pa + 800)},0.00,"
        f"1,Item,{_price(pa)},{a},Mia Li,9 Tianfu Avenue,Chengdu,610000,SC,CN,13900003333,2026-11-30 09:14:00 +0800\n"
    )
    stamp = int(time.time()) % 10**8
    taobao = (
        "订单编号,买家会员名,买家应付货款,买家应付邮费,总金额,收货人姓名,收货地址,联系手机,订单创建时间,宝贝标题,商家编码,宝贝数量,宝贝单价,订单状态\n"
        f"{stamp}0001,小明tb,{_price(pb)},10.00,{_price(pb + 1000)},王小明,浙江省 杭州市 西湖区 文三路100号(310000),13812345678,"
        f"2026-12-01 12:00:00,宝贝,{b},1,{_price(pb)},买家已付款，等待卖家发货\n"
        f"{stamp}0002,lily88,{_price(2 * pc)},0.00,{_price(2 * pc)},李丽,广东省深圳市南山区科技园路1号,13987654321,"
        f"2026-12-02 20:30:00,宝贝,{c},2,{_price(pc)},买家已付款，等待卖家发货\n"
    )
    for name, data, channel in (("orders_export.csv", shopify.encode(), "shopify"), ("taobao.csv", taobao.encode("gbk"), "taobao")):
        job = import_job_create(file=SimpleUploadedFile(name, data), actor=owner, merchant=acme, channel=channel)
        if job.status != OrderImportJob.Status.READY:
            return  # the demo catalogue differs from what this seeder expects: leave it
        OrderImportJob.objects.filter(pk=job.pk).update(status=OrderImportJob.Status.QUEUED)
        import_job_run(job_id=job.pk)
    with in_merchant_schema(acme):
        first = SubOrder.objects.filter(channel="shopify", external_order_id="#1002").first()
        if first is not None:
            suborder_accept(suborder_id=first.pk, actor=owner)
        shipped = SubOrder.objects.filter(channel="taobao").order_by("pk").first()
        if shipped is not None:
            suborder_accept(suborder_id=shipped.pk, actor=owner)
            shipment_create(suborder_id=shipped.pk, actor=owner, lines=None, carrier="sf", tracking_number=f"SF{stamp:013d}")
