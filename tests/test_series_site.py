"""Honest series on the built site (issue 17, items 5, 6 and 8), read from the demo's pages and
checked against the published marts: each yearly chart shows its counts and its panel, the
declared events are drawn on the charts of their years (never on an earlier year's page), totals
that may count a person twice say "au moins" as the registry says, the national figure stands
beside the local one with its year, rows that say nothing locally are left out (in dbt), unit
sheets list their centres, set like beside like and give rates per 10,000 inhabitants."""
import csv
import json
import re

import pytest

from conftest import ROOT, query
from reports.formatting import nombre, valeur

pytestmark = pytest.mark.lent


def _specs(html: str) -> list[dict]:
    return [json.loads(m) for m in re.findall(r'<script type="application/json" id="spec-[^"]+">(.*?)</script>', html, re.S)]


def test_each_yearly_chart_shows_its_counts_and_the_panel_of_its_reading(site):
    db, root = site[0], site[1]
    years = [a for (a,) in query(db, "SELECT DISTINCT annee FROM publie.pub_indicateurs ORDER BY annee")]
    last = years[-1]
    page = (root / "public" / "indicateurs" / "habitants_touches.html").read_text(encoding="utf-8")
    spec = _specs(page)[0]
    counts = dict(query(db, """SELECT i.annee, i.n_structures FROM publie.pub_indicateurs i
                               JOIN publie.pub_unites u USING (annee, niveau, code)
                               WHERE u.est_principal AND i.indicateur = 'habitants_touches' AND i.statut = 'publie'"""))
    ticks = dict(zip(spec["layout"]["xaxis"]["tickvals"], spec["layout"]["xaxis"]["ticktext"]))
    assert {y: re.sub("<[^>]+>", "", t).split("=\u00a0")[1] for y, t in ticks.items()} == \
        {y: nombre(n) for y, n in counts.items()}
    (first, n_panel), = query(db, """SELECT annee_comparee_un_an, n_panel_un_an FROM publie.pub_tendances t
                                     JOIN publie.pub_unites u USING (annee, niveau, code)
                                     WHERE u.est_principal AND t.indicateur = 'habitants_touches' AND t.annee = ?""",
                              [last])
    band = next(s for s in spec["layout"]["shapes"] if s["type"] == "rect")
    assert band["x0"] < first < last < band["x1"] and band["x1"] - band["x0"] < 2
    assert f"{first} et {last}" in page and f"{nombre(n_panel)} structures ayant répondu ces deux années" in page


def test_declared_events_are_drawn_on_the_charts_of_their_years_only(site):
    db, root = site[0], site[1]
    events = query(db, "SELECT annee, libelle FROM publie.pub_evenements")
    assert (2020, "crise sanitaire (confinements)") in events
    for year in (2020, 2022):
        spec = next(s for s in _specs((root / "public" / str(year) / "index.html").read_text(encoding="utf-8"))
                    if s["data"][0]["type"] == "scatter")
        assert [a["text"] for a in spec["layout"]["annotations"]] == ["crise sanitaire (confinements)"]
        assert any(s["type"] == "line" and s["x0"] == 2020 for s in spec["layout"]["shapes"])
    # a year's page reads only its year and earlier ones: 2019's charts know nothing of 2020
    earlier = (root / "public" / "2019" / "index.html").read_text(encoding="utf-8")
    assert "crise sanitaire" not in earlier
    method = (root / "public" / "methodologie.html").read_text(encoding="utf-8")
    assert "2020 : crise sanitaire (confinements)" in method.replace("&nbsp;", " ").replace("\u00a0", " ")


def test_totals_that_may_count_a_person_twice_say_au_moins(site):
    db, root = site[0], site[1]
    flagged = dict(query(db, "SELECT indicateur, qualificatif FROM publie.pub_registre WHERE au_moins"))
    assert flagged["habitants_touches"] == "au moins" and "taux_reponse" not in flagged
    (value,), = query(db, """SELECT i.valeur FROM publie.pub_indicateurs i JOIN publie.pub_unites u
                             USING (annee, niveau, code) WHERE u.est_principal AND i.indicateur = 'habitants_touches'
                             AND i.annee = (SELECT max(annee) FROM publie.pub_indicateurs)""")
    home = (root / "public" / "index.html").read_text(encoding="utf-8")
    assert f'<span class="qualificatif">au moins</span><span class="chiffre">{nombre(value)}</span>' in home
    assert re.search(r'<span class="chiffre">\d', home)        # an exact count keeps its bare figure
    method = (root / "public" / "methodologie.html").read_text(encoding="utf-8")
    assert 'id="au-moins"' in method and "comptée deux fois" in method and "habitants touchés" in method


def test_the_national_figure_stands_beside_the_local_one_with_its_year(site):
    db, root = site[0], site[1]
    rows = query(db, """SELECT c.annee, c.indicateur, c.valeur_nationale, c.annee_nationale, c.ecart_annees
                        FROM publie.pub_comparaison_nationale c JOIN publie.pub_unites u USING (annee, niveau, code)
                        WHERE u.est_principal AND c.indicateur = 'budget_moyen' ORDER BY c.annee DESC""")
    annee, _, national, year, gap = rows[0]
    report = (root / "public" / str(annee) / "index.html").read_text(encoding="utf-8")
    tile = re.search(r'<li class="tuile">(?:(?!</li>).)*indicateurs/budget_moyen\.html.*?</li>', report, re.S)[0]
    said = f"France\u00a0: {valeur(national, 'euros', 0)} en {year}"
    assert said in tile.replace("&nbsp;", "\u00a0")
    assert (f"{gap} ans plus tôt" in tile) == (gap > 1)
    page = (root / "public" / "indicateurs" / "budget_moyen.html").read_text(encoding="utf-8")
    # on the indicator's page, beside its latest figure, before its chart
    beside = page.index('class="comparaison-nationale"')
    assert said in page[beside:].replace("&nbsp;", "\u00a0") and beside < page.index("<figure")


def test_a_comparison_that_says_nothing_locally_is_left_out_in_dbt(site):
    db = site[0]
    bare = query(db, """SELECT f.indicateur, f.annee FROM fct_comparaison_nationale f
                        JOIN pub_registre r USING (indicateur) JOIN pub_unites u USING (annee, niveau, code)
                        WHERE u.est_principal AND f.statut = 'publie' AND r.unite = 'ratio' AND r.sens = 'neutre'
                          AND round(f.valeur, r.decimales) IN (0, 1)""")
    assert ("part_urbain", 2022) in bare          # the Hauts-de-Seine: every centre is in an urban area
    published = set(query(db, "SELECT indicateur, annee FROM publie.pub_comparaison_nationale"))
    assert not published & set(bare)
    assert published                                # the rest is still compared


def _populations() -> dict[str, int]:
    with (ROOT / "data" / "reference" / "communes.csv").open(encoding="utf-8") as f:
        return {r["code_insee"]: int(r["population"]) for r in csv.DictReader(f) if r["population"]}


def test_rates_per_10000_inhabitants_follow_the_reference_populations_and_secrecy(site):
    db = site[0]
    populations = _populations()
    rows = query(db, """SELECT indicateur, niveau, code, valeur, valeur_pour_10000, statut FROM publie.pub_indicateurs
                        WHERE indicateur IN (SELECT indicateur FROM publie.pub_registre WHERE par_habitant)""")
    communes = [r for r in rows if r[1] == "commune" and r[5] == "publie"]
    assert communes
    for indicateur, _, code, value, rate, _ in communes:
        assert rate == pytest.approx(round(value / populations[code] * 10000, 1)), (indicateur, code)
    assert not [r for r in rows if r[5] != "publie" and r[4] is not None]
    assert not query(db, """SELECT indicateur FROM publie.pub_indicateurs WHERE valeur_pour_10000 IS NOT NULL
                            AND indicateur NOT IN (SELECT indicateur FROM publie.pub_registre WHERE par_habitant)""")


def test_a_unit_sheet_lists_its_centres_and_sets_like_beside_like(site):
    db, root = site[0], site[1]
    annee, code = query(db, """SELECT annee, code FROM publie.pub_unites WHERE niveau = 'territoire'
                               AND a_une_fiche ORDER BY annee DESC, code LIMIT 1""")[0]
    page = (root / "public" / str(annee) / "territoires" / f"{code.lower()}.html").read_text(encoding="utf-8")
    centres = query(db, "SELECT nom_structure, commune FROM publie.pub_centres WHERE annee = ? AND niveau = "
                        "'territoire' AND code = ?", [annee, code])
    (n,), = query(db, "SELECT nb_structures FROM publie.pub_unites WHERE annee = ? AND niveau = 'territoire' "
                      "AND code = ?", [annee, code])
    assert len(centres) == n
    listing = re.search(r'<ul class="centres">(.*?)</ul>', page, re.S)[1]
    assert listing.count("<li>") == n
    import html as h
    assert all(h.escape(name, quote=False) in listing or h.escape(name) in listing for name, _ in centres)
    # the département's count is never beside the territory's: its rate per 10,000 inhabitants is
    (dep, dep_rate), = query(db, """SELECT valeur, valeur_pour_10000 FROM publie.pub_indicateurs
                                    WHERE annee = ? AND niveau = 'departement' AND indicateur = 'habitants_touches'""",
                             [annee])
    row = re.search(r'indicateurs/habitants_touches\.html.*?</tr>', page, re.S)[0]
    assert nombre(dep) not in row and nombre(dep_rate, 1) in row
    # a chart per section, static (no chart library on a unit sheet)
    sections = page.count('<section aria-labelledby="b')
    assert page.count('<div class="trace-statique"><svg') >= sections - 1 >= 3
    assert "plotly.min.js" not in page
