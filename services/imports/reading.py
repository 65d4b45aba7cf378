"""Reading an uploaded CSV or XLSX file into a header and rows of text cells, or refusing it with a
reason (DomainError codes `import_*`).

- CSV: the encoding is UTF-8 (with or without a BOM) or Windows-1251, tried in that order; the
  delimiter is the one of comma, semicolon and tab that the header line uses most. A file with NUL
  bytes or control characters is not text (a binary file named .csv) and is refused.
- XLSX: the zip's entries are checked before anything is unpacked (their number and their declared
  uncompressed sizes: a zip bomb is refused); the first sheet is read with openpyxl in read-only
  mode. Formulas give their cached value; a formula without one becomes FORMULA (the row is invalid
  with that reason). Merged cells give the top-left value to every cell of the range. Numbers that
  are whole become digits ("79991234567", never "7.9991234567E10"), dates ISO text.
- Empty rows are skipped; more than MAX_COLUMNS columns or MAX_ROWS rows is refused.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from services.errors import DomainError

MAX_BYTES = 20 * 1024 * 1024  # what a bot may download through getFile
MAX_ROWS = 100_000
MAX_COLUMNS = 60
MAX_CELL = 4000  # characters kept of a cell
# XLSX: what its zip may hold once unpacked.
MAX_ZIP_ENTRIES = 1000
MAX_UNPACKED = 200 * 1024 * 1024
MAX_RATIO = 200  # a sheet packs maybe 10-20x; far more than this is a bomb
FORMULA = "\x00formula"  # a cell holding a formula without a cached value
CSV_EXTENSIONS = (".csv", ".tsv", ".txt")
XLSX_EXTENSIONS = (".xlsx", ".xlsm")
ENCODINGS = ("utf-8-sig", "cp1251")
DELIMITERS = (",", ";", "\t")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MERGE = re.compile(rb'<mergeCell ref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"')


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (row number in the file, cells)
    file_format: str = "csv"
    encoding: str | None = None
    delimiter: str | None = None


def file_format(file_name: str | None) -> str:
    name = (file_name or "").lower()
    if name.endswith(CSV_EXTENSIONS):
        return "csv"
    if name.endswith(XLSX_EXTENSIONS):
        return "xlsx"
    raise DomainError("import_extension", name=(file_name or "?")[:60])


def check_size(size: int | None) -> None:
    if size is not None and size > MAX_BYTES:
        raise DomainError("import_too_big", limit=MAX_BYTES // (1024 * 1024))


def read(data: bytes, file_name: str | None) -> Table:
    fmt = file_format(file_name)
    check_size(len(data))
    table = read_csv(data) if fmt == "csv" else read_xlsx(data)
    if not table.rows:
        raise DomainError("import_no_rows")
    return table


# --- CSV ---


def decode(data: bytes) -> tuple[str, str]:
    if b"\x00" in data[:65536]:
        raise DomainError("import_binary")
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if len(_CONTROL.findall(text[:65536])) > 0:
            raise DomainError("import_binary")
        if encoding == "cp1251":
            return text, "windows-1251"
        return text, "utf-8-bom" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    raise DomainError("import_binary")


def sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _cell(value: str) -> str:
    return value.strip()[:MAX_CELL]


def read_csv(data: bytes) -> Table:
    text, encoding = decode(data)
    first = text.split("\n", 1)[0]
    delimiter = sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    table = Table(headers=[], file_format="csv", encoding=encoding, delimiter=delimiter)
    try:
        for line_no, row in enumerate(reader, start=1):
            if len(row) > MAX_COLUMNS:
                raise DomainError("import_too_many_columns", count=len(row), limit=MAX_COLUMNS)
            _add(table, line_no, [_cell(c) for c in row])
    except csv.Error:
        raise DomainError("import_malformed") from None
    if not table.headers:
        raise DomainError("import_no_rows")
    return table


def _add(table: Table, row_no: int, cells: list[str]) -> None:
    """The first non-empty row is the header; later empty rows are skipped."""
    if not any(cells):
        return
    if not table.headers:
        while cells and not cells[-1]:
            cells.pop()
        table.headers = cells
        return
    if len(table.rows) >= MAX_ROWS:
        raise DomainError("import_too_many_rows", limit=MAX_ROWS)
    table.rows.append((row_no, cells))


# --- XLSX ---


def _check_zip(data: bytes) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise DomainError("import_bad_xlsx") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise DomainError("import_zip_bomb")
    total = 0
    for entry in entries:
        total += entry.file_size
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > 1024 * 1024 and ratio > MAX_RATIO:
            raise DomainError("import_zip_bomb")
    if total > MAX_UNPACKED:
        raise DomainError("import_zip_bomb")
    return archive


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def text_of(value: object) -> str:
    """A cell's value as text: whole numbers as digits, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e18:
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int):
        return str(value)
    return _cell(str(value))


def _sheet_extras(archive: zipfile.ZipFile, path: str) -> tuple[bool, list[tuple[int, int, int, int]]]:
    """Whether the sheet has formulas, and its merged ranges (min col, min row, max col, max row)."""
    try:
        xml = archive.read(path.lstrip("/"))
    except KeyError:
        return False, []
    has_formulas = b"<f>" in xml or b"<f " in xml
    merges = [
        (_column_number(a), int(r1), _column_number(b), int(r2)) for a, r1, b, r2 in _MERGE.findall(xml)
    ]
    return has_formulas, merges


def read_xlsx(data: bytes) -> Table:
    import openpyxl  # a heavy import, only for spreadsheets

    archive = _check_zip(data)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds of errors for a broken file
        raise DomainError("import_bad_xlsx") from None
    try:
        if not book.worksheets:
            raise DomainError("import_no_rows")
        sheet = book.worksheets[0]
        has_formulas, merges = _sheet_extras(archive, getattr(sheet, "_worksheet_path", ""))
        formulas = None
        if has_formulas:
            formulas = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False).worksheets[0]
        return _read_sheet(sheet, formulas, merges)
    except DomainError:
        raise
    except Exception:
        raise DomainError("import_bad_xlsx") from None
    finally:
        book.close()


def _read_sheet(sheet, formulas, merges) -> Table:
    table = Table(headers=[], file_format="xlsx")
    formula_rows = formulas.iter_rows(values_only=True) if formulas is not None else None
    fill: dict[tuple[int, int], str] = {}
    tops = {(c1, r1): (c1, r1, c2, r2) for c1, r1, c2, r2 in merges}
    for row_no, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        formulas_row = next(formula_rows, None) if formula_rows is not None else None
        if len(values) > MAX_COLUMNS and any(v is not None for v in values[MAX_COLUMNS:]):
            raise DomainError("import_too_many_columns", count=len(values), limit=MAX_COLUMNS)
        raw = values[:MAX_COLUMNS]
        cells = [text_of(v) for v in raw]
        if formulas_row is not None:
            for i, (value, f) in enumerate(zip(raw, formulas_row, strict=False)):
                if value is None and isinstance(f, str) and f.startswith("="):
                    cells[i] = FORMULA
        blank = not any(cells)  # an empty row stays empty (and skipped) whatever merge spans it
        _merge(cells, row_no, tops, fill)
        if not blank:
            _add(table, row_no, cells)
    if not table.headers:
        raise DomainError("import_no_rows")
    return table


def _merge(cells: list[str], row_no: int, tops, fill: dict[tuple[int, int], str]) -> None:
    """Merged ranges: the top-left cell's value goes to every cell of the range."""
    for col in range(1, len(cells) + 1):
        span = tops.get((col, row_no))
        if span is not None:
            c1, r1, c2, r2 = span
            for r in range(r1, r2 + 1):
                for c in range(c1, min(c2, MAX_COLUMNS) + 1):
                    fill[(c, r)] = cells[col - 1]
    for (c, r), value in list(fill.items()):
        if r == row_no:
            while len(cells) < c:
                cells.append("")
            if not cells[c - 1]:
                cells[c - 1] = value
            del fill[(c, r)]
