"""Another federation adopts the observatory: its own federal project (other axes, other actions,
other indicator ids), its own département, its own page spec, extracts without finances nor
activity journal. Its site renders with no code change and never names the Hauts-de-Seine."""
import csv
import io
import re
import shutil

import duckdb
import pytest
import yaml

from conftest import CORRECTIONS_HEADER, ROOT
from ingest.config import Config
from ingest.load import ingest_paths
from observatoire import demo
from observatoire.build import build
from observatoire.demo import Dialect, build_truth, write_survey
from observatoire.validation import run_validation
from reports.site import build_site
from test_report import html_files, parse

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


@pytest.fixture(scope="module")
def moselle(tmp_path_factory):
    base = tmp_path_factory.mktemp("moselle")
    # the federation's own reference data, registry and page spec
    reference = base / "reference"
    shutil.copytree(ROOT / "data" / "reference", reference)
    (reference / "projet_federal.yaml").write_text(yaml.safe_dump(PROJECT, allow_unicode=True), encoding="utf-8")
    project = base / "projet"
    project.mkdir()
    shutil.copy2(ROOT / "dbt_project.yml", project)
    for folder in ("models", "macros", "tests/dbt"):
        shutil.copytree(ROOT / folder, project / folder)
    shutil.copytree(ROOT / "data" / "seeds", project / "data" / "seeds")
    registry = project / "data" / "seeds" / "registre_indicateurs.csv"
    registry.write_text(moselle_registry(registry.read_text(encoding="utf-8")), encoding="utf-8")
    spec = yaml.safe_load((ROOT / "data" / "config" / "pages.yaml").read_text(encoding="utf-8"))
    sections = spec["rapport"]["sections"]
    for s in sections:
        if s.get("id") == "themes":
            s["titre"] = "Les thèmes d'action"
    sections.insert(1, {"id": "projet", "titre": "Le projet fédéral en un coup d'œil", "tuiles": {"axe": ["M1", "M2"]}})
    pages = base / "pages.yaml"
    pages.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    # extracts of the Moselle, without the finances block, and no activity journal
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(demo.SCALES, "57", {"departements": ["57"], "cs": 16, "evs": 8, "surveys": [2021, 2022, 2023],
                                       "activities": [2022]})
        truth = build_truth("57", reference_dir=reference)
    extracts = base / "extraits"
    extracts.mkdir()
    for survey, df, blocs in truth.per_year:
        write_survey(extracts / f"senacs_{survey}.csv", survey, df.drop(columns=FINANCES), blocs, Dialect(),
                     Config())
    db = base / "entrepot" / "o.duckdb"
    ingest_paths([extracts], db, reference_dir=reference)
    corrections = base / "corrections.csv"
    corrections.write_text(CORRECTIONS_HEADER, encoding="utf-8")
    build(db, project_dir=project, corrections=corrections, docs=False)
    run_validation(db)
    messages = []
    con = duckdb.connect(str(db), read_only=True)
    try:
        result = build_site(con, base / "site", "public", pages=pages, on_progress=messages.append)
    finally:
        con.close()
    return db, base / "site", result, messages


def test_another_federation_gets_its_own_site_with_no_code_change(moselle):
    db, site, result, messages = moselle
    assert result.pages > 20
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
