import time

import pytest
from django.db import connection

from core.errors import ValidationFailed
from core.models import OutboxEvent
from merchants.services import merchant_create
from tenants.models import Domain, Merchant


def _schema_exists(name):
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cur.fetchone() is not None


def test_create_merchant_clones_schema_domain_and_event(mall):
    started = time.perf_counter()
    m = merchant_create(slug="wayne", name="Wayne Goods", contact_email="bruce@wayne.test", owner=mall.users["nobody"])
    elapsed = time.perf_counter() - started
    assert _schema_exists("m_wayne")
    assert Domain.objects.get(tenant=m).domain == "wayne.localhost"
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM m_wayne.django_migrations")
        assert cur.fetchone()[0] > 0
    ev = OutboxEvent.objects.get(topic="merchant.created", aggregate_id=str(m.pk))
    assert ev.payload["host"] == "wayne.localhost" and ev.status == "pending"
    assert mall.users["nobody"].memberships.get(merchant=m).roles == ["owner"]
    assert elapsed < 5  # correctness bound only; the ≤1 s figure is measured by `./mallard bench merchant`


@pytest.mark.parametrize("slug,field", [("", "slug"), ("Bad Slug", "slug"), ("ab", "slug"), ("admin", "slug"), ("acme", "slug")])
def test_bad_slugs_rejected_and_nothing_written(mall, slug, field):
    before = (Merchant.objects.count(), OutboxEvent.objects.count())
    with pytest.raises(ValidationFailed) as err:
        merchant_create(slug=slug, name="X")
    assert err.value.field == field
    assert (Merchant.objects.count(), OutboxEvent.objects.count()) == before


def test_cli_create_merchant(mall, capsys):
    from django.core.management import call_command

    call_command("create_merchant", "stark", "Stark Industries", "--owner", "tony@stark.test")
    out = capsys.readouterr().out
    assert "http://stark.localhost/" in out and _schema_exists("m_stark")
