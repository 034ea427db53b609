"""Statistical disclosure control, proven by the attack itself on a real dbt build: subtract the
published children from every published parent; what is left never describes fewer than the
minimum of structures. Plus the dominance rule, and what the public marts leave out."""
import pandas as pd
import pytest

from conftest import DEMO_DIR, frame, query, write_year_files
from ingest.load import ingest_paths
from observatoire.build import build
from observatoire.demo import build_truth

pytestmark = pytest.mark.lent     # the full tier: real dbt, GX, Chromium or whole runs

PUBLIC = ("commune", "territoire", "departement", "national")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    db = tmp_path_factory.mktemp("secret") / "o.duckdb"
    assert not ingest_paths([DEMO_DIR], db).rejected
    build(db, docs=False)
    return db


def attack(cells: pd.DataFrame, links: pd.DataFrame, counts: pd.DataFrame, column: str) -> pd.DataFrame:
    """Every published parent minus its published children, for one column (valeur,
    numerateur...): what is left, and how many structures the withheld children cover."""
    cells = cells.merge(counts, on=["indicateur", "annee", "niveau", "code"])
    kids = links.merge(cells, on=["annee", "niveau", "code"])
    parents = cells.rename(columns={"niveau": "niveau_parent", "code": "code_parent",
                                    "statut": "statut_parent", column: "parent"})
    kids = kids.merge(parents[["indicateur", "annee", "niveau_parent", "code_parent", "statut_parent", "parent"]],
                      on=["indicateur", "annee", "niveau_parent", "code_parent"])
    kids = kids[kids["statut_parent"] == "publie"].copy()
    kids["masque"] = kids["statut"] == "secret"
    kids["publie_"] = kids[column].where(~kids["masque"], 0).fillna(0)
    kids["n_masque"] = kids["n_contributeurs"].where(kids["masque"], 0)
    groups = kids.groupby(["indicateur", "annee", "niveau_parent", "code_parent"]).agg(
        parent=("parent", "first"), publies=("publie_", "sum"), n_masque=("n_masque", "sum"),
        enfants_masques=("masque", "sum")).reset_index()
    groups["reste"] = groups["parent"] - groups["publies"]
    return groups


def test_no_withheld_group_can_be_recovered_by_subtraction(built):
    pub = frame(built, "SELECT * FROM pub_indicateurs")
    counts = frame(built, "SELECT indicateur, annee, niveau, code, n_contributeurs FROM fct_indicateurs")
    links = frame(built, "SELECT * FROM int_unites_hierarchie")
    registry = frame(built, "SELECT indicateur, n_min, agregat FROM registre_indicateurs")
    additive = registry[registry["agregat"] != "mediane"]
    checked = 0
    for column in ("valeur", "numerateur", "denominateur"):
        groups = attack(pub, links, counts, column).merge(additive, on="indicateur")
        groups = groups[groups["parent"].notna()]
        leaks = groups[(groups["n_masque"] > 0) & (groups["n_masque"] < groups["n_min"])]
        assert leaks.empty, leaks.head(10).to_string()
        # the attack model is right: with nothing withheld, a parent is the sum of its children
        whole = groups[(groups["enfants_masques"] == 0) & (column != "valeur")]
        assert (whole["reste"].abs() <= 0.02 * whole["parent"].abs().clip(lower=1) + 0.05).all()
        checked += len(groups)
    assert checked > 1000
    assert (pub["statut"] == "secret").sum() > 100 and (
        frame(built, "SELECT count(*) n FROM fct_indicateurs WHERE motif_secret = 'complementaire'")["n"][0] > 0)


def test_public_marts_hold_nothing_withheld(built):
    pub = frame(built, "SELECT * FROM pub_indicateurs")
    secret = pub[pub["statut"] == "secret"]
    assert len(secret) and secret[["valeur", "numerateur", "denominateur", "n_structures"]].isna().all().all()
    assert set(pub["niveau"]) <= set(PUBLIC)
    trends = frame(built, "SELECT * FROM pub_tendances WHERE statut <> 'publie'")
    assert trends[["valeur", "verdict_un_an", "evolution_un_an", "evolution_ensemble_un_an",
                   "valeur_attendue"]].isna().all().all()


def test_a_structure_that_makes_most_of_a_total_is_not_published(tmp_path):
    """Dominance: one centre with more than 85 % of a commune's inhabitants reached."""
    truth = build_truth("92")
    survey = {s: d for s, d, _ in truth.per_year}[2023].copy()
    answered = survey[survey["repondant"] & survey["habitants_touches"].notna()]
    sizes = answered.groupby("code_commune").size()
    commune = sizes[sizes >= 4].index[0]
    members = answered[answered["code_commune"] == commune]
    big = members.index[0]
    others = members["habitants_touches"].drop(big).sum()
    survey.loc[big, "habitants_touches"] = others * 20
    write_year_files(truth, tmp_path / "extraits", {2023: survey})
    db = tmp_path / "o.duckdb"
    ingest_paths([tmp_path / "extraits"], db)
    build(db, docs=False)
    cell = query(db, "SELECT statut, motif_secret, n_contributeurs FROM fct_indicateurs WHERE indicateur = "
                     "'habitants_touches' AND annee = 2022 AND niveau = 'commune' AND code = ?", [commune])[0]
    assert cell[0] == "secret" and cell[1] == "dominance" and cell[2] >= 4
    # its other figures (a share of structures, no dominance rule) are still published
    assert query(db, "SELECT statut FROM fct_indicateurs WHERE indicateur = 'part_theme_culture' AND annee = 2022 "
                     "AND niveau = 'commune' AND code = ?", [commune]) == [("publie",)]
    assert query(db, "SELECT valeur FROM pub_indicateurs WHERE indicateur = 'habitants_touches' AND annee = 2022 "
                     "AND niveau = 'commune' AND code = ?", [commune]) == [(None,)]


def test_trend_verdicts_rest_on_a_named_constant_panel(built):
    trends = frame(built, """SELECT t.*, r.comparaison, r.n_min FROM pub_tendances t
                             JOIN registre_indicateurs r USING (indicateur) WHERE annee = 2022""")
    panel = trends[trends["comparaison"] == "panel"]
    judged = panel[panel["verdict_un_an"].notna()]
    assert len(judged) > 50
    assert (judged["n_panel_un_an"] >= judged["n_min"]).all()
    # a verdict on too small a panel is never given, even where both years are published
    small = frame(built, """SELECT t.* FROM fct_tendances t JOIN registre_indicateurs r USING (indicateur)
                            WHERE r.comparaison = 'panel' AND t.statut = 'publie' AND t.n_panel_precedente < 3""")
    assert small["verdict_un_an"].isna().all()
    # a figure is shown only when the structures outside the panel are none or at least three each year
    shown = judged[judged["evolution_un_an"].notna()]
    for n, prev, k in zip(shown["n_structures"], shown["n_structures_precedente"], shown["n_panel_un_an"]):
        assert n - k in (0,) or n - k >= 3
        assert prev - k in (0,) or prev - k >= 3


def test_national_comparison_prefers_the_same_year(built):
    # the year is chosen in fct_comparaison_nationale; the published mart then leaves out the rows that
    # say nothing locally, such as this 100 % urban département's part_urbain (test_series_site.py)
    rows = frame(built, "SELECT * FROM fct_comparaison_nationale WHERE niveau = 'departement'")
    urbain = rows[rows["indicateur"] == "part_urbain"].set_index("annee")
    assert urbain.loc[2020, "ecart_annees"] == 0 and urbain.loc[2020, "valeur_nationale"] == 0.78
    assert urbain.loc[2022, "annee_nationale"] == 2020 and urbain.loc[2022, "ecart_annees"] == 2
    assert urbain.loc[2017, "annee_nationale"] == 2016      # the nearest year, not the latest
    assert rows["editeur_source"].notna().all() and rows["titre_source"].notna().all()
    assert set(rows["type_source"]) <= {"rapport_senacs", "institution", "reseau", "presse"}


def test_the_open_data_file_resists_the_subtraction_attack(site):
    """The attack on the file partners download: every published parent minus its published
    children (a child absent from the file is withheld), values and numerators alike; whatever
    is left covers no structure or at least the minimum (counted in the warehouse)."""
    db, root, *_ = site
    published = pd.read_csv(root / "public" / "donnees" / "indicateurs.csv", sep=";", encoding="utf-8-sig",
                            dtype={"code": str})
    assert set(published["niveau"]) <= set(PUBLIC) and len(published) > 1000
    counts = frame(db, "SELECT indicateur, annee, niveau, code, n_contributeurs FROM fct_indicateurs")
    links = frame(db, "SELECT * FROM int_unites_hierarchie")
    registry = frame(db, "SELECT indicateur, n_min, agregat FROM registre_indicateurs")
    # every cell the warehouse holds, with what the file says of it (absent: withheld)
    cells = counts.merge(published[["indicateur", "annee", "niveau", "code", "valeur", "numerateur", "statut"]],
                         on=["indicateur", "annee", "niveau", "code"], how="left")
    cells["statut"] = cells["statut"].fillna("secret")
    checked = 0
    for column in ("valeur", "numerateur"):
        groups = attack(cells.drop(columns="n_contributeurs"), links, counts, column).merge(
            registry[registry["agregat"] != "mediane"], on="indicateur")
        groups = groups[groups["parent"].notna()]
        leaks = groups[(groups["n_masque"] > 0) & (groups["n_masque"] < groups["n_min"])]
        assert leaks.empty, leaks.head(10).to_string()
        checked += len(groups)
    assert checked > 500
    # nor through a linked indicator of the same unit and year
    relations = frame(db, "SELECT * FROM relations_indicateurs")
    leaks = relation_leaks(cells[["indicateur", "annee", "niveau", "code", "statut"]], relations)
    assert leaks.empty, leaks.head(10).to_string()


def relation_leaks(cells: pd.DataFrame, relations: pd.DataFrame) -> pd.DataFrame:
    """The attack through linked indicators: in one unit and year, a declared relation whose
    members are all known (published, or nothing to compute) but one gives that one back. `cells` holds indicateur, annee,
    niveau, code and statut."""
    members = relations[["relation", "indicateur"]].drop_duplicates()
    sizes = members.groupby("relation").size().rename("n_membres").reset_index()
    linked = cells.merge(members, on="indicateur")
    linked["masque"] = linked["statut"] == "secret"
    linked["publie"] = linked["statut"].isin(["publie", "non_disponible"])    # nothing to compute adds 0
    per_cell = linked.groupby(["relation", "annee", "niveau", "code"]).agg(
        masques=("masque", "sum"), publies=("publie", "sum")).reset_index().merge(sizes, on="relation")
    return per_cell[(per_cell["masques"] == 1) & (per_cell["publies"] == per_cell["n_membres"] - 1)]


@pytest.mark.lent
def test_declared_relations_hold_on_the_data(built):
    """Each relation of the seed is true of the figures (full precision): sum of coefficient x
    measure is zero wherever every member is computed, so the secrecy reasons on real links."""
    relations = frame(built, "SELECT * FROM relations_indicateurs")
    cells = frame(built, "SELECT indicateur, annee, niveau, code, valeur, numerateur, denominateur FROM indicateurs")
    long = cells.melt(id_vars=["indicateur", "annee", "niveau", "code"], var_name="mesure", value_name="x")
    terms = relations.merge(long, on=["indicateur", "mesure"])
    terms["terme"] = terms["coefficient"] * terms["x"]
    sums = terms.groupby(["relation", "annee", "niveau", "code"]).agg(
        somme=("terme", "sum"), complet=("x", lambda s: s.notna().all()), n=("x", "size"),
        echelle=("terme", lambda s: s.abs().max())).reset_index()
    expected = relations.groupby("relation").size().rename("attendu").reset_index()
    sums = sums.merge(expected, on="relation")
    sums = sums[sums["complet"] & (sums["n"] == sums["attendu"])]
    assert set(sums["relation"]) == set(relations["relation"])
    assert (sums["somme"].abs() <= 1e-6 * sums["echelle"].clip(lower=1)).all(), sums[
        sums["somme"].abs() > 1e-6 * sums["echelle"].clip(lower=1)].head().to_string()


@pytest.mark.lent
def test_no_withheld_cell_comes_back_through_a_linked_indicator(built):
    pub = frame(built, "SELECT indicateur, annee, niveau, code, statut FROM pub_indicateurs")
    relations = frame(built, "SELECT * FROM relations_indicateurs")
    leaks = relation_leaks(pub, relations)
    assert leaks.empty, leaks.head(10).to_string()
    linked = frame(built, "SELECT count(*) n FROM fct_indicateurs WHERE motif_secret = 'indicateur_lie'")
    assert linked["n"][0] > 0


@pytest.mark.lent
def test_a_dominated_part_hides_its_total_and_the_other_part(tmp_path):
    """The leak seen on real extracts: in one commune, one centre makes nearly all the activity
    volunteers (withheld for dominance) but not the total of volunteers nor the board volunteers;
    published, total - board volunteers would give the activity volunteers back exactly."""
    truth = build_truth("92")
    survey = {s: d for s, d, _ in truth.per_year}[2023].copy()
    answered = survey[survey["repondant"] & survey["benevoles_activite"].notna()
                      & survey["benevoles_instance"].notna()]
    sizes = answered.groupby("code_commune").size()
    commune = sizes[sizes >= 4].index[0]
    members = answered[answered["code_commune"] == commune]
    big, others = members.index[0], members.index[1:]
    heavy = 20 * max(int(members.loc[others, "benevoles_activite"].sum()), 1)
    survey.loc[big, "benevoles_activite"] = heavy
    survey.loc[big, "benevoles_instance"] = 0
    survey.loc[others, "benevoles_instance"] = heavy // len(others) + 1
    write_year_files(truth, tmp_path / "extraits", {2023: survey})
    db = tmp_path / "o.duckdb"
    ingest_paths([tmp_path / "extraits"], db)
    build(db, docs=False)
    cells = frame(db, "SELECT indicateur, p.statut, f.motif_secret, p.valeur FROM pub_indicateurs p "
                      "JOIN fct_indicateurs f USING (indicateur, annee, niveau, code) WHERE annee = 2022 AND niveau = 'commune' "
                      "AND code = ? AND indicateur LIKE 'benevoles_%'", [commune]).set_index("indicateur")
    # the part alone is dominated; the total and the other part are not, yet both are withheld
    assert cells.loc["benevoles_activite", "motif_secret"] == "dominance"
    assert cells.loc["benevoles_total", "motif_secret"] == "indicateur_lie"
    assert cells.loc["benevoles_instance", "motif_secret"] == "indicateur_lie"
    assert cells["valeur"].isna().all()
    pub = frame(db, "SELECT indicateur, annee, niveau, code, statut FROM pub_indicateurs")
    relations = frame(db, "SELECT * FROM relations_indicateurs")
    assert relation_leaks(pub, relations).empty
    # and the hierarchy still holds with the added cells
    counts = frame(db, "SELECT indicateur, annee, niveau, code, n_contributeurs FROM fct_indicateurs")
    links = frame(db, "SELECT * FROM int_unites_hierarchie")
    registry = frame(db, "SELECT indicateur, n_min, agregat FROM registre_indicateurs")
    full = frame(db, "SELECT * FROM pub_indicateurs")
    for column in ("valeur", "numerateur"):
        groups = attack(full, links, counts, column).merge(registry[registry["agregat"] != "mediane"], on="indicateur")
        groups = groups[groups["parent"].notna()]
        assert groups[(groups["n_masque"] > 0) & (groups["n_masque"] < groups["n_min"])].empty
