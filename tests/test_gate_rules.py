"""The quality gate and the publication record, on a small in-memory warehouse (fast tier).

Each test builds the few tables the gate reads (findings, corrections, confirmations, the
indicators' years, two public marts) and asserts which years are published or held and what the
publication record says: a severity, a data year or a frozen row that moves makes one of them fail.
The real-file scenarios (whole runs) are in test_selective.py and test_publication.py.
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from expectations.publication import SNAPSHOT_SCHEMA, blocking_findings, publish, year_gates
from ingest.corrections import CONFIRMATIONS_DDL
from ingest.warehouse import CORRECTIONS_DDL, FINDINGS_DDL

YEARS = (2020, 2021, 2022)


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute(FINDINGS_DDL)
    c.execute(CORRECTIONS_DDL)
    c.execute(CONFIRMATIONS_DDL)
    c.execute("CREATE TABLE indicateurs (annee INTEGER, indicateur VARCHAR, valeur DOUBLE)")
    c.executemany("INSERT INTO indicateurs VALUES (?, 'h', ?)", [(y, y - 2000.0) for y in YEARS])
    # a public mart by year, and one that describes no year
    c.execute("CREATE TABLE pub_chiffres AS SELECT annee, valeur FROM indicateurs")
    c.execute("CREATE TABLE pub_registre AS SELECT 'h' AS indicateur, 'Habitants' AS libelle")
    # a second mart by year, after the yearless one in name order
    c.execute("CREATE TABLE pub_tendances AS SELECT annee, valeur * 2 AS evolution FROM indicateurs")
    yield c
    c.close()


def finding(con, *, severite="bloquant", etape="validation", annee_donnees=None, annee_enquete=None,
            annee_fichier=None, code="CS1", colonne="nb_habitants", regle="r"):
    con.execute("""INSERT INTO constats_qualite (etape, annee_fichier, annee_enquete, code_structure, colonne,
                   valeur_brute, regle, severite, message, annee_donnees)
                   VALUES (?, ?, ?, ?, ?, '1', ?, ?, 'm', ?)""",
                [etape, annee_fichier, annee_enquete, code, colonne, regle, severite, annee_donnees])


def published(con) -> dict[int, bool]:
    return {g.annee: g.publie for g in year_gates(con)}


def test_a_blocking_finding_holds_its_own_data_year_only(con):
    finding(con, annee_donnees=2021, annee_enquete=2022)
    assert published(con) == {2020: True, 2021: False, 2022: True}


def test_a_warning_or_an_info_never_holds_a_year(con):
    finding(con, severite="avertissement", annee_donnees=2021)
    finding(con, severite="info", annee_donnees=2022)
    assert published(con) == {2020: True, 2021: True, 2022: True}
    assert {g.annee: g.avertissements for g in year_gates(con)} == {2020: 0, 2021: 1, 2022: 0}


@pytest.mark.parametrize("years, held", [
    (dict(annee_enquete=2022), 2021),                    # no data year: the year the survey describes
    (dict(annee_fichier=2021), 2020),                    # a file's year only (a rejected file)
    (dict(annee_enquete=2021, annee_fichier=2023), 2020),  # the survey's year before the file's
])
def test_a_finding_without_data_year_holds_the_year_its_survey_describes(con, years, held):
    finding(con, **years)
    assert [y for y, ok in published(con).items() if not ok] == [held]


def test_a_blocking_finding_of_no_year_at_all_holds_every_year(con):
    finding(con, etape="ingest", code=None, colonne=None)
    assert published(con) == {2020: False, 2021: False, 2022: False}


def test_an_applied_correction_or_an_active_confirmation_clears_a_finding_of_another_step(con):
    finding(con, etape="ingest", annee_donnees=2020, annee_enquete=2021, code="CS1", colonne="a")
    finding(con, etape="ingest", annee_donnees=2021, annee_enquete=2022, code="CS2", colonne="b")
    finding(con, etape="ingest", annee_donnees=2022, annee_enquete=2023, code="CS3", colonne="c")
    con.execute("INSERT INTO corrections (annee_enquete, code_structure, colonne, statut) VALUES "
                "(2021, 'CS1', 'a', 'appliquee'), (2023, 'CS3', 'c', 'rejetee')")
    con.execute("INSERT INTO confirmations (annee_enquete, code_structure, colonne, statut) VALUES "
                "(2022, 'CS2', 'b', 'active')")
    assert published(con) == {2020: True, 2021: True, 2022: False}


def test_without_any_correction_or_confirmation_table_every_finding_counts(con):
    con.execute("DROP TABLE corrections")
    con.execute("DROP TABLE confirmations")
    finding(con, etape="ingest", annee_donnees=2020)
    assert published(con) == {2020: False, 2021: True, 2022: True}


def test_a_correction_of_another_value_clears_nothing(con):
    finding(con, etape="ingest", annee_donnees=2020, annee_enquete=2021, code="CS1", colonne="a")
    con.execute("INSERT INTO corrections (annee_enquete, code_structure, colonne, statut) VALUES "
                "(2021, 'CS1', 'b', 'appliquee'), (2021, 'CS2', 'a', 'appliquee'), (2022, 'CS1', 'a', 'appliquee')")
    assert published(con)[2020] is False


def test_one_value_blocked_by_two_steps_counts_once_and_the_validation_is_kept(con):
    finding(con, etape="ingest", annee_donnees=2021, annee_enquete=2022, regle="a_lecture")
    finding(con, etape="validation", annee_donnees=2021, annee_enquete=2022, regle="z_validation")
    finding(con, etape="validation", annee_donnees=2021, annee_enquete=2022, code="CS2", regle="z_validation")
    block = blocking_findings(con)
    assert sorted(zip(block["code_structure"], block["etape"])) == [("CS1", "validation"), ("CS2", "validation")]


def test_of_two_validation_findings_on_one_value_the_scored_one_is_kept(con):
    con.execute("ALTER TABLE constats_qualite ADD COLUMN score DOUBLE")
    finding(con, annee_donnees=2021, annee_enquete=2022, regle="a_sans_score")
    finding(con, annee_donnees=2021, annee_enquete=2022, regle="b_avec_score")
    con.execute("UPDATE constats_qualite SET score = 0.3 WHERE regle = 'b_avec_score'")
    assert list(blocking_findings(con)["regle"]) == ["b_avec_score"]


def test_a_held_year_says_whether_an_earlier_publication_stays_online(con):
    assert [g.deja_publie for g in year_gates(con)] == [False, False, False]
    publish(con)
    finding(con, annee_donnees=2021)
    finding(con, annee_donnees=2020)
    con.execute("DELETE FROM publications WHERE annee = 2020")  # as if 2020 had never been published
    gates = {g.annee: g for g in year_gates(con)}
    assert (gates[2020].publie, gates[2020].deja_publie) == (False, False)
    assert (gates[2021].publie, gates[2021].deja_publie) == (False, True)
    assert (gates[2022].publie, gates[2022].deja_publie) == (True, True)


def test_publish_freezes_the_passing_years_and_keeps_a_held_years_last_publication(con):
    publish(con)
    assert con.execute(f"SELECT count(*) FROM {SNAPSHOT_SCHEMA}.pub_chiffres").fetchone()[0] == 3
    first = dict(con.execute(f"SELECT annee, publie_le FROM {SNAPSHOT_SCHEMA}.publications").fetchall())
    # the figures of 2021 change, but a finding now holds it: its published row stays as it was
    con.execute("UPDATE pub_chiffres SET valeur = 99 WHERE annee = 2021")
    finding(con, annee_donnees=2021)
    gates = publish(con)
    assert [g.annee for g in gates if not g.publie] == [2021]
    frozen = dict(con.execute(f"SELECT annee, valeur FROM {SNAPSHOT_SCHEMA}.pub_chiffres").fetchall())
    assert frozen == {2020: 20.0, 2021: 21.0, 2022: 22.0}
    again = dict(con.execute(f"SELECT annee, publie_le FROM {SNAPSHOT_SCHEMA}.publications").fetchall())
    assert again == first, "a held year keeps the date and the row of its last publication"
    assert dict(con.execute("SELECT annee, publie_le FROM publications").fetchall()) == first, \
        "the record of a held year keeps the date of its last publication"
    status = dict(con.execute("SELECT annee, statut FROM publications").fetchall())
    assert status == {2020: "publiee", 2021: "bloquee", 2022: "publiee"}
    counts = dict(con.execute("SELECT annee, nb_bloquants FROM publications").fetchall())
    assert counts == {2020: 0, 2021: 1, 2022: 0}


def test_a_years_publication_date_moves_only_when_its_figures_change(con):
    publish(con)
    old = dt.datetime(2020, 1, 1)
    con.execute(f"UPDATE {SNAPSHOT_SCHEMA}.publications SET publie_le = ?", [old])
    con.execute("UPDATE publications SET publie_le = ?", [old])
    con.execute("UPDATE pub_chiffres SET valeur = 99 WHERE annee = 2022")
    publish(con)
    dates = dict(con.execute(f"SELECT annee, publie_le FROM {SNAPSHOT_SCHEMA}.publications").fetchall())
    assert dates[2020] == old and dates[2021] == old
    assert dates[2022] > old
    assert dict(con.execute("SELECT annee, publie_le FROM publications").fetchall()) == dates
    assert con.execute(f"SELECT valeur FROM {SNAPSHOT_SCHEMA}.pub_chiffres WHERE annee = 2022").fetchone()[0] == 99


def test_a_change_in_any_mart_by_year_moves_the_date(con):
    publish(con)
    old = dt.datetime(2020, 1, 1)
    con.execute(f"UPDATE {SNAPSHOT_SCHEMA}.publications SET publie_le = ?", [old])
    con.execute("UPDATE pub_tendances SET evolution = -1 WHERE annee = 2020")
    publish(con)
    dates = dict(con.execute(f"SELECT annee, publie_le FROM {SNAPSHOT_SCHEMA}.publications").fetchall())
    assert dates[2020] > old and dates[2021] == old and dates[2022] == old


def test_a_mart_without_year_is_frozen_whole_and_a_new_column_joins_the_snapshot(con):
    publish(con)
    con.execute("ALTER TABLE pub_registre ADD COLUMN unite VARCHAR")
    con.execute("DELETE FROM pub_registre")
    con.execute("INSERT INTO pub_registre VALUES ('h', 'Habitants touchés', 'personnes')")
    publish(con)
    assert con.execute(f"SELECT * FROM {SNAPSHOT_SCHEMA}.pub_registre").fetchall() == [
        ("h", "Habitants touchés", "personnes")]


def test_the_record_of_a_never_published_held_year_has_no_date(con):
    finding(con, annee_donnees=2020)
    publish(con)
    row = con.execute("SELECT statut, publie_le FROM publications WHERE annee = 2020").fetchone()
    assert row == ("bloquee", None)
    assert con.execute(f"SELECT count(*) FROM {SNAPSHOT_SCHEMA}.publications WHERE annee = 2020").fetchone()[0] == 0
    assert con.execute(f"SELECT count(*) FROM {SNAPSHOT_SCHEMA}.pub_chiffres WHERE annee = 2020").fetchone()[0] == 0


def test_a_published_year_whose_figures_moved_waits_for_the_held_year_before_it(con):
    """A revised 2021 holds 2021; 2022, clean, has moved with it (its one-year changes read 2021's
    new figures). 2022 keeps its publication, rows and date, while 2021 is held, instead of showing
    changes against a 2021 the site does not show; a year two years on is not held back for 2021.
    Once 2021 publishes, 2022 is published with it."""
    publish(con)
    first = dict(con.execute(f"SELECT annee, publie_le FROM {SNAPSHOT_SCHEMA}.publications").fetchall())
    con.execute("UPDATE pub_chiffres SET valeur = 99 WHERE annee = 2021")
    con.execute("UPDATE pub_tendances SET evolution = 77 WHERE annee = 2022")
    finding(con, annee_donnees=2021)
    gates = {g.annee: g for g in publish(con)}
    assert (gates[2021].publie, gates[2022].publie, gates[2022].attend, gates[2020].attend) == (False, True, 2021, None)
    assert dict(con.execute(f"SELECT annee, evolution FROM {SNAPSHOT_SCHEMA}.pub_tendances").fetchall())[2022] == 44.0
    assert dict(con.execute(f"SELECT annee, publie_le FROM {SNAPSHOT_SCHEMA}.publications").fetchall()) == first
    assert dict(con.execute("SELECT annee, statut FROM publications").fetchall()) == {
        2020: "publiee", 2021: "bloquee", 2022: "publiee"}
    # 2021 released: both publish their new figures
    con.execute("DELETE FROM constats_qualite")
    gates = {g.annee: g for g in publish(con)}
    assert all(g.publie and g.attend is None for g in gates.values())
    frozen = dict(con.execute(f"SELECT annee, evolution FROM {SNAPSHOT_SCHEMA}.pub_tendances").fetchall())
    assert frozen[2022] == 77.0
    assert dict(con.execute(f"SELECT annee, valeur FROM {SNAPSHOT_SCHEMA}.pub_chiffres").fetchall())[2021] == 99.0
    # 2020 held: 2021 (next) waits for it, 2022, two years on and moved with its own figures, publishes
    con.execute("UPDATE pub_tendances SET evolution = 55 WHERE annee IN (2021, 2022)")
    finding(con, annee_donnees=2020)
    gates = {g.annee: g for g in publish(con)}
    assert (gates[2020].publie, gates[2021].attend, gates[2022].attend) == (False, 2020, None)
    frozen = dict(con.execute(f"SELECT annee, evolution FROM {SNAPSHOT_SCHEMA}.pub_tendances").fetchall())
    assert (frozen[2021], frozen[2022]) == (42.0, 55.0)
