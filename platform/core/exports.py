"""Tables out (CSV and XLSX) for every export, safe to open in a spreadsheet.

A text cell starting with `=`, `+`, `-`, `@` (or a tab / carriage return) would run as a formula in
Excel or LibreOffice (CSV injection): in CSV it gets a leading apostrophe, in XLSX it is written as
a text cell, never a formula. Numbers are left as numbers.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class _Echo:
    def write(self, value):
        return value


def export_csv_chunks(rows: Iterable[list]) -> Iterator[str]:
    """CSV text in chunks for a StreamingHttpResponse; starts with a BOM so Excel reads UTF-8."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    buf = []
    for row in rows:
        buf.append(writer.writerow([csv_cell(v) for v in row]))
        if len(buf) >= 500:
            yield "".join(buf)
            buf = []
    if buf:
        yield "".join(buf)


def export_xlsx(rows: Iterable[list], target, *, sheet: str = "data") -> None:
    """Write rows into an XLSX at `target` (path or binary file) in openpyxl's write-only mode; every
    string is a text cell (openpyxl would otherwise store a string starting with `=` as a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                cell = WriteOnlyCell(ws, value=value)
                cell.data_type = "s"
                cells.append(cell)
            else:
                cells.append(value)
        ws.append(cells)
    wb.save(target)
