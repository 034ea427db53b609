"""The printed plaquette: a yearly report as an A4 PDF, rendered by WeasyPrint from static HTML
(reports/templates/site/plaquette.html) with SVG charts and maps, no script and no network."""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from common.errors import ObservatoireError
from common.timing import phase

STATIC = Path(__file__).resolve().parent / "static"
try:        # what else than its HTML makes a plaquette's bytes: the engine's version
    from importlib.metadata import version
    ENGINE = f"weasyprint {version('weasyprint')}\n"
except Exception:       # not installed: said when a plaquette is rendered
    ENGINE = "weasyprint ?\n"


def css() -> str:
    return (STATIC / "plaquette.css").read_text(encoding="utf-8")


CACHE_SIZE = 200       # rendered plaquettes kept (the most recently used)


def _cache_dir() -> Path:
    """Where rendered plaquettes are kept between runs, as dbt's parse is (XDG cache folder)."""
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "observatoire" / "plaquettes"


# A SENACS departmental plaquette holds in 8 to 12 pages: a plaquette comes in versions, the whole
# one first, then shorter ones (reports/site/report.py, ABRIDGED), and the first that holds in
# MAX_PAGES is printed.
MAX_PAGES = 12


def _key(versions: str | tuple[str, ...]) -> str:
    text = versions if isinstance(versions, str) else "\0".join(versions)
    return hashlib.sha256((ENGINE + text).encode("utf-8")).hexdigest()


def cached_pdf(html: str | tuple[str, ...]) -> bytes | None:
    """The PDF these very versions of a plaquette rendered to before (with this engine), if it was kept."""
    path = _cache_dir() / f"{_key(html)}.pdf"
    try:
        pdf = path.read_bytes()
        os.utime(path)
    except OSError:
        return None
    return pdf if pdf.startswith(b"%PDF-") else None


def keep_pdf(html: str | tuple[str, ...], pdf: bytes) -> None:
    """Keep a rendered plaquette for the next run; a cache is a convenience: an unwritable
    folder only costs a rendering."""
    folder = _cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{_key(html)}.{os.getpid()}"
        tmp.write_bytes(pdf)
        os.replace(tmp, folder / f"{_key(html)}.pdf")
        kept = sorted(folder.glob("*.pdf"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[CACHE_SIZE:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass


def engine():
    """WeasyPrint, imported on first use only (a second of imports a site without plaquette never
    pays), or a French error saying how to install it."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:
        raise ObservatoireError(
            "Les plaquettes PDF demandent WeasyPrint et les bibliothèques Pango du système "
            f"(« bash .ci/setup » les installe) : {exc}") from exc
    return weasyprint


def render_pdf(versions: str | tuple[str, ...]) -> bytes:
    """The PDF of a plaquette: the first of its versions (its HTML, the whole one first) that holds
    in MAX_PAGES pages, else the last, the shortest. Nothing is fetched: the HTML holds everything
    it shows."""
    weasyprint = engine()
    for name in ("weasyprint", "fontTools"):        # its warnings on CSS it skips are not the reader's
        logging.getLogger(name).setLevel(logging.ERROR)

    def no_network(url, *args, **kwargs):
        raise ValueError(f"la plaquette ne charge rien : {url}")

    versions = (versions,) if isinstance(versions, str) else versions
    with phase("report", "plaquette PDF d'une année"):      # one line per rendering (benchmark)
        for k, html in enumerate(versions):
            document = weasyprint.HTML(string=html, url_fetcher=no_network).render()
            if len(document.pages) <= MAX_PAGES or k == len(versions) - 1:
                return document.write_pdf()
    raise ValueError("une plaquette sans version")
