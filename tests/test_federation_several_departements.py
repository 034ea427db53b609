"""A federation that declares several départements (here Corsica's 2A and 2B: a « Fédération des
centres sociaux de Corse »): the level above its départements is its own area, not France. Its
pages are titled with its départements and its rates per 10,000 inhabitants divide by their
population, never by France's (which made 14 structures « 0,0 pour 10 000 habitants »); its map
draws the communes of its départements, with their table, not the départements of France; its
activity log is published at that level, in its report, not on the sheet of its first département."""
import csv
import html
import re

import yaml

import pytest

from conftest import observatoire, query
from observatoire import demo
from observatoire.demo import Dialect, build_truth, write_activities, write_survey
from ingest.config import Config
from ingest.config import REFERENCE_DIR

pytestmark = pytest.mark.lent

NAME = "Fédération des centres sociaux de Corse"


def test_the_level_above_a_federations_departements_is_its_area_not_france(tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    made = observatoire("init", "corse", "--federation", NAME, "--departement", "2A", "--departement", "2B",
                        cwd=tmp_path, tmp=tmp)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "corse"
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(demo.SCALES, "corse", {"departements": ["2A", "2B"], "cs": 8, "evs": 6,
                                          "surveys": [2022, 2023], "activities": [2022]})
        truth = build_truth("corse", seed=20)
    for survey, df, blocs in truth.per_year:
        write_survey(folder / "extraits" / f"senacs_{survey}.csv", survey, df, blocs, Dialect(), Config())
    # its federal project (the product's, its `federation` block left out) and its activity log
    project = yaml.safe_load((REFERENCE_DIR / "projet_federal.yaml").read_text(encoding="utf-8"))
    project.pop("federation")
    (folder / "config" / "projet_federal.yaml").write_text(yaml.safe_dump(project, allow_unicode=True), encoding="utf-8")
    write_activities(folder / "extraits" / "activites_2022.csv", 2022, truth.per_activity_year[0], Dialect(), Config())
    done = observatoire("run", "--public-seulement", cwd=folder, tmp=tmp)
    assert done.returncode in (0, 4), done.stdout + done.stderr
    db = folder / "sortie" / "entrepot" / "observatoire.duckdb"
    with (REFERENCE_DIR / "communes.csv").open(encoding="utf-8") as f:
        corsica = sum(int(r["population"]) for r in csv.DictReader(f)
                      if r["code_departement"] in ("2A", "2B") and r["type_commune"] != "arrondissement_municipal")
    assert query(db, "SELECT DISTINCT libelle FROM publie.pub_unites WHERE niveau = 'national'") == [
        ("Corse-du-Sud, Haute-Corse",)]
    rows = query(db, "SELECT annee, valeur, population, valeur_pour_10000 FROM publie.pub_indicateurs "
                     "WHERE niveau = 'national' AND indicateur = 'nb_structures'")
    assert rows and all(population == corsica for _, _, population, _ in rows), (rows, corsica)
    assert all(rate == round(value / corsica * 10_000, 1) for _, value, _, rate in rows), rows
    # the federation's activity log is the federation's: published above its départements, in its report
    assert query(db, "SELECT DISTINCT niveau, code FROM publie.pub_indicateurs WHERE indicateur LIKE 'activites_a%'") \
        == [("national", "FR")]
    # the quality page says which figure a value would move in the same words
    said = query(db, "SELECT DISTINCT figure_score FROM int_controles__scores WHERE niveau_score = 'national'")
    assert said and all(f.endswith("des départements de la fédération (Corse-du-Sud, Haute-Corse)") for f, in said)
    year = max(a for a, *_ in rows)
    page = (folder / "sortie" / "site" / "public" / str(year) / "index.html").read_text(encoding="utf-8")
    assert "Rapport " + str(year) + " — Corse-du-Sud, Haute-Corse" in page and "— France" not in page
    # its map: the communes of its two départements (not the 96 départements of France), and their table
    drawn = set(re.findall(r'data-code="([0-9AB]{5})"', page))
    assert {code[:2] for code in drawn} == {"2A", "2B"} and len(drawn) > 300, len(drawn)
    assert f"Structures agréées par commune, Corse-du-Sud, Haute-Corse, {year}" in page
    assert f"Structures par commune, {year}" in page
    report_2022 = html.unescape((folder / "sortie" / "site" / "public" / "2022" / "index.html").read_text(encoding="utf-8"))
    assert "L'activité de la fédération" in report_2022 and "Activités fédérales de l'action A" in report_2022
