"""Another federation adopts the observatory: its own federal project (other axes, other actions,
other indicator ids), its own département, its own page spec, extracts without finances nor
activity journal. Its site renders with no code change and never names the Hauts-de-Seine."""
import csv
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml
from pypdf import PdfReader

from conftest import ROOT
from ingest.config import Config
from observatoire import demo
from observatoire.demo import Dialect, build_truth, write_survey
from test_report import html_files, parse

pytestmark = pytest.mark.lent

RENAMED = {"part_outils_numeriques": "part_outils_partages", "part_demarche_impact": "part_evaluation_impact",
           "part_theme_sante": "part_theme_sante_bien_etre", "budget_moyen": "budget_moyen_centre",
           "administrateurs_formes": "administrateurs_en_formation"}
ACTIONS = {"A1.1": "M1.1", "A1.2": "M1.2", "A1.3": "M1.2", "A1.4": "M1.1",
           "A2.1": "M2.1", "A2.2": "M2.1", "A2.3": "M2.1", "A2.4": "M2.2",
           "A3.1": "M2.2", "A3.2": "M2.2", "A3.3": "M2.2", "A3.4": "M2.2"}
PROJECT = {
    "federation": {"nom": "Fédération des centres sociaux de la Moselle", "departements": ["57"],
                   "contact": "observatoire@centres-sociaux-57.exemple"},
    "projet": {"titre": "Projet fédéral 2020-2023", "premiere_annee": 2020, "derniere_annee": 2023,
               "annee_reference": 2020, "annee_cible": 2023},
    "groupes_travail": [{"code": "PARTICIPATION", "libelle": "Participation des habitants"}],
    "axes": [
        {"code": "M1", "libelle": "Faire vivre la participation des habitants",
         "actions": [{"code": "M1.1", "libelle": "Former les bénévoles et les administrateurs"},
                     {"code": "M1.2", "libelle": "Outiller les centres pour coopérer"}]},
        {"code": "M2", "libelle": "Coopérer sur les territoires mosellans",
         "actions": [{"code": "M2.1", "libelle": "Mesurer notre utilité sociale"},
                     {"code": "M2.2", "libelle": "Construire des partenariats"}]},
    ],
}
FINANCES = ["charges_total", "produits_total", "caf_ps_agc", "caf_ps_acf", "caf_autres", "communes_interco",
            "departement", "region", "etat", "europe", "usagers", "autres_produits", "valorisation_benevolat"]


def moselle_registry(source: str) -> str:
    """The bundled registry, made another federation's: no activity journal, one theme less, some
    indicators renamed, the federal project's axes and actions replaced."""
    rows = list(csv.DictReader(io.StringIO(source)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        if r["source"] == "activites" or r["indicateur"] == "part_theme_ecologie":
            continue
        r["indicateur"] = RENAMED.get(r["indicateur"], r["indicateur"])
        if r["axe"] != "socle":
            r["axe"] = "M1" if r["axe"] == "A1" else "M2"
        r["action"] = ACTIONS.get(r["action"], "")
        r["groupes_travail"] = ""
        r["annee_reference"] = "2020"
        writer.writerow(r)
    return out.getvalue()


def observatoire(*args, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real command, as an analyst types it in a folder."""
    return subprocess.run([sys.executable, "-m", "observatoire", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=900)


@pytest.fixture(scope="module")
def moselle(tmp_path_factory):
    """The Moselle's observatory folder, created and run by the command line only: its settings,
    its own federal project, registry and page spec in its config/, its extracts in extraits/."""
    base = tmp_path_factory.mktemp("moselle")
    made = observatoire("init", "moselle", "--federation", "Fédération des centres sociaux de la Moselle",
                        "--departement", "57", cwd=base)
    assert made.returncode == 0, made.stderr
    folder = base / "moselle"
    settings = folder / "observatoire.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        'contact: ""', "contact: observatoire@centres-sociaux-57.exemple").replace(
        'site: ""', "site: https://centres-sociaux-57.exemple").replace(
        'adresse_observatoire: ""', "adresse_observatoire: https://observatoire.centres-sociaux-57.exemple/"),
        encoding="utf-8")
    config = folder / "config"
    (config / "projet_federal.yaml").write_text(yaml.safe_dump(PROJECT, allow_unicode=True), encoding="utf-8")
    registry = (ROOT / "data" / "seeds" / "registre_indicateurs.csv").read_text(encoding="utf-8")
    (config / "registre_indicateurs.csv").write_text(moselle_registry(registry), encoding="utf-8")
    spec = yaml.safe_load((ROOT / "data" / "config" / "pages.yaml").read_text(encoding="utf-8"))
    sections = spec["rapport"]["sections"]
    for s in sections:
        if s.get("id") == "themes":
            s["titre"] = "Les thèmes d'action"
    sections.insert(1, {"id": "projet", "titre": "Le projet fédéral en un coup d'œil", "tuiles": {"axe": ["M1", "M2"]}})
    (config / "pages.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    # extracts of the Moselle, without the finances block, and no activity journal (generated with
    # the Moselle's project as reference data: the test's tool, not the product's)
    reference = base / "reference"
    shutil.copytree(ROOT / "data" / "reference", reference)
    (reference / "projet_federal.yaml").write_text(yaml.safe_dump(PROJECT, allow_unicode=True), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(demo.SCALES, "57", {"departements": ["57"], "cs": 16, "evs": 8, "surveys": [2021, 2022, 2023],
                                       "activities": [2022]})
        truth = build_truth("57", reference_dir=reference)
    for survey, df, blocs in truth.per_year:
        write_survey(folder / "extraits" / f"senacs_{survey}.csv", survey, df.drop(columns=FINANCES), blocs,
                     Dialect(), Config())
    done = observatoire("run", "--public-seulement", cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    pages = int(re.search(r"Site public : (\d+) pages", done.stdout).group(1))
    return folder / "sortie" / "entrepot" / "observatoire.duckdb", folder / "sortie" / "site" / "public", \
        pages, done.stderr.splitlines()


def test_another_federation_gets_its_own_site_with_no_code_change(moselle):
    db, site, pages, messages = moselle
    assert pages > 20
    published = [r[0] for r in duckdb.connect(str(db), read_only=True).execute(
        "SELECT annee FROM publications WHERE statut = 'publiee' ORDER BY annee").fetchall()]
    assert published
    last = published[-1]
    everything = "\n".join(p.read_text(encoding="utf-8") for p in site.rglob("*")
                           if p.suffix in (".html", ".csv", ".txt"))
    assert "Hauts-de-Seine" not in everything and "Hauts-de-Seine" not in (site / "donnees" / "LICENCE.txt").read_text()
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "Fédération des centres sociaux de la Moselle" in home and "Moselle" in home
    assert 'href="mailto:observatoire@centres-sociaux-57.exemple"' in home
    # the federation's own site in the footer; the observatory's address printed in the plaquette
    assert 'href="https://centres-sociaux-57.exemple"' in home
    printed = re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(
        site / str(last) / f"plaquette-{last}.pdf").pages))
    assert f"https://observatoire.centres-sociaux-57.exemple/{last}/index.html" in printed
    assert "https://centres-sociaux-57.exemple/" not in printed
    # its own axes, actions and indicator ids
    board = " ".join(parse(site / "tableau-de-bord.html").text)
    assert "M1 — Faire vivre la participation des habitants" in board and "Action M2.2" in board
    assert not re.search(r"\bA[123](\.\d)?\b", board)
    for new in RENAMED.values():
        assert (site / "indicateurs" / f"{new}.html").exists(), new
    for old in RENAMED:
        assert not (site / "indicateurs" / f"{old}.html").exists(), old
    # its page spec: its own sections; those without data left out, and the methodology says so
    report = (site / str(last) / "index.html").read_text(encoding="utf-8").split('<main id="contenu">')[1]
    headings = [h.replace("&#39;", "'") for h in re.findall(r"<h2[^>]*>([^<]+)</h2>", report)]
    assert "Le projet fédéral en un coup d'œil" in headings and "Les thèmes d'action" in headings
    assert "Finances" not in headings and "L'activité de la fédération" not in headings
    assert 'href="../indicateurs/part_outils_partages.html"' in report
    method = re.sub(r"\s+", " ", "".join(parse(site / "methodologie.html").text))
    assert "La rubrique « Finances » n'apparaît pas" in method
    assert ("La rubrique « L'activité de la fédération » n'apparaît pas dans les rapports : aucun indicateur du "
            "registre ne la renseigne.") in method
    assert any("budget_moyen" in m for m in messages)      # named in the spec, gone from this registry
    # and it reads as well as the bundled one: titles of its own, links that resolve
    titles = set()
    for page in html_files(site):
        html = page.read_text(encoding="utf-8")
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        assert title not in titles
        titles.add(title)
        for link in parse(page).links:
            if not link.startswith(("http", "data:", "#", "mailto:")):
                assert (page.parent / link.split("#")[0]).resolve().exists(), (page, link)


def test_another_federations_site_reads_well_on_a_phone(moselle, browser):
    """Its pages in Chromium at 390 px: nothing wider than the screen, charts whose ticks neither
    repeat nor collide (a département of small communes: counts of 1 and 2), French typography,
    and no column naming the one territory over and over."""
    from conftest import serve
    from test_browser import TICK_CLASHES, TYPOGRAPHY, charts_drawn, watched_page
    _, site, _, _ = moselle
    last = max(int(p.name) for p in site.iterdir() if p.name.isdigit())
    # (its communes have fewer than three centres each: no page of their own, the report names them)
    communes = [p.relative_to(site).as_posix() for p in sorted((site / str(last)).glob("communes/*.html"))[:1]]
    context, page = watched_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        with serve(site) as base:
            for rel in ("index.html", "tableau-de-bord.html", "methodologie.html", *communes, f"{last}/index.html"):
                assert page.goto(f"{base}/{rel}").status == 200
                charts_drawn(page)
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, rel
                assert page.evaluate(TICK_CLASHES) == [], rel
                text = page.locator("body").inner_text()
                assert not TYPOGRAPHY.search(text), (rel, TYPOGRAPHY.search(text).group(0))
                assert "Hauts-de-Seine" not in text and page.errors == [], rel
            assert "ses chiffres sont comptés dans ceux du département (Moselle)" in \
                re.sub(r"\s+", " ", page.locator("main").inner_text())          # (the year's report, last visited)
            assert page.locator("table td[data-label='Territoire']").count() == 0
            # no chart of a bar per commune (23 bars of 1 or 2) above the table that lists them
            assert page.locator("figure.graphique figcaption", has_text="par commune").count() == 0
    finally:
        context.close()


def test_a_second_folder_starts_from_the_parse_another_one_saved(moselle, tmp_path):
    """dbt's parse of the project, saved by the Moselle's build, serves a new folder of the same
    federation (its seeds read through the same path): no full parse of the project, and the
    folder's own registry is still the one its indicators come from."""
    db, _, _, _ = moselle
    source = db.parents[2]
    copy = tmp_path / "moselle-bis"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("sortie"))
    for step in (["ingest"], ["build", "--sans-docs"]):
        done = observatoire(*step, cwd=copy)
        assert done.returncode == 0, done.stdout + done.stderr
    log = (copy / "sortie" / "entrepot" / "dbt" / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "Found " in log and "Done. PASS=" in log
    assert "Unable to do partial parsing" not in log
    con = duckdb.connect(str(copy / "sortie" / "entrepot" / "observatoire.duckdb"), read_only=True)
    ids = {r[0] for r in con.execute("SELECT DISTINCT indicateur FROM pub_indicateurs").fetchall()}
    assert set(RENAMED.values()) <= ids and not set(RENAMED) & ids
