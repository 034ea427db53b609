"""The list of indicators and a page per indicator: its series, its values by unit and year, its
national comparison."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .. import charts as C
from .. import context as X
from ..formatting import qualifie
from .lookups import Lookups, each_year, fichier, measure, ordre
from .writer import Page, Writer


@dataclass(kw_only=True)
class IndicatorList(Page):
    groupes: list[dict]             # per axis, its registry rows


@dataclass(kw_only=True)
class Indicator(Page):
    i: dict                         # the registry row
    tableau: list[list[str]]        # per unit, its values by year
    cible: str
    annees: list[int]
    comparaisons: list[dict]        # the national comparison, by year
    derniere: dict | None = None    # the latest figure of the main unit, with its rate and France's beside it


def render(look: Lookups, w: Writer) -> None:
    groups = defaultdict(list)
    for r in look.reg.values():
        groups[(r["ordre_axe"], r["libelle_axe"] or "")].append(r)
    w.render("indicateurs/index.html", "liste_indicateurs.html", IndicatorList(
        titre="Les indicateurs", page_id="indicateurs", date_page=look.date_site,
        groupes=[{"titre": k[1], "indicateurs": v} for k, v in sorted(groups.items())]))
    main = look.main
    kids = sorted(look.trees[look.last]["children"].get((main.niveau, main.code), []),
                  key=lambda u: ordre(u.libelle)) if main else []
    comparisons = defaultdict(list)
    for a in look.d.annees:
        for row in look.national_rows(a):
            comparisons[row["indicateur"]].append({**row, "annee": a})
    for i, r in look.reg.items():
        charts = []
        if main is not None:
            years, values = look.series(i, main, look.last)
            if years:
                last = look.cell(look.last, main, i)
                ctx = X.chart_context(look.d, look.reg, main, i, look.last)
                charts.append(C.lines("evolution", f"{r['libelle']}, par année", f"{measure(r)}, "
                                      f"{main.libelle}, par année de données{each_year(r, last)}. "
                                      + X.context_text(ctx),
                                      look.reading(last, "un_an", look.last) if last else "",
                                      {main.libelle: (years, values)}, r["unite"], r["decimales"], contexte=ctx))
        units = [main] + (kids if r["source"] == "enquete" else []) if main else []
        table = [[u.libelle] + [look.fmt(i, c.valeur) if (c := look.d.cells.get((a, u.niveau, u.code), {}).get(i))
                                else "–" for a in look.d.annees] for u in units]
        latest = look.cell(look.last, main, i) if main else None
        derniere = {"unite": main.libelle, "annee": look.last, "valeur": qualifie(look.fmt(i, latest.valeur), r),
                    "taux": X.rate(look.reg, latest),
                    "national": X.national_beside(look.d, look.reg, look.last).get(i)} if latest else None
        w.render(f"indicateurs/{fichier(i)}.html", "indicateur.html", Indicator(
            titre=f"{r['libelle']} (indicateur)", page_id="indicateur", date_page=look.date_site, i=r,
            graphiques=charts, tableau=table,
            cible=look.fmt(i, r["cible"]) if r["cible"] is not None and r["cible"] == r["cible"] else "",
            annees=look.d.annees, comparaisons=comparisons.get(i, []), derniere=derniere))

