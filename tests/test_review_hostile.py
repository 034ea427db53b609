"""An adversarial review of the whole chain (issue 11): what real files and real analysts do
that the other hostile tests did not cover, each case through the real CLI, a real dbt build and
real Great Expectations. Every line is loaded as declared or named in a finding, every
implausible figure blocks its year, and nothing wrong reaches the public site."""
from __future__ import annotations

import pytest

from conftest import BASE_HEADER, frame, query, survey_rows, write_csv


# ------------------------------------------------------------------ files and names
def test_a_row_of_another_survey_does_not_push_that_survey_s_own_row_out(tmp_path, cli_run, warehouse):
    """A row typed with the next survey's year in this survey's file: held against its own file's
    year, and the next survey's real answer for that structure stays in `reponses`."""
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, survey_rows(2021, [{"annee_enquete": "2022"}]))
    write_csv(tmp_path / "senacs_2022.csv", BASE_HEADER, survey_rows(2022))
    assert cli_run("ingest", tmp_path).exit_code == 0
    assert query(warehouse, "SELECT annee_enquete, count(*) FROM reponses GROUP BY 1 ORDER BY 1") == [
        (2021, 2), (2022, 3)]
    assert query(warehouse, "SELECT fichier, annee_enquete, code_structure, regle, severite FROM constats_qualite") == [
        ("senacs_2021.csv", 2021, "CS92-0001", "annee_enquete_differente_du_fichier", "bloquant")]


@pytest.mark.parametrize("name", ["senacs_2022 (1).csv", "senacs_2022_corrige.csv", "Copie de activites_2021.xlsx"])
def test_a_file_named_almost_like_an_extract_is_named_not_ignored(tmp_path, cli_run, warehouse, name):
    """The corrected version saved by the browser as « senacs_2022 (1).csv » must not be passed over
    in silence while the old one loads."""
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, survey_rows(2021))
    write_csv(tmp_path / name, BASE_HEADER, survey_rows(2022))
    (tmp_path / "notes de réunion.txt").write_text("rien à voir")
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"{name} : nom de fichier non reconnu" in said
    assert query(warehouse, "SELECT fichier, annee_fichier, regle, severite FROM constats_qualite") == [
        (name, None, "fichier_rejete", "avertissement")]
    assert query(warehouse, "SELECT count(*) FROM reponses")[0][0] == 3


# ------------------------------------------------------------------ the activity log
ACTIVITY_HEADER = ["date", "action_code", "type_activite", "intitule", "nb_participants", "nb_habitants"]


@pytest.mark.lent
def test_an_activity_dated_in_another_year_counts_in_its_log_s_year(tmp_path, warehouse):
    """A date typed 2023 in the 2022 log must not publish a year 2023 of one activity (nor a year
    1905 from a date written « 2022 »): the log of year N describes year N."""
    from conftest import build_and_validate
    from ingest.load import ingest_paths

    extracts = tmp_path / "extraits"
    write_csv(extracts / "senacs_2023.csv", BASE_HEADER, survey_rows(2023))
    write_csv(extracts / "activites_2022.csv", ACTIVITY_HEADER, [
        {"date": "15/03/2022", "action_code": "A2.3", "type_activite": "rencontre", "intitule": "Forum",
         "nb_participants": "40", "nb_habitants": "10"},
        {"date": "15/06/2023", "action_code": "A2.3", "type_activite": "rencontre", "intitule": "Fête",
         "nb_participants": "30", "nb_habitants": "12"},
        {"date": "2022", "action_code": "A2.3", "type_activite": "formation", "intitule": "Formation",
         "nb_participants": "-3", "nb_habitants": ""}])
    assert not ingest_paths([extracts], warehouse).rejected
    found = frame(warehouse, "SELECT ligne, regle, severite, message FROM constats_qualite ORDER BY ligne, regle")
    assert found[["ligne", "regle", "severite"]].values.tolist() == [
        [3, "date_hors_annee_du_fichier", "avertissement"], [4, "valeur_illisible", "bloquant"],
        [4, "valeur_negative", "bloquant"]]
    assert "comptée dans l'année du journal (2022)" in found["message"][0]
    assert "« -3 »" in found["message"][2]
    build_and_validate(warehouse, tmp_path)
    assert query(warehouse, "SELECT annee, count(*) FROM stg_federation__activites GROUP BY 1 ORDER BY 1") == [(2022, 3)]
    assert query(warehouse, "SELECT DISTINCT annee FROM indicateurs ORDER BY 1") == [(2022,)]


# ------------------------------------------------------------------ validation
@pytest.mark.lent
def test_a_year_described_again_by_a_later_survey_is_named(tmp_path, warehouse):
    """The 2022 survey may describe 2020 (N-2), but when the 2021 survey already did, the later
    answer silently replaced the published figures of 2020: a warning on that year says so."""
    from conftest import build_and_validate
    from ingest.load import ingest_paths

    write_csv(tmp_path / "in" / "senacs_2021.csv", BASE_HEADER, survey_rows(2021))
    write_csv(tmp_path / "in" / "senacs_2022.csv", BASE_HEADER, survey_rows(2022, [{"annee_donnees": "2020"}]))
    ingest_paths([tmp_path / "in"], warehouse)
    outcome, *_ = build_and_validate(warehouse, tmp_path)
    found = frame(warehouse, "SELECT * FROM constats_qualite WHERE regle = 'annee_donnees_unique'")
    assert found[["annee_enquete", "annee_donnees", "code_structure", "colonne", "severite"]].values.tolist() == [
        [2022, 2020, "CS92-0001", "annee_donnees", "avertissement"]]
    assert "déjà décrite par l'enquête 2021" in found["message"][0]
    assert next(g for g in outcome.gates if g.annee == 2020).avertissements >= 1


# ------------------------------------------------------------------ corrections written by hand
HEADER = "annee_enquete;code_structure;colonne;nouvelle_valeur;motif;auteur;date\n"


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """Survey 2022: CS92-0001 and CS92-0002 answered (23 and 12 employees), EVS92-0001 did not."""
    from ingest.load import ingest_paths

    base = tmp_path_factory.mktemp("corrections")
    write_csv(base / "in" / "senacs_2022.csv", BASE_HEADER, survey_rows(2022, [{"salaries": "23"}]))
    db = base / "o.duckdb"
    ingest_paths([base / "in"], db)
    return db


def corrected(answers, tmp_path, text):
    """apply_corrections on a copy of the warehouse; (corrections table, correction findings)."""
    import shutil

    from ingest import warehouse as W
    from ingest.corrections import apply_corrections

    tmp_path.mkdir(parents=True, exist_ok=True)
    db = tmp_path / "o.duckdb"
    shutil.copy2(answers, db)
    path = tmp_path / "corrections.csv"
    path.write_text(text, encoding="utf-8")
    con = W.connect(db)
    try:
        apply_corrections(con, path)
    finally:
        con.close()
    return (frame(db, "SELECT * FROM corrections ORDER BY ligne_fichier"),
            frame(db, "SELECT * FROM constats_qualite WHERE etape = 'correction' ORDER BY ligne"))


def test_a_corrections_file_written_by_hand_is_read_as_meant(answers, tmp_path):
    table, found = corrected(answers, tmp_path, "Année enquête;Code structure;Colonne;Nouvelle valeur;Motif;Auteur;Date\n"
                             "2022;cs92-0001; Salariés ;26;Chiffre en trop;A. Martin;03/06/2024\n")
    assert table[["code_structure", "colonne", "valeur_initiale", "nouvelle_valeur", "statut"]].values.tolist() == [
        ["CS92-0001", "salaries", "23", "26", "appliquee"]]
    assert found["severite"].tolist() == ["info"]


def test_two_corrections_of_one_value_that_disagree_are_both_refused(answers, tmp_path):
    table, found = corrected(answers, tmp_path, HEADER + "2022;CS92-0001;salaries;26;Chiffre en trop;A. Martin;2024-06-03\n"
                             "2022;CS92-0001;salaries;3;Autre version;B. Durand;2024-06-04\n"
                             "2022;CS92-0002;salaries;14;Vu avec le centre;A. Martin;2024-06-03\n"
                             "2022;CS92-0002;salaries;14;Vu avec le centre;A. Martin;2024-06-03\n")
    assert table["statut"].tolist() == ["refusee", "refusee", "appliquee", "appliquee"]
    assert found["severite"].tolist() == ["bloquant", "bloquant", "info", "info"]
    assert "lignes 2 et 3" in found["message"][0] and "« 26 », « 3 »" in found["message"][0]


def test_a_correction_to_empty_and_one_of_a_structure_that_did_not_answer(answers, tmp_path):
    table, found = corrected(answers, tmp_path, HEADER + "2022;CS92-0001;salaries;;Chiffre inconnu;A. Martin;2024-06-03\n"
                             "2022;EVS92-0001;salaries;4;Chiffre reçu par courriel;A. Martin;2024-06-03\n")
    assert table["statut"].tolist() == ["appliquee", "refusee"]
    assert "« 23 » remplacé par « vide »" in found["message"][0]
    assert "n'a pas répondu à l'enquête 2022" in found["message"][1]
    assert not found["message"].str.contains("None").any()
    # marked as a respondent by the same file, it can be given its figures
    table, _ = corrected(answers, tmp_path / "b", HEADER + "2022;EVS92-0001;repondant;oui;A répondu par courrier;A. Martin;2024-06-03\n"
                         "2022;EVS92-0001;salaries;4;Chiffre reçu par courriel;A. Martin;2024-06-03\n")
    assert table["statut"].tolist() == ["appliquee", "appliquee"]


def test_two_files_of_one_name_from_two_folders_are_told_apart_in_the_summary(tmp_path, cli_run):
    """Last year's folder and this year's both hold a senacs_2022.csv: the summary names each by
    its folder, not twice « senacs_2022.csv »."""
    write_csv(tmp_path / "envoi-mars" / "senacs_2022.csv", BASE_HEADER, survey_rows(2022))
    write_csv(tmp_path / "envoi-avril" / "senacs_2022.csv", BASE_HEADER,
              survey_rows(2022, [{"salaries": "31"}]))
    result = cli_run("ingest", tmp_path / "envoi-mars", tmp_path / "envoi-avril")
    rows = [line for line in result.output.splitlines() if "senacs_2022.csv" in line and "│" in line]
    assert len(rows) == 2, result.output
    assert "envoi-mars/senacs_2022.csv" in rows[0] and "envoi-avril/senacs_2022.csv" in rows[1]
