"""The board's verdicts, computed in dbt (pub_tableau_de_bord) and only laid out by the site: in the
project's last year a target is reached or not; the share of the way from the baseline to the
target, the gap and the year it was reached add up with the published values; the summary shows
the mart's rows in the mart's order, with the mart's figures."""
import html
import re

import pytest

from conftest import frame
from reports.formatting import pourcentage


def test_a_project_without_any_target_says_so():
    """Fast: the page's template alone, for a federation whose project sets no target: no empty
    summary table, a plain sentence, and its indicators apart, each saying "pas de cible"."""
    from reports.site import environment
    row = {"indicateur": "activites_x", "libelle": "Activités X", "action": "X.1", "reference": "3",
           "annee_reference": 2019, "valeur": "5", "annee": 2022, "ecart": "+2", "cible": "pas de cible"}
    page = environment().get_template("tableau_de_bord.html").render(
        titre="Projet : tableau de bord", racine="", federation={"nom": "Fédération test"}, projet={},
        entete="", pied="", graphiques=[], csv_nom="", annee=2022, synthese=[], axes=[], annees_reference=[2019],
        sans_cible=[{"code": "X", "libelle": "Axe X", "lignes": [row]}], n_sans_cible=1, derniere=True)
    assert 'table class="synthese' not in page and "0 cible" not in page
    assert "ne fixe de cible chiffrée à aucun" in page and '<td data-label="Cible">pas de cible</td>' in page


@pytest.fixture(scope="module")
def board(site):
    db, root, *_ = site
    rows = frame(db, "SELECT b.*, r.sens FROM publie.pub_tableau_de_bord b "
                     "JOIN publie.pub_registre r USING (indicateur) ORDER BY indicateur, annee")
    return db, root, rows


@pytest.mark.lent
def test_verdicts_add_up_with_the_published_values(board):
    _, _, rows = board
    last_year = int(rows["annee_cible"].max())
    final = rows[rows["annee"] == last_year]
    with_target = final[final["cible"].notna()]
    assert len(with_target) >= 10
    # in the project's last year: reached or not, never "late"
    assert set(with_target["verdict"]) <= {"atteinte", "non_atteinte", "non_calculable"}
    assert set(final.loc[final["cible"].isna(), "verdict"]) == {"pas_de_cible"}
    sign = with_target["sens"].map({"hausse": 1, "baisse": -1})
    judged = with_target[with_target["verdict"] != "non_calculable"]
    reached = (sign[judged.index] * (judged["valeur"] - judged["cible"]) >= 0)
    assert ((judged["verdict"] == "atteinte") == reached).all()
    # the share of the way, on the published (rounded) values
    # (a target ahead of the baseline: one already passed there has none, tested below)
    moving = judged[sign[judged.index] * (judged["cible"] - judged["valeur_reference"]) > 0]
    assert judged.loc[~judged.index.isin(moving.index), "part_chemin"].isna().all()
    expected = (moving["valeur"] - moving["valeur_reference"]) / (moving["cible"] - moving["valeur_reference"])
    assert (moving["part_chemin"] - expected).abs().max() < 1e-9
    assert (judged["ecart_reference"] - (judged["valeur"] - judged["valeur_reference"])).abs().max() < 1e-6
    exceeded = moving[moving["part_chemin"] > 1]
    assert len(exceeded) >= 3 and (exceeded["depassement"] - (exceeded["part_chemin"] - 1)).abs().max() < 1e-9
    # the year a target was reached is the first year it was
    for _, r in judged[judged["verdict"] == "atteinte"].iterrows():
        history = rows[(rows["indicateur"] == r["indicateur"]) & (rows["annee"] > r["annee_reference"])
                       & rows["valeur"].notna()]
        s = 1 if r["sens"] == "hausse" else -1
        first = min(a for a, v in zip(history["annee"], history["valeur"]) if s * (v - r["cible"]) >= 0)
        assert r["annee_atteinte"] == first, r["indicateur"]
    # before the last year, the trajectory verdicts are still given
    earlier = rows[(rows["annee"] < last_year) & (rows["annee"] > rows["annee_reference"]) & rows["cible"].notna()]
    assert set(earlier["verdict"]) & {"en_bonne_voie", "en_retard", "hors_trajectoire"}


@pytest.mark.lent
def test_what_needs_attention_comes_first(board):
    _, _, rows = board
    for _, year in rows.groupby("annee"):
        year = year.sort_values("rang_attention")
        assert list(year["rang_attention"]) == list(range(1, len(year) + 1))
        assert year["priorite"].is_monotonic_increasing
        assert (year.loc[year["cible"].isna(), "rang_attention"].min() >
                year.loc[year["cible"].notna(), "rang_attention"].max())


@pytest.mark.lent
def test_the_summary_shows_the_mart_in_its_order(board):
    db, root, rows = board
    page = (root / "public" / "tableau-de-bord.html").read_text(encoding="utf-8")
    summary = re.search(r'<table class="synthese.*?</table>', page, re.S).group(0)
    shown = []
    for row in re.findall(r'<tr><th scope="row">(.*?)</tr>', summary, re.S):
        name = html.unescape(re.search(r'<a href="#i-[^"]+">([^<]+)</a>', row).group(1))
        verdict = re.search(r'<span class="statut (\w+)">', row).group(1)
        share = re.search(r'<span class="chemin">.*?</span></span>\s*([^<]+)</td>', row, re.S).group(1).strip()
        shown.append((name, verdict, share))
    last = rows[(rows["annee"] == rows["annee"].max()) & rows["cible"].notna()].sort_values("rang_attention")
    registry = frame(db, "SELECT indicateur, coalesce(libelle_court, libelle) AS nom FROM publie.pub_registre")
    names = dict(zip(registry["indicateur"], registry["nom"]))
    assert [(names[i], v) for i, v in zip(last["indicateur"], last["verdict"])] == [(n, v) for n, v, _ in shown]
    assert [pourcentage(p, 0) if p == p else "–" for p in last["part_chemin"]] == [c for _, _, c in shown]
    labels = dict(frame(db, "SELECT code, libelle FROM publie.pub_libelles WHERE domaine = 'verdict_cible'")
                  .itertuples(index=False))
    assert "non atteinte" in labels.values()
    assert all(f'<span class="statut {v}">{labels[v]}</span>' in summary for v in set(last["verdict"]))
    # the indicators without a target are apart, saying so
    apart = re.search(r'<section aria-labelledby="sans-cible".*?</section>', page, re.S).group(0)
    no_target = rows[(rows["annee"] == rows["annee"].max()) & rows["cible"].isna()]
    assert apart.count(f'<td data-label="Cible">{labels["pas_de_cible"]}</td>') == len(no_target) > 0


@pytest.mark.lent
def test_a_target_already_passed_at_the_baseline_is_said_and_has_no_way_to_go(tmp_path):
    """A federation that sets a target below its baseline, for an indicator meant to rise: the board
    calls it reached from the first year judged, with no share of the way (it was 0,5 of a way
    running backwards), and every build names the indicator for the analyst to review its target.
    A target equal to the baseline (the demo's six events a year) is not said."""
    import csv
    import shutil

    from conftest import DEMO_DIR, ROOT, observatoire, query

    folder = tmp_path / "f92"
    made = observatoire("init", folder, "--federation", "Fédération des Hauts-de-Seine", "--departement", "92",
                        cwd=tmp_path, tmp=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    for path in DEMO_DIR.iterdir():
        shutil.copy2(path, folder / "extraits" / path.name)
    shutil.copy2(ROOT / "data" / "reference" / "projet_federal.yaml", folder / "config" / "projet_federal.yaml")
    with (ROOT / "data" / "seeds" / "registre_indicateurs.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    moved = next(r for r in rows if r["indicateur"] == "part_outils_numeriques")
    assert moved["sens"] == "hausse" and float(moved["cible"]) > 0.1
    moved["cible"] = "0.1"
    with (folder / "config" / "registre_indicateurs.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert observatoire("ingest", cwd=folder, tmp=tmp_path).returncode == 0
    built = observatoire("build", "--sans-docs", cwd=folder, tmp=tmp_path)
    said = " ".join((built.stdout + built.stderr).split())
    assert built.returncode == 0, said
    db = folder / "sortie" / "entrepot" / "observatoire.duckdb"
    (baseline, year), = query(db, "SELECT DISTINCT valeur_reference, annee_reference FROM pub_tableau_de_bord "
                                  "WHERE indicateur = 'part_outils_numeriques' AND valeur_reference IS NOT NULL")
    assert baseline > 0.1
    shown = f"{baseline:.6f}".rstrip("0").rstrip(".").replace(".", ",")
    assert "dont la cible était déjà dépassée l'année de référence" in said
    assert f"Part des structures utilisant des outils numériques collaboratifs : {shown} en {year}, cible 0,1" in said
    assert "Temps forts" not in said.split("dont la cible était déjà dépassée")[1]
    judged = query(db, "SELECT verdict, part_chemin, depassement FROM pub_tableau_de_bord "
                       "WHERE indicateur = 'part_outils_numeriques' AND annee > annee_reference AND valeur IS NOT NULL")
    assert judged and all(v == "atteinte" and part is None and over is None for v, part, over in judged)
