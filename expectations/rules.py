"""The validation rules, as code: each one a Great Expectations expectation over one frame,
with a severity (DHIS2-style importance) and the French words an analyst needs.

Severities: `bloquant` stops the year's publication; `avertissement` is published with a note
in the methodology page; `info` is recorded only. A year is blocked only by what cannot be true
or by a suspicious value that alone would change a published figure beyond the settings'
threshold (selective editing: data/config/selection.yaml); a change that related fields confirm
and that moves no published figure that much is at most an `info`; a small absolute change
never blocks.

Frames (built in expectations/frames.py):
  reponses    int_controles__reponses: every structure x survey, corrections applied
  repondantes the same, respondents only (cross-field ratios)
  mesures     int_controles__mesures: one row per respondent x measure that stands out from its
              peers (modified z-score on the median absolute deviation, per kind and year) or
              from its own history; every numeric measure is scored there, set-wise in SQL
  parts       published indicators whose unit is a ratio, per indicator x year x level
  sommes      published indicators of any other unit, per indicator x year x level
  presence    every core indicator x level x loaded year, with whether it is present
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

# Modified z-score (Iglewicz and Hoaglin; DHIS2's outlier analysis): 0.6745 (x - median) / MAD,
# here on the logarithm of the value. 3.5 is the usual threshold for a value worth a look.
Z_AVERTISSEMENT, Z_BLOQUANT = 3.5, 5.0
# A value 100 times its peers' median cannot be a centre's real figure: a unit slip.
FACTEUR_PAIRS_BLOQUANT = 100
# Year on year: a factor of 3 is worth a look (a warning, evolution_forte, unless a related field
# confirms it). A jump of FACTEUR_EVOLUTION_HORS_NORME or more, away from the peers, holds the year
# when the value is influential (its score passes a threshold: it alone would move a published
# figure beyond the figure's ordinary yearly movement, data/config/selection.yaml), or is a unit
# slip in euros. No z-score or related field excuses an influential jump: a digit too many on a
# count shows as x6 to x16 once the centre's true figure also moved, and a related field moving
# by chance the same way proves nothing when the value alone changes a published figure that
# much. Below the threshold, the same jump is a warning ranked by score. Z_HORS_NORME: a change
# no natural variation of the peers' changes reaches.
FACTEUR_EVOLUTION_AVERTISSEMENT = 3.0
FACTEUR_EVOLUTION_HORS_NORME, Z_HORS_NORME = 5.0, 8.0
EVOLUTION_INFLUENTE = (f"controle_historique and ecart_evolution >= ecart_minimal and s_eloigne_des_pairs "
                       f"and facteur_evolution >= {FACTEUR_EVOLUTION_HORS_NORME}")

FACTEUR_UNITE_HISTORIQUE, FACTEUR_UNITE_PAIRS = 30.0, 20.0
# A slip has a direction: cents multiply an amount by 100, thousands divide it by 1,000; a fall
# short of FACTEUR_MILLIERS_MIN (halfway between 100 and 1,000 on a log scale) is no slip of this
# year's amount: near 100, it is last year's amount coming back from an odd value (other income
# from 59,355 EUR to 646, x92). A funding line that fell by a unit's factor and, read back at it,
# would alone exceed the total income is no thousands slip either: a line is a part of the income
# (unite_contredite, int_controles__scores).
FACTEUR_MILLIERS_MIN = 10 ** 2.5
SENS_UNITE = (f"(valeur > valeur_reference or facteur_evolution >= {FACTEUR_MILLIERS_MIN!r}"
              " or facteur_evolution != facteur_evolution)")
# Rules whose finding holds a year only when the value is influential (its score passes the
# threshold of a level of published figures: the frame's `influente`, see expectations/frames.py)
# or is a unit slip in euros (a budget in cents or in thousands cannot be true): a jump near 100 or
# 1,000, in a slip's direction and not ruled out by the accounts, that also sets the amount
# FACTEUR_UNITE_PAIRS times apart from its peers, as a slip does (an EVS's communes funding from
# 8,771 EUR to 744,179, x85, but 12 times its peers' median and the year after a value 7 times
# below them, is two odd years in a row, scored like any value).
INFLUENTIAL = {"evolution_unite", "valeur_aberrante"}
INFLUENT_OU_UNITE = (f"(influente or (nature == 'euros' and facteur_unite >= 100 and facteur_pairs >= {FACTEUR_UNITE_PAIRS}"
                     f" and not unite_contredite and {SENS_UNITE}))")
# A euro amount in another unit (cents: x100; thousands typed for euros: /1,000) cannot be a
# centre's real figure: impossible, whatever its score. Seen against the structure's own history
# (FACTEUR_UNITE_HISTORIQUE times its previous amount, beyond anything its peers' changes show,
# and FACTEUR_UNITE_PAIRS times its peers' median), or against its peers alone when it has no
# history (FACTEUR_PAIRS_BLOQUANT). An honest change, even a heavy-tailed one (x2 to x10), stays
# well below. Funding lines that add up to the structure's total income vouch for themselves; a
# line that, read in euros instead of cents (or of thousands), brings them back onto the total is
# a unit slip however much small lines vary (unite_financeurs, int_controles__scores). A small
# line of a structure that declared no total income has only its history to be checked against,
# and small lines come and go (a regional grant of 500 EUR, then 0.36 EUR): it is a unit slip
# only when its change lies beyond any natural variation of its peers' changes (Z_HORS_NORME;
# a stable line such as the Caf's, divided by 1,000, lies far beyond), never on its peers alone.
# Against the history, a change short of Z_HORS_NORME is a unit slip only with a slip's
# signature: a factor near 100 or 1,000 (unite_historique, int_controles__scores); a regional
# grant falling from 600 EUR to 1.66 (x360) is a small line's life, not cents. Without history,
# an amount a hundred times above its peers' median cannot be a centre's (cents); a hundred times
# below, it can be a small line's real amount, unless no natural variation goes that far. The
# accounts must not rule the slip out (unite_contredite: a Caf payment of 262,203 EUR one year,
# 3,955 the next, in a structure whose income is 240,529 EUR), and a slip seen against the history
# must go the slip's way (SENS_UNITE); a line that, read in euros, closes the accounts is a slip
# whatever last year's amount was.
MONTANT_UNITE = (
    "nature == 'euros' and not financeurs_concordants and not unite_contredite and (unite_financeurs > 0 or "
    f"(facteur_evolution >= {FACTEUR_UNITE_HISTORIQUE} and {SENS_UNITE}"
    f" and (z_evolution >= {Z_BLOQUANT} or z_evolution <= -{Z_BLOQUANT})"
    f" and (z_evolution >= {Z_HORS_NORME} or z_evolution <= -{Z_HORS_NORME} or (not ligne_sans_total and unite_historique > 0))"
    f" and facteur_pairs >= {FACTEUR_UNITE_PAIRS} and (z_pairs >= {Z_AVERTISSEMENT} or z_pairs <= -{Z_AVERTISSEMENT})"
    " and s_eloigne_des_pairs)"
    f" or (facteur_evolution != facteur_evolution and not ligne_sans_total and facteur_pairs >= {FACTEUR_PAIRS_BLOQUANT}"
    f" and (z_pairs >= {Z_BLOQUANT} or z_pairs <= -{Z_HORS_NORME})))")

SAISIR = ("Vérifiez avec la structure, puis ajoutez la valeur juste dans corrections.csv "
          "(l'extrait reste tel quel), ou confirmez la valeur déclarée dans confirmations.csv.")


@dataclass(frozen=True)
class Rule:
    regle: str                     # identifier, as recorded in constats_qualite.regle
    frame: str                     # which frame it runs on (see above)
    severite: str                  # bloquant | avertissement | info
    colonne: str                   # the column a finding points at ("{colonne}": the row's)
    attendu: str                   # what was expected, in French (formatted with the row's values)
    message: str                   # French template, formatted with the failing row's values
    expectation: Callable[[Any], Any]   # gxe -> a GX expectation (GX is imported lazily)
    libelle: str                   # what the rule checks, in French, for the quality pages
    conseil: str = SAISIR
    groupe: str = ""               # of the findings of one group on one value, only the gravest is kept
    # what looks odd, in words meant for the structure (its feedback sheet): no column code, no
    # instruction to the analyst; "" for a finding that concerns the federation's own work
    centre: str = ""
    # what the federation asks the structure, when not a figure to check (« Pouvez-vous vérifier ce
    # chiffre ? ») : a commune, a date…
    demande: str = ""

    @property
    def nature(self) -> str:
        """The kind of finding (selective editing): `impossible` (cannot be true: must be
        resolved), `influente` (a suspicious value whose score passes the threshold on a
        published figure: must be resolved), `suspecte` (a warning, ranked by score) or `info`."""
        if self.severite == "bloquant":
            return "influente" if self.regle in INFLUENTIAL else "impossible"
        return "suspecte" if self.severite == "avertissement" else "info"

    def build(self, gxe):
        exp = self.expectation(gxe)
        exp.meta = {"regle": self.regle, "severite": self.severite, "attendu": self.attendu}
        return exp


def _where(condition: str | None) -> dict:
    return {"row_condition": condition, "condition_parser": "pandas"} if condition else {}


def _between(column, low=None, high=None, where=None):
    return lambda gxe: gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high,
                                                         **_where(where))


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


def _outside(column: str, z: float) -> str:
    return f"({column} >= {z} or {column} <= -{z})"


def _n(value: float) -> str:
    text = f"{int(value):,}" if float(value).is_integer() else f"{value:,}"
    return text.replace(",", "\u202f").replace(".", ",")


WHO = "{code_structure} (enquête {annee_enquete})"
CENTRE_EVOLUTION = ("La valeur déclarée ({valeur} pour {annee_donnees}) est {facteur_evolution} fois {sens_evolution_centre} "
                    "que celle déclarée pour {annee_reference} ({valeur_reference}).")   # not always the year before
CENTRE_PAIRS = ("La valeur déclarée ({valeur}) est {facteur_pairs} fois {sens_pairs_centre} que celle d'une structure "
                "comparable (valeur médiane des {type_structure} : {mediane_pairs}).")

# Parts that cannot exceed their whole: (rule, part, whole, French words, severity, group). A
# share above 1 of the board members who are inhabitants would be published: blocking.
PARTS = [
    ("administrateurs_habitants_inferieur", "administrateurs_habitants", "administrateurs",
     "administrateurs habitants", "bloquant", ""),
    ("administrateurs_formes_inferieur", "administrateurs_formes", "administrateurs", "administrateurs formés",
     "avertissement", ""),
    ("accompagnes_inferieur_informes", "pers_accomp_droits", "pers_info_droits",
     "personnes accompagnées dans l'accès aux droits", "avertissement", "accompagnes_informes"),
    ("accompagnes_inferieur_habitants", "pers_accomp_droits", "habitants_touches",
     "personnes accompagnées dans l'accès aux droits", "avertissement", "accompagnes_habitants"),
    ("familles_inferieur_habitants", "familles_touchees", "habitants_touches", "familles touchées",
     "avertissement", "familles_habitants"),
    ("etp_inferieur_salaries", "etp_total", "salaries", "ETP", "avertissement", "etp_salaries"),
    ("cdi_inferieur_salaries", "salaries_cdi", "salaries", "salariés en CDI", "avertissement", ""),
    ("salaries_formes_inferieur", "salaries_formes", "salaries", "salariés formés", "avertissement", ""),
    ("jeunes_benevoles_inferieur", "jeunes_benevoles", "benevoles_total", "jeunes bénévoles", "avertissement", ""),
]
# Ratios between fields (columns of int_controles__reponses): (name, column, French words, the
# column a finding points at, what was seen, plausible range -> warning, possible range ->
# blocking, what the row must also have for a block: small figures never block). Outside the
# possible range the figure cannot be true, or one of the two fields is in the wrong unit. For two
# amounts in euros, the possible range is at the scale of a unit slip (x100, x1,000): a charge or
# an income that honestly moved a lot (x2 to x10) while the other did not is a suspicious value,
# scored like any other (evolution_unite), not an impossible one.
# One of two fields off by the factor of an honest heavy tail or of a digit too many (up to x10)
# takes most ratios past their possible range too (5 FTE per employee, 10 people of the age groups
# per inhabitant reached): which field is wrong is unknown, and its effect on the published
# figures may be nil. Such a ratio holds the year when the value the finding points at is
# influential (`influente__<column>`, its score passes a threshold: expectations/frames.py), or
# when the ratio lies a further RATIO_ECHELLE_ERREUR times beyond the possible range, where only a
# unit slip (FTE in hours, euros in cents) takes it; otherwise it is a warning (same group: one
# finding per value). The FTE by function are parts of the
# total FTE: parts adding up to twice their whole cannot be true, whatever their effect.
RATIO_ECHELLE_ERREUR = 10.0
PARTIES_DU_TOUT = {"etp_fonctions"}
RATIOS = [
    ("accompagnes_informes", "rapport_accompagnes_informes", "Personnes accompagnées par personne informée",
     "pers_accomp_droits", "{pers_accomp_droits} personnes accompagnées pour {pers_info_droits} informées",
     None, (None, 10), "pers_accomp_droits >= 100"),
    ("accompagnes_habitants", "rapport_accompagnes_habitants", "Personnes accompagnées par habitant touché",
     "pers_accomp_droits", "{pers_accomp_droits} personnes accompagnées pour {habitants_touches} habitants touchés",
     None, (None, 10), "pers_accomp_droits >= 100"),
    ("familles_habitants", "rapport_familles_habitants", "Familles par habitant touché", "familles_touchees",
     "{familles_touchees} familles touchées pour {habitants_touches} habitants touchés",
     None, (None, 10), "familles_touchees >= 100"),
    ("publics_habitants", "rapport_publics_habitants", "Publics par tranche d'âge rapportés aux habitants touchés",
     "habitants_touches", "{somme_publics} personnes par tranche d'âge pour {habitants_touches} habitants touchés",
     (None, 1.2), (None, 10), "somme_publics >= 100"),
    ("heures_par_benevole", "heures_par_benevole", "Heures de bénévolat par bénévole", "heures_benevolat",
     "{heures_benevolat} heures de bénévolat pour {benevoles_activite} bénévoles d'activité et "
     "{benevoles_instance} d'instance, soit {heures_par_benevole} heures chacun",
     (1, 600), (None, 2_000), "heures_benevolat >= 5000"),
    ("etp_salaries", "rapport_etp_salaries", "ETP par salarié", "etp_total", "{etp_total} ETP pour {salaries} salariés",
     None, (None, 5), "etp_total >= 10"),
    # the FTE by function are parts of the total: twice the total cannot be true (an extra digit in
    # one of them, or a total in another unit)
    ("etp_fonctions", "rapport_etp_fonctions_total", "ETP par fonction rapportés à l'ETP total", "etp_total",
     "{somme_etp_fonctions} ETP par fonction pour {etp_total} ETP au total", None, (None, 2),
     "somme_etp_fonctions >= 5"),
    ("budget_par_etp", "budget_par_etp", "Budget par ETP", "charges_total",
     "{charges_total} € de charges pour {etp_total} ETP, soit {budget_par_etp} € par ETP",
     (8_000, 300_000), (1_000, 3_000_000), None),
    ("charges_produits", "ratio_charges_produits", "Charges rapportées aux produits", "charges_total",
     "{charges_total} € de charges pour {produits_total} € de produits", (0.7, 1.3), (0.03, 30), None),
    ("financeurs_produits", "rapport_financeurs_produits", "Financeurs rapportés aux produits", "produits_total",
     "les financeurs totalisent {somme_financeurs} € pour {produits_total} € de produits",
     None, (None, 30), None),
    ("valorisation_par_heure", "valorisation_par_heure", "Valorisation d'une heure de bénévolat",
     "valorisation_benevolat", "{valorisation_benevolat} € de valorisation pour {heures_benevolat} heures de "
     "bénévolat, soit {valorisation_par_heure} € de l'heure", (5, 60), (0.5, 500), None),
]


def _range(low, high) -> str:
    if low is None:
        return f"au plus {_n(high)}"
    if high is None:
        return f"au moins {_n(low)}"
    return f"entre {_n(low)} et {_n(high)}"


def _slip_scale(column: str, low, high) -> str:
    """pandas condition: the ratio lies RATIO_ECHELLE_ERREUR times beyond its possible range."""
    tests = ([f"{column} < {low / RATIO_ECHELLE_ERREUR!r}"] if low is not None else []) + \
            ([f"{column} > {high * RATIO_ECHELLE_ERREUR!r}"] if high is not None else [])
    return "(" + " or ".join(tests) + ")"


def _ratio_rules() -> list[Rule]:
    rules = []
    for name, column, words, points_at, seen, plausible, possible, guard in RATIOS:
        # a ratio past its possible range that does not hold the year (nothing influential, no
        # slip's scale) is still a warning: its plausible-range rule, or, for the ratios without
        # one, the warning of the same group (a part above its whole, funders off the income)
        if plausible:
            rules.append(Rule(
                f"{name}_plausible", "repondantes", "avertissement", points_at, f"{words} : {_range(*plausible)}",
                f"{WHO} : {seen}, inhabituel.", _between(column, *plausible), f"{words} : valeur inhabituelle",
                groupe=name, centre=f"Vous déclarez {seen} : ce rapport est inhabituel."))
        holds = (None if name in PARTIES_DU_TOUT else
                 f"(influente__{points_at} or {_slip_scale(column, *possible)})")
        rules.append(Rule(
            f"{name}_impossible", "repondantes", "bloquant", points_at, f"{words} : {_range(*possible)}",
            f"{WHO} : {seen}, impossible : l'un des deux chiffres est sans doute dans une autre unité "
            "(euros / k€, heures / jours) ou a un chiffre en trop.",
            _between(column, *possible, where=" and ".join(f"({c})" for c in (guard, holds) if c) or None),
            f"{words} : valeur impossible (unité ?)", groupe=name,
            centre=f"Vous déclarez {seen} : ce rapport ne paraît pas possible ; l'un des deux chiffres est peut-être "
                   "dans une autre unité ou a un chiffre en trop."))
    return rules


RULES: list[Rule] = [
    # ---- raw extracts: presence, types and allowed values, identity ------------------------------
    *[Rule(f"{c}_obligatoire", "reponses", "bloquant", c, "une valeur",
           "%s : « %s » est vide." % (WHO, c), _not_null(c), f"Valeur obligatoire : « {c} »")
      for c in ("code_structure", "type_structure", "code_commune", "repondant", "annee_donnees")],
    Rule("structure_enquete_unique", "reponses", "bloquant", "code_structure",
         "une seule ligne par structure et par enquête",
         "{code_structure} apparaît plusieurs fois dans l'enquête {annee_enquete}.",
         lambda gxe: gxe.ExpectCompoundColumnsToBeUnique(column_list=["annee_enquete", "code_structure"]),
         "Une seule réponse par structure et par enquête"),
    Rule("annee_enquete_plage", "reponses", "bloquant", "annee_enquete", "entre 2015 et 2035",
         "{code_structure} : année d'enquête {annee_enquete} hors de la période couverte.",
         _between("annee_enquete", 2015, 2035), "Année d'enquête dans la période couverte"),
    Rule("annee_donnees_coherente", "reponses", "bloquant", "annee_donnees",
         "annee_enquete − 1 ou annee_enquete − 2",
         "{code_structure} : l'enquête {annee_enquete} décrit l'année {annee_donnees} (attendu "
         "l'année précédente ou celle d'avant).", _in_set("annee_donnees_coherente", [True]),
         "Année des données cohérente avec l'enquête"),
    Rule("annee_donnees_unique", "reponses", "avertissement", "annee_donnees",
         "une seule enquête par structure et par année de données",
         "{code_structure} : l'enquête {annee_enquete} décrit l'année {annee_donnees}, déjà décrite par l'enquête "
         "{annee_deja_decrite_par} ; la réponse de l'enquête {annee_enquete} remplace la précédente dans les chiffres "
         "de {annee_donnees}.", _in_set("annee_donnees_unique", [True]),
         "Une seule enquête par année de données",
         conseil="Vérifiez l'année des données avec la structure : si l'enquête décrit bien cette année, rien à "
                 "faire ; sinon corrigez annee_donnees dans corrections.csv."),
    Rule("commune_connue", "reponses", "bloquant", "code_commune", "un code commune INSEE en vigueur",
         "%s : code commune {code_commune} inconnu du référentiel." % WHO,
         _in_set("commune_connue", [True]), "Commune connue du référentiel"),
    Rule("commune_inchangee", "reponses", "avertissement", "code_commune",
         "la commune de l'enquête précédente ({code_commune_precedente}, {nom_commune_precedente})",
         "%s : commune {code_commune} ({nom_commune}), alors que l'enquête {annee_enquete_commune_precedente} "
         "donnait {code_commune_precedente} ({nom_commune_precedente}) : la structure a-t-elle déménagé, ou un code "
         "postal a-t-il été saisi à la place du code INSEE ?" % WHO,
         _in_set("commune_inchangee", [True]), "Commune inchangée depuis l'enquête précédente",
         conseil="Vérifiez avec la structure : si elle a bien changé de commune, confirmez le code dans "
                 "confirmations.csv ; sinon inscrivez le code INSEE juste dans corrections.csv (l'extrait reste "
                 "tel quel).",
         centre="La commune indiquée pour votre site principal ({nom_commune}, code {code_commune}) n'est pas celle "
                "de votre réponse à l'enquête {annee_enquete_commune_precedente} ({nom_commune_precedente}, code "
                "{code_commune_precedente}).",
         demande="Votre site principal a-t-il changé de commune ? Merci de nous confirmer sa commune, ou de nous "
                 "indiquer la bonne."),
    Rule("type_structure_valide", "reponses", "bloquant", "type_structure", "CS ou EVS",
         "{code_structure} : type de structure « {type_structure} » inconnu.",
         _in_set("type_structure", ["CS", "EVS"]), "Type de structure CS ou EVS"),
    # allowed values of every other enumerated column, from ingest/schema.yaml (ingest already
    # empties an unreadable spelling; this guards what corrections or a schema change bring in)
    *[Rule(f"{name}_valeur_admise", "reponses", "avertissement", name,
           "une des valeurs : " + ", ".join(values),
           "%s : %s « {%s} » n'est pas une valeur admise." % (WHO, name, name),
           _in_set(name, values), f"Valeur admise pour « {name} »")
      for name, values in _enum_columns().items() if name != "type_structure"],
    Rule("non_repondant_sans_mesure", "reponses", "avertissement", "repondant",
         "aucune mesure pour une structure non répondante",
         "%s est non répondante mais déclare {mesures_non_repondant} mesure{mesures_non_repondant__s} : répondante mal "
         "cochée ?" % WHO, _between("mesures_non_repondant", 0, 0), "Aucune mesure pour une non-répondante"),
    # ---- every measure: sign, own history, peers (int_controles__mesures); of these, one finding per
    # value, the gravest (the history first: its message says more)
    Rule("mesure_negative", "mesures", "bloquant", "{colonne}", "une valeur positive ou nulle",
         "%s : {colonne} négatif ({valeur})." % WHO, _between("valeur", 0, None), "Valeur négative",
         groupe="mesure", centre="La valeur déclarée ({valeur}) est négative : ce nombre ne peut pas l'être."),
    Rule("montant_unite", "mesures", "bloquant", "{colonne}",
         f"un montant à moins de {FACTEUR_UNITE_HISTORIQUE:g} fois le précédent, ou sans historique à moins de "
         f"{FACTEUR_PAIRS_BLOQUANT} fois la médiane des structures du même type, sauf si les lignes de financement "
         "font le total des produits",
         "%s : {colonne} de {valeur}, soit {facteur_pairs} fois %s que la médiane des {type_structure} de "
         "l'année ({mediane_pairs}) : {causes}" % (WHO, "{sens_pairs}"),
         _between("facteur_pairs", None, FACTEUR_UNITE_PAIRS, where=MONTANT_UNITE),
         "Montant dans une autre unité (centimes, milliers d'euros)", groupe="mesure", centre=CENTRE_PAIRS),
    *[Rule(regle, "mesures", severite, "{colonne}", attendu,
           "%s : {colonne} passe de {valeur_reference} ({annee_reference}) à {valeur} ({annee_donnees}), "
           "{sens_evolution} par {facteur_evolution} (évolution médiane des {type_structure} : ×{evolution_mediane})%s"
           % (WHO, suite),
           _between("facteur_evolution", None, facteur,
                    where=(f"{EVOLUTION_INFLUENTE} and {INFLUENT_OU_UNITE}" if regle in INFLUENTIAL else
                           "controle_historique and ecart_evolution >= ecart_minimal and s_eloigne_des_pairs "
                           f"and {corroboree} and ({ecart})")),
           libelle, groupe="mesure", centre=CENTRE_EVOLUTION, **({"conseil": conseil} if conseil else {}))
      for regle, severite, facteur, ecart, corroboree, attendu, suite, libelle, conseil in (
          ("evolution_unite", "bloquant", FACTEUR_EVOLUTION_HORS_NORME, None, None,
           f"moins de {FACTEUR_EVOLUTION_HORS_NORME:g} fois la valeur précédente, ou une valeur sans effet notable "
           "sur les chiffres publiés",
           "{sans_suivi} : {causes}",
           "Forte évolution influente sur un chiffre publié (ou unité en euros)", None),
          ("evolution_forte", "avertissement", FACTEUR_EVOLUTION_AVERTISSEMENT, _outside("z_evolution", Z_AVERTISSEMENT),
           "not corroboree", f"moins de {FACTEUR_EVOLUTION_AVERTISSEMENT:g} fois la valeur précédente, sauf si un "
           "champ lié la confirme", "{sans_suivi} : {causes}", "Forte évolution depuis la réponse précédente", None),
          ("evolution_confirmee", "info", FACTEUR_EVOLUTION_AVERTISSEMENT, _outside("z_evolution", Z_AVERTISSEMENT),
           "corroboree", "une évolution confirmée par un champ lié",
           " ; « {colonne_liee} » suit (de {valeur_liee_reference} à {valeur_liee}) : évolution vraisemblable.",
           "Forte évolution confirmée par un champ lié", "Rien à faire, sauf si la structure dit le contraire."))],
    Rule("valeur_aberrante", "mesures", "bloquant", "{colonne}",
         f"moins de {FACTEUR_PAIRS_BLOQUANT} fois la médiane des structures du même type ({{mediane_pairs}})",
         "%s : {colonne} de {valeur}, soit {facteur_pairs} fois %s que la médiane des {type_structure} de "
         "l'année ({mediane_pairs}) : {causes}" % (WHO, "{sens_pairs}"),
         _between("facteur_pairs", None, FACTEUR_PAIRS_BLOQUANT,
                  where=f"(z_pairs >= {Z_BLOQUANT} or (colonne in ['charges_total', 'produits_total'] "
                        f"and z_pairs <= -{Z_BLOQUANT})) and {INFLUENT_OU_UNITE}"),
         "Valeur sans commune mesure avec les structures comparables, influente sur un chiffre publié (ou unité "
         "en euros)", groupe="mesure", centre=CENTRE_PAIRS),
    Rule("valeur_atypique", "mesures", "avertissement", "{colonne}",
         "une valeur proche de celles des {type_structure} de l'année (médiane {mediane_pairs})",
         "%s : {colonne} de {valeur}, {facteur_pairs} fois {sens_pairs} que la médiane des {type_structure} "
         "de l'année ({mediane_pairs}), sans que l'historique de la structure ni un champ lié l'explique." % WHO,
         _between("z_pairs", -Z_AVERTISSEMENT, Z_AVERTISSEMENT,
                  where="(z_pairs > 0 or controle_bas) and ecart_pairs >= ecart_minimal "
                        "and not conforme_a_l_historique and not pairs_corroboree"),
         "Valeur atypique parmi les structures comparables", groupe="mesure", centre=CENTRE_PAIRS),
    # ---- cross-field coherence -------------------------------------------------------------------
    *[Rule(regle, "repondantes", severite, part, f"{part} ≤ {whole}",
           "%s : {%s} %s pour {%s} (%s)." % (WHO, part, words, whole, whole), _a_at_least_b(whole, part),
           f"Partie au plus égale au tout : « {part} » ≤ « {whole} »", groupe=groupe,
           centre="Une partie ({%s}) dépasse le tout dont elle fait partie ({%s})." % (part, whole))
      for regle, part, whole, words, severite, groupe in PARTS],
    Rule("etp_fonctions_inferieur_total", "repondantes", "avertissement", "etp_total",
         "somme des ETP par fonction ≤ etp_total",
         "%s : les ETP par fonction ({somme_etp_fonctions}) dépassent le total ({etp_total})." % WHO,
         _between("exces_etp_fonctions", None, 0.05), "ETP par fonction au plus le total", groupe="etp_fonctions"),
    Rule("financeurs_egal_produits", "repondantes", "avertissement", "produits_total",
         "lignes de financement = produits_total à 2 % près",
         "%s : les financeurs totalisent {somme_financeurs} € pour {produits_total} € de produits." % WHO,
         _between("ecart_financeurs", None, 0.02), "Financeurs égaux aux produits", groupe="financeurs_produits"),
    Rule("acf_avec_agrement", "repondantes", "avertissement", "caf_ps_acf",
         "une prestation ACF seulement avec l'agrément ACF",
         "%s : prestation ACF de {caf_ps_acf} € sans agrément ACF." % WHO,
         _in_set("acf_avec_agrement", [True]), "Prestation ACF avec agrément"),
    Rule("evs_sans_agc", "repondantes", "avertissement", "caf_ps_agc",
         "pas de prestation animation globale pour un EVS",
         "%s : EVS déclarant {caf_ps_agc} € de prestation AGC." % WHO,
         _in_set("evs_sans_agc", [True]), "Pas de prestation AGC pour un EVS"),
    *_ratio_rules(),
    # ---- published indicators, per indicator x year x level -----------------------------------------
    Rule("part_entre_0_et_1", "parts", "bloquant", "valeur", "une part entre 0 et 1",
         "Indicateur {indicateur} ({niveau}, {annee}) : {n_hors_bornes} valeur{n_hors_bornes__s} hors de [0, 1], de "
         "{valeur_min} ({code_min}) à {valeur_max} ({code_max}).", _between("n_hors_bornes", 0, 0),
         "Part entre 0 et 1",
         conseil="Cherchez la structure en cause dans les constats de l'année (numérateur > dénominateur)."),
    Rule("somme_positive", "sommes", "bloquant", "valeur", "une valeur positive ou nulle",
         "Indicateur {indicateur} ({niveau}, {annee}) : {n_hors_bornes} valeur{n_hors_bornes__s} négative{n_hors_bornes__s}, la plus "
         "basse {valeur_min} ({code_min}).", _between("n_hors_bornes", 0, 0), "Indicateur positif",
         conseil="Cherchez la valeur négative déclarée dans les constats de l'année (règle « Valeur négative »)."),
    Rule("indicateur_present", "presence", "bloquant", "indicateur",
         "chaque indicateur du registre, pour chaque niveau et chaque année chargée",
         "Indicateur {indicateur} absent au niveau {niveau} pour l'année {annee}.",
         _in_set("present", [True]), "Indicateur calculé à chaque niveau",
         conseil="Relancez « observatoire build » et vérifiez le registre des indicateurs."),
]

# What the structure reads on its feedback sheet for the rules with no wording of their own.
CENTRE_AUTRES = {
    "structure_enquete_unique": "Votre structure apparaît plusieurs fois dans l'enquête de cette année.",
    "annee_donnees_coherente": "L'année décrite par vos réponses ({annee_donnees}) ne correspond pas à l'enquête "
                               "{annee_enquete}.",
    "commune_connue": "Le code de commune indiqué ({code_commune}) n'existe pas.",
    "type_structure_valide": "Le type de structure indiqué (« {type_structure} ») n'est ni CS ni EVS.",
    "non_repondant_sans_mesure": "Votre structure est indiquée comme non répondante, mais des chiffres sont "
                                 "déclarés.",
    "etp_fonctions_inferieur_total": "Les ETP par fonction ({somme_etp_fonctions}) dépassent le total des ETP "
                                     "({etp_total}).",
    "financeurs_egal_produits": "Vos financements ligne à ligne totalisent {somme_financeurs} € pour "
                                "{produits_total} € de produits au total.",
    "acf_avec_agrement": "Une prestation « animation collective familles » de {caf_ps_acf} € est déclarée sans "
                         "l'agrément correspondant.",
    "evs_sans_agc": "Un espace de vie sociale déclare {caf_ps_agc} € de prestation « animation globale ».",
    **{f"{c}_obligatoire": "Cette information manque dans votre réponse."
       for c in ("code_structure", "type_structure", "code_commune", "repondant", "annee_donnees")},
}
RULES = [r if r.centre or r.regle not in CENTRE_AUTRES else
         Rule(**{**{f: getattr(r, f) for f in r.__dataclass_fields__}, "centre": CENTRE_AUTRES[r.regle]})
         for r in RULES]

BY_ID = {rule.regle: rule for rule in RULES}
assert len(BY_ID) == len(RULES), "rule identifiers must be unique"

# Findings recorded by the other steps, for the quality pages (validation rules carry their own).
OTHER_LABELS = {
    "fichier_rejete": "Fichier rejeté",
    "fichier_remplace": "Fichier remplacé par une version révisée",
    "valeur_illisible": "Valeur illisible",
    "valeur_obligatoire_manquante": "Valeur obligatoire manquante",
    "code_commune_zero_restaure": "Code commune complété (zéro perdu, ancien code 20 de la Corse)",
    "reponse_avec_precision": "Réponse suivie d'une précision",
    "ligne_de_total": "Ligne de total écartée",
    "colonne_inconnue": "Colonne inconnue",
    "champs_surnumeraires": "Plus de valeurs que de colonnes",
    "champs_manquants": "Moins de valeurs que de colonnes",
    "ligne_mal_formee": "Ligne mal formée",
    "guillemet_non_ferme": "Guillemet non fermé",
    "guillemets_mal_places": "Guillemets mal placés",
    "cellule_trop_longue": "Cellule trop longue",
    "caracteres_de_controle": "Caractères de contrôle dans une cellule",
    "encodage_mixte": "Ligne dans un autre encodage",
    "formule_sans_valeur": "Formule sans valeur calculée",
    "extension_trompeuse": "Extension de fichier trompeuse",
    "entete_repete": "En-tête répété dans le fichier",
    "colonne_sans_entete": "Colonne sans en-tête",
    "cellule_fusionnee": "Cellule fusionnée reprise sur chaque ligne",
    "feuille_lue": "Tableau lu dans une autre feuille que la première",
    "dossier_illisible": "Dossier illisible",
    "action_inconnue": "Action du projet fédéral inconnue",
    "projet_federal_absent": "Journal d'activités sans projet fédéral déclaré",
    "groupe_travail_inconnu": "Groupe de travail inconnu",
    "valeur_negative": "Valeur négative",
    "superieur_aux_participants": "Plus que le nombre de participants",
    "date_hors_annee_du_fichier": "Activité datée d'une autre année que son journal",
    "doublon_exact": "Ligne en double fusionnée",
    "doublon_conflictuel": "Structure déclarée deux fois avec des valeurs différentes",
    "annee_enquete_differente_du_fichier": "Année d'enquête différente de celle du fichier",
    "correction_appliquee": "Correction appliquée",
    "correction_refusee": "Correction refusée",
    "confirmation_perimee": "Confirmation périmée",
    "confirmation_refusee": "Confirmation refusée",
}


def libelle(regle) -> str:
    """The French label of a rule id, for anything a person reads; never the raw id."""
    if regle is None or regle != regle:
        return "Constat"
    if regle in BY_ID:
        return BY_ID[regle].libelle
    if regle in OTHER_LABELS:
        return OTHER_LABELS[regle]
    text = str(regle).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else "Constat"
