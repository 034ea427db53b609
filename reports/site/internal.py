"""The pages only the federation sees: a page per structure (its values against the median of its
type, its quality findings), the quality pages of every data year and dbt's documentation."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from common.names import file_stem

from .. import charts as C
from ..data import _dicts
from ..formatting import nombre
from .lookups import Lookups, ordre
from .writer import Page, Writer


@dataclass(kw_only=True)
class Structure(Page):
    nom: str
    code: str
    type_structure: str
    commune: str
    annee: int | None               # the last year of its medians
    comparaison: list[dict]         # its values against the median of its type
    constats: list[dict]            # its quality findings


@dataclass(kw_only=True)
class StructureList(Page):
    structures: list[dict]


@dataclass(kw_only=True)
class QualityIndex(Page):
    pages: list[dict]               # each year's quality page
    dbt: bool                       # dbt's documentation is there


def render(look: Lookups, w: Writer) -> None:
    """The list of the structures (their pages are rendered by render_structures, batch by batch,
    from units.in_background)."""
    spec = look.spec.section("structure")
    look.spec.unknown.update(c.get("indicateur") for c in spec.get("comparaison", []) if c.get("indicateur")
                             not in look.reg)
    listing = ({"href": f"{file_stem(s.code_structure)}.html", "nom": s.nom_structure or f"Structure {s.code_structure}",
                "type": s.type_structure or "–", "commune": s.nom_commune or s.code_commune or "commune inconnue",
                "code": s.code_structure} for s in _structures(look))
    # one row per structure, hundreds of thousands with a large extract: written as it is rendered
    w.stream("structures/index.html", "liste_structures.html", StructureList(
        titre="Les structures", page_id="structures", date_page=look.date_site, structures=listing))


def _structures(look: Lookups) -> list:
    return sorted(look.d.structures, key=lambda s: ordre(s.nom_structure or s.code_structure))


BATCH = 2000        # structures whose pages are written from one query of their medians and findings


def render_structures(look: Lookups, w: Writer) -> int:
    """The page of each structure: its values against the median of its type, its history, its
    quality findings; returns the number of pages written. Written BATCH structures at a time,
    their medians and findings read by DuckDB for that batch only (at national scale, with a
    large extract, they are tens of millions of rows)."""
    before = w.pages
    spec = look.spec.section("structure")
    compare = [c for c in spec.get("comparaison", []) if c.get("indicateur") in look.reg]
    history = spec.get("historique") if spec.get("historique") in look.reg else None
    structures = look.d.structures
    con = look.con
    if con is None or not structures:
        return 0
    # every structure's batch, and its medians and findings stored by batch (one batch read skips the others)
    con.execute("CREATE OR REPLACE TEMP TABLE _pages_lots AS SELECT unnest(?) AS code_structure, unnest(?) AS lot",
                [[s.code_structure for s in structures], [n // BATCH for n in range(len(structures))]])
    try:
        con.execute("""CREATE OR REPLACE TEMP TABLE _pages_medianes AS
                       SELECT l.lot, m.indicateur, m.annee, m.code_structure, m.valeur, m.mediane_type, m.n_type
                       FROM fct_structures_medianes m JOIN _pages_lots l USING (code_structure)
                       WHERE m.annee IN (SELECT unnest(?)) AND m.indicateur IN (SELECT unnest(?))
                       ORDER BY l.lot, m.code_structure, m.annee""", [look.d.annees, look.d.indicateurs_structure])
        con.execute("""CREATE OR REPLACE TEMP TABLE _pages_constats AS
                       SELECT l.lot, c.code_structure, c.annee_enquete, c.severite, c.colonne, c.message
                       FROM constats_qualite c JOIN _pages_lots l USING (code_structure)
                       ORDER BY l.lot, c.annee_enquete, CASE c.severite WHEN 'bloquant' THEN 0
                                                                        WHEN 'avertissement' THEN 1 ELSE 2 END""")
        for start in range(0, len(structures), BATCH):
            lot = start // BATCH
            medianes: dict[str, list[dict]] = defaultdict(list)
            for r in _dicts(con, "SELECT * EXCLUDE (lot) FROM _pages_medianes WHERE lot = ? "
                                 "ORDER BY code_structure, annee", [lot]):
                medianes[r["code_structure"]].append(r)
            constats: dict[str, list[dict]] = defaultdict(list)
            for r in _dicts(con, """SELECT * EXCLUDE (lot) FROM _pages_constats WHERE lot = ?
                                    ORDER BY annee_enquete, CASE severite WHEN 'bloquant' THEN 0
                                                                          WHEN 'avertissement' THEN 1 ELSE 2 END""",
                            [lot]):
                constats[r["code_structure"]].append(r)
            for s in structures[start:start + BATCH]:
                _structure_page(look, w, s, compare, history, medianes.get(s.code_structure, []),
                                constats.get(s.code_structure, []))
    finally:
        for table in ("_pages_lots", "_pages_medianes", "_pages_constats"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return w.pages - before


def _structure_page(look: Lookups, w: Writer, s: dict, compare: list[dict], history: str | None, rows: list[dict],
                    constats: list[dict]) -> None:
    code = s.code_structure
    name = s.nom_structure or f"Structure {code}"
    href = f"{file_stem(code)}.html"
    commune = s.nom_commune or s.code_commune or "commune inconnue"
    last = max((r["annee"] for r in rows), default=None)
    latest = {r["indicateur"]: r for r in rows if r["annee"] == last}
    lines = []
    for c in compare:
        r = latest.get(c["indicateur"])
        if r is None:
            continue
        lines.append({"libelle": c.get("libelle") or look.reg[c["indicateur"]]["libelle"],
                      "valeur": look.fmt(c["indicateur"], r["valeur"]),
                      "mediane": look.fmt(c["indicateur"], r["mediane_type"]), "n": nombre(r["n_type"])})
    charts = []
    if history:
        points = [(r["annee"], r["valeur"]) for r in rows if r["indicateur"] == history and r["valeur"] is not None]
        if points:
            label = next((c.get("libelle") for c in compare if c["indicateur"] == history), None) \
                or look.reg[history]["libelle"]
            charts.append(C.lines("historique", f"{label}, par année", "Valeurs déclarées par la structure.",
                                  "", {label: ([p[0] for p in points], [p[1] for p in points])},
                                  look.reg[history]["unite"], look.reg[history]["decimales"]))
    w.render(f"structures/{href}", "structure.html", Structure(
        titre=f"{name} (structure {code})", page_id="structure", date_page=look.date_site, nom=name, code=code,
        type_structure=s.type_structure or "", commune=commune, annee=last, comparaison=lines,
        graphiques=charts, constats=constats))


def internal_extras(writer: Writer, tmp: Path, dbt_docs: Path | None, look: Lookups) -> None:
    """The quality pages of every data year, inside the site's navigation, with the feedback
    sheets of the structures, and the dbt docs as one self-contained page. (The GX Data Docs, which
    load their styles from the internet, stay in the quality folder beside the warehouse.)"""
    from expectations.publication import year_gates

    from ..qualite import quality_records, release, write_fiches, write_full_list

    pages = []
    try:
        for record in quality_records(look.con, year_gates(look.con)) if look.con is not None else []:
            write_fiches(look.con, record, tmp / "qualite")
            write_full_list(look.con, record["annee"], tmp / "qualite" / record["liste_complete"])
            writer.page(f"qualite/{record['annee']}.html", "qualite_annee.html",
                        titre=f"Qualité des données {record['annee']}", page_id="qualite", date_page=look.date_site,
                        **{k: v for k, v in record.items() if k != "federation"})
            pages.append({"annee": record["annee"], "href": f"{record['annee']}.html"})
    finally:
        if look.con is not None:
            release(look.con)
    dbt = _dbt_docs(dbt_docs, tmp / "dbt")
    writer.render("qualite/index.html", "qualite_index.html", QualityIndex(
        titre="Qualité des données", page_id="qualite", date_page=look.date_site, pages=pages, dbt=dbt))


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
