"""Suborder reads spanning several merchant schemas in ONE statement (platform level: channel imports).

Schema-qualified UNION ALL instead of switching `search_path` per merchant, as catalog.cross_schema.
"""
from __future__ import annotations

import re

from django.db import connection

from suborders.sql import EXISTING_EXTERNAL_BRANCH

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def external_ids_imported_many(*, channel: str, wanted: dict[str, list[str]]) -> dict[str, set[str]]:
    """{schema: [external order ids]} -> {schema: the ids that already have a suborder of `channel`}."""
    branches, params = [], []
    for schema, ids in sorted(wanted.items()):
        if not _SCHEMA_RE.match(schema):
            raise ValueError(f"bad schema name {schema!r}")
        if ids:
            branches.append(EXISTING_EXTERNAL_BRANCH.format(s=schema))
            params += [schema, channel, list(ids)]
    out: dict[str, set[str]] = {s: set() for s in wanted}
    if not branches:
        return out
    with connection.cursor() as cur:
        cur.execute(" UNION ALL ".join(branches), params)
        for schema, external_id in cur.fetchall():
            out[schema].add(external_id)
    return out
