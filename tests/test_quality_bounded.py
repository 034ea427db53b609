"""The quality outputs stay bounded whatever the number of findings (issue 19): a year's page and
the console show the counts and the first structures in the order DuckDB ranks them, say how many
more there are and where the full list is; the full list (written by DuckDB) holds every finding;
each structure has its own feedback sheet, written batch after batch.

Fast: a small real DuckDB warehouse holding only the tables the quality outputs read, with many
findings (no dbt, no Great Expectations)."""
import csv
import random
import re

import duckdb
import pandas as pd
import pytest

from conftest import quality_tables
from expectations.publication import effective_findings_sql, year_gates
from reports import qualite

YEAR = 2022      # the data year; the survey of 2023
N_STRUCTURES = 60


def _warehouse(path):
    """A warehouse of N_STRUCTURES structures with many findings of every kind, one of them (CS99-0007)
    with an impossible value, the others ranked by the scores given to them."""
    con = duckdb.connect(str(path))
    quality_tables(con, "Fédération d'essai", "99", 60, 58, 0.9, YEAR)
    codes = [f"CS99-{i:04d}" for i in range(N_STRUCTURES)]
    con.execute("CREATE TABLE dim_structures AS SELECT unnest(?) AS code_structure, "
                "'Centre ' || unnest(?) AS nom_structure", [codes, codes])
    rng = random.Random(19)
    rows = []
    for i in range(3000):
        code = codes[i % N_STRUCTURES] if i % 40 else None          # some findings of no structure
        severite = rng.choice(("bloquant", "avertissement", "avertissement", "info"))
        score = rng.random() if severite != "info" else None
        nature = "impossible" if code == "CS99-0007" and severite == "bloquant" else "influente"
        rows.append(("validation", "senacs", 2023, "senacs_2023.csv", None, i, 2023, code, f"colonne_{i}",
                     str(i), "≥ 0", "ratio_improbable" if i % 3 else "forte_evolution", severite,
                     f"=constat {i}", None, YEAR, nature, score, "les familles touchées",
                     "Cette valeur nous étonne.", "Pouvez-vous la confirmer ?"))
    columns = [r[0] for r in con.execute("DESCRIBE constats_qualite").fetchall()]
    found = pd.DataFrame(rows, columns=columns)      # noqa: F841 (read by DuckDB)
    con.execute("INSERT INTO constats_qualite SELECT * FROM found")
    return con


@pytest.fixture
def warehouse(tmp_path):
    con = _warehouse(tmp_path / "o.duckdb")
    yield con
    con.close()


def _year_findings(con) -> list[tuple]:
    return con.execute(f"SELECT code_structure, colonne, severite FROM ({effective_findings_sql(con)}) "
                       f"WHERE coalesce(annee_donnees, annee_enquete - 1) = {YEAR}").fetchall()


def test_the_page_shows_the_first_structures_by_rank_and_says_how_many_more_and_where(warehouse, tmp_path):
    con, out = warehouse, tmp_path / "qualite"
    contacts = {}
    pages = qualite.write_quality_outputs(con, year_gates(con), out, contacts, top=5)
    page = pages[0].read_text(encoding="utf-8")
    findings = _year_findings(con)
    blocked = sorted({c for c, _, s in findings if c and s == "bloquant"})
    assert len(blocked) == N_STRUCTURES > 5
    # the first five, in the order DuckDB ranks them: the impossible value first, then by score
    ranked = con.execute(f"""
        SELECT code_structure FROM ({effective_findings_sql(con)}) WHERE severite = 'bloquant' AND code_structure <> ''
        GROUP BY code_structure
        ORDER BY max(CASE WHEN nature = 'impossible' THEN 'Infinity'::DOUBLE ELSE score END) DESC, code_structure
        LIMIT 5""").fetchall()
    assert ranked[0][0] == "CS99-0007"
    listed = re.search(r'<ol class="a-contacter">(.*?)</ol>', page, re.S)[1]
    assert re.findall(r"\((CS99-\d{4})\)</strong>", listed) == [r[0] for r in ranked]
    assert f"{N_STRUCTURES} structures à contacter cette année" in page
    said = re.sub(r"\s+", " ", page)
    assert f"… et {N_STRUCTURES - 5} autres structures à contacter" in said
    assert f"… et {N_STRUCTURES - 5} autres structures à revoir ({N_STRUCTURES} en tout" in said
    assert '<a href="constats_2022.csv">constats_2022.csv</a>' in page
    # five structures detailed under « ce qui bloque », five under the structures to review
    assert said.count("<h3>Centre CS99-") == 10
    # findings of no structure: the first five shown, the others counted
    hors = sum(1 for c, _, _ in findings if not c)
    assert f"… et {hors - 5} autres constats hors structure" in said
    # the console's list: the first ones, and how many in all
    assert [c for c, _, _ in contacts[YEAR]] == [r[0] for r in ranked] and contacts[YEAR].total == N_STRUCTURES


def test_nothing_is_cut_when_the_year_holds_fewer_than_the_page_shows(warehouse, tmp_path):
    con = warehouse
    page = qualite.write_quality_outputs(con, year_gates(con), tmp_path / "q")[0].read_text(encoding="utf-8")
    assert 'class="reste"' not in page and "… et" not in page
    listed = re.search(r'<ol class="a-contacter">(.*?)</ol>', page, re.S)[1]
    assert len(re.findall(r"\((CS99-\d{4})\)</strong>", listed)) == N_STRUCTURES


def test_the_full_list_holds_every_finding_of_the_year_neutralised(warehouse, tmp_path):
    con, out = warehouse, tmp_path / "qualite"
    qualite.write_quality_outputs(con, year_gates(con), out, top=3)
    text = (out / "constats_2022.csv").read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(text[1:].splitlines(), delimiter=";"))
    findings = _year_findings(con)
    assert len(rows) == len(findings) > 2000
    assert sorted((r["code_structure"], r["colonne"]) for r in rows) == sorted((c or "", col) for c, col, _ in findings)
    assert {r["severite"] for r in rows} == {"Bloquant", "Avertissement", "Information"}
    assert all(r["message"].startswith("'=constat") for r in rows)      # no formula a spreadsheet would run
    # structure by structure (by code), findings of no structure last
    coded = [r["code_structure"] for r in rows if r["code_structure"]]
    assert coded == sorted(coded) and rows[-1]["code_structure"] == "" and rows.index(
        next(r for r in rows if not r["code_structure"])) == len(coded)


def test_a_sheet_per_structure_written_batch_after_batch(warehouse, tmp_path, monkeypatch):
    con, out = warehouse, tmp_path / "qualite"
    monkeypatch.setattr(qualite, "BATCH", 7)
    gates = year_gates(con)
    records = qualite.quality_records(con, gates, top=2)
    try:
        assert con.execute(f"SELECT count(DISTINCT lot) FROM {qualite._STRUCTURES}").fetchall()[0][0] == -(-N_STRUCTURES // 7)
        qualite.write_fiches(con, records[0], out)
    finally:
        qualite.release(con)
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '\\_qualite%' ESCAPE '\\'"
                           ).fetchall()[0][0]
    folder = out / "fiches_retour" / "2022"
    sheets = sorted(folder.glob("*.csv"))
    assert len(sheets) == N_STRUCTURES
    findings = _year_findings(con)
    for sheet in sheets:
        rows = list(csv.DictReader(sheet.read_text(encoding="utf-8")[1:].splitlines(), delimiter=";"))
        code = rows[0]["code_structure"]
        assert sheet.name == f"{code.lower()}.csv"
        assert {r["code_structure"] for r in rows} == {code}          # only its own findings, all of them
        assert sorted(r["colonne"] for r in rows) == sorted(col for c, col, _ in findings if c == code)
        # gravest first
        order = ["Bloquant", "Avertissement", "Information"]
        assert [order.index(r["severite"]) for r in rows] == sorted(order.index(r["severite"]) for r in rows)
    # the sheets to send to the centres: one per structure with something to ask
    assert len(list(folder.glob("*__*.html"))) == N_STRUCTURES


def test_a_year_gate_counts_every_blocking_finding_and_holds_the_first(warehouse, monkeypatch):
    from expectations import publication

    con = warehouse
    monkeypatch.setattr(publication, "GATE_ROWS", 10)
    gate = year_gates(con)[0]
    blocking = [f for f in _year_findings(con) if f[2] == "bloquant"]
    assert not gate.publie and gate.n_bloquants == len(blocking) > 10
    assert len(gate.bloquants) == 10 and set(gate.bloquants["regle"]) == {"forte_evolution"}   # by rule first


def test_a_refused_correction_blocks_the_year_but_calls_no_centre(tmp_path):
    """A correction of the federation's own file that no longer applies (its structure gone from a
    revised extract) holds the year and is listed under what blocks it, but its structure is not
    « à contacter »: the analyst mends corrections.csv, the centre has nothing to answer."""
    con = _warehouse(tmp_path / "o.duckdb")
    con.execute("DELETE FROM constats_qualite WHERE severite = 'bloquant' AND code_structure <> 'CS99-0007'")
    con.execute("""INSERT INTO constats_qualite BY NAME
        SELECT 'correction' AS etape, 2023 AS annee_enquete, 'CS99-0042' AS code_structure,
               'departs_vacances' AS colonne, '13' AS valeur_brute, 'correction_refusee' AS regle,
               'bloquant' AS severite, 'Correction ligne 2 (CS99-0042, enquête 2023, departs_vacances) refusée : '
               || 'aucune réponse de CS99-0042 à l''enquête 2023 dans l''entrepôt.' AS message, 2022 AS annee_donnees""")
    contacts = {}
    page = qualite.write_quality_outputs(con, year_gates(con), tmp_path / "q", contacts)[0].read_text(encoding="utf-8")
    listed = re.search(r'<ol class="a-contacter">(.*?)</ol>', page, re.S)[1]
    assert re.findall(r"\((CS99-\d{4})\)</strong>", listed) == ["CS99-0007"]
    assert "1 structure à contacter cette année" in page
    assert [c for c, _, _ in contacts[YEAR]] == ["CS99-0007"] and contacts[YEAR].total == 1
    blocking = page[page.index("Ce qui bloque la publication"):]
    assert "CS99-0042" in blocking and "Correction ligne 2" in blocking
    con.close()


def test_a_failure_inside_validates_transaction_is_said_as_itself(warehouse, tmp_path, monkeypatch):
    """validate writes the quality outputs inside one transaction: a statement that fails there
    leaves every later one refused (« Current transaction is aborted »). The clean-up after it (the
    ordering setting, the temporary tables) must not put that refusal in the place of the first
    error, which is what the analyst and the benchmark need to read."""
    con = warehouse

    def broken(con, year, path):
        con.execute("SELECT * FROM une_table_absente")

    monkeypatch.setattr(qualite, "write_full_list", broken)
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.CatalogException, match="une_table_absente"):
        qualite.write_quality_outputs(con, year_gates(con), tmp_path / "q")
    con.execute("ROLLBACK")
    # and a failure while the findings are put in order (the ordering setting restored quietly)
    con.execute("BEGIN TRANSACTION")
    monkeypatch.setattr(qualite, "_FINDING_ORDER", "colonne_absente")
    with pytest.raises(duckdb.BinderException, match="colonne_absente"):
        qualite.write_quality_outputs(con, year_gates(con), tmp_path / "q2")
    con.execute("ROLLBACK")
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0] in (True, False)

