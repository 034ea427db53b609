"""The yearly report of each data year (its sections as the page spec declares them: tiles, tables,
charts, a map, the communes, the unit sheets, the national comparison), and its printed plaquette."""
from __future__ import annotations

import multiprocessing
import os
from contextlib import contextmanager
from dataclasses import dataclass

from markupsafe import Markup

from common.processes import die_with_parent

from .. import charts as C
from .. import context as X
from .. import maps as M
from .. import svgcharts
from ..data import Unit
from ..formatting import pluriel, qualifie, structures, typo
from ..pages import select
from ..plaquette import cached_pdf, css as plaquette_css, engine as plaquette_engine, keep_pdf, render_pdf
from .lookups import NIVEAUX, NIVEAUX_PLURIEL, Lookups, each_year, measure, ordre, slug
from .writer import Page, Writer


@dataclass(kw_only=True)
class Report(Page):
    annee: int
    principal: Unit | None
    messages: list[str]
    sections: list[dict]            # the sections of the page spec that have something to show
    plaquette: str                  # the PDF's file name, or ""
    enquetes: str | None            # the survey(s) its figures come from (dbt's), None: the activity log only


def render(look: Lookups, w: Writer, annee: int) -> None:
    tree = look.trees[annee]
    main = tree["main"]
    sections, charts = [], []
    for s in (look.spec.section("rapport")).get("sections") or []:
        kind = s.get("type", "rubrique")
        sec = {"id": s.get("id") or slug(s.get("titre", "rubrique")), "titre": look.title(s),
               "texte": s.get("texte", ""), "type": kind}
        if kind == "fiches":
            sec["fiches"] = look.sheets(annee)
            if not sec["fiches"]["liens"] and not sec["fiches"]["petites"]:
                continue
        elif kind == "comparaison_nationale":
            sec["comparaison"] = look.national_rows(annee)
            if not sec["comparaison"]:
                continue
        else:
            if not fill_section(look, sec, s, annee, main, charts):
                if sec.get("avait_indicateurs") or sec.get("selecteurs"):
                    look.absent[(sec["titre"], bool(sec.get("avait_indicateurs")))].append(annee)
                continue
        sections.append(sec)
    plaquette = f"plaquette-{annee}.pdf" if look.plaquettes else ""
    w.render(f"{annee}/index.html", "rapport.html", Report(
        titre=f"Rapport {annee} — {main.libelle if main else ''}", page_id="rapport",
        date_page=look.year_date(annee), annee=annee, principal=main, messages=look.messages(annee, main),
        sections=sections, graphiques=charts, annee_page=annee, plaquette=plaquette,
        enquetes=look.d.enquetes.get(annee)))
    if plaquette:
        look.pdfs.append((f"{annee}/{plaquette}", printed(look, w, annee, main, sections)))


# What a plaquette leaves to the site when its whole version passes the pages a plaquette holds
# (reports/plaquette.MAX_PAGES: a département of a hundred communes with centres, a federal project
# of twenty actions): each shorter version keeps fewer rows of its long lists (the communes with the
# most structures, the first sheets, the first rows of each section's table; None: all of them), and
# says how many more the site holds. The first version that holds is printed.
ABRIDGED = ({"communes": 30, "fiches": 20, "tableau": None},
            {"communes": 12, "fiches": 6, "tableau": 12},
            {"communes": 0, "fiches": 0, "tableau": 6})


def printed(look: Lookups, w: Writer, annee: int, main: Unit | None, sections: list[dict]) -> tuple[str, ...]:
    """The yearly report as a printed A4 plaquette (PDF): cover with its key figure, contents,
    key messages, the report's sections with static charts and map, method and sources last. Its
    versions: the whole one, then each shorter one (ABRIDGED) that differs from the one before."""
    site = str(look.d.federation.get("adresse_observatoire") or "").rstrip("/")
    adresse = f"{site}/{annee}/index.html" if site else ""
    whole = []
    for sec in sections:
        sec = dict(sec)
        sec["graphiques"] = [{"titre": g.titre, "lecture": g.lecture, "legende": g.legende,
                              "svg": svgcharts.draw(g)} for g in sec.get("graphiques") or []]
        if sec.get("fiches"):
            fiches = dict(sec["fiches"])
            fiches["liens"] = [{**l, "url": f"{site + '/' if site else ''}{annee}/{l['href']}"}
                               for l in fiches["liens"]]
            fiches["note"] = fiches["note_imprimee"]    # the communes without a sheet are not listed there
            sec["fiches"] = fiches
        whole.append(sec)
    first = next((t for s in sections for t in s.get("tuiles") or []), None)
    sources = sorted({citation(r["editeur_source"], r.get("titre_source"))
                      for r in look.d.nationale.get(annee, []) if r.get("editeur_source")})
    return versions(lambda secs: w.template("plaquette.html").render(
        w.common, css=Markup(plaquette_css()), annee=annee, principal=main, sections=secs,
        messages=look.messages(annee, main), chiffre=first, date=look.year_date(annee), sources=sources,
        adresse=adresse, adresse_methode=f"{site}/methodologie.html", enquetes=look.d.enquetes.get(annee)), whole, adresse)


def versions(render, sections: list[dict], adresse: str) -> tuple[str, ...]:
    """The HTML of a plaquette's versions, render(sections) of the whole sections then of each
    shorter one (ABRIDGED) that differs from the one before."""
    out: list[str] = []
    for limits in (None, *ABRIDGED):
        html = render(abridged(sections, limits, adresse) if limits else sections)
        if not out or html != out[-1]:
            out.append(html)
    return tuple(out)


def abridged(sections: list[dict], limits: dict, adresse: str) -> list[dict]:
    """The sections of a shorter plaquette: at most limits[k] rows of each long list, the rest said
    in a sentence that points to the site."""
    where = f"en ligne\u00a0: {adresse}" if adresse else "sur le site de l'observatoire"
    out = []
    for sec in sections:
        sec = dict(sec)
        rows, keep = sec.get("communes") or [], limits["communes"]
        if len(rows) > keep:
            ranked = sorted(rows, key=lambda r: (-r["n"], ordre(r["libelle"])))
            sec["communes"], rest = ranked[:keep], ranked[keep:]
            top = max(r["n"] for r in rest)
            most = "une structure" if top == 1 else f"au plus {pluriel(top, 'structure', 'structures')}"
            sec["communes_autres"] = (
                f"Le tableau des {pluriel(len(rows), 'commune', 'communes')} qui comptent au moins une structure "
                f"est {where}." if not keep else
                f"L'autre commune compte {most.removeprefix('au plus ')}\u202f; le tableau complet est {where}." if len(rest) == 1 else
                f"Les {pluriel(len(rest), 'autre commune', 'autres communes')} comptent chacune {most}\u202f; le tableau complet est {where}.")
        if sec.get("fiches") and len(sec["fiches"]["liens"]) > limits["fiches"]:
            fiches = dict(sec["fiches"])
            rest = len(fiches["liens"]) - limits["fiches"]
            fiches["liens"] = fiches["liens"][:limits["fiches"]]
            fiches["autres"] = (f"… et {pluriel(rest, 'autre fiche', 'autres fiches')}, en ligne avec ce rapport."
                                if fiches["liens"] else "")
            sec["fiches"] = fiches
        keep = limits["tableau"]
        if keep is not None and len(sec.get("tableau") or []) > keep:
            rest = len(sec["tableau"]) - keep
            sec["tableau"] = sec["tableau"][:keep]
            sec["tableau_autres"] = (f"… et {pluriel(rest, 'autre indicateur', 'autres indicateurs')} de cette "
                                     f"rubrique dans le rapport {where}.")
        out.append(sec)
    return out


def citation(editeur, titre) -> str:
    """A national source as the plaquette cites it: « its title » after its publisher; a title that
    already holds its guillemets (« Portrait type » (enquête SENACS 2015)) keeps them, not doubled."""
    titre = str(titre or "").strip()
    if not titre:
        return typo(str(editeur))
    return typo(f"{editeur}, {titre}" if "«" in titre else f"{editeur}, « {titre} »")


def fill_section(look: Lookups, sec: dict, s: dict, annee: int, main: Unit | None, charts: list) -> bool:
    tiles = select(look.spec, look.reg, s.get("tuiles"))
    table = select(look.spec, look.reg, s.get("tableau"))
    chart_rows = [(g, select(look.spec, look.reg, {k: v for k, v in g.items() if k not in ("type", "titre", "tri")}))
                  for g in s.get("graphiques") or []]
    indicators = tiles + table + [r for g, rows in chart_rows for r in rows]
    sec["avait_indicateurs"] = bool(indicators)
    sec["selecteurs"] = bool(s.get("tuiles") or s.get("tableau") or
                             any(g.get("type") != "unites" for g in s.get("graphiques") or []))
    if indicators and not look.has_data(annee, main, indicators):
        return False
    sec["tuiles"] = look.tiles(annee, main, tiles)
    sec["tableau"] = [table_row(look, annee, main, r) for r in table if look.cell(annee, main, r["indicateur"])]
    sec["graphiques"] = []
    for k, (g, rows) in enumerate(chart_rows, start=1):
        chart = section_chart(look, sec["id"] + (f"-{k}" if k > 1 else ""), g, rows, annee, main)
        if chart is not None:
            sec["graphiques"].append(chart)
            charts.append(chart)
    if s.get("carte") and main is not None:
        sec["carte"] = section_map(look, f"carte-{sec['id']}", annee, main, s["carte"])
    # France: on each département; the départements of a federation that declares several: here, as its map
    if s.get("communes") and main is not None and (main.niveau != "national" or look.d.federation.get("departements_zone")):
        sec["communes"] = commune_table(look, annee)
        small = {r["niveau_parent"] for r in sec["communes"] if r["sans_fiche"]}
        sec["communes_note"] = look.too_few(small, "Les communes « sans fiche »") if small else ""
    return bool(sec["tuiles"] or sec["tableau"] or sec["graphiques"] or sec.get("communes") or sec.get("carte"))


def section_map(look: Lookups, id: str, annee: int, main: Unit, spec: dict) -> M.Carte | None:
    """The communes of the département (the départements of France; the communes of the départements
    of a federation that declares several, dbt's pub_federation.departements_zone), shaded by their
    structures."""
    zone = look.d.federation.get("departements_zone") if main.niveau == "national" else None
    if zone:
        level, file, bounds = "commune", tuple(f"communes-{d}" for d in zone), spec.get("classes") or [1, 2, 3, 5]
        area, areas = "commune", "communes"
    elif main.niveau == "national":
        level, file, bounds = "departement", "departements", spec.get("classes_departements") or [1, 25, 50, 100]
        area, areas = "département", "départements"
    elif main.niveau == "departement":
        level, file, bounds = "commune", f"communes-{main.code}", spec.get("classes") or [1, 2, 3, 5]
        area, areas = "commune", "communes"
    else:
        return None
    units = [{"code": u.code, "libelle": u.libelle, "n": u.nb_structures, "detail": structures(u.nb_cs, u.nb_evs)}
             for u in sorted(look.trees[annee]["units"].values(), key=lambda u: ordre(u.libelle))
             if u.niveau == level]
    titre = f"{spec.get('titre') or 'Structures'} par {area}, {main.libelle}, {annee}"
    return M.choropleth(id, titre, file, units, [int(b) for b in bounds], area=area, areas=areas)


def table_row(look: Lookups, annee: int, unit: Unit | None, r: dict) -> dict:
    c = look.cell(annee, unit, r["indicateur"])
    return {"indicateur": r["indicateur"], "libelle": look.named(r),
            "valeur": qualifie(look.fmt(r["indicateur"], c.valeur), r), "lecture": look.reading(c, "un_an", annee)}


def section_chart(look: Lookups, id: str, g: dict, rows: list[dict], annee: int, main: Unit | None):
    kind = g["type"]
    if kind == "unites":
        kids = [u for u in look.trees[annee]["children"].get((main.niveau, main.code), [])] if main else []
        kids = sorted(kids, key=lambda u: (-(u.nb_structures or 0), ordre(u.libelle)))
        if not 2 <= len(kids) <= 30 or kids[0].niveau == "commune":   # communes: their table follows
            return None
        level = NIVEAUX_PLURIEL.get(kids[0].niveau, "unités")
        titre = f"{g.get('titre', 'Structures')} par {NIVEAUX[kids[0].niveau]}"
        total = main.nb_structures_enfants      # dbt's total of the units drawn (none in a year frozen before it)
        return C.bars(id, titre, f"Centres sociaux et espaces de vie sociale agréés, données {annee}.",
                      f"{pluriel(total, 'structure', 'structures')} réparties sur {len(kids)} {level}."
                      if total is not None else f"Structures réparties sur {len(kids)} {level}.",
                      [u.libelle for u in kids], [u.nb_structures for u in kids], "structures", 0,
                      label_col=NIVEAUX[kids[0].niveau].capitalize())
    found = [(r, look.cell(annee, main, r["indicateur"])) for r in rows]
    found = [(r, c) for r, c in found if c is not None]
    if not found:
        return None
    if kind == "barres":
        if g.get("tri") == "decroissant":
            found.sort(key=lambda rc: -rc[1].valeur)
        r0 = found[0][0]      # the reading names the largest values, whatever the order of the bars
        lead = "\u202f; ".join(f"{r['libelle_court'] or r['libelle']}\u00a0: {look.fmt(r['indicateur'], c.valeur)}"
                              for r, c in sorted(found, key=lambda rc: -rc[1].valeur)[:3])
        return C.bars(id, g.get("titre") or "Indicateurs", f"{measure(r0)}, "
                      f"{main.libelle}, données {annee}.", f"En tête\u00a0: {lead}.",
                      [r["libelle_court"] or r["libelle"] for r, _ in found], [c.valeur for _, c in found],
                      r0["unite"], r0["decimales"], label_col="Indicateur")
    r, c = found[0]      # evolution: one small chart per indicator, the first one here
    years, values = look.series(r["indicateur"], main, annee)
    ctx = X.chart_context(look.d, look.reg, main, r["indicateur"], annee)
    return C.lines(id, g.get("titre") or f"{r['libelle']}, par année", f"{measure(r)}, "
                   f"{main.libelle}, par année de données jusqu'en {annee}{each_year(r, c)}. " + X.context_text(ctx),
                   look.reading(c, "un_an", annee),
                   {r["libelle_court"] or r["libelle"]: (years, values)}, r["unite"], r["decimales"], contexte=ctx)


def commune_table(look: Lookups, annee: int) -> list[dict]:
    tree = look.trees[annee]
    rows = []
    for (niveau, code), u in sorted(tree["units"].items(), key=lambda kv: ordre(kv[1].libelle)):
        if niveau != "commune":
            continue
        p, shown = tree["parent"].get((niveau, code)), tree["compte"].get((niveau, code)) or tree["main"]
        rows.append({"libelle": u.libelle, "parent": p.libelle if p else "", "href": tree["href"].get((niveau, code)),
                     "parent_href": tree["href"].get((p.niveau, p.code)) if p else None,
                     "niveau_parent": shown.niveau if shown else "",
                     "sans_fiche": (niveau, code) in tree["small"], "structures": structures(u.nb_cs, u.nb_evs),
                     "n": u.nb_structures or 0})
    return rows


def plaquette_workers():
    """The workers that render the plaquettes, forked before the site's data is loaded (they need only
    each plaquette's HTML, sent to them: forked later, each one counted the data again for the process
    group, 4 GiB on a survey of 450,000 rows); None on one core or where fork is not available."""
    if (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    return multiprocessing.get_context("fork").Pool(2, initializer=_plaquette_worker, initargs=(os.getpid(),))


def _plaquette_worker(parent: int) -> None:
    die_with_parent(parent)
    plaquette_engine()          # WeasyPrint imported here, on the worker's core, not in the report's process


@contextmanager
def plaquettes_in_background(look: Lookups, w: Writer, pool=None):
    """The PDF of each yearly report, rendered (WeasyPrint: seconds each) by the workers of `pool`
    (plaquette_workers) while the caller writes the other pages, then written into the site.
    Rendering is deterministic: a plaquette whose HTML was already printed (the same year,
    unchanged) is taken from the cache of rendered plaquettes (reports/plaquette.py), byte for byte
    what it would render."""
    todo, done = [], {}
    for rel, html in look.pdfs:
        cached = cached_pdf(html)
        if cached is not None:
            done[rel] = cached
        else:
            todo.append((rel, html))
    if todo:
        plaquette_engine()      # a French error now, if WeasyPrint is missing
    pool = pool if len(todo) > 1 else None     # the caller (build_sites) ends it, whatever happens
    # one plaquette a task: by pairs (the default), ten of them went six to one worker, four to the other
    pending = pool.map_async(render_pdf, [html for _, html in todo], chunksize=1) if pool else None
    yield
    pdfs = pending.get() if pool else [render_pdf(html) for _, html in todo]
    for (rel, html), pdf in zip(todo, pdfs):
        done[rel] = pdf
        keep_pdf(html, pdf)
    for rel, pdf in sorted(done.items()):
        w.binary(rel, pdf)

