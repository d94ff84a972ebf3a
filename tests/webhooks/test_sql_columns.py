"""The dispatcher's hand-written SQL names only columns the models have; the due index insert lists every
column of its table (a new column without a database default would break it: this fails first)."""
import re

from webhooks import sql
from webhooks.due_index.models import WebhookDueMerchant
from webhooks.models import WebhookDelivery, WebhookEndpoint


def _columns(model) -> set[str]:
    return {f.column for f in model._meta.concrete_fields}


def test_the_due_index_insert_lists_every_column_of_its_table():
    assert set(sql.DUE_NOTE_COLUMNS) == _columns(WebhookDueMerchant) - {"id"}
    assert f"({', '.join(sql.DUE_NOTE_COLUMNS)})" in sql.DUE_NOTE_SQL
    assert WebhookDueMerchant._meta.db_table == "webhooks_due_webhookduemerchant"


def test_the_dispatcher_statements_name_existing_columns():
    delivery, endpoint = _columns(WebhookDelivery), _columns(WebhookEndpoint)
    assert WebhookDelivery._meta.db_table == "webhooks_webhookdelivery"
    assert WebhookEndpoint._meta.db_table == "webhooks_webhookendpoint"
    text = sql.DUE_CANDIDATES_SQL + sql.CLAIM_SQL + sql.NEXT_DUE_SQL
    for alias, cols in (("d", delivery), ("p", delivery), ("e", endpoint)):
        used = set(re.findall(rf"\b{alias}\.([a-z_]+)", text))
        assert used and used <= cols, (alias, used - cols)
    set_cols = set(re.findall(r"(\w+) = ", sql.CLAIM_SQL.split("WHERE")[0]))
    assert set_cols <= delivery
