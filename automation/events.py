"""Topics the automation app emits, and their payloads (docs/events.md lists every app's topics).

Both are emitted by automation.services.automation_rules_run, in the transaction that records the RuleRun,
with aggregate ("suborder", suborder id) so they are ordered with that suborder's other events.
"""

TOPICS = {
    "automation.rule_fired": {
        "when": "A rule with the webhook action fired on a suborder (after its other actions ran).",
        "payload": {"merchant_id": "int", "rule_id": "int", "rule_name": "str", "trigger": "str",
                    "suborder_id": "int", "number": "str", "run_id": "int",
                    "outcome": "done | partial | refused",
                    "actions": "[{type, status: done | refused, detail}]"},
    },
    "automation.staff_notify": {
        "when": "A rule with the notify_staff action fired: one event per email to send (sent by the "
                "automation.staff_email subscriber, outside the database, with a Message-ID from its delivery).",
        "payload": {"merchant_id": "int", "rule_id": "int", "rule_name": "str", "suborder_id": "int",
                    "number": "str", "email": "str", "trigger": "str"},
    },
}
