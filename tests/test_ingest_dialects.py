"""Every dialect and defect of extracts.md §3, loaded into a real DuckDB file."""
from datetime import date

import openpyxl
import pytest

from conftest import BASE_HEADER, frame, query, survey_rows, write_csv


def reponse(db, code, column, year=2021):
    rows = query(db, f'SELECT "{column}" FROM reponses WHERE code_structure = ? AND annee_enquete = ?',
                 [code, year])
    assert len(rows) == 1, rows
    return rows[0][0]


@pytest.mark.parametrize("sep", [";", ",", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_encodings_and_separators(tmp_path, cli_run, warehouse, sep, encoding):
    rows = survey_rows(2021)
    if sep == ",":  # a decimal comma must be quoted when the separator is a comma
        for r in rows:
            for k in ("etp_total", "charges_total"):
                r[k] = f'"{r[k]}"' if r[k] else ""
    write_csv(tmp_path / "in" / "senacs_2021.csv", BASE_HEADER, rows, sep=sep, encoding=encoding)
    result = cli_run("ingest", tmp_path / "in")
    assert result.exit_code == 0, result.output
    assert reponse(warehouse, "CS92-0002", "nom_structure") == "Centre social L'Îlot"
    assert reponse(warehouse, "CS92-0001", "etp_total") == 17.5
    assert reponse(warehouse, "CS92-0002", "charges_total") == 310000.5
    assert reponse(warehouse, "EVS92-0001", "repondant") is False
    assert reponse(warehouse, "EVS92-0001", "salaries") is None
    meta = query(warehouse, "SELECT encodage, separateur FROM fichiers_sources")
    assert meta == [(encoding, sep)]


def test_french_numbers_with_every_thousands_separator(tmp_path, cli_run, warehouse):
    rows = survey_rows(2021, [{"charges_total": "1\u00a0234\u00a0567,8 €"}, {"charges_total": "1\u202f000 €"},
                              {"repondant": "oui", "charges_total": "2 500", "etp_total": "12 %"}])
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, rows)
    assert cli_run("ingest", tmp_path / "senacs_2021.csv").exit_code == 0
    assert reponse(warehouse, "CS92-0001", "charges_total") == pytest.approx(1234567.8)
    assert reponse(warehouse, "CS92-0002", "charges_total") == 1000
    assert reponse(warehouse, "EVS92-0001", "charges_total") == 2500
    assert reponse(warehouse, "EVS92-0001", "etp_total") == 12


def test_booleans_no_answer_and_dates(tmp_path, cli_run, warehouse):
    header = BASE_HEADER + ["agrement_acf", "multi_sites", "date_premier_agrement", "population_zone"]
    rows = survey_rows(2021, [
        {"repondant": "Vrai", "agrement_acf": "O", "multi_sites": "yes", "date_premier_agrement": "31/03/2019",
         "population_zone": "NC"},
        {"repondant": "1", "agrement_acf": "Non", "multi_sites": "ne sait pas",
         "date_premier_agrement": "2019-03-31", "population_zone": "?"},
        {"repondant": "FAUX", "agrement_acf": "n", "multi_sites": "-", "date_premier_agrement": "43555",
         "population_zone": "N/A"}])
    write_csv(tmp_path / "senacs_2021.csv", header, rows)
    assert cli_run("ingest", tmp_path).exit_code == 0
    got = frame(warehouse, "SELECT code_structure, repondant, agrement_acf, multi_sites, date_premier_agrement, "
                           "population_zone FROM reponses ORDER BY code_structure")
    assert got["repondant"].tolist() == [True, True, False]
    assert got["agrement_acf"].tolist() == [True, False, False]
    assert got["multi_sites"].isna().tolist() == [False, True, True]
    assert {d.date() for d in got["date_premier_agrement"]} == {date(2019, 3, 31)}
    assert got["population_zone"].isna().all()
    # "no answer" is not a defect: no finding for it
    assert query(warehouse, "SELECT count(*) FROM constats_qualite")[0][0] == 0


def test_checkbox_columns_x_or_empty(tmp_path, cli_run, warehouse):
    header = BASE_HEADER + ["theme_culture", "theme_sante"]
    rows = survey_rows(2021, [{"theme_culture": "x", "theme_sante": ""},
                              {"theme_culture": "", "theme_sante": "X"},
                              {"theme_culture": "", "theme_sante": ""}])   # the non-respondent
    write_csv(tmp_path / "senacs_2021.csv", header, rows)
    assert cli_run("ingest", tmp_path).exit_code == 0
    got = frame(warehouse, "SELECT theme_culture, theme_sante FROM reponses ORDER BY code_structure")
    assert got["theme_culture"].tolist()[:2] == [True, False]
    assert got["theme_sante"].tolist()[:2] == [False, True]
    assert got.iloc[2].isna().all()  # empty for a non-respondent is no answer, not "no"


def test_respondents_ticked_with_x_and_no_answer_spelled_nc(tmp_path, cli_run, warehouse):
    """A survey that ticks its respondents with 'x', leaves the others empty and writes no-answer
    as NC: an empty `repondant` is no (counted once, no blocking finding), NC stays no answer."""
    header = BASE_HEADER + ["theme_culture"]
    rows = survey_rows(2021, [{"repondant": "x", "theme_culture": "x"},
                              {"repondant": "X", "theme_culture": "NC"},
                              {"repondant": "", "theme_culture": ""}])
    write_csv(tmp_path / "senacs_2021.csv", header, rows)
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 0, result.output
    got = frame(warehouse, "SELECT code_structure, repondant, theme_culture FROM reponses ORDER BY code_structure")
    assert got["repondant"].tolist() == [True, True, False]
    assert got["theme_culture"].tolist()[0] is True and got["theme_culture"].isna().tolist()[1:] == [True, True]
    assert query(warehouse, "SELECT count(*) FROM constats_qualite WHERE severite = 'bloquant'")[0][0] == 0


@pytest.mark.parametrize("variant", [
    {"code_structure": "Code structure", "nom_structure": "Nom structure"},
    {"code_structure": "CODE_STRUCTURE", "nom_structure": "NOM_STRUCTURE"},
    {"code_structure": "Code  structure ", "nom_structure": "Nom de la structure"},
    {"code_structure": "code-structure", "nom_structure": "Nom de la Structure"},
])
def test_header_normalisation(tmp_path, cli_run, warehouse, variant):
    header = [variant.get(h, h) for h in BASE_HEADER]
    write_csv(tmp_path / "senacs_2021.csv", header, survey_rows(2021), keys=BASE_HEADER)
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 0, result.output
    assert reponse(warehouse, "CS92-0001", "nom_structure") == "Centre social Les Acacias"


def test_old_headers_apply_only_in_their_survey_years(tmp_path, cli_run, warehouse):
    old = ["code_insee" if h == "code_commune" else "etp" if h == "etp_total" else
           "budget_total" if h == "charges_total" else "nb_salaries" if h == "salaries" else h
           for h in BASE_HEADER]
    write_csv(tmp_path / "a" / "senacs_2018.csv", old, survey_rows(2018), keys=BASE_HEADER)
    write_csv(tmp_path / "a" / "senacs_2021.csv", old, survey_rows(2021), keys=BASE_HEADER)
    result = cli_run("ingest", tmp_path / "a")
    assert result.exit_code == 1
    assert reponse(warehouse, "CS92-0001", "code_commune", 2018) == "92050"
    assert reponse(warehouse, "CS92-0001", "etp_total", 2018) == 17.5
    assert reponse(warehouse, "CS92-0001", "charges_total", 2018) == 633817
    assert reponse(warehouse, "CS92-0001", "salaries", 2018) == 30
    # code_insee is a 2018 header only: in 2021 the commune column is missing
    assert "senacs_2021.csv" in result.output and "code_commune" in result.output
    assert query(warehouse, "SELECT count(*) FROM reponses WHERE annee_enquete = 2021")[0][0] == 0


def test_alias_added_by_the_analyst_in_config(tmp_path, warehouse, monkeypatch):
    from ingest.config import ALIAS_FILE, Config
    from ingest.load import ingest_paths

    aliases = tmp_path / "alias.yaml"
    aliases.write_text(ALIAS_FILE.read_text(encoding="utf-8").replace(
        "\nactivites:", "\n  - {entete: Effectif salarié, colonne: salaries, annees: 2021}\nactivites:"),
        encoding="utf-8")
    header = [("Effectif salarié" if h == "salaries" else h) for h in BASE_HEADER]
    write_csv(tmp_path / "in" / "senacs_2021.csv", header, survey_rows(2021), keys=BASE_HEADER)
    result = ingest_paths([tmp_path / "in"], warehouse, config=Config(alias_file=aliases))
    assert not result.rejected
    assert reponse(warehouse, "CS92-0001", "salaries") == 30
    # without the alias the column is unknown: kept aside and reported, not lost
    other = tmp_path / "w2.duckdb"
    ingest_paths([tmp_path / "in"], other)
    assert query(other, "SELECT salaries FROM reponses WHERE code_structure = 'CS92-0001'")[0][0] is None
    assert query(other, "SELECT reponse FROM raw_cellules_hors_schema WHERE question = 'Effectif salarié' "
                        "AND code_structure = 'CS92-0001'") == [("30",)]
    assert query(other, "SELECT regle, severite FROM constats_qualite") == [("colonne_inconnue", "avertissement")]


def test_old_name_of_a_column_the_file_lacks_holds_the_year(tmp_path, warehouse):
    """A revised 2021 export that goes back to « NB_SALARIES » (the 2018-2020 name): its values stay
    aside until the alias is widened, so every salaries figure of the year would be published blank
    (a year published before loses them): the finding blocks the year. The same old header beside
    the column itself only warns: nothing of the column is lost."""
    from ingest.load import ingest_paths

    header = [("NB_SALARIES" if h == "salaries" else h) for h in BASE_HEADER]
    write_csv(tmp_path / "a" / "senacs_2021.csv", header, survey_rows(2021), keys=BASE_HEADER)
    ingest_paths([tmp_path / "a"], warehouse)
    (severity, message), = query(warehouse, "SELECT severite, message FROM constats_qualite "
                                            "WHERE regle = 'colonne_inconnue'")
    assert severity == "bloquant"
    assert "l'ancien nom de « salaries »" in message and "l'année n'est pas publiée" in message
    assert query(warehouse, "SELECT reponse FROM raw_cellules_hors_schema WHERE question = 'NB_SALARIES' "
                            "AND code_structure = 'CS92-0001'") == [("30",)]
    both = tmp_path / "w2.duckdb"
    write_csv(tmp_path / "b" / "senacs_2021.csv", BASE_HEADER + ["NB_SALARIES"],
              [{**row, "NB_SALARIES": row["salaries"]} for row in survey_rows(2021)])
    ingest_paths([tmp_path / "b"], both)
    assert query(both, "SELECT regle, severite FROM constats_qualite") == [("colonne_inconnue", "avertissement")]


def test_bad_alias_file_is_a_clear_error(tmp_path, warehouse):
    from ingest.config import Config
    from common.errors import ObservatoireError

    aliases = tmp_path / "alias.yaml"
    aliases.write_text("senacs:\n  - {entete: effectif, colonne: effectifs}\n", encoding="utf-8")
    with pytest.raises(ObservatoireError, match="« effectifs » n'est pas une colonne canonique"):
        Config(alias_file=aliases)


def test_xlsx_with_title_rows_numbers_text_and_dates(tmp_path, cli_run, warehouse):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Enquête SENACS 2021"])
    ws.append(["Export du 02/05/2021"])
    ws.append([])
    ws.append(BASE_HEADER + ["date_fin_agrement", "bloc_2021_crise_sanitaire_activite_maintenue"])
    ws.append([2021, 2020, "CS92-0001", "Centre & <Acacias>", "CS", 92050, True, 30, 17.5, "633 817,5",
               date(2023, 6, 30), "oui"])
    ws.append([2021, 2020, "CS92-0002", "L'Îlot", "CS", "92002", "Oui", "12", "8,5", 310000,
               "30/06/2024", "non"])
    ws.append([None] * 5)
    wb.save(tmp_path / "senacs_2021.xlsx")
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 0, result.output
    got = frame(warehouse, "SELECT * FROM reponses ORDER BY code_structure")
    assert got["code_commune"].tolist() == ["92050", "92002"]
    assert got["nom_structure"].tolist() == ["Centre & <Acacias>", "L'Îlot"]
    assert got["charges_total"].tolist() == [633817.5, 310000]
    assert got["etp_total"].tolist() == [17.5, 8.5]
    assert [d.date() for d in got["date_fin_agrement"]] == [date(2023, 6, 30), date(2024, 6, 30)]
    assert query(warehouse, "SELECT ligne_source FROM reponses ORDER BY code_structure") == [(5,), (6,)]
    assert query(warehouse, "SELECT code_structure, question, reponse FROM reponses_blocs ORDER BY 1") == [
        ("CS92-0001", "bloc_2021_crise_sanitaire_activite_maintenue", "oui"),
        ("CS92-0002", "bloc_2021_crise_sanitaire_activite_maintenue", "non")]


def test_commune_code_missing_its_leading_zero_is_repaired_and_recorded(tmp_path, cli_run, warehouse):
    rows = survey_rows(2021, [{"code_commune": "1053"}, {"code_commune": "9999"}])
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, rows)
    assert cli_run("ingest", tmp_path).exit_code == 0
    assert reponse(warehouse, "CS92-0001", "code_commune") == "01053"
    assert reponse(warehouse, "CS92-0002", "code_commune") is None
    found = frame(warehouse, "SELECT * FROM constats_qualite ORDER BY ligne")
    assert found[["ligne", "code_structure", "colonne", "valeur_brute", "regle", "severite"]].values.tolist() == [
        [2, "CS92-0001", "code_commune", "1053", "code_commune_zero_restaure", "info"],
        [3, "CS92-0002", "code_commune", "9999", "valeur_illisible", "bloquant"]]
    assert found["fichier"].tolist() == ["senacs_2021.csv"] * 2


def test_unreadable_cell_becomes_null_and_a_finding_never_a_dropped_row(tmp_path, cli_run, warehouse):
    rows = survey_rows(2021, [{"salaries": "trente"}, {"etp_total": "8,5,2"}])
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, rows)
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 0
    assert query(warehouse, "SELECT count(*) FROM reponses")[0][0] == 3
    assert reponse(warehouse, "CS92-0001", "salaries") is None
    assert reponse(warehouse, "CS92-0001", "etp_total") == 17.5
    finding = frame(warehouse, "SELECT * FROM constats_qualite WHERE code_structure = 'CS92-0001'").iloc[0]
    assert (finding["fichier"], finding["ligne"], finding["colonne"], finding["valeur_brute"]) == (
        "senacs_2021.csv", 2, "salaries", "trente")
    assert finding["annee_enquete"] == 2021 and finding["severite"] == "avertissement"
    assert "nombre entier" in finding["message"] and "« trente »" in finding["message"]
    assert "trente" in result.output  # the analyst sees it in the console too


def test_exact_duplicate_collapses_conflicting_duplicate_is_kept_out(tmp_path, cli_run, warehouse):
    rows = survey_rows(2021)
    rows.append(dict(rows[0]))                                   # exact copy of line 2
    rows.append({**rows[1], "salaries": "99"})                   # same structure, other values
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, rows, tail="\n\n")  # and empty trailing lines
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 0
    assert query(warehouse, "SELECT count(*) FROM raw_senacs")[0][0] == 4
    assert query(warehouse, "SELECT code_structure FROM reponses ORDER BY 1") == [("CS92-0001",), ("EVS92-0001",)]
    got = query(warehouse, "SELECT regle, severite, ligne, code_structure FROM constats_qualite ORDER BY ligne")
    assert got == [("doublon_conflictuel", "bloquant", 3, "CS92-0002"),
                   ("doublon_exact", "info", 5, "CS92-0001"),
                   ("doublon_conflictuel", "bloquant", 6, "CS92-0002")]


def test_missing_required_column_rejects_the_file_others_still_load(tmp_path, cli_run, warehouse):
    header = [h for h in BASE_HEADER if h != "repondant"]
    write_csv(tmp_path / "senacs_2020.csv", header, survey_rows(2020))
    write_csv(tmp_path / "senacs_2021.csv", BASE_HEADER, survey_rows(2021))
    (tmp_path / "notes.txt").write_text("pas un extrait")
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 1
    assert "senacs_2020.csv" in result.output and "repondant" in result.output
    assert "Traceback" not in result.output
    assert query(warehouse, "SELECT DISTINCT annee_enquete FROM reponses") == [(2021,)]
    assert query(warehouse, "SELECT fichier, regle, severite FROM constats_qualite") == [
        ("senacs_2020.csv", "fichier_rejete", "bloquant")]


def test_unknown_file_format_and_unreadable_xlsx_are_rejected(tmp_path, cli_run, warehouse):
    (tmp_path / "senacs_2020.xls").write_bytes(b"\xd0\xcf\x11\xe0 old excel")
    (tmp_path / "senacs_2021.xlsx").write_bytes(b"not a zip")
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 1
    assert "format « .xls » non pris en charge" in result.output
    assert "classeur XLSX illisible" in result.output


def test_activity_log_dialects(tmp_path, cli_run, warehouse):
    header = ["Date", "Code action", "Groupe travail", "Type activité", "Intitulé", "Nb participants",
              "Durée heures", "Codes structures"]
    keys = ["date", "action_code", "groupe_travail", "type_activite", "intitule", "nb_participants",
            "duree_heures", "codes_structures"]
    rows = [{"date": "15/03/2021", "action_code": "a2.3", "groupe_travail": "COMM", "type_activite": "Temps fort",
             "intitule": "Forum « Vivre ensemble »", "nb_participants": "1 200", "duree_heures": "7,5",
             "codes_structures": "CS92-0001|CS92-0002"},
            {"date": "44300", "action_code": "A1.4", "groupe_travail": "", "type_activite": "formation",
             "intitule": "Formation des administrateurs", "nb_participants": "18", "duree_heures": "3",
             "codes_structures": ""}]
    write_csv(tmp_path / "activites_2021.csv", header, rows, keys=keys, encoding="cp1252")
    assert cli_run("ingest", tmp_path).exit_code == 0
    got = frame(warehouse, "SELECT * FROM activites ORDER BY date")
    assert got["action_code"].tolist() == ["A2.3", "A1.4"]
    assert got["type_activite"].tolist() == ["temps_fort", "formation"]
    assert got["nb_participants"].tolist() == [1200, 18]
    assert got["duree_heures"].tolist() == [7.5, 3.0]
    assert got["intitule"].tolist()[0] == "Forum « Vivre ensemble »"
    assert [d.date() for d in got["date"]] == [date(2021, 3, 15), date(2021, 4, 14)]


def test_headers_written_as_french_phrases(tmp_path, cli_run, warehouse):
    """« Groupe de travail », « Code de la commune », « Année de l'enquête » : a spreadsheet's headers
    written as phrases name their columns, with no alias (the Ain's activity log had its working
    groups set aside as an unknown column)."""
    header = ["Date", "Code action", "Groupe de travail", "Type d'activité", "Intitulé", "Nombre de participants"]
    keys = ["date", "action_code", "groupe_travail", "type_activite", "intitule", "nb_participants"]
    write_csv(tmp_path / "activites_2021.csv", header,
              [{"date": "15/03/2021", "action_code": "A2.3", "groupe_travail": "COMM", "type_activite": "temps_fort",
                "intitule": "Forum", "nb_participants": "12"}], keys=keys)
    survey_header = ["Année de l'enquête", "Année des données", "Code de la structure", "Nom de la structure",
                     "Type de structure", "Code de la commune", "repondant", "salaries", "etp_total", "charges_total"]
    write_csv(tmp_path / "senacs_2021.csv", survey_header, survey_rows(2021), keys=BASE_HEADER)
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 0, result.output
    assert "inconnue" not in result.output
    assert query(warehouse, "SELECT action_code, groupe_travail, nb_participants FROM activites") == [
        ("A2.3", "COMM", 12)]
    assert query(warehouse, "SELECT count(*) FROM constats_qualite WHERE regle = 'colonne_inconnue'") == [(0,)]
    assert query(warehouse, "SELECT code_structure, code_commune FROM reponses ORDER BY 1")[0] == ("CS92-0001", "92050")


def test_an_activity_log_without_participants_is_loaded(tmp_path, cli_run, warehouse):
    """nb_participants is not required: a log without it (its header unknown, « Présents ») was rejected
    by an unexpected error (TypeError: the participants compared to its sub-counts were all unknown)."""
    header = ["date", "action_code", "type_activite", "intitule", "Présents", "nb_habitants"]
    write_csv(tmp_path / "activites_2021.csv", header,
              [["15/03/2021", "A2.3", "temps_fort", "Forum", "12", "4"],
               ["16/03/2021", "A1.1", "formation", "Formation", "", ""]])
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 0, result.output
    assert "inattendue" not in result.output and "Traceback" not in result.output
    assert query(warehouse, "SELECT action_code, nb_participants, nb_habitants FROM activites ORDER BY date") == [
        ("A2.3", None, 4), ("A1.1", None, None)]


def test_xlsx_boolean_cells_read_as_typed(tmp_path, cli_run, warehouse):
    """A spreadsheet's own TRUE and FALSE cells (not text) are yes and no, each of them."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(BASE_HEADER + ["theme_numerique"])
    for code, respondent, theme in [("CS92-0001", True, False), ("CS92-0002", True, True),
                                    ("EVS92-0001", False, None)]:
        ws.append([2021, 2020, code, f"Structure {code}", code[:-7] or "CS", "92050", respondent,
                   3 if respondent else None, None, None, theme])
    wb.save(tmp_path / "senacs_2021.xlsx")
    result = cli_run("ingest", tmp_path)
    assert result.exit_code == 0, result.output
    assert query(warehouse, "SELECT code_structure, repondant, theme_numerique FROM reponses ORDER BY 1") == [
        ("CS92-0001", True, False), ("CS92-0002", True, True), ("EVS92-0001", False, None)]
