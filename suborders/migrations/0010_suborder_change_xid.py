"""The change feed's stamp: `change_xid`, the full transaction id (xid8 as bigint) of the last writer of
each suborder row, set by a BEFORE INSERT OR UPDATE trigger so that no writer (ORM, suborders.sql, a
bulk import, a hand-written UPDATE) can forget it. Existing rows keep 0 and come first in the feed.

The trigger function lives in each merchant schema beside its table (django-tenants' clone copies both
into a new merchant's schema). Backwards compatible and safe to run twice: the column has a database
default (no table rewrite; the previous release keeps inserting), the trigger is CREATE OR REPLACE /
DROP ... IF EXISTS, and the index is built CONCURRENTLY (a large merchant keeps taking orders; an index
left INVALID by an interrupted build is dropped and rebuilt), in the model's state through
SeparateDatabaseAndState as in 0005.
"""
from django.db import migrations, models

STAMP_SQL = """
CREATE OR REPLACE FUNCTION suborders_change_xid_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- xid8 has no cast to bigint; its text form is the 64-bit full id (epoch << 32 | xid)
    NEW.change_xid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS suborders_change_xid ON suborders_suborder;
CREATE TRIGGER suborders_change_xid BEFORE INSERT OR UPDATE ON suborders_suborder
    FOR EACH ROW EXECUTE FUNCTION suborders_change_xid_stamp();
"""
UNSTAMP_SQL = """
DROP TRIGGER IF EXISTS suborders_change_xid ON suborders_suborder;
DROP FUNCTION IF EXISTS suborders_change_xid_stamp();
"""


INDEX_NAME = "suborder_change_xid_idx"


def create_index(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        cur.execute("""SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                       WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace""", [INDEX_NAME])
        row = cur.fetchone()
        if row and row[0]:
            return
        if row:  # an interrupted CONCURRENTLY build left it invalid
            cur.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX_NAME}"')
        cur.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{INDEX_NAME}" ON suborders_suborder (change_xid, id)')


def drop_index(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        cur.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX_NAME}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('suborders', '0009_channel_tags_hold'),
    ]

    operations = [
        migrations.AddField(
            model_name='suborder',
            name='change_xid',
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.RunSQL(STAMP_SQL, UNSTAMP_SQL),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name='suborder',
                    index=models.Index(fields=['change_xid', 'id'], name=INDEX_NAME),
                ),
            ],
            database_operations=[migrations.RunPython(create_index, drop_index, elidable=False)],
        ),
    ]
