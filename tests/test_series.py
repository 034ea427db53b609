"""Honest series, fast tier: the declared events file read and checked, the chart of a series
carrying its counts, its panel and its events (Plotly spec, fallback table, figures CSV and the
static SVG of the plaquette), like quantities drawn side by side, and the 'au moins' qualifier."""
import csv
import io

import pytest

from common.errors import ObservatoireError
from ingest.reference import EVENTS_FILE, declared_events
from reports import svgcharts
from reports.charts import Contexte, bars, lines
from reports.formatting import message, qualifie


def test_the_products_events_name_the_health_crisis():
    events = declared_events(EVENTS_FILE)
    assert 2020 in set(events["annee"])
    assert "crise sanitaire" in " ".join(events["libelle"])


def test_a_period_is_one_row_per_year_in_declared_order(tmp_path):
    f = tmp_path / "evenements.yaml"
    f.write_text("evenements:\n  - {annees: 2020-2021, libelle: crise sanitaire}\n"
                 "  - {annee: 2019, libelle: nouvelle convention Caf}\n", encoding="utf-8")
    events = declared_events(f)
    assert list(zip(events["annee"], events["libelle"], events["ordre"])) == [
        (2020, "crise sanitaire", 1), (2021, "crise sanitaire", 1), (2019, "nouvelle convention Caf", 2)]
    f.write_text("evenements: []\n", encoding="utf-8")
    assert declared_events(f).empty


@pytest.mark.parametrize("text, says", [
    ("evenements: {annee: 2020}\n", "doit être une liste"),
    ("evenements:\n  - {annee: 2020}\n", "« libelle » manque"),
    ("evenements:\n  - {annee: vingt, libelle: x}\n", "« annee » (2020) ou « annees » (2020-2021) attendu"),
    ("evenements:\n  - {annees: 2022-2020, libelle: x}\n", "finit avant de commencer"),
    ("evenements:\n  - crise sanitaire\n", "attendu {annee: 2020"),
    ("evenements: [\n", "n'est pas un YAML valide"),
])
def test_a_wrong_events_file_is_refused_in_french(tmp_path, text, says):
    f = tmp_path / "evenements.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ObservatoireError) as err:
        declared_events(f)
    assert says in str(err.value) and str(f) in str(err.value)


def _series(contexte):
    return lines("c", "Habitants touchés, par année", "Nombre de personnes.", "",
                 {"Habitants touchés": ([2018, 2019, 2020, 2021], [42471, 44000, 22996, 30000])}, "personnes", 0,
                 contexte=contexte)


def test_a_yearly_chart_shows_its_counts_panel_and_events():
    chart = _series(Contexte(effectifs={2018: 54, 2019: 55, 2020: 47, 2021: 50}, compte="Structures comptées",
                             evenements={2020: ["crise sanitaire"], 2015: ["hors du graphique"]},
                             panel=(2020, 2021, 44)))
    layout = chart.spec["layout"]
    assert layout["xaxis"]["ticktext"][2] == '2020<br><span style="font-size:11px">n\u00a0=\u00a047</span>'
    rect, line = layout["shapes"]
    assert (rect["type"], rect["x0"] < 2020 < 2021 < rect["x1"]) == ("rect", True)
    assert (line["type"], line["x0"]) == ("line", 2020)
    assert [a["text"] for a in layout["annotations"]] == ["crise sanitaire"]      # 2015 is not among its years
    # the fallback table and the CSV hold the counts and the event too
    assert ["Structures comptées (n)", "54", "55", "47", "50"] in chart.lignes
    assert ["Événement", "", "", "crise sanitaire", ""] in chart.lignes
    assert ("Structures comptées", 2020, 47) in chart.brut
    # and the plaquette's static drawing says the same
    svg = str(svgcharts.draw(chart))
    assert ">n\u00a0=\u00a047</text>" in svg and "crise sanitaire" in svg and "<rect" in svg and "stroke-dasharray" in svg


def test_a_chart_without_context_is_drawn_as_before():
    chart = _series(None)
    assert "shapes" not in chart.spec["layout"] and chart.spec["layout"]["xaxis"]["ticktext"][0] == "2018"
    assert len(chart.lignes) == 1


def test_like_quantities_are_drawn_side_by_side():
    chart = bars("b", "Partenariats", "Parts.", "", ["Pacte de coopération", "Partenariat communal"], [0.5, 0.8],
                 "ratio", 3, nom="Nanterre", autres={"Hauts-de-Seine": [0.4, 0.9]})
    assert [t["name"] for t in chart.spec["data"]] == ["Nanterre", "Hauts-de-Seine"]
    assert chart.colonnes == ["Libellé", "Nanterre", "Hauts-de-Seine"]
    assert chart.lignes[0] == ["Pacte de coopération", "50,0\u202f%", "40,0\u202f%"]
    svg = str(svgcharts.draw(chart))
    assert "Nanterre" in svg and "Hauts-de-Seine" in svg and svg.count("<rect") == 2 * 2 + 2   # bars + legend


def test_au_moins_comes_from_the_registry_not_the_template():
    assert qualifie("45\u202f427", {"qualificatif": "au moins"}) == "au moins\u00a045\u202f427"
    assert qualifie("45\u202f427", {"qualificatif": None}) == "45\u202f427"
    assert qualifie("–", {"qualificatif": "au moins"}) == "–"
    reg = {"habitants_touches": {"unite": "personnes", "decimales": 0, "libelle": "Habitants touchés",
                                 "qualificatif": "au moins"}}
    said = message({"indicateur": "habitants_touches", "valeur": 45427, "gabarit": "{libelle} : {valeur}."}, reg, {})
    assert said == "Habitants touchés\u00a0: au moins\u00a045\u202f427."


def test_a_folder_registry_without_the_new_columns_gets_them_empty(tmp_path):
    from common.observatory import Observatory
    from observatoire.build import SEEDS_DIR, folder_seeds

    own = tmp_path / "config"
    own.mkdir()
    rows = list(csv.DictReader(io.StringIO((SEEDS_DIR / "registre_indicateurs.csv").read_text(encoding="utf-8"))))
    old = [c for c in rows[0] if c not in ("au_moins", "par_habitant")]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=old, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(r for r in rows if r["axe"] == "socle")
    (own / "registre_indicateurs.csv").write_text(out.getvalue(), encoding="utf-8")
    folder = Observatory(root=tmp_path, identity=None, outputs=tmp_path / "sortie", extraits=None,
                         corrections=tmp_path / "c.csv", confirmations=tmp_path / "k.csv", project_file=None,
                         pages_file=tmp_path / "p.yaml", alias_file=tmp_path / "a.yaml")
    seeds = folder_seeds(folder, tmp_path / "sortie" / "entrepot" / "o.duckdb")
    written = list(csv.DictReader((seeds / "registre_indicateurs.csv").open(encoding="utf-8")))
    assert {"au_moins", "par_habitant"} <= set(written[0]) and {r["au_moins"] for r in written} == {""}
