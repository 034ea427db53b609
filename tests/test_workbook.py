"""The XLSX workbook whose sheets DuckDB writes (reports/workbook.py), on hostile rows in an
in-memory DuckDB: read back by openpyxl (as a spreadsheet opens it, and in read-only mode) and by
pandas, every cell is the value given, numbers as numbers, text as text and never a formula, the
characters XML 1.0 forbids removed and nothing else; a table past a sheet's rows continues on a
next sheet; the same data gives the same bytes."""
import math

import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook

from reports import workbook

HOSTILE = [
    '=HYPERLINK("http://exemple.invalid","clic")', "=1+1", "+33 1 23 45 67 89", "-", "@SOMME(A1)",
    '<b>Centre & "Maison" d\'à côté</b>', "]]> fin de CDATA", "&amp; déjà échappé", "&#13;",
    "Saint-Étienne-du-Rouvray", "Œuvre, ÿ, ß, ½", "😀 émoji 👩‍👩‍👧", "tab\tinside", "ligne\nsuivante",
    "retour\r\nchariot\rseul", "  espaces autour  ", "a\x00b\x01c\x08d\x0be\x0cf\x1fg", "\x7f\x85\u2028 gardés",
    "", "0123", "1,5", "'déjà cité", "x" * 5000,
]
NUMBERS = [0.1, -0.5, 1234567.891, 1e-7, 3.0, 2.5e15, 0.0, -12.25, None, float("nan"), float("inf")]
FORBIDDEN = {chr(i) for i in [*range(0, 9), 11, 12, *range(14, 32)]}


def _expected_text(value):
    return "".join(ch for ch in value if ch not in FORBIDDEN)


@pytest.fixture
def con():
    c = duckdb.connect()
    n = max(len(HOSTILE), len(NUMBERS))
    rows = [(i + 1, HOSTILE[i % len(HOSTILE)], i * 7 - 20 if i % 5 else None,
             NUMBERS[i % len(NUMBERS)], None if i % 3 == 0 else f"libellé {i}") for i in range(n)]
    c.execute("CREATE TABLE t (k INTEGER, texte VARCHAR, entier BIGINT, nombre DOUBLE, autre VARCHAR)")
    c.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
    yield c, rows
    c.close()


COLUMNS = [("k", "integer"), ("texte", "string"), ("entier", "integer"), ("nombre", "number"), ("autre", "string")]


def _sheet(title="données"):
    return workbook.Sheet(title, COLUMNS, "SELECT *, row_number() OVER (ORDER BY k) AS _rn FROM t")


def _expected(rows):
    out = []
    for k, texte, entier, nombre, autre in rows:
        if nombre is not None and not math.isfinite(nombre):
            nombre = "nan" if math.isnan(nombre) else "inf"      # written as DuckDB's text for it
        out.append([k, _expected_text(texte), entier, nombre, autre])
    return out


def test_hostile_cells_read_back_as_given(con, tmp_path):
    c, rows = con
    path = tmp_path / "t.xlsx"
    workbook.write(c, path, [_sheet()], "2026-03-31")
    book = load_workbook(path)                      # as a spreadsheet opens it: every cell, typed
    sheet = book["données"]
    assert sheet.freeze_panes == "A2"
    assert [cell.value for cell in sheet[1]] == [name for name, _ in COLUMNS]
    assert all(cell.font.b for cell in sheet[1])
    got = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2, max_col=len(COLUMNS))]
    assert got == _expected(rows)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"             # never a formula
            if cell.column in (1, 3) and cell.value is not None:
                assert type(cell.value) is int
            if cell.column == 4 and cell.value is not None:
                assert isinstance(cell.value, (int, float)) or cell.value in ("nan", "inf")
    # the same through the read-only reader and through pandas
    quick = load_workbook(path, read_only=True)["données"]
    assert [list(r) + [None] * (len(COLUMNS) - len(r)) for r in quick.iter_rows(min_row=2, values_only=True)] == \
        _expected(rows)
    frame = pd.read_excel(path, sheet_name="données", dtype=object, keep_default_na=False, na_values=[])
    assert list(frame.columns) == [name for name, _ in COLUMNS]
    values = [[None if v == "" else v for v in r] for r in frame.itertuples(index=False)]
    assert values == [[None if v == "" else v for v in r] for r in _expected(rows)]
    assert book.properties.created.isoformat().startswith("2026-03-31")


def test_same_data_same_bytes_and_a_long_table_continues_on_a_next_sheet(con, tmp_path):
    c, rows = con
    sheets = [_sheet("une table au nom vraiment très long"), _sheet("vide")]
    sheets[1].select = "SELECT *, row_number() OVER (ORDER BY k) AS _rn FROM t WHERE false"
    workbook.write(c, tmp_path / "a.xlsx", sheets, "2026-03-31", max_rows=10)
    workbook.write(c, tmp_path / "b.xlsx", sheets, "2026-03-31", max_rows=10)
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    book = load_workbook(tmp_path / "a.xlsx")
    parts = -(-len(rows) // 10)
    assert len(book.sheetnames) == parts + 1 and all(len(n) <= 31 for n in book.sheetnames)
    assert book.sheetnames[0] == "une table au nom vraiment très long"[:31]
    assert book.sheetnames[1].endswith(" (2)") and book.sheetnames[-1] == "vide"
    read = []
    for name in book.sheetnames[:-1]:
        sheet = book[name]
        assert [cell.value for cell in sheet[1]] == [n for n, _ in COLUMNS] and sheet.freeze_panes == "A2"
        read += [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2, max_col=len(COLUMNS))]
    assert read == _expected(rows)                  # every row once, in order, across the sheets
    assert book["vide"].max_row == 1 and [cell.value for cell in book["vide"][1]] == [n for n, _ in COLUMNS]
    # another day's data is another file
    c.execute("UPDATE t SET nombre = 0.2 WHERE k = 1")
    workbook.write(c, tmp_path / "c.xlsx", sheets, "2026-03-31", max_rows=10)
    assert (tmp_path / "c.xlsx").read_bytes() != (tmp_path / "a.xlsx").read_bytes()


def test_column_letters():
    assert [workbook.column_letter(i) for i in (0, 11, 25, 26, 51, 52, 701, 702)] == \
        ["A", "L", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_a_failure_while_writing_leaves_the_previous_workbook_and_a_usable_connection(con, tmp_path):
    c, rows = con
    path = tmp_path / "t.xlsx"
    workbook.write(c, path, [_sheet()], "2026-03-31")
    before = path.read_bytes()
    broken = workbook.Sheet("données", COLUMNS, "SELECT k, texte, CASE WHEN k = 20 THEN error('boom') ELSE entier END "
                                                "AS entier, nombre, autre, row_number() OVER (ORDER BY k) AS _rn FROM t")
    with pytest.raises(duckdb.Error, match="boom"):
        workbook.write(c, path, [_sheet("avant"), broken], "2026-03-31", max_rows=5)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]
    assert c.execute("SELECT count(*) FROM t").fetchall() == [(len(rows),)]     # no result left pending
