"""Writing a table to CSV or XLSX files, streaming (constant memory), split into parts under Telegram's
50 MB upload limit.

- CSV is for machines: UTF-8 without a BOM, the columns' stable English snake_case keys as headers,
  times in UTC (ISO 8601), and no cell starts with = + - @ (or a tab or CR) unescaped: such a cell is
  prefixed with an apostrophe, so a spreadsheet opening the file never runs it as a formula. The one
  exception is a PHONE column's value that is E.164 ("+" and digits, validated here): it stays E.164.
  Numbers typed as numbers are written as numbers.
- XLSX is for people: the columns' labels (in the reader's language) as headers, times in the reader's
  time zone, strings never turned into formulas, numbers or links (xlsxwriter's constant-memory mode
  writes each row straight to disk).

A part is closed before it could pass `part_limit` bytes (CSV: measured; XLSX: bounded by the bytes of
its cell data, which the compressed file never exceeds by more than its fixed overhead) or, for XLSX,
a million rows (Excel's sheet holds 1,048,576); every part starts with the header row.
"""

from __future__ import annotations

import csv
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import xlsxwriter

# Telegram takes uploads up to 50 MB; a part stays a safe margin below.
PART_LIMIT = 48 * 1024 * 1024
XLSX_MAX_ROWS = 1_000_000
# Room kept for the next row (CSV) or the file's fixed parts (XLSX) when deciding to start a new part.
_MARGIN = 1024 * 1024
_CELL_OVERHEAD = 24  # XML bytes around a cell's value in a sheet, an upper bound after compression
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A phone column holds numbers the CRM validated and normalised itself: "+" and digits only, which no
# spreadsheet can run; anything else in it is escaped like any text.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}( \+[1-9][0-9]{6,14})*")


class Format(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class Kind(enum.StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    PHONE = "phone"  # E.164 numbers (space-separated): written as they are, see `csv_cell`


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the CSV header: stable English snake_case
    label: str  # the XLSX header: in the reader's language
    kind: Kind = Kind.TEXT
    width: int = 16  # XLSX column width, in characters


def safe_text(value: str) -> str:
    """A string that no spreadsheet reads as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_cell(value: Any, kind: Kind = Kind.TEXT) -> str:
    if kind is Kind.PHONE and isinstance(value, str) and _E164.fullmatch(value):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | Decimal | float):
        return str(value)
    return safe_text(str(value))


def _csv_size(cells: Sequence[str]) -> int:
    """An upper bound of a CSV row's bytes: each cell quoted (2), its quotes doubled, a separator, CRLF.
    Counted instead of asking the file its position, which would flush it on every row."""
    return sum(len(c.encode()) + 3 + c.count('"') for c in cells) + 2


class TableWriter:
    """Rows in, parts out: `write()` each row (a sequence matching the columns), then `close()`."""

    def __init__(
        self,
        directory: Path,
        stem: str,
        fmt: Format,
        columns: Sequence[Column],
        tz: tzinfo = UTC,
        part_limit: int = PART_LIMIT,
        max_rows: int = XLSX_MAX_ROWS,
    ) -> None:
        self.directory = directory
        self.stem = stem
        self.fmt = fmt
        self.columns = list(columns)
        self.tz = tz
        self.part_limit = part_limit
        self.max_rows = max_rows
        self.parts: list[Path] = []
        self.rows = 0
        self._part_rows = 0
        self._part_bytes = 0
        self._file: IO[str] | None = None
        self._csv: Any = None
        self._book: xlsxwriter.Workbook | None = None
        self._sheet: Any = None
        self._formats: dict[str, Any] = {}

    # -- parts ---------------------------------------------------------------------------------

    def _path(self, number: int) -> Path:
        return self.directory / f"{self.stem}-{number}.{self.fmt.value}"

    def _open_part(self) -> None:
        path = self._path(len(self.parts) + 1)
        self.parts.append(path)
        self._part_rows = 0
        if self.fmt is Format.CSV:
            self._file = path.open("w", encoding="utf-8", newline="")
            self._csv = csv.writer(self._file)
            header = [c.key for c in self.columns]
            self._csv.writerow(header)
            self._part_bytes = _csv_size(header)
        else:
            self._open_book(path)

    def _open_book(self, path: Path) -> None:
        options = {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "tmpdir": str(self.directory),
        }
        book = xlsxwriter.Workbook(str(path), options)
        self._formats = {
            "header": book.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
            Kind.DATE: book.add_format({"num_format": "yyyy-mm-dd"}),
            Kind.DATETIME: book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        }
        sheet = book.add_worksheet()
        for i, column in enumerate(self.columns):
            sheet.set_column(i, i, column.width)
            sheet.write_string(0, i, column.label, self._formats["header"])
        sheet.freeze_panes(1, 0)
        self._book, self._sheet = book, sheet
        self._part_bytes = sum(len(c.label.encode()) + _CELL_OVERHEAD for c in self.columns)

    def _close_part(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._csv = None
        if self._book is not None:
            self._book.close()
            self._book = self._sheet = None

    def _full(self, next_bytes: int) -> bool:
        if self.fmt is Format.CSV:
            return self._part_bytes + next_bytes > self.part_limit - _MARGIN
        return self._part_rows >= self.max_rows or self._part_bytes + next_bytes > self.part_limit - _MARGIN

    # -- rows ----------------------------------------------------------------------------------

    def write(self, row: Sequence[Any]) -> None:
        if self.fmt is Format.CSV:
            cells = [csv_cell(v, c.kind) for c, v in zip(self.columns, row, strict=True)]
            size = _csv_size(cells)
        else:
            cells = list(row)
            size = sum(len(str(v).encode()) + _CELL_OVERHEAD for v in cells if v is not None)
        if not self.parts:
            self._open_part()
        elif self._part_rows and self._full(size):
            self._close_part()
            self._open_part()
        if self.fmt is Format.CSV:
            self._csv.writerow(cells)
        else:
            self._write_xlsx(self._part_rows + 1, cells)
        self._part_bytes += size
        self._part_rows += 1
        self.rows += 1

    def _write_xlsx(self, at: int, cells: Sequence[Any]) -> None:
        sheet = self._sheet
        for i, (column, value) in enumerate(zip(self.columns, cells, strict=True)):
            if value is None:
                continue
            if isinstance(value, bool):
                sheet.write_boolean(at, i, value)
            elif isinstance(value, datetime):
                local = value.astimezone(self.tz).replace(tzinfo=None)
                sheet.write_datetime(at, i, local, self._formats[Kind.DATETIME])
            elif isinstance(value, date):
                sheet.write_datetime(
                    at, i, datetime(value.year, value.month, value.day), self._formats[Kind.DATE]
                )
            elif isinstance(value, int | float | Decimal) and column.kind is Kind.NUMBER:
                sheet.write_number(at, i, float(value))
            else:
                sheet.write_string(at, i, str(value))

    def write_all(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.write(row)

    def close(self) -> list[Path]:
        """Finish the last part; a table with no rows is still one part holding the header."""
        if not self.parts:
            self._open_part()
        self._close_part()
        return self.parts

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close_part()
