"""Validation: every rule catches a seeded fault (real Great Expectations), the clean demo has
no blocking finding, a blocked year keeps its previous publication, corrections are traced."""
import csv
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import CORRECTIONS_HEADER, DEMO_DIR, frame, query, write_year_files
from expectations.frames import load_frames
from expectations.rules import BY_ID, RULES
from expectations.validate import _run_gx, findings_for
from ingest import warehouse as W
from ingest.load import ingest_paths
from observatoire.build import build
from observatoire.demo import build_truth
from observatoire.validation import run_validation



@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The demo, loaded, built and validated once."""
    base = tmp_path_factory.mktemp("clean")
    db = base / "o.duckdb"
    ingest_paths([DEMO_DIR], db)
    empty = base / "corrections.csv"
    empty.write_text(CORRECTIONS_HEADER, encoding="utf-8")
    build(db, docs=False, corrections=empty)
    outcome = run_validation(db, base / "qualite")
    return db, outcome, empty


@pytest.fixture(scope="module")
def clean_frames(clean):
    con = W.connect(clean[0], read_only=True)
    try:
        return load_frames(con)
    finally:
        con.close()


def test_clean_demo_has_no_blocking_finding_and_every_year_is_published(clean):
    db, outcome, _ = clean
    assert all(g.publie for g in outcome.gates) and len(outcome.gates) == 6
    assert query(db, "SELECT count(*) FROM constats_qualite WHERE severite = 'bloquant'")[0][0] == 0
    assert query(db, "SELECT count(*) FROM publie.pub_indicateurs")[0][0] == query(db, "SELECT count(*) FROM pub_indicateurs")[0][0]
    assert query(db, "SELECT DISTINCT statut FROM publications") == [("publiee",)]


def seed(rule, frames):
    """Break the frame of `rule` on one row, from the expectation's own parameters."""
    import great_expectations.expectations as gxe

    exp = rule.build(gxe)
    f = frames[rule.frame].copy()
    kind = type(exp).__name__
    needed = [c for c in (getattr(exp, "column", None), getattr(exp, "column_A", None),
                          getattr(exp, "column_B", None)) if c]
    candidates = f.dropna(subset=needed).index if needed else f.index
    i = candidates[len(candidates) // 2]
    if kind == "ExpectColumnValuesToNotBeNull":
        f[exp.column] = f[exp.column].astype(object)
        f.loc[i, exp.column] = None
    elif kind == "ExpectColumnValuesToBeBetween":
        bad = exp.max_value + 1 if exp.max_value is not None else exp.min_value - 1
        f[exp.column] = f[exp.column].astype("Float64")
        f.loc[i, exp.column] = bad
    elif kind == "ExpectColumnValuesToBeInSet":
        f[exp.column] = f[exp.column].astype(object)
        f.loc[i, exp.column] = False if True in exp.value_set else "hors_liste"
    elif kind == "ExpectColumnPairValuesAToBeGreaterThanB":
        f[exp.column_B] = f[exp.column_B].astype("Float64")
        f.loc[i, exp.column_B] = float(f.loc[i, exp.column_A]) + 1
    elif kind == "ExpectCompoundColumnsToBeUnique":
        f = pd.concat([f, f.loc[[i]]], ignore_index=True)
    else:
        raise AssertionError(f"no seeding for {kind}")
    return f, f.loc[i] if kind != "ExpectCompoundColumnsToBeUnique" else f.iloc[-1]


@pytest.mark.parametrize("regle", [r.regle for r in RULES])
def test_every_rule_catches_a_seeded_fault(regle, clean_frames):
    rule = BY_ID[regle]
    broken, row = seed(rule, clean_frames)
    frames = {rule.frame: broken}
    failing = _run_gx(frames, None)
    assert regle in failing
    found = findings_for({regle: failing[regle]}, frames)
    assert set(found["severite"]) == {rule.severite}
    assert set(found["colonne"]) == {rule.colonne}
    if "code_structure" in broken:
        assert row["code_structure"] in set(found["code_structure"])
    assert found["message"].str.len().gt(20).all() and not found["message"].str.contains("{").any()


# --------------------------------------------------------------------------- through real files

def pick(df, prev, n, **require):
    """n structures that answered both years, with the given columns known."""
    cols = ["salaries", "etp_total", "charges_total", "produits_total", "benevoles_activite",
            "benevoles_instance", "pers_info_droits", "pers_accomp_droits", "administrateurs",
            "administrateurs_habitants", "administrateurs_formes", "etp_animation", "communes_interco"]
    ok = df["repondant"] & df[cols].notna().all(axis=1)
    for col, value in require.items():
        ok &= df[col] == value
    codes = set(prev.loc[prev["repondant"] & prev[["salaries", "etp_total", "charges_total", "benevoles_activite",
                                                    "benevoles_instance"]].notna().all(axis=1), "code_structure"])
    return list(df.loc[ok & df["code_structure"].isin(codes)].index[:n])


FILE_FAULTS = {
    # rule: (column to look at, how the declared row is wrong)
    "salaries_positif": ("salaries", lambda r: r.update(salaries=-5)),
    "etp_inferieur_salaries": ("etp_total", lambda r: r.update(etp_total=r["salaries"] + 5.0)),
    "etp_fonctions_inferieur_total": ("etp_total", lambda r: r.update(etp_animation=r["etp_total"] + 2.0)),
    "financeurs_egal_produits": ("produits_total", lambda r: r.update(communes_interco=r["communes_interco"] * 1.5)),
    "accompagnes_inferieur_informes": ("pers_accomp_droits",
                                       lambda r: r.update(pers_accomp_droits=r["pers_info_droits"] + 50)),
    "administrateurs_habitants_inferieur": ("administrateurs_habitants",
                                            lambda r: r.update(administrateurs_habitants=r["administrateurs"] + 3)),
    "administrateurs_formes_inferieur": ("administrateurs_formes",
                                         lambda r: r.update(administrateurs_formes=r["administrateurs"] + 2)),
    "acf_avec_agrement": ("caf_ps_acf", lambda r: r.update(agrement_acf=False)),
    "charges_produits_plausible": ("charges_total", lambda r: r.update(charges_total=r["produits_total"] * 1.6)),
    "evolution_budget_bloquant": ("charges_total", lambda r: r.update(charges_total=r["charges_total"] * 1000)),
    "evolution_salaries_bloquant": ("salaries", lambda r: r.update(salaries=r["salaries"] * 10)),
    "evolution_benevoles_avertissement": ("benevoles_total", lambda r: r.update(
        benevoles_activite=r["benevoles_activite"] * 4, benevoles_instance=r["benevoles_instance"] * 4)),
    "commune_connue": ("code_commune", lambda r: r.update(code_commune="92999")),
    "habitants_touches_plausible": ("habitants_touches", lambda r: r.update(habitants_touches=70_000)),
}


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    truth = build_truth("92")
    surveys = {s: df for s, df, _ in truth.per_year}
    df, prev = surveys[2022].copy(), surveys[2021]
    acf = set(pick(df, prev, 40, agrement_acf=True))
    chosen = {}
    pool = pick(df, prev, 40)
    previous = prev.set_index("code_structure")
    for rule in FILE_FAULTS:
        candidates = [i for i in pool if i not in chosen.values() and (rule != "acf_avec_agrement" or i in acf)]
        if rule.startswith("evolution_"):    # a structure that was stable the year before
            column = {"benevoles_total": "benevoles_activite"}.get(FILE_FAULTS[rule][0], FILE_FAULTS[rule][0])
            candidates = [i for i in candidates
                          if 0.8 <= previous.loc[df.loc[i, "code_structure"], column] / df.loc[i, column] <= 1.25]
        if rule == "acf_avec_agrement":
            candidates = [i for i in candidates if (df.loc[i, "caf_ps_acf"] or 0) > 0]
        chosen[rule] = candidates[0]
        record = df.loc[chosen[rule]].to_dict()
        FILE_FAULTS[rule][1](record)
        df.loc[chosen[rule]] = pd.Series(record)
    silent = df.index[~df["repondant"]][0]               # a non-respondent declaring a measure
    df.loc[silent, "habitants_touches"] = 100
    chosen["non_repondant_sans_mesure"] = silent
    base = tmp_path_factory.mktemp("faulty")
    write_year_files(truth, base / "extraits", {2022: df})
    db = base / "o.duckdb"
    assert not ingest_paths([base / "extraits"], db).rejected
    empty = base / "corrections.csv"
    empty.write_text(CORRECTIONS_HEADER, encoding="utf-8")
    build(db, docs=False, corrections=empty)
    outcome = run_validation(db, base / "qualite")
    codes = {rule: df.loc[i, "code_structure"] for rule, i in chosen.items()}
    return db, outcome, codes, base


@pytest.mark.parametrize("regle", [*FILE_FAULTS, "non_repondant_sans_mesure"])
def test_faults_in_real_extracts_are_caught_named_and_explained(faulty, regle):
    db, _, codes, _ = faulty
    rule = BY_ID[regle]
    found = frame(db, "SELECT * FROM constats_qualite WHERE etape = 'validation' AND regle = ?", [regle])
    # (a year-on-year fault also shows as the jump back the year after: look at the faulty survey)
    hit = found[(found["code_structure"] == codes[regle]) & (found["annee_enquete"] == 2022)]
    assert len(hit) == 1, found[["code_structure", "annee_enquete"]]
    hit = hit.iloc[0]
    assert (hit["severite"], hit["colonne"], hit["annee_enquete"], hit["annee_donnees"]) == (
        rule.severite, rule.colonne, 2022, 2021)
    assert codes[regle] in hit["message"] and "data/corrections/corrections.csv" in hit["message"]


def test_a_year_with_a_blocking_fault_is_not_published(faulty):
    db, outcome, _, base = faulty
    by_year = {g.annee: g for g in outcome.gates}
    assert not by_year[2021].publie
    assert {g.annee for g in outcome.gates if g.publie} == {2017, 2018, 2019, 2020, 2022}
    assert query(db, "SELECT count(*) FROM publie.pub_indicateurs WHERE annee = 2021")[0][0] == 0
    assert query(db, "SELECT statut FROM publications WHERE annee = 2021") == [("bloquee",)]
    page = (base / "qualite" / "2021.html").read_text(encoding="utf-8")
    assert "non publiée" in page and "evolution_budget_bloquant" in page


def test_blocked_year_keeps_its_previous_publication(clean, tmp_path):
    db = tmp_path / "o.duckdb"
    shutil.copy2(clean[0], db)
    before = frame(db, "SELECT * FROM publie.pub_indicateurs WHERE annee = 2021 ORDER BY ALL")
    published_at = query(db, "SELECT publie_le FROM publications WHERE annee = 2021")
    truth = build_truth("92")
    df = {s: d for s, d, _ in truth.per_year}[2022].copy()
    i = df.index[df["repondant"] & df["charges_total"].notna()][3]
    df.loc[i, "charges_total"] = df.loc[i, "charges_total"] * 1000
    write_year_files(truth, tmp_path / "v2", {2022: df})
    ingest_paths([tmp_path / "v2" / "senacs_2022.csv"], db)
    build(db, docs=False, corrections=clean[2])
    outcome = run_validation(db, tmp_path / "qualite")
    gate = next(g for g in outcome.gates if g.annee == 2021)
    assert not gate.publie and gate.deja_publie
    assert set(gate.bloquants["regle"]) == {"evolution_budget_bloquant"}
    # the indicators changed, the published ones did not
    assert query(db, "SELECT valeur FROM indicateurs WHERE indicateur = 'budget_moyen' AND annee = 2021 "
                     "AND niveau = 'departement'") != query(
        db, "SELECT valeur FROM publie.pub_indicateurs WHERE indicateur = 'budget_moyen' AND annee = 2021 "
            "AND niveau = 'departement'")
    pd.testing.assert_frame_equal(frame(db, "SELECT * FROM publie.pub_indicateurs WHERE annee = 2021 ORDER BY ALL"), before)
    assert query(db, "SELECT publie_le FROM publications WHERE annee = 2021") == published_at
    assert query(db, "SELECT statut FROM publications WHERE annee = 2021") == [("bloquee",)]


def test_a_correction_fixes_the_year_without_touching_the_extract(faulty, tmp_path):
    db0, _, codes, base = faulty
    db = tmp_path / "o.duckdb"
    shutil.copy2(db0, db)
    fixes = tmp_path / "corrections.csv"
    lines = [CORRECTIONS_HEADER]
    for regle, column in (("evolution_budget_bloquant", "charges_total"), ("salaries_positif", "salaries"),
                          ("evolution_salaries_bloquant", "salaries"), ("commune_connue", "code_commune"),
                          ("administrateurs_habitants_inferieur", "administrateurs_habitants")):
        code = codes[regle]
        good = {s: d for s, d, _ in build_truth("92").per_year}[2022].set_index("code_structure").loc[code, column]
        lines.append(f"2022;{code};{column};{good};Vérifié avec la structure;A. Analyste;2024-06-01\n")
    fixes.write_text("".join(lines), encoding="utf-8")
    raw_before = frame(db, "SELECT * FROM raw_senacs ORDER BY ALL")
    result = build(db, docs=False, corrections=fixes)
    assert result.corrections == (5, 0)
    outcome = run_validation(db, tmp_path / "qualite")
    assert next(g for g in outcome.gates if g.annee == 2021).publie
    pd.testing.assert_frame_equal(frame(db, "SELECT * FROM raw_senacs ORDER BY ALL"), raw_before)
    code = codes["evolution_budget_bloquant"]
    traced = frame(db, "SELECT * FROM constats_qualite WHERE regle = 'correction_appliquee' AND code_structure = ?", [code])
    assert len(traced) == 1 and traced["severite"][0] == "info" and "A. Analyste" in traced["message"][0]
    assert query(db, "SELECT statut, valeur_initiale FROM corrections WHERE code_structure = ?", [code])[0][0] == "appliquee"


def test_a_bad_correction_is_refused_and_blocks(clean, tmp_path):
    db = tmp_path / "o.duckdb"
    shutil.copy2(clean[0], db)
    bad = tmp_path / "corrections.csv"
    bad.write_text(CORRECTIONS_HEADER
                   + "2022;CS92-9999;salaries;12;typo;A. Analyste;2024-06-01\n"
                   + "2022;CS92-0001;colonne_inconnue;12;typo;A. Analyste;2024-06-01\n"
                   + "2022;CS92-0001;salaries;douze;typo;A. Analyste;2024-06-01\n", encoding="utf-8")
    assert build(db, docs=False, corrections=bad).corrections == (0, 3)
    refused = frame(db, "SELECT * FROM constats_qualite WHERE regle = 'correction_refusee' ORDER BY ligne")
    assert refused["severite"].tolist() == ["bloquant"] * 3
    assert "aucune réponse de CS92-9999" in refused["message"][0]
    assert "n'est pas une colonne corrigeable" in refused["message"][1]
    assert "« douze » illisible" in refused["message"][2]
    outcome = run_validation(db, tmp_path / "qualite")
    assert not next(g for g in outcome.gates if g.annee == 2021).publie


def test_fiche_de_retour_per_structure(faulty):
    db, _, codes, base = faulty
    code = codes["evolution_budget_bloquant"]
    path = base / "qualite" / "fiches_retour" / "2021" / f"{code.lower()}.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert {r["regle"] for r in rows} >= {"evolution_budget_bloquant"}
    assert all(r["code_structure"] == code for r in rows)
    page = (base / "qualite" / "2021.html").read_text(encoding="utf-8")
    assert f"fiches_retour/2021/{code.lower()}.csv" in page


def test_great_expectations_data_docs_are_built(clean):
    docs = clean[1].data_docs
    assert docs.exists()
    html = docs.read_text(encoding="utf-8")
    assert "controles_reponses" in html and "controles_indicateurs_secret" in html


def test_validate_command_exit_code_and_message(faulty, tmp_path, cli_run, warehouse):
    warehouse.parent.mkdir(parents=True)
    shutil.copy2(faulty[0], warehouse)
    result = cli_run("validate", "--sortie", tmp_path / "q")
    assert result.exit_code == 4
    assert "2021 : non publiée" in result.output and "data/corrections/corrections.csv" in result.output
    assert "Traceback" not in result.output
