"""The federal project's board: every target and what needs attention first, a card per indicator
with a target, grouped by axis and action, and the indicators without one."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .. import charts as C
from .. import context as X
from ..formatting import NNBSP, evolution, lecture, missing, pourcentage, signe
from ..data import Unit
from ..pages import select
from .lookups import Lookups, measure, slug
from .writer import Page, Writer


@dataclass(kw_only=True)
class Board(Page):
    axes: list[dict]                # per axis, its actions' cards (indicators with a target)
    principal: Unit | None
    projet: dict                    # the federation's row (title of its project, target year)
    annee: int | None               # the last year of the board
    synthese: list[dict]            # every target, what needs attention first
    sans_cible: list[dict]          # per axis, the indicators followed without a target
    n_sans_cible: int
    annees_reference: list[int]
    derniere: bool                  # the target year is reached


def render(look: Lookups, w: Writer) -> None:
    """The board's page: a summary first (every target, what needs attention first, as
    pub_tableau_de_bord orders them), then a card per indicator with a target, grouped by axis
    and action, then the indicators without a target, apart, in one table."""
    spec = look.spec.section("tableau_de_bord")
    wanted = {r["indicateur"] for r in select(look.spec, look.reg, spec.get("indicateurs") or {"sauf": []})}
    by_ind: dict[str, list[dict]] = defaultdict(list)
    for r in look.d.tableau:
        if r["indicateur"] in wanted and r["indicateur"] in look.reg:
            by_ind[r["indicateur"]].append(r)
    last = {i: rows[-1] for i, rows in by_ind.items()}
    annee = max((r["annee"] for r in last.values()), default=None)
    labels = look.d.libelles.get("verdict_cible", {})
    targeted = {i for i, r in last.items() if not missing(r.get("cible"))}
    axes, untargeted, charts = [], [], []
    for axe in look.d.axes:
        groups, plain = [], []
        actions = axe["actions"] + [{"code": None, "libelle": "Autres indicateurs de l'axe"}]
        codes = {a["code"] for a in axe["actions"]}
        for action in actions:
            members = [i for i in by_ind if look.reg[i]["axe"] == axe["code"] and (
                look.reg[i]["action"] == action["code"] or action["code"] is None
                and look.reg[i]["action"] not in codes)]
            cards = [card(look, i, by_ind[i], charts, labels) for i in members if i in targeted]
            plain += [follow_row(look, i, last[i], action, labels) for i in members if i not in targeted]
            if cards:
                groups.append({"code": action["code"], "libelle": action["libelle"], "cartes": cards})
        if groups:
            axes.append({"code": axe["code"], "libelle": axe["libelle"], "groupes": groups})
        if plain:
            untargeted.append({"code": axe["code"], "libelle": axe["libelle"], "lignes": plain})
    summary = sorted((summary_row(look, last[i], labels) for i in targeted if last[i]["annee"] == annee),
                     key=lambda r: (r["rang"] is None, r["rang"] or 0, r["indicateur"]))
    references = sorted({r["annee_reference"] for r in last.values() if not missing(r.get("annee_reference"))})
    f = look.d.federation
    w.render("tableau-de-bord.html", "tableau_de_bord.html", Board(
        titre=f"{f.get('titre_projet') or 'Projet fédéral'} : tableau de bord", page_id="tableau",
        date_page=look.date_site, axes=axes, graphiques=charts,
        principal=look.main, projet=f, annee=annee, synthese=summary, sans_cible=untargeted,
        n_sans_cible=sum(len(a["lignes"]) for a in untargeted), annees_reference=references,
        derniere=annee is not None and not missing(f.get("annee_cible")) and annee >= f["annee_cible"]))


def gap(look: Lookups, i: str, value) -> str:
    """A difference of two values of indicator i: points for a share, its unit otherwise."""
    r = look.reg[i]
    if missing(value):
        return "–"
    if r["unite"] == "ratio":
        return evolution(value * 100, "points")
    text = signe(value, r["decimales"] or 0)
    return f"{text}{NNBSP}€" if r["unite"] == "euros" else text


def path_text(look: Lookups, i: str, r: dict) -> str:
    """Where the indicator stands on its way to the target, in words (figures from the mart)."""
    if r.get("verdict") == "atteinte" and not missing(r.get("annee_atteinte")):
        text = f"Cible atteinte en {r['annee_atteinte']}"
        if not missing(r.get("depassement")):
            text += f" et dépassée\u00a0: {pourcentage(r['part_chemin'], 0)} du chemin parcouru"
        return text + "."
    if not missing(r.get("part_chemin")):
        return (f"{pourcentage(r['part_chemin'], 0)} du chemin parcouru\u00a0; "
                f"écart à la cible\u00a0: {gap(look, i, r.get('ecart_cible'))}.")
    if not missing(r.get("ecart_cible")):
        return f"Écart à la cible\u00a0: {gap(look, i, r.get('ecart_cible'))}."
    return ""


def summary_row(look: Lookups, r: dict, labels: dict) -> dict:
    i = r["indicateur"]
    reg = look.reg[i]
    part = r.get("part_chemin")
    return {"indicateur": i, "ancre": f"i-{slug(i)}", "libelle": reg["libelle_court"] or reg["libelle"],
            "axe": r["axe"], "action": r["action"] or r["axe"], "rang": r.get("rang_attention"),
            "verdict": r.get("verdict") or "", "verdict_libelle": labels.get(r.get("verdict"), ""),
            "depart": f"{look.fmt(i, r.get('valeur_reference'))} ({r['annee_reference']})",
            "valeur": look.fmt(i, r.get("valeur")), "cible": look.fmt(i, r.get("cible")),
            "chemin": pourcentage(part, 0) if not missing(part) else "–",
            "barre": 0 if missing(part) else round(max(0.0, min(float(part), 1.0)) * 100),
            "ecart": gap(look, i, r.get("ecart_cible")),
            "atteinte": r.get("annee_atteinte") if r.get("verdict") == "atteinte" else None}


def follow_row(look: Lookups, i: str, r: dict, action: dict, labels: dict) -> dict:
    reg = look.reg[i]
    return {"indicateur": i, "libelle": reg["libelle"], "action": action["code"] or "",
            "reference": look.fmt(i, r.get("valeur_reference")), "annee_reference": r.get("annee_reference"),
            "valeur": look.fmt(i, r.get("valeur")), "annee": r["annee"],
            "ecart": gap(look, i, r.get("ecart_reference")), "cible": labels.get("pas_de_cible", "")}


def card(look: Lookups, i: str, rows: list[dict], charts: list, labels: dict | None = None) -> dict:
    r = look.reg[i]
    last = rows[-1]
    years = [x["annee"] for x in rows if x["valeur"] is not None]
    values = [x["valeur"] for x in rows if x["valeur"] is not None]
    target = (last["annee_cible"], last["cible"]) if last.get("cible") is not None and \
        last.get("annee_cible") is not None and last["cible"] == last["cible"] else None
    start = (last["annee_reference"], last["valeur_reference"]) if target and not missing(
        last.get("valeur_reference")) and not missing(last.get("annee_reference")) else None
    chart = None
    if years:
        # the declared events of its years (a card is too narrow for the counts under its years, and its
        # readings say its panels: both are on the indicator's page)
        ctx = X.chart_context(look.d, look.reg, look.main, i, last["annee"]) if look.main else None
        if ctx is not None:
            ctx.panel, ctx.effectifs = None, {}
        chart = C.lines(f"i-{slug(i)}", r["libelle"], f"{measure(r)}, par année de données"
                        + (", avec la trajectoire de la référence à la cible" if start else
                           ", avec la cible" if target else "") + ".", "",
                        {r["libelle_court"] or r["libelle"]: (years, values)}, r["unite"], r["decimales"],
                        cible=target, depart=start, petit=True, contexte=ctx)
        charts.append(chart)
    verdict = last.get("verdict")
    return {"indicateur": i, "ancre": f"i-{slug(i)}", "libelle": r["libelle"], "graphique": chart,
            "reference": look.fmt(i, last.get("valeur_reference")), "annee_reference": last.get("annee_reference"),
            "valeur": look.fmt(i, last.get("valeur")), "annee": last["annee"],
            "cible": look.fmt(i, target[1]) if target else "", "annee_cible": target[0] if target else None,
            "statut": verdict if last.get("verdict_affiche") else None,
            "statut_libelle": look.label("verdict_cible", verdict) if last.get("verdict_affiche") else "",
            "ecart_reference": gap(look, i, last.get("ecart_reference")),
            "chemin": path_text(look, i, last),
            "depuis": lecture(last, "reference", last["annee"], r["decimales"], look.verdicts, r["n_min"],
                              r["comptees"], look.motifs),
            "un_an": lecture(last, "un_an", last["annee"], r["decimales"], look.verdicts, r["n_min"], r["comptees"],
                             look.motifs)}

