"""Idempotency, replacement, atomicity, concurrency, archive: nothing lost, never a half state."""
import hashlib
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
from click.testing import CliRunner

from conftest import BASE_HEADER, DEMO_DIR, ROOT, frame, query, survey_rows, write_csv
from ingest import warehouse as W
from ingest.load import ingest_paths
from observatoire.cli import cli

TABLES = ["raw_senacs", "raw_activites", "raw_cellules_hors_schema", "constats_qualite", "fichiers_sources"]


def snapshot(db):
    """Every row of every table, minus load timestamps."""
    out = {}
    for table in TABLES:
        df = frame(db, f"SELECT * FROM {table}")
        df = df.drop(columns=[c for c in df.columns if c in ("_charge_le", "cree_le", "charge_le", "remplace_le")])
        out[table] = sorted(map(repr, df.astype(str).values.tolist()))
    return out


def test_reingesting_the_same_files_changes_nothing(tmp_path, cli_run, warehouse):
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, survey_rows(2021, [{"salaries": "trente"}]))
    assert cli_run("ingest", tmp_path).exit_code == 0
    before = snapshot(warehouse)
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 0 and "inchangé" in result.output
    assert snapshot(warehouse) == before


def test_extracts_parsed_by_forked_workers_load_as_when_read_in_turn(tmp_path, monkeypatch):
    """A batch big enough is parsed by forked workers: the warehouse, findings included, is the
    one this process gives by reading the files one after the other."""
    from ingest import load

    shutil.copytree(DEMO_DIR, tmp_path / "in")
    write_csv(tmp_path / "in" / "senacs_2017.csv", BASE_HEADER,
              survey_rows(2017, [{"salaries": "trente"}, {"code_commune": "2050"}, {"etp_total": "1e400"}]),
              tail='2017;2016;CS92-0009;"Centre social Le Phare;CS;92050;oui;3;2;100\n')
    db = tmp_path / "entrepot" / "o.duckdb"
    snapshots = []
    for threshold in (0, 10**12):
        monkeypatch.setattr(load, "PARALLEL_FROM", threshold)
        shutil.rmtree(db.parent, ignore_errors=True)
        result = ingest_paths([tmp_path / "in"], db)
        assert [f.status for f in result.files] == ["chargé"] * 11
        snapshots.append(snapshot(db))
    assert snapshots[0] == snapshots[1]
    assert any("guillemet_non_ferme" in row for row in snapshots[0]["constats_qualite"])


def test_corrected_file_replaces_its_year_whole(tmp_path, cli_run, warehouse):
    first = write_csv(tmp_path / "v1" / "senacs_2021.csv", BASE_HEADER,
                      survey_rows(2021, [{"salaries": "trente"}]))
    write_csv(tmp_path / "v1" / "senacs_2020.csv", BASE_HEADER, survey_rows(2020))
    assert cli_run("ingest", tmp_path / "v1").exit_code == 0
    fixed = survey_rows(2021, [{"salaries": "31"}])[:2]          # one structure less, a value fixed
    second = write_csv(tmp_path / "v2" / "senacs_2021.csv", BASE_HEADER, fixed)
    result = cli_run("ingest", second)
    assert result.exit_code == 0 and "remplacé" in result.output
    assert query(warehouse, "SELECT annee_enquete, count(*) FROM reponses GROUP BY 1 ORDER BY 1") == [
        (2020, 3), (2021, 2)]
    assert query(warehouse, "SELECT salaries FROM reponses WHERE annee_enquete = 2021 "
                            "AND code_structure = 'CS92-0001'") == [(31,)]
    # the finding of the old version went with it, the revision is said; the history of files stays
    assert query(warehouse, "SELECT regle, severite, annee_enquete FROM constats_qualite") == [
        ("fichier_remplace", "info", 2021)]
    assert "1 structure retirée (EVS92-0001)" in result.output
    assert "1 valeur changée chez 1 structure (salaries : 1)" in " ".join(result.output.split())
    files = query(warehouse, "SELECT sha256, statut FROM fichiers_sources WHERE annee_fichier = 2021 ORDER BY charge_le")
    sha = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    assert files == [(sha(first), "remplace"), (sha(second), "actif")]


def test_original_bytes_are_archived_by_content(tmp_path, cli_run, warehouse):
    src = write_csv(tmp_path / "in" / "senacs_2021.csv", BASE_HEADER, survey_rows(2021), encoding="cp1252")
    assert cli_run("ingest", tmp_path / "in").exit_code == 0
    sha, archive = query(warehouse, "SELECT sha256, chemin_archive FROM fichiers_sources")[0]
    from pathlib import Path
    assert Path(archive).read_bytes() == src.read_bytes()
    assert hashlib.sha256(Path(archive).read_bytes()).hexdigest() == sha
    assert query(warehouse, "SELECT DISTINCT fichier_sha256 FROM reponses") == [(sha,)]


def test_failure_mid_load_leaves_the_warehouse_as_it_was(tmp_path, warehouse, monkeypatch):
    write_csv(tmp_path / "v1" / "senacs_2020.csv", BASE_HEADER, survey_rows(2020))
    ingest_paths([tmp_path / "v1"], warehouse)
    before = snapshot(warehouse)
    write_csv(tmp_path / "v2" / "senacs_2020.csv", BASE_HEADER, survey_rows(2020, [{"salaries": "99"}]))
    write_csv(tmp_path / "v2" / "senacs_2021.csv", BASE_HEADER, survey_rows(2021))
    write_csv(tmp_path / "v2" / "senacs_2022.csv", BASE_HEADER, survey_rows(2022))
    real, calls = W.replace_year, []

    def crash_on_second(con, parsed, archive, *reading):
        calls.append(parsed.year)
        if len(calls) == 2:
            raise OSError("disque plein (panne simulée)")
        return real(con, parsed, archive, *reading)
    monkeypatch.setattr(W, "replace_year", crash_on_second)
    with pytest.raises(OSError):
        ingest_paths([tmp_path / "v2"], warehouse)
    assert len(calls) == 2                      # the first year was written before the crash…
    assert snapshot(warehouse) == before        # …and rolled back with the rest


@pytest.mark.lent
def test_a_second_run_at_once_is_refused_then_can_wait(tmp_path, warehouse, cli_run):
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, survey_rows(2021))
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from filelock import FileLock
        with FileLock({str(warehouse.resolve()) + '.lock'!r}):
            print("held", flush=True)
            time.sleep(float(sys.argv[1]))
        """), "3"], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = cli_run("ingest", tmp_path)
        assert refused.exit_code == 3
        assert "Un autre traitement utilise déjà l'entrepôt" in refused.output
        assert not warehouse.exists() or query(warehouse, "SELECT count(*) FROM information_schema.tables "
                                                          "WHERE table_name = 'raw_senacs'")[0][0] == 0
        started = time.monotonic()
        waited = cli_run("ingest", tmp_path, "--attendre", "30")
        assert waited.exit_code == 0, waited.output
        assert time.monotonic() - started > 0.5
    finally:
        holder.wait(timeout=30)
    assert query(warehouse, "SELECT count(*) FROM reponses")[0][0] == 3


def test_two_files_for_the_same_year_are_both_refused(tmp_path, cli_run, warehouse):
    write_csv(tmp_path / "a" / "senacs_2021.csv", BASE_HEADER, survey_rows(2021))
    write_csv(tmp_path / "b" / "SENACS_2021.csv", BASE_HEADER, survey_rows(2021, [{"salaries": "1"}]))
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 1 and "plusieurs fichiers pour senacs 2021" in result.output
    assert query(warehouse, "SELECT count(*) FROM raw_senacs")[0][0] == 0


def test_row_of_another_survey_year_is_a_blocking_finding(tmp_path, cli_run, warehouse):
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, survey_rows(2021, [{"annee_enquete": "2012"}]))
    assert cli_run("ingest", tmp_path).exit_code == 0
    assert query(warehouse, "SELECT regle, severite, valeur_brute, valeur_attendue FROM constats_qualite") == [
        ("annee_enquete_differente_du_fichier", "bloquant", "2012", "2021")]


def test_an_unchanged_file_is_read_again_once_an_alias_is_widened(tmp_path, warehouse):
    """« étendez les années de cet alias, puis rechargez le fichier »: the file itself has not
    changed, but the header aliases it is read with have; loading it again reads the old header
    as its column (it used to be « déjà chargé à l'identique », the values staying aside)."""
    from ingest.config import ALIAS_FILE, Config

    extracts = tmp_path / "extraits"
    header = [("etp" if c == "etp_total" else c) for c in BASE_HEADER]   # an older name, kept in 2021
    write_csv(extracts / "senacs_2021.csv", header, survey_rows(2021), keys=BASE_HEADER)
    aliases = tmp_path / "alias_colonnes.yaml"
    aliases.write_text(ALIAS_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    first = ingest_paths([extracts], warehouse, config=Config(alias_file=aliases))
    assert [f.status for f in first.files] == ["chargé"]
    assert query(warehouse, "SELECT count(etp_total) FROM raw_senacs") == [(0,)]
    assert query(warehouse, "SELECT count(*) FROM constats_qualite WHERE regle = 'colonne_inconnue'")[0][0] == 1
    # the same settings: nothing to do
    again = ingest_paths([extracts], warehouse, config=Config(alias_file=aliases))
    assert [f.status for f in again.files] == ["inchangé"]
    # the alias widened to 2021: the same bytes are read again, and the column with them
    text = aliases.read_text(encoding="utf-8")
    assert '{entete: etp, colonne: etp_total, annees: "2018-2019"}' in text
    aliases.write_text(text.replace('{entete: etp, colonne: etp_total, annees: "2018-2019"}',
                                    '{entete: etp, colonne: etp_total, annees: "2018-2021"}'), encoding="utf-8")
    widened = ingest_paths([extracts], warehouse, config=Config(alias_file=aliases))
    assert [f.status for f in widened.files] == ["remplacé"]
    # said as the same file read again, and what the new reading changed
    assert widened.files[0].revision.startswith("relu à l'identique, avec la nouvelle façon de lire les extraits")
    assert "2 valeurs changées chez 2 structures (etp_total : 2)" in widened.files[0].revision
    assert query(warehouse, "SELECT count(etp_total) FROM raw_senacs") == [(2,)]
    assert query(warehouse, "SELECT count(*) FROM constats_qualite WHERE regle = 'colonne_inconnue'")[0][0] == 0
    assert query(warehouse, "SELECT count(*) FROM fichiers_sources WHERE statut = 'actif'") == [(1,)]
    assert [f.status for f in ingest_paths([extracts], warehouse, config=Config(alias_file=aliases)).files] \
        == ["inchangé"]


def test_an_extract_dropped_again_under_another_year_s_name_is_rejected(tmp_path, cli_run, warehouse):
    """Last year's journal copied as this year's (same bytes, two names): the copy is rejected and
    the original named, instead of loading 2022's activities as 2023's with a warning per date;
    two copies arriving together are both refused; the original stays loaded."""
    journal = (DEMO_DIR / "activites_2022.csv").read_bytes()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "activites_2022.csv").write_bytes(journal)
    assert cli_run("ingest", tmp_path / "in").exit_code == 0
    loaded = query(warehouse, "SELECT count(*) FROM raw_activites")[0][0]
    assert loaded > 0
    (tmp_path / "in" / "activites_2023.csv").write_bytes(journal)
    result = cli_run("ingest", tmp_path / "in")
    assert result.exit_code == 1
    assert "activites_2023.csv" in result.output and "contenu identique" in result.output
    assert "activites_2022.csv (déjà chargé pour activites 2022)" in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert query(warehouse, "SELECT _annee_fichier, count(*) FROM raw_activites GROUP BY 1") == [(2022, loaded)]
    assert query(warehouse, "SELECT annee_fichier, severite FROM constats_qualite WHERE regle = 'fichier_rejete'") == [
        (2023, "bloquant")]
    # removed, the copy's rejection goes with the next load of its year; a fresh warehouse given both
    # at once refuses both (which one is right cannot be told), and loads nothing of either
    fresh = tmp_path / "autre" / "observatoire.duckdb"
    result = CliRunner().invoke(cli, ["--entrepot", str(fresh), "ingest", str(tmp_path / "in")],
                                catch_exceptions=False)
    assert result.exit_code == 1
    assert "dans ce lot" in result.output
    assert query(fresh, "SELECT count(*) FROM raw_activites")[0][0] == 0


def test_two_empty_journals_are_not_copies_of_each_other(tmp_path, cli_run, warehouse):
    header = (DEMO_DIR / "activites_2022.csv").read_bytes().splitlines(keepends=True)[0]
    (tmp_path / "activites_2021.csv").write_bytes(header)
    (tmp_path / "activites_2022.csv").write_bytes(header)
    result = cli_run("ingest", tmp_path)
    assert "contenu identique" not in result.output


def test_a_revised_survey_says_what_it_changes(tmp_path, cli_run, warehouse):
    """A revised export of a survey (values changed, a structure added, one removed, a column back
    to its old name): the console and the quality findings say what changed against the version
    it replaces, by structure and by column, instead of a bare « remplacé »."""
    write_csv(tmp_path / "v1" / "senacs_2021.csv", BASE_HEADER, survey_rows(2021))
    assert cli_run("ingest", tmp_path / "v1").exit_code == 0
    rows = survey_rows(2021, [{"etp_total": "18"}, {"charges_total": "320 000"}])[:2] + [
        {**survey_rows(2021)[1], "code_structure": "CS92-0009", "nom_structure": "Centre social Le Phare"}]
    header = [("nb_salaries" if h == "salaries" else h) for h in BASE_HEADER]
    write_csv(tmp_path / "v2" / "senacs_2021.csv", header, rows, keys=BASE_HEADER)
    result = cli_run("ingest", tmp_path / "v2")
    said = " ".join(result.output.split())
    assert "Traceback" not in said
    expected = ("1 structure ajoutée (CS92-0009) ; 1 structure retirée (EVS92-0001) ; 4 valeurs changées chez "
                "2 structures (salaries : 2, charges_total : 1, etp_total : 1)")
    assert expected in said
    (message,), = query(warehouse, "SELECT message FROM constats_qualite WHERE regle = 'fichier_remplace'")
    assert expected in message and message.startswith("senacs_2021.csv : remplace la version chargée le ")
    # the same bytes again: nothing replaced, nothing said, the summary stays on record
    again = cli_run("ingest", tmp_path / "v2")
    assert "Fichier remplacé" not in again.output
    assert query(warehouse, "SELECT count(*) FROM constats_qualite WHERE regle = 'fichier_remplace'") == [(1,)]


def test_a_correction_left_behind_by_a_revised_survey_is_refused_in_words_an_analyst_acts_on(tmp_path, warehouse):
    """corrections.csv as Excel saves it (Windows-1252, « ; », CRLF, French dates): read. After the
    survey is revised without one structure, its correction no longer applies: refused (a blocking
    finding, no traceback), the message saying why it may be so and what to do; the other applies."""
    import duckdb

    from ingest.corrections import apply_corrections

    write_csv(tmp_path / "v1" / "senacs_2021.csv", BASE_HEADER, survey_rows(2021, [{}, {}, {"repondant": "oui",
                                                                                             "salaries": "4"}]))
    ingest_paths([tmp_path / "v1"], warehouse)
    corrections = tmp_path / "corrections.csv"
    corrections.write_bytes(
        "annee_enquete;code_structure;colonne;nouvelle_valeur;motif;auteur;date\r\n"
        "2021;EVS92-0001;salaries;5;Salarié oublié, corrigé avec la coordinatrice;A. Martin;03/06/2023\r\n"
        "2021;CS92-0002;salaries;13;Compté à part, vu avec l’équipe;A. Martin;12/06/2023\r\n".encode("cp1252"))
    with duckdb.connect(str(warehouse)) as con:
        assert apply_corrections(con, corrections) == (2, 0)
    write_csv(tmp_path / "v2" / "senacs_2021.csv", BASE_HEADER, survey_rows(2021)[:2])
    ingest_paths([tmp_path / "v2"], warehouse)
    with duckdb.connect(str(warehouse)) as con:
        assert apply_corrections(con, corrections) == (1, 1)
        rows = con.execute("SELECT code_structure, statut, date_correction, message FROM corrections "
                           "ORDER BY ligne_fichier").fetchall()
        findings = con.execute("SELECT code_structure, severite FROM constats_qualite "
                               "WHERE regle = 'correction_refusee'").fetchall()
    assert [(c, s) for c, s, _, _ in rows] == [("EVS92-0001", "refusee"), ("CS92-0002", "appliquee")]
    assert "structure absente d'un extrait révisé" in rows[0][3] and "supprimez alors la ligne" in rows[0][3]
    assert "Compté à part, vu avec l’équipe" in rows[1][3] and "12/06/2023" in rows[1][3]
    assert findings == [("EVS92-0001", "bloquant")]


def test_a_new_header_matching_rule_reads_unchanged_files_again(tmp_path, warehouse, monkeypatch):
    """A file loaded under an older rule for matching headers (before « Groupe de travail » named
    groupe_travail) is read again by the new one, as after a widened alias."""
    from ingest import config as C
    extracts = tmp_path / "extraits"
    write_csv(extracts / "senacs_2021.csv", BASE_HEADER, survey_rows(2021))
    assert [f.status for f in ingest_paths([extracts], warehouse).files] == ["chargé"]
    assert [f.status for f in ingest_paths([extracts], warehouse).files] == ["inchangé"]
    monkeypatch.setattr(C, "HEADER_MATCHING", C.HEADER_MATCHING + " (suivante)")
    assert [f.status for f in ingest_paths([extracts], warehouse).files] == ["remplacé"]
    assert [f.status for f in ingest_paths([extracts], warehouse).files] == ["inchangé"]
    assert query(warehouse, "SELECT count(*) FROM reponses") == [(3,)]

