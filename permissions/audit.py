"""The audit trail: who did what, where from, before → after; sealed into one hash chain per schema.

`audit_record` writes a row in the caller's transaction (so a rolled-back change leaves no audit
row). Rows are sealed after commit (`audit_seal`, also swept by beat): under a per-schema advisory
lock each unsealed row gets the next `seq` of its schema's chain, the previous row's hash and its
own hash over its content. Sealing after commit instead of at insert keeps audited writes of one
merchant from queueing behind each other until commit. `audit_verify` recomputes every chain.
"""
from __future__ import annotations

import contextvars
import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import UTC

from django.db import connection, transaction
from django.utils import timezone

from core.tenancy import current_schema, in_public_schema
from permissions.models import AuditChainHead, AuditEntry

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditContext:
    """Where the current write comes from: set by the request middleware, refined by API auth."""

    ip: str | None = None
    request_id: str = ""
    via: str = "system"
    roles: dict = field(default_factory=dict)  # schema_name -> "owner,manager" (roles known at the edge)


audit_context_var: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("audit_context", default=None)


def audit_context() -> AuditContext:
    return audit_context_var.get() or AuditContext()


def audit_context_set(**changes) -> contextvars.Token:
    return audit_context_var.set(replace(audit_context(), **changes))


def audit_context_reset(token: contextvars.Token) -> None:
    audit_context_var.reset(token)


def _actor_role(actor, schema: str, ctx: AuditContext) -> str:
    if actor is None or not getattr(actor, "pk", None):
        return ""
    if schema in ctx.roles:
        return ctx.roles[schema]
    if getattr(actor, "is_staff", False):  # "operator:finance": the platform roles the operator acted with
        from permissions.selectors import platform_roles_of

        roles = sorted(platform_roles_of(actor))
        return "operator:" + ",".join(roles) if roles else "operator"
    if schema == "public":
        return ""
    from core.tenancy import current_merchant

    merchant = current_merchant()
    if merchant is not None and merchant.schema_name == schema:  # the roles authorize() just read, cached on the user
        from permissions.selectors import membership_roles

        return ",".join(membership_roles(user=actor, merchant=merchant))
    from permissions.models import Membership

    roles = (Membership.objects.filter(user_id=actor.pk, merchant__schema_name=schema, is_active=True)
             .values_list("roles", flat=True).first())
    return ",".join(roles or [])


def _jsonable(value):
    """before/after as JSON the chain can hash the same way after a round trip through jsonb."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


def _diff(before, after):
    """Keep only what changed; nested dicts (a variant's fields, a level per warehouse) are diffed too."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return before, after
    b_out, a_out = {}, {}
    for k in before.keys() | after.keys():
        b, a = before.get(k), after.get(k)
        if b == a:
            continue
        b, a = _diff(b, a)
        if k in before:
            b_out[k] = b
        if k in after:
            a_out[k] = a
    return b_out, a_out


def audit_record(*, actor, entity: str, entity_id, action: str, before=None, after=None,
                 schema_name: str | None = None) -> AuditEntry:
    """One audit row for one write, in the caller's transaction. Only changed fields are kept when
    both sides are dicts (the diff); sealed into the chain after commit."""
    schema = schema_name or current_schema()
    before, after = _diff(_jsonable(before), _jsonable(after))
    ctx = audit_context()
    has_actor = actor is not None and getattr(actor, "pk", None)
    with in_public_schema():
        entry = AuditEntry.objects.create(
            actor=actor if has_actor else None, actor_email=(actor.email if has_actor else "")[:254],
            role=_actor_role(actor, schema, ctx)[:120], via=ctx.via[:40], ip=ctx.ip, request_id=ctx.request_id[:64],
            schema_name=schema, entity=entity, entity_id=str(entity_id)[:64], action=action[:60],
            before=before, after=after,
        )
    transaction.on_commit(lambda: _seal_after_commit(schema))
    return entry


# Sealing after every commit would cost a busy process ~6 statements per audited write; a process seals a
# schema's chain at most once per SEAL_EVERY_SECONDS after commit, and the beat sweep (every 10 s) seals
# what a quiet moment left behind, so a row is sealed within seconds either way.
SEAL_EVERY_SECONDS = 1.0
_last_sealed: dict[str, float] = {}


def _seal_after_commit(schema: str) -> None:
    import time

    now = time.monotonic()
    if now - _last_sealed.get(schema, -1e9) < SEAL_EVERY_SECONDS:
        return
    _last_sealed[schema] = now
    try:
        audit_seal(schema_name=schema)
    except Exception:  # the beat sweep seals what is left; never fail the request that already committed
        import logging

        logging.getLogger("mallard.audit").exception("sealing the audit chain of %s failed; the sweep will retry", schema)


def entry_digest(*, entry: AuditEntry, seq: int, prev_hash: str) -> str:
    """SHA-256 over the row's content and its place in the chain (canonical JSON, sorted keys)."""
    content = {
        "schema": entry.schema_name, "seq": seq, "prev": prev_hash, "id": entry.pk,
        "actor": entry.actor_id, "actor_email": entry.actor_email, "role": entry.role, "via": entry.via,
        "ip": entry.ip, "request_id": entry.request_id, "entity": entry.entity, "entity_id": entry.entity_id,
        "action": entry.action, "before": entry.before, "after": entry.after,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def audit_seal(*, schema_name: str | None = None, batch: int = 1000) -> int:
    """Seal every committed unsealed row (of one schema, or all); returns how many. Safe to run
    concurrently: one sealer per schema at a time (advisory lock), rows taken in id order."""
    sealed = 0
    with in_public_schema():
        schemas = [schema_name] if schema_name else list(
            AuditEntry.objects.filter(hash="").values_list("schema_name", flat=True).distinct())
        for schema in schemas:
            while True:
                with transaction.atomic():
                    with connection.cursor() as cur:
                        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"audit-chain:{schema}"])
                    rows = list(AuditEntry.objects.filter(schema_name=schema, hash="").order_by("id")[:batch])
                    if not rows:
                        break
                    head = AuditChainHead.objects.filter(schema_name=schema).first()
                    seq, prev = (head.seq, head.hash) if head else (0, GENESIS)
                    for entry in rows:
                        seq += 1
                        digest = entry_digest(entry=entry, seq=seq, prev_hash=prev)
                        AuditEntry.objects.filter(pk=entry.pk).update(seq=seq, prev_hash=prev, hash=digest)
                        prev = digest
                    AuditChainHead.objects.update_or_create(schema_name=schema, defaults={
                        "seq": seq, "hash": prev, "sealed_at": timezone.now()})
                    sealed += len(rows)
                if len(rows) < batch:
                    break
    return sealed


@dataclass
class ChainProblem:
    schema_name: str
    seq: int | None
    entry_id: int | None
    problem: str


def audit_verify(*, schema_name: str | None = None) -> tuple[int, list[ChainProblem]]:
    """Recompute every sealed chain: (rows checked, problems). An edited row breaks its own hash, a
    deleted one leaves a gap in `seq`, a reordered one breaks the next row's `prev_hash`, and a cut
    tail no longer reaches the recorded head."""
    problems: list[ChainProblem] = []
    checked = 0
    with in_public_schema():
        heads = {h.schema_name: h for h in AuditChainHead.objects.all()}
        schemas = sorted(set(heads) | set(AuditEntry.objects.exclude(hash="").values_list("schema_name", flat=True).distinct()))
        if schema_name:
            schemas = [s for s in schemas if s == schema_name]
        for schema in schemas:
            expected_seq, prev = 1, GENESIS
            for entry in AuditEntry.objects.filter(schema_name=schema).exclude(hash="").order_by("seq").iterator(chunk_size=2000):
                checked += 1
                if entry.seq != expected_seq:
                    problems.append(ChainProblem(schema, expected_seq, None, f"rows {expected_seq}–{entry.seq - 1} are missing"))
                if entry.prev_hash != prev:
                    problems.append(ChainProblem(schema, entry.seq, entry.pk, "does not follow the row before it (reordered or a row removed)"))
                if entry_digest(entry=entry, seq=entry.seq, prev_hash=entry.prev_hash) != entry.hash:
                    problems.append(ChainProblem(schema, entry.seq, entry.pk, "content changed after it was sealed"))
                expected_seq, prev = entry.seq + 1, entry.hash
            head = heads.get(schema)
            if head is None:
                problems.append(ChainProblem(schema, None, None, "no chain head recorded"))
            elif head.seq != expected_seq - 1 or head.hash != prev:
                problems.append(ChainProblem(schema, head.seq, None, f"chain ends at {expected_seq - 1}, head says {head.seq} (rows removed from the end)"))
    return checked, problems
