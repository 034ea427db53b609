"""Selective editing, through real files, a real dbt build and real Great Expectations: each kind
of finding holds (or not) exactly its data year. An impossible value holds its year; a suspicious
value whose effect on a published figure passes the threshold (influential) holds its year; one
whose effect stays below it is a warning ranked by score and the year is published; a value
seen by two steps is counted once, and a correction or a confirmation clears it. The structures
to contact lead the quality page, and each gets a sheet it can receive."""
import re
import shutil

import pytest

from conftest import CONFIRMATIONS_HEADER, CORRECTIONS_HEADER, build_and_validate, frame, write_year_files
from ingest.load import ingest_paths
from observatoire.build import build
from observatoire.demo import build_truth
from observatoire.validation import run_validation

pytestmark = pytest.mark.lent


def _pick(df, prev, column, kind="CS", taken=(), times_median=1.0):
    """A respondent of both years with `column` known and stable, near `times_median` times its
    kind's median."""
    before = prev[prev["repondant"].fillna(False).astype(bool)].set_index("code_structure")[column]
    ok = (df["repondant"].fillna(False).astype(bool) & (df["type_structure"] == kind) & df["code_structure"].isin(before.dropna().index)
          & df[column].notna() & ~df["code_structure"].isin(list(taken)))
    pool = df[ok]
    ratio = pool[column].astype(float).to_numpy() / before.loc[pool["code_structure"]].astype(float).to_numpy()
    pool = pool[(ratio > 0.8) & (ratio < 1.25)]
    median = pool[column].astype(float).median()
    return (pool[column].astype(float) - times_median * median).abs().sort_values().index[0]


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    truth = build_truth("92")
    surveys = {s: df.copy() for s, df, _ in truth.per_year}
    codes = {}
    # survey 2019 (data 2018): an impossible value
    df = surveys[2019]
    i = _pick(df, surveys[2018], "salaries")
    df.loc[i, "salaries"] = -5
    codes["impossible"] = df.loc[i, "code_structure"]
    # survey 2020 (data 2019): total expenses typed x1,000, a unit slip: impossible
    df = surveys[2020]
    i = _pick(df, surveys[2019], "charges_total")
    df.loc[i, "charges_total"] = df.loc[i, "charges_total"] * 1000
    codes["unite"] = df.loc[i, "code_structure"]
    # survey 2021 (data 2020): families reached fall tenfold at one centre (a little above the
    # median): odd, but it moves no published figure much
    df = surveys[2021]
    i = _pick(df, surveys[2020], "familles_touchees", times_median=1.5)
    df.loc[i, "familles_touchees"] = round(df.loc[i, "familles_touchees"] / 10)
    codes["suspecte"] = df.loc[i, "code_structure"]
    # ... and a centre's staff typed a tenth of itself or so (6 FTE per employee): a ratio past its
    # possible range (5), by a factor an honest change or a missing digit makes, on values that move
    # no published figure past its threshold: a warning, not an impossible finding
    i = _pick(df, surveys[2020], "etp_total", taken=[codes["suspecte"]], times_median=1.2)
    df.loc[i, "salaries"] = max(1, round(float(df.loc[i, "etp_total"]) / 6))
    codes["rapport"] = df.loc[i, "code_structure"]
    # survey 2022 (data 2021): `repondant` left empty for a respondent
    df = surveys[2022]
    i = df.index[df["repondant"] & (df["type_structure"] == "CS")][0]
    df["repondant"] = df["repondant"].astype(object)
    df.loc[i, "repondant"] = None
    codes["repondant_vide"] = df.loc[i, "code_structure"]
    # survey 2023 (data 2022): a large centre's inhabitants reached multiplied by 8 while its
    # families stay put: a count, no unit, but it moves the département's figure by well over its
    # threshold (influential)
    df = surveys[2023]
    i = _pick(df, surveys[2022], "habitants_touches", times_median=2.5)
    df.loc[i, "habitants_touches"] = df.loc[i, "habitants_touches"] * 8
    codes["influente"] = df.loc[i, "code_structure"]
    base = tmp_path_factory.mktemp("selective")
    write_year_files(truth, base / "extraits", {s: surveys[s] for s in (2019, 2020, 2021, 2022, 2023)})
    db = base / "o.duckdb"
    assert not ingest_paths([base / "extraits"], db).rejected
    outcome, *_ = build_and_validate(db, base)
    return db, outcome, codes, base


def _gates(outcome):
    return {g.annee: g.publie for g in outcome.gates}


def test_each_kind_of_finding_holds_exactly_its_year(scenarios):
    _, outcome, codes, _ = scenarios
    assert _gates(outcome) == {2017: True, 2018: False, 2019: False, 2020: True, 2021: False, 2022: False}
    # and by that finding alone: one structure, one value, in each held year
    held = {g.annee: sorted(set(zip(g.bloquants["code_structure"].fillna("?"), g.bloquants["colonne"].fillna("?"))))
            for g in outcome.gates if not g.publie}
    # (the negative count also makes the structure's own indicator negative: the indicators' check)
    assert held == {2018: [("?", "valeur"), (codes["impossible"], "salaries")], 2019: [(codes["unite"], "charges_total")],
                    2021: [(codes["repondant_vide"], "repondant")], 2022: [(codes["influente"], "habitants_touches")]}


def _kinds(db, code, survey):
    return frame(db, "SELECT regle, severite, nature, score, figure, message FROM constats_qualite "
                     "WHERE etape = 'validation' AND code_structure = ? AND annee_enquete = ? AND severite <> 'info'",
                 [code, survey])


def test_an_impossible_value_is_blocking_whatever_its_score(scenarios):
    db, _, codes, _ = scenarios
    found = _kinds(db, codes["impossible"], 2019)
    blocking = found[found["severite"] == "bloquant"]
    assert list(zip(blocking["regle"], blocking["nature"])) == [("mesure_negative", "impossible")]


def test_expenses_typed_x1000_are_an_impossible_unit_slip(scenarios):
    db, _, codes, _ = scenarios
    found = _kinds(db, codes["unite"], 2020)
    blocking = found[found["severite"] == "bloquant"]
    # the ratios to the income and to the staff say it too: every one of them impossible
    assert "montant_unite" in set(blocking["regle"]) and set(blocking["nature"]) == {"impossible"}
    row = blocking[blocking["regle"] == "montant_unite"].iloc[0]
    assert row["score"] > 0.9 and row["figure"].startswith("les charges ")
    assert "autre unité" in row["message"] and "1000" in row["message"].replace("\u202f", "").replace(" ", "")


def test_a_count_moving_a_published_figure_past_its_threshold_is_influential(scenarios):
    db, _, codes, _ = scenarios
    found = _kinds(db, codes["influente"], 2023)
    blocking = found[found["severite"] == "bloquant"]
    assert list(zip(blocking["regle"], blocking["nature"])) == [("evolution_unite", "influente")]
    row = blocking.iloc[0]
    assert row["score"] >= 0.1 and row["figure"].startswith("les habitants touchés ")
    assert "unité" not in row["message"] and "euros" not in row["message"]


def test_a_suspicious_count_below_the_threshold_is_a_ranked_warning_without_a_unit(scenarios):
    db, outcome, codes, base = scenarios
    found = _kinds(db, codes["suspecte"], 2021)
    assert len(found) == 1, found
    row = found.iloc[0]
    assert row["severite"] == "avertissement" and row["nature"] == "suspecte"
    assert 0 < row["score"] < 0.5 and row["figure"].startswith("les familles touchées")
    assert "unité" not in row["message"] and "euros" not in row["message"]
    assert "autre année" in row["message"] and "faute de frappe" in row["message"]
    page = (base / "qualite" / "2020.html").read_text(encoding="utf-8")
    assert "Aucune structure à contacter cette année" in page
    assert re.search(r"changerait les familles touchées .* de \d+,\d\u202f%", page)


def test_a_ratio_off_by_an_honest_factor_on_a_value_that_matters_little_is_a_warning(scenarios):
    db, outcome, codes, _ = scenarios
    ratio = frame(db, "SELECT rapport_etp_salaries FROM int_controles__reponses WHERE code_structure = ? "
                      "AND annee_enquete = 2021", [codes["rapport"]]).iloc[0, 0]
    assert ratio > 5                                    # past the possible range of FTE per employee
    found = _kinds(db, codes["rapport"], 2021)
    assert set(found["severite"]) == {"avertissement"} and set(found["nature"]) == {"suspecte"}, found
    assert "etp_salaries_impossible" not in set(found["regle"]) and "etp_inferieur_salaries" in set(found["regle"])
    assert found["score"].notna().any()                # ranked by its effect on the published figures
    assert _gates(outcome)[2020] is True


def test_an_empty_repondant_is_counted_once(scenarios):
    db, outcome, codes, _ = scenarios
    gate = next(g for g in outcome.gates if g.annee == 2021)
    assert len(gate.bloquants) == 1 and set(gate.bloquants["code_structure"]) == {codes["repondant_vide"]}
    assert set(gate.bloquants["colonne"]) == {"repondant"}


def test_the_quality_page_leads_with_the_structures_to_contact_in_order(scenarios):
    _, outcome, codes, base = scenarios
    page = (base / "qualite" / "2019.html").read_text(encoding="utf-8")
    head = page.index("structure à contacter cette année")
    assert head < page.index("Ce qui bloque la publication") and head < page.index("Avertissements")
    assert [c for c, _, _ in outcome.contacts[2019]] == [codes["unite"]]
    assert "Total de vos charges" in " ".join(outcome.contacts[2019][0][2]) or \
        "les charges" in " ".join(outcome.contacts[2019][0][2])


def test_the_feedback_sheet_speaks_to_the_centre(scenarios):
    db, _, codes, base = scenarios
    code = codes["unite"]
    sheets = list((base / "qualite" / "fiches_retour" / "2019").glob(f"{code.lower()}__*.html"))
    assert len(sheets) == 1, sheets
    name = frame(db, "SELECT nom_structure FROM reponses WHERE code_structure = ? LIMIT 1", [code]).iloc[0, 0]
    text = sheets[0].read_text(encoding="utf-8")
    assert "Total de vos charges (en euros)" in text and "Valeur déclarée" in text and "Notre demande" in text
    assert name.split()[-1].lower() in sheets[0].name
    for analyst_only in ("corrections.csv", "confirmations.csv", "charges_total", "constats_qualite", "bloquant"):
        assert analyst_only not in text, analyst_only
    # a centre with only a warning gets a sheet too; one whose only finding is none of its doing, none
    assert list((base / "qualite" / "fiches_retour" / "2020").glob(f"{codes['suspecte'].lower()}__*.html"))


def _rerun(scenarios, tmp_path, corrections="", confirmations=""):
    db = tmp_path / "o.duckdb"
    shutil.copy2(scenarios[0], db)
    fix, confirm = tmp_path / "corrections.csv", tmp_path / "confirmations.csv"
    fix.write_text(CORRECTIONS_HEADER + corrections, encoding="utf-8")
    confirm.write_text(CONFIRMATIONS_HEADER + confirmations, encoding="utf-8")
    build(db, docs=False, corrections=fix)
    return db, run_validation(db, tmp_path / "qualite", confirmations=confirm, docs=False)


def test_a_correction_clears_a_finding_of_every_step(scenarios, tmp_path):
    code = scenarios[2]["repondant_vide"]
    db, outcome = _rerun(scenarios, tmp_path, corrections=f"2022;{code};repondant;oui;réponse reçue;A. Martin;2026-03-01\n")
    assert _gates(outcome)[2021] is True
    left = frame(db, "SELECT etape, severite FROM constats_qualite WHERE code_structure = ? AND colonne = 'repondant' "
                     "AND annee_enquete = 2022 AND severite = 'bloquant' AND etape <> 'ingest'", [code])
    assert left.empty


def test_a_confirmation_clears_a_finding_of_every_step(scenarios, tmp_path):
    code = scenarios[2]["repondant_vide"]
    db, outcome = _rerun(scenarios, tmp_path,
                         confirmations=f"2022;{code};repondant;;la structure n'a pas su dire;A. Martin;2026-03-01\n")
    assert _gates(outcome)[2021] is True
    assert not outcome.contacts[2021]
