"""Reads for the operator console: merchants with their health at a glance."""
from django.conf import settings
from django.db.models import Count, Q

from core.models import OutboxDelivery, OutboxEvent
from permissions.models import Membership
from tenants.selectors import merchant_host, merchant_list


def merchant_overview_for_operator() -> dict:
    merchants = list(merchant_list())
    schemas = [m.schema_name for m in merchants]
    dead = dict(
        OutboxDelivery.objects.filter(status=OutboxDelivery.Status.DEAD)
        .values_list("schema_name").annotate(n=Count("id")).values_list("schema_name", "n")
    )
    staff = dict(
        Membership.objects.filter(is_active=True, merchant__schema_name__in=schemas)
        .values_list("merchant_id").annotate(n=Count("id")).values_list("merchant_id", "n")
    )
    rows = [
        {"merchant": m, "host": merchant_host(m), "staff": staff.get(m.pk, 0), "dead_letters": dead.get(m.schema_name, 0)}
        for m in merchants
    ]
    totals = OutboxDelivery.objects.aggregate(
        pending=Count("id", filter=Q(status__in=[OutboxDelivery.Status.PENDING, OutboxDelivery.Status.SENDING])),
        dead=Count("id", filter=Q(status=OutboxDelivery.Status.DEAD)),
    )
    totals["pending"] += OutboxEvent.objects.filter(status=OutboxEvent.Status.PENDING).count()  # not routed yet
    return {
        "rows": rows,
        "platform_dead_letters": dead.get(settings.PUBLIC_SCHEMA_NAME, 0),
        "outbox_pending": totals["pending"],
        "outbox_dead": totals["dead"],
    }
