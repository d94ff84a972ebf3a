"""Outbox subscribers of the automation app: evaluate the store's rules on suborder events (DB-only: the
runs and the actions commit with the delivery, exactly once), and send the staff emails rules ask for
(an effect outside the database: at least once, with a stable Message-ID so a repeat can be dropped)."""
from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from core.outbox import outbox_handler
from core.tenancy import current_merchant


@outbox_handler("suborder.changed", name="automation.rules")
def run_rules(event) -> None:
    from automation.services import ACTION_TRIGGERS, automation_rules_run

    action = (event.payload or {}).get("action")
    if action not in ACTION_TRIGGERS or current_merchant() is None:
        return
    automation_rules_run(event_id=event.pk, suborder_id=int(event.aggregate_id), action=action, at=event.created_at)


def message_id(event) -> str:
    """Stable across a repeat of the same delivery (core.outbox.delivery_key): a receiver drops the copy."""
    key = getattr(event, "delivery_key", None) or f"{event.pk}.automation.staff_email"  # None when called by hand
    return f"<{key}@automation.mallard>"


@outbox_handler("automation.staff_notify", name="automation.staff_email", external=True)
def send_staff_email(event) -> None:
    p = event.payload
    merchant = current_merchant()
    store = merchant.name if merchant is not None else ""
    EmailMessage(
        subject=_("[%(store)s] Rule “%(rule)s” fired on suborder %(number)s") % {"store": store, "rule": p["rule_name"],
                                                                                "number": p["number"]},
        body=_("The automation rule “%(rule)s” fired on suborder %(number)s (%(trigger)s).\n\n"
               "Open the suborder on your dashboard to see what it did.") % {"rule": p["rule_name"], "number": p["number"],
                                                                           "trigger": p.get("trigger", "")},
        from_email=settings.DEFAULT_FROM_EMAIL, to=[p["email"]], headers={"Message-ID": message_id(event)},
    ).send()
