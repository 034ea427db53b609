"""The sheet of each territory, département and commune of each year: its figures beside those of
the unit it is compared with, its key messages, its territories and communes. At national scale
they are the bulk of the site (with the internal site's structure pages): forked workers render
them while the other pages are written."""
from __future__ import annotations

import multiprocessing
import os
from contextlib import contextmanager
from dataclasses import dataclass

from markupsafe import Markup

from common.processes import die_with_parent

from .. import context as X
from ..data import Unit
from ..formatting import qualifie, structures
from ..pages import select
from .internal import render_structures
from .lookups import NIVEAUX, Lookups, fichier, ordre
from .writer import Page, Writer

PARTS = 2                   # unit sheets are shared between this many workers...
PARALLEL_FROM = 2000        # ...when there are at least this many
_FORKED: tuple | None = None


@dataclass(slots=True)
class Line:
    """One indicator of a section: its value (and rate), the compared unit's like quantity, its
    change in a few words. (Objects, not dicts: the template reads thousands of them per second,
    and Jinja reads a dict's key only after an attribute lookup has failed.)"""
    lien: Markup
    valeur: str
    taux: str
    versus: str
    versus_taux: bool               # the compared unit's figure is a rate per 10,000 inhabitants
    lecture: str


@dataclass(slots=True)
class Block:
    titre: str
    lignes: list[Line]
    non_compares: bool              # some of its counts are not set beside the compared unit's
    graphiques: list


@dataclass(slots=True)
class Child:
    href: str | None
    libelle: str
    structures: str


@dataclass(kw_only=True)
class UnitSheet(Page):
    annee: int
    unite: Unit
    nom: str                        # its name, with its parent's when another unit has the same
    niveau: str                     # its level, in words
    parent: Unit | None
    parent_href: str | None
    structures_phrase: str
    principal: Unit | None
    versus: Unit | None             # the unit its figures are compared with
    blocs: list[Block]              # per section of the page spec: its lines and its chart
    evolution: bool                 # some line has a change published (else one sentence says there is none)
    non_compares: bool              # some count is not set beside the compared unit's (said once for the sheet)
    enfants: list[Child]            # its territories and communes with a sheet
    messages: list[str]
    sans_fiche: list[Child]         # ...and those without one
    sans_fiche_note: str
    centres: list[dict]             # its centres by commune: name, type (public facts, no figures)
    enquetes: str | None = None     # the survey(s) its figures come from (dbt's)
    types_centres: str              # the legend of the types' codes


def _task(look: Lookups, w: Writer, interne: Writer | None, kind: str, annee: int, part: int) -> tuple[str, int]:
    """One part of the bulk of the pages: a year's unit sheets."""
    return kind, render(look, w, annee, part)


def _task_in_worker(kind: str, annee: int, part: int) -> tuple[str, int]:
    return _task(*_FORKED, kind, annee, part)


# Forked workers share the data this process has loaded, and each counts it again for the process
# group: past this many structures (a survey of hundreds of thousands of rows: 1.2 GiB loaded), the
# sheets are written here, one after the other, instead (the national demo has about 5,000).
FORK_UP_TO_STRUCTURES = 50_000


@contextmanager
def in_background(look: Lookups, w: Writer, interne: Writer | None = None):
    """The sheets of every unit of every year, and the page of each structure for the internal
    site (`interne`, its writer, when it is built): the bulk of a national site. The unit sheets
    are rendered by forked workers (they read the data already loaded and write their own files)
    while the caller writes the other pages, then the structure pages (read from the warehouse
    batch by batch, which only this process may query); below PARALLEL_FROM pages, simply here and now."""
    tasks = [("unites", annee, part) for annee in look.d.annees for part in range(PARTS)]
    total = sum(len(look.trees[a]["href"]) for a in look.d.annees)
    if interne is not None:
        total += len(look.d.structures)
    if (total < PARALLEL_FROM or len(look.d.structures) > FORK_UP_TO_STRUCTURES or (os.cpu_count() or 1) < 2
            or "fork" not in multiprocessing.get_all_start_methods()):
        for task in tasks:
            _task(look, w, interne, *task)
        if interne is not None:
            render_structures(look, interne)
        yield
        return
    global _FORKED
    _FORKED = (look, w, interne)
    pool = multiprocessing.get_context("fork").Pool(PARTS, initializer=die_with_parent, initargs=(os.getpid(),))
    _FORKED = None
    try:
        pending = pool.starmap_async(_task_in_worker, tasks)
        yield
        if interne is not None:
            render_structures(look, interne)
        for _kind, written in pending.get():
            # the workers wrote the unit sheets into the mirrors too
            for writer in (w, *w.mirrors):
                writer.pages += written
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def render(look: Lookups, w: Writer, annee: int, part: int = 0) -> int:
    """One part (of PARTS) of a year's unit sheets; returns the number of pages written."""
    before = w.pages
    tree = look.trees[annee]
    sections = [(s.get("titre", ""), select(look.spec, look.reg, s)) for s in
                (look.spec.section("unite")).get("sections") or []]
    links = {i: Markup('<a href="../../indicateurs/{}.html">{}</a>').format(fichier(i), look.named(r))
             for i, r in look.reg.items()}
    versus_values: dict[tuple, dict[str, str]] = {}
    date_page = look.year_date(annee)
    for n, (key, rel) in enumerate(tree["href"].items()):
        if n % PARTS != part:
            continue
        u = tree["units"][key]
        parent = tree["parent"].get(key)
        name = look.unit_title(annee, u)
        versus = look.compared_with(annee, u)
        cells = look.d.cells.get((annee, u.niveau, u.code), {})
        vkey = (versus.niveau, versus.code) if versus else None
        if vkey not in versus_values:
            vcells = look.d.cells.get((annee, *vkey), {}) if vkey else {}
            versus_values[vkey] = {i: look.fmt(i, c.valeur) for i, c in vcells.items()}
        vvalues = versus_values[vkey]
        blocks, evolution = [], False
        vcells = look.d.cells.get((annee, *vkey), {}) if vkey else {}
        for k, (titre_bloc, rows) in enumerate(sections, start=1):
            lines, apart = [], False
            for r in rows:
                i = r["indicateur"]
                c = cells.get(i)
                if c is not None:
                    # like beside like: the compared unit's share, mean or rate, never its count
                    comparable = r.get("comparable_entre_unites")
                    taux = X.rate(look.reg, c)
                    vc = vcells.get(i)
                    versus_text = vvalues.get(i, "–") if comparable else \
                        X.rate(look.reg, vc) if vc is not None and taux else ""
                    apart = apart or not comparable
                    reading = look.reading(c, "un_an", annee, court=True)
                    evolution = evolution or not reading.startswith("Pas d'évolution publiée")
                    lines.append(Line(links[i], qualifie(look.fmt(i, c.valeur), r), taux, versus_text,
                                      bool(versus_text) and not comparable, reading))
            if lines:
                chart = X.unit_section_chart(f"s{k}", titre_bloc, look.d, look.reg, annee, u, versus, rows)
                blocks.append(Block(titre_bloc, lines, apart, [chart] if chart else []))
        # its territories and communes with a sheet, then those without one: the reason given once,
        # not in each of their lines (a département can list 80 of them)
        kids, small = [], []
        for k in sorted(tree["children"].get(key, []), key=lambda v: ordre(v.libelle)):
            kkey = (k.niveau, k.code)
            (small if kkey in tree["small"] else kids).append(
                Child(tree["href"].get(kkey), look.unit_title(annee, k), structures(k.nb_cs, k.nb_evs)))
        w.render(f"{annee}/{rel}", "unite.html", UnitSheet(
            titre=f"{name} ({NIVEAUX[u.niveau]}) en {annee}", page_id="unite", date_page=date_page, annee=annee,
            annee_page=annee, unite=u, nom=name, niveau=NIVEAUX[u.niveau], parent=parent,
            structures_phrase=structures(u.nb_cs, u.nb_evs),
            parent_href=tree["href"].get((parent.niveau, parent.code)) if parent else None, principal=tree["main"],
            versus=versus, blocs=blocks, evolution=evolution, non_compares=any(b.non_compares for b in blocks),
            enfants=kids, messages=look.messages(annee, u), enquetes=look.d.enquetes.get(annee),
            centres=(centres := X.centres(look.d, annee, u)), types_centres=X.centre_types(centres),
            sans_fiche=small, sans_fiche_note=look.without_sheet(len(small), u.niveau)))
    return w.pages - before

