"""The change feed's stamp: `change_xid`, the full transaction id (xid8 as bigint) of the last writer of
each suborder row, set by a BEFORE INSERT OR UPDATE trigger so that no writer (ORM, suborders.sql, a
bulk import, a hand-written UPDATE) can forget it. Existing rows keep 0 and come first in the feed.

The trigger function lives in each merchant schema beside its table (django-tenants' clone copies both
into a new merchant's schema). Safe to run twice: CREATE OR REPLACE / DROP ... IF EXISTS.
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


class Migration(migrations.Migration):

    dependencies = [
        ('suborders', '0009_channel_tags_hold'),
    ]

    operations = [
        migrations.AddField(
            model_name='suborder',
            name='change_xid',
            field=models.BigIntegerField(db_default=0, default=0, editable=False),
        ),
        migrations.AddIndex(
            model_name='suborder',
            index=models.Index(fields=['change_xid', 'id'], name='suborder_change_xid_idx'),
        ),
        migrations.RunSQL(STAMP_SQL, UNSTAMP_SQL),
    ]
