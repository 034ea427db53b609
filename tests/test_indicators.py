"""The indicators, recomputed independently in plain pandas from the generator's truth."""
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import DEMO_DIR, ROOT, frame, query
from common.errors import ObservatoireError
from ingest.load import ingest_paths
from observatoire.build import build
from observatoire.demo import build_truth

pytestmark = pytest.mark.lent     # the full tier: real dbt, GX, Chromium or whole runs

LEVELS = ["commune", "territoire", "departement"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    db = tmp_path_factory.mktemp("build") / "o.duckdb"
    assert not ingest_paths([DEMO_DIR], db).rejected
    build(db, docs=False)
    return db


@pytest.fixture(scope="module")
def truth():
    """The declared answers with each structure placed in its commune, territory, département."""
    t = build_truth("92")
    communes = pd.read_csv(ROOT / "data/reference/communes.csv", dtype=str, keep_default_na=False)
    df = t.reponses.merge(communes[["code_insee", "code_departement", "code_ept"]],
                          left_on="code_commune", right_on="code_insee")
    df["annee"] = df["annee_donnees"]
    df["commune"] = df["code_commune"]
    df["territoire"] = df["code_ept"].where(df["code_ept"] != "", df["code_departement"])
    df["departement"] = df["code_departement"]
    return df, t.activites


def expected_values(df: pd.DataFrame, level: str) -> dict[str, pd.Series]:
    """Definitions of the issue, written directly in pandas."""
    num = lambda c: pd.to_numeric(df[c], errors="coerce")
    r = df[df["repondant"]].copy()
    g = df.groupby(["annee", level])
    gr = r.groupby(["annee", level])
    out = {
        "nb_structures": g.size().astype(float),
        "nb_repondants": g["repondant"].sum().astype(float),
        "taux_reponse": g["repondant"].mean(),
        "part_urbain": gr["type_territoire"].apply(lambda s: (s.dropna() == "urbain").mean()),
        "part_qpv": gr["qpv"].apply(lambda s: (s.dropna() == "en_qpv").mean()),
        "part_theme_culture": gr["theme_culture"].apply(lambda s: s.dropna().astype(bool).mean()),
        "habitants_touches": gr["habitants_touches"].apply(lambda s: s.dropna().sum() if s.notna().any() else np.nan),
        "etp_moyen": gr["etp_total"].apply(lambda s: s.dropna().astype(float).mean()),
        "budget_median": gr["charges_total"].apply(lambda s: s.dropna().astype(float).median()),
    }
    r["benev"] = num("benevoles_activite").loc[r.index].fillna(0) + num("benevoles_instance").loc[r.index].fillna(0)
    known = r["benevoles_activite"].notna() | r["benevoles_instance"].notna()
    out["benevoles_total"] = r[known].groupby(["annee", level])["benev"].sum()
    out["etp_benevoles"] = gr["heures_benevolat"].apply(lambda s: s.dropna().sum() / 1607 if s.notna().any() else np.nan)
    fin = r[pd.to_numeric(r["produits_total"], errors="coerce") > 0].copy()
    caf = sum(pd.to_numeric(fin[c], errors="coerce").fillna(0) for c in ("caf_ps_agc", "caf_ps_acf", "caf_autres"))
    fin["caf"], fin["com"] = caf, pd.to_numeric(fin["communes_interco"], errors="coerce").fillna(0)
    fin["prod"] = pd.to_numeric(fin["produits_total"])
    fg = fin.groupby(["annee", level])
    out["part_financement_caf"] = fg["caf"].sum() / fg["prod"].sum()
    out["part_autres_ressources"] = 1 - (fg["caf"].sum() + fg["com"].sum()) / fg["prod"].sum()
    ca = r[r["administrateurs_habitants"].notna() & (pd.to_numeric(r["administrateurs"], errors="coerce") > 0)]
    cg = ca.groupby(["annee", level])
    out["part_habitants_ca"] = (cg["administrateurs_habitants"].apply(lambda s: s.astype(float).sum())
                                / cg["administrateurs"].apply(lambda s: s.astype(float).sum()))
    return out


@pytest.mark.parametrize("level", LEVELS)
def test_indicators_equal_the_definitions(built, truth, level):
    df, _ = truth
    got = frame(built, "SELECT indicateur, annee, code, valeur FROM indicateurs WHERE niveau = ?", [level])
    got = got.set_index(["indicateur", "annee", "code"])["valeur"]
    checked = 0
    for indicator, expected in expected_values(df, level).items():
        for (annee, code), value in expected.items():
            actual = got.get((indicator, annee, code))
            if pd.isna(value):
                assert actual is None or pd.isna(actual), (indicator, annee, code)
            else:
                assert actual == pytest.approx(float(value), rel=1e-9), (indicator, annee, code)
            checked += 1
    assert checked >= 14 * 6   # every indicator above, every data year, at least one unit


def test_activity_indicators(built, truth):
    _, activities = truth
    activities = activities.assign(annee=pd.to_datetime(activities["date"]).dt.year)
    got = frame(built, "SELECT indicateur, annee, valeur FROM indicateurs WHERE niveau = 'departement' AND code = '92' "
                       "AND (indicateur LIKE 'activites_%' OR indicateur LIKE 'participants_%' OR indicateur = 'temps_forts')")
    got = got.set_index(["indicateur", "annee"])["valeur"]
    for annee, year in activities.groupby("annee"):
        for code in ("A1.1", "A2.3", "A3.4"):
            slug = code.lower().replace(".", "_")
            rows = year[year["action_code"] == code]
            assert got[(f"activites_{slug}", annee)] == len(rows)
            assert got[(f"participants_{slug}", annee)] == rows["nb_participants"].sum()
        assert got[("temps_forts", annee)] == (year["type_activite"] == "temps_fort").sum()


def test_every_core_indicator_at_every_level_for_every_year(built):
    registry = pd.read_csv(ROOT / "data/seeds/registre_indicateurs.csv")
    survey = set(registry.loc[registry["source"] == "enquete", "indicateur"])
    present = frame(built, "SELECT niveau, annee, indicateur FROM indicateurs GROUP BY ALL")
    years = sorted(present.loc[present["indicateur"] == "nb_structures", "annee"].unique())
    assert years == list(range(2017, 2023))
    for level in ["structure", *LEVELS]:
        for year in years:
            have = set(present.query("niveau == @level and annee == @year")["indicateur"])
            assert survey <= have, (level, year, survey - have)
    activity = set(registry.loc[registry["source"] == "activites", "indicateur"])
    for year in range(2019, 2023):  # noqa: B007  (read by the query as @year)
        assert activity <= set(present.query("niveau == 'departement' and annee == @year")["indicateur"])
    assert len(survey) + len(activity) == 93     # issue 17: 15 collected indicators, 8 key figures by CS and EVS


def test_secrecy_rule(built):
    rows = frame(built, """SELECT i.*, r.n_min, r.dominance FROM indicateurs i
                           JOIN registre_indicateurs r USING (indicateur)""")
    cells = frame(built, "SELECT * FROM fct_indicateurs UNION ALL BY NAME SELECT * FROM fct_indicateurs_structures")
    rows = rows.merge(cells[["indicateur", "annee", "niveau", "code", "n_contributeurs", "n_population",
                             "motif_secret"]], on=["indicateur", "annee", "niveau", "code"])
    sensitive = (rows["n_min"] > 1) | rows["dominance"]
    public = rows["niveau"] != "structure"
    too_few = (rows["n_contributeurs"] < rows["n_min"]) & ~((rows["n_contributeurs"] == 0)
                                                           & (rows["n_population"] >= rows["n_min"]))
    assert (rows.loc[sensitive & too_few, "statut"] == "secret").all()
    assert (rows.loc[sensitive & too_few, "motif_secret"] == "frequence").all()
    assert (rows.loc[~sensitive & rows["valeur"].notna(), "statut"] == "publie").all()
    assert (rows.loc[rows["valeur"].isna() & (rows["statut"] != "secret"), "statut"] == "non_disponible").all()
    # every structure-level figure of a survey indicator is secret: never public
    assert (rows.loc[(rows["niveau"] == "structure") & sensitive, "statut"] == "secret").all()
    # a commune with two respondents: its share is secret, its count of structures is not (n_min 1)
    pair = rows[(rows["niveau"] == "commune") & (rows["indicateur"] == "part_urbain") & (rows["n_structures"] == 2)]
    assert len(pair) and (pair["statut"] == "secret").all()
    counts = rows[(rows["niveau"] == "commune") & (rows["indicateur"] == "nb_structures")]
    assert (counts["statut"] == "publie").all()
    # one centre exposed by counts: the response rate follows the respondents, as nb_repondants does
    rate = rows[public & (rows["indicateur"] == "taux_reponse")].set_index(["annee", "niveau", "code"])["statut"]
    answered = rows[public & (rows["indicateur"] == "nb_repondants")].set_index(["annee", "niveau", "code"])["statut"]
    assert rate.eq(answered.reindex(rate.index)).all()
    # secondary suppression happened, below the département only
    complementary = rows[rows["motif_secret"] == "complementaire"]
    assert len(complementary) and set(complementary["niveau"]) <= {"commune", "territoire"}
    assert (rows.loc[rows["niveau"] == "departement", "statut"] != "secret").all()


def test_trends_put_each_axis_against_baseline_and_target(built):
    t = frame(built, """SELECT t.*, d.axe FROM fct_tendances t JOIN dim_indicateurs d USING (indicateur)
                        WHERE niveau = 'departement' AND annee = 2022 AND t.cible IS NOT NULL""")
    assert set(t["axe"]) == {"A1", "A2", "A3"}
    assert t["statut_cible"].notna().all()
    assert set(t["statut_cible"]) <= {"en_bonne_voie", "en_retard", "hors_trajectoire"}
    row = t.set_index("indicateur").loc["taux_reponse"]
    base = query(built, "SELECT valeur FROM indicateurs WHERE indicateur = 'taux_reponse' AND annee = 2018 "
                        "AND niveau = 'departement'")[0][0]
    assert row["valeur_reference"] == pytest.approx(base)
    assert row["ecart_reference"] == pytest.approx(row["valeur"] - base)
    # a higher response rate that stays below the linear path to 100 % is late, not off track
    expected = "en_bonne_voie" if row["valeur"] >= row["valeur_attendue"] else (
        "en_retard" if row["valeur"] > base else "hors_trajectoire")
    assert row["statut_cible"] == expected


def test_constant_panel_uses_structures_present_both_years(built, truth):
    df, _ = truth
    resp = df[df["repondant"] & df["habitants_touches"].notna()]
    both = set(resp.loc[resp["annee"] == 2021, "code_structure"]) & set(resp.loc[resp["annee"] == 2020, "code_structure"])
    by = resp.set_index(["annee", "code_structure"])["habitants_touches"].astype(float)
    expected = sum(by[(2021, c)] - by[(2020, c)] for c in both)
    got = query(built, "SELECT variation_panel, n_panel_precedente FROM fct_tendances WHERE indicateur = "
                       "'habitants_touches' AND niveau = 'departement' AND annee = 2021")[0]
    assert got == (pytest.approx(expected), len(both))


def test_completeness_rates(built, truth):
    df, _ = truth
    got = frame(built, "SELECT annee, bloc, taux_reponse, taux_completude FROM fct_completude "
                       "WHERE niveau = 'departement'")
    rates = df.groupby("annee")["repondant"].mean()
    for _, row in got.iterrows():
        assert row["taux_reponse"] == pytest.approx(rates[row["annee"]])
    assert set(got["bloc"]) == {"identite", "publics_actions", "participation", "partenariats", "personnel", "finances"}
    assert got["taux_completude"].between(0.9, 1).all()


def test_national_comparison_carries_its_source(built):
    rows = frame(built, "SELECT * FROM fct_comparaison_nationale WHERE indicateur = 'part_urbain'")
    assert len(rows) and rows["source_nationale"].str.startswith("https://").all()
    same_year = rows[rows["annee"] == 2020]
    assert (same_year["annee_nationale"] == 2020).all() and (same_year["valeur_nationale"] == 0.78).all()
    assert (rows["ecart_annees"] == rows["annee"] - rows["annee_nationale"]).all()


def copy_project(dest):
    dest.mkdir(parents=True)
    for name in ("dbt_project.yml", "models", "macros", "tests/dbt", "data/seeds"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, dest / name)
    return dest


def test_a_new_registry_entry_appears_end_to_end(built, tmp_path, truth):
    project = copy_project(tmp_path / "projet")
    with (project / "data/seeds/registre_indicateurs.csv").open("a", encoding="utf-8") as f:
        f.write('part_multi_sites,Part des structures multi-sites,"Répondantes travaillant sur plusieurs sites.",'
                'socle,,,realisations,enquete,multi_sites::int,1,repondant and multi_sites is not null,ratio,1,'
                'ratio,neutre,3,2018,,multi_sites|repondant,,false,panel,3,,,implantation,Multi-sites,,\n')
    db = tmp_path / "copie.duckdb"
    shutil.copy2(built, db)
    build(db, project_dir=project, docs=False)
    df, _ = truth
    r = df[df["repondant"] & df["multi_sites"].notna()]
    expected = r.groupby("annee")["multi_sites"].apply(lambda s: s.astype(bool).mean())
    got = frame(db, "SELECT annee, valeur FROM indicateurs WHERE indicateur = 'part_multi_sites' "
                    "AND niveau = 'departement' ORDER BY annee").set_index("annee")["valeur"]
    assert got.to_dict() == pytest.approx(expected.to_dict())
    assert query(db, "SELECT libelle FROM dim_indicateurs WHERE indicateur = 'part_multi_sites'") == [
        ("Part des structures multi-sites",)]
    assert query(db, "SELECT count(DISTINCT niveau) FROM indicateurs WHERE indicateur = 'part_multi_sites'")[0][0] == 4


def test_a_broken_registry_entry_is_a_clear_french_error(built, tmp_path):
    project = copy_project(tmp_path / "projet")
    with (project / "data/seeds/registre_indicateurs.csv").open("a", encoding="utf-8") as f:
        f.write("part_cassee,Cassée,x,socle,,,realisations,enquete,colonne_inexistante::int,1,repondant,ratio,1,"
                "ratio,neutre,3,2018,,,,false,panel,3,,,,,,\n")
    db = tmp_path / "copie.duckdb"
    shutil.copy2(built, db)
    before = query(db, "SELECT count(*) FROM indicateurs")[0][0]
    with pytest.raises(ObservatoireError, match="Le modèle « int_indicateurs__structures » a échoué"):
        build(db, project_dir=project, docs=False)
    assert query(db, "SELECT count(*) FROM indicateurs")[0][0] == before


def test_build_without_ingest_says_what_to_do(tmp_path):
    with pytest.raises(ObservatoireError, match="lancez d'abord « observatoire ingest »"):
        build(tmp_path / "vide.duckdb", docs=False)


def test_the_unit_tests_of_the_dbt_sql_pass(built):
    """The dbt unit tests (formula, one data year per structure, secondary suppression) are tests of
    the code: the suite runs them, each build does not."""
    from observatoire.build import BuildResult, _invoke, dbt_args

    result = BuildResult()
    _invoke(["test", "--select", "test_type:unit", *dbt_args(built)], result, None)
    assert result.tests >= 3


def test_the_generic_data_tests_catch_a_repeated_key_and_an_empty_column(built, tmp_path):
    """combinaison_unique (grouped by a hash of the key first) and non_nuls (several columns in one
    read) still fail on what they guard: a unit listed twice, a flag left empty."""
    import duckdb

    from observatoire.build import BuildResult, _invoke, dbt_args

    db = tmp_path / built.name
    shutil.copy(built, db)
    con = duckdb.connect(str(db))
    try:
        clean = BuildResult()
        con.close()
        _invoke(["test", "--select", "pub_unites", *dbt_args(db)], clean, None)
        assert clean.tests >= 2
        con = duckdb.connect(str(db))
        con.execute("INSERT INTO pub_unites SELECT * REPLACE (NULL AS est_principal) FROM pub_unites LIMIT 1")
    finally:
        con.close()
    with pytest.raises(ObservatoireError) as failed:
        _invoke(["test", "--select", "pub_unites", *dbt_args(db)], BuildResult(), None)
    message = str(failed.value)
    assert "combinaison_unique_pub_unites" in message and "non_nuls_pub_unites" in message
    assert "1 ligne en défaut" in message
