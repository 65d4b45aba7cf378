"""The errors file of a dry run: a CSV (UTF-8, the export's rules: no cell read as a formula) with the
row's number in the file, the reason, and the row's cells under the file's own headers."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from services.export.files import Column, Format, TableWriter
from services.imports.reading import FORMULA


def errors_csv(headers: Sequence[str], rows: Sequence[tuple[int, str, list[str]]]) -> bytes:
    """`rows`: (row number, reason in the reader's language, the row's cells)."""
    columns = [Column("row", "row"), Column("reason", "reason")]
    seen = {"row", "reason"}
    for i, header in enumerate(headers):
        key = str(header) or f"column_{i + 1}"
        while key in seen:
            key += "_"
        seen.add(key)
        columns.append(Column(key, key))
    with tempfile.TemporaryDirectory() as tmp:
        writer = TableWriter(Path(tmp), "errors", Format.CSV, columns, part_limit=1 << 40)
        for row_no, reason, cells in rows:
            padded = [("" if c == FORMULA else c) for c in cells[: len(headers)]]
            padded += [""] * (len(headers) - len(padded))
            writer.write([row_no, reason, *padded])
        return b"".join(p.read_bytes() for p in writer.close())
