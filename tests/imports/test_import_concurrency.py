"""Two imports of the same file at once (real threads, real connections) write every order once: the
order's idempotency constraint makes the second wait for the first and then skip what it wrote."""
from __future__ import annotations

import threading

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections

from core.tenancy import in_merchant_schema
from imports.models import OrderImportJob
from imports.services import import_job_create, import_job_run
from orders.models import Order
from suborders.models import SubOrder
from tests.imports.test_import_files import HEADER, _row
from tests.orders.factories import levels, stock_item


def test_two_imports_of_one_file_at_once_write_each_order_once(committed, unique, tmp_path, monkeypatch):
    monkeypatch.setenv("MALLARD_IMPORT_DIR", str(tmp_path))
    mall = committed
    item = stock_item(mall.acme, stock=(500,), tag=unique("C").upper().replace("-", ""))
    ch = unique("race").lower().replace("-", "")[:30]
    owner = mall.users["acme:owner"]
    n = 60
    csv = (HEADER + "".join(_row(f"R-{i}", item["sku"], 2) for i in range(n))).encode()
    jobs = [import_job_create(file=SimpleUploadedFile("o.csv", csv), actor=owner, merchant=mall.acme, channel=ch) for _ in range(2)]
    OrderImportJob.objects.filter(pk__in=[j.pk for j in jobs]).update(status=OrderImportJob.Status.QUEUED)
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(i):
        try:
            barrier.wait(timeout=60)
            results[i] = import_job_run(job_id=jobs[i].pk, progress_every=20)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)
    assert [r.status for r in results] == ["done", "done"], [r.message for r in results]
    assert sum(r.created_orders for r in results) == n
    assert sum(r.skipped_orders for r in results) == n
    assert Order.objects.filter(channel=ch).count() == n
    with in_merchant_schema(mall.acme):
        assert SubOrder.objects.filter(channel=ch).count() == n
    assert levels(item) == [(500, 2 * n)]
