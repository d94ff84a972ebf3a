"""The events a merchant's webhook endpoints can subscribe to, with each one's payload shape (versioned by
API_VERSION), and the outbox topic this app emits itself.

Every delivery's body is the envelope
    {"id": "evt_…", "type": "suborder.shipped", "api_version": API_VERSION, "created": <unix seconds>,
     "merchant": "<store slug>", "data": {…the type's payload below…}}
A field is only ever added to a payload within one API_VERSION; renaming or removing one needs a new version.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

API_VERSION = "2026-12-01"

# What every suborder event's `data` carries (from the suborder.changed outbox event of suborders.services).
SUBORDER_PAYLOAD = {
    "suborder_id": "integer: the suborder's id in this store (GET /api/v1/suborders/{id}/)",
    "number": "string: the suborder number shown to the shopper and staff",
    "order_id": "integer: the shopper's checkout order",
    "from": "string: status before (pending_payment, awaiting_acceptance, accepted, partially_shipped, shipped, "
            "delivered, completed, refused, cancelled)",
    "to": "string: status after",
    "action": "string: what happened (the part of `type` after 'suborder.')",
    "lines": "list of {line, sku, variant_id, quantity}: the lines the action touched and how many units (may be empty)",
    "reason": "string: the reason given, if any",
    "version": "integer: the suborder's version after the change; higher is newer",
}
LOW_STOCK_PAYLOAD = {
    "sku": "string", "variant_id": "integer", "warehouse": "string: the warehouse code", "warehouse_id": "integer",
    "available": "integer: on hand minus reserved, after the change", "threshold": "integer: the variant's alert level",
}
RULE_FIRED_PAYLOAD = {
    "rule_id": "integer: the automation rule", "rule_name": "string", "trigger": "string: the rule's trigger",
    "suborder_id": "integer", "number": "string: the suborder number", "run_id": "integer: the rule run",
    "outcome": "string: done, partial or refused", "actions": "list of {type, status: done | refused, detail}",
}
TEST_PAYLOAD = {"message": "string", "endpoint_id": "integer: the endpoint this test was sent to"}


@dataclass(frozen=True)
class WebhookEventType:
    name: str
    label: object
    when: object
    payload: dict = field(default_factory=dict)


_SUBORDER_ACTIONS = [
    ("paid", _("Suborder paid"), _("The shopper's payment succeeded; the suborder awaits acceptance.")),
    ("accepted", _("Suborder accepted"), _("Accepted by staff, an API client or automatically at the deadline.")),
    ("lines_refused", _("Lines refused"), _("Some or all units were refused (and refunded).")),
    ("lines_cancelled", _("Lines cancelled"), _("Accepted units were cancelled before shipping (and refunded).")),
    ("cancelled", _("Suborder cancelled"), _("The checkout expired unpaid; the reservation was released.")),
    ("shipped", _("Suborder shipped"), _("A shipment left with some or all of the units.")),
    ("delivered", _("Suborder delivered"), _("A carrier event or the shopper confirmed delivery.")),
    ("completed", _("Suborder completed"), _("The return window closed; the suborder becomes payable.")),
    ("late", _("Suborder late"), _("The shipping deadline passed with units still to ship.")),
    ("contact_changed", _("Shipping contact changed"), _("The shipping address, phone or note was edited.")),
    ("variant_swapped", _("Line variant swapped"), _("A line's variant was swapped for another of the same product.")),
    ("cancellation_requested", _("Cancellation requested"),
     _("The shopper asked to cancel accepted units; decide before the deadline or it is approved.")),
    ("cancellation_refused", _("Cancellation refused"), _("The store refused the shopper's cancellation request.")),
]

EVENT_TYPES: dict[str, WebhookEventType] = {
    **{f"suborder.{action}": WebhookEventType(f"suborder.{action}", label, when, SUBORDER_PAYLOAD)
       for action, label, when in _SUBORDER_ACTIONS},
    "automation.rule_fired": WebhookEventType("automation.rule_fired", _("Automation rule fired"),
                                              _("A rule with the “webhook” action ran on a suborder."), RULE_FIRED_PAYLOAD),
    "catalog.low_stock": WebhookEventType("catalog.low_stock", _("Low stock"),
                                          _("A variant's available stock in a warehouse fell to its alert level."),
                                          LOW_STOCK_PAYLOAD),
}
TEST_EVENT_TYPE = WebhookEventType("webhook.test", _("Test event"), _("Sent when you press “Send test event”."),
                                   TEST_PAYLOAD)
ALL_EVENTS = "*"


def event_type_choices() -> list[tuple[str, object]]:
    return [(name, et.label) for name, et in EVENT_TYPES.items()]


# ---- outbox topics this app emits (docs/events.md) -----------------------------------------------------
TOPIC_ENDPOINT_DISABLED = "webhook.endpoint_disabled"
TOPICS = {
    TOPIC_ENDPOINT_DISABLED: {
        "when": "a merchant's webhook endpoint failed continuously for MALLARD_WEBHOOKS_DISABLE_AFTER_DAYS and was "
                "disabled (the owner is emailed once)",
        "aggregate": "webhook_endpoint",
        "payload": {"endpoint_id": "integer", "url": "string", "failing_since": "ISO 8601 time", "reason": "string"},
    },
}
