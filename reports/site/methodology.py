"""The methodology page: response and completeness, publications, national sources, sections left
out, the rule of secrecy."""
from __future__ import annotations

from dataclasses import dataclass

from .. import context as X
from ..data import Unit
from ..formatting import date_longue, nombre, pourcentage, share
from .lookups import Lookups
from .writer import Page, Writer


@dataclass(kw_only=True)
class Methodology(Page):
    completude: list[dict]          # per year, response and completeness of the main unit
    publications: list[dict]
    sources: list[dict]             # the national sources
    absentes: list[dict]            # sections of the report left out, and in which years
    n_min: int                      # the disclosure minimum most indicators follow (pub_parametres)
    dominance: str                  # the dominance threshold, as a percentage (pub_parametres)
    principal: Unit | None
    evenements: list[dict]          # the declared events of the published years
    au_moins: list[str]             # the totals written "au moins" (pub_registre)
    par_habitant: list[str]         # the counts also given per 10,000 inhabitants (pub_registre)
    territoires_declares: bool      # the territories are the folder's own (pub_parametres; false in an older snapshot)
    territoires: list[str]          # the names of the last year's territories


def render(look: Lookups, w: Writer) -> None:
    completude = []
    for a in look.d.annees:
        blocs = look.d.completude.get(a, [])
        if blocs:
            b0 = blocs[0]
            completude.append({"annee": a, "invites": nombre(b0["n_invites"]), "repondants": nombre(b0["n_repondants"]),
                               "taux": pourcentage(b0["taux_reponse"]),
                               "blocs": [(look.d.libelles.get("bloc", {}).get(b["bloc"], b["bloc"]),
                                          pourcentage(b["taux_completude"])) for b in blocs]})
    pubs = [{"annee": a, "statut": look.label("statut_publication", p["statut"]),
             "date": date_longue(p.get("publie_le")), "avertissements": nombre(p.get("nb_avertissements") or 0)}
            for a, p in sorted(look.d.publications.items())]
    sources = {}
    for a in look.d.annees:
        for r in look.d.nationale.get(a, []):
            sources.setdefault((r["editeur_source"], r["titre_source"]), {
                "editeur": r["editeur_source"] or "", "titre": r["titre_source"] or "",
                "url": r["source_nationale"] or "",
                "type": look.d.libelles.get("type_source", {}).get(r["type_source"], "")})
    absent = [{"titre": t, "annees": ", ".join(str(a) for a in years), "registre": not in_registry,
               "toutes": len(years) == len(look.d.annees)} for (t, in_registry), years in look.absent.items()]
    w.render("methodologie.html", "methodologie.html", Methodology(
        titre="Méthodologie", page_id="methodologie", date_page=look.date_site, completude=completude,
        publications=pubs, sources=list(sources.values()), absentes=absent, n_min=look.n_min,
        dominance=share(look.d.parametres["secret_dominance"]), principal=look.main,
        territoires_declares=bool(look.d.parametres.get("territoires_declares")),
        territoires=sorted(u.libelle for u in look.d.unites.get(look.last, {}).values()
                           if u.niveau == "territoire" and not u.confondu),
        **X.methodology(look.d, look.reg)))

