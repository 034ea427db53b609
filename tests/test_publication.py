"""Publication freezes everything public about a year: a year held back by validation changes
nothing public, byte for byte, even after its extract was replaced and the indicators rebuilt."""
import hashlib

import pytest

from conftest import demo_copy, frame, query, write_year_files
from ingest.load import ingest_paths
from observatoire.build import build
from observatoire.demo import build_truth
from observatoire.report import run_report
from observatoire.validation import run_validation

pytestmark = pytest.mark.lent     # the full tier: real dbt, GX, Chromium or whole runs


def digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_blocked_year_keeps_its_public_site_byte_for_byte(site, tmp_path):
    db, corrections = demo_copy(site, tmp_path)
    run_report(db, tmp_path / "site", audiences=("public",))
    before = digest(tmp_path / "site" / "public" / "2021")
    open_data = (tmp_path / "site" / "public" / "donnees" / "indicateurs.csv").read_bytes()
    assert len(before) > 10       # the year's report, its territories and communes with figures
    frozen = frame(db, "SELECT * FROM publie.pub_indicateurs WHERE annee = 2021 ORDER BY ALL")
    later = frame(db, "SELECT * FROM publie.pub_tendances WHERE annee = 2022 ORDER BY ALL")
    later_date = query(db, "SELECT publie_le FROM publie.publications WHERE annee = 2022")

    # a new extract of the 2022 survey (data year 2021): other figures, and a budget typed in cents
    truth = build_truth("92")
    df = {s: d for s, d, _ in truth.per_year}[2022].copy()
    answered = df.index[df["repondant"] & df["charges_total"].notna() & df["habitants_touches"].notna()]
    df.loc[answered, "habitants_touches"] = df.loc[answered, "habitants_touches"] + 100
    df.loc[answered[3], "charges_total"] = df.loc[answered[3], "charges_total"] * 1000
    write_year_files(truth, tmp_path / "v2", {2022: df})
    ingest_paths([tmp_path / "v2" / "senacs_2022.csv"], db)
    build(db, docs=False, corrections=corrections)
    outcome = run_validation(db, tmp_path / "qualite")
    gate = next(g for g in outcome.gates if g.annee == 2021)
    assert not gate.publie and gate.deja_publie
    # 2022, clean, compares with 2021 (its one-year changes): its figures moved with 2021's new ones,
    # which are not published; it keeps its publication, rows and date, until 2021 is published
    after = next(g for g in outcome.gates if g.annee == 2022)
    assert after.publie and after.attend == 2021
    assert not frame(db, "SELECT * FROM pub_tendances WHERE annee = 2022 ORDER BY ALL").equals(later)
    assert frame(db, "SELECT * FROM publie.pub_tendances WHERE annee = 2022 ORDER BY ALL").equals(later)
    assert query(db, "SELECT publie_le FROM publie.publications WHERE annee = 2022") == later_date

    # the build moved (so the test is not vacuous), the publication did not
    new = query(db, "SELECT valeur FROM pub_indicateurs WHERE indicateur = 'habitants_touches' AND annee = 2021 "
                    "AND niveau = 'departement'")
    old = query(db, "SELECT valeur FROM publie.pub_indicateurs WHERE indicateur = 'habitants_touches' "
                    "AND annee = 2021 AND niveau = 'departement'")
    assert new != old
    assert frame(db, "SELECT * FROM publie.pub_indicateurs WHERE annee = 2021 ORDER BY ALL").equals(frozen)
    run_report(db, tmp_path / "site", audiences=("public",))
    assert digest(tmp_path / "site" / "public" / "2021") == before
    rows_2021 = [line for line in open_data.decode("utf-8-sig").splitlines() if ";2021;" in line]
    after_rows = [line for line in (tmp_path / "site" / "public" / "donnees" / "indicateurs.csv")
                  .read_bytes().decode("utf-8-sig").splitlines() if ";2021;" in line]
    assert after_rows == rows_2021 and len(rows_2021) > 100


def test_the_public_site_reads_only_the_publication(site, tmp_path):
    """Everything but the frozen schema `publie` and the publication log removed from the
    warehouse: the public site comes out the same, byte for byte."""
    import duckdb

    db, _ = demo_copy(site, tmp_path)
    run_report(db, tmp_path / "avant", audiences=("public",))
    con = duckdb.connect(str(db))
    try:
        for name, kind in con.execute("""SELECT table_name, table_type FROM information_schema.tables
                                         WHERE table_schema = 'main' AND table_name <> 'publications'""").fetchall():
            con.execute(f'DROP {"VIEW" if kind == "VIEW" else "TABLE"} IF EXISTS main."{name}" CASCADE')
        left = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'").fetchall()
    finally:
        con.close()
    assert left == [(1,)]
    run_report(db, tmp_path / "apres", audiences=("public",))
    assert digest(tmp_path / "apres" / "public") == digest(tmp_path / "avant" / "public")


@pytest.mark.lent
def test_a_years_publication_date_is_when_its_published_figures_last_changed(site, tmp_path):
    """Validating again publishes the same figures: every year keeps its "publié le". A year whose
    figures differ from its publication gets a new date; the others keep theirs."""
    import duckdb

    db, _ = demo_copy(site, tmp_path)
    dates = "SELECT annee, publie_le FROM publie.publications ORDER BY annee"
    before = dict(query(db, dates))
    assert len(before) >= 3
    run_validation(db, tmp_path / "qualite", docs=False)
    assert dict(query(db, dates)) == before
    assert dict(query(db, "SELECT annee, publie_le FROM publications WHERE statut = 'publiee'")) == before
    first = min(before)
    con = duckdb.connect(str(db))       # the publication of one year differs from what the build says now
    try:
        con.execute("UPDATE publie.pub_indicateurs SET valeur = valeur + 1 WHERE annee = ? AND niveau = 'departement' "
                    "AND valeur IS NOT NULL", [first])
    finally:
        con.close()
    run_validation(db, tmp_path / "qualite", docs=False)
    after = dict(query(db, dates))
    assert after[first] > before[first]
    assert {a: d for a, d in after.items() if a != first} == {a: d for a, d in before.items() if a != first}
