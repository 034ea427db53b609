"""The observatory folder (issue 15): `observatoire init`, the settings checked when read, the
folder found from the working directory, --dossier and --entrepot before or after the command,
and extracts of another département refused with nothing changed. Fast: the CLI through click's
runner, no dbt."""
import os
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from common.observatory import departement_code, load, read_settings
from common.errors import ObservatoireError
from conftest import BASE_HEADER, query, survey_rows, write_csv
from observatoire.cli import cli

NAME = "Fédération des centres sociaux des Alpes-Maritimes"


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.delenv("OBSERVATOIRE_DOSSIER", raising=False)
    monkeypatch.delenv("OBSERVATOIRE_ENTREPOT", raising=False)
    return CliRunner()


def invoke(runner, *args, cwd: Path):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(cli, list(map(str, args)))
    finally:
        os.chdir(old)


def init(runner, tmp_path, *codes, name="am"):
    args = ["init", name, "--federation", NAME]
    for c in codes or ("06",):
        args += ["--departement", c]
    result = invoke(runner, *args, cwd=tmp_path)
    assert result.exit_code == 0, result.output
    return tmp_path / name


def test_init_creates_the_folder_and_its_settings_read_back(runner, tmp_path):
    folder = init(runner, tmp_path, "6", "83")
    for name in ("observatoire.yaml", "corrections.csv", "confirmations.csv", "extraits", "config"):
        assert (folder / name).exists(), name
    assert (folder / "corrections.csv").read_text(encoding="utf-8").startswith("annee_enquete;code_structure;colonne")
    obs = load(folder)
    assert obs.identity.nom == NAME and obs.identity.departements == ("06", "83")
    assert obs.project_file is None            # no federal project until the folder declares one
    assert obs.warehouse == folder / "sortie" / "entrepot" / "observatoire.duckdb"
    assert obs.corrections == folder / "corrections.csv" and obs.extraits == folder / "extraits"
    # a second init never overwrites a federation's work
    again = invoke(runner, "init", "am", "--federation", "Autre", "--departement", "06", cwd=tmp_path)
    assert again.exit_code == 1 and "déjà un dossier d'observatoire" in again.output
    assert load(folder).identity.nom == NAME


@pytest.mark.parametrize("code, message", [("99", "n'est pas un code de département"),
                                           ("Alpes", "n'est pas un code de département")])
def test_init_refuses_what_is_not_a_departement(runner, tmp_path, code, message):
    result = invoke(runner, "init", "x", "--federation", NAME, "--departement", code, cwd=tmp_path)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x").exists()
    none = invoke(runner, "init", "y", "--federation", NAME, cwd=tmp_path)
    assert none.exit_code == 1 and "au moins un département" in none.output


def test_codes_are_text():
    assert departement_code(6, "k") == "06" and departement_code("2a", "k") == "2A"
    assert departement_code("974", "k") == "974" and departement_code(75, "k") == "75"
    for bad in (True, 100, "0", "20", None):
        with pytest.raises(ObservatoireError):
            departement_code(bad, "k")


@pytest.mark.parametrize("text, expected", [
    ("federation:\n  nom: F\n  departements: [06]\n", ("06",)),      # YAML reads 06 as the number 6
    ("federation:\n  nom: F\n  departements: [6, \"2B\"]\n", ("06", "2B")),
    ("federation:\n  nom: F\n  departements: \"13\"\n", ("13",)),
])
def test_unquoted_codes_are_read_as_text(tmp_path, text, expected):
    path = tmp_path / "observatoire.yaml"
    path.write_text(text, encoding="utf-8")
    assert read_settings(path).departements == expected


@pytest.mark.parametrize("text, says", [
    ("", "la section « federation » est absente ou vide"),
    ("federation:\n", "la section « federation » est absente ou vide"),
    ("federation:\n  nom: F\n", "« departements » est absente ou vide"),
    ("federation:\n  nom: F\n  departements: []\n", "« departements » est absente ou vide"),
    ("federation:\n  departements: [\"06\"]\n", "« nom » est obligatoire"),
    ("federation:\n  nom: F\n  departements: [99]\n", "clé « departements » : « 99 »"),
    ("federation:\n  nom: F\n  departements: [\"06\"]\n  national: oui\n", "clé « national »"),
    ("federation:\n  nom: F\n  departements: [\"06\"]\n  couleur: bleu\n", "clé inconnue « couleur »"),
    ("federation: [a, b]\n", "doit être une suite de clés"),
    ("federation:\n  nom: F\n departements: [\"06\"]\n", "n'est pas un YAML valide"),
    ("- a\n- b\n", "doit être une suite de clés"),
    ("federation:\n  nom: F\n  departements: [\"06\"]\n  logo: absent.svg\n", "clé « logo »"),
    ("federation:\n  nom: F\n  departements: [\"06\"]\n  adresse_observatoire: www.exemple.fr\n",
     "clé « adresse_observatoire » : une adresse web commençant par https://"),
])
def test_every_setting_is_checked_with_a_french_message(runner, tmp_path, text, says):
    folder = init(runner, tmp_path)
    (folder / "observatoire.yaml").write_text(text, encoding="utf-8")
    result = invoke(runner, "run", cwd=folder / "extraits")       # found from below, too
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    assert says in flat and "observatoire.yaml" in flat and "Traceback" not in flat


def test_a_national_folder_covers_every_departement(tmp_path):
    path = tmp_path / "observatoire.yaml"
    path.write_text("federation:\n  nom: Fédération des centres sociaux de France\n  national: true\n",
                    encoding="utf-8")
    identity = read_settings(path)
    assert identity.national and identity.covers("974") and identity.covers("06")


def test_outside_any_folder_a_command_says_how_to_start(runner, tmp_path):
    result = invoke(runner, "run", cwd=tmp_path)
    assert result.exit_code == 1
    assert "observatoire init" in result.output and "observatoire run --demo" in " ".join(result.output.split())


def survey_of(path: Path, department: str) -> Path:
    rows = survey_rows(int(path.stem[-4:]))
    for i, r in enumerate(rows):
        r["code_commune"] = f"{department}{88 + i:03d}"
        r["code_structure"] = r["code_structure"].replace("92", department)
    return write_csv(path, BASE_HEADER, rows)


def test_extracts_of_another_departement_are_refused_with_nothing_changed(runner, tmp_path):
    folder = init(runner, tmp_path)
    survey_of(folder / "extraits" / "senacs_2021.csv", "06")
    first = invoke(runner, "ingest", cwd=folder)        # the folder's extraits/ by default
    assert first.exit_code == 0, first.output
    db = folder / "sortie" / "entrepot" / "observatoire.duckdb"
    loaded = "SELECT annee_enquete, count(*) FROM reponses GROUP BY 1 ORDER BY 1"
    before = query(db, loaded)
    archived = sorted((db.parent / "archive").iterdir())
    other = tmp_path / "recu"
    survey_of(other / "senacs_2022.csv", "92")
    # the folder named after the command, from elsewhere
    result = invoke(runner, "ingest", str(other), "--dossier", str(folder), cwd=tmp_path)
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "rien n'a été chargé" in flat and "3 structures du 92" in flat and "« departements »" in flat
    # each named with its line and commune: a typo in one code is found without opening the file
    assert re.search(r"3 structures du 92 \([^)]+\) : lignes 2, 3, 4 ; communes 92\d{3}, 92\d{3}, 92\d{3}", flat)
    assert query(db, loaded) == before == [(2021, 3)]
    assert sorted((db.parent / "archive").iterdir()) == archived
    # declared in the settings, they load
    settings = folder / "observatoire.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace('["06"]', '["06", "92"]'), encoding="utf-8")
    os.environ["OBSERVATOIRE_DOSSIER"] = str(folder)
    try:
        ok = invoke(runner, "ingest", str(other), cwd=tmp_path)
    finally:
        del os.environ["OBSERVATOIRE_DOSSIER"]
    assert ok.exit_code == 0, ok.output



def test_corsica_s_old_and_shortened_commune_codes_load_and_a_foreign_one_is_named(runner, tmp_path):
    """A Haute-Corse folder: old extracts write Bastia 20033 (département 20, before 1976) or 2B33;
    both load as 2B033 with a finding that says why, instead of refusing the file for a département
    « 20 » the settings could never declare. A code of no département (20999) is loaded and left to
    validation (unknown commune, correctable); a commune of Corse-du-Sud is refused naming its structure."""
    folder = init(runner, tmp_path, "2B", name="hc")
    rows = survey_rows(2020)
    for row, code, commune in zip(rows, ("CS2B-0001", "CS2B-0002", "EVS2B-0001"), ("20033", "2b33", "20999")):
        row["code_structure"], row["code_commune"] = code, commune
    write_csv(folder / "extraits" / "senacs_2020.csv", BASE_HEADER, rows)
    result = invoke(runner, "ingest", cwd=folder)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    db = folder / "sortie" / "entrepot" / "observatoire.duckdb"
    assert query(db, "SELECT code_structure, code_commune FROM reponses ORDER BY 1") == [
        ("CS2B-0001", "2B033"), ("CS2B-0002", "2B033"), ("EVS2B-0001", "20999")]
    said = dict(query(db, "SELECT valeur_brute, message FROM constats_qualite WHERE regle = 'code_commune_zero_restaure'"))
    assert "ancien code de la Corse" in said["20033"] and "zéro perdu" in said["2b33"], said
    for row in rows:
        row["annee_enquete"], row["annee_donnees"] = 2021, 2020
    # 2020's 20999, held in the warehouse, is not another département when another year is loaded alone
    alone = write_csv(tmp_path / "recu" / "senacs_2021.csv", BASE_HEADER, rows)
    assert invoke(runner, "ingest", alone, cwd=folder).exit_code == 0
    rows[0]["code_commune"] = "2A004"                         # Ajaccio, in Corse-du-Sud
    write_csv(folder / "extraits" / "senacs_2021.csv", BASE_HEADER, rows)
    refused = " ".join(invoke(runner, "ingest", cwd=folder).output.split())
    assert "rien n'a été chargé" in refused and "1 structure du 2A (CS2B-0001)" in refused, refused
    old = invoke(runner, "init", "corse", "--federation", NAME, "--departement", "20", cwd=tmp_path)
    assert old.exit_code == 1 and '"2A" (Corse-du-Sud) et "2B" (Haute-Corse)' in " ".join(old.output.split())


def test_declared_territories_read_corsican_codes_as_the_extracts_do(tmp_path):
    """config/territoires.csv of a Haute-Corse folder, written from an old list: 20033 and 2B37
    are Bastia and Biguglia, as in the extracts; a code of no commune is still refused."""
    from ingest.reference import declared_territories

    path = tmp_path / "territoires.csv"
    path.write_text("code_commune;code_territoire;nom_territoire\n20033;242000354;CA de Bastia\n"
                    "2b37;242000354;CA de Bastia\n", encoding="utf-8")
    assert declared_territories(path)["code_commune"].tolist() == ["2B033", "2B037"]
    path.write_text("code_commune;code_territoire;nom_territoire\n20999;242000354;CA de Bastia\n", encoding="utf-8")
    with pytest.raises(ObservatoireError, match="« 20999 » n'est pas un code commune INSEE connu"):
        declared_territories(path)

def test_the_federal_project_file_is_checked(runner, tmp_path):
    folder = init(runner, tmp_path)
    survey_of(folder / "extraits" / "senacs_2021.csv", "06")
    project = folder / "config" / "projet_federal.yaml"
    for text, says in [("projet: {titre: P}\n", "la section « axes » est absente ou vide"),
                       ("axes: [{code: X1, libelle: Un}]\n", "la section « projet » est absente ou vide"),
                       ("projet: {titre: P, annee_cible: deux-mille}\naxes: [{code: X1, libelle: Un}]\n",
                        "clé « annee_cible »"),
                       ("projet: {titre: P}\naxes: [{code: X1}]\n", "axe n° 1"),
                       ("projet: {titre: P}\naxes: [{code: X1, libelle: Un}]\naxe: []\n", "section inconnue « axe »")]:
        project.write_text(text, encoding="utf-8")
        result = invoke(runner, "ingest", "extraits", cwd=folder)
        flat = " ".join(result.output.split())
        assert result.exit_code == 1 and says in flat and "projet_federal.yaml" in flat, flat
    project.write_text(yaml.safe_dump({"projet": {"titre": "Projet 2022-2025", "annee_cible": 2025},
                                       "axes": [{"code": "X1", "libelle": "Un axe",
                                                 "actions": [{"code": "X1.1", "libelle": "Une action"}]}]}),
                       encoding="utf-8")
    assert invoke(runner, "ingest", "extraits", cwd=folder).exit_code == 0


def test_the_console_says_a_finding_repeated_on_many_lines_once():
    """Findings alike but for their line and quoted values are grouped (first one shown, with how many
    lines repeat it); findings of another kind, or not on a line, stay apart and in order."""
    from observatoire.cli import grouped_findings

    details = [f"Ligne {i}, colonne « action_code » : action « A{i % 3}.1 » : inconnue." for i in range(2, 9)]
    details[3:3] = ["Ligne 5, colonne « date » : date « 31/02 » illisible.", "Colonne « x » en trop.",
                    "Colonne « y » en trop."]
    assert grouped_findings(details) == [
        ("Ligne 2, colonne « action_code » : action « A2.1 » : inconnue.", 6),
        ("Ligne 5, colonne « date » : date « 31/02 » illisible.", 0),
        ("Colonne « x » en trop.", 0), ("Colonne « y » en trop.", 0)]
    assert grouped_findings([]) == []


def test_an_unchanged_file_is_not_summed_up_as_empty(runner, tmp_path):
    """Loaded again unchanged, a file is not re-read: the summary does not say it has 0 lines and
    0 findings (it had 12 lines and 12 warnings), it says it was not read again."""
    folder = init(runner, tmp_path)
    header = "date;action_code;groupe_travail;type_activite;intitule;nb_participants;nb_centres"
    rows = [f"{10 + i}/03/2022;A1.{i % 3 + 1};;rencontre;Rencontre n° {i};20;4" for i in range(12)]
    (folder / "extraits" / "activites_2022.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    first = invoke(runner, "ingest", "extraits", cwd=folder)
    line = next(t for t in first.output.splitlines() if "activites_2022.csv" in t and "│" in t)
    assert "12" in line.split("│")[5], line
    again = invoke(runner, "ingest", "extraits", cwd=folder)
    assert again.exit_code == 0, again.output
    line = next(t for t in again.output.splitlines() if "activites_2022.csv" in t and "│" in t)
    cells = [c.strip() for c in line.split("│")[1:-1]]
    assert cells[3] == "inchangé" and cells[4:] == ["–"] * 5, cells
    assert "fichier inchangé, non relu" in " ".join(again.output.split())


def test_the_run_says_which_feedback_file_goes_to_the_centre(tmp_path):
    """A year held back: the next steps name the sheet to send (the HTML page named after the centre),
    not the folder where the analyst's CSV record lies beside it."""
    from types import SimpleNamespace

    import duckdb

    from observatoire import cli
    from observatoire.console import out

    db = tmp_path / "sortie" / "entrepot" / "observatoire.duckdb"
    db.parent.mkdir(parents=True)
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE publications AS SELECT 2022 AS annee, 'retenue' AS statut, 2 AS nb_bloquants, "
                "NULL::DATE AS publie_le")
    con.close()
    obs = SimpleNamespace(warehouse=db, corrections=tmp_path / "corrections.csv",
                          confirmations=tmp_path / "confirmations.csv")
    with out.capture() as captured:
        cli._run_summary(obs, True, False)
    said = " ".join(captured.get().split())
    assert "Retenue : 2022, 2 constats bloquants" in said, said
    assert "sa fiche de retour : la page à son code et à son nom (<code>__<nom>.html)" in said, said
    assert "le CSV du même code est votre relevé, pas pour le centre" in said


def test_an_activity_log_without_a_federal_project_says_so(runner, tmp_path):
    """A federation that declared no project: its log's actions are named as such, pointing to its own
    config/projet_federal.yaml, never to the product's file; the 11th finding on sends to the quality page."""
    folder = init(runner, tmp_path)
    header = "date;action_code;groupe_travail;type_activite;intitule;nb_participants;nb_centres"
    rows = [f"{10 + i}/03/2022;A1.{i % 3 + 1};;rencontre;Rencontre n° {i};20;4" for i in range(12)]
    (folder / "extraits" / "activites_2022.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    result = invoke(runner, "ingest", "extraits", cwd=folder)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "aucun projet fédéral n'est déclaré (config/projet_federal.yaml du dossier" in flat, flat
    assert "data/reference" not in flat and "constats_qualite" not in flat
    # said once for the file, with how many activities it concerns
    assert flat.count("aucun projet fédéral n'est déclaré") == 1 and "ses 12 activités sont gardées" in flat, flat
    stored = query(folder / "sortie" / "entrepot" / "observatoire.duckdb",
                   "SELECT regle, severite, count(*) FROM constats_qualite WHERE regle IN "
                   "('action_inconnue', 'projet_federal_absent') GROUP BY ALL ORDER BY regle")
    # one point of attention for the log, each line named as an information (nothing silent)
    assert stored == [("action_inconnue", "info", 12), ("projet_federal_absent", "avertissement", 1)]


def test_advice_names_the_folders_files_not_the_products():
    """What a finding or the quality page tells the analyst to edit lives in the observatory folder
    (corrections.csv, confirmations.csv, config/…), never in the product's source tree (data/…)."""
    from expectations.rules import RULES

    for rule in RULES:
        for text in (rule.message, rule.conseil, rule.attendu, rule.libelle):
            assert "data/" not in text, (rule.regle, text)
    root = Path(__file__).resolve().parents[1]
    for path in [root / "ingest" / "corrections.py", root / "ingest" / "extract.py",
                 *sorted((root / "reports" / "templates").rglob("*.html"))]:
        text = path.read_text(encoding="utf-8")
        for quoted in ("data/corrections/", "data/config/alias", "data/reference/projet_federal.yaml)"):
            lines = [line for line in text.splitlines() if quoted in line and not line.lstrip().startswith(('#', '"""'))
                     and ('"' in line or "<" in line)]
            assert not lines, (path.name, lines)
    quality = (root / "reports" / "templates" / "site" / "_qualite_corps.html").read_text(encoding="utf-8")
    assert "observatoire run" in quality and "observatoire validate" not in quality


def test_quality_page_counts_warnings_outside_any_structure_as_such():
    """Warnings raised on a file or the activity log (no structure) are not « sur 0 structure »."""
    from reports.qualite import environment

    body = environment().get_template("site/_qualite_corps.html")
    flat = lambda html: " ".join(html.split())  # noqa: E731
    alone = flat(body.render(publie=True, n_avertissements=12, n_structures_averties=0))
    assert "12 avertissements hors structure" in alone and "0 structure" not in alone
    some = flat(body.render(publie=True, n_avertissements=3, n_structures_averties=2))
    assert "3 avertissements sur 2 structures" in some
    # both kinds: the structures' share is not read as the whole (« 94 avertissements sur 1 structure »)
    both = flat(body.render(publie=True, n_avertissements=94, n_structures_averties=1,
                            n_avertissements_hors_structure=93)).replace("&nbsp;", " ")
    assert "94 avertissements : 1 sur 1 structure, 93 hors structure (fichiers et journal)" in both, both
    assert "94 avertissements sur 1 structure" not in both


def test_a_feedback_sheet_speaks_for_the_federation_in_the_first_person():
    """The sheet sent to a centre is signed by the federation and says « nous » before it: its name
    is not the sentence's bare subject (« …, Fédération des centres sociaux de la Gironde a relevé »)."""
    from reports.qualite import environment

    sheet = environment().get_template("fiche_retour.html")
    point = {"question": "Combien de personnes ?", "annee_enquete": "2023", "valeur_lue": "18",
             "constat_centre": "La valeur déclarée est inhabituelle.", "demande_centre": "Pouvez-vous vérifier ?"}
    for n in (1, 2):
        text = " ".join(sheet.render(structure={"nom": "Centre social Les Tilleuls", "code": "CS33-0001",
                                                "a_demander": [point] * n},
                                     annee=2022, federation="Fédération des centres sociaux de la Gironde").split())
        assert "nous avons relevé " + ("un point qui mérite" if n == 1 else "2 points qui méritent") in text
        assert "Gironde a relevé" not in text and text.count("Fédération des centres sociaux de la Gironde") == 1


def test_the_demo_never_writes_into_a_federations_warehouse(runner, tmp_path):
    folder = init(runner, tmp_path)
    inside = folder / "sortie" / "entrepot" / "observatoire.duckdb"
    result = invoke(runner, "run", "--demo", "--entrepot", inside, cwd=tmp_path)
    assert result.exit_code == 1 and "la démonstration n'y écrit jamais" in " ".join(result.output.split())
    assert not (folder / "sortie").exists()


def test_help_says_required_in_french(runner, tmp_path):
    for command in ("demo", "init"):
        text = invoke(runner, command, "--help", cwd=tmp_path).output
        assert "[required]" not in text and "obligatoire" in text, command


@pytest.mark.parametrize("text, says", [
    ("rapport: [a, b]\n", "page « rapport »"),
    ("rapport:\n  sections: [titre]\n", "clé « sections »"),
    ("rapport:\n  sections:\n    - {id: x, titre: X, graphiques: [barres]}\n", "clé « graphiques »"),
    ("rapport:\n  sections:\n", None),
    ("", None),
])
def test_a_page_spec_with_a_missing_or_odd_section_is_never_a_traceback(tmp_path, text, says):
    from reports.pages import load_spec

    path = tmp_path / "pages.yaml"
    path.write_text(text, encoding="utf-8")
    if says is None:
        assert load_spec(path).section("rapport") == {} or load_spec(path).section("rapport").get("sections") is None
    else:
        with pytest.raises(ObservatoireError, match=says):
            load_spec(path)


def test_an_empty_extracts_folder_says_what_to_do(runner, tmp_path):
    folder = init(runner, tmp_path)
    for command in ("ingest", "run"):
        result = invoke(runner, command, cwd=folder)
        assert result.exit_code == 1 and "est vide : déposez-y les extraits reçus" in " ".join(result.output.split())
    outside = invoke(runner, "ingest", "--entrepot", tmp_path / "e.duckdb", cwd=tmp_path)
    assert outside.exit_code == 2 and "indiquez des fichiers ou dossiers" in outside.output


def test_a_warehouse_holding_another_departement_is_not_mixed_with(runner, tmp_path):
    """The demo's warehouse (the 92), named with --entrepot from the Alpes-Maritimes' folder:
    refused, nothing changed; the folder's own warehouse is the way."""
    foreign = tmp_path / "autre" / "o.duckdb"
    survey_of(tmp_path / "recu92" / "senacs_2021.csv", "92")
    assert invoke(runner, "--entrepot", foreign, "ingest", tmp_path / "recu92", cwd=tmp_path).exit_code == 0
    folder = init(runner, tmp_path)
    survey_of(folder / "extraits" / "senacs_2022.csv", "06")
    mixed = invoke(runner, "ingest", "--entrepot", foreign, cwd=folder)
    assert mixed.exit_code == 1 and "contient déjà des enquêtes d'un autre département (92)" in " ".join(
        mixed.output.split())
    assert query(foreign, "SELECT DISTINCT annee_enquete FROM reponses") == [(2021,)]
    assert invoke(runner, "ingest", cwd=folder).exit_code == 0


def test_the_run_ends_with_what_is_held_back_and_what_to_do_next(runner, tmp_path, capsys):
    """The closing summary of `run`, on stdout: a held-back year with its blocking findings and its
    quality page, the previous publication kept online, and the three next steps naming the
    folder's own files."""
    import duckdb

    from observatoire.cli import _run_summary

    folder = init(runner, tmp_path)
    obs = load(folder)
    obs.warehouse.parent.mkdir(parents=True)
    con = duckdb.connect(str(obs.warehouse))
    con.execute("CREATE TABLE publications (annee INTEGER, statut VARCHAR, publie_le TIMESTAMP, verifie_le TIMESTAMP, "
                "nb_bloquants INTEGER, nb_avertissements INTEGER)")
    con.execute("INSERT INTO publications VALUES (2021, 'publiee', '2024-05-02 10:00', now(), 0, 1), "
                "(2022, 'bloquee', '2024-05-02 10:00', now(), 3, 0), (2023, 'bloquee', NULL, now(), 1, 0)")
    con.close()
    old = os.getcwd()
    os.chdir(folder)
    try:
        capsys.readouterr()
        _run_summary(obs, True, False)
    finally:
        os.chdir(old)
    said = " ".join(capsys.readouterr().out.split())
    assert "Publiées : 2021 (publiée le 02/05/2024)" in said
    assert "Retenue : 2022, 3 constats bloquants ; sa publication du 02/05/2024 reste en ligne" in said
    assert "Retenue : 2023, 1 constat bloquant (page qualité : sortie/entrepot/qualite/2023.html)" in said
    assert "sortie/entrepot/qualite/fiches_retour/<année>/" in said
    assert "corrections.csv" in said and "confirmations.csv" in said and "relancez « observatoire run »" in said


def test_without_a_project_the_surveys_indicators_stay_as_key_figures(runner, tmp_path):
    """A federation with no federal project (or other axes) still publishes what every centre's
    survey collects: the bundled registry's survey indicators of the 92's axes become key figures,
    with none of the 92's targets; only the activity log's indicators of those axes are left out."""
    import csv

    from observatoire.build import SEEDS_DIR, folder_seeds

    root = init(runner, tmp_path, "06")
    obs = load(root)
    seeds = folder_seeds(obs, obs.warehouse)
    bundled = {r["indicateur"]: r for r in csv.DictReader((SEEDS_DIR / "registre_indicateurs.csv").open(encoding="utf-8-sig"))}
    kept = {r["indicateur"]: r for r in csv.DictReader((seeds / "registre_indicateurs.csv").open(encoding="utf-8"))}
    survey = {k for k, r in bundled.items() if r["source"] == "enquete"}
    assert survey == set(kept), "every survey indicator is kept, no activity indicator"
    moved = {k for k in survey if bundled[k]["axe"] != "socle"}
    assert {"taux_reponse", "pers_info_droits", "pers_accomp_droits"} <= moved
    for k in moved:
        assert (kept[k]["axe"], kept[k]["action"], kept[k]["groupes_travail"], kept[k]["cible"],
                kept[k]["annee_reference"]) == ("socle", "", "", "", ""), k
        assert kept[k]["rubrique"] == bundled[k]["rubrique"]


def test_a_registry_row_naming_an_axis_or_action_the_project_does_not_declare_is_said(runner, tmp_path):
    """A folder with its own federal project and its own registry: a row whose axis the project does
    not declare (a typo) is not moved to the key figures, or dropped, in silence; nor is an action of
    no name; the product's registry, whose axes are the 92's, draws no warning."""
    import csv

    from observatoire.build import SEEDS_DIR, folder_seeds

    root = init(runner, tmp_path, "974")
    obs = load(root)
    quiet: list[str] = []
    folder_seeds(obs, obs.warehouse, quiet)
    assert quiet == []
    (root / "config" / "projet_federal.yaml").write_text(yaml.safe_dump({
        "projet": {"titre": "Projet fédéral 2020-2023", "premiere_annee": 2020, "derniere_annee": 2023,
                   "annee_reference": 2019, "annee_cible": 2023},
        "axes": [{"code": "R1", "libelle": "Pouvoir d'agir", "actions": [{"code": "R1.1", "libelle": "Formation"}]}]},
        allow_unicode=True), encoding="utf-8")
    rows = list(csv.DictReader((SEEDS_DIR / "registre_indicateurs.csv").open(encoding="utf-8-sig")))
    fields = list(rows[0])
    survey = [r for r in rows if r["source"] == "enquete" and r["axe"] != "socle"][:3]
    activity = next(r for r in rows if r["source"] == "activites")
    survey[0].update(axe="R1", action="R1.1")          # declared: nothing to say
    survey[1].update(axe="R3", action="")              # an axis the project does not have
    survey[2].update(axe="R1", action="R9.9")          # an action it does not have
    activity.update(axe="R2", action="R2.1")
    kept = [r for r in rows if r["axe"] == "socle"] + survey + [activity]
    with (root / "config" / "registre_indicateurs.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
    line = {r["indicateur"]: i for i, r in enumerate(kept, start=2)}
    obs = load(root)                                  # the settings, with the project now declared
    said: list[str] = []
    seeds = folder_seeds(obs, obs.warehouse, said)
    assert len(said) == 3, said
    assert all(w.startswith("Avertissement : ") and "registre_indicateurs.csv, ligne " in w for w in said)
    assert f"ligne {line[survey[1]['indicateur']]} (indicateur « {survey[1]['indicateur']} ») : axe « R3 » absent" \
           in said[0] and "chiffres clés SENACS" in said[0] and "déclare R1" in said[0]
    assert f"ligne {line[survey[2]['indicateur']]}" in said[1] and "action « R9.9 » absente" in said[1]
    assert f"ligne {line[activity['indicateur']]}" in said[2] and "axe « R2 »" in said[2] and "laissé de côté" in said[2]
    # what the seeds hold is unchanged by the warnings: the undeclared axis's survey indicator is a key figure
    written = {r["indicateur"]: r for r in csv.DictReader((seeds / "registre_indicateurs.csv").open(encoding="utf-8"))}
    assert written[survey[1]["indicateur"]]["axe"] == "socle" and activity["indicateur"] not in written


def test_every_folder_names_its_seeds_alike_for_dbt(tmp_path, monkeypatch):
    """dbt parses the whole project again when the seeds' folder is named otherwise: every
    observatory folder names its own through dbt's working directory (the warehouse's folder),
    so that they share one saved parse; seeds kept elsewhere keep their own name."""
    from observatoire.build import _parse_cache, dbt_args, dbt_dirs

    for name in ("OBSERVATOIRE_GRAINES", "OBSERVATOIRE_DBT_DOSSIER", "OBSERVATOIRE_DBT_FICHIER"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    said = []
    for folder in ("a", "b"):
        db = tmp_path / folder / "sortie" / "entrepot" / "observatoire.duckdb"
        seeds = dbt_dirs(db)[0].parent / "seeds"
        seeds.mkdir(parents=True)
        (seeds / "registre.csv").write_text(folder, encoding="utf-8")
        args = dbt_args(db, seeds=seeds)
        named = os.environ["OBSERVATOIRE_GRAINES"]
        said.append((named, _parse_cache(args)[1]))
        monkeypatch.chdir(db.parent)              # where dbt runs (observatoire.build._invoke)
        assert (Path(named) / "registre.csv").read_text(encoding="utf-8") == folder
    assert said[0] == said[1]
    elsewhere = tmp_path / "graines"
    elsewhere.mkdir()
    dbt_args(tmp_path / "a" / "sortie" / "entrepot" / "observatoire.duckdb", seeds=elsewhere)
    assert os.environ["OBSERVATOIRE_GRAINES"] == str(elsewhere.resolve())


def test_a_file_taken_out_of_extraits_but_still_loaded_is_named(runner, tmp_path):
    """An extract dropped by mistake, then taken out of extraits/: its lines stay in the warehouse
    (nothing unloads them), so the command says so at each load of the folder instead of
    letting its year go on counting them in silence. Naming a file explicitly says nothing of the others."""
    folder = init(runner, tmp_path, "92")
    header = "date;action_code;groupe_travail;type_activite;intitule;nb_participants;nb_centres"
    for year in (2022, 2023):
        rows = [f"{10 + i}/03/{year};A1.{i % 3 + 1};;rencontre;Rencontre n° {i};20;4" for i in range(3 + year % 2)]
        (folder / "extraits" / f"activites_{year}.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    assert invoke(runner, "ingest", cwd=folder).exit_code == 0
    (folder / "extraits" / "activites_2023.csv").unlink()
    result = invoke(runner, "ingest", cwd=folder)
    said = " ".join(result.output.split())
    assert result.exit_code == 0 and "Traceback" not in said
    assert "Absent du dossier des extraits activites_2023.csv (activites 2023, chargé le " in said
    assert "comptent toujours pour 2023" in said and "activites_2022.csv (activites" not in said
    alone = invoke(runner, "ingest", str(folder / "extraits" / "activites_2022.csv"), cwd=folder)
    assert "Absent du dossier" not in alone.output
