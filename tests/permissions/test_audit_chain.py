"""The audit trail: context of each write, diffs, append-only table, and the hash chain that
`audit verify` checks (an edited, a deleted, a reordered row and a cut tail are each detected)."""
import itertools

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from permissions.audit import audit_record, audit_seal, audit_verify
from permissions.models import AuditChainHead, AuditEntry

_n = itertools.count(1)


@pytest.fixture
def chain(mall):
    """A chain of its own (schema names are only labels here), five sealed rows."""
    schema = f"zz_audit_{next(_n)}"
    for i in range(5):
        audit_record(actor=mall.users["acme:owner"], entity="product", entity_id=i, action="update",
                     before={"price_minor": 100 + i, "name": "Tee"}, after={"price_minor": 200 + i, "name": "Tee"},
                     schema_name=schema)
    assert audit_seal(schema_name=schema) == 5
    return schema


def _tamper(sql, params=()):
    """Write around the append-only trigger as someone with the database's superuser would."""
    with connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute(sql, params)
        cur.execute("SET LOCAL session_replication_role = origin")


def _problems(schema):
    checked, problems = audit_verify(schema_name=schema)
    return checked, [p.problem for p in problems]


def test_a_sealed_chain_verifies_and_keeps_only_changed_fields(chain, mall):
    rows = list(AuditEntry.objects.filter(schema_name=chain).order_by("seq"))
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == "0" * 64 and all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    assert rows[2].before == {"price_minor": 102} and rows[2].after == {"price_minor": 202}  # "name" did not change
    assert rows[0].actor_email == "owner@acme.test"
    head = AuditChainHead.objects.get(schema_name=chain)
    assert (head.seq, head.hash) == (5, rows[-1].hash)
    assert _problems(chain) == (5, [])


def test_sealing_twice_changes_nothing_and_new_rows_extend_the_chain(chain, mall):
    assert audit_seal(schema_name=chain) == 0
    audit_record(actor=None, entity="product", entity_id=9, action="delete", schema_name=chain)
    assert audit_seal(schema_name=chain) == 1
    assert AuditEntry.objects.get(schema_name=chain, entity_id="9").seq == 6
    assert _problems(chain) == (6, [])


def test_an_edited_row_is_detected(chain):
    _tamper("UPDATE permissions_auditentry SET after = '{\"price_minor\": 1}' WHERE schema_name = %s AND seq = 3", [chain])
    assert _problems(chain)[1] == ["content changed after it was sealed"]


def test_a_deleted_row_is_detected(chain):
    _tamper("DELETE FROM permissions_auditentry WHERE schema_name = %s AND seq = 2", [chain])
    problems = _problems(chain)[1]
    assert "rows 2–2 are missing" in problems and "does not follow the row before it (reordered or a row removed)" in problems


def test_reordered_rows_are_detected(chain):
    _tamper("UPDATE permissions_auditentry SET seq = -seq WHERE schema_name = %s AND seq IN (2, 3)", [chain])
    _tamper("UPDATE permissions_auditentry SET seq = CASE seq WHEN -2 THEN 3 ELSE 2 END WHERE schema_name = %s AND seq < 0", [chain])
    problems = _problems(chain)[1]
    assert "content changed after it was sealed" in problems
    assert "does not follow the row before it (reordered or a row removed)" in problems


def test_a_cut_tail_is_detected(chain):
    _tamper("DELETE FROM permissions_auditentry WHERE schema_name = %s AND seq >= 4", [chain])
    assert _problems(chain)[1] == ["chain ends at 3, head says 5 (rows removed from the end)"]


def test_the_table_refuses_update_delete_and_truncate(chain):
    for sql in ("UPDATE permissions_auditentry SET action = 'x' WHERE schema_name = %s",
                "UPDATE permissions_auditentry SET hash = 'f' WHERE schema_name = %s",  # re-sealing a sealed row
                "DELETE FROM permissions_auditentry WHERE schema_name = %s"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [chain])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no deferred FK checks pending from this test's inserts
        cur.execute("TRUNCATE permissions_auditentry")
    assert AuditEntry.objects.filter(schema_name=chain, action="update").count() == 5
    assert _problems(chain) == (5, [])


def test_audit_verify_command_exits_1_on_a_broken_chain(chain, capsys):
    call_command("audit_verify", schema=chain)
    assert "every chain intact" in capsys.readouterr().out
    _tamper("UPDATE permissions_auditentry SET actor_email = 'someone@else' WHERE schema_name = %s AND seq = 1", [chain])
    with pytest.raises(SystemExit) as exc:
        call_command("audit_verify", schema=chain)
    assert exc.value.code == 1
    assert f"{chain}: seq 1" in capsys.readouterr().out


def test_a_write_through_the_dashboard_carries_actor_role_ip_and_request_id(mall, client_at):
    floor = max(AuditEntry.objects.values_list("id", flat=True), default=0)
    c = client_at(mall.acme, mall.users["acme:manager"])
    resp = c.post("/shipping/", {"name": "Audit express", "regions": "SH", "flat": "5", "per_kg": "", "free_over": ""},
                  HTTP_X_REQUEST_ID="req-audit-1")
    assert resp.status_code == 302
    entry = AuditEntry.objects.get(id__gt=floor, entity="shipping_rule", action="create")
    assert (entry.actor, entry.role, entry.via, entry.ip, entry.request_id, entry.schema_name) == (
        mall.users["acme:manager"], "manager", "web", "127.0.0.1", "req-audit-1", mall.acme.schema_name)


def test_sign_in_and_failed_sign_in_are_audited_in_the_hosts_books(mall, client_at):
    from tests.conftest import PASSWORD

    floor = max(AuditEntry.objects.values_list("id", flat=True), default=0)
    c = client_at(mall.acme)
    c.post("/accounts/login/", {"username": "warehouse@acme.test", "password": "wrong"})
    c.post("/accounts/login/", {"username": "warehouse@acme.test", "password": PASSWORD})
    rows = list(AuditEntry.objects.filter(id__gt=floor, entity="user").order_by("id")
                .values_list("action", "actor_email", "schema_name", "role"))
    assert rows == [("login_failed", "", mall.acme.schema_name, ""),
                    ("login", "warehouse@acme.test", mall.acme.schema_name, "warehouse")]


# --- the pages: owners and managers search their store's books, operators every store's --------------

def _shipping_rule_audited(mall, client_at, merchant_key="acme", name="Audited rule"):
    merchant = getattr(mall, merchant_key)
    c = client_at(merchant, mall.users[f"{merchant_key}:owner"])
    assert c.post("/shipping/", {"name": name, "regions": "SH", "flat": "5", "per_kg": "", "free_over": ""}).status_code == 302
    return AuditEntry.objects.filter(schema_name=merchant.schema_name, entity="shipping_rule", action="create").latest("id")


@pytest.mark.parametrize("role, status", [("owner", 200), ("manager", 200), ("customer_service", 403),
                                          ("finance", 403), ("warehouse", 403)])
def test_the_store_audit_page_follows_the_role_matrix(mall, client_at, role, status):
    entry = _shipping_rule_audited(mall, client_at)
    resp = client_at(mall.acme, mall.users[f"acme:{role}"]).get("/audit/", {"entity": "shipping_rule", "entity_id": entry.entity_id})
    assert resp.status_code == status
    if status == 200:
        body = resp.content.decode()
        assert body.count('data-testid="audit-row"') == 1 and "owner@acme.test" in body and "Audited rule" in body
    export = client_at(mall.acme, mall.users[f"acme:{role}"]).get("/audit/export.csv", {"entity_id": entry.entity_id,
                                                                                        "entity": "shipping_rule"})
    assert export.status_code == status


def test_a_store_never_sees_another_stores_audit_rows(mall, client_at):
    globex_entry = _shipping_rule_audited(mall, client_at, "globex", name="Globex secret rule")
    c = client_at(mall.acme, mall.users["acme:owner"])
    body = c.get("/audit/", {"entity": "shipping_rule", "entity_id": globex_entry.entity_id}).content.decode()
    assert "Globex secret rule" not in body and 'data-testid="audit-row"' not in body
    csv_text = b"".join(c.get("/audit/export.csv").streaming_content).decode()
    assert "Globex secret rule" not in csv_text and mall.globex.schema_name not in csv_text
    assert client_at(mall.globex, mall.users["acme:owner"]).get("/audit/").status_code == 403  # not a member there


def test_bad_filters_are_named_and_change_nothing(mall, client_at):
    c = client_at(mall.acme, mall.users["acme:owner"])
    resp = c.get("/audit/", {"date_from": "2026-13-45", "entity": "x"})
    body = resp.content.decode()
    assert resp.status_code == 400 and "date_from: Enter a date as YYYY-MM-DD." in body
    resp = c.get("/audit/", {"date_from": "2026-01-01", "entity": "x\x00"})  # NUL: refused before the view
    assert resp.status_code == 400 and "<code>entity</code>" in resp.content.decode()
    assert c.get("/audit/export.csv", {"before": "²"}).status_code == 400


def test_the_export_escapes_formulas_and_lists_each_changed_field(mall, client_at):
    entry = _shipping_rule_audited(mall, client_at, name="=HYPERLINK(\"http://x\")")
    c = client_at(mall.acme, mall.users["acme:owner"])
    text = b"".join(c.get("/audit/export.csv", {"entity": "shipping_rule", "entity_id": entry.entity_id})
                    .streaming_content).decode()
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    fields = [line.split(",")[10] for line in text.splitlines()[1:]]
    assert "name" in fields and "flat_minor" in fields


def test_operators_search_every_store_and_others_may_not(mall, client_at):
    acme = _shipping_rule_audited(mall, client_at, "acme", name="Acme op rule")
    _shipping_rule_audited(mall, client_at, "globex", name="Globex op rule")
    op = client_at(None, mall.users["operator"])
    body = op.get("/console/audit/", {"entity": "shipping_rule"}).content.decode()
    assert "Acme op rule" in body and "Globex op rule" in body
    only = op.get("/console/audit/", {"merchant": mall.acme.schema_name, "entity": "shipping_rule"}).content.decode()
    assert "Acme op rule" in only and "Globex op rule" not in only
    assert acme.entity_id in b"".join(op.get("/console/audit/export.csv", {"merchant": mall.acme.schema_name})
                                      .streaming_content).decode()
    for user in ("acme:owner", "shopper"):
        assert client_at(None, mall.users[user]).get("/console/audit/").status_code == 302  # to the admin login
