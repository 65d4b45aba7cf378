"""The table writer: CSV and XLSX parts, formula-safe cells, headers per format, parts split by size."""

from __future__ import annotations

import csv
import random
import string
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl

from services.export.files import PART_MARGIN, Column, Format, Kind, TableWriter, csv_cell

COLUMNS = [
    Column("name", "Имя"),
    Column("amount", "Сумма", Kind.NUMBER),
    Column("created_at", "Создан", Kind.DATETIME),
    Column("birthday", "День рождения", Kind.DATE),
]
AT = datetime(2026, 3, 1, 21, 30, tzinfo=UTC)
ROW = ['=HYPERLINK("http://x")', Decimal("12.50"), AT, date(1990, 5, 17)]


def test_csv_has_keys_as_headers_utc_times_and_no_live_formulas(tmp_path):
    writer = TableWriter(tmp_path, "clients", Format.CSV, COLUMNS)
    writer.write(ROW)
    writer.write(["@SUM(A1)", None, None, None])
    (part,) = writer.close()
    raw = part.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(part.open(encoding="utf-8", newline="")))
    assert rows[0] == ["name", "amount", "created_at", "birthday"]
    assert rows[1] == ['\'=HYPERLINK("http://x")', "12.50", "2026-03-01T21:30:00Z", "1990-05-17"]
    assert rows[2] == ["'@SUM(A1)", "", "", ""]


def test_every_dangerous_start_is_escaped():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert csv_cell(start + "1").startswith("'")
    assert csv_cell("Иван") == "Иван"
    assert csv_cell(-5) == "-5"  # a number stays a number
    assert csv_cell(True) == "true"


def test_xlsx_has_labels_local_times_and_strings_not_formulas(tmp_path):
    writer = TableWriter(tmp_path, "clients", Format.XLSX, COLUMNS, tz=ZoneInfo("Europe/Moscow"))
    writer.write(ROW)
    (part,) = writer.close()
    sheet = openpyxl.load_workbook(part).active
    assert [c.value for c in sheet[1]] == ["Имя", "Сумма", "Создан", "День рождения"]
    name, amount, created, birthday = (c for c in sheet[2])
    assert name.value == '=HYPERLINK("http://x")' and name.data_type == "s"
    assert amount.value == 12.5
    assert created.value == datetime(2026, 3, 2, 0, 30)  # Moscow is UTC+3
    assert birthday.value == datetime(1990, 5, 17)


def test_parts_split_by_size_each_with_a_header(tmp_path):
    limit = 1024 * 1024 + 4096  # the writer keeps 1 MB of margin: each part holds about 4 KB
    writer = TableWriter(tmp_path, "big", Format.CSV, COLUMNS, part_limit=limit)
    for i in range(400):
        writer.write([f"client {i:04d}", i, AT, None])
    parts = writer.close()
    assert len(parts) > 1
    seen = []
    for part in parts:
        assert part.stat().st_size <= limit
        rows = list(csv.reader(part.open(encoding="utf-8", newline="")))
        assert rows[0][0] == "name"
        seen += [r[0] for r in rows[1:]]
    assert seen == [f"client {i:04d}" for i in range(400)]


def test_xlsx_parts_split_by_rows(tmp_path):
    writer = TableWriter(tmp_path, "rows", Format.XLSX, COLUMNS, max_rows=3)
    for i in range(7):
        writer.write([f"c{i}", i, None, None])
    parts = writer.close()
    assert len(parts) == 3
    names = [
        [
            row[0]
            for row in openpyxl.load_workbook(p, read_only=True).active.iter_rows(min_row=2, values_only=True)
        ]
        for p in parts
    ]
    assert names == [["c0", "c1", "c2"], ["c3", "c4", "c5"], ["c6"]]


def test_an_empty_table_is_one_part_with_the_header(tmp_path):
    (part,) = TableWriter(tmp_path, "none", Format.CSV, COLUMNS).close()
    assert part.read_text(encoding="utf-8").strip() == "name,amount,created_at,birthday"


def _xlsx_rows(path):
    sheet = openpyxl.load_workbook(path, read_only=True).active
    return [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]


TEXT = [Column("id", "№", Kind.NUMBER), Column("note", "Заметка"), Column("code", "Код")]
BUDGET = 200_000  # what a part may hold: the limit less the margin the writer keeps


def test_xlsx_parts_stay_under_the_limit_even_for_text_that_does_not_compress(tmp_path):
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + string.punctuation + "ЖЩЮЯжщюя 漢字"
    rows = [
        [i, "".join(rng.choices(alphabet, k=rng.randrange(50, 400))), "".join(rng.choices(alphabet, k=40))]
        for i in range(2000)
    ]
    writer = TableWriter(tmp_path, "random", Format.XLSX, TEXT, part_limit=PART_MARGIN + BUDGET)
    writer.write_all(rows)
    parts = writer.close()
    assert len(parts) > 2
    sizes = [p.stat().st_size for p in parts]
    assert max(sizes) <= BUDGET  # the estimate holds without the margin's help
    assert min(sizes[:-1]) > BUDGET * 0.7  # and is not far above the real size
    read = [row for p in parts for row in _xlsx_rows(p)]
    assert read == [[float(i), note, code] for i, note, code in rows]


def test_typical_rows_fill_xlsx_parts_close_to_the_limit(tmp_path):
    rng = random.Random(3)
    firsts, lasts = ["Иван", "Мария", "Олег", "Anna", "John"], ["Петров", "Смирнова", "Smith", "Lee"]
    columns = [
        Column("id", "№", Kind.NUMBER),
        Column("name", "Имя"),
        Column("phone", "Телефон", Kind.PHONE),
        Column("email", "Почта"),
        Column("status", "Статус"),
        Column("owner", "Менеджер"),
        Column("created_at", "Создан", Kind.DATETIME),
        Column("revenue", "Выручка", Kind.NUMBER),
    ]
    rows = [
        [
            i,
            f"{rng.choice(firsts)} {rng.choice(lasts)}",
            f"+7900{i:07d}",
            f"client{i}@mail.ru",
            rng.choice(["active", "prospect", "inactive"]),
            f"Manager {i % 7}",
            AT - timedelta(minutes=17 * i),
            Decimal(rng.randrange(100, 10**6)) / 100,
        ]
        for i in range(9000)
    ]
    writer = TableWriter(tmp_path, "clients", Format.XLSX, columns, part_limit=PART_MARGIN + BUDGET)
    writer.write_all(rows)
    parts = writer.close()
    sizes = [p.stat().st_size for p in parts]
    # They compress about 7-fold: counted uncompressed, the same rows made 14 parts of ~39 KB.
    assert 2 <= len(parts) <= 4
    assert max(sizes) <= BUDGET and min(sizes[:-1]) > BUDGET * 0.75
    assert [row[0] for p in parts for row in _xlsx_rows(p)] == [float(i) for i in range(9000)]


def test_xlsx_text_that_looks_like_its_markup_stays_text(tmp_path):
    tricky = ["<r><t>injected</t></r>", "<r></t></is></c></row></r>", "<r>", " <r>a</r>"]
    writer = TableWriter(tmp_path, "tricky", Format.XLSX, TEXT)
    for i, text in enumerate(tricky):
        writer.write([i, text, None])
    (part,) = writer.close()
    assert [row[1] for row in _xlsx_rows(part)] == tricky
