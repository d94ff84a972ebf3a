"""Reads of merchants and their domains."""
from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import NotFound
from tenants.models import Merchant


def merchant_get_by_schema(schema_name: str) -> Merchant:
    try:
        return Merchant.objects.get(schema_name=schema_name)
    except Merchant.DoesNotExist:
        raise NotFound(f"No merchant with schema {schema_name!r}.") from None


def merchant_get_by_slug(slug: str) -> Merchant:
    try:
        return Merchant.objects.get(slug=slug, is_template=False)
    except Merchant.DoesNotExist:
        raise NotFound(_("No store “%(slug)s”.") % {"slug": slug}, field="merchant") from None


def merchant_list(*, active_only: bool = False):
    qs = Merchant.objects.filter(is_template=False).exclude(schema_name=settings.PUBLIC_SCHEMA_NAME)
    if active_only:
        qs = qs.filter(status=Merchant.Status.ACTIVE)
    return qs.order_by("id")


def merchant_host(merchant: Merchant) -> str:
    return f"{merchant.slug}.{settings.MALL_HOST}"


def merchant_schemas_needing_migration() -> tuple[list[str], int]:
    """Schemas (template included) missing at least one tenant-app migration, and the total count.

    Reads every schema's django_migrations in one query so that thousands of up-to-date
    schemas cost one round trip, not thousands of `migrate` runs.
    """
    from django.apps import apps
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    tenant_labels = set()
    for entry in settings.TENANT_APPS:
        module = entry.split(".apps.")[0]
        for cfg in apps.get_app_configs():
            if cfg.name == module:
                tenant_labels.add(cfg.label)
    loader = MigrationLoader(None, ignore_no_migrations=True)
    expected = {key for key in loader.disk_migrations if key[0] in tenant_labels}
    schemas = list(
        Merchant.objects.exclude(schema_name=settings.PUBLIC_SCHEMA_NAME).values_list("schema_name", flat=True)
    )
    if not schemas:
        return [], 0
    with connection.cursor() as cur:
        cur.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [schemas])
        existing = {r[0] for r in cur.fetchall()}
        applied: dict[str, set] = {s: set() for s in existing}
        with_table = []
        if existing:
            cur.execute(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
                [list(existing)],
            )
            with_table = [r[0] for r in cur.fetchall()]
        for i in range(0, len(with_table), 500):
            chunk = with_table[i:i + 500]
            sql = " UNION ALL ".join(
                f"SELECT '{s}', app, name FROM \"{s}\".django_migrations" for s in chunk
            )
            cur.execute(sql)
            for schema, app, name in cur.fetchall():
                applied[schema].add((app, name))
    stale = [s for s in schemas if s not in existing or not expected <= applied.get(s, set())]
    return [s for s in stale if s in existing], len(schemas)
