"""`observatoire report`: the static observatory site, in French, for two audiences.

    public   the yearly reports, the territory and commune sheets, the federal project's board,
             the indicators, the methodology and the open data; nothing but the published marts
    interne  the same pages, plus a page per structure and the quality pages and dbt docs

What each page holds is declared in data/config/pages.yaml (reports/pages.py); this module only
looks values up in the published marts (reports/data.py) and lays them out. A page about a data
year reads only that year and earlier ones, and is dated by that year's publication, so that a
year held back from publication keeps its pages byte for byte.

Each audience is built in a temporary folder and swapped in whole: a failed build never
leaves a half site. Links are relative, so the folder can be copied to any web server.
"""
from __future__ import annotations

import base64
import gc
import multiprocessing
import os
import re
import shutil
import unicodedata
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from slugify import slugify

from common.names import file_stem
from common.timing import Chrono
from common import files as fichiers
from common.processes import die_with_parent

from . import charts as C
from . import context as X
from . import maps as M
from . import svgcharts
from .plaquette import cached_pdf, css as plaquette_css, engine as plaquette_engine, keep_pdf, render_pdf
from .data import Cell, SiteData, Unit, load
from .formatting import (NNBSP, csv_text, css_string, date_longue, evolution, lecture, message, missing, nombre,
                         pluriel, pourcentage, qualifie, signe, structures, typo, valeur)
from .opendata import DICTIONARY_TABLE, TABLES, XLSX_NAME, write_open_data
from .pages import PAGES_FILE, PageSpec, load_spec, select

TEMPLATES = Path(__file__).resolve().parent / "templates" / "site"
STATIC = Path(__file__).resolve().parent / "static"
AUDIENCES = ("public", "interne")
NIVEAUX = {"commune": "commune", "territoire": "territoire", "departement": "département", "national": "France"}
FOLDERS = {"commune": "communes", "territoire": "territoires", "departement": "departements"}
NIVEAUX_PLURIEL = {"territoire": "territoires", "departement": "départements", "commune": "communes"}


@dataclass
class SiteResult:
    audience: str
    path: Path
    pages: int


class Writer:
    """Renders pages into a folder; each page knows its depth for relative links, and the figures
    of its charts go into one CSV beside it. A page written here is also written to each of the
    `mirrors`: the same page with the mirror's own header and footer (another audience's menu)."""

    def __init__(self, root: Path, env: Environment, common: dict, mirrors: list[Writer] = ()):
        self.root, self.env, self.common, self.pages = root, env, common, 0
        self.mirrors = list(mirrors)
        self._templates, self._chrome = {}, {}
        self._dirs: set[Path] = set()

    def page(self, rel: str, template: str, *, titre: str, graphiques=(), **context) -> None:
        csv_nom = f"{PurePosixPath(rel).stem}-chiffres.csv" if graphiques else ""
        figures = csv_text(["graphique", "serie", "categorie", "valeur"],
                           [(g.titre, *row) for g in graphiques for row in g.brut]) if graphiques else ""
        racine = "../" * rel.count("/")
        entete = self.chrome("_entete.html", racine, context.get("page_id"))
        pied = self.chrome("_pied.html", context.get("annee_page"), context.get("date_page"))
        context.update(racine=racine, titre=titre, graphiques=graphiques, csv_nom=csv_nom, entete=entete, pied=pied)
        html = self.template(template).render(self.common, **context)
        self._write(rel, csv_nom, figures, html)
        for mirror in self.mirrors:
            # the header comes first in a page and the footer last: only they depend on the audience
            other = mirror.chrome("_entete.html", racine, context.get("page_id"))
            text = html.replace(entete, other, 1) if other != entete else html
            other = mirror.chrome("_pied.html", context.get("annee_page"), context.get("date_page"))
            if other != pied:
                head, _, tail = text.rpartition(pied)
                text = head + other + tail
            mirror._write(rel, csv_nom, figures, text)

    def _write(self, rel: str, csv_nom: str, figures: str, html: str) -> None:
        path = self.root / rel
        if path.parent not in self._dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(path.parent)
        if csv_nom:
            (path.parent / csv_nom).write_text(figures, encoding="utf-8")
        with open(path, "w", encoding="utf-8") as f:
            f.write(html)
        self.pages += 1

    def template(self, name: str):
        if name not in self._templates:
            self._templates[name] = self.env.get_template(name)
        return self._templates[name]

    def chrome(self, name: str, *key) -> Markup:
        """The header and the footer, rendered once for each place a page can sit in."""
        if (name, *key) not in self._chrome:
            racine = key[0] if name == "_entete.html" else ""
            context = {"racine": racine, "page_id": key[1]} if name == "_entete.html" else \
                {"annee_page": key[0], "date_page": key[1]}
            self._chrome[(name, *key)] = Markup(self.template(name).render(self.common, **context))
        return self._chrome[(name, *key)]

    def text(self, rel: str, content: str) -> None:
        for writer in (self, *self.mirrors):
            path = writer.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")

    def binary(self, rel: str, content: bytes) -> None:
        """A file written as is (a PDF) into this site and its mirrors."""
        for writer in (self, *self.mirrors):
            path = writer.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)

    def copy_to_mirrors(self, rel: str) -> None:
        """A folder this writer filled by other means, copied as is into each mirror."""
        for mirror in self.mirrors:
            shutil.copytree(self.root / rel, mirror.root / rel, dirs_exist_ok=True)


def measure(r: dict) -> str:
    """What an indicator's values count, for a chart's legend ("Nombre de personnes")."""
    text = str(r.get("libelle_unite") or "Valeurs")
    return text[:1].upper() + text[1:]


def each_year(r: dict, cell) -> str:
    """What an evolution chart draws, when its reading compares only the structures of both years."""
    if r.get("comparaison") != "panel" or cell is None or missing(cell.n_panel_un_an):
        return ""
    return (", sur les répondantes de chaque année (l'évolution écrite au-dessus ne compare que les structures "
            "ayant répondu les deux années)")


def slug(code) -> str:
    return slugify(str(code)) or "x"


def ordre(name) -> tuple[str, str]:
    """A name's place in a French list: accents, case and ligatures aside, so that Châtenay-Malabry
    and Châtillon come before Chaville, and Écouen among the E (not after Z)."""
    text = str(name or "")
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return bare.casefold().replace("œ", "oe").replace("æ", "ae"), text


WORDS = {2: "deux", 3: "trois", 4: "quatre", 5: "cinq", 6: "six", 7: "sept", 8: "huit", 9: "neuf", 10: "dix"}


def fichier(indicateur) -> str:
    """The page name of an indicator: its registry id, made safe for a file name and a URL."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", str(indicateur)) or "x"


class Site:
    def __init__(self, data: SiteData, spec: PageSpec, con=None, plaquettes: bool = True):
        self.d, self.spec, self.con, self.plaquettes = data, spec, con, plaquettes
        self.pdfs: list[tuple[str, str]] = []      # (path, HTML) of each yearly plaquette to print
        self.reg = data.registre
        self.verdicts = data.libelles.get("verdict", {})
        self.absent: dict[str, list[int]] = defaultdict(list)      # section title -> years left out
        self.trees = {a: self._tree(a) for a in data.annees}
        last = data.annees[-1] if data.annees else None
        self.last = last
        self.main = data.principal(last) if last else None
        dates = [p["publie_le"] for a, p in data.publications.items() if a in data.annees and p.get("publie_le")]
        self.date_site = date_longue(max(dates)) if dates else ""
        # the disclosure minimum: fewer respondents than this, and a cell is not published
        self.n_min = min((r["n_min"] for r in self.reg.values() if r["n_min"] and r["n_min"] > 1), default=3)
        # a territory level of its own (EPT, declared territories), not one that is its département
        self.territoires = any(u.niveau == "territoire" and not u.confondu
                               for units in data.unites.values() for u in units.values())

    def title(self, s: dict) -> str:
        """A section's title from the page spec; `titre_sans_territoire` where there is no territory level."""
        return (not self.territoires and s.get("titre_sans_territoire")) or s.get("titre", "")

    # ------------------------------------------------------------------ lookups and formatting
    def named(self, r: dict, text: str | None = None) -> str:
        """An indicator's label with its action's name when it shows only the action's code
        ("Activités fédérales de l'action A1.1 — Animer le réseau")."""
        text = str(text or r.get("libelle") or "")
        action, name = r.get("action"), r.get("libelle_action")
        if action and name and str(action) in text and str(name) not in text:
            return typo(f"{text} — {name}")
        return text

    def fmt(self, indicateur: str, value) -> str:
        r = self.reg[indicateur]
        return valeur(value, r["unite"], r["decimales"])

    def cell(self, annee: int, unit: Unit | None, indicateur: str) -> Cell | None:
        if unit is None:
            return None
        return self.d.cells.get((annee, unit.niveau, unit.code), {}).get(indicateur)

    def reading(self, cell: Cell | None, periode: str, annee: int) -> str:
        if cell is None:
            return "Pas d'évolution publiée."
        r = self.reg[cell.indicateur]
        return lecture(cell, periode, annee, r["decimales"], self.verdicts, r["n_min"],
                       "activités" if r["source"] == "activites" else "structures")

    def messages(self, annee: int | None, unit: Unit | None) -> list[str]:
        """A unit's key messages of a year, chosen by dbt (pub_messages), in their sentences."""
        if unit is None or annee is None:
            return []
        rows = self.d.messages.get((annee, unit.niveau, unit.code), [])
        return [t for t in (message(m, self.reg, self.verdicts) for m in rows) if t]

    def year_date(self, annee: int) -> str:
        p = self.d.publications.get(annee) or {}
        return date_longue(p.get("publie_le"))

    def series(self, indicateur: str, unit: Unit, until: int) -> tuple[list, list]:
        years, values = [], []
        for a in self.d.annees:
            if a > until:
                break
            c = self.d.cells.get((a, unit.niveau, unit.code), {}).get(indicateur)
            if c is not None:
                years.append(a)
                values.append(c.valeur)
        return years, values

    def has_data(self, annee: int, unit: Unit | None, rows: list[dict]) -> bool:
        """Whether any of these indicators has a figure for the unit that year (published or withheld)."""
        if unit is None:
            return False
        cells = self.d.cells.get((annee, unit.niveau, unit.code), {})
        return any(r["indicateur"] in cells for r in rows) or (unit.nb_secrets > 0 and any(
            (annee, unit.niveau, unit.code, r["indicateur"]) in self.d.secrets for r in rows))

    # ------------------------------------------------------------------ the units of a year
    def _tree(self, annee: int) -> dict:
        """Which unit has a page, under which parent it is listed, and what it is compared with."""
        units = self.d.unites.get(annee, {})
        main = self.d.principal(annee)

        def parent(u: Unit) -> Unit | None:
            p = units.get((u.niveau_parent, u.code_parent)) if u.code_parent else None
            if p is not None and p.confondu:
                p = units.get((p.niveau_parent, p.code_parent))
            return p

        # a commune with no figure of its own (too few structures) has no page: where it is listed,
        # it says how many centres it has and points to the unit whose figures count them
        small = {key for key, u in units.items() if u.niveau == "commune" and u.nb_publies == 0}
        href, parents, children = {}, {}, defaultdict(list)
        names = defaultdict(int)
        for key, u in units.items():
            names[(u.niveau, u.libelle)] += 1
            if u.principal or u.confondu:
                continue
            p = parent(u)
            parents[key] = p
            if p is not None:
                children[(p.niveau, p.code)].append(u)
            if key not in small:
                href[key] = f"{FOLDERS[u.niveau]}/{file_stem(u.code)}.html"
        return {"units": units, "main": main, "href": href, "parent": parents, "children": children,
                "small": small, "homonymes": {k for k, n in names.items() if n > 1}}

    def compared_with(self, annee: int, u: Unit) -> Unit | None:
        """The département a unit sits in, or France for a département."""
        tree = self.trees[annee]
        p = tree["parent"].get((u.niveau, u.code))
        while p is not None and p.niveau not in ("departement", "national"):
            p = tree["parent"].get((p.niveau, p.code)) or (tree["main"] if p.niveau != "national" else None)
        return p

    def unit_title(self, annee: int, u: Unit) -> str:
        """A unit's name, with its parent when another unit of the same level has the same name."""
        if (u.niveau, u.libelle) in self.trees[annee]["homonymes"]:
            return f"{u.libelle} ({u.libelle_parent or u.code_parent})"
        return str(u.libelle or u.code)

    def pointer(self, annee: int, u: Unit, href: str | None = None) -> Markup:
        """A commune too small to be shown: how many centres, and whose figures count them (the
        name of that unit a link to its sheet, `href`, when it has one)."""
        p = self.trees[annee]["parent"].get((u.niveau, u.code)) or self.trees[annee]["main"]
        # "de Vallée Sud-Grand Paris", but "du département (Moselle)": a département's name wants an article
        before, name, after = ("de son territoire", "", "") if p is None else \
            ("du département (", p.libelle, ")") if p.niveau == "departement" else ("de ", p.libelle, "")
        head = typo(f"{u.libelle} : {structures(u.nb_cs, u.nb_evs)} ; ses chiffres sont comptés dans ceux {before}")
        where = Markup('<a href="{}">{}</a>').format(href, typo(name)) if href and name else typo(name)
        return Markup("{}{}{}.").format(head, where, after)

    def too_few(self, levels: set[str], communes: str = "Ces communes") -> str:
        """Why some communes have no sheet, and whose figures count them (`levels`: of those units)."""
        where = ("de leur territoire" if levels <= {"territoire"} else
                 "du département" if "territoire" not in levels else "de leur territoire ou du département")
        return typo(f"{communes} ont trop peu de structures répondantes pour publier leurs chiffres "
                    f"({self.minimum()}) : ils sont comptés dans ceux {where}.")

    def minimum(self) -> str:
        """« il en faut au moins trois »: the disclosure minimum, in words."""
        return f"il en faut au moins {WORDS.get(self.n_min, str(self.n_min))}"

    def without_sheet(self, n: int, niveau: str) -> str:
        """On a unit's sheet, before the list of its `n` communes that have none."""
        ce = "ce département" if niveau == "departement" else "ce territoire"
        return typo(f"Une commune n'a pas de fiche : elle a trop peu de structures répondantes pour publier ses "
                    f"chiffres ({self.minimum()}), qui sont comptés dans ceux de {ce}." if n == 1 else
                    f"{nombre(n)} communes n'ont pas de fiche : elles ont trop peu de structures répondantes pour "
                    f"publier leurs chiffres ({self.minimum()}), qui sont comptés dans ceux de {ce}.") if n else ""

    # ------------------------------------------------------------------ pages
    def build(self, w: Writer, on_progress: Callable[[str], None], interne: Writer | None = None) -> None:
        """Every page of the public site, into `w` (and its mirrors); the structure pages into
        `interne`, the writer of the internal site, if it is built."""
        self.home(w)
        for annee in self.d.annees:
            on_progress(f"rapport {annee}")
            self.yearly_report(w, annee)
        on_progress("fiches des territoires et des communes" + (", plaquettes PDF" if self.pdfs else ""))
        with self.plaquettes_in_background(w), self.unit_pages_in_background(w):   # the other pages meanwhile
            if self.d.axes:             # no federal project declared: no board page, no menu entry
                self.scorecard(w)
            self.indicator_pages(w)
            self.methodology(w)
            self.open_data(w)
            if interne is not None:
                self.structure_pages(interne)

    def tiles(self, annee: int, unit: Unit | None, rows: list[dict]) -> list[dict]:
        out = []
        # the national figure beside the main unit's (pub_comparaison_nationale is the main unit's)
        france = X.national_beside(self.d, self.reg, annee) if unit is not None and unit.principal else {}
        for r in rows:
            c = self.cell(annee, unit, r["indicateur"])
            if c is None:
                continue
            nN = ""
            if r["source"] == "enquete" and c.n_structures is not None and c.n_total:
                nN = f"n = {nombre(c.n_structures)} / N = {nombre(c.n_total)}"
            out.append({"valeur": qualifie(self.fmt(r["indicateur"], c.valeur), r),
                        "libelle": self.named(r, r["libelle_court"] or r["libelle"]),
                        "indicateur": r["indicateur"], "nN": nN, "taux": X.rate(self.reg, c),
                        "national": france.get(r["indicateur"])})
        return out

    def home(self, w: Writer) -> None:
        rows = select(self.spec, self.reg, (self.spec.section("accueil")).get("reperes"))
        # a partner looks for a territory or a commune: the last report's list of sheets, from here
        fiches = next((s for s in self.spec.section("rapport").get("sections") or [] if s.get("type") == "fiches"), None)
        sheets = self.sheets(self.last) if fiches and self.last else {}
        lien = {"href": f"{self.last}/index.html#s-{fiches.get('id') or slug(fiches.get('titre', 'rubrique'))}",
                "texte": self.title(fiches) or "Fiches"} if sheets.get("liens") or sheets.get("petites") else None
        w.page("index.html", "accueil.html", titre="Accueil", page_id="accueil", date_page=self.date_site,
               fiches=lien, reperes=self.tiles(self.last, self.main, rows) if self.last else [],
               messages=self.messages(self.last, self.main),
               principal=self.main, rapports=[{"annee": a, "date": self.year_date(a)} for a in reversed(self.d.annees)])

    def yearly_report(self, w: Writer, annee: int) -> None:
        tree = self.trees[annee]
        main = tree["main"]
        sections, charts = [], []
        for s in (self.spec.section("rapport")).get("sections") or []:
            kind = s.get("type", "rubrique")
            sec = {"id": s.get("id") or slug(s.get("titre", "rubrique")), "titre": self.title(s),
                   "texte": s.get("texte", ""), "type": kind}
            if kind == "fiches":
                sec["fiches"] = self.sheets(annee)
                if not sec["fiches"]["liens"] and not sec["fiches"]["petites"]:
                    continue
            elif kind == "comparaison_nationale":
                sec["comparaison"] = self.national_rows(annee)
                if not sec["comparaison"]:
                    continue
            else:
                if not self.fill_section(sec, s, annee, main, charts):
                    if sec.get("avait_indicateurs") or sec.get("selecteurs"):
                        self.absent[(sec["titre"], bool(sec.get("avait_indicateurs")))].append(annee)
                    continue
            sections.append(sec)
        plaquette = f"plaquette-{annee}.pdf" if self.plaquettes else ""
        w.page(f"{annee}/index.html", "rapport.html", titre=f"Rapport {annee} — {main.libelle if main else ''}",
               page_id="rapport", date_page=self.year_date(annee), annee=annee, principal=main,
               messages=self.messages(annee, main), sections=sections, graphiques=charts, annee_page=annee,
               plaquette=plaquette)
        if plaquette:
            self.pdfs.append((f"{annee}/{plaquette}", self.plaquette(w, annee, main, sections)))

    def plaquette(self, w: Writer, annee: int, main: Unit | None, sections: list[dict]) -> str:
        """The yearly report as a printed A4 plaquette (PDF): cover with its key figure, contents,
        key messages, the report's sections with static charts and map, method and sources last."""
        site = str(self.d.federation.get("site") or "").rstrip("/")
        printed = []
        for sec in sections:
            sec = dict(sec)
            sec["graphiques"] = [{"titre": g.titre, "lecture": g.lecture, "legende": g.legende,
                                  "svg": svgcharts.draw(g)} for g in sec.get("graphiques") or []]
            if sec.get("fiches"):
                fiches = dict(sec["fiches"])
                fiches["liens"] = [{**l, "url": f"{site + '/' if site else ''}{annee}/{l['href']}"}
                                   for l in fiches["liens"]]
                sec["fiches"] = fiches
            printed.append(sec)
        first = next((t for s in sections for t in s.get("tuiles") or []), None)
        sources = sorted({f"{r['editeur_source']}, « {r['titre_source']} »" if r.get("titre_source") else
                          str(r["editeur_source"]) for r in self.d.nationale.get(annee, []) if r.get("editeur_source")})
        html = w.template("plaquette.html").render(
            w.common, css=Markup(plaquette_css()), annee=annee, principal=main, sections=printed,
            messages=self.messages(annee, main), chiffre=first, date=self.year_date(annee), sources=sources,
            adresse=f"{site}/{annee}/index.html" if site else "", adresse_methode=f"{site}/methodologie.html")
        return html

    def fill_section(self, sec: dict, s: dict, annee: int, main: Unit | None, charts: list) -> bool:
        tiles = select(self.spec, self.reg, s.get("tuiles"))
        table = select(self.spec, self.reg, s.get("tableau"))
        chart_rows = [(g, select(self.spec, self.reg, {k: v for k, v in g.items() if k not in ("type", "titre", "tri")}))
                      for g in s.get("graphiques") or []]
        indicators = tiles + table + [r for g, rows in chart_rows for r in rows]
        sec["avait_indicateurs"] = bool(indicators)
        sec["selecteurs"] = bool(s.get("tuiles") or s.get("tableau") or
                                 any(g.get("type") != "unites" for g in s.get("graphiques") or []))
        if indicators and not self.has_data(annee, main, indicators):
            return False
        sec["tuiles"] = self.tiles(annee, main, tiles)
        sec["tableau"] = [self.table_row(annee, main, r) for r in table if self.cell(annee, main, r["indicateur"])]
        sec["graphiques"] = []
        for k, (g, rows) in enumerate(chart_rows, start=1):
            chart = self.section_chart(sec["id"] + (f"-{k}" if k > 1 else ""), g, rows, annee, main)
            if chart is not None:
                sec["graphiques"].append(chart)
                charts.append(chart)
        if s.get("carte") and main is not None:
            sec["carte"] = self.section_map(f"carte-{sec['id']}", annee, main, s["carte"])
        if s.get("communes") and main is not None and main.niveau != "national":   # France: on each département
            sec["communes"] = self.commune_table(annee)
            small = {r["niveau_parent"] for r in sec["communes"] if r["sans_fiche"]}
            sec["communes_note"] = self.too_few(small, "Les communes « sans fiche »") if small else ""
        return bool(sec["tuiles"] or sec["tableau"] or sec["graphiques"] or sec.get("communes") or sec.get("carte"))

    def section_map(self, id: str, annee: int, main: Unit, spec: dict) -> M.Carte | None:
        """The communes of the département (the départements of France), shaded by their structures."""
        if main.niveau == "national":
            level, file, bounds = "departement", "departements", spec.get("classes_departements") or [1, 25, 50, 100]
            area, areas = "département", "départements"
        elif main.niveau == "departement":
            level, file, bounds = "commune", f"communes-{main.code}", spec.get("classes") or [1, 2, 3, 5]
            area, areas = "commune", "communes"
        else:
            return None
        units = [{"code": u.code, "libelle": u.libelle, "n": u.nb_structures, "detail": structures(u.nb_cs, u.nb_evs)}
                 for u in sorted(self.trees[annee]["units"].values(), key=lambda u: ordre(u.libelle))
                 if u.niveau == level]
        titre = f"{spec.get('titre') or 'Structures'} par {area}, {main.libelle}, {annee}"
        return M.choropleth(id, titre, file, units, [int(b) for b in bounds], area=area, areas=areas)

    def table_row(self, annee: int, unit: Unit | None, r: dict) -> dict:
        c = self.cell(annee, unit, r["indicateur"])
        return {"indicateur": r["indicateur"], "libelle": self.named(r),
                "valeur": qualifie(self.fmt(r["indicateur"], c.valeur), r), "lecture": self.reading(c, "un_an", annee)}

    def section_chart(self, id: str, g: dict, rows: list[dict], annee: int, main: Unit | None):
        kind = g["type"]
        if kind == "unites":
            kids = [u for u in self.trees[annee]["children"].get((main.niveau, main.code), [])] if main else []
            kids = sorted(kids, key=lambda u: (-(u.nb_structures or 0), ordre(u.libelle)))
            if not 2 <= len(kids) <= 30 or kids[0].niveau == "commune":   # communes: their table follows
                return None
            level = NIVEAUX_PLURIEL.get(kids[0].niveau, "unités")
            titre = f"{g.get('titre', 'Structures')} par {NIVEAUX[kids[0].niveau]}"
            total = sum(u.nb_structures or 0 for u in kids)
            return C.bars(id, titre, f"Centres sociaux et espaces de vie sociale agréés, données {annee}.",
                          f"{pluriel(total, 'structure', 'structures')} réparties sur {len(kids)} {level}.",
                          [u.libelle for u in kids], [u.nb_structures for u in kids], "structures", 0,
                          label_col=NIVEAUX[kids[0].niveau].capitalize())
        found = [(r, self.cell(annee, main, r["indicateur"])) for r in rows]
        found = [(r, c) for r, c in found if c is not None]
        if not found:
            return None
        if kind == "barres":
            if g.get("tri") == "decroissant":
                found.sort(key=lambda rc: -rc[1].valeur)
            r0 = found[0][0]      # the reading names the largest values, whatever the order of the bars
            lead = "\u202f; ".join(f"{r['libelle_court'] or r['libelle']}\u00a0: {self.fmt(r['indicateur'], c.valeur)}"
                                  for r, c in sorted(found, key=lambda rc: -rc[1].valeur)[:3])
            return C.bars(id, g.get("titre") or "Indicateurs", f"{measure(r0)}, "
                          f"{main.libelle}, données {annee}.", f"En tête\u00a0: {lead}.",
                          [r["libelle_court"] or r["libelle"] for r, _ in found], [c.valeur for _, c in found],
                          r0["unite"], r0["decimales"], label_col="Indicateur")
        r, c = found[0]      # evolution: one small chart per indicator, the first one here
        years, values = self.series(r["indicateur"], main, annee)
        ctx = X.chart_context(self.d, self.reg, main, r["indicateur"], annee)
        return C.lines(id, g.get("titre") or f"{r['libelle']}, par année", f"{measure(r)}, "
                       f"{main.libelle}, par année de données jusqu'en {annee}{each_year(r, c)}. "
                       + X.context_text(ctx), self.reading(c, "un_an", annee),
                       {r["libelle_court"] or r["libelle"]: (years, values)}, r["unite"], r["decimales"],
                       contexte=ctx)

    def commune_table(self, annee: int) -> list[dict]:
        tree = self.trees[annee]
        rows = []
        for (niveau, code), u in sorted(tree["units"].items(), key=lambda kv: ordre(kv[1].libelle)):
            if niveau != "commune":
                continue
            p = tree["parent"].get((niveau, code))
            rows.append({"libelle": u.libelle, "parent": p.libelle if p else "", "href": tree["href"].get((niveau, code)),
                         "parent_href": tree["href"].get((p.niveau, p.code)) if p else None,
                         "niveau_parent": (p or tree["main"]).niveau if p or tree["main"] else "",
                         "sans_fiche": (niveau, code) in tree["small"], "structures": structures(u.nb_cs, u.nb_evs)})
        return rows

    def sheets(self, annee: int) -> dict:
        tree = self.trees[annee]
        links, small, levels = [], [], set()
        national = tree["main"] is not None and tree["main"].niveau == "national"
        for level in ("departement", "territoire") if national else ("territoire", "commune"):
            for key, u in sorted(tree["units"].items(), key=lambda kv: ordre(kv[1].libelle)):
                if u.niveau != level or (key not in tree["href"] and key not in tree["small"]):
                    continue
                if key in tree["small"]:        # no page: the unit that counts it is a link to its own
                    p = tree["parent"].get(key) or tree["main"]
                    small.append(self.pointer(annee, u, tree["href"].get((p.niveau, p.code)) if p else None))
                    levels.add(p.niveau if p else "")
                else:
                    links.append({"href": tree["href"][key], "texte": self.unit_title(annee, u),
                                  "niveau": NIVEAUX[level]})
        return {"liens": links, "petites": small, "note": self.too_few(levels) if small else ""}

    def national_rows(self, annee: int) -> list[dict]:
        rows = []
        for r in self.d.nationale.get(annee, []):
            i = r["indicateur"]
            gap = r["ecart_annees"]
            when = str(r["annee_nationale"])
            if gap:
                when += f" ({pluriel(abs(gap), 'an', 'ans')} {'plus tôt' if gap > 0 else 'plus tard'})"
            rows.append({"indicateur": i, "libelle": self.reg[i]["libelle"], "valeur": self.fmt(i, r["valeur"]),
                         "nationale": self.fmt(i, r["valeur_nationale"]), "annee_nationale": when,
                         "note": r["note_nationale"] or "", "editeur": r["editeur_source"] or "",
                         "titre_source": r["titre_source"] or "", "url": r["source_nationale"] or ""})
        return rows

    @contextmanager
    def plaquettes_in_background(self, w: Writer):
        """The PDF of each yearly report, rendered (WeasyPrint: seconds each) by forked workers while
        the caller writes the other pages, then written into the site. Rendering is deterministic:
        a plaquette whose HTML was already printed (the same year, unchanged) is taken from the
        cache of rendered plaquettes (reports/plaquette.py), byte for byte what it would render."""
        todo, done = [], {}
        for rel, html in self.pdfs:
            cached = cached_pdf(html)
            if cached is not None:
                done[rel] = cached
            else:
                todo.append((rel, html))
        pool = None
        if todo:
            plaquette_engine()      # imported once, before the workers are forked
        if len(todo) > 1 and (os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods():
            pool = multiprocessing.get_context("fork").Pool(min(len(todo), os.cpu_count() or 1),
                                                            initializer=die_with_parent, initargs=(os.getpid(),))
        try:
            pending = pool.map_async(render_pdf, [html for _, html in todo]) if pool else None
            yield
            pdfs = pending.get() if pool else [render_pdf(html) for _, html in todo]
            for (rel, html), pdf in zip(todo, pdfs):
                done[rel] = pdf
                keep_pdf(html, pdf)
            for rel, pdf in sorted(done.items()):
                w.binary(rel, pdf)
            if pool:
                pool.close()
        finally:
            if pool:
                pool.terminate()
                pool.join()

    @contextmanager
    def unit_pages_in_background(self, w: Writer):
        """The sheets of every unit of every year: the bulk of a national site, rendered by forked
        workers (they read the data already loaded and write their own files) while the caller
        writes the other pages; below PARALLEL_FROM sheets, simply here and now."""
        tasks = [(annee, part) for annee in self.d.annees for part in range(PARTS)]
        total = sum(len(self.trees[a]["href"]) for a in self.d.annees)
        if total < PARALLEL_FROM or (os.cpu_count() or 1) < 2 or "fork" not in multiprocessing.get_all_start_methods():
            for annee, part in tasks:
                self.unit_pages(w, annee, part)
            yield
            return
        global _FORKED
        _FORKED = (self, w)
        pool = multiprocessing.get_context("fork").Pool(PARTS, initializer=die_with_parent, initargs=(os.getpid(),))
        _FORKED = None
        try:
            pending = pool.starmap_async(_unit_pages_in_worker, tasks)
            yield
            written = sum(pending.get())
            for writer in (w, *w.mirrors):       # the workers wrote them into the mirrors too
                writer.pages += written
            pool.close()
        finally:
            pool.terminate()
            pool.join()

    def unit_pages(self, w: Writer, annee: int, part: int = 0) -> int:
        """One part (of PARTS) of a year's unit sheets; returns the number of pages written."""
        before = w.pages
        tree = self.trees[annee]
        sections = [(s.get("titre", ""), select(self.spec, self.reg, s)) for s in
                    (self.spec.section("unite")).get("sections") or []]
        links = {i: Markup('<a href="../../indicateurs/{}.html">{}</a>').format(fichier(i), self.named(r))
                 for i, r in self.reg.items()}
        versus_values: dict[tuple, dict[str, str]] = {}
        date_page = self.year_date(annee)
        for n, (key, rel) in enumerate(tree["href"].items()):
            if n % PARTS != part:
                continue
            u = tree["units"][key]
            parent = tree["parent"].get(key)
            name = self.unit_title(annee, u)
            common = dict(page_id="unite", date_page=date_page, annee=annee, annee_page=annee, unite=u, nom=name,
                          niveau=NIVEAUX[u.niveau], parent=parent, structures_phrase=structures(u.nb_cs, u.nb_evs),
                          parent_href=tree["href"].get((parent.niveau, parent.code)) if parent else None,
                          principal=tree["main"])
            titre = f"{name} ({NIVEAUX[u.niveau]}) en {annee}"
            versus = self.compared_with(annee, u)
            cells = self.d.cells.get((annee, u.niveau, u.code), {})
            vkey = (versus.niveau, versus.code) if versus else None
            if vkey not in versus_values:
                vcells = self.d.cells.get((annee, *vkey), {}) if vkey else {}
                versus_values[vkey] = {i: self.fmt(i, c.valeur) for i, c in vcells.items()}
            vvalues = versus_values[vkey]
            blocks = []
            vcells = self.d.cells.get((annee, *vkey), {}) if vkey else {}
            for k, (titre_bloc, rows) in enumerate(sections, start=1):
                lines, apart = [], False
                for r in rows:
                    i = r["indicateur"]
                    c = cells.get(i)
                    if c is not None:
                        # like beside like: the département's share, mean or rate, never its count
                        vc = vcells.get(i)
                        versus_text = vvalues.get(i, "–") if r.get("comparable_entre_unites") else \
                            X.rate(self.reg, vc) if vc is not None and X.rate(self.reg, c) else ""
                        apart = apart or not r.get("comparable_entre_unites")
                        lines.append({"lien": links[i], "valeur": qualifie(self.fmt(i, c.valeur), r),
                                      "taux": X.rate(self.reg, c), "versus": versus_text,
                                      "versus_taux": bool(versus_text) and not r.get("comparable_entre_unites"),
                                      "lecture": self.reading(c, "un_an", annee)})
                if lines:
                    chart = X.unit_section_chart(f"s{k}", titre_bloc, self.d, self.reg, annee, u, versus, rows)
                    blocks.append({"titre": titre_bloc, "lignes": lines, "non_compares": apart,
                                   "graphiques": [chart] if chart else []})
            # its territories and communes with a sheet, then those without one: the reason given once,
            # not in each of their lines (a département can list 80 of them)
            kids, small = [], []
            for k in sorted(tree["children"].get(key, []), key=lambda v: ordre(v.libelle)):
                kkey = (k.niveau, k.code)
                (small if kkey in tree["small"] else kids).append(
                    {"href": tree["href"].get(kkey), "libelle": self.unit_title(annee, k),
                     "structures": structures(k.nb_cs, k.nb_evs)})
            w.page(f"{annee}/{rel}", "unite.html", titre=titre, versus=versus, blocs=blocks, enfants=kids,
                   messages=self.messages(annee, u), centres=X.centres(self.d, annee, u),
                   graphiques=[g for b in blocks for g in b["graphiques"]],
                   sans_fiche=small, sans_fiche_note=self.without_sheet(len(small), u.niveau),
                   **common)
        return w.pages - before

    def scorecard(self, w: Writer) -> None:
        """The board's page: a summary first (every target, what needs attention first, as
        pub_tableau_de_bord orders them), then a card per indicator with a target, grouped by axis
        and action, then the indicators without a target, apart, in one table."""
        spec = self.spec.section("tableau_de_bord")
        wanted = {r["indicateur"] for r in select(self.spec, self.reg, spec.get("indicateurs") or {"sauf": []})}
        by_ind: dict[str, list[dict]] = defaultdict(list)
        for r in self.d.tableau:
            if r["indicateur"] in wanted and r["indicateur"] in self.reg:
                by_ind[r["indicateur"]].append(r)
        last = {i: rows[-1] for i, rows in by_ind.items()}
        annee = max((r["annee"] for r in last.values()), default=None)
        labels = self.d.libelles.get("verdict_cible", {})
        targeted = {i for i, r in last.items() if not missing(r.get("cible"))}
        axes, untargeted, charts = [], [], []
        for axe in self.d.axes:
            groups, plain = [], []
            actions = axe["actions"] + [{"code": None, "libelle": "Autres indicateurs de l'axe"}]
            codes = {a["code"] for a in axe["actions"]}
            for action in actions:
                members = [i for i in by_ind if self.reg[i]["axe"] == axe["code"] and (
                    self.reg[i]["action"] == action["code"] or action["code"] is None
                    and self.reg[i]["action"] not in codes)]
                cards = [self.card(i, by_ind[i], charts, labels) for i in members if i in targeted]
                plain += [self.follow_row(i, last[i], action, labels) for i in members if i not in targeted]
                if cards:
                    groups.append({"code": action["code"], "libelle": action["libelle"], "cartes": cards})
            if groups:
                axes.append({"code": axe["code"], "libelle": axe["libelle"], "groupes": groups})
            if plain:
                untargeted.append({"code": axe["code"], "libelle": axe["libelle"], "lignes": plain})
        summary = sorted((self.summary_row(last[i], labels) for i in targeted if last[i]["annee"] == annee),
                         key=lambda r: (r["rang"] is None, r["rang"] or 0, r["indicateur"]))
        references = sorted({r["annee_reference"] for r in last.values() if not missing(r.get("annee_reference"))})
        f = self.d.federation
        w.page("tableau-de-bord.html", "tableau_de_bord.html", titre=f"{f.get('titre_projet') or 'Projet fédéral'} : "
               "tableau de bord", page_id="tableau", date_page=self.date_site, axes=axes, graphiques=charts,
               principal=self.main, projet=f, annee=annee, synthese=summary, sans_cible=untargeted,
               n_sans_cible=sum(len(a["lignes"]) for a in untargeted), annees_reference=references,
               derniere=annee is not None and not missing(f.get("annee_cible")) and annee >= f["annee_cible"])

    def gap(self, i: str, value) -> str:
        """A difference of two values of indicator i: points for a share, its unit otherwise."""
        r = self.reg[i]
        if missing(value):
            return "–"
        if r["unite"] == "ratio":
            return evolution(value * 100, "points")
        text = signe(value, r["decimales"] or 0)
        return f"{text}{NNBSP}€" if r["unite"] == "euros" else text

    def path_text(self, i: str, r: dict) -> str:
        """Where the indicator stands on its way to the target, in words (figures from the mart)."""
        if r.get("verdict") == "atteinte" and not missing(r.get("annee_atteinte")):
            text = f"Cible atteinte en {r['annee_atteinte']}"
            if not missing(r.get("depassement")):
                text += f" et dépassée\u00a0: {pourcentage(r['part_chemin'], 0)} du chemin parcouru"
            return text + "."
        if not missing(r.get("part_chemin")):
            return (f"{pourcentage(r['part_chemin'], 0)} du chemin parcouru\u00a0; "
                    f"écart à la cible\u00a0: {self.gap(i, r.get('ecart_cible'))}.")
        if not missing(r.get("ecart_cible")):
            return f"Écart à la cible\u00a0: {self.gap(i, r.get('ecart_cible'))}."
        return ""

    def summary_row(self, r: dict, labels: dict) -> dict:
        i = r["indicateur"]
        reg = self.reg[i]
        part = r.get("part_chemin")
        return {"indicateur": i, "ancre": f"i-{slug(i)}", "libelle": reg["libelle_court"] or reg["libelle"],
                "axe": r["axe"], "action": r["action"] or r["axe"], "rang": r.get("rang_attention"),
                "verdict": r.get("verdict") or "", "verdict_libelle": labels.get(r.get("verdict"), ""),
                "depart": f"{self.fmt(i, r.get('valeur_reference'))} ({r['annee_reference']})",
                "valeur": self.fmt(i, r.get("valeur")), "cible": self.fmt(i, r.get("cible")),
                "chemin": pourcentage(part, 0) if not missing(part) else "–",
                "barre": 0 if missing(part) else round(max(0.0, min(float(part), 1.0)) * 100),
                "ecart": self.gap(i, r.get("ecart_cible")),
                "atteinte": r.get("annee_atteinte") if r.get("verdict") == "atteinte" else None}

    def follow_row(self, i: str, r: dict, action: dict, labels: dict) -> dict:
        reg = self.reg[i]
        return {"indicateur": i, "libelle": reg["libelle"], "action": action["code"] or "",
                "reference": self.fmt(i, r.get("valeur_reference")), "annee_reference": r.get("annee_reference"),
                "valeur": self.fmt(i, r.get("valeur")), "annee": r["annee"],
                "ecart": self.gap(i, r.get("ecart_reference")), "cible": labels.get("pas_de_cible", "")}

    def card(self, i: str, rows: list[dict], charts: list, labels: dict | None = None) -> dict:
        r = self.reg[i]
        last = rows[-1]
        years = [x["annee"] for x in rows if x["valeur"] is not None]
        values = [x["valeur"] for x in rows if x["valeur"] is not None]
        target = (last["annee_cible"], last["cible"]) if last.get("cible") is not None and \
            last.get("annee_cible") is not None and last["cible"] == last["cible"] else None
        start = (last["annee_reference"], last["valeur_reference"]) if target and not missing(
            last.get("valeur_reference")) and not missing(last.get("annee_reference")) else None
        chart = None
        if years:
            chart = C.lines(f"i-{slug(i)}", r["libelle"], f"{measure(r)}, par année de données"
                            + (", avec la trajectoire de la référence à la cible" if start else
                               ", avec la cible" if target else "") + ".", "",
                            {r["libelle_court"] or r["libelle"]: (years, values)}, r["unite"], r["decimales"],
                            cible=target, depart=start, petit=True)
            charts.append(chart)
        verdict = last.get("verdict")
        labels = labels or {}
        return {"indicateur": i, "ancre": f"i-{slug(i)}", "libelle": r["libelle"], "graphique": chart,
                "reference": self.fmt(i, last.get("valeur_reference")), "annee_reference": last.get("annee_reference"),
                "valeur": self.fmt(i, last.get("valeur")), "annee": last["annee"],
                "cible": self.fmt(i, target[1]) if target else "", "annee_cible": target[0] if target else None,
                "statut": verdict if verdict in labels and verdict not in ("pas_de_cible", "non_calculable") else None,
                "statut_libelle": labels.get(verdict, ""),
                "ecart_reference": self.gap(i, last.get("ecart_reference")),
                "chemin": self.path_text(i, last),
                "depuis": lecture(last, "reference", last["annee"], r["decimales"], self.verdicts, r["n_min"],
                                  "activités" if r["source"] == "activites" else "structures"),
                "un_an": lecture(last, "un_an", last["annee"], r["decimales"], self.verdicts, r["n_min"],
                                 "activités" if r["source"] == "activites" else "structures")}

    def indicator_pages(self, w: Writer) -> None:
        groups = defaultdict(list)
        for r in self.reg.values():
            groups[(r["ordre_axe"], r["libelle_axe"] or "")].append(r)
        w.page("indicateurs/index.html", "liste_indicateurs.html", titre="Les indicateurs", page_id="indicateurs",
               date_page=self.date_site, groupes=[{"titre": k[1], "indicateurs": v} for k, v in sorted(groups.items())])
        main = self.main
        kids = sorted(self.trees[self.last]["children"].get((main.niveau, main.code), []),
                      key=lambda u: ordre(u.libelle)) if main else []
        comparisons = defaultdict(list)
        for a in self.d.annees:
            for row in self.national_rows(a):
                comparisons[row["indicateur"]].append({**row, "annee": a})
        for i, r in self.reg.items():
            charts = []
            if main is not None:
                years, values = self.series(i, main, self.last)
                if years:
                    last = self.cell(self.last, main, i)
                    ctx = X.chart_context(self.d, self.reg, main, i, self.last)
                    charts.append(C.lines("evolution", f"{r['libelle']}, par année", f"{measure(r)}, "
                                          f"{main.libelle}, par année de données{each_year(r, last)}. "
                                          + X.context_text(ctx),
                                          self.reading(last, "un_an", self.last) if last else "",
                                          {main.libelle: (years, values)}, r["unite"], r["decimales"], contexte=ctx))
            units = [main] + (kids if r["source"] == "enquete" else []) if main else []
            table = [[u.libelle] + [self.fmt(i, c.valeur) if (c := self.d.cells.get((a, u.niveau, u.code), {}).get(i))
                                    else "–" for a in self.d.annees] for u in units]
            latest = self.cell(self.last, main, i) if main else None
            derniere = {"unite": main.libelle, "annee": self.last, "valeur": qualifie(self.fmt(i, latest.valeur), r),
                        "taux": X.rate(self.reg, latest),
                        "national": X.national_beside(self.d, self.reg, self.last).get(i)} if latest else None
            w.page(f"indicateurs/{fichier(i)}.html", "indicateur.html", titre=f"{r['libelle']} (indicateur)",
                   page_id="indicateur", date_page=self.date_site, i=r, graphiques=charts, tableau=table,
                   derniere=derniere,
                   cible=self.fmt(i, r["cible"]) if r["cible"] is not None and r["cible"] == r["cible"] else "",
                   annees=self.d.annees, comparaisons=comparisons.get(i, []))

    def methodology(self, w: Writer) -> None:
        completude = []
        for a in self.d.annees:
            blocs = self.d.completude.get(a, [])
            if blocs:
                b0 = blocs[0]
                completude.append({"annee": a, "invites": nombre(b0["n_invites"]), "repondants": nombre(b0["n_repondants"]),
                                   "taux": pourcentage(b0["taux_reponse"]),
                                   "blocs": [(self.d.libelles.get("bloc", {}).get(b["bloc"], b["bloc"]),
                                              pourcentage(b["taux_completude"])) for b in blocs]})
        pubs = [{"annee": a, "statut": "publiée" if p["statut"] == "publiee" else "retenue (contrôle bloquant)",
                 "date": date_longue(p.get("publie_le")), "avertissements": nombre(p.get("nb_avertissements") or 0)}
                for a, p in sorted(self.d.publications.items())]
        sources = {}
        for a in self.d.annees:
            for r in self.d.nationale.get(a, []):
                sources.setdefault((r["editeur_source"], r["titre_source"]), {
                    "editeur": r["editeur_source"] or "", "titre": r["titre_source"] or "",
                    "url": r["source_nationale"] or "",
                    "type": self.d.libelles.get("type_source", {}).get(r["type_source"], "")})
        absent = [{"titre": t, "annees": ", ".join(str(a) for a in years), "registre": not in_registry,
                   "toutes": len(years) == len(self.d.annees)} for (t, in_registry), years in self.absent.items()]
        n_min = self.n_min
        w.page("methodologie.html", "methodologie.html", titre="Méthodologie", page_id="methodologie",
               date_page=self.date_site, completude=completude, publications=pubs, sources=list(sources.values()),
               absentes=absent, n_min=n_min, principal=self.main, **X.methodology(self.d, self.reg))

    def open_data(self, w: Writer) -> None:
        n = write_open_data(self.d, w.root / "donnees", self.con)
        w.copy_to_mirrors("donnees")
        w.page("donnees/index.html", "donnees.html", titre="Données ouvertes", page_id="donnees",
               date_page=self.date_site, n_lignes=nombre(n), tables=[*TABLES, DICTIONARY_TABLE], classeur=XLSX_NAME,
               types={"string": "texte", "integer": "entier", "number": "nombre"})

    def structure_pages(self, w: Writer) -> None:
        spec = self.spec.section("structure")
        compare = [c for c in spec.get("comparaison", []) if c.get("indicateur") in self.reg]
        self.spec.unknown.update(c.get("indicateur") for c in spec.get("comparaison", []) if c.get("indicateur")
                                 not in self.reg)
        history = spec.get("historique") if spec.get("historique") in self.reg else None
        listing = []
        for s in sorted(self.d.structures, key=lambda s: ordre(s["nom_structure"] or s["code_structure"])):
            code = s["code_structure"]
            name = s["nom_structure"] or f"Structure {code}"
            href = f"{file_stem(code)}.html"
            commune = s["nom_commune"] or s["code_commune"] or "commune inconnue"
            listing.append({"href": href, "nom": name, "type": s["type_structure"] or "–", "commune": commune,
                            "code": code})
            rows = self.d.medianes.get(code, [])
            last = max((r["annee"] for r in rows), default=None)
            latest = {r["indicateur"]: r for r in rows if r["annee"] == last}
            lines = []
            for c in compare:
                r = latest.get(c["indicateur"])
                if r is None:
                    continue
                lines.append({"libelle": c.get("libelle") or self.reg[c["indicateur"]]["libelle"],
                              "valeur": self.fmt(c["indicateur"], r["valeur"]),
                              "mediane": self.fmt(c["indicateur"], r["mediane_type"]), "n": nombre(r["n_type"])})
            charts = []
            if history:
                points = [(r["annee"], r["valeur"]) for r in rows if r["indicateur"] == history and r["valeur"] is not None]
                if points:
                    label = next((c.get("libelle") for c in compare if c["indicateur"] == history), None) \
                        or self.reg[history]["libelle"]
                    charts.append(C.lines("historique", f"{label}, par année", "Valeurs déclarées par la structure.",
                                          "", {label: ([p[0] for p in points], [p[1] for p in points])},
                                          self.reg[history]["unite"], self.reg[history]["decimales"]))
            w.page(f"structures/{href}", "structure.html", titre=f"{name} (structure {code})", page_id="structure",
                   date_page=self.date_site, nom=name, code=code, type_structure=s["type_structure"] or "",
                   commune=commune, annee=last, comparaison=lines, graphiques=charts,
                   constats=self.d.constats.get(code, []))
        w.page("structures/index.html", "liste_structures.html", titre="Les structures", page_id="structures",
               date_page=self.date_site, structures=listing)


PARTS = 2                   # unit sheets are shared between this many workers...
PARALLEL_FROM = 2000        # ...when there are at least this many
_FORKED: tuple | None = None


def _unit_pages_in_worker(annee: int, part: int) -> int:
    site, writer = _FORKED
    return site.unit_pages(writer, annee, part)


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs   # the bundle shipped with the plotly package
    return get_plotlyjs()


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True,
                      finalize=lambda value: "" if value is None else value)   # a missing value shows nothing
    env.filters["css_string"] = lambda text: Markup(css_string(text))
    env.filters["fichier"] = fichier
    env.filters["initiale"] = lambda text: str(text or "")[:1].upper() + str(text or "")[1:]
    env.filters["typo"] = typo
    return env


def build_site(con, out_dir: Path, audience: str, *, quality_dir: Path | None = None,
               dbt_docs: Path | None = None, on_progress: Callable[[str], None] = lambda m: None,
               pages: Path | None = None) -> SiteResult:
    """Render one audience's site into a temporary folder, then swap it in whole. `pages` is
    the page spec (data/config/pages.yaml by default)."""
    return build_sites(con, {audience: out_dir}, quality_dir=quality_dir, dbt_docs=dbt_docs,
                       on_progress=on_progress, pages=pages)[0]


def build_sites(con, out_dirs: dict[str, Path], *, quality_dir: Path | None = None,
                dbt_docs: Path | None = None, on_progress: Callable[[str], None] = lambda m: None,
                pages: Path | None = None, owner: str = "") -> list[SiteResult]:
    """Render the site of each audience of `out_dirs` (public, interne) into a temporary folder,
    then swap it in whole, the public one first. The internal site holds every page of the public
    one, with its own menu: when both are built, each of those pages is rendered once and written
    to both. `owner`: the warehouse's tag, in the temporary folders' names (common.files). Each site is timed as a phase of `report` (the public one with the pages shared)."""
    audiences = [a for a in AUDIENCES if a in out_dirs]
    spec = load_spec(pages)
    wanted = spec.section("structure")
    chrono = Chrono("report")
    tmps: dict[str, Path] = {}
    try:
        with _long_lived():
            data = load(con, "interne" if "interne" in audiences else "public",
                        [c.get("indicateur") for c in wanted.get("comparaison", [])] + [wanted.get("historique")])
        site = Site(data, spec, con)
        env = environment()
        outs, writers = {}, {}
        for audience in audiences:
            outs[audience] = out_dirs[audience].resolve()
            outs[audience].parent.mkdir(parents=True, exist_ok=True)
            tmps[audience] = fichiers.staging(outs[audience], owner)
            writers[audience] = Writer(tmps[audience], env, common_context(data, site, audience))
            _write_assets(tmps[audience] / "assets", data.federation)
        first = writers[audiences[0]]
        first.mirrors = [writers[a] for a in audiences[1:]]
        site.build(first, on_progress, writers.get("interne"))
        # the product's own page spec names indicators a folder's registry may leave out (an axis of a
        # federal project it did not declare): only a federation's own spec is its analyst's to fix
        if spec.unknown and pages is not None and Path(pages).resolve() != PAGES_FILE.resolve():
            on_progress("indicateurs nommés dans la description des pages mais absents du registre (ignorés) : "
                        + ", ".join(sorted(spec.unknown)))
        results = []
        for audience in audiences:
            if audience == "interne":
                internal_extras(writers[audience], tmps[audience], dbt_docs, site)
            fichiers.swap(tmps.pop(audience), outs[audience], owner)
            chrono.tour(f"site {audience}" if len(audiences) == 1 else
                        "pages du site public, écrites aussi dans l'interne" if audience == "public" else
                        "pages propres au site interne")
            results.append(SiteResult(audience, outs[audience], writers[audience].pages))
        return results
    except BaseException:
        for tmp in tmps.values():
            shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def _long_lived():
    """What is loaded here lives as long as the site's build (hundreds of thousands of cells at
    national scale): the garbage collector would scan it again and again, while it is built and
    at every full collection after, and touch its every page in the forked workers. Collection
    waits while it is built, then it is frozen out of the collector's sight (it is still freed,
    by reference counting, once the build no longer holds it)."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def common_context(data: SiteData, site: Site, audience: str) -> dict:
    f = dict(data.federation)
    main = site.main
    name = f"Observatoire des centres sociaux — {main.libelle}" if main else "Observatoire des centres sociaux"
    contact = f.get("contact") or ""
    return {"site_nom": name, "federation": f, "audience": audience, "logo": "logo" if f.get("logo") else "",
            "logo_fichier": _logo_name(f.get("logo")),
            "contact_href": contact if "://" in contact else (f"mailto:{contact}" if "@" in contact else ""),
            "journal": any(r["source"] == "activites" for r in data.registre.values()),
            "projet_federal": bool(data.axes), "niveau_territoire": site.territoires}


def _logo_name(uri) -> str:
    if not uri or not str(uri).startswith("data:image/"):
        return ""
    kind = str(uri)[len("data:image/"):].split(";")[0]
    return "logo." + {"svg+xml": "svg", "jpeg": "jpg"}.get(kind, kind)


def _write_assets(folder: Path, federation: dict) -> None:
    folder.mkdir()
    (folder / "plotly.min.js").write_text(_plotly_js(), encoding="utf-8")
    for name in ("site.css", "site.js"):
        shutil.copy2(STATIC / name, folder / name)
    logo = federation.get("logo")
    if _logo_name(logo):
        (folder / _logo_name(logo)).write_bytes(base64.b64decode(str(logo).split(",", 1)[1]))


def internal_extras(writer: Writer, tmp: Path, dbt_docs: Path | None, site: Site) -> None:
    """The quality pages of every data year, inside the site's navigation, with the feedback
    sheets of the structures, and the dbt docs as one self-contained page. (The GX Data Docs, which
    load their styles from the internet, stay in the quality folder beside the warehouse.)"""
    from expectations.publication import year_gates

    from .qualite import quality_records, write_fiches

    pages = []
    for record in quality_records(site.con, year_gates(site.con)) if site.con is not None else []:
        write_fiches(record, tmp / "qualite")
        writer.page(f"qualite/{record['annee']}.html", "qualite_annee.html",
                    titre=f"Qualité des données {record['annee']}", page_id="qualite", date_page=site.date_site,
                    **{k: v for k, v in record.items() if k != "federation"})
        pages.append({"annee": record["annee"], "href": f"{record['annee']}.html"})
    dbt = _dbt_docs(dbt_docs, tmp / "dbt")
    writer.page("qualite/index.html", "qualite_index.html", titre="Qualité des données", page_id="qualite",
                date_page=site.date_site, pages=pages, dbt=dbt)


def _dbt_docs(source: Path | None, dest: Path) -> bool:
    """dbt's documentation as one page that works offline and from a file: manifest and catalog
    inlined the way `dbt docs generate --static` does, no canonical link nor favicon to fetch."""
    if not source or not (source / "index.html").exists() or not (source / "manifest.json").exists():
        return False
    html = (source / "index.html").read_text(encoding="utf-8")
    catalog = (source / "catalog.json").read_text(encoding="utf-8") if (source / "catalog.json").exists() else "{}"
    inline = lambda text: text.replace("</", "<\\/")     # JSON that cannot close the <script>
    html = (html.replace('"MANIFEST.JSON INLINE DATA"', inline((source / "manifest.json").read_text(encoding="utf-8")))
            .replace('"CATALOG.JSON INLINE DATA"', inline(catalog))
            .replace('<link rel="canonical" href="/overview/"/>', "")
            .replace("""<link rel="shortcut icon" href="${require('./assets/favicons/favicon.ico')}"/>""",
                     '<link rel="icon" href="data:,"/>'))
    # icons drawn from an Angular expression: set by Angular once evaluated (ng-attr-), so that the
    # browser never requests the literal "{{ getIcon(...) }}" (an interpolation inside the attribute
    # would be refused by Angular's strict contextual escaping, and the icons left blank)
    html = re.sub(r'xlink:href="\{\{ getIcon\(([^)]*)\) \}\}"', r'ng-attr-xlink:href="{{ getIcon(\1) }}"', html)
    dest.mkdir()
    (dest / "index.html").write_text(html, encoding="utf-8")
    return True
