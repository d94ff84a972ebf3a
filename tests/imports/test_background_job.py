"""A large file is written by the Celery task while the page polls; the task runs the job once."""
from __future__ import annotations

from imports import services
from imports.models import OrderImportJob
from orders.models import Order
from tests.imports.test_import_files import HEADER, _row
from tests.orders.factories import stock_item


def test_a_large_job_is_queued_for_the_worker_and_the_task_writes_it_once(mall, upload, monkeypatch, unique):
    from imports.tasks import import_orders_task

    item = stock_item(mall.acme, stock=(50,))
    ch = unique("bg").lower().replace("-", "")[:30]
    owner = mall.users["acme:owner"]
    job = upload(HEADER + "".join(_row(f"G-{i}", item["sku"]) for i in range(5)), user=owner, merchant=mall.acme, channel=ch)
    sent = []
    monkeypatch.setattr(services, "SYNC_MAX_ORDERS", 2)
    monkeypatch.setattr(import_orders_task, "apply_async", lambda **kw: sent.append(kw))
    job = services.import_job_start(job_id=job.pk, actor=owner, merchant=mall.acme)
    assert job.status == "queued" and sent == [{"kwargs": {"job_id": str(job.pk)}, "ignore_result": True}]
    assert not Order.objects.filter(channel=ch).exists()
    assert import_orders_task.run(job_id=str(job.pk)) == "done"
    assert import_orders_task.run(job_id=str(job.pk)) == "done"  # a redelivered task changes nothing
    row = OrderImportJob.objects.get(pk=job.pk)
    assert (row.created_orders, row.processed_orders, row.total_orders) == (5, 5, 5)
    assert Order.objects.filter(channel=ch).count() == 5


def test_a_job_whose_starter_lost_the_role_fails_and_writes_nothing(mall, upload, unique):
    from permissions.roles import Role
    from permissions.services import membership_grant, user_create

    item = stock_item(mall.acme, stock=(50,))
    ch = unique("lost").lower().replace("-", "")[:30]
    manager = user_create(email=f"{ch}@acme.test", password=None)
    membership_grant(user=manager, merchant=mall.acme, roles=[Role.MANAGER])
    job = upload(HEADER + _row("L-1", item["sku"]), user=manager, merchant=mall.acme, channel=ch)
    from permissions.models import Membership

    Membership.objects.filter(user=manager, merchant=mall.acme).update(roles=[Role.WAREHOUSE])  # the owner changed their roles
    OrderImportJob.objects.filter(pk=job.pk).update(status=OrderImportJob.Status.QUEUED)
    job = services.import_job_run(job_id=job.pk)
    assert job.status == "failed" and "orders.import" in job.message
    assert not Order.objects.filter(channel=ch).exists()


def test_stock_sold_since_the_preview_stops_the_job_at_that_chunk_and_a_rerun_writes_the_rest(mall, upload, unique):
    from catalog.services import stock_adjust
    from core.tenancy import in_merchant_schema
    from tests.orders.factories import levels

    item = stock_item(mall.acme, stock=(10,))
    ch = unique("short").lower().replace("-", "")[:30]
    owner = mall.users["acme:owner"]
    csv = HEADER + "".join(_row(f"S-{i}", item["sku"], 2) for i in range(5))  # 10 units in 5 orders
    job = upload(csv, user=owner, merchant=mall.acme, channel=ch)
    assert job.status == "ready"
    with in_merchant_schema(mall.acme):  # meanwhile, 5 units leave the warehouse
        stock_adjust(variant_id=item["variant_id"], warehouse_id=item["warehouse_ids"][0], delta=-5, reason="sold in the shop")
    OrderImportJob.objects.filter(pk=job.pk).update(status=OrderImportJob.Status.QUEUED)
    job = services.import_job_run(job_id=job.pk, progress_every=2)
    assert (job.status, job.created_orders) == ("failed", 2)  # chunk 1 (S-0, S-1) in; chunk 2 cannot be placed
    assert "Stopped after 2 orders" in job.message and "S-2" in job.message
    assert Order.objects.filter(channel=ch).count() == 2 and levels(item) == [(5, 4)]
    with in_merchant_schema(mall.acme):
        stock_adjust(variant_id=item["variant_id"], warehouse_id=item["warehouse_ids"][0], delta=5, reason="restocked")
    again = upload(csv, user=owner, merchant=mall.acme, channel=ch)
    assert again.summary["already_imported"] == 2
    OrderImportJob.objects.filter(pk=again.pk).update(status=OrderImportJob.Status.QUEUED)
    again = services.import_job_run(job_id=again.pk)
    assert (again.status, again.created_orders, again.skipped_orders) == ("done", 3, 2)
    assert Order.objects.filter(channel=ch).count() == 5 and levels(item) == [(10, 10)]
