"""The suborder's SKUs on its row (`skus`, sorted distinct SKUs of its lines) and a GIN index on them.

The SKU search used to probe the lines of every suborder while walking the list newest first (3 buffers
per suborder; 5 000–14 000 probes for a SKU on 1 % of suborders: p99 67–102 ms at a million
suborders). With the SKUs on the row, the list walk reads them in the heap pages it visits anyway,
and a rare SKU is found through the GIN index (docs/benchmarks.md, docs/decisions.md).

Backwards compatible and safe to run again:
* the column is added with a database default ('{}'), so code of the previous release (which does not
  write it) keeps inserting suborders while this runs; PostgreSQL adds a column with a constant
  default without rewriting the table;
* the backfill goes through the suborders in id batches of BATCH, each its own transaction (the
  migration is not atomic), and only rewrites rows whose SKUs differ, so a second run (or
  `manage.py suborders_skus_backfill` after the previous release's processes are gone, for suborders
  they inserted meanwhile) touches only what is still missing;
* the index is built CONCURRENTLY (a large merchant keeps taking orders); an index left INVALID by an
  interrupted build is dropped and rebuilt. It is in the model's state (Meta.indexes) through
  SeparateDatabaseAndState, so `makemigrations --check` stays quiet. New merchant schemas are cloned
  from the template with it (tests/suborders/test_list_filters.py checks a fresh clone).
"""
import django.contrib.postgres.fields
import django.contrib.postgres.indexes
from django.db import migrations, models

BATCH = 5_000  # suborders per UPDATE (about 15 000 lines): short transactions, short row locks
# sorted by code point, like Python's sorted() in suborders.sql.skus_of (the checkout's writer)

BACKFILL_SQL = """
    UPDATE suborders_suborder s SET skus = l.skus
    FROM (SELECT suborder_id, array_agg(DISTINCT sku COLLATE "C" ORDER BY sku COLLATE "C") AS skus
          FROM suborders_suborderline WHERE suborder_id >= %s AND suborder_id < %s GROUP BY suborder_id) l
    WHERE s.id = l.suborder_id AND s.id >= %s AND s.id < %s AND s.skus IS DISTINCT FROM l.skus
"""
INDEX_NAME = "suborder_skus_gin"
INDEX_SQL = f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{INDEX_NAME}" ON suborders_suborder USING gin (skus)'


def backfill(connection, *, batch: int = BATCH) -> int:
    """Write `skus` of every suborder of the current schema whose value is not its lines' SKUs.
    Each batch commits on its own when the connection is in autocommit (a non-atomic migration, a
    management command). Returns the number of rows changed."""
    changed = 0
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(min(id), 0), coalesce(max(id), -1) FROM suborders_suborder")
        lo, top = cur.fetchone()
        while lo <= top:
            hi = lo + batch
            cur.execute(BACKFILL_SQL, [lo, hi, lo, hi])
            changed += cur.rowcount
            lo = hi
    return changed


def forwards_backfill(apps, schema_editor):
    backfill(schema_editor.connection)


def create_index(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        cur.execute("""SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                       WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace""", [INDEX_NAME])
        row = cur.fetchone()
        if row and row[0]:
            return
        if row:  # an interrupted CONCURRENTLY build left it invalid
            cur.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX_NAME}"')
        cur.execute(INDEX_SQL)


def drop_index(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        cur.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX_NAME}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("suborders", "0004_orderdraft"),
    ]

    operations = [
        migrations.AddField(
            model_name="suborder",
            name="skus",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=64), blank=True, db_default=[], default=list, size=None),
        ),
        migrations.RunPython(forwards_backfill, migrations.RunPython.noop, elidable=False),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="suborder",
                    index=django.contrib.postgres.indexes.GinIndex(fields=["skus"], name=INDEX_NAME),
                ),
            ],
            database_operations=[migrations.RunPython(create_index, drop_index, elidable=False)],
        ),
    ]
