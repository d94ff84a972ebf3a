"""The public read mirror of every suborder (so shopper and operator lists and the sweeps never fan
out across schemas). One writer, fed by snapshots the merchant side publishes through
core.readmodels; a snapshot older than the row (by version) changes nothing."""
from __future__ import annotations

from core.readmodels import read_model_writer
from core.tenancy import platform_only
from orders.models import SubOrderMirror

MIRRORED = ("status", "accept_by", "ship_by", "auto_receipt_at", "complete_after", "shipped_minor", "is_late", "updated_at",
            "cancellation_due_at")


@read_model_writer("suborder")
@platform_only
def mirror_apply_snapshot(snapshot: dict) -> bool:
    """Write one suborder snapshot; False when the mirror already has this version or a newer one."""
    fields = {k: snapshot[k] for k in MIRRORED if k in snapshot}
    return bool(SubOrderMirror.objects.filter(merchant_id=snapshot["merchant_id"], suborder_id=snapshot["suborder_id"],
                                              version__lt=snapshot["version"]).update(version=snapshot["version"], **fields))


@platform_only
def mirror_reconcile(*, repair: bool = False) -> list[dict]:
    """Compare every suborder with its mirror row, merchant by merchant; with repair=True, rewrite the
    drifted rows from the merchant's data (whatever their version). Returns the drifts found."""
    from core.readmodels import snapshot_for
    from core.tenancy import in_merchant_schema
    from tenants.models import Merchant

    drifts = []
    for merchant in Merchant.objects.filter(is_template=False).exclude(schema_name="public").order_by("pk"):
        mirrors = {m.suborder_id: m for m in SubOrderMirror.objects.filter(merchant=merchant)}
        with in_merchant_schema(merchant):
            snapshots = snapshot_for("suborder")()
        for snap in snapshots:
            m = mirrors.get(snap["suborder_id"])
            if m is None:
                drifts.append({"merchant": merchant.slug, "suborder_id": snap["suborder_id"], "field": "missing"})
                continue
            wrong = [f for f in MIRRORED if f != "updated_at" and f in snap and getattr(m, f) != snap[f]]
            if m.version != snap["version"]:
                wrong.append("version")
            if wrong:
                drifts.append({"merchant": merchant.slug, "suborder_id": m.suborder_id, "field": ",".join(wrong)})
                if repair:
                    SubOrderMirror.objects.filter(pk=m.pk).update(version=snap["version"],
                                                                  **{f: snap[f] for f in MIRRORED if f in snap})
    return drifts
