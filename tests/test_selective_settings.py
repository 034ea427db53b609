"""Fast checks of selective editing without dbt: the thresholds' settings file (defaults, a
federation's override, clear French errors), the SQL condition that makes a value influential,
the kinds of finding of the rules, and the noisier demo's seeded slips."""
import math

import numpy as np

import duckdb

import pandas as pd
import pytest

from common.errors import ObservatoireError
from expectations.frames import influential
from expectations.rules import BY_ID, INFLUENTIAL
from ingest.config import SELECTION_FILE, score_thresholds
from ingest.config import Config
from observatoire.demo import FINANCE, PEOPLE, add_noise, build_truth

BY_MEASURE = [c.name for c in Config().columns["senacs"].values() if c.type in ("int", "decimal")
              and c.block != "identite"]


def test_the_product_defaults_are_documented_in_the_settings_file():
    assert score_thresholds() == {"national": 0.40, "departement": 0.40, "territoire": 0.40, "commune": 0.75}
    assert "0,05 veut dire : la valeur changerait ce chiffre de 5 %" in SELECTION_FILE.read_text(encoding="utf-8")


def test_a_federation_overrides_one_level_and_keeps_the_others(tmp_path):
    own = tmp_path / "selection.yaml"
    own.write_text("seuils_score:\n  commune: 0.3\n", encoding="utf-8")
    assert score_thresholds(own) == {"national": 0.40, "departement": 0.40, "territoire": 0.40, "commune": 0.3}


@pytest.mark.parametrize("text, words", [
    ("seuils_score:\n  quartier: 0.1\n", "seuils_score.quartier : niveau inconnu"),
    ("seuils_score:\n  departement: 5\n", "seuils_score.departement : « 5 » n'est pas un seuil valide"),
    ("seuils_score:\n  departement: cinq\n", "n'est pas un seuil valide"),
    ("seuils_score: [0.1]\n", "« seuils_score » doit associer un niveau"),
    ("seuils_score: {departement: 0.1\n", "fichier YAML illisible"),
])
def test_a_bad_threshold_is_a_french_error_naming_file_and_key(tmp_path, text, words):
    own = tmp_path / "selection.yaml"
    own.write_text(text, encoding="utf-8")
    with pytest.raises(ObservatoireError) as error:
        score_thresholds(own)
    assert words in str(error.value) and str(own) in str(error.value)


def test_a_value_is_influential_when_any_level_passes_its_threshold():
    frame = pd.DataFrame({"score_commune": [0.6, 0.4, None, None], "score_departement": [0.01, 0.01, 0.2, None]})
    sql = influential({"commune": 0.5, "departement": 0.1})
    con = duckdb.connect()
    con.register("scores", frame)
    got = con.execute(f"SELECT {sql} AS i FROM scores").df()["i"].tolist()
    assert got == [True, False, True, False]


def test_the_kinds_of_finding_are_fixed():
    # pinned against fixed expectations, not against the rules themselves
    assert INFLUENTIAL == {"evolution_unite", "valeur_aberrante"}
    expected = {"mesure_negative": "impossible", "administrateurs_habitants_inferieur": "impossible",
                "familles_habitants_impossible": "impossible", "repondant_obligatoire": "impossible",
                "evolution_unite": "influente", "valeur_aberrante": "influente",
                "evolution_forte": "suspecte", "valeur_atypique": "suspecte", "financeurs_egal_produits": "suspecte",
                "evolution_confirmee": "info"}
    assert {r: BY_ID[r].nature for r in expected} == expected
    assert {r: BY_ID[r].severite for r in expected} == {
        "mesure_negative": "bloquant", "administrateurs_habitants_inferieur": "bloquant",
        "familles_habitants_impossible": "bloquant", "repondant_obligatoire": "bloquant",
        "evolution_unite": "bloquant", "valeur_aberrante": "bloquant", "evolution_forte": "avertissement",
        "valeur_atypique": "avertissement", "financeurs_egal_produits": "avertissement", "evolution_confirmee": "info"}


def test_a_unit_slip_is_never_suggested_for_a_count():
    for regle in ("evolution_unite", "evolution_forte", "valeur_aberrante"):
        message = BY_ID[regle].message
        assert "euros" not in message and "k€" not in message and "{causes}" in message


def test_the_noisier_demo_seeds_known_slips_into_the_answers():
    truth = build_truth("92", seed=7)
    clean = {s: df.copy() for s, df, _ in truth.per_year}
    slips = add_noise(truth, seed=7)
    assert not slips.empty
    for slip in slips.to_dict("records"):
        df = next(df for s, df, _ in truth.per_year if s == slip["annee_enquete"])
        row = df[df["code_structure"] == slip["code_structure"]].iloc[0]
        before = clean[slip["annee_enquete"]].set_index("code_structure").loc[slip["code_structure"], slip["colonne"]]
        assert math.isclose(float(before), slip["valeur_juste"])
        assert math.isclose(float(row[slip["colonne"]]), slip["valeur_semee"], rel_tol=1e-6, abs_tol=0.01)
        if slip["erreur"] in ("centimes", "milliers"):
            assert slip["colonne"] in FINANCE
            ratio = slip["valeur_semee"] / slip["valeur_juste"]
            assert math.isclose(ratio, 100 if slip["erreur"] == "centimes" else 0.001, rel_tol=0.05) or \
                slip["valeur_juste"] < 10
        else:
            assert slip["colonne"] in PEOPLE
    # the heavier tails touch about 2 % of the known measures
    measures = [c for c in BY_MEASURE if c in truth.per_year[0][1]]
    changed = known = 0
    for s, df, _ in truth.per_year:
        before = clean[s][measures].apply(pd.to_numeric, errors="coerce")
        after = df[measures].apply(pd.to_numeric, errors="coerce")
        changed += int(((before - after).abs() > 0.011).to_numpy().sum())
        known += int((before > 0).to_numpy().sum())
    assert 0.01 < changed / known < 0.03


def test_the_noisier_demo_keeps_parts_within_their_whole():
    """Honest heavy tails never make the parts of a whole larger than it (only seeded slips are
    errors): FTE by function add up to at most the total FTE, and each part stays within its whole."""
    truth = build_truth("national", seed=11, taille=0.2)
    add_noise(truth, seed=11)
    df = truth.reponses
    number = lambda c: pd.to_numeric(df[c], errors="coerce")  # noqa: E731
    functions = ["etp_direction", "etp_accueil", "etp_referent_familles", "etp_animation"]
    sums = df[functions].apply(pd.to_numeric, errors="coerce").sum(axis=1, min_count=1)
    total = number("etp_total")
    assert int((sums > total + 0.05).sum()) == 0
    for part in ("administrateurs_habitants", "administrateurs_formes"):
        assert int((number(part) > number("administrateurs")).sum()) == 0


def test_every_value_a_rule_can_flag_is_scored():
    """int_controles__scores scores only the values whose z-score reaches the dbt var
    controle_z_min: every rule on the measures must look at nothing below it."""
    import yaml

    from expectations.rules import Z_AVERTISSEMENT, Z_BLOQUANT, Z_HORS_NORME
    from ingest.config import PROJECT_DIR

    floor = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]["controle_z_min"]
    assert floor <= min(Z_AVERTISSEMENT, Z_BLOQUANT, Z_HORS_NORME)


def _held(regle: str, frame: pd.DataFrame) -> list[bool]:
    """Which rows of `frame` a rule's expectation fails on: its row condition (GX's pandas parser
    is DataFrame.query), then its bounds."""
    import great_expectations.expectations as gxe

    exp = BY_ID[regle].expectation(gxe)
    condition = getattr(exp.row_condition, "pass_through_filter", None) or exp.row_condition
    kept = frame.query(condition, engine="python") if condition else frame
    values = kept[exp.column]
    outside = pd.Series(False, index=kept.index)
    if exp.min_value is not None:
        outside |= values < exp.min_value
    if exp.max_value is not None:
        outside |= values > exp.max_value
    return [bool(outside.get(i, False)) for i in frame.index]


def test_a_ratio_past_its_possible_range_holds_only_when_it_matters_or_is_a_slip():
    from expectations.frames import _with_influence

    # FTE and employees: 7 FTE per employee after an honest x10 on a small centre moves nothing
    # published (a warning); the same on an influential value, or 60 FTE per employee (hours typed
    # for FTE), holds the year
    answers = pd.DataFrame({"annee_enquete": [2022, 2022, 2022], "code_structure": ["A", "B", "C"],
                            "est_repondant": True, "etp_total": [70.0, 70.0, 600.0], "salaries": [10, 10, 10],
                            "rapport_etp_salaries": [7.0, 7.0, 60.0]})
    scored = pd.DataFrame({"annee_enquete": [2022, 2022], "code_structure": ["A", "B"],
                           "colonne": ["etp_total", "etp_total"], "influente": [False, True]})
    frame = _with_influence(answers, scored)
    assert frame["influente__etp_total"].tolist() == [False, True, False]
    assert _held("etp_salaries_impossible", frame) == [False, True, True]
    # (the first stays a warning: more FTE than employees, a rule of the same group)
    part = BY_ID["etp_inferieur_salaries"]
    assert (part.severite, part.groupe) == ("avertissement", BY_ID["etp_salaries_impossible"].groupe)
    # parts adding up to more than twice their whole cannot be true, whatever their effect
    parts = pd.DataFrame({"somme_etp_fonctions": [12.0, 3.0], "rapport_etp_fonctions_total": [3.0, 3.0]})
    assert _held("etp_fonctions_impossible", parts) == [True, False]


def test_an_influential_jump_holds_whatever_a_related_field_did():
    # a digit too many (x10 on a count whose true figure also moved: x6 here) that a related field
    # happened to follow still holds its year when it alone moves a published figure past its
    # threshold; below the threshold it is a warning; a x4 is never more than a warning
    base = {"controle_historique": True, "ecart_evolution": 500.0, "ecart_minimal": 50.0, "s_eloigne_des_pairs": True,
            "nature": "personnes", "facteur_unite": float("nan"), "z_evolution": 4.0, "facteur_pairs": 5.0,
            "unite_contredite": False, "valeur": 600.0, "valeur_reference": 100.0}
    frame = pd.DataFrame([{**base, "facteur_evolution": 6.0, "corroboree": True, "influente": True},
                          {**base, "facteur_evolution": 6.0, "corroboree": False, "influente": False},
                          {**base, "facteur_evolution": 4.0, "corroboree": False, "influente": True}])
    assert _held("evolution_unite", frame) == [True, False, False]
    assert _held("evolution_forte", frame) == [False, True, True]


def test_a_euro_jump_at_a_unit_s_scale_holds_only_when_it_also_sets_the_amount_apart_from_its_peers():
    # an EVS's communes funding from 8,771 EUR to 744,179 (x85, near 100) that stands 12 times
    # above its peers (the year after a value 7 times below them): two odd years, not cents; the
    # same jump 25 times above the peers, as cents make it, holds whatever its score
    base = {"controle_historique": True, "ecart_evolution": 735_408.0, "ecart_minimal": 61_325.0,
            "s_eloigne_des_pairs": True, "nature": "euros", "facteur_unite": 100.0, "z_evolution": 20.3,
            "facteur_evolution": 84.8, "corroboree": False, "influente": False, "unite_contredite": False,
            "valeur": 744_179.42, "valeur_reference": 8_771.0}
    rows = [{**base, "facteur_pairs": 12.1}, {**base, "facteur_pairs": 25.0},
            # a fall near 100 is no slip of this year's amount (thousands divide by 1,000), and a
            # line that, read back at the slip's factor, would exceed the total income is none either
            {**base, "facteur_pairs": 25.0, "valeur": 8_771.0, "valeur_reference": 744_179.42, "z_evolution": -20.3},
            {**base, "facteur_pairs": 25.0, "valeur": 744.0, "valeur_reference": 744_179.42, "z_evolution": -20.3,
             "facteur_evolution": 1000.2, "facteur_unite": 1000.0, "unite_contredite": True},
            {**base, "facteur_pairs": 25.0, "valeur": 744.0, "valeur_reference": 744_179.42, "z_evolution": -20.3,
             "facteur_evolution": 1000.2, "facteur_unite": 1000.0}]
    assert _held("evolution_unite", pd.DataFrame(rows)) == [False, True, False, False, True]


def test_a_unit_slip_on_a_funding_line_needs_a_slips_signature_or_a_change_beyond_nature():
    nan = float("nan")
    base = {"nature": "euros", "financeurs_concordants": False, "ligne_sans_total": False, "unite_financeurs": nan,
            "unite_historique": nan, "s_eloigne_des_pairs": True, "facteur_pairs": 400.0, "z_pairs": -7.0,
            "unite_contredite": False, "valeur": 1.0, "valeur_reference": 1000.0}
    rows = [
        # a regional grant from 600 EUR to 1.66 (x360): within what small lines do, no slip's factor
        {"facteur_evolution": 360.0, "z_evolution": -5.5},
        # the same line divided by about 1,000: a slip's signature
        {"facteur_evolution": 1050.0, "z_evolution": -6.0, "unite_historique": 1000.0},
        # ... but with no total income declared, only a change beyond any natural variation counts
        {"facteur_evolution": 1050.0, "z_evolution": -6.0, "unite_historique": 1000.0, "ligne_sans_total": True},
        {"facteur_evolution": 1046.0, "z_evolution": -24.0, "ligne_sans_total": True},
        # no history: a hundred times above the peers is cents; a hundred times below can be a small line
        {"facteur_evolution": nan, "z_evolution": nan, "facteur_pairs": 130.0, "z_pairs": 5.6},
        {"facteur_evolution": nan, "z_evolution": nan, "facteur_pairs": 450.0, "z_pairs": -6.7},
        # lines that add up to the total income vouch for themselves
        {"facteur_evolution": 1050.0, "z_evolution": -9.0, "financeurs_concordants": True},
        # a Caf payment from 262,203 EUR to 250 (x1,049): read back x1,000, it would alone exceed
        # the structure's income; the accounts rule the slip out
        {"facteur_evolution": 1049.0, "z_evolution": -16.9, "unite_historique": 1000.0, "unite_contredite": True},
        {"facteur_evolution": 1049.0, "z_evolution": -16.9, "unite_historique": 1000.0},
        # a slip has a direction: other income from 59,355 EUR to 646 (x92, beyond any natural
        # variation) is last year's odd amount coming back, no thousands slip; a rise of x92 is cents
        {"facteur_evolution": 92.0, "z_evolution": -10.8, "unite_historique": 100.0},
        {"facteur_evolution": 92.0, "z_evolution": 10.8, "unite_historique": 100.0, "z_pairs": 7.0,
         "valeur": 59355.0, "valeur_reference": 646.0},
    ]
    frame = pd.DataFrame([{**base, **r} for r in rows])
    assert _held("montant_unite", frame) == [False, True, False, True, True, False, False, False, True, False, True]


def test_the_demo_s_funding_lines_move_as_real_ones_do():
    """A funding line, in the noise-free generator, appears, vanishes (zero) or moves by a few
    tens of % from one year to the next, never tenfold, let alone a thousandfold (a thousands
    slip's very signature, which the gate rightly holds): the regional and European grants answer
    calls for projects, the same structures get them year after year, a few euros never."""
    from observatoire.demo import FUNDER_LINES

    truth = build_truth("national", seed=5, taille=0.1)
    df = truth.reponses[truth.reponses["repondant"].astype(bool)]
    for line in FUNDER_LINES:
        wide = df.pivot_table(index="code_structure", columns="annee_donnees", values=line, aggfunc="first")
        values = wide.astype(float).to_numpy()
        before, after = values[:, :-1], values[:, 1:]
        both = (before > 0) & (after > 0)
        change = np.maximum(after[both] / before[both], before[both] / after[both])
        assert change.max() < 10, line
        positive = values[values > 0]
        assert positive.min() >= np.median(positive) / 50, line
    region = df["region"].astype(float)
    assert 0.2 < (region > 0).mean() < 0.6                 # most structures get no regional grant
