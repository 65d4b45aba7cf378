"""Writing a table to CSV or XLSX files, streaming (constant memory), split into parts under Telegram's
50 MB upload limit.

- CSV is for machines: UTF-8 without a BOM, the columns' stable English snake_case keys as headers,
  times in UTC (ISO 8601), and no cell starts with = + - @ (or a tab or CR) unescaped: such a cell is
  prefixed with an apostrophe, so a spreadsheet opening the file never runs it as a formula. The one
  exception is a PHONE column's value that is E.164 ("+" and digits, validated here): it stays E.164.
  Numbers typed as numbers are written as numbers.
- XLSX is for people: the columns' labels (in the reader's language) as headers, times in the reader's
  time zone, strings never turned into formulas, numbers, links or markup (xlsxwriter's constant-memory
  mode writes each row straight to disk; see `_looks_rich`).

A part is closed before it could pass `part_limit` less PART_MARGIN, or, for XLSX, a million rows
(Excel's sheet holds 1,048,576); every part starts with the header row. CSV counts its bytes as it
writes them. An XLSX file is a zip: its size is known only once it is compressed, and how well cells
compress depends on them (the clients' rows shrink about 7-fold, to ~108 bytes a row; random text
hardly at all), so no fixed bytes-per-cell rule fits both. Instead the part's compressed size is
measured as it grows (`_DeflateMeter`): each row's sheet XML, as xlsxwriter writes it, goes through the
same deflate the zip applies; the stream is flushed every 16 KB, and what it still holds is counted as
if it didn't compress at all. That follows the file's real size within a few percent either way
(measured on client rows, random Latin, Cyrillic and CJK text, escapes, numbers and dates), so with
5 % added for what it doesn't model and room for the package's other files, a part comes out near
(48 - 1) / 1.05 ≈ 45 MB and never above the limit, whatever the cells hold: at ~108 bytes a row a
million clients make 3 parts, where counting uncompressed bytes made 11 of 10 MB. Measuring costs
about as much again as the zip's own compression: some 20 % on top of xlsxwriter's time.
"""

from __future__ import annotations

import csv
import enum
import math
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

# Telegram takes uploads up to 50 MB; a part stays a safe margin below.
PART_LIMIT = 48 * 1024 * 1024
XLSX_MAX_ROWS = 1_000_000
# Room kept below the limit when deciding to start a new part.
PART_MARGIN = 1024 * 1024
# XLSX: what the measured sheet size is multiplied by (it is within 3 % of the real one), and the bytes
# of the package's other files and zip directory (about 5 KB for a 22-column sheet, measured).
_XLSX_SAFETY = 1.05
_XLSX_PACKAGE = 16 * 1024
_FLUSH_EVERY = 16 * 1024  # the meter's deflate stream is flushed after this many bytes of XML
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


class _DeflateMeter:
    """The compressed size of the bytes fed so far, from above: the deflate a zip uses (level 6, raw),
    flushed every _FLUSH_EVERY bytes so that what it holds back is known, and counted uncompressed."""

    def __init__(self) -> None:
        self._stream = zlib.compressobj(6, zlib.DEFLATED, -15)
        self._out = 0  # compressed bytes the stream has given back
        self._held = 0  # bytes fed since the last flush

    def feed(self, data: bytes) -> None:
        self._out += len(self._stream.compress(data))
        self._held += len(data)
        if self._held >= _FLUSH_EVERY:
            self._out += len(self._stream.flush(zlib.Z_SYNC_FLUSH))
            self._held = 0

    @property
    def size(self) -> int:
        return self._out + self._held


# How xlsxwriter escapes cell text (xlsxwriter/xmlwriter.py): _xHHHH_ for control characters (and a
# literal "_xHHHH_" gets its underscore escaped), then &, < and >.
_ESCAPED = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_")
_LITERAL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_EXCEL_EPOCH = datetime(1899, 12, 30)


def _xml_text(text: str) -> str:
    if not _ESCAPED.search(text):
        return text
    text = _LITERAL_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _looks_rich(text: str) -> bool:
    """xlsxwriter's constant-memory mode copies a string that starts with <r> and ends with </r> into
    the sheet unescaped (it takes it for its own rich-text markup): such text is written as a rich
    string of two plain runs instead, which it escapes."""
    return text.startswith("<r>") and text.endswith("</r>")


_RUN = (  # how xlsxwriter starts a plain run of a rich string
    '<r><rPr><sz val="11"/><color theme="1"/><rFont val="Calibri"/><family val="2"/>'
    '<scheme val="minor"/></rPr>'
)


def _string_xml(ref: str, text: str) -> str:
    if _looks_rich(text):
        runs = f"{_RUN}<t>&lt;</t></r>{_RUN}<t>{_xml_text(text[1:])}</t></r>"
        return f'<c r="{ref}" t="inlineStr"><is>{runs}</is></c>'
    preserve = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{preserve}>{_xml_text(text)}</t></is></c>'


def _serial(value: datetime) -> float:
    """A naive datetime as Excel's day number (what the sheet stores for a date or time)."""
    return (value - _EXCEL_EPOCH).total_seconds() / 86400


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
        self._meter = _DeflateMeter()
        self._letters = [xl_col_to_name(i) for i in range(len(self.columns))]
        self._spans = f"1:{len(self.columns)}"

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
            "plain": book.add_format(),
            Kind.DATE: book.add_format({"num_format": "yyyy-mm-dd"}),
            Kind.DATETIME: book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        }
        sheet = book.add_worksheet()
        for i, column in enumerate(self.columns):
            sheet.set_column(i, i, column.width)
            sheet.write_string(0, i, column.label, self._formats["header"])
        sheet.freeze_panes(1, 0)
        self._book, self._sheet = book, sheet
        self._meter = _DeflateMeter()
        header = "".join(
            _string_xml(f"{n}1", c.label) for n, c in zip(self._letters, self.columns, strict=True)
        )
        self._meter.feed(f'<row r="1" spans="{self._spans}">{header}</row>'.encode())

    def _close_part(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = self._csv = None
        if self._book is not None:
            self._book.close()
            self._book = self._sheet = None

    def _full(self, next_bytes: int) -> bool:
        """Whether a row of `next_bytes` (CSV: as written; XLSX: its sheet XML, before compression)
        could take the part past the limit."""
        if self.fmt is Format.CSV:
            return self._part_bytes + next_bytes > self.part_limit - PART_MARGIN
        size = _XLSX_PACKAGE + math.ceil(self._meter.size * _XLSX_SAFETY) + next_bytes
        return self._part_rows >= self.max_rows or size > self.part_limit - PART_MARGIN

    # -- rows ----------------------------------------------------------------------------------

    def write(self, row: Sequence[Any]) -> None:
        if self.fmt is Format.CSV:
            self._write_csv(row)
        else:
            self._write_row(row)
        self._part_rows += 1
        self.rows += 1

    def _write_csv(self, row: Sequence[Any]) -> None:
        cells = [csv_cell(v, c.kind) for c, v in zip(self.columns, row, strict=True)]
        size = _csv_size(cells)
        if not self.parts:
            self._open_part()
        elif self._part_rows and self._full(size):
            self._close_part()
            self._open_part()
        self._csv.writerow(cells)
        self._part_bytes += size

    def _write_row(self, row: Sequence[Any]) -> None:
        if not self.parts:
            self._open_part()
        cells = self._sheet_cells(row)
        xml = self._row_xml(self._part_rows + 1, cells)
        if self._part_rows and self._full(len(xml)):
            self._close_part()
            self._open_part()
            xml = self._row_xml(1, cells)
        self._write_xlsx(self._part_rows + 1, cells)
        self._meter.feed(xml)

    def _sheet_cells(self, row: Sequence[Any]) -> list[tuple[int, Kind | None, Any]]:
        """The row's cells as the sheet stores them: (column, kind, value), kind None for a boolean,
        DATE or DATETIME for a naive local datetime, NUMBER for a float, TEXT for a string."""
        cells: list[tuple[int, Kind | None, Any]] = []
        for i, (column, value) in enumerate(zip(self.columns, row, strict=True)):
            if value is None:
                continue
            if isinstance(value, bool):
                cells.append((i, None, value))
            elif isinstance(value, datetime):
                cells.append((i, Kind.DATETIME, value.astimezone(self.tz).replace(tzinfo=None)))
            elif isinstance(value, date):
                cells.append((i, Kind.DATE, datetime(value.year, value.month, value.day)))
            elif isinstance(value, int | float | Decimal) and column.kind is Kind.NUMBER:
                cells.append((i, Kind.NUMBER, float(value)))
            else:
                cells.append((i, Kind.TEXT, str(value)))
        return cells

    def _write_xlsx(self, at: int, cells: Sequence[tuple[int, Kind | None, Any]]) -> None:
        sheet = self._sheet
        for i, kind, value in cells:
            if kind is None:
                sheet.write_boolean(at, i, value)
            elif kind is Kind.NUMBER:
                sheet.write_number(at, i, value)
            elif kind is not Kind.TEXT:
                sheet.write_datetime(at, i, value, self._formats[kind])
            elif _looks_rich(value):
                sheet.write_rich_string(at, i, self._formats["plain"], value[:1], value[1:])
            else:
                sheet.write_string(at, i, value)

    def _row_xml(self, at: int, cells: Sequence[tuple[int, Kind | None, Any]]) -> bytes:
        """The row as the sheet's XML holds it (what the zip will compress), for the meter."""
        n = at + 1
        parts = [f'<row r="{n}" spans="{self._spans}">']
        for i, kind, value in cells:
            ref = f"{self._letters[i]}{n}"
            if kind is None:
                parts.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif kind is Kind.NUMBER:
                parts.append(f'<c r="{ref}"><v>{value:.16G}</v></c>')
            elif kind is not Kind.TEXT:
                parts.append(f'<c r="{ref}" s="2"><v>{_serial(value):.16G}</v></c>')
            else:
                parts.append(_string_xml(ref, value))
        parts.append("</row>")
        return "".join(parts).encode()

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
