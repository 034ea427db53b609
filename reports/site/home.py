"""The home page: the key figures of the last year, its key messages, the reports of every year
and a way to the unit sheets."""
from __future__ import annotations

from dataclasses import dataclass

from ..data import Unit
from ..pages import select
from .lookups import Lookups, slug
from .writer import Page, Writer


@dataclass(kw_only=True)
class Home(Page):
    fiches: dict | None             # the link to the last report's unit sheets, if it has any
    reperes: list[dict]             # the key figures of the main unit, last year
    messages: list[str]
    principal: Unit | None
    rapports: list[dict]            # each year's report, the last first
    annee: int | None               # the year of the key figures: the last with the survey's (Lookups.last)


def render(look: Lookups, w: Writer) -> None:
    rows = select(look.spec, look.reg, (look.spec.section("accueil")).get("reperes"))
    # a partner looks for a territory or a commune: the last report's list of sheets, from here
    fiches = next((s for s in look.spec.section("rapport").get("sections") or [] if s.get("type") == "fiches"), None)
    sheets = look.sheets(look.last) if fiches and look.last else {}
    lien = {"href": f"{look.last}/index.html#s-{fiches.get('id') or slug(fiches.get('titre', 'rubrique'))}",
            "texte": look.title(fiches) or "Fiches"} if sheets.get("liens") or sheets.get("petites") else None
    w.render("index.html", "accueil.html", Home(
        titre="Accueil", page_id="accueil", date_page=look.date_site,
        fiches=lien, reperes=look.tiles(look.last, look.main, rows) if look.last else [],
        messages=look.messages(look.last, look.main),
        principal=look.main, annee=look.last, rapports=[{"annee": a, "date": look.year_date(a), "enquetes": look.d.enquetes.get(a)}
                                             for a in reversed(look.d.annees)]))

