"""Issue 15's "done when", as a new federation's analyst does it with the command line only: the
demo tried first in the folder, then `init`, extracts copied into extraits/ (a département
outside the Métropole, its own mix of file dialects: booleans written x / empty among them), and
`observatoire run` with no argument. Its site names that federation and no other, shows no federal
project it did not declare and no territory level repeating the département, and its figures are
those the extracts declare."""
import csv
import html
import re

import pytest

from conftest import ROOT, observatoire, query
from ingest.config import Config
from observatoire import demo
from observatoire.demo import Dialect, build_truth, write_survey

pytestmark = pytest.mark.lent

NAME = "Fédération des centres sociaux des Alpes-Maritimes"
DIALECTS = [Dialect(encoding="cp1252", sep=";", date="fr", lost_zero=True, true="x", false="", na="NC"),
            Dialect(fmt="xlsx", header="title", title_rows=2, true="Oui", false="Non", na="Sans objet"),
            Dialect(encoding="utf-8-sig", sep=",", true="O", false="N", thousands="\u00a0", checkbox=True)]


@pytest.fixture(scope="module")
def alpes_maritimes(tmp_path_factory):
    base = tmp_path_factory.mktemp("am")
    tmp = base / "tmp"
    tmp.mkdir()
    made = observatoire("init", "am", "--federation", NAME, "--departement", "06", cwd=base, tmp=tmp)
    assert made.returncode == 0, made.stderr
    folder = base / "am"
    # the demo, tried first inside the federation's folder, works elsewhere
    tried = observatoire("run", "--demo", "--public-seulement", cwd=folder, tmp=tmp)
    assert tried.returncode == 0, tried.stdout + tried.stderr
    assert not (folder / "sortie").exists()
    assert any(tmp.glob("observatoire-demo-*/site/public/index.html"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(demo.SCALES, "06", {"departements": ["06"], "cs": 18, "evs": 9, "surveys": [2021, 2022, 2023],
                                       "activities": [2022]})
        truth = build_truth("06", seed=6)
    for (survey, df, blocs), dialect in zip(truth.per_year, DIALECTS):
        suffix = ".xlsx" if dialect.fmt == "xlsx" else ".csv"
        write_survey(folder / "extraits" / f"senacs_{survey}{suffix}", survey, df, blocs, dialect, Config())
    done = observatoire("run", cwd=folder, tmp=tmp)
    return folder, truth, done


def test_a_new_federation_runs_its_year_in_its_own_folder(alpes_maritimes):
    folder, truth, done = alpes_maritimes
    assert done.returncode == 0, done.stdout + done.stderr
    site = folder / "sortie" / "site" / "public"
    for year in (2020, 2021, 2022):                  # every clean year is published
        assert (site / str(year) / "index.html").is_file(), year
    everything = "\n".join(p.read_text(encoding="utf-8") for p in site.rglob("*")
                           if p.suffix in (".html", ".csv", ".txt"))
    assert NAME in everything and "Hauts-de-Seine" not in everything
    # no federal project it did not declare: no board, no menu entry, no axis of the 92's project
    assert not (site / "tableau-de-bord.html").exists() and "tableau-de-bord" not in everything
    assert "Projet fédéral" not in everything
    with (site / "donnees" / "registre.csv").open(encoding="utf-8-sig") as f:
        registry = list(csv.DictReader(f, delimiter=";"))
    assert registry and {r["axe"] for r in registry} <= {"socle", ""}
    assert not any(r.get("cible") for r in registry)
    # no territory level repeating the département
    with (site / "donnees" / "indicateurs.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert {r["niveau"] for r in rows} == {"commune", "departement"}
    with (site / "donnees" / "unites.csv").open(encoding="utf-8-sig") as f:
        units = list(csv.DictReader(f, delimiter=";"))
    # nor as the parent of a commune (a level the open data would name but not list)
    assert "territoire" not in {r["niveau"] for r in units} | {r["niveau_parent"] for r in units}
    assert {r["niveau_parent"] for r in units if r["niveau"] == "commune"} == {"departement"}
    method = (site / "methodologie.html").read_text(encoding="utf-8")
    assert "établissement public territorial" not in method
    # the open data's licence names its producer, and no activity log the federation did not send
    licence = (site / "donnees" / "LICENCE.txt").read_text(encoding="utf-8")
    assert f"Producteur : {NAME}." in licence and "journal d'activités" not in licence
    report = (site / "2022" / "index.html").read_text(encoding="utf-8")
    assert "Fiches des communes" in report and "Fiches territoires" not in report
    # its figures are those the extracts declare (respondents, x / empty included)
    declared = truth.reponses.groupby("annee_donnees")["repondant"].sum()
    published = {int(r["annee"]): r["valeur"] for r in rows
                 if r["indicateur"] == "nb_repondants" and r["niveau"] == "departement"}
    for year, count in declared.items():
        assert published[int(year)] == str(int(count)), (year, published)
    # where everything went: inside the folder
    assert (folder / "sortie" / "entrepot" / "observatoire.duckdb").is_file()
    assert re.search(r"Site public : \d+ pages", done.stdout)
    # the run ends by saying, on stdout, what is published and what comes next; dbt's nodes are in
    # the log file, not on the console
    summary = done.stdout.split("Bilan\n")[-1]
    assert "Publiées : 2020" in summary and "2022" in summary and "Ensuite" in summary
    assert "sortie/site/public/" in summary
    # its settings give no web address: the plaquettes would print the sheets' relative paths
    assert "adresse_observatoire" in summary and "observatoire.yaml" in summary
    assert "modèle stg_" not in done.stderr and "journal.log" in done.stderr
    # nothing it cannot act on: the product's page spec naming indicators of a project it did not declare
    assert "absents du registre" not in done.stderr
    assert "modèle stg_senacs__reponses : ok" in (folder / "sortie" / "entrepot" / "journal.log").read_text(encoding="utf-8")


def test_the_folders_seeds_are_left_as_written_after_a_run(alpes_maritimes):
    """dbt writes each seed's SQL over the seed's own file when its path is absolute, as a
    folder's seeds are: after a run, the folder's seeds are still the CSV files dbt loaded."""
    from observatoire.build import SEEDS_DIR

    folder, _, done = alpes_maritimes
    assert done.returncode == 0, done.stdout + done.stderr
    seeds = folder / "sortie" / "entrepot" / "dbt" / "seeds"
    for product in sorted(SEEDS_DIR.glob("*.csv")):
        header = product.read_text(encoding="utf-8-sig").splitlines()[0]
        written = (seeds / product.name).read_text(encoding="utf-8")
        assert written.splitlines()[0] == header and "create table" not in written.lower(), product.name


def test_declared_territories_become_the_territory_level(alpes_maritimes, tmp_path):
    """Outside the Métropole, config/territoires.csv (commune -> territory, here two EPCI) gives the
    federation its territory level: in the open data, with the names it declared."""
    import shutil

    source, truth, done = alpes_maritimes
    assert done.returncode == 0
    folder = tmp_path / "am"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("sortie"))
    communes = sorted(truth.reponses["code_commune"].dropna().unique())
    # a territory of one commune with a single centre: no figure of its own, so no sheet either
    counts = truth.reponses.groupby("code_commune")["code_structure"].nunique()
    tiny = next(c for c in communes[1:-1] if counts[c] == 1)
    half = len(communes) // 2
    lines = ["code_commune;code_territoire;nom_territoire", f"{tiny};200099999;CC du Haut-Pays"]
    lines += [f"{c};200039915;CA Sophia Antipolis" for c in communes[:half] if c != tiny]
    lines += [f"{c};200030195;Métropole Nice Côte d'Azur" for c in communes[half:] if c != tiny]
    (folder / "config" / "territoires.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = observatoire("run", "--public-seulement", cwd=folder, tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    site = folder / "sortie" / "site" / "public"
    with (site / "donnees" / "unites.csv").open(encoding="utf-8-sig") as f:
        units = {(r["niveau"], r["code"]): r["libelle"] for r in csv.DictReader(f, delimiter=";")}
    assert units[("territoire", "200039915")] == "CA Sophia Antipolis"
    assert units[("territoire", "200030195")] == "Métropole Nice Côte d'Azur"
    with (site / "donnees" / "indicateurs.csv").open(encoding="utf-8-sig") as f:
        levels = {r["niveau"] for r in csv.DictReader(f, delimiter=";")}
    assert levels == {"commune", "territoire", "departement"}
    assert "Fiches territoires et communes" in (site / "2022" / "index.html").read_text(encoding="utf-8")
    assert not (site / "2022" / "territoires" / "200099999.html").exists()
    assert (site / "2022" / "territoires" / "200039915.html").exists()
    report = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", (site / "2022" / "index.html").read_text(
        encoding="utf-8"))).replace("\u202f", " ").replace("\u00a0", " "))
    assert re.search(r"CC du Haut-Pays : 1 (centre social|espace de vie sociale) ; ses chiffres sont comptés dans "
                     r"ceux du département \(Alpes-Maritimes\)", report), report[-3000:]
    assert "qu'aucun territoire de config/territoires.csv ne contient" not in run.stdout + run.stderr
    # a commune with centres left out of the declaration: the build says which, never in silence
    (folder / "config" / "territoires.csv").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    build = observatoire("build", "--sans-docs", cwd=folder, tmp=tmp_path)
    said = " ".join((build.stdout + build.stderr).split())
    assert build.returncode == 0 and "qu'aucun territoire de config/territoires.csv ne contient" in said, said
    assert f"({communes[-1]})" in said and f"({communes[0]})" not in said
    # the methodology says where these territories come from (not the Métropole's EPT rule alone)
    method = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", (site / "methodologie.html").read_text(
        encoding="utf-8"))))
    assert ("regroupements de communes que déclare la fédération (CA Sophia Antipolis, CC du Haut-Pays, "
            "Métropole Nice Côte d'Azur)") in method
    assert "le territoire est l'établissement public territorial (EPT)" not in method
    # a commune that is not one is refused, naming the file and the line
    (folder / "config" / "territoires.csv").write_text("code_commune;code_territoire;nom_territoire\n99999;X;Y\n",
                                                     encoding="utf-8")
    bad = observatoire("ingest", "extraits", cwd=folder, tmp=tmp_path)
    assert bad.returncode == 1 and "territoires.csv, ligne 2" in bad.stderr and "Traceback" not in bad.stderr


def test_a_federation_of_two_departements_is_named_after_them_not_france(tmp_path):
    """A folder declaring two départements (not the whole country): its top unit, above the two, is
    its own area, named after them and counting their inhabitants; the site never calls it France
    (a federation of La Réunion and Mayotte read « Rapport 2022 — France », its rates per 10,000
    inhabitants divided by France's population); its map draws each overseas département in a frame of its own."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    made = observatoire("init", "oi", "--federation", "Fédération des centres sociaux de l'océan Indien",
                        "--departement", "974", "--departement", "976", cwd=tmp_path, tmp=tmp)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "oi"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(demo.SCALES, "oi", {"departements": ["974", "976"], "cs": 16, "evs": 8, "surveys": [2022, 2023],
                                       "activities": [2022]})
        truth = build_truth("oi", seed=974)
    assert set(truth.reponses["code_commune"].str[:3]) == {"974", "976"}
    for survey, df, blocs in truth.per_year:
        write_survey(folder / "extraits" / f"senacs_{survey}.csv", survey, df, blocs, Dialect(), Config())
    done = observatoire("run", "--public-seulement", cwd=folder, tmp=tmp)
    assert done.returncode in (0, 4), done.stdout + done.stderr
    site = folder / "sortie" / "site" / "public"
    with (site / "donnees" / "unites.csv").open(encoding="utf-8-sig") as f:
        top = {r["libelle"] for r in csv.DictReader(f, delimiter=";") if r["niveau"] == "national"}
    assert top == {"La Réunion, Mayotte"}
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "Observatoire des centres sociaux — La Réunion, Mayotte" in home
    assert "Rapport 2022 — France" not in " ".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    # its map draws the communes of its two départements, each in a frame of its own (one frame of
    # both would show two specks 1,400 km apart), not France's départements
    report = (site / "2022" / "index.html").read_text(encoding="utf-8")
    assert "Structures agréées par commune, La Réunion, Mayotte, 2022" in report
    svg = re.search(r'<svg class="carte-svg".*?</svg>', report, re.S)[0]
    drawn = re.findall(r'<path d="([^"]+)"[^>]*data-code="(\d+)"', svg)
    lefts = {code[:3]: [] for _, code in drawn}
    for d, code in drawn:
        lefts[code[:3]] += [float(x) for x in re.findall(r"[ML]([\d.]+) ", d)]
    assert set(lefts) == {"974", "976"} and len(drawn) == 24 + 17
    assert max(lefts["974"]) < min(lefts["976"])            # side by side, apart
    width = float(re.search(r'viewBox="-2 -2 ([\d.]+) ', svg)[1])
    assert max(lefts["974"]) - min(lefts["974"]) > width / 3 and max(lefts["976"]) - min(lefts["976"]) > width / 3
    communes = csv.DictReader((ROOT / "data" / "reference" / "communes.csv").open(encoding="utf-8"))
    inhabitants = sum(int(c["population"]) for c in communes if c["code_departement"] in ("974", "976")
                      and c["type_commune"] != "arrondissement_municipal" and c["population"])
    assert query(folder / "sortie" / "entrepot" / "observatoire.duckdb",
                 "SELECT DISTINCT population FROM pub_indicateurs WHERE niveau = 'national' AND population IS NOT NULL") == [(inhabitants,)]


def test_a_year_held_only_by_the_federations_own_files_sends_no_centre_a_sheet(tmp_path):
    """The second spring: a correction left in corrections.csv whose structure the revised survey no
    longer lists. The year is held (a blocking finding, in French, no traceback), but no centre is
    « à contacter » and the summary does not send the analyst to the feedback sheets: the fix is in
    the federation's own file."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    assert observatoire("init", "hds", "--federation", "Fédération des Hauts-de-Seine", "--departement", "92",
                        cwd=tmp_path, tmp=tmp).returncode == 0
    folder = tmp_path / "hds"
    for name in ("senacs_2021.csv", "senacs_2022.csv"):
        (folder / "extraits" / name).write_bytes((ROOT / "data" / "demo" / "92" / name).read_bytes())
    with (folder / "corrections.csv").open("a", encoding="utf-8") as f:
        f.write("2022;EVS92-0099;departs_vacances;13;Faute de frappe, vue avec la coordinatrice;A. Martin;2023-06-03\n")
    done = observatoire("run", "--public-seulement", cwd=folder, tmp=tmp)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 4, said
    assert "Traceback" not in said
    assert "2021 : non publiée" in said and "aucune réponse de EVS92-0099" in said
    assert "structure absente d'un extrait révisé" in said
    summary = " ".join(done.stdout.split("Bilan\n")[-1].split())
    assert "aucune fiche à envoyer" in summary and "Envoyez à chaque centre" not in summary
    page = (folder / "sortie" / "entrepot" / "qualite" / "2021.html").read_text(encoding="utf-8")
    assert "Aucune structure à contacter cette année" in page and "EVS92-0099" in page


def test_a_first_year_held_ends_with_the_summary_not_an_error(tmp_path):
    """A new folder whose only year is held: nothing is published yet, so there is no site to
    make; the run says so and ends with its summary (what holds the year, what to do) and the
    exit code of a held year, 4, instead of « Erreur : Aucune année n'est encore publiée » and 1."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    assert observatoire("init", "hds", "--federation", "Fédération des Hauts-de-Seine", "--departement", "92",
                        cwd=tmp_path, tmp=tmp).returncode == 0
    folder = tmp_path / "hds"
    (folder / "extraits" / "senacs_2022.csv").write_bytes((ROOT / "data" / "demo" / "92" / "senacs_2022.csv").read_bytes())
    with (folder / "corrections.csv").open("a", encoding="utf-8") as f:
        f.write("2022;EVS92-0099;departs_vacances;13;Faute de frappe;A. Martin;2023-06-03\n")
    done = observatoire("run", "--public-seulement", cwd=folder, tmp=tmp)
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 4, said
    assert "Erreur" not in said and "Traceback" not in said
    assert "aucune année n'est encore publiée, pas de site à produire" in said
    summary = " ".join(done.stdout.split("Bilan\n")[-1].split())
    assert "Retenue : 2021" in summary and "Ensuite" in summary
    assert not (folder / "sortie" / "site" / "public" / "index.html").exists()
