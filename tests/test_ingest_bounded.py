"""A CSV read in bounded memory: its lines decoded one at a time, its rows stored a slice at a
time column by column (readers.Lines, readers.Columns), its columns parsed and let go one
batch at a time. Whatever the slices, a file reads exactly as in one piece: same rows, cells,
line numbers and findings, across the slices' boundaries."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ingest import readers, values
from ingest.config import REFERENCE_DIR, Config
from ingest.extract import parse_extract
from ingest.reference import known_communes, project_codes

HEADER = ["annee_enquete", "annee_donnees", "code_structure", "nom_structure", "type_structure", "code_commune",
          "repondant", "agrement_acf", "salaries", "etp_total", "charges_total", "date_premier_agrement",
          "question_maison", "bloc_2021_jardins", ""]


def row(i: int, **cells) -> list[str]:
    base = {"annee_enquete": "2021", "annee_donnees": "2020", "code_structure": f"CS92-{i:04d}",
            "nom_structure": f"Centre social n° {i} – Élan", "type_structure": "CS" if i % 3 else "EVS",
            "code_commune": "92050" if i % 2 else "2050", "repondant": "x" if i % 4 else "",
            "agrement_acf": "oui" if i % 2 else "Non (en cours)", "salaries": str(i % 40),
            "etp_total": f"{i % 17},5", "charges_total": f"{i * 1000} €", "date_premier_agrement": "31/03/2019",
            "question_maison": f"réponse {i % 5}", "bloc_2021_jardins": str(i % 3), "": ""}
    base.update(cells)
    return [base[h] for h in HEADER]


def hostile_csv() -> bytes:
    """A survey holding, among plain rows, every defect a reader repairs or names."""
    sep = ";"
    lines = ["Enquête SENACS 2021 – export", sep.join(HEADER)]
    for i in range(1, 40):
        cells = row(i)
        if i == 5:
            cells = row(i, salaries="douze")                         # unreadable count
        if i == 7:
            cells = row(i, code_structure="")                        # required value missing
        if i == 9:
            cells = row(i, nom_structure='"Le ""Phare""\nsur deux lignes"')    # quoted multi-line cell
        if i == 11:
            cells = row(i, nom_structure='"La Source" ouest')                   # text after the closing quote
        if i == 13:
            cells = row(i) + ["en trop", "aussi"]                              # surplus values
        if i == 15:
            cells = row(i)[:6]                                                 # a short line
        if i == 17:
            cells = row(i, nom_structure="Centre\x07 social")                  # control character
        if i == 19:
            lines.append(sep.join(HEADER))                                     # header repeated
        if i == 21:
            lines.append(sep.join(row(20)))                                    # exact copy of line 20's
        if i == 23:
            lines.append("")                                                   # blank line
        if i == 25:
            cells = row(i, charges_total="1e400")                              # absurd number
        if i == 27:
            cells = row(i, salaries=" ")                                       # blank cell
        lines.append(sep.join(cells))
    lines.append(sep.join(["Total", "", "", "", "", "", "", "", "1234"]))     # a total row
    data = ("\n".join(lines) + "\n").encode("utf-8")
    # a line in Windows-1252 among UTF-8 ones
    return data.replace("n° 31 – Élan".encode(), "n° 31 – Élan".encode("cp1252"))


def parse(data: bytes, tmp_path: Path):
    path = tmp_path / "senacs_2021.csv"
    return parse_extract(path, "senacs", 2021, "0" * 64, data, Config(), known_communes(REFERENCE_DIR),
                         codes=project_codes(REFERENCE_DIR))


@pytest.mark.parametrize("row_slice, parse_slice", [(1, 1), (2, 3), (7, 5)])
def test_a_file_reads_the_same_whatever_the_slices(tmp_path, monkeypatch, row_slice, parse_slice):
    data = hostile_csv()
    whole = parse(data, tmp_path)
    monkeypatch.setattr(readers, "ROW_SLICE", row_slice)
    monkeypatch.setattr(values, "PARSE_SLICE", parse_slice)
    sliced = parse(data, tmp_path)
    pd.testing.assert_frame_equal(sliced.rows, whole.rows)
    pd.testing.assert_frame_equal(sliced.extra.reset_index(drop=True), whole.extra.reset_index(drop=True))
    pd.testing.assert_frame_equal(sliced.findings, whole.findings)
    assert (sliced.encoding, sliced.separator, sliced.blank_lines, sliced.duplicates, sliced.size) == \
        (whole.encoding, whole.separator, whole.blank_lines, whole.duplicates, whole.size)
    # the file's defects are all there, named at their line
    rules = set(whole.findings["regle"])
    assert {"valeur_illisible", "valeur_obligatoire_manquante", "champs_surnumeraires", "champs_manquants",
            "caracteres_de_controle", "entete_repete", "doublon_exact", "encodage_mixte", "ligne_de_total",
            "guillemets_mal_places", "code_commune_zero_restaure", "reponse_avec_precision"} <= rules
    line = {r: sorted(whole.findings.loc[whole.findings["regle"] == r, "ligne"].dropna().astype(int))
            for r in rules}
    # the title line, the header, then row i on line i + 2, one more after the multi-line cell of
    # row 9, the repeated header, the copy and the blank line
    assert line["valeur_illisible"] == [7, 31, 37]  # « douze », 1e400, a euro sign read in Windows-1252
    assert line["champs_surnumeraires"] == [16] and line["champs_manquants"] == [18, 46]
    assert line["guillemets_mal_places"] == [14] and line["caracteres_de_controle"] == [20]
    assert line["entete_repete"] == [22] and line["doublon_exact"] == [25] and line["encodage_mixte"] == [37]
    assert line["valeur_obligatoire_manquante"] == [9] and line["ligne_de_total"] == [46]
    assert len(whole.rows) == 39                     # rows 1 to 39 and the copy, merged; not the total
    assert whole.rows.loc[whole.rows["code_structure"] == "CS92-0009", "nom_structure"].item() == \
        'Le "Phare"\nsur deux lignes'
    assert whole.rows.loc[whole.rows["code_structure"] == "CS92-0031", "nom_structure"].item() == \
        "Centre social n° 31 – Élan"


def test_lines_are_those_of_the_whole_text(tmp_path):
    """Lines decoded when read are the lines of the file decoded at once: encodings line by line,
    byte order mark, CR, CRLF and LF, Ctrl-Z at the end, UTF-16."""
    samples = [
        "a;b\r\nc;é\rd;e\n\nf;g".encode("utf-8"),
        b"\xef\xbb\xbf" + "a;b\n\u00e9t\u00e9;1\n".encode("utf-8"),
        "a;b\n".encode() + "été;1\n".encode("cp1252") + "hiver;2\n".encode(),
        "a;b\nc;d\n".encode("utf-16"),
    ]
    for data in samples:
        expected, encoding, foreign = readers.split_lines(data)
        lines, lazy_encoding, lazy_foreign = readers.lazy_lines(data)
        assert (list(lines), lazy_encoding, lazy_foreign) == (expected, encoding, foreign)
        assert lines[-1] == expected[-1] and lines[1:3] == expected[1:3]
    lines, *_ = readers.lazy_lines(b"a;b\nc;d\n\x1a\x1a\r\n")
    readers._drop_eof_mark(lines)
    assert list(lines) == ["a;b\n", "c;d\n"]


def test_control_characters_are_named_once_however_often_a_line_is_read():
    lines, *_ = readers.lazy_lines(b"a;b\nc;d\x01e\n")
    issues = []
    lines.clean_with(";", issues)
    assert [lines[1], lines[1], *lines.iter_from(1)] == ["c;de\n"] * 3
    assert [(i.line, i.column, i.rule) for i in issues] == [(2, 1, "caracteres_de_controle")]


def test_columns_hold_the_rows_as_appended():
    rows = [["a", None, "c"], ["d"], [], ["g", "h", "i", "j"], [None, "k"]]
    fixed = readers.Columns(3)
    growing = readers.Columns()
    for r in rows:
        fixed.append(list(r))
        growing.append(list(r))
    assert fixed.width == 3 and growing.width == 4 and len(fixed) == len(growing) == 5
    assert list(fixed.column(0)) == ["a", "d", None, "g", None]
    assert list(fixed.column(2)) == ["c", None, None, "i", None]
    assert list(growing.column(3)) == [None, None, None, "j", None]
    assert list(fixed.is_empty(1)) == [True, True, True, False, False]
    fixed.keep(np.array([True, False, False, True, True]))
    assert len(fixed) == 3 and list(fixed.column(1)) == [None, "h", "k"]
    growing.pad(6)
    assert list(growing.column(5)) == [None] * 5
