"""The bundled demo and the national set load value for value as the structures declared them."""
import filecmp

import pandas as pd
import pytest

from conftest import DEMO_DIR, frame
from ingest.load import ingest_paths
from observatoire.demo import build_truth, generate


def assert_same(got: pd.DataFrame, expected: pd.DataFrame, key: list[str]):
    got = got.sort_values(key).reset_index(drop=True)
    expected = expected.sort_values(key).reset_index(drop=True)
    assert len(got) == len(expected)
    for column in expected.columns:
        a, b = got[column], expected[column]
        assert (a.isna().to_numpy() == pd.isna(b).to_numpy()).all(), column
        known = a.notna().to_numpy()
        if pd.api.types.is_datetime64_any_dtype(a):
            assert (a[known].dt.date.to_numpy() == pd.to_datetime(b[known]).dt.date.to_numpy()).all(), column
        elif pd.api.types.is_float_dtype(a):
            assert ((a[known].astype(float) - b[known].astype(float)).abs() < 1e-6).all(), column
        else:
            assert (a[known].astype(str).to_numpy() == b[known].astype(str).to_numpy()).all(), column


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "o.duckdb"
    result = ingest_paths([DEMO_DIR], db)
    assert not result.rejected
    return db


def test_demo_reponses_equal_what_structures_declared(demo_warehouse):
    truth = build_truth("92")
    got = frame(demo_warehouse, "SELECT * EXCLUDE (fichier_sha256, ligne_source) FROM reponses")
    assert_same(got[truth.reponses.columns], truth.reponses, ["annee_enquete", "code_structure"])
    assert sorted(got["annee_enquete"].unique()) == list(range(2018, 2024))


def test_demo_blocs_and_activities_equal_the_truth(demo_warehouse):
    truth = build_truth("92")
    blocs = frame(demo_warehouse, "SELECT annee_enquete, code_structure, question, reponse FROM reponses_blocs")
    assert_same(blocs, truth.blocs.astype({"reponse": str}), ["annee_enquete", "code_structure", "question"])
    activities = frame(demo_warehouse, "SELECT * EXCLUDE (annee_fichier, fichier_sha256, ligne_source) FROM activites")
    assert_same(activities[truth.activites.columns], truth.activites, ["date", "intitule"])


def test_demo_has_the_promised_shape(demo_warehouse):
    per_year = frame(demo_warehouse, "SELECT annee_enquete, count(*) n, sum(repondant::int) r, "
                                     "count(DISTINCT code_commune) communes FROM reponses GROUP BY 1 ORDER BY 1")
    assert per_year["n"].between(45, 65).all()
    assert (per_year["r"] < per_year["n"]).all()                    # non-respondents every year
    rate = per_year.set_index("annee_enquete")["r"] / per_year.set_index("annee_enquete")["n"]
    assert rate[2021] < rate[[2020, 2022]].min()                    # the 2020 dip (survey 2021)
    types = frame(demo_warehouse, "SELECT DISTINCT type_structure FROM reponses")["type_structure"]
    assert set(types) == {"CS", "EVS"}
    outside = frame(demo_warehouse, "SELECT count(*) n FROM reponses r LEFT JOIN ref_communes c "
                                    "ON c.code_insee = r.code_commune WHERE c.code_departement IS DISTINCT FROM '92'")
    assert outside["n"][0] == 0


def test_generator_is_deterministic_and_matches_the_bundled_files(tmp_path):
    generate(tmp_path / "a", "92")
    generate(tmp_path / "b", "92")
    csvs = sorted(p.name for p in DEMO_DIR.glob("*.csv"))
    assert len(csvs) == 7
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", tmp_path / "b", csvs, shallow=False)
    assert mismatch == [] and errors == []
    match, mismatch, errors = filecmp.cmpfiles(tmp_path / "a", DEMO_DIR, csvs, shallow=False)
    assert mismatch == [] and errors == [], "data/demo/92 is stale: regenerate it with `observatoire demo`"


@pytest.mark.lent
def test_national_set_loads(tmp_path):
    truth = generate(tmp_path / "national", "national")
    assert 39_000 <= len(truth.reponses) <= 43_000
    db = tmp_path / "n.duckdb"
    result = ingest_paths([tmp_path / "national"], db)
    assert not result.rejected
    got = frame(db, "SELECT * EXCLUDE (fichier_sha256, ligne_source) FROM reponses")
    assert got["code_commune"].str[:2].nunique() > 90              # every département
    assert_same(got[truth.reponses.columns], truth.reponses, ["annee_enquete", "code_structure"])
    repaired = frame(db, "SELECT count(*) n FROM constats_qualite WHERE regle = 'code_commune_zero_restaure'")
    assert repaired["n"][0] > 0
