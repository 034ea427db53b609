"""Deterministic generator of realistic extracts.

`generate(out_dir, scale)` writes SENACS survey extracts and federation activity logs in the
dialects real files come in (Windows-1252 or UTF-8 with BOM, `;` `,` or tab, French
numbers, old headers, XLSX with title rows, duplicates, "no answer" spellings...) and
returns the truth: what the structures declared, as typed canonical values.

Scales: "92" (about 60 structures of the Hauts-de-Seine, surveys 2018-2023, activities
2019-2022) and "national" (about 2,400 CS and 1,700 EVS over every département, 10 surveys).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from common.errors import ObservatoireError
from ingest.config import REFERENCE_DIR, Config

THEMES = ["acces_droits", "numerique", "parentalite", "scolarite", "langue_francaise", "insertion",
          "sante", "culture", "vacances", "vieillissement", "discriminations", "ecologie"]
THEME_BASE = [0.8, 0.55, 0.85, 0.7, 0.6, 0.45, 0.5, 0.9, 0.6, 0.45, 0.35, 0.25]
NAMES = ["Les Acacias", "La Passerelle", "Le Petit Prince", "L'Îlot", "Les Tilleuls", "La Fontaine",
         "Arc-en-ciel", "Le Phare", "La Ruche", "Les Oiseaux", "Le Trait d'Union", "Espace Jeunes & Familles",
         "La Maison Pour Tous", "Le Colombier", "Les Hauts", "La Source", "Le Moulin", "Les Peupliers",
         "Agora", "Le Valmy", "La Cité", "Les Bruyères", "Le Cèdre", "Les Lilas", "L'Étoile", "Pablo Picasso",
         "Jacques Prévert", "Louise Michel", "Aimé Césaire", "Simone Veil"]
SCALES = {
    "92": {"departements": ["92"], "cs": 42, "evs": 18, "surveys": list(range(2018, 2024)),
           "activities": list(range(2019, 2023))},
    "national": {"departements": None, "cs": 2650, "evs": 1880, "surveys": list(range(2015, 2025)),
                 "activities": list(range(2019, 2023))},
}
BLOCS = {
    2014: {"bloc_2014_emploi_chantiers_insertion": "bool"},
    2015: {"bloc_2015_numerique_acces_internet": "bool"},
    2016: {"bloc_2016_habitat_actions_logement": "bool"},
    2017: {"bloc_2017_culture_sorties_familiales": "int"},
    2018: {"bloc_2018_petite_enfance_lieu_accueil": "bool", "bloc_2018_petite_enfance_places": "int"},
    2019: {"bloc_2019_jeunes_adultes_actions": "bool", "bloc_2019_jeunes_adultes_nb_suivis": "int"},
    2020: {"bloc_2020_ecologie_jardin_partage": "bool"},
    2021: {"bloc_2021_crise_sanitaire_activite_maintenue": "bool",
           "bloc_2021_crise_sanitaire_colis_alimentaires": "int"},
    2022: {"bloc_2022_democratie_conseil_habitants": "bool"},
    2023: {"bloc_2023_ecologie_mobilite_douce": "bool", "bloc_2023_ecologie_nb_actions": "int"},
    2024: {"bloc_2024_petite_enfance_accueil_parents": "bool"},
}
ACTION_CODES = [f"A{a}.{b}" for a in (1, 2, 3) for b in (1, 2, 3, 4)]
ACTION_GROUPS = {"A1.1": "MODELES_SE", "A1.2": "COMM", "A1.3": "IMPACT", "A1.4": "GOUV_PART",
                 "A2.1": "IMPACT", "A2.2": "IMPACT", "A2.3": "COMM", "A2.4": "MODELES_SE",
                 "A3.1": "JEUNESSE", "A3.2": "DROITS_EGAL", "A3.3": "PRAT_PEDA", "A3.4": "BIEN_VIEILLIR"}
ACTIVITY_TYPES = ["formation", "rencontre", "accompagnement", "temps_fort", "groupe_travail", "comite",
                  "communication"]


@dataclass
class Truth:
    reponses: pd.DataFrame          # canonical typed values, one row per structure x survey
    activites: pd.DataFrame
    blocs: pd.DataFrame             # annee_enquete, code_structure, question, reponse


def _structures(rng: np.random.Generator, scale: dict, communes: pd.DataFrame) -> pd.DataFrame:
    pool = communes[communes["type_commune"] == "commune"]
    if scale["departements"]:
        pool = pool[pool["code_departement"].isin(scale["departements"])]
    pool = pool[pool["population"].fillna(0) > 0]
    weights = pool["population"].to_numpy(dtype=float) ** (0.9 if scale["departements"] else 1.1)
    rows = []
    first_survey, last_survey = scale["surveys"][0], scale["surveys"][-1]
    for kind, count in (("CS", scale["cs"]), ("EVS", scale["evs"])):
        picks = rng.choice(len(pool), size=count, p=weights / weights.sum())
        for i, pick in enumerate(picks, start=1):
            commune = pool.iloc[pick]
            dep = commune["code_departement"]
            code = f"{kind}{dep}-{i:04d}"
            first = first_survey if rng.random() < 0.85 else int(rng.integers(first_survey + 1, last_survey + 1))
            last = last_survey if rng.random() < 0.95 else int(rng.integers(first + 1, last_survey + 2))
            name = NAMES[int(rng.integers(len(NAMES)))]
            label = "Centre social" if kind == "CS" else "Espace de vie sociale"
            rows.append({
                "code_structure": code, "type_structure": kind,
                "nom_structure": f"{label} {name} – {commune['nom_commune']}",
                "code_commune": commune["code_insee"], "first": first, "last": min(last, last_survey),
                "size": float(rng.lognormal(0.0, 0.45)) * (1.0 if kind == "CS" else 0.25),
                "siret": "".join(str(d) for d in rng.integers(0, 10, 14)) if rng.random() < 0.9 else None,
                "mode_gestion": rng.choice(["associatif", "collectivite", "caf", "autre"],
                                           p=[0.68, 0.25, 0.04, 0.03] if kind == "CS" else [0.9, 0.06, 0, 0.04]),
                "type_territoire": "urbain" if rng.random() < (0.97 if scale["departements"] else 0.78) else "rural",
                "taille_territoire": rng.choice(["quartier", "plusieurs_quartiers", "commune", "plusieurs_communes"],
                                                p=[0.45, 0.25, 0.22, 0.08]),
                "qpv": rng.choice(["en_qpv", "accueille_qpv", "non_concerne"], p=[0.45, 0.3, 0.25]),
                "population_zone": int(rng.integers(4, 60) * 500),
                "date_premier_agrement": date(int(rng.integers(1975, 2016)), int(rng.integers(1, 13)), 1),
                "agrement_acf": bool(kind == "CS" and rng.random() < 0.85),
                "adherent_federation": bool(rng.random() < 0.75),
                "multi_sites": bool(rng.random() < 0.3),
                "respond": float(rng.uniform(0.75, 1.0)),
                "digital": float(rng.uniform(-0.3, 0.3)),
            })
    return pd.DataFrame(rows)


def _year(rng: np.random.Generator, s: pd.DataFrame, survey: int) -> pd.DataFrame:
    """The declared answers of survey `survey` for the active structures `s`."""
    n = len(s)
    data_year = survey - 1
    covid = {2020: 0.6, 2021: 0.85}.get(data_year, 1.0)
    t = data_year - 2017
    growth = 1.03 ** t
    size = s["size"].to_numpy()
    is_cs = (s["type_structure"] == "CS").to_numpy()
    respond_p = s["respond"].to_numpy() * (0.8 if survey == 2021 else 1.0) + 0.02 * max(t, 0)
    resp = rng.random(n) < np.minimum(respond_p, 0.98)

    def count(mean, spread=0.25, floor=0):
        return np.maximum(np.round(mean * np.exp(rng.normal(0, spread, n))), floor).astype("int64")

    def share(p):
        return rng.random(n) < np.clip(p, 0, 1)

    df = pd.DataFrame({
        "annee_enquete": survey, "annee_donnees": data_year,
        "code_structure": s["code_structure"].to_numpy(), "siret": s["siret"].to_numpy(),
        "nom_structure": s["nom_structure"].to_numpy(), "type_structure": s["type_structure"].to_numpy(),
        "code_commune": s["code_commune"].to_numpy(), "repondant": resp,
        "statut_controle": np.where(resp, rng.choice(["controle_ok", "saisi", "a_verifier"], n, p=[0.7, 0.2, 0.1]),
                                    None),
    })
    for col in ("mode_gestion", "type_territoire", "taille_territoire", "qpv", "population_zone",
                "date_premier_agrement", "agrement_acf", "adherent_federation", "multi_sites"):
        df[col] = s[col].to_numpy()
    start = pd.Timestamp(date(survey - 1, 1, 1)) + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    df["date_fin_agrement"] = (start + pd.DateOffset(years=4)).date

    base = size * growth * covid
    df["habitants_touches"] = count(900 * base)
    ages = {col: count(900 * base * w) for col, w in (
        ("publics_0_5", 0.08), ("publics_6_11", 0.2), ("publics_12_17", 0.15), ("publics_18_25", 0.1),
        ("publics_adultes", 0.32), ("publics_seniors", 0.15))}
    # the age groups split the inhabitants reached: scaled down when their sum exceeds it
    scale = np.minimum(1.0, df["habitants_touches"].to_numpy() / np.maximum(sum(ages.values()), 1))
    for col, values in ages.items():
        df[col] = np.floor(values * scale).astype("int64")
    df["familles_touchees"] = np.minimum(count(300 * base), df["habitants_touches"])
    for theme, p in zip(THEMES, THEME_BASE):
        boost = 0.04 * t if theme in ("numerique", "ecologie", "acces_droits") else 0.0
        df[f"theme_{theme}"] = share(p + boost + np.zeros(n))
    df["pers_info_droits"] = count(250 * base)
    df["pers_accomp_droits"] = np.minimum(count(110 * base), df["pers_info_droits"])
    df["jeunes_accompagnes"] = count(35 * base)
    df["ateliers_numerique"] = count(40 * base * (1 + 0.1 * t))
    df["departs_vacances"] = count(30 * base * (0.3 if data_year == 2020 else 1))
    df["assoc_hebergees"] = count(11 * size, 0.4)
    df["projets_habitants"] = count(6 * base, 0.4)
    df["benevoles_activite"] = count(30 * size * growth * (0.7 if data_year == 2020 else 1))
    df["benevoles_instance"] = count(14 * size ** 0.5)
    df["jeunes_benevoles"] = np.minimum(count(5 * base, 0.5), df["benevoles_activite"])
    df["heures_benevolat"] = count(2600 * size * growth * (0.55 if data_year == 2020 else 1))
    df["administrateurs"] = np.maximum(count(12 * size ** 0.3, 0.2), 3)
    hab_share = np.clip(0.4 + 0.03 * t + rng.normal(0, 0.1, n), 0.05, 1)
    df["administrateurs_habitants"] = np.round(df["administrateurs"] * hab_share).astype("int64")
    df["administrateurs_formes"] = np.minimum(count(1.5 + 0.4 * max(t, 0), 0.6), df["administrateurs"])
    df["partenariat_commune"] = share(0.88 + np.zeros(n))
    df["convention_pluripartenariale"] = share(0.6 + np.zeros(n))
    df["pacte_cooperation"] = share(np.full(n, 0.05 + 0.08 * max(data_year - 2018, 0)))
    df["nb_partenaires"] = count(18 * size ** 0.6, 0.3)
    df["nouveaux_partenariats"] = count(2 + 0.3 * max(t, 0), 0.5)
    df["reseaux_locaux"] = count(2.5 + 0.25 * max(t, 0), 0.4)
    df["outils_numeriques_collaboratifs"] = share(0.3 + 0.09 * t + s["digital"].to_numpy()
                                                   + (0.15 if data_year >= 2020 else 0))
    df["experimentations_innovantes"] = count(0.8 + 0.3 * max(t, 0), 0.7)
    df["demarche_impact"] = share(np.full(n, 0.12 + 0.07 * max(t, 0)))
    salaries = np.maximum(count(33 * size, 0.2), 2)
    df["salaries"] = salaries
    df["salaries_cdi"] = np.round(salaries * rng.uniform(0.45, 0.8, n)).astype("int64")
    etp = np.round(salaries * rng.uniform(0.45, 0.6, n), 1)
    df["etp_total"] = etp
    df["etp_direction"] = np.where(is_cs, 1.0, np.round(np.minimum(0.5, etp * 0.2), 1))
    df["etp_accueil"] = np.round(etp * 0.12, 1)
    df["etp_referent_familles"] = np.where(s["agrement_acf"].to_numpy(), np.minimum(1.0, np.round(etp * 0.1, 1)), 0.0)
    df["etp_animation"] = np.round(np.maximum(etp - df["etp_direction"] - df["etp_accueil"]
                                              - df["etp_referent_familles"] - 0.3, 0), 1)
    df["salaries_formes"] = np.minimum(count(2 + 0.5 * max(t, 0), 0.5), salaries)

    budget = 633_817 * size * 1.02 ** t * (0.93 if data_year == 2020 else 1) * np.exp(rng.normal(0, 0.1, n))
    caf_agc = np.where(is_cs, np.round(budget * rng.uniform(0.1, 0.16, n), 2), 0.0)
    caf_acf = np.where(s["agrement_acf"].to_numpy(), np.round(budget * rng.uniform(0.03, 0.05, n), 2), 0.0)
    caf_autres = np.round(budget * rng.uniform(0.08, 0.14, n), 2)
    communes = np.round(budget * rng.uniform(0.3, 0.45, n) * (1 - 0.01 * t), 2)
    others = {}
    for c, lo, hi in (("departement", 0.02, 0.06), ("region", 0.0, 0.02), ("etat", 0.04, 0.09),
                      ("europe", 0.0, 0.01), ("usagers", 0.05, 0.1)):
        share = rng.uniform(lo, hi, n)
        if c in PROJECT_GRANTS:
            # a grant answering a call for projects: only the structures the funder supports get
            # one, about the same share of their budget year after year (a few tens of % up or
            # down), and some years it is not renewed (zero); never a few euros. The year's draw
            # above, read as uniform(0, 1), decides both (the other values stay as they were).
            draw = (share - lo) / (hi - lo)
            renewed = draw >= GRANT_GAP
            share = np.where(renewed, s[f"part_{c}"].to_numpy() * (0.7 + 0.6 * (draw - GRANT_GAP) / (1 - GRANT_GAP)),
                             0.0)
        others[c] = np.round(budget * share, 2)
    autres = np.round(budget * rng.uniform(0.02, 0.05, n) * (1 + 0.06 * max(t, 0)), 2)
    total = caf_agc + caf_acf + caf_autres + communes + autres + sum(others.values())
    df["produits_total"] = np.round(total, 2)
    df["charges_total"] = np.round(total * rng.uniform(0.96, 1.03, n), 2)
    df["caf_ps_agc"], df["caf_ps_acf"], df["caf_autres"], df["communes_interco"] = caf_agc, caf_acf, caf_autres, communes
    for c, v in others.items():
        df[c] = v
    df["autres_produits"] = autres
    df["valorisation_benevolat"] = np.round(df["heures_benevolat"] * 11.65, 2)

    measures = [c for c in df.columns if c not in IDENTITY]
    # a few unknown answers among respondents, none at all for non-respondents; a funder line
    # is never left unknown on its own (an empty funder line means zero)
    for col in measures:
        unknown = rng.random(n) < (0.0 if col in FUNDER_LINES else 0.02)
        df[col] = df[col].astype("object").where(resp & ~unknown, None)
    df["statut_controle"] = df["statut_controle"].where(resp, None)
    return df


# Grants answering calls for projects (region, Europe): (share of the structures the funder
# supports, range of the share of their budget it brings); a supported structure's grant is not
# renewed one year in GRANT_GAP.
PROJECT_GRANTS = {"region": (0.45, 0.01, 0.04), "europe": (0.15, 0.01, 0.04)}
GRANT_GAP = 0.2
FUNDER_LINES = ["caf_ps_agc", "caf_ps_acf", "caf_autres", "communes_interco", "departement", "region", "etat",
                "europe", "usagers", "autres_produits"]
IDENTITY = ["annee_enquete", "annee_donnees", "code_structure", "siret", "nom_structure", "type_structure",
            "code_commune", "repondant", "statut_controle", "mode_gestion", "type_territoire",
            "taille_territoire", "qpv", "population_zone", "date_premier_agrement", "date_fin_agrement",
            "agrement_acf", "adherent_federation", "multi_sites"]


def _blocs(rng, df: pd.DataFrame, survey: int) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    resp = df["repondant"].to_numpy(dtype=bool)
    for name, kind in BLOCS.get(survey, {}).items():
        if kind == "bool":
            values = np.where(rng.random(len(df)) < 0.6, "oui", "non")
        else:
            values = rng.integers(0, 80, len(df)).astype(str)
        out[name] = np.where(resp, values, None)
    return out


def _activities(rng, year: int, codes: list[str]) -> pd.DataFrame:
    n = int(rng.integers(55, 80)) if year != 2020 else int(rng.integers(30, 40))
    days = pd.Timestamp(date(year, 1, 1)) + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    weights = np.array([1.0 + 0.15 * (year - 2019) * (a.startswith("A1") or a == "A2.4") for a in ACTION_CODES])
    actions = rng.choice(ACTION_CODES, n, p=weights / weights.sum())
    types = rng.choice(ACTIVITY_TYPES, n, p=[0.25, 0.2, 0.2, 0.07, 0.15, 0.08, 0.05])
    participants = rng.integers(6, 60, n) * np.where(types == "temps_fort", 4, 1)
    habitants = np.round(participants * rng.uniform(0.1, 0.4, n)).astype(int)
    benevoles = np.round(participants * rng.uniform(0.1, 0.3, n)).astype(int)
    rows = []
    for i in range(n):
        present = rng.choice(codes, size=min(len(codes), int(rng.integers(1, 8))), replace=False)
        rows.append({
            "date": days[i].date(), "action_code": actions[i],
            "groupe_travail": ACTION_GROUPS[actions[i]] if rng.random() < 0.8 else None,
            "type_activite": types[i],
            "intitule": f"{types[i].replace('_', ' ').capitalize()} « {actions[i]} » n° {i + 1}",
            "nb_participants": int(participants[i]), "nb_centres": len(present),
            "nb_habitants": int(habitants[i]), "nb_benevoles": int(benevoles[i]),
            "nb_salaries": int(participants[i] - habitants[i] - benevoles[i]),
            "duree_heures": float(rng.choice([1.5, 2.0, 3.0, 6.0, 7.5])),
            "partenaires": "Caf des Hauts-de-Seine|Département" if rng.random() < 0.4 else None,
            "codes_structures": "|".join(sorted(present)),
        })
    return pd.DataFrame(rows)


# another département's demo: about one centre social per 40,000 inhabitants and one EVS per
# 90,000 (the 92's demo has 42 and 18 for 1.6 million), at least a few of each; its surveys and
# files are the 92's
PER_CS, PER_EVS, AT_LEAST_CS, AT_LEAST_EVS = 40_000, 90_000, 6, 4


def scale_spec(scale: str, communes: pd.DataFrame) -> dict:
    """What a scale holds: one of SCALES, or a département's code (59, 2A, 974) for a demo of its
    own communes, sized by its population."""
    if scale in SCALES:
        return SCALES[scale]
    code = str(scale).strip().upper()
    code = code.zfill(2) if code.isdigit() and len(code) == 1 else code
    own = communes[(communes["code_departement"] == code) & (communes["type_commune"] == "commune")]
    if own.empty or own["population"].fillna(0).sum() <= 0:
        raise ObservatoireError(f"« {scale} » n'est pas un code de département du référentiel des communes "
                                "(exemples : 59, 01, 2A, 974).")
    population = float(own["population"].fillna(0).sum())
    return {**SCALES["92"], "departements": [code],
            "cs": max(AT_LEAST_CS, round(population / PER_CS)), "evs": max(AT_LEAST_EVS, round(population / PER_EVS))}


def build_truth(scale: str = "92", seed: int = 92, reference_dir: Path = REFERENCE_DIR,
                taille: float = 1.0) -> Truth:
    """What the structures of a scale declare (see scale_spec); `taille` multiplies the number of
    structures (the benchmark measures how the pipeline grows with the data)."""
    communes = pd.read_csv(reference_dir / "communes.csv", dtype=str, keep_default_na=False)
    communes["population"] = pd.to_numeric(communes["population"], errors="coerce")
    base = scale_spec(scale, communes)
    spec = {**base, "cs": max(1, round(base["cs"] * taille)), "evs": max(1, round(base["evs"] * taille))}
    rng = np.random.default_rng(seed)
    structures = _structures(rng, spec, communes)
    # who gets a project grant, and its usual share of the budget: a draw of its own, so that the
    # rest of the generator's values stay as they were
    grants = np.random.default_rng([seed, 21])
    for line, (supported, low, high) in PROJECT_GRANTS.items():
        shares = grants.uniform(low, high, len(structures))
        structures[f"part_{line}"] = np.where(grants.random(len(structures)) < supported, shares, 0.0)
    years, blocs, wide_blocs = [], [], []
    for survey in spec["surveys"]:
        yrng = np.random.default_rng([seed, survey])
        active = structures[(structures["first"] <= survey) & (structures["last"] >= survey)].reset_index(drop=True)
        df = _year(yrng, active, survey)
        years.append(df)
        b = _blocs(yrng, df, survey)
        long = b.assign(code_structure=df["code_structure"], annee_enquete=survey).melt(
            id_vars=["annee_enquete", "code_structure"], var_name="question", value_name="reponse").dropna()
        blocs.append(long)
        wide_blocs.append(b)
    codes = structures["code_structure"].tolist()
    activities = [(_activities(np.random.default_rng([seed, y, 1]), y, codes)).assign(_annee=y)
                  for y in spec["activities"]]
    truth = Truth(reponses=pd.concat(years, ignore_index=True),
                  activites=pd.concat(activities, ignore_index=True).drop(columns="_annee"),
                  blocs=pd.concat(blocs, ignore_index=True))
    truth.per_year = list(zip(spec["surveys"], years, wide_blocs))  # type: ignore[attr-defined]
    truth.per_activity_year = activities  # type: ignore[attr-defined]
    return truth


# --------------------------------------------------------------------------- writing

ENUM_LABELS = {
    "type_structure": {"CS": "Centre social", "EVS": "Espace de vie sociale"},
    "mode_gestion": {"associatif": "Associatif", "collectivite": "Collectivité locale", "caf": "Caf",
                     "autre": "Autres (dont délégation de gestion)"},
    "type_territoire": {"urbain": "Urbain", "rural": "Rural"},
    "taille_territoire": {"quartier": "Un quartier", "plusieurs_quartiers": "Plusieurs quartiers",
                          "commune": "Une commune", "plusieurs_communes": "Plusieurs communes"},
    "qpv": {"en_qpv": "Située sur un QPV", "accueille_qpv": "Accueille des habitants de QPV",
            "non_concerne": "Pas concerné"},
    "statut_controle": {"saisi": "Saisi", "controle_ok": "Contrôlé", "a_verifier": "À vérifier"},
}
FRENCH_HEADERS = {"annee_enquete": "Année enquête", "annee_donnees": "Année des données",
                  "nom_structure": "Nom de la structure", "code_commune": "Code commune",
                  "repondant": "Répondant", "type_structure": "Type structure"}
OLD_HEADERS = {  # canonical -> (old header, surveys it was used in), as in data/config/alias_colonnes.yaml
    "benevoles_activite": ("nb_benevoles_activite", 2018, 2020),
    "benevoles_instance": ("nb_benevoles_instances", 2018, 2020),
    "salaries": ("nb_salaries", 2018, 2020), "etp_total": ("etp", 2018, 2019),
    "charges_total": ("budget_total", 2018, 2019), "code_commune": ("code_insee", 2018, 2018)}
FINANCE = {"charges_total", "produits_total", "caf_ps_agc", "caf_ps_acf", "caf_autres", "communes_interco",
           "departement", "region", "etat", "europe", "usagers", "autres_produits", "valorisation_benevolat"}


@dataclass
class Dialect:
    fmt: str = "csv"                 # csv | xlsx
    encoding: str = "utf-8"
    sep: str = ";"
    header: str = "plain"            # plain | title | upper | french
    true: str = "oui"
    false: str = "non"
    checkbox: bool = False           # theme_* written as x / empty
    date: str = "iso"                # iso | fr | excel
    na: str = "NC"
    thousands: str = " "
    euro: bool = False
    labels: bool = False             # enums written as display labels
    title_rows: int = 0
    numbers_as_text: bool = False    # xlsx: numbers as French text cells
    duplicate_row: bool = False
    trailing_blank: bool = False
    lost_zero: bool = False          # commune codes written as numbers (leading zero lost)


DIALECTS_92 = {
    2018: Dialect(encoding="cp1252", sep=";", header="title", true="Oui", false="Non", date="fr", na="NC",
                  thousands=" ", labels=True),
    2019: Dialect(encoding="utf-8-sig", sep=",", true="O", false="N", na="NR", thousands="\u00a0",
                  duplicate_row=True),
    2020: Dialect(fmt="xlsx", title_rows=3, true="Vrai", false="Faux", date="excel", na="N/A"),
    2021: Dialect(sep="\t", header="upper", true="1", false="0", na="NR", thousands="\u00a0", euro=True,
                  trailing_blank=True),
    2022: Dialect(sep=";", header="french", true="yes", false="no", checkbox=True, date="excel",
                  na="ne sait pas", thousands="\u202f", labels=True),
    2023: Dialect(fmt="xlsx", numbers_as_text=True, true="oui", false="non", date="fr", na="-"),
}
ACTIVITY_DIALECTS = {
    2019: Dialect(encoding="cp1252", sep=";", date="fr"),
    2020: Dialect(fmt="xlsx", title_rows=2, date="excel"),
    2021: Dialect(sep=",", header="title"),
    2022: Dialect(encoding="utf-8-sig", sep="\t", date="fr"),
}
NATIONAL_DIALECTS = [Dialect(encoding="cp1252", sep=";", date="fr", lost_zero=True),
                     Dialect(encoding="utf-8-sig", sep=",", true="O", false="N", thousands="\u00a0"),
                     Dialect(sep="\t", header="upper", true="1", false="0", euro=True)]


def _header(name: str, survey: int | None, d: Dialect) -> str:
    if survey is not None and name in OLD_HEADERS and OLD_HEADERS[name][1] <= survey <= OLD_HEADERS[name][2]:
        name = OLD_HEADERS[name][0]
    if d.header == "title":
        return name.replace("_", " ").capitalize()
    if d.header == "upper":
        return name.upper()
    if d.header == "french":
        return FRENCH_HEADERS.get(name, name.replace("_", " "))
    return name


def _number(values: pd.Series, decimals: bool, d: Dialect, finance: bool) -> pd.Series:
    def fmt(v):
        if decimals:
            whole, _, frac = f"{abs(v):.2f}".partition(".")
            frac = frac.rstrip("0")
        else:
            whole, frac = str(abs(int(v))), ""
        groups = []
        while len(whole) > 3:
            groups.insert(0, whole[-3:])
            whole = whole[:-3]
        groups.insert(0, whole)
        text = ("-" if v < 0 else "") + d.thousands.join(groups) + ("," + frac if frac else "")
        return text + (" €" if d.euro and finance else "")
    return values.map(lambda v: None if v is None or pd.isna(v) else fmt(v))


def _cells(df: pd.DataFrame, kind: str, d: Dialect, config: Config, text_numbers: bool) -> pd.DataFrame:
    """Typed truth -> the cells a file of that dialect holds (strings, or numbers for xlsx)."""
    out = pd.DataFrame(index=df.index)
    resp = df["repondant"].to_numpy(dtype=bool) if kind == "senacs" else np.ones(len(df), dtype=bool)
    for name, column in config.columns[kind].items():
        if name not in df:
            continue
        v = df[name]
        if column.type in ("int", "decimal"):
            if text_numbers:
                cells = _number(v, column.type == "decimal", d, name in FINANCE)
            else:
                cells = v.map(lambda x: None if x is None or pd.isna(x) else
                              (float(x) if column.type == "decimal" else int(x)))
        elif column.type == "bool":
            if d.checkbox and name.startswith("theme_"):
                cells = v.map(lambda x: None if x is None or pd.isna(x) else ("x" if x else ""))
            else:
                cells = v.map(lambda x: None if x is None or pd.isna(x) else (d.true if x else d.false))
        elif column.type == "date":
            def fmt_date(x):
                if x is None or pd.isna(x):
                    return None
                if d.date == "fr":
                    return x.strftime("%d/%m/%Y")
                if d.date == "excel":
                    return x if d.fmt == "xlsx" else str((x - date(1899, 12, 30)).days)
                return x.isoformat()
            cells = v.map(fmt_date)
        elif column.type == "enum" and d.labels and name in ENUM_LABELS:
            cells = v.map(lambda x: ENUM_LABELS[name].get(x, x) if x is not None and not pd.isna(x) else None)
        elif column.type == "code_commune" and d.lost_zero:
            cells = v.map(lambda x: x.lstrip("0") if isinstance(x, str) and x[:1] == "0" else x)
        else:
            cells = v.map(lambda x: None if x is None or pd.isna(x) else
                          (int(x) if column.type == "annee" else str(x)))
        # an unknown answer of a respondent is spelled with the dialect's "no answer" token
        cells = cells.astype("object")
        unknown = v.isna().to_numpy() & resp
        if name not in ("siret", "statut_controle", "groupe_travail", "partenaires", "codes_structures"):
            cells[unknown] = d.na
        out[name] = cells
    return out


def _blank(c) -> bool:
    return c is None or (isinstance(c, float) and np.isnan(c))


def _write(path: Path, header: list[str], rows: list[list], d: Dialect, title: str) -> None:
    if d.fmt == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Extraction"
        if d.title_rows:
            ws.append([title])
            ws.append([f"Export du {date(2024, 5, 2).strftime('%d/%m/%Y')} – données déclaratives"])
            for _ in range(d.title_rows - 2):
                ws.append([])
        ws.append(header)
        for row in rows:
            ws.append([None if _blank(c) else c for c in row])
        wb.save(path)
        return
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=d.sep, lineterminator="\r\n" if d.encoding == "cp1252" else "\n")
    writer.writerow(header)
    writer.writerows([["" if _blank(c) else c for c in row] for row in rows])
    text = buffer.getvalue() + (d.sep * 3 + "\n\n" if d.trailing_blank else "")
    path.write_bytes(text.encode(d.encoding))


def write_survey(path: Path, survey: int, df: pd.DataFrame, blocs: pd.DataFrame, d: Dialect,
                 config: Config) -> None:
    text_numbers = d.fmt == "csv" or d.numbers_as_text
    cells = _cells(df, "senacs", d, config, text_numbers)
    cells = pd.concat([cells, blocs.map(lambda x: None if x is None else x)], axis=1)
    header = [_header(c, survey, d) if not c.startswith("bloc_") else c for c in cells.columns]
    rows = cells.to_numpy(dtype=object).tolist()
    if d.duplicate_row and len(rows) > 5:
        rows.insert(5, list(rows[4]))
    _write(path, header, rows, d, f"Enquête SENACS {survey} – extraction des réponses")


def write_activities(path: Path, year: int, df: pd.DataFrame, d: Dialect, config: Config) -> None:
    cells = _cells(df, "activites", d, config, d.fmt == "csv")
    header = [_header(c, None, d) for c in cells.columns]
    _write(path, header, cells.to_numpy(dtype=object).tolist(), d, f"Activités fédérales {year}")


# The noisier variant (issue 16): self-declared data has heavier tails than the generator's.
BRUIT_QUEUES = 0.02         # share of measures off by a factor of 2 to 10, either way (honest noise)
BRUIT_UNITE_EUROS = 0.002   # share of answers with one euro amount in cents (x100) or thousands (/1,000)
BRUIT_CHIFFRE_EN_TROP = 0.002   # share of answers with one count of people with a digit too many
BRUIT_IMPOSSIBLE = 0.0005   # share of answers with one count of people typed negative
# wholes and their parts, which honest noise keeps coherent
TOUT_ET_PARTIES = {"administrateurs": ["administrateurs_habitants", "administrateurs_formes"],
                   "etp_total": ["etp_direction", "etp_accueil", "etp_referent_familles", "etp_animation"]}
PARTIES_ADDITIVES = {"etp_total"}        # wholes whose parts add up to at most the whole
PEOPLE = {"habitants_touches", "publics_0_5", "publics_6_11", "publics_12_17", "publics_18_25", "publics_adultes",
          "publics_seniors", "familles_touchees", "pers_info_droits", "pers_accomp_droits", "jeunes_accompagnes",
          "departs_vacances", "benevoles_activite", "benevoles_instance", "jeunes_benevoles", "administrateurs",
          "salaries"}


def add_noise(truth: Truth, seed: int = 92) -> pd.DataFrame:
    """Make `truth` noisier in place: heavier tails (BRUIT_QUEUES of the measures multiplied or
    divided by 2 to 10, what self-declared data does without being wrong enough to matter; a
    whole moved this way takes its parts along, a part stays within its whole), and
    seeded slips: one euro amount in cents or in thousands, one count of people with a digit
    too many, or typed negative, in a small share of the answers. Returns the seeded slips (annee_enquete,
    code_structure, colonne, erreur, valeur_juste, valeur_semee): the errors a gate must catch."""
    config = Config()
    types = {c.name: c.type for c in config.columns["senacs"].values()
             if c.type in ("int", "decimal") and c.block != "identite"}
    slips = []
    for survey, df, _ in truth.per_year:  # type: ignore[attr-defined]
        rng = np.random.default_rng([seed, survey, 16])
        columns = [c for c in types if c in df]
        values = df[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        known = df["repondant"].to_numpy(dtype=bool)[:, None] & ~np.isnan(values) & (values > 0)
        tails = known & (rng.random(values.shape) < BRUIT_QUEUES)
        factor = rng.uniform(2, 10, values.shape) ** rng.choice([-1, 1], values.shape)
        new = np.where(tails, values * factor, values)
        # an honest change keeps a whole and its parts coherent: a board or a staff that really
        # grew (or shrank) takes its parts along, and a part that really moved stays within its
        # whole (more board members from the neighbourhood than board members is not noise, it is
        # an error, and errors are only the seeded slips below)
        for whole, parts in TOUT_ET_PARTIES.items():
            if whole not in columns:
                continue
            w = columns.index(whole)
            for part in (p for p in parts if p in columns):
                k = columns.index(part)
                moved = tails[:, w] & known[:, k]
                new[moved, k] = values[moved, k] * factor[moved, w]
                tails[moved, k] = True
                capped = tails[:, k] & ~tails[:, w] & known[:, w] & (new[:, k] > values[:, w])
                new[capped, k] = values[capped, w]
            if whole in PARTIES_ADDITIVES:
                # parts that add up (FTE by function) stay within their whole together: the rises
                # noise gave them are cut back, each in proportion, to what the whole leaves room for
                ks = [columns.index(p) for p in parts if p in columns]
                part_values = np.where(known[:, ks], new[:, ks], 0.0)
                rises = np.where(tails[:, ks], np.clip(new[:, ks] - values[:, ks], 0, None), 0.0)
                excess = np.where(known[:, w], part_values.sum(axis=1) - new[:, w], 0.0)
                total_rise = rises.sum(axis=1)
                cut = (excess > 0) & (total_rise > 0)
                share = np.minimum(excess[cut] / total_rise[cut], 1.0)     # of each rise, what goes
                for n, k in enumerate(ks):
                    new[cut, k] = new[cut, k] - rises[cut, n] * share
        draw = rng.random(len(df))
        for i in np.flatnonzero(draw < BRUIT_UNITE_EUROS + BRUIT_CHIFFRE_EN_TROP + BRUIT_IMPOSSIBLE):
            euros = draw[i] < BRUIT_UNITE_EUROS
            negative = draw[i] >= BRUIT_UNITE_EUROS + BRUIT_CHIFFRE_EN_TROP
            pool = [j for j, c in enumerate(columns) if known[i, j] and not tails[i, j]
                    and (c in FINANCE if euros else c in PEOPLE)]
            if not pool:
                continue
            j = pool[rng.integers(len(pool))]
            if euros:
                kind = "centimes" if rng.random() < 0.5 else "milliers"
                new[i, j] = values[i, j] * 100 if kind == "centimes" else values[i, j] / 1000
            elif negative:
                kind, new[i, j] = "negatif", -values[i, j]
            else:
                kind, new[i, j] = "chiffre_en_trop", values[i, j] * 10 + rng.integers(0, 10)
            tails[i, j] = True
            slips.append({"annee_enquete": survey, "code_structure": df["code_structure"].iat[i],
                          "colonne": columns[j], "erreur": kind, "valeur_juste": values[i, j],
                          "valeur_semee": new[i, j]})
        for j, column in enumerate(columns):
            if not tails[:, j].any():
                continue
            integer = types[column] == "int"
            cells = df[column].tolist()
            for i in np.flatnonzero(tails[:, j]):
                v = new[i, j]
                cells[i] = (int(round(v)) if v < 0 else int(max(round(v), 1))) if integer else round(float(v), 2)
            df[column] = pd.Series(cells, index=df.index, dtype=object)
    truth.reponses = pd.concat([df for _, df, _ in truth.per_year], ignore_index=True)  # type: ignore[attr-defined]
    return pd.DataFrame(slips, columns=["annee_enquete", "code_structure", "colonne", "erreur", "valeur_juste",
                                        "valeur_semee"])


def generate(out_dir: Path, scale: str = "92", seed: int = 92, taille: float = 1.0, bruit: bool = False) -> Truth:
    """Write the extracts of a scale under out_dir and return what they declare; with `bruit`,
    the noisier variant (add_noise), its seeded slips in `truth.erreurs_semees`. Another
    département's demo (scale_spec) has survey extracts only: an activity log follows a federal
    project, the 92's in this demo, which another federation's folder does not declare."""
    config = Config()
    truth = build_truth(scale, seed, taille=taille)
    if bruit:
        truth.erreurs_semees = add_noise(truth, seed)  # type: ignore[attr-defined]
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, (survey, df, blocs) in enumerate(truth.per_year):   # type: ignore[attr-defined]
        d = NATIONAL_DIALECTS[i % len(NATIONAL_DIALECTS)] if scale == "national" else DIALECTS_92[survey]
        suffix = ".xlsx" if d.fmt == "xlsx" else ".csv"
        write_survey(out_dir / f"senacs_{survey}{suffix}", survey, df, blocs, d, config)
    if scale not in SCALES:
        truth.activites = truth.activites.iloc[0:0]
        return truth
    for year, df in zip(SCALES[scale]["activities"], truth.per_activity_year):  # type: ignore[attr-defined]
        d = ACTIVITY_DIALECTS[year]
        suffix = ".xlsx" if d.fmt == "xlsx" else ".csv"
        write_activities(out_dir / f"activites_{year}{suffix}", year, df, d, config)
    return truth
