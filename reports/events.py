"""Topics the reports app emits, and their payloads (docs/events.md lists every app's topics)."""

TOPICS = {
    "export.ready": {
        "when": "A background export finished and its file can be downloaded (reports.exports.export_run, in "
                "the transaction that marks the job done); the reports.export_ready_email subscriber tells its asker.",
        "payload": {"job_id": "str", "merchant_id": "int (null: the mall)", "actor_id": "int", "kind": "str", "format": "str",
                    "rows": "int"},
    },
}
