"""French formatting for everything a reader sees: 1 234 567 €, 12,5 %, +3,2 points (narrow
no-break spaces, so that a figure never wraps away from its unit), and the reading sentences of
the trends that dbt computed (pub_tendances): formatting only, never a figure of its own."""
from __future__ import annotations

import csv
import io
import math
import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

NNBSP = "\u202f"        # narrow no-break space: thousands separator, and before % € ; ! ?
NBSP = "\u00a0"         # no-break space: before : and », after «
MINUS = "\u2212"
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre"]


def missing(value) -> bool:
    """None, NaN (a float that is not equal to itself) or pandas' NA."""
    kind = type(value)
    if kind is float:           # the common cases first: called a thousand times a page
        return value != value
    if kind is int or kind is str:
        return False
    return value is None or value != value or (kind.__name__ in ("NAType", "NaTType"))


def nombre(value, decimals: int = 0) -> str:
    """12 871,8 — French grouping and decimal comma, at the given precision."""
    if missing(value):
        return "–"
    return _nombre(float(value) + 0.0, decimals)      # + 0.0: a negative zero reads "0", never "-0"


@lru_cache(maxsize=1 << 16)
def _nombre(value: float, decimals) -> str:
    """nombre() of a float; a national site formats the same few thousand figures again and again."""
    text = f"{-value if value < 0 else value:,.{decimals if decimals > 0 else 0}f}"
    if "," in text:
        text = text.replace(",", NNBSP)
    if "." in text:
        text = text.replace(".", ",")
    if value < 0 and text.strip("0,") != "":
        return MINUS + text
    return text


_PUNCTUATION = re.compile(r"[:;!?«»]|\d \d{3}(?!\d)")
_SPACED = re.compile(r" ([:!?;»])|« |(?<=\d) (?=\d{3}(?!\d))")


def typo(text) -> str:
    """French typography for text read from the data (definitions, messages, names): a no-break
    space before : and », after «, a narrow one before ; ! ? and between the groups of a number
    ("1 607"), so that no line starts with them."""
    if not isinstance(text, str) or _PUNCTUATION.search(text) is None:
        return text
    return _SPACED.sub(lambda m: NNBSP if m.group(0) == " " else "«" + NBSP if m.group(1) is None else
                       (NBSP if m.group(1) in ":»" else NNBSP) + m.group(1), text)


def pourcentage(value, decimals: int = 1) -> str:
    """A share (0.125) as 12,5 %."""
    return "–" if missing(value) else f"{nombre(float(value) * 100, decimals)}{NNBSP}%"


def ecart(value, unite, decimales) -> str:
    """A difference of two values of an indicator: points for a share, its unit otherwise."""
    if missing(value):
        return "–"
    if unite == "ratio":
        return evolution(value * 100, "points")
    text = signe(value, decimales or 0)
    return f"{text}{NNBSP}€" if unite == "euros" else text


def share(value) -> str:
    """A parameter's share (0.85) as a percentage with no more decimals than it has: 85 %, 87,5 %."""
    if missing(value):
        return "–"
    percent = float(value) * 100
    decimals = next((d for d in range(4) if abs(round(percent, d) - percent) < 1e-9), 4)
    return pourcentage(value, decimals)


def euros(value, decimals: int = 0) -> str:
    return "–" if missing(value) else f"{nombre(value, decimals)}{NNBSP}€"


def valeur(value, unite: str, decimales: int | None = None) -> str:
    """An indicator value in its unit, at its published precision (registry `decimales`)."""
    if unite == "ratio":
        return pourcentage(value, 1 if decimales is None else max(decimales - 2, 0))
    if unite == "euros":
        return euros(value, decimales or 0)
    if decimales is None:
        decimales = 1 if unite == "etp" else 0
    return nombre(value, decimales)


def qualifie(text: str, r: dict | None) -> str:
    """A formatted value with its registry's published qualifier ("au moins 45 427": a total that
    may count a person twice and leaves out the structures that did not answer, pub_registre)."""
    q = (r or {}).get("qualificatif")
    return f"{q}{NBSP}{text}" if q and not missing(q) and text not in ("", "–") else text


def signe(value, decimals: int) -> str:
    """+3,2 / −1,0 / 0,0: the sign of a change, never "-0"."""
    text = nombre(value, decimals)
    return text if text.startswith(MINUS) or text.strip("0,\u202f") == "" else "+" + text


def evolution(value, unite_evolution: str, decimales: int = 0) -> str:
    """A change as dbt computed it: points (shares), per cent (sums, means) or units (counts)."""
    if missing(value):
        return "–"
    if unite_evolution == "points":
        return f"{signe(value, 1)}{NNBSP}point{'s' if abs(float(value)) >= 2 else ''}"
    if unite_evolution == "pourcent":
        return f"{signe(value, 1)}{NNBSP}%"
    return signe(value, decimales)


def date_longue(value) -> str:
    """29 novembre 2026."""
    if missing(value):
        return ""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        value = date.fromisoformat(str(value)[:10])
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def structures(nb_cs, nb_evs) -> str:
    """"1 centre social", "2 centres sociaux et 1 espace de vie sociale"."""
    parts = []
    for n, one, many in ((nb_cs, "centre social", "centres sociaux"),
                         (nb_evs, "espace de vie sociale", "espaces de vie sociale")):
        if n:
            parts.append(f"{nombre(n)} {one if n == 1 else many}")
    return " et ".join(parts) or "aucune structure"


def pluriel(n, one: str, many: str) -> str:
    return f"{nombre(n)} {one if n in (0, 1) else many}"


def lecture(t, periode: str, annee: int, decimales: int, verdicts: dict, n_min: int,
            comptees: str = "structures", motifs: dict | None = None, court: bool = False) -> str:
    """The reading of one change from pub_tendances, always naming what it compares.

    periode "un_an" (on the year before) or "reference" (since the reference year). t holds the
    row's fields: verdict_<p>, evolution_<p>, evolution_ensemble_<p>, n_panel_<p>,
    motif_sans_verdict_<p>, n_structures_<precedente|reference>, n_structures, unite_evolution,
    annee_reference (a dict or a named tuple). Why a change has no verdict is dbt's
    (motif_sans_verdict_<p>), worded by its label in `motifs` ({n_min}: the indicator's minimum).
    """
    if not t:
        return "Pas d'évolution publiée."
    if not isinstance(t, dict):
        t = Fields(t)
    if periode == "un_an":
        depuis, avant, n_avant = "sur un an", annee - 1, t.get("n_structures_precedente")
    else:
        avant = t.get("annee_reference")
        if missing(avant) or avant >= annee:
            return ""
        depuis, n_avant = f"depuis {avant}", t.get("n_structures_reference")
    verdict = t.get(f"verdict_{periode}")
    change = t.get(f"evolution_{periode}")
    overall = t.get(f"evolution_ensemble_{periode}")
    panel = t.get(f"n_panel_{periode}")
    unite = t.get("unite_evolution") or "unite"
    label = verdicts.get(verdict, "") if not missing(verdict) else ""
    motif = t.get(f"motif_sans_verdict_{periode}")
    reason = (motifs or {}).get(motif) if not missing(motif) else None
    counts = ""
    if not missing(n_avant) and not missing(t.get("n_structures")) and not (court and not missing(panel)):
        counts = f"{nombre(n_avant)} en {avant}, {nombre(t['n_structures'])} en {annee}"
    if court:       # (the short reading gives the counts only of a change without a panel)
        return _lecture_courte(change, overall, panel, label, reason, unite, decimales, n_min, depuis, counts)
    if reason and not label and not missing(overall):       # no verdict, for the reason dbt gives
        return (f"{evolution(overall, unite, decimales)} {depuis} sur l'ensemble des répondantes"
                f"{' (' + counts + ')' if counts else ''}\u202f; pas de verdict\u00a0: "
                f"{reason.replace('{n_min}', nombre(n_min))}.")
    if missing(panel):      # compared on every unit counted (counts, activities, response rate)
        if missing(change if not missing(change) else overall):
            return f"Pas d'évolution publiée {depuis}."
        amount = evolution(change if not missing(change) else overall, unite, decimales)
        scope = f", sur l'ensemble des {comptees} comptées ({counts})" if counts else ""
        return f"{amount} {depuis}{scope}{NBSP + ': ' + label if label else ''}."
    if label and not missing(change):
        return (f"{evolution(change, unite, decimales)} {depuis} sur les {nombre(panel)} structures ayant "
                f"répondu les deux années\u00a0: {label}.")
    if label:               # the panel's figure would give away the structures that came or went
        text = (f"{label[:1].upper()}{label[1:]} {depuis} sur les {nombre(panel)} structures ayant répondu les "
                f"deux années (chiffre non publié, les répondantes ayant changé")
        if counts:
            text += f"\u00a0: {counts}"
        if not missing(overall):
            text += f"\u202f; ensemble des répondantes\u00a0: {evolution(overall, unite, decimales)}"
        return text + ")."
    if not missing(overall):
        return (f"{evolution(overall, unite, decimales)} {depuis} sur l'ensemble des répondantes"
                f"{' (' + counts + ')' if counts else ''}.")
    return f"Pas d'évolution publiée {depuis}."


def _lecture_courte(change, overall, panel, label, reason, unite, decimales, n_min, depuis, counts) -> str:
    """The same reading in a row of a unit sheet's table, where the sheet says once what a panel
    and "ensemble" are and the counts of each year: the direction, the figure, the panel's size."""
    ensemble = f"ensemble des répondantes\u00a0: {evolution(overall, unite, decimales)}" if not missing(overall) else ""
    if reason and not label and ensemble:
        return f"{ensemble[:1].upper()}{ensemble[1:]}\u202f; pas de verdict\u00a0: {reason.replace('{n_min}', nombre(n_min))}."
    if missing(panel):
        if missing(change if not missing(change) else overall):
            return f"Pas d'évolution publiée {depuis}."
        amount = evolution(change if not missing(change) else overall, unite, decimales)
        return f"{amount}{' (' + counts + ')' if counts else ''}{NBSP + ': ' + label if label else ''}."
    if label and not missing(change):
        return f"{evolution(change, unite, decimales)} sur {nombre(panel)} structures présentes les deux années\u00a0: {label}."
    if label:
        return (f"{label[:1].upper()}{label[1:]} sur {nombre(panel)} structures présentes les deux années"
                f"{' (' + ensemble + ')' if ensemble else ''}.")
    if ensemble:
        return f"{ensemble[:1].upper()}{ensemble[1:]}."
    return f"Pas d'évolution publiée {depuis}."


_SLOT = re.compile(r"\{([a-z_]+)(?:\|([^|{}]*)\|([^|{}]*))?\}")
_COUNTS = ("numerateur", "denominateur", "n_panel", "n_structures", "n_total", "nb_unites", "nb_atteints",
           "nb_bonne_voie", "nb_en_retard", "nb_cibles")
_YEARS = ("annee", "annee_precedente", "annee_cible")


def message(m: dict, registre: dict, verdicts: dict) -> str | None:
    """One key message (a pub_messages row): its declared sentence (`gabarit`) filled with the
    row's own figures in French. `{x}` is a figure, `{x|singulier|pluriel}` the word agreeing
    with it. None when the sentence names a figure the row lacks: no sentence with a hole."""
    r = registre.get(m.get("indicateur")) or {}
    unite, decimales = r.get("unite"), r.get("decimales")
    texts = {"libelle": r.get("libelle"),
             "valeur": None if missing(m.get("valeur")) or not r else qualifie(valeur(m["valeur"], unite, decimales), r),
             "evolution": None if missing(m.get("evolution")) else evolution(m["evolution"], m.get("unite_evolution")
                                                                              or "unite", decimales or 0),
             "verdict": verdicts.get(m.get("verdict")) if not missing(m.get("verdict")) else None,
             "rang": None if missing(m.get("rang")) else ("1er" if m["rang"] == 1 else f"{nombre(m['rang'])}e")}
    for name in _COUNTS:
        texts[name] = None if missing(m.get(name)) else nombre(m[name])
    for name in _YEARS:
        texts[name] = None if missing(m.get(name)) else str(int(m[name]))
    holes = []

    def fill(match: re.Match) -> str:
        name, one, many = match.groups()
        if one is not None:
            n = m.get(name)
            if missing(n):
                holes.append(name)
                return ""
            return one if n in (0, 1) else many
        text = texts.get(name)
        if text is None:
            holes.append(name)
            return ""
        return text

    text = _SLOT.sub(fill, str(m.get("gabarit") or ""))
    return None if holes or not text else typo(text)


class Fields:
    """A named tuple read like a dict (`.get`), without copying it."""
    __slots__ = ("row",)

    def __init__(self, row):
        self.row = row

    def get(self, name, default=None):
        return getattr(self.row, name, default)

    def __getitem__(self, name):
        return getattr(self.row, name)


def csv_cell(value) -> str:
    """A cell safe to open in a spreadsheet: text starting with = + - @ is neutralised."""
    if missing(value):
        return ""
    if isinstance(value, (float, Decimal)) and math.isfinite(value) and value == int(value):
        value = int(value)      # a whole number reads as one ("891"), not as the float it is stored as
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(text.replace(",", "."))   # a negative number stays a number
            return text
        except ValueError:
            return "'" + text
    return text


def csv_text(header, rows) -> str:
    """A CSV for French spreadsheets: UTF-8 with BOM, ';' separator, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])
    return "\ufeff" + buffer.getvalue()


_CSS_ESCAPES = {ord(ch): f"\\{ord(ch):x} " for ch in '"\\<>&'} | {i: f"\\{i:x} " for i in range(32)}


def css_string(text) -> str:
    """A CSS string literal (for the printed page's margin boxes) that cannot close its <style>."""
    return '"' + str(text or "").translate(_CSS_ESCAPES) + '"'
