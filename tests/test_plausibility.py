"""Plausibility of every measure, through real files, a real dbt build and real Great
Expectations: a seeded set of implausible values (unit slips, digits too many, impossible
ratios...) is caught at the right severity, realistic changes are not, and a structure's
confirmation releases a blocked year (or is reported as stale once the value changes)."""
import csv
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from conftest import CONFIRMATIONS_HEADER, CORRECTIONS_HEADER, build_and_validate, frame, query, write_year_files
from expectations.rules import BY_ID, RULES
from common.errors import ObservatoireError
from ingest.load import ingest_paths
from observatoire.build import build
from observatoire.demo import build_truth
from observatoire.validation import run_validation

pytestmark = pytest.mark.lent     # the full tier: real dbt, GX, Chromium or whole runs

SEVERITY = {"bloquant": 0, "avertissement": 1, "info": 2, None: 3}


def _scale(column, factor):
    return lambda r, p: r.update({column: r[column] * factor})


# name: (column that is wrong, how the 2022 answer (r) and the 2021 one (p) are changed,
#        the rule expected on that column (or the rules, any of which will do), the gravest
#        severity expected on that column)
def _neighbour(code: str) -> str:
    """Another commune of the same territory (EPT) as `code`."""
    with (Path(__file__).resolve().parent.parent / "data" / "reference" / "communes.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    ept = next(r["code_ept"] for r in rows if r["code_insee"] == code)
    return next(r["code_insee"] for r in rows if r["code_ept"] == ept and ept and r["code_insee"] != code)


SEEDED = {
    # an amount in another unit is impossible whatever its effect (montant_unite, selective editing)
    "budget_en_euros_au_lieu_de_k": ("charges_total", _scale("charges_total", 1000), "montant_unite", "bloquant"),
    "produits_en_centimes": ("produits_total", _scale("produits_total", 100), "montant_unite", "bloquant"),
    "salaries_chiffre_en_trop": ("salaries", _scale("salaries", 10), "evolution_unite", "bloquant"),
    # selective editing: a digit too many on a median centre's inhabitants reached moves its commune
    # by about 60 % and its territory by about 35 %, below the thresholds (75 %, 40 %): a warning
    # ranked by score (tests/test_selective.py holds the year of an influential one)
    "habitants_chiffre_en_trop": ("habitants_touches", _scale("habitants_touches", 10), "evolution_forte",
                                  "avertissement"),
    "accompagnes_99999_informes_inconnus": (
        "pers_accomp_droits", lambda r, p: r.update(pers_accomp_droits=99_999, pers_info_droits=None),
        ["evolution_unite", "valeur_aberrante"], "bloquant"),   # one finding of the group: its history or its peers
    "accompagnes_99999_sans_historique": (
        "pers_accomp_droits", lambda r, p: (r.update(pers_accomp_droits=99_999, pers_info_droits=None),
                                            p.update(pers_accomp_droits=None)), "valeur_aberrante", "bloquant"),
    "heures_benevolat_x100": ("heures_benevolat", _scale("heures_benevolat", 100),
                              "heures_par_benevole_impossible", "bloquant"),
    "etp_virgule_perdue": ("etp_total", _scale("etp_total", 10), "etp_salaries_impossible", "bloquant"),
    "valorisation_en_k": ("valorisation_benevolat", lambda r, p: r.update(
        valorisation_benevolat=round(r["valorisation_benevolat"] / 1000, 2)), "valorisation_par_heure_impossible",
        "bloquant"),
    "familles_plus_que_habitants": ("familles_touchees", lambda r, p: r.update(
        familles_touchees=r["habitants_touches"] * 20), "familles_habitants_impossible", "bloquant"),
    "administrateurs_habitants_en_trop": ("administrateurs_habitants", lambda r, p: r.update(
        administrateurs_habitants=r["administrateurs"] + 3), "administrateurs_habitants_inferieur", "bloquant"),
    "salaries_negatif": ("salaries", lambda r, p: r.update(salaries=-5), "mesure_negative", "bloquant"),
    "commune_inconnue": ("code_commune", lambda r, p: r.update(code_commune="92999"), "commune_connue", "bloquant"),
    # a known commune other than last year's (overseas, a postal code is often another commune's INSEE
    # code: 97410, Saint-Pierre's postal code, is Saint-Benoît): asked about, the year published
    # (moved within its territory: leaving it would change the territory's totals the other seeded
    # values are scored against)
    "commune_changee": ("code_commune", lambda r, p: r.update(code_commune=_neighbour(r["code_commune"])),
                        "commune_inchangee", "avertissement"),
    # warnings: worth a look, published
    "accompagnes_un_peu_plus_qu_informes": ("pers_accomp_droits", lambda r, p: r.update(
        pers_accomp_droits=r["pers_info_droits"] + 50), "accompagnes_inferieur_informes", "avertissement"),
    "charges_sans_produits": ("charges_total", lambda r, p: r.update(charges_total=r["produits_total"] * 1.6),
                              "charges_produits_plausible", "avertissement"),
    "financeurs_en_trop": ("produits_total", _scale("communes_interco", 1.5), "financeurs_egal_produits",
                           "avertissement"),
    "publics_plus_que_habitants": ("habitants_touches", lambda r, p: r.update(
        publics_adultes=r["publics_adultes"] + r["habitants_touches"] // 2), "publics_habitants_plausible",
        "avertissement"),
    "benevoles_x5_sans_heures": ("benevoles_activite", _scale("benevoles_activite", 5),
                                 ("evolution_forte", "valeur_atypique"), "avertissement"),
    "partenaires_atypiques_sans_historique": ("nb_partenaires", lambda r, p: (
        r.update(nb_partenaires=r["nb_partenaires"] * 8), p.update(nb_partenaires=None)), "valeur_atypique",
        "avertissement"),
    # realistic changes: never blocking
    "salaries_et_etp_x4_ensemble": ("salaries", lambda r, p: r.update(
        salaries=r["salaries"] * 4, etp_total=round(r["etp_total"] * 4, 1)), "evolution_confirmee", "info"),
    "evs_de_2_a_12_salaries": ("salaries", lambda r, p: (
        p.update(salaries=2, etp_total=1.0), r.update(salaries=12, etp_total=1.0)), None, "avertissement"),
    "administrateurs_formes_1_a_9": ("administrateurs_formes", lambda r, p: (
        p.update(administrateurs_formes=1), r.update(administrateurs_formes=9, administrateurs=max(
            r["administrateurs"], 12), administrateurs_habitants=min(r["administrateurs_habitants"], 9))),
        None, "avertissement"),
    # a digit too many after a fall (×8 on a value that dropped by a third: ×5.3 in all) on a median
    # centre: it moves no published figure past its threshold (its commune by about 60 %), a warning
    "etp_chiffre_en_trop_apres_une_baisse": ("etp_total", lambda r, p: (
        p.update(etp_total=round(r["etp_total"] * 1.5, 1), salaries=r["salaries"]),
        r.update(etp_total=round(r["etp_total"] * 8, 1))), "evolution_forte", "avertissement"),
    # two fields off by a unit slip of one of them: the ratio lies ten times beyond the possible
    # (the income in thousands: charges 1,000 times the income, funders 1,000 times; FTE in hours)
    "produits_en_milliers_pour_les_charges": ("charges_total", lambda r, p: r.update(
        produits_total=round(r["produits_total"] / 1000, 2)), "charges_produits_impossible", "bloquant"),
    "produits_en_milliers_pour_les_financeurs": ("produits_total", lambda r, p: r.update(
        produits_total=round(r["produits_total"] / 1000, 2)), "financeurs_produits_impossible", "bloquant"),
    "etp_en_heures": ("charges_total", lambda r, p: r.update(etp_total=round(r["etp_total"] * 1607, 1)),
                      "budget_par_etp_impossible", "bloquant"),
    # selective editing: a small EVS's staff typed x10 moves no published figure past its threshold
    # (a few percent of the département's employees): a warning ranked by score, the year is published
    "evs_salaries_x10_etp_inchange": ("salaries", lambda r, p: (
        p.update(salaries=r["salaries"], etp_total=r["etp_total"]), r.update(salaries=r["salaries"] * 10)),
        "evolution_forte", "avertissement"),
    "etp_animation_x8": ("etp_total", lambda r, p: r.update(etp_animation=r["etp_animation"] * 8),
                         "etp_fonctions_impossible", "bloquant"),
}
# Besides its own column, what a fault reads or what would confirm it (kept known and stable).
ALSO = {"charges_total": ["produits_total", "etp_total"], "produits_total": ["charges_total", "communes_interco"],
        "salaries": ["etp_total"], "habitants_touches": ["familles_touchees", "publics_adultes"],
        "pers_accomp_droits": ["pers_info_droits", "habitants_touches"],
        "heures_benevolat": ["benevoles_activite", "benevoles_instance"], "etp_total": ["salaries"],
        "valorisation_benevolat": ["heures_benevolat"], "familles_touchees": ["habitants_touches"],
        "administrateurs_habitants": ["administrateurs"], "benevoles_activite": ["heures_benevolat"],
        "administrateurs_formes": ["administrateurs", "administrateurs_habitants"]}


def _choose(df: pd.DataFrame, prev: pd.DataFrame) -> dict[str, int]:
    """For each seeded fault, a distinct structure answering both years with what the fault reads
    known, stable on the faulty column and close to the median of its kind, so that the fault is
    what makes it stand out."""
    previous = prev[prev["repondant"]].set_index("code_structure")
    chosen: dict[str, int] = {}
    for name, (column, change, *_rest) in SEEDED.items():
        kind = "EVS" if name.startswith("evs_") else "CS"
        needed = [column, *ALSO.get(column, [])]
        ok = (df["repondant"] & (df["type_structure"] == kind) & df["code_structure"].isin(previous.index)
              & df[needed].notna().all(axis=1) & ~df.index.isin(list(chosen.values())))
        pool = df[ok]
        if pd.api.types.is_numeric_dtype(pool[column].dropna().infer_objects()):
            before = previous.loc[pool["code_structure"], column].astype(float).to_numpy()
            ratio = pool[column].astype(float).to_numpy() / np.where(before > 0, before, np.nan)
            stable = (ratio > 0.67) & (ratio < 1.5)
            now = pool[column].astype(float).clip(lower=1)
            distance = (np.log(now) - np.log(now.median())).abs()
            pool = pool[stable].assign(_d=distance[stable]).sort_values("_d")
        for i in pool.index:            # the first one the change applies to (no unknown value)
            try:
                change(df.loc[i].to_dict(), previous.loc[df.loc[i, "code_structure"]].to_dict())
            except TypeError:
                continue
            chosen[name] = i
            break
        assert name in chosen, name
    return chosen


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    truth = build_truth("92")
    surveys = {s: df.copy() for s, df, _ in truth.per_year}
    df, prev = surveys[2022], surveys[2021]
    chosen = _choose(df, prev)
    codes = {}
    for name, (_, change, _, _) in SEEDED.items():
        i = chosen[name]
        code = df.loc[i, "code_structure"]
        j = prev.index[prev["code_structure"] == code][0]
        record, before = df.loc[i].to_dict(), prev.loc[j].to_dict()
        change(record, before)
        df.loc[i] = pd.Series(record)
        prev.loc[j] = pd.Series(before)
        codes[name] = code
    silent = df.index[~df["repondant"]][0]               # a non-respondent declaring a measure
    df.loc[silent, "habitants_touches"] = 100
    codes["non_repondant_avec_mesure"] = df.loc[silent, "code_structure"]
    base = tmp_path_factory.mktemp("seeded")
    write_year_files(truth, base / "extraits", {2022: df, 2021: prev})
    db = base / "o.duckdb"
    assert not ingest_paths([base / "extraits"], db).rejected
    outcome, *_ = build_and_validate(db, base)
    return db, outcome, codes, base


def _findings(db, code, survey=2022):
    return frame(db, "SELECT * FROM constats_qualite WHERE code_structure = ? AND annee_enquete = ?", [code, survey])


@pytest.mark.parametrize("name", SEEDED)
def test_seeded_implausible_values_are_caught_at_the_right_severity(seeded, name):
    db, _, codes, _ = seeded
    column, _, regle, gravest = SEEDED[name]
    found = _findings(db, codes[name])
    on_column = found[found["colonne"] == column]
    worst = min((SEVERITY[s] for s in on_column["severite"]), default=SEVERITY[None])
    assert worst == SEVERITY[gravest] if regle else worst >= SEVERITY[gravest], on_column[["regle", "severite"]]
    if regle:
        hit = on_column[on_column["regle"].isin([regle] if isinstance(regle, str) else regle)]
        assert len(hit) == 1, on_column[["regle", "severite", "message"]].to_string()
        hit = hit.iloc[0]
        assert hit["severite"] == BY_ID[hit["regle"]].severite and hit["annee_donnees"] == 2021
        # French, says what was seen and what to do; no template left, no Python repr
        assert codes[name] in hit["message"] and "{" not in hit["message"]
        assert "None" not in hit["message"] and "nan" not in hit["message"].split()
        if hit["severite"] != "info":
            assert "corrections.csv" in hit["message"]
            assert "confirmations.csv" in hit["message"]


def test_every_conditional_rule_is_seeded_through_real_files():
    """The rules whose expectation has a row condition cannot be seeded generically
    (test_validation.py): each must be caught here."""
    import great_expectations.expectations as gxe

    conditional = {r.regle for r in RULES if getattr(r.build(gxe), "row_condition", None)}
    seeded_rules = {r for _, _, regle, _ in SEEDED.values() for r in ([regle] if isinstance(regle, str) else regle or [])}
    missing = conditional - seeded_rules - {"accompagnes_informes_impossible", "accompagnes_habitants_impossible",
                                            "publics_habitants_impossible"}
    assert not missing, missing


def test_an_unknown_commune_is_one_finding_not_also_a_move(seeded):
    """A commune code that does not exist (a postal code, 01000, for Bourg-en-Bresse's 01053) is the
    unknown commune's finding only: not also a commune changed since last year, a second point on
    the same value of the centre's sheet that read « (vide, code 01000) »."""
    db, _, codes, _ = seeded
    found = _findings(db, codes["commune_inconnue"])
    assert found[found["colonne"] == "code_commune"]["regle"].tolist() == ["commune_connue"]


def test_a_non_respondent_declaring_a_measure_is_a_warning(seeded):
    db, _, codes, _ = seeded
    found = _findings(db, codes["non_repondant_avec_mesure"])
    assert found[["regle", "severite"]].values.tolist() == [["non_repondant_sans_mesure", "avertissement"]]


def test_only_the_faulty_year_is_held_back(seeded):
    """The year after a wrong value comes back to normal: it is not blocked in turn."""
    db, outcome, _, base = seeded
    assert {g.annee for g in outcome.gates if not g.publie} == {2021}
    assert query(db, "SELECT annee FROM publications WHERE statut = 'bloquee'") == [(2021,)]
    page = (base / "qualite" / "2021.html").read_text(encoding="utf-8")
    assert "non publiée" in page
    # the page leads with what blocks publication, in French words (no rule id)
    assert page.index("Ce qui bloque la publication") < page.index("Avertissements") < page.index("Taux de réponse")
    assert str(escape(BY_ID["evolution_unite"].libelle)) in page
    assert "evolution_unite" not in page and "None" not in page


def test_fiche_de_retour_groups_a_structure_s_findings_gravest_first(seeded):
    db, _, codes, base = seeded
    code = codes["produits_en_centimes"]
    path = base / "qualite" / "fiches_retour" / "2021" / f"{code.lower()}.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert {r["code_structure"] for r in rows} == {code}
    ranks = [{"Bloquant": 0, "Avertissement": 1, "Information": 2}[r["severite"]] for r in rows]
    assert ranks == sorted(ranks) and ranks[0] == 0
    assert BY_ID["montant_unite"].libelle in {r["controle"] for r in rows}
    assert all(r["controle"] not in BY_ID for r in rows)               # French labels, no rule id
    page = (base / "qualite" / "2021.html").read_text(encoding="utf-8")
    assert f"fiches_retour/2021/{code.lower()}.csv" in page


def test_validate_command_exit_code_and_message(seeded, tmp_path, cli_run, warehouse):
    warehouse.parent.mkdir(parents=True)
    shutil.copy2(seeded[0], warehouse)
    result = cli_run("validate", "--sortie", tmp_path / "q")
    assert result.exit_code == 4
    assert "2021 : non publiée" in result.output and "corrections.csv" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- confirmations

@pytest.fixture(scope="module")
def one_jump(tmp_path_factory):
    """The demo with one structure whose employees are declared ten times higher in 2022:
    the only thing that holds data year 2021 back."""
    truth = build_truth("92")
    surveys = {s: df.copy() for s, df, _ in truth.per_year}
    df, prev = surveys[2022], surveys[2021]
    i = _pick_stable(df, prev, "salaries")
    code = df.loc[i, "code_structure"]
    value = int(df.loc[i, "salaries"]) * 10
    df.loc[i, "salaries"] = value
    base = tmp_path_factory.mktemp("one_jump")
    write_year_files(truth, base / "extraits", {2022: df})
    db = base / "o.duckdb"
    ingest_paths([base / "extraits"], db)
    corrections = base / "corrections.csv"
    corrections.write_text(CORRECTIONS_HEADER, encoding="utf-8")
    build(db, docs=False, corrections=corrections)
    return db, code, value, corrections, base


def _pick_stable(df, prev, column):
    previous = prev[prev["repondant"]].set_index("code_structure")[column]
    ok = df["repondant"] & (df["type_structure"] == "CS") & df[column].notna() & df["etp_total"].notna()
    ok &= df["code_structure"].isin(previous.dropna().index)
    pool = df[ok]
    ratio = pool[column].astype(float).to_numpy() / previous.loc[pool["code_structure"]].astype(float).to_numpy()
    pool = pool[(ratio > 0.8) & (ratio < 1.25)]
    distance = (np.log(pool[column].astype(float)) - math.log(pool[column].astype(float).median())).abs()
    return distance.sort_values().index[0]


def _confirm(path, code, column, value, author="A. Analyste"):
    path.write_text(CONFIRMATIONS_HEADER + f"2022;{code};{column};{value};La structure a repris un "
                    f"second centre, confirmé par sa directrice;{author};2024-06-12\n", encoding="utf-8")
    return path


def test_a_confirmation_releases_a_blocked_year(one_jump, tmp_path):
    db0, code, value, corrections, _ = one_jump
    db = tmp_path / "o.duckdb"
    shutil.copy2(db0, db)
    none = tmp_path / "aucune.csv"
    none.write_text(CONFIRMATIONS_HEADER, encoding="utf-8")
    blocked = run_validation(db, tmp_path / "q0", confirmations=none)
    gate = next(g for g in blocked.gates if g.annee == 2021)
    assert not gate.publie and set(gate.bloquants["regle"]) == {"evolution_unite"}

    outcome = run_validation(db, tmp_path / "q1", confirmations=_confirm(tmp_path / "c.csv", code, "salaries", value))
    assert all(g.publie for g in outcome.gates)
    finding = frame(db, "SELECT * FROM constats_qualite WHERE code_structure = ? AND regle = 'evolution_unite'", [code])
    assert finding["severite"].tolist() == ["info"]
    assert "confirmée par A. Analyste le 2024-06-12" in finding["message"][0] and "second centre" in finding["message"][0]
    assert query(db, "SELECT statut, auteur FROM confirmations") == [("active", "A. Analyste")]
    page = (tmp_path / "q1" / "2021.html").read_text(encoding="utf-8")
    assert "Valeurs confirmées par les structures" in page and "A. Analyste" in page and "second centre" in page


def test_a_stale_confirmation_is_reported_and_releases_nothing(one_jump, tmp_path):
    db0, code, value, _, _ = one_jump
    db = tmp_path / "o.duckdb"
    shutil.copy2(db0, db)
    # the centre confirmed another figure than the one the extract now holds
    outcome = run_validation(db, tmp_path / "q", confirmations=_confirm(tmp_path / "c.csv", code, "salaries", value + 7))
    assert not next(g for g in outcome.gates if g.annee == 2021).publie
    stale = frame(db, "SELECT * FROM constats_qualite WHERE regle = 'confirmation_perimee'")
    assert stale[["code_structure", "colonne", "severite"]].values.tolist() == [[code, "salaries", "avertissement"]]
    assert "n'est plus celle de la réponse" in stale["message"][0] and "confirmations.csv" in stale["message"][0]
    assert frame(db, "SELECT severite FROM constats_qualite WHERE code_structure = ? AND regle = 'evolution_unite'",
                 [code])["severite"].tolist() == ["bloquant"]
    page = (tmp_path / "q" / "2021.html").read_text(encoding="utf-8")
    assert "périmée" in page


def test_a_correction_makes_a_confirmation_stale(one_jump, tmp_path):
    db0, code, value, _, _ = one_jump
    db = tmp_path / "o.duckdb"
    shutil.copy2(db0, db)
    fixes = tmp_path / "corrections.csv"
    fixes.write_text(CORRECTIONS_HEADER + f"2022;{code};salaries;{value // 10};Chiffre en trop;B. Analyste;"
                     "2024-06-20\n", encoding="utf-8")
    build(db, docs=False, corrections=fixes)
    outcome = run_validation(db, tmp_path / "q", confirmations=_confirm(tmp_path / "c.csv", code, "salaries", value))
    assert all(g.publie for g in outcome.gates)          # corrected: nothing to release any more
    assert query(db, "SELECT statut, valeur_actuelle FROM confirmations") == [("perimee", str(value // 10))]
    assert query(db, "SELECT severite FROM constats_qualite WHERE regle = 'confirmation_perimee'") == [("avertissement",)]


def test_a_confirmation_that_points_at_nothing_is_refused(one_jump, tmp_path):
    db0, code, value, _, _ = one_jump
    db = tmp_path / "o.duckdb"
    shutil.copy2(db0, db)
    silent = query(db, "SELECT min(code_structure) FROM reponses WHERE annee_enquete = 2022 AND NOT repondant")[0][0]
    bad = tmp_path / "c.csv"
    bad.write_text(CONFIRMATIONS_HEADER + "2022;CS92-9999;salaries;12;motif;A. Analyste;2024-06-01\n"
                   + f"2022;{code};colonne_inconnue;12;motif;A. Analyste;2024-06-01\n"
                   + f"2022;{code};salaries;{value};;;2024-06-01\n"
                   + f"2022;{silent};salaries;12;motif;A. Analyste;2024-06-01\n", encoding="utf-8")
    run_validation(db, tmp_path / "q", confirmations=bad)
    refused = frame(db, "SELECT * FROM constats_qualite WHERE regle = 'confirmation_refusee' ORDER BY ligne")
    assert refused["severite"].tolist() == ["avertissement"] * 4
    assert "aucune réponse de CS92-9999" in refused["message"][0]
    assert "n'est pas une colonne corrigeable" in refused["message"][1]
    assert "motif ou auteur manquant" in refused["message"][2]
    assert f"{silent} n'a pas répondu à l'enquête 2022" in refused["message"][3]      # not « périmée »
    assert query(db, "SELECT DISTINCT statut FROM confirmations") == [("refusee",)]


def test_an_unreadable_confirmations_file_is_a_french_error(one_jump, tmp_path):
    db = tmp_path / "o.duckdb"
    shutil.copy2(one_jump[0], db)
    broken = tmp_path / "confirmations.csv"
    broken.write_text(CONFIRMATIONS_HEADER + "2022;CS92-0001;salaries;12;motif;A. Analyste;2024-06-01\n"
                      + "2022;CS92-0001;salaries;12;motif; avec; un point-virgule;A. Analyste;2024-06-01\n",
                      encoding="utf-8")
    with pytest.raises(ObservatoireError, match="la ligne 3 est illisible"):
        run_validation(db, tmp_path / "q", confirmations=broken)
    # nothing half-done: the previous findings and publications are untouched
    assert query(db, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'confirmations'") == [(0,)]
