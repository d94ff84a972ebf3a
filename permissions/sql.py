"""The API token look-up of every API request (permissions.selectors.api_token_authenticate), by hand.

The ORM's select_related query cost ≈ 1.5 ms of Python per request (query compilation and two model
instances), 16 % of a checkout's Python time on the bench machine (docs/benchmarks.md). Both column
lists come from the models' _meta, so they follow the models; the instances are loaded from the row
with Model.from_db, as the ORM itself does. tests/permissions/test_token_lookup_sql.py compares the
result with the ORM's field by field.
"""
from __future__ import annotations

from django.db import connection

from permissions.models import ApiToken, User

_TOKEN_FIELDS = list(ApiToken._meta.concrete_fields)
_USER_FIELDS = list(User._meta.concrete_fields)


def _columns(alias: str, fields) -> str:
    return ", ".join(f"{alias}.{connection.ops.quote_name(f.column)}" for f in fields)


API_TOKEN_LOOKUP_SQL = (
    f"SELECT {_columns('t', _TOKEN_FIELDS)}, {_columns('u', _USER_FIELDS)}"
    f" FROM {ApiToken._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id"
    " WHERE t.digest = %s AND t.revoked_at IS NULL"
)


def api_token_row_load(row) -> ApiToken:
    """The ApiToken (with its user attached, as select_related would) from a row of API_TOKEN_LOOKUP_SQL."""
    n = len(_TOKEN_FIELDS)
    token = ApiToken.from_db(connection.alias, [f.attname for f in _TOKEN_FIELDS], row[:n])
    token.user = User.from_db(connection.alias, [f.attname for f in _USER_FIELDS], row[n:])
    return token
