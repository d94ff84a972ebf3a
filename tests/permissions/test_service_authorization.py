"""Services check the role matrix themselves, whoever calls them (a page, the API, a task for a person):
imports need catalog.edit when created and again when a task applies them; shipping rules need
shipping.edit."""
import io

import pytest

from catalog import bulk
from catalog.models import ImportJob, Variant
from core.errors import PermissionDenied
from core.tenancy import in_merchant_schema
from fulfillment.services import shipping_rule_create
from permissions.models import Membership
from permissions.services import membership_grant, user_create
from tests.conftest import PASSWORD


class _Upload(io.BytesIO):
    name = "rows.csv"


@pytest.fixture(autouse=True)
def _imports_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("MALLARD_IMPORT_DIR", str(tmp_path))


@pytest.mark.parametrize("role", ["warehouse", "finance", "customer_service"])
def test_an_import_cannot_be_started_by_a_role_without_catalog_edit(mall, role):
    with in_merchant_schema(mall.acme):
        before = ImportJob.objects.count()
        with pytest.raises(PermissionDenied):
            bulk.import_job_create(file=_Upload(b"sku,product,price\nSVC-1,Thing,1\n"), actor=mall.users[f"acme:{role}"])
        assert ImportJob.objects.count() == before


def test_an_import_whose_starter_lost_the_role_fails_when_applied_and_writes_nothing(mall):
    manager = user_create(email="fleeting-manager@acme.test", password=PASSWORD)
    membership_grant(user=manager, merchant=mall.acme, roles=["manager"])
    with in_merchant_schema(mall.acme):
        job = bulk.import_job_create(file=_Upload(b"sku,product,price\nSVC-LOST-1,Lost thing,1\n"), actor=manager)
        assert job.status == "ready"
    Membership.objects.filter(user=manager, merchant=mall.acme).update(is_active=False)
    with in_merchant_schema(mall.acme):
        job = bulk.import_job_run(job_id=job.pk)  # as the Celery task does: the starter's id from the job
        assert job.status == "failed" and "role" in job.message.lower()
        assert not Variant.objects.filter(sku="SVC-LOST-1").exists()


@pytest.mark.parametrize("role", ["warehouse", "finance", "customer_service"])
def test_shipping_rules_need_shipping_edit_in_the_service(mall, role):
    with in_merchant_schema(mall.acme):
        with pytest.raises(PermissionDenied):
            shipping_rule_create(actor=mall.users[f"acme:{role}"], name="Sneaky", regions=["SH"], flat_minor=1)
        assert shipping_rule_create(actor=mall.users["acme:manager"], name="Fine", regions=["SH"], flat_minor=1).pk
