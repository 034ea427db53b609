"""The validation rules, as code: each one a Great Expectations expectation over one frame,
with a severity (DHIS2-style importance) and the French words an analyst needs.

Severities: `bloquant` stops the year's publication; `avertissement` is published with a note
in the methodology page; `info` is recorded only.

Frames (built in expectations/frames.py):
  reponses    int_controles__reponses: every structure x survey, corrections applied
  repondantes the same, respondents only
  parts       published indicators whose unit is a ratio
  sommes      published indicators of any other unit
  presence    every core indicator x level x loaded year, with whether it is present
  secret      indicators below département level with their minimum number of structures
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

# Year-on-year factors between a structure's data year and the previous one. A total typed
# in euros instead of k€ is a factor 1,000; one digit too many, a factor 10.
EVOLUTION_AVERTISSEMENT = 3.0
EVOLUTION_BLOQUANT = 5.0
# Plausible ranges, from extracts.md and the national averages of national-reference.csv
# (33 employees, 17 FTE, 633,817 € of budget, ~30 activity volunteers per centre in 2015).
MAX_SALARIES, MAX_ETP, MAX_BUDGET = 400, 200, 8_000_000
MAX_BENEVOLES, MAX_HABITANTS, MAX_ADMINISTRATEURS = 1_500, 60_000, 80

SAISIR = ("Vérifiez avec la structure, puis ajoutez la valeur juste dans data/corrections/corrections.csv "
          "(l'extrait reste tel quel).")


@dataclass(frozen=True)
class Rule:
    regle: str                     # identifier, as recorded in constats_qualite.regle
    frame: str                     # which frame it runs on (see above)
    severite: str                  # bloquant | avertissement | info
    colonne: str                   # the column a finding points at
    attendu: str                   # what was expected, in French
    message: str                   # French template, formatted with the failing row's values
    expectation: Callable[[Any], Any]   # gxe -> a GX expectation (GX is imported lazily)
    conseil: str = SAISIR

    def build(self, gxe):
        exp = self.expectation(gxe)
        exp.meta = {"regle": self.regle, "severite": self.severite, "attendu": self.attendu}
        return exp


def _between(column, low=None, high=None):
    return lambda gxe: gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)


def _not_null(column):
    return lambda gxe: gxe.ExpectColumnValuesToNotBeNull(column=column)


def _in_set(column, values):
    return lambda gxe: gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(values))


def _a_at_least_b(a, b):
    return lambda gxe: gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A=a, column_B=b, or_equal=True, ignore_row_if="either_value_is_missing")


def _enum_columns() -> dict[str, list[str]]:
    from ingest.config import Config

    return {c.name: list(c.values) for c in Config().columns["senacs"].values() if c.type == "enum"}


RULES: list[Rule] = [
    # ---- raw extracts: presence, types and allowed values, ranges, identity --------------------
    *[Rule(f"{c}_obligatoire", "reponses", "bloquant", c, "une valeur",
           "{code_structure} (enquête {annee_enquete}) : « %s » est vide." % c, _not_null(c))
      for c in ("code_structure", "type_structure", "code_commune", "repondant", "annee_donnees")],
    Rule("structure_enquete_unique", "reponses", "bloquant", "code_structure",
         "une seule ligne par structure et par enquête",
         "{code_structure} apparaît plusieurs fois dans l'enquête {annee_enquete}.",
         lambda gxe: gxe.ExpectCompoundColumnsToBeUnique(column_list=["annee_enquete", "code_structure"])),
    Rule("annee_enquete_plage", "reponses", "bloquant", "annee_enquete", "entre 2015 et 2035",
         "{code_structure} : année d'enquête {annee_enquete} hors de la période couverte.",
         _between("annee_enquete", 2015, 2035)),
    Rule("annee_donnees_coherente", "reponses", "bloquant", "annee_donnees",
         "annee_enquete − 1 ou annee_enquete − 2",
         "{code_structure} : l'enquête {annee_enquete} décrit l'année {annee_donnees} (attendu "
         "l'année précédente ou celle d'avant).", _in_set("annee_donnees_coherente", [True])),
    Rule("commune_connue", "reponses", "bloquant", "code_commune", "un code commune INSEE en vigueur",
         "{code_structure} (enquête {annee_enquete}) : code commune {code_commune} inconnu du référentiel.",
         _in_set("commune_connue", [True])),
    Rule("type_structure_valide", "reponses", "bloquant", "type_structure", "CS ou EVS",
         "{code_structure} : type de structure « {type_structure} » inconnu.",
         _in_set("type_structure", ["CS", "EVS"])),
    # allowed values of every other enumerated column, from ingest/schema.yaml (ingest already
    # empties an unreadable spelling; this guards what corrections or a schema change bring in)
    *[Rule(f"{name}_valeur_admise", "reponses", "avertissement", name,
           "une des valeurs : " + ", ".join(values),
           "{code_structure} (enquête {annee_enquete}) : %s « {%s} » n'est pas une valeur admise." % (name, name),
           _in_set(name, values))
      for name, values in _enum_columns().items() if name != "type_structure"],
    Rule("non_repondant_sans_mesure", "reponses", "avertissement", "repondant",
         "aucune mesure pour une structure non répondante",
         "{code_structure} (enquête {annee_enquete}) est non répondante mais déclare "
         "{mesures_non_repondant} mesure(s) : répondante mal cochée ?",
         _between("mesures_non_repondant", 0, 0)),
    *[Rule(f"{c}_positif", "repondantes", "bloquant", c, "une valeur positive ou nulle",
           "{code_structure} (enquête {annee_enquete}) : %s négatif ({%s})." % (c, c), _between(c, 0, None))
      for c in ("salaries", "etp_total", "charges_total", "produits_total", "habitants_touches",
                "benevoles_activite", "benevoles_instance", "heures_benevolat", "administrateurs")],
    *[Rule(f"{c}_plausible", "repondantes", "avertissement", c, f"au plus {high:,}".replace(",", " "),
           "{code_structure} (enquête {annee_enquete}) : %s de {%s}, hors de la plage plausible." % (c, c),
           _between(c, None, high))
      for c, high in (("salaries", MAX_SALARIES), ("etp_total", MAX_ETP), ("charges_total", MAX_BUDGET),
                      ("benevoles_activite", MAX_BENEVOLES), ("habitants_touches", MAX_HABITANTS),
                      ("administrateurs", MAX_ADMINISTRATEURS))],
    # ---- cross-field coherence -------------------------------------------------------------------
    Rule("etp_inferieur_salaries", "repondantes", "avertissement", "etp_total", "etp_total ≤ salaries",
         "{code_structure} (enquête {annee_enquete}) : {etp_total} ETP pour {salaries} salariés.",
         _a_at_least_b("salaries", "etp_total")),
    Rule("etp_fonctions_inferieur_total", "repondantes", "avertissement", "etp_total",
         "somme des ETP par fonction ≤ etp_total",
         "{code_structure} (enquête {annee_enquete}) : les ETP par fonction ({somme_etp_fonctions}) "
         "dépassent le total ({etp_total}).", _between("exces_etp_fonctions", None, 0.05)),
    Rule("financeurs_egal_produits", "repondantes", "avertissement", "produits_total",
         "lignes de financement = produits_total à 2 % près",
         "{code_structure} (enquête {annee_enquete}) : les financeurs totalisent {somme_financeurs} € "
         "pour {produits_total} € de produits.", _between("ecart_financeurs", None, 0.02)),
    Rule("accompagnes_inferieur_informes", "repondantes", "avertissement", "pers_accomp_droits",
         "pers_accomp_droits ≤ pers_info_droits",
         "{code_structure} (enquête {annee_enquete}) : {pers_accomp_droits} personnes accompagnées "
         "pour {pers_info_droits} informées.", _a_at_least_b("pers_info_droits", "pers_accomp_droits")),
    # board members who are inhabitants (a share above 1 would be published: blocking) or trained
    *[Rule(f"{column}_inferieur", "repondantes", severite, column, f"{column} ≤ administrateurs",
           "{code_structure} (enquête {annee_enquete}) : {%s} administrateurs %s sur {administrateurs}."
           % (column, qualite), _a_at_least_b("administrateurs", column))
      for column, qualite, severite in (("administrateurs_habitants", "habitants", "bloquant"),
                                        ("administrateurs_formes", "formés", "avertissement"))],
    Rule("acf_avec_agrement", "repondantes", "avertissement", "caf_ps_acf",
         "une prestation ACF seulement avec l'agrément ACF",
         "{code_structure} (enquête {annee_enquete}) : prestation ACF de {caf_ps_acf} € sans agrément ACF.",
         _in_set("acf_avec_agrement", [True])),
    Rule("evs_sans_agc", "repondantes", "avertissement", "caf_ps_agc",
         "pas de prestation animation globale pour un EVS",
         "{code_structure} (enquête {annee_enquete}) : EVS déclarant {caf_ps_agc} € de prestation AGC.",
         _in_set("evs_sans_agc", [True])),
    Rule("charges_produits_plausible", "repondantes", "avertissement", "charges_total",
         "charges / produits entre 0,7 et 1,3",
         "{code_structure} (enquête {annee_enquete}) : {charges_total} € de charges pour "
         "{produits_total} € de produits.", _between("ratio_charges_produits", 0.7, 1.3)),
    # ---- year on year, per structure ---------------------------------------------------------------
    *[Rule(f"evolution_{name}_{sev}", "repondantes", sev, col,
           f"moins de {factor:g} fois la valeur de l'année précédente".replace(".", ","),
           "{code_structure} (enquête {annee_enquete}) : %s passe de {%s_annee_precedente} à {%s} "
           "(facteur {facteur_%s}) en un an : unité changée (euros / k€), chiffre en trop ?" % (col, name, col, name),
           _between(f"facteur_{name}", None, factor))
      for name, col in (("budget", "charges_total"), ("salaries", "salaries"), ("etp", "etp_total"),
                        ("benevoles", "benevoles_total"))
      for sev, factor in (("avertissement", EVOLUTION_AVERTISSEMENT), ("bloquant", EVOLUTION_BLOQUANT))],
    # ---- published indicators ----------------------------------------------------------------------
    Rule("part_entre_0_et_1", "parts", "bloquant", "valeur", "une part entre 0 et 1",
         "Indicateur {indicateur} ({niveau} {code}, {annee}) : part de {valeur}, hors de [0, 1].",
         _between("valeur", 0, 1),
         conseil="Cherchez la structure en cause dans les constats de l'année (numérateur > dénominateur)."),
    Rule("somme_positive", "sommes", "bloquant", "valeur", "une valeur positive ou nulle",
         "Indicateur {indicateur} ({niveau} {code}, {annee}) : valeur négative {valeur}.",
         _between("valeur", 0, None),
         conseil="Cherchez la valeur négative déclarée dans les constats de l'année."),
    Rule("indicateur_present", "presence", "bloquant", "indicateur",
         "chaque indicateur du registre, pour chaque niveau et chaque année chargée",
         "Indicateur {indicateur} absent au niveau {niveau} pour l'année {annee}.",
         _in_set("present", [True]),
         conseil="Relancez « observatoire build » et vérifiez le registre des indicateurs."),
    Rule("secret_respecte", "secret", "bloquant", "statut",
         "statut « secret » sous le minimum de structures",
         "Indicateur {indicateur} ({niveau} {code}, {annee}) publié sur {n_structures} structure(s), "
         "sous le minimum de {n_min}.", _in_set("secret_respecte", [True]),
         conseil="Vérifiez la règle du secret dans le modèle fct_indicateurs."),
]

BY_ID = {rule.regle: rule for rule in RULES}
assert len(BY_ID) == len(RULES), "rule identifiers must be unique"
