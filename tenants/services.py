"""Schema provisioning: the public tenant, the template schema, and fast clones of it.

A new merchant's schema is a copy of `settings.TEMPLATE_SCHEMA_NAME` (tables, indexes,
sequences and the django_migrations rows) made by django-tenants' clone function: no
migrations are replayed, so it takes a fraction of a second. `migrate` keeps the template
current because the template is itself a (hidden) tenant row.
"""
import logging
import time

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists

from core.tenancy import assert_public_schema, in_public_schema
from tenants.models import Domain, Merchant

log = logging.getLogger(__name__)


def public_tenant_ensure() -> Merchant:
    assert_public_schema()
    public, _ = Merchant.objects.get_or_create(
        schema_name=settings.PUBLIC_SCHEMA_NAME,
        defaults={"slug": "public", "name": "Mallard platform", "is_template": True},
    )
    Domain.objects.get_or_create(domain=settings.MALL_HOST, defaults={"tenant": public, "is_primary": True})
    for host in ("127.0.0.1",):
        Domain.objects.get_or_create(domain=host, defaults={"tenant": public, "is_primary": False})
    return public


def template_schema_ensure(*, verbosity: int = 0) -> Merchant:
    """Create and migrate the template schema once; later calls are cheap."""
    assert_public_schema()
    template, _ = Merchant.objects.get_or_create(
        schema_name=settings.TEMPLATE_SCHEMA_NAME,
        defaults={"slug": "_template", "name": "Merchant template", "is_template": True},
    )
    if not schema_exists(settings.TEMPLATE_SCHEMA_NAME):
        with connection.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{settings.TEMPLATE_SCHEMA_NAME}"')
        with in_public_schema():  # migrate_schemas leaves the connection on the template: come back
            call_command("migrate_schemas", schema_name=settings.TEMPLATE_SCHEMA_NAME, interactive=False, verbosity=verbosity)
    return template


def merchant_schema_provision(*, merchant: Merchant) -> float:
    """Give `merchant` its schema by cloning the template. Returns seconds taken."""
    assert_public_schema()
    started = time.perf_counter()
    if schema_exists(merchant.schema_name):
        return 0.0
    template_schema_ensure()
    with in_public_schema():  # the clone function may move the connection's schema: come back
        CloneSchema().clone_schema(settings.TEMPLATE_SCHEMA_NAME, merchant.schema_name, "DATA")
        _statistics_targets_copy(settings.TEMPLATE_SCHEMA_NAME, merchant.schema_name)
    elapsed = time.perf_counter() - started
    log.info("schema %s cloned from template in %.3fs", merchant.schema_name, elapsed)
    return elapsed


# The clone rebuilds indexes from their definitions, which do not carry a column's statistics target
# (ALTER INDEX ... ALTER COLUMN n SET STATISTICS, e.g. suborders migration 0006 on the name-search
# index): copy every target set on an index of the template.
_STATISTICS_TARGETS_SQL = """
    SELECT format('ALTER INDEX %%I.%%I ALTER COLUMN %%s SET STATISTICS %%s', %s::text, c.relname, a.attnum, a.attstattarget)
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'i' AND a.attstattarget > 0
"""


def _statistics_targets_copy(source: str, dest: str) -> None:
    with connection.cursor() as cur:
        cur.execute(_STATISTICS_TARGETS_SQL, [dest, f'"{source}"'])
        for (statement,) in cur.fetchall():
            cur.execute(statement)


@transaction.atomic
def merchant_domain_set(*, merchant: Merchant, host: str) -> Domain:
    domain, _ = Domain.objects.update_or_create(domain=host, defaults={"tenant": merchant, "is_primary": True})
    return domain
