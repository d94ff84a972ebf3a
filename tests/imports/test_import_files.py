"""Channel order import from files: formats, encodings, validation before writing, idempotency."""
from __future__ import annotations

from core.tenancy import in_merchant_schema
from imports.models import OrderImportJob
from orders.models import Order
from payments.models import LedgerEntry, Payment
from payments.services import ledger_check
from suborders.models import SubOrder
from tests.orders.factories import levels, stock_item

HEADER = "order_id,email,name,phone,address,city,region,postcode,country,sku,quantity,unit_price,shipping\n"


def _row(oid, sku, qty=1, price="10.00", shipping="", country="CN"):
    return f"{oid},li@example.com,Li Lei,13800000000,1 Nanjing Road,Shanghai,SH,200001,{country},{sku},{qty},{price},{shipping}\n"


def _suborders(merchant, channel):
    with in_merchant_schema(merchant):
        return list(SubOrder.objects.filter(channel=channel).order_by("external_order_id", "id").prefetch_related("lines"))


def test_the_same_file_twice_creates_nothing_new(mall, upload, run, unique):
    item = stock_item(mall.acme, price_minor=1000, stock=(10,))
    ch = unique("ch").lower().replace("-", "")[:30]
    csv = HEADER + _row("A-1", item["sku"], 2, shipping="5.00") + _row("A-2", item["sku"], 1)
    owner = mall.users["acme:owner"]
    job = run(upload(csv, user=owner, merchant=mall.acme, channel=ch), user=owner, merchant=mall.acme)
    assert (job.status, job.created_orders, job.skipped_orders) == ("done", 2, 0)
    from permissions.models import AuditEntry

    entry = AuditEntry.objects.get(entity="order_import", entity_id=str(job.pk))
    assert (entry.schema_name, entry.actor_id, entry.action) == (mall.acme.schema_name, owner.pk, "imported")
    first = _suborders(mall.acme, ch)
    assert [(s.external_order_id, s.status, s.total_minor) for s in first] == [("A-1", "awaiting_acceptance", 2500),
                                                                                ("A-2", "awaiting_acceptance", 1000)]
    assert levels(item) == [(10, 3)]
    again = upload(csv, user=owner, merchant=mall.acme, channel=ch)
    assert again.status == "ready" and again.summary["already_imported"] == 2 and again.summary["to_create"] == 0
    again = run(again, user=owner, merchant=mall.acme)
    assert (again.status, again.created_orders, again.skipped_orders) == ("done", 0, 2)
    assert [s.pk for s in _suborders(mall.acme, ch)] == [s.pk for s in first]
    assert Order.objects.filter(channel=ch).count() == 2
    assert levels(item) == [(10, 3)]


def test_imported_orders_are_paid_on_their_channel_and_the_ledger_balances(mall, upload, run, unique):
    item = stock_item(mall.acme, price_minor=1000, stock=(10,))
    ch = unique("led").lower().replace("-", "")[:30]
    owner = mall.users["acme:owner"]
    run(upload(HEADER + _row("L-1", item["sku"], 3, shipping="6.00"), user=owner, merchant=mall.acme, channel=ch),
        user=owner, merchant=mall.acme)
    order = Order.objects.get(channel=ch)
    assert (order.external_order_id, order.total_minor, order.shipping_minor) == ("L-1", 3600, 600)
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.gateway, payment.captured_minor, payment.gateway_reference) == ("captured", "offline", 3600, f"{ch}:L-1")
    assert sum(LedgerEntry.objects.filter(order=order).values_list("amount_minor", flat=True)) == 3600
    assert ledger_check(order_ids=[order.pk]) == []
    mirror = order.suborders.get()
    assert (mirror.status, mirror.total_minor) == ("awaiting_acceptance", 3600) and mirror.accept_by is not None


def test_one_bad_row_rejects_the_file_naming_the_row_and_field_and_writes_nothing(mall, upload, unique):
    item = stock_item(mall.acme, stock=(10,))
    ch = unique("bad").lower().replace("-", "")[:30]
    csv = HEADER + _row("B-1", item["sku"]) + _row("B-2", item["sku"], "-1") + _row("B-3", item["sku"])
    job = upload(csv, user=mall.users["acme:owner"], merchant=mall.acme, channel=ch)
    assert job.status == "rejected"
    assert [(e["row"], e["field"]) for e in job.errors] == [(3, "quantity")]
    assert "whole number" in job.errors[0]["message"]
    assert _suborders(mall.acme, ch) == [] and not Order.objects.filter(channel=ch).exists()
    assert levels(item) == [(10, 0)]


def test_every_kind_of_bad_row_is_listed_with_its_row_and_field(mall, upload, unique):
    item = stock_item(mall.acme, stock=(10,))
    ch = unique("bad").lower().replace("-", "")[:30]
    csv = (HEADER + _row("C-1", "NO-SUCH-SKU") + _row("C-2", item["sku"], "0") + _row("C-3", item["sku"], "1.5")
           + _row("C-4", item["sku"], price="12.3x") + _row("C-5", item["sku"], country="China") + _row("C-6", item["sku"])
           + _row("C-7", item["sku"]) + _row("C-6", item["sku"]) + _row("C-8", item["sku"], price="-3"))
    job = upload(csv, user=mall.users["acme:owner"], merchant=mall.acme, channel=ch)
    assert job.status == "rejected"
    got = [(e["row"], e["field"]) for e in job.errors]
    assert got == [(2, "sku"), (3, "quantity"), (4, "quantity"), (5, "unit_price"), (6, "country"), (9, "order_id"), (10, "unit_price")]
    assert "NO-SUCH-SKU" in job.errors[0]["message"]
    assert "first at row 7" in job.errors[5]["message"]
    assert not Order.objects.filter(channel=ch).exists()


def test_missing_columns_are_named(mall, upload):
    job = upload("order_id,sku,quantity\nX-1,ABC,1\n", user=mall.users["acme:owner"], merchant=mall.acme, channel="x1")
    assert job.status == "rejected"
    assert {e["field"] for e in job.errors} == {"unit_price", "name", "address", "city", "region", "country"}


def test_a_file_in_another_encoding_is_refused_clearly(mall, upload):
    job = upload(HEADER.encode("utf-16"), user=mall.users["acme:owner"], merchant=mall.acme, channel="x2")
    assert job.status == "rejected" and "UTF-16" in job.errors[0]["message"]
    job = upload(b"\xff\xfe\xfa\xfb" * 50 + b"\n", user=mall.users["acme:owner"], merchant=mall.acme, channel="x3")
    assert job.status == "rejected"


SHOPIFY_HEADER = ("Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Taxes,Total,Discount Amount,"
                  "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Shipping Name,Shipping Address1,Shipping City,"
                  "Shipping Zip,Shipping Province,Shipping Country,Shipping Phone,Created at\n")


def shopify_csv(sku_a, sku_b, *, first="#1001", second="#1002"):
    return (SHOPIFY_HEADER
            + f"{first},ann@example.com,paid,2024-01-15 10:23:45 +0800,,CNY,40.00,8.00,0.00,44.00,4.00,2,Thing A,10.00,{sku_a},"
              "Ann Lee,88 Jianguo Rd,Beijing,100022,BJ,CN,13900000000,2024-01-15 10:20:00 +0800\n"
            + f"{first},,,,,,,,,,,1,Thing B,20.00,{sku_b},,,,,,,,\n"
            + f"{second},bob@example.com,paid,2024-01-16 09:00:00 +0800,,CNY,10.00,0.00,0.00,10.00,0.00,1,Thing A,10.00,{sku_a},"
              "Bob Wu,1 Huaihai Rd,Shanghai,200001,SH,CN,,2024-01-16 08:59:00 +0800\n")


def test_shopify_multi_line_orders_are_grouped(mall, upload, run, unique):
    a = stock_item(mall.acme, price_minor=1000, stock=(10,))
    b = stock_item(mall.acme, price_minor=2000, stock=(10,))
    ch = unique("shop").lower().replace("-", "")[:30]
    owner = mall.users["acme:owner"]
    job = upload(shopify_csv(a["sku"], b["sku"]), user=owner, merchant=mall.acme, channel=ch)
    assert job.file_format == "shopify" and job.status == "ready", job.errors
    assert (job.summary["orders"], job.summary["lines"]) == (2, 3)
    job = run(job, user=owner, merchant=mall.acme)
    assert job.status == "done", (job.message, job.errors)
    sos = _suborders(mall.acme, ch)
    assert len(sos) == 3  # #1001's two SKUs sit in two warehouses: two suborders, as at checkout
    o1 = Order.objects.get(channel=ch, external_order_id="#1001")
    assert (o1.subtotal_minor, o1.shipping_minor, o1.discount_minor, o1.total_minor) == (4000, 800, 400, 4400)
    assert o1.email == "ann@example.com" and o1.shipping_address["city"] == "Beijing"
    assert sorted((ln.sku, ln.quantity) for s in sos if s.external_order_id.startswith("#1001") for ln in s.lines.all()) == sorted(
        [(a["sku"], 2), (b["sku"], 1)])
    assert ledger_check(order_ids=[o1.pk]) == []


def test_shopify_unpaid_orders_are_refused(mall, upload):
    a = stock_item(mall.acme, stock=(10,))
    csv = shopify_csv(a["sku"], a["sku"] + "X").replace("#1002,bob@example.com,paid", "#1002,bob@example.com,pending")
    job = upload(csv, user=mall.users["acme:owner"], merchant=mall.acme, channel="shopx")
    assert job.status == "rejected"
    assert [(e["row"], e["field"]) for e in job.errors] == [(3, "Lineitem sku"), (4, "Financial Status")]


TAOBAO_HEADER = "订单编号,买家会员名,买家应付货款,买家应付邮费,总金额,收货人姓名,收货地址,联系手机,订单创建时间,宝贝标题,商家编码,宝贝数量,宝贝单价,订单状态\n"


def test_a_gbk_taobao_export_is_parsed(mall, upload, run, unique):
    a = stock_item(mall.acme, price_minor=5000, stock=(10,))
    ch = unique("tb").lower().replace("-", "")[:30]
    csv = (TAOBAO_HEADER
           + f"3579246813579,小明,90.00,10.00,100.00,王小明,浙江省 杭州市 西湖区 文三路100号(310000),13812345678,2024-03-01 12:00:00,测试宝贝,{a['sku']},2,50.00,买家已付款，等待卖家发货\n")
    owner = mall.users["acme:owner"]
    job = upload(csv.encode("gbk"), user=owner, merchant=mall.acme, channel=ch)
    assert (job.status, job.file_format, job.encoding) == ("ready", "taobao", "gb18030"), job.errors
    run(job, user=owner, merchant=mall.acme)
    order = Order.objects.get(channel=ch)
    assert (order.subtotal_minor, order.discount_minor, order.shipping_minor, order.total_minor) == (10000, 1000, 1000, 10000)
    assert {k: order.shipping_address[k] for k in ("name", "region", "city", "district", "line1", "postcode", "country")} == {
        "name": "王小明", "region": "CN-ZJ", "city": "杭州市", "district": "西湖区", "line1": "文三路100号", "postcode": "310000", "country": "CN"}
    (so,) = _suborders(mall.acme, ch)
    assert so.external_order_id == "3579246813579" and so.total_minor == 10000


def test_a_taobao_address_without_a_province_or_with_a_wrong_district_is_refused(mall, upload):
    a = stock_item(mall.acme, stock=(10,))
    csv = (TAOBAO_HEADER + f"1,x,10.00,0,10.00,王,某地 某路1号,13812345678,2024-03-01 12:00:00,t,{a['sku']},1,10.00,交易成功\n"
           + f"2,x,10.00,0,10.00,王,浙江省 杭州市 朝阳区 某路1号,13812345678,2024-03-01 12:00:00,t,{a['sku']},1,10.00,交易成功\n"
           + f"3,x,10.00,0,10.00,王,浙江省 杭州市 西湖区 某路1号,12345,2024-03-01 12:00:00,t,{a['sku']},1,10.00,交易成功\n")
    job = upload(csv.encode("gbk"), user=mall.users["acme:owner"], merchant=mall.acme, channel="tbx")
    assert [(e["row"], e["field"]) for e in job.errors] == [(2, "收货地址"), (3, "收货地址"), (4, "联系手机")]


def test_an_xlsx_in_our_format_is_read(mall, upload, run, unique, tmp_path):
    from openpyxl import Workbook

    a = stock_item(mall.acme, price_minor=1000, stock=(10,))
    ch = unique("xl").lower().replace("-", "")[:30]
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    ws.append(["X-1", "li@example.com", "Li Lei", "13800000000", "1 Road", "Shanghai", "SH", "200001", "CN", a["sku"], 2, 10.5, 0])
    path = tmp_path / "o.xlsx"
    wb.save(path)
    owner = mall.users["acme:owner"]
    job = upload(path.read_bytes(), user=owner, merchant=mall.acme, name="o.xlsx", channel=ch)
    assert job.status == "ready", job.errors
    run(job, user=owner, merchant=mall.acme)
    assert Order.objects.get(channel=ch).total_minor == 2100


def test_not_enough_stock_for_the_file_is_a_row_error(mall, upload):
    a = stock_item(mall.acme, stock=(3,))
    job = upload(HEADER + _row("S-1", a["sku"], 2) + _row("S-2", a["sku"], 2), user=mall.users["acme:owner"],
                 merchant=mall.acme, channel="stk")
    assert [(e["row"], e["field"]) for e in job.errors] == [(2, "quantity")]
    assert "only 3" in job.errors[0]["message"]


def test_a_store_cannot_import_lines_of_another_store(mall, upload):
    a = stock_item(mall.acme, stock=(3,))
    csv = "order_id,merchant,name,address,city,region,country,sku,quantity,unit_price\n" \
          f"M-1,globex,Li,1 Rd,SH,SH,CN,{a['sku']},1,10\n"
    job = upload(csv, user=mall.users["acme:owner"], merchant=mall.acme, channel="oth")
    assert [(e["row"], e["field"]) for e in job.errors] == [(2, "merchant")]


def test_jobs_record_who_and_what(mall, upload):
    a = stock_item(mall.acme, stock=(3,))
    job = upload(HEADER + _row("J-1", a["sku"]), user=mall.users["acme:manager"], merchant=mall.acme, channel="who")
    row = OrderImportJob.objects.get(pk=job.pk)
    assert (row.merchant_id, row.created_by_id, row.channel, row.file_format) == (mall.acme.pk, mall.users["acme:manager"].pk, "who", "mallard")


def test_amounts_are_read_exactly_and_bad_ones_named(mall, upload):
    from imports.formats import RowError
    from imports.reading import _money

    errors: list[RowError] = []
    assert [_money(t, "CNY", row=2, column="unit_price", errors=errors) for t in ("129.90", "0.5", "7", "¥1,299.00")] == [12990, 50, 700, 129900]
    assert _money("1.999", "CNY", row=3, column="unit_price", errors=errors) is None
    assert _money("100", "JPY", row=4, column="unit_price", errors=errors) == 100
    assert _money("1.5", "JPY", row=5, column="unit_price", errors=errors) is None
    assert _money("5", "XXQ", row=6, column="unit_price", errors=errors) is None
    assert _money("1e400000", "CNY", row=7, column="unit_price", errors=errors) is None
    assert [e.row for e in errors] == [3, 5, 6, 7]


def test_a_stores_own_shopify_export_ignores_its_vendor_column(mall, upload, run, unique):
    a = stock_item(mall.acme, price_minor=1000, stock=(10,))
    b = stock_item(mall.acme, price_minor=2000, stock=(10,))
    ch = unique("vend").lower().replace("-", "")[:30]
    lines = shopify_csv(a["sku"], b["sku"]).splitlines()
    csv = "\n".join([lines[0] + ",Vendor"] + [ln + ",Acme Brand Co" for ln in lines[1:]]) + "\n"
    owner = mall.users["acme:owner"]
    job = run(upload(csv, user=owner, merchant=mall.acme, channel=ch), user=owner, merchant=mall.acme)
    assert (job.status, job.created_orders) == ("done", 2), (job.errors, job.message)


def test_the_channel_defaults_to_the_formats_name_and_a_bad_one_is_refused(mall, upload):
    a = stock_item(mall.acme, stock=(10,))
    job = upload(shopify_csv(a["sku"], a["sku"] + "Q"), user=mall.users["acme:owner"], merchant=mall.acme)
    assert job.channel == "shopify"
    job = upload(HEADER + _row("CH-1", a["sku"]), user=mall.users["acme:owner"], merchant=mall.acme, channel="Not A Channel")
    assert job.status == "rejected" and [e["field"] for e in job.errors] == ["channel"]
    job = upload(HEADER + _row("CH-1", a["sku"]), user=mall.users["acme:owner"], merchant=mall.acme, channel="mallard")
    assert job.status == "rejected"
