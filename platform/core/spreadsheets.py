"""Uploaded tables (CSV in UTF-8, or XLSX) read into rows of named columns: one reader for every
preview-then-confirm upload (bulk mark-shipped, tracking events), bounded in size and rows."""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

from django.utils.translation import gettext as _

from core.errors import ValidationFailed

MAX_ROWS = 2000
MAX_BYTES = 2_000_000


def table_rows_parse(name: str, data: bytes, *, required: Sequence[str], optional: Sequence[str] = (),
                     one_of: Sequence[str] = (), aliases: Mapping[str, str] | None = None,
                     max_rows: int = MAX_ROWS) -> list[dict[str, str]]:
    """The rows under the header row as {column: text} for the `required` and `optional` columns (an
    absent optional column reads ""). Headers are matched case-insensitively, `aliases` maps another
    header name to ours; at least one of `one_of` must be present. Blank rows are skipped. Refusals are
    ValidationFailed on the field `file`, saying what is wrong with the file."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(_("The file is larger than 2 MB."), field="file")
    if name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            ws = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
            table = [["" if c is None else str(c).strip() for c in row] for row in ws.iter_rows(values_only=True)]
        except Exception:  # noqa: BLE001 - any unreadable workbook is the user's file, not our bug
            raise ValidationFailed(_("This is not a readable XLSX file."), field="file") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed(_("The CSV must be UTF-8."), field="file") from None
        try:
            table = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
        except csv.Error:
            raise ValidationFailed(_("This is not a readable CSV file."), field="file") from None
    table = [r for r in table if any(r)]
    if not table:
        raise ValidationFailed(_("The file is empty."), field="file")
    header = [(aliases or {}).get(h.lower(), h.lower()) for h in table[0]]
    missing = [h for h in required if h not in header]
    if one_of and not any(h in header for h in one_of):
        missing.append(_("one of %(cols)s") % {"cols": "/".join(one_of)})
    if missing:
        raise ValidationFailed(_("Missing column(s): %(cols)s.") % {"cols": ", ".join(missing)}, field="file")
    if len(table) - 1 > max_rows:
        raise ValidationFailed(_("At most %(n)s rows per file.") % {"n": max_rows}, field="file")
    columns = list(dict.fromkeys((*required, *optional, *one_of)))
    idx = {h: header.index(h) for h in columns if h in header}
    return [{h: (row[idx[h]] if h in idx and idx[h] < len(row) else "") for h in columns} for row in table[1:]]
