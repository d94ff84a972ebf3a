"""Import jobs (catalog.bulk + ImportJob): progress is visible to other connections while the one
apply transaction is still open."""
import io

import pytest
from django.db import connections

from catalog import bulk
from catalog.models import ImportJob, Variant
from core.tenancy import in_merchant_schema


@pytest.fixture(autouse=True)
def _imports_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("MALLARD_IMPORT_DIR", str(tmp_path))


class _Upload(io.BytesIO):
    name = "big.csv"


def test_progress_is_committed_while_the_apply_transaction_is_open(committed, unique, monkeypatch):
    mall = committed
    prefix = unique("PJ").upper()
    text = "sku,product,price\n" + "".join(f"{prefix}-{i},Prog {prefix},1\n" for i in range(30))
    seen = []
    original = bulk._ProgressWriter.__call__

    def spy(self, done, total, phase):
        original(self, done, total, phase)
        other = connections.create_connection("default")  # what the polling page's connection sees
        try:
            other.set_schema(mall.acme.schema_name)
            with other.cursor() as cur:
                cur.execute("SELECT status, processed_rows, total_rows FROM catalog_importjob WHERE id = %s",
                            [self.job_id])
                row = cur.fetchone()
                cur.execute("SELECT count(*) FROM catalog_variant WHERE sku LIKE %s", [prefix + "-%"])
                variants = cur.fetchone()[0]
        finally:
            other.close()
        seen.append((phase, row, variants))

    monkeypatch.setattr(bulk._ProgressWriter, "__call__", spy)
    with in_merchant_schema(mall.acme):
        job = bulk.import_job_create(file=_Upload(text.encode()), actor=mall.users["acme:owner"])
        assert (job.status, job.total_rows, job.kind) == ("ready", 30, "csv")
        try:
            job = bulk.import_job_run(job_id=job.pk)
            assert (job.status, job.processed_rows, job.total_rows, job.error_count) == ("done", 30, 30, 0)
            assert job.finished_at is not None and job.result["variants_created"] == 30
            assert Variant.objects.filter(sku__startswith=prefix + "-").count() == 30
            # mid-apply, another connection saw "applying" with progress, and none of the variants yet
            assert seen and all(row[0] == "applying" for _p, row, _v in seen)
            assert any(0 < row[1] for _p, row, _v in seen)
            assert all(v == 0 for _p, _r, v in seen)
            assert seen[-1][1][1] == 30
        finally:
            ImportJob.objects.filter(pk=job.pk).delete()
