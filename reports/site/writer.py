"""The pen of the site: a Jinja2 environment and a writer that lays a page's context into its
template, in a folder and its mirrors (the same page, another audience's menu)."""
from __future__ import annotations

import shutil
from dataclasses import dataclass, fields
from pathlib import Path, PurePosixPath

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from ..formatting import csv_text, css_string, typo
from .lookups import fichier

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "site"


@dataclass(kw_only=True)
class Page:
    """What every page's template reads: its title, its menu entry, its date (and its data year,
    for a page about one), and the charts whose figures go into the CSV beside it. Each page kind
    extends it with its own fields: the one typed context its template renders from."""
    titre: str
    page_id: str
    date_page: str
    graphiques: list = ()
    annee_page: int | None = None

    def context(self) -> dict:
        """The fields, as the template's variables (shallow: the values are shared, not copied)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Writer:
    """Renders pages into a folder; each page knows its depth for relative links, and the figures
    of its charts go into one CSV beside it. A page written here is also written to each of the
    `mirrors`: the same page with the mirror's own header and footer (another audience's menu)."""

    def __init__(self, root: Path, env: Environment, common: dict, mirrors: list[Writer] = ()):
        self.root, self.env, self.common, self.pages = root, env, common, 0
        self.mirrors = list(mirrors)
        self._templates, self._chrome = {}, {}
        self._dirs: set[Path] = set()

    def render(self, rel: str, template: str, page: Page) -> None:
        """A page from its typed context."""
        self.page(rel, template, **page.context())

    def page(self, rel: str, template: str, *, titre: str, graphiques=(), **context) -> None:
        csv_nom = f"{PurePosixPath(rel).stem}-chiffres.csv" if graphiques else ""
        figures = csv_text(["graphique", "serie", "categorie", "valeur"],
                           [(g.titre, *row) for g in graphiques for row in g.brut]) if graphiques else ""
        racine, entete, pied = self._frame(rel, context)
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

    def stream(self, rel: str, template: str, page: Page) -> None:
        """A page with no chart written as its template renders it, piece by piece: one of
        hundreds of thousands of rows is never held whole (a site with mirrors renders it whole)."""
        if self.mirrors:
            self.render(rel, template, page)
            return
        context = page.context()
        racine, entete, pied = self._frame(rel, context)
        context.update(racine=racine, graphiques=(), csv_nom="", entete=entete, pied=pied)
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        self._dirs.add(path.parent)
        stream = self.template(template).stream(self.common, **context)
        stream.enable_buffering(4096)
        stream.dump(str(path), encoding="utf-8")
        self.pages += 1

    def _frame(self, rel: str, context: dict) -> tuple[str, str, str]:
        """A page's way back to the site's root, its header and its footer."""
        racine = "../" * rel.count("/")
        return (racine, self.chrome("_entete.html", racine, context.get("page_id")),
                self.chrome("_pied.html", context.get("annee_page"), context.get("date_page")))

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


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), auto_reload=False,
                      trim_blocks=True, lstrip_blocks=True,
                      finalize=lambda value: "" if value is None else value)   # a missing value shows nothing
    env.filters["css_string"] = lambda text: Markup(css_string(text))
    env.filters["fichier"] = fichier
    env.filters["initiale"] = lambda text: str(text or "")[:1].upper() + str(text or "")[1:]
    env.filters["typo"] = typo
    # the plaquette's key figures, printed as table rows of this many (layout, not a figure)
    env.globals["tuiles_par_rangee"] = 3
    return env
