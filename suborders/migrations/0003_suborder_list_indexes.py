"""Indexes behind the merchant's suborder list (suborders.selectors.suborder_list_for_merchant).

One index per way of narrowing the list: the keyset orders (created, total; status uses the existing
(status, created_at) index), late suborders, order-number prefix, phone digits by suffix, name fragment
(trigrams) and SKU. They are raw SQL, outside Django's model state: they are expression indexes whose
operator class lives wherever pg_trgm is installed, and the model's Meta stays as it is
(`makemigrations --check` is unaffected).

Built CONCURRENTLY so that a large merchant keeps taking orders while they build; hence not atomic.
Safe to run again: an index left INVALID by an interrupted build is dropped and rebuilt.
pg_trgm lives once per database: it is created in public (under an advisory lock, since
`mallard_migrate` migrates several schemas in parallel). New merchant schemas are cloned from the
template schema with its indexes (tenants.services); tests/suborders/test_list_filters.py checks that
a clone has them.
"""
from django.db import migrations, transaction

# name -> (table, definition after "ON <table>"); {trgm} is the schema holding pg_trgm's operator class.
INDEXES = {
    "suborder_created_id_idx": ("suborders_suborder", "(created_at, id)"),
    "suborder_total_id_idx": ("suborders_suborder", "(total_minor, id)"),
    "suborder_late_created_idx": ("suborders_suborder", "(created_at, id) WHERE is_late"),
    "suborder_order_number_like": ("suborders_suborder", "(order_number varchar_pattern_ops)"),
    # digits of the phone, reversed: a suffix search ("the last 4 digits", or a number typed without
    # its country code) becomes a prefix range on this index.
    "suborder_phone_rev_idx": ("suborders_suborder",
                               r"(reverse(regexp_replace(shipping_address ->> 'phone', '[^0-9]', '', 'g')) text_pattern_ops)"),
    # Every character of the upper-cased name doubled ("王芳" -> "王王芳芳"), so that a 2-character
    # fragment (most Chinese given names and many full names) still has whole trigrams; see
    # suborders.selectors._name_doubled.
    "suborder_name_trgm": ("suborders_suborder",
                           r"USING gin (regexp_replace(upper(shipping_address ->> 'name'), '(.)', '\1\1', 'g') {trgm}.gin_trgm_ops)"),
    "suborderline_sku_idx": ("suborders_suborderline", "(sku, suborder_id)"),
}

_TRGM_LOCK = "SELECT pg_advisory_xact_lock(hashtext('mallard:create-extension:pg_trgm'))"


def _trgm_schema(conn) -> str:
    with transaction.atomic(using=conn.alias), conn.cursor() as cur:
        cur.execute(_TRGM_LOCK)
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        cur.execute("SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")
        return cur.fetchone()[0]


def create_indexes(apps, schema_editor):
    conn = schema_editor.connection
    trgm = _trgm_schema(conn)
    with conn.cursor() as cur:
        for name, (table, definition) in INDEXES.items():
            cur.execute("""SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                           WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace""", [name])
            row = cur.fetchone()
            if row and row[0]:
                continue
            if row:  # an interrupted CONCURRENTLY build left it invalid
                cur.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
            cur.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON {table} {definition.format(trgm=trgm)}')


def drop_indexes(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        for name in INDEXES:
            cur.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
    # pg_trgm stays: it is per database and other apps (the storefront search) use it.


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("suborders", "0002_alter_suborderline_options_suborder_accepted_at_and_more"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
