"""A finer statistics target on the name-search index's expression (the doubled upper-cased name).

The name search is one condition, `doubled name LIKE '%fragment%'`, and PostgreSQL picks its plan from
the estimated share of matching rows: walk the list newest first (a common fragment: 51 matches come
soon) or fetch every match through the trigram index and sort (a rare one). With the default target
(100 most common values, 100 histogram bounds) the estimates for Latin fragments were off by up to
20 times ("john": 596 estimated, 11 525 real), so common fragments took the index and fetched and sorted
thousands of rows (130–270 ms at a million suborders). With 1 000 they are within ~10 % on the
benchmark's data and the plan follows (docs/benchmarks.md). ANALYZE of the suborders table samples
300 000 rows instead of 30 000 (~20 s at a million suborders on a busy 2-core machine, ~1 s below
100 000).

Only a statistics setting and an ANALYZE: no lock that blocks reads or writes, backwards compatible,
safe to run again. Clones of the template get the same target (tenants.services copies index
statistics targets, which a clone does not carry over by itself).
"""
from django.db import migrations

INDEX, COLUMN, TARGET = "suborder_name_trgm", 1, 1000


def forwards(apps, schema_editor):
    _set(schema_editor.connection, TARGET, analyze=True)


def backwards(apps, schema_editor):
    _set(schema_editor.connection, -1, analyze=False)


def _set(conn, target: int, *, analyze: bool) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_class WHERE relname = %s AND relnamespace = current_schema()::regnamespace", [INDEX])
        if cur.fetchone() is None:
            return
        cur.execute(f'ALTER INDEX "{INDEX}" ALTER COLUMN {COLUMN} SET STATISTICS {int(target)}')
        if analyze:
            cur.execute("ANALYZE suborders_suborder")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("suborders", "0005_suborder_skus"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
