"""The ledger is append-only in the database too: UPDATE, DELETE and TRUNCATE raise."""
from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION payments_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'payments_ledgerentry is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS payments_ledger_no_change ON payments_ledgerentry;
CREATE TRIGGER payments_ledger_no_change BEFORE UPDATE OR DELETE ON payments_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_append_only();
DROP TRIGGER IF EXISTS payments_ledger_no_truncate ON payments_ledgerentry;
CREATE TRIGGER payments_ledger_no_truncate BEFORE TRUNCATE ON payments_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION payments_ledger_append_only();
"""
REVERSE = """
DROP TRIGGER IF EXISTS payments_ledger_no_change ON payments_ledgerentry;
DROP TRIGGER IF EXISTS payments_ledger_no_truncate ON payments_ledgerentry;
DROP FUNCTION IF EXISTS payments_ledger_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_payments_lifecycle")]
    operations = [migrations.RunSQL(FORWARD, REVERSE)]
