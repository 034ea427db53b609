"""`observatoire report`: the static observatory site, in French, for two audiences.

    public   the yearly reports, the territory and commune sheets, the federal project's board,
             the indicators, the methodology and the open data; nothing but the published marts
    interne  the same pages, plus a page per structure and the quality pages and dbt docs

What each page holds is declared in data/config/pages.yaml (reports/pages.py); this package only
looks values up in the published marts (reports/data.py) and lays them out. A page about a data
year reads only that year and earlier ones, and is dated by that year's publication, so that a
year held back from publication keeps its pages byte for byte.

Each audience is built in a temporary folder and swapped in whole: a failed build never
leaves a half site. Links are relative, so the folder can be copied to any web server.
"""
from __future__ import annotations

import base64
import gc
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from common import files as fichiers
from common.timing import Chrono

from ..data import SiteData, load
from ..pages import PAGES_FILE, load_spec
from . import board, home, indicators, internal, methodology, open_data, report, units
from .internal import internal_extras
from .lookups import Lookups
from .writer import Writer, environment

__all__ = ["AUDIENCES", "SiteResult", "build_site", "build_sites", "environment"]

STATIC = Path(__file__).resolve().parent.parent / "static"
AUDIENCES = ("public", "interne")


@dataclass
class SiteResult:
    audience: str
    path: Path
    pages: int


def build(look: Lookups, w: Writer, on_progress: Callable[[str], None], interne: Writer | None = None,
          workers=None) -> None:
    """Every page of the public site, into `w` (and its mirrors); the structure pages into
    `interne`, the writer of the internal site, if it is built."""
    home.render(look, w)
    for annee in look.d.annees:
        on_progress(f"rapport {annee}")
        report.render(look, w, annee)
    on_progress("fiches des territoires et des communes" + (", plaquettes PDF" if look.pdfs else ""))
    with report.plaquettes_in_background(look, w, workers), units.in_background(look, w, interne):   # the rest meanwhile
        if look.d.axes:             # no federal project declared: no board page, no menu entry
            board.render(look, w)
        indicators.render(look, w)
        methodology.render(look, w)
        open_data.render(look, w)
        if interne is not None:
            internal.render(look, interne)


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs   # the bundle shipped with the plotly package
    return get_plotlyjs()


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
    workers = report.plaquette_workers()      # forked now, before the data is loaded
    try:
        with _long_lived():
            data = load(con, "interne" if "interne" in audiences else "public",
                        [c.get("indicateur") for c in wanted.get("comparaison", [])] + [wanted.get("historique")])
        look = Lookups(data, spec, con)
        env = environment()
        outs, writers = {}, {}
        for audience in audiences:
            outs[audience] = out_dirs[audience].resolve()
            outs[audience].parent.mkdir(parents=True, exist_ok=True)
            tmps[audience] = fichiers.staging(outs[audience], owner)
            writers[audience] = Writer(tmps[audience], env, common_context(data, look, audience))
            _write_assets(tmps[audience] / "assets", data.federation)
        first = writers[audiences[0]]
        first.mirrors = [writers[a] for a in audiences[1:]]
        build(look, first, on_progress, writers.get("interne"), workers)
        # the product's own page spec names indicators a folder's registry may leave out (an axis of a
        # federal project it did not declare): only a federation's own spec is its analyst's to fix
        if spec.unknown and pages is not None and Path(pages).resolve() != PAGES_FILE.resolve():
            on_progress("indicateurs nommés dans la description des pages mais absents du registre (ignorés) : "
                        + ", ".join(sorted(spec.unknown)))
        for what in data.inconnus:      # published rows no page can show: named, never dropped silently
            on_progress(f"lignes publiées non affichées, {what}")
        results = []
        for audience in audiences:
            if audience == "interne":
                internal_extras(writers[audience], tmps[audience], dbt_docs, look)
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
    finally:
        if workers is not None:
            workers.terminate()
            workers.join()


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


def common_context(data: SiteData, look: Lookups, audience: str) -> dict:
    f = dict(data.federation)
    main = look.main
    name = f"Observatoire des centres sociaux — {main.libelle}" if main else "Observatoire des centres sociaux"
    contact = f.get("contact") or ""
    return {"site_nom": name, "federation": f, "audience": audience, "logo": "logo" if f.get("logo") else "",
            "logo_fichier": _logo_name(f.get("logo")),
            "contact_href": contact if "://" in contact else (f"mailto:{contact}" if "@" in contact else ""),
            "journal": bool(data.parametres.get("journal")),
            "projet_federal": bool(data.axes), "niveau_territoire": look.territoires}


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
