"""Static SVG maps, drawn offline from the outlines shipped in data/reference/contours/ (IGN Admin
Express COG 2018, simplified by ingest/geo_build.py): the communes of a federation's département,
or the départements of France, shaded by a published count (structures per commune: their
existence is public, their answers are not). No tile, no script, nothing from the network: the map
prints as it shows. Each map has a title, a text alternative and the table it draws; a unit with
no outline (a commune created after 2018) is named under the map, never drawn at a guessed place.
The classes of the shading are declared in data/config/pages.yaml; nothing is computed here but
the drawing.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape

from ingest.geo_build import decode  # the outlines' own format, read where it is written

from .formatting import nombre, typo

REFERENCE = Path(__file__).resolve().parent.parent / "data" / "reference"
CONTOURS = REFERENCE / "contours"
WIDTH = 600
NONE_COLOUR = "#eef1f4"
COLOURS = ["#c6dbef", "#6baed6", "#2171b5", "#08306b", "#041a3a"]   # light to dark, one per class


@dataclass
class Carte:
    id: str
    titre: str
    description: str                        # the text alternative: what the map shows, in words
    svg: Markup
    legende: list[tuple[str, str]]          # (colour, label)
    colonnes: list[str]
    lignes: list[list[str]]                 # the table behind the map
    sans_contour: list[str] = field(default_factory=list)   # drawn nowhere: named here
    regroupes: list[str] = field(default_factory=list)      # drawn within another outline (arrondissements)
    raison: str = ""                                        # why those have no outline
    lecture: str = ""                                       # the description, without the title
    source: str = "Contours : IGN — Admin Express COG 2018, simplifiés (Licence Ouverte)."


@lru_cache(maxsize=16)
def outlines(name: str) -> dict[str, tuple[str, list]]:
    """code -> (name, rings) of one outline file (`communes-92`, `departements`); empty if absent."""
    path = CONTOURS / f"{name}.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as f:
        return {row[0]: (row[1], decode(row[2])) for row in list(csv.reader(f))[1:] if len(row) >= 3}


@lru_cache(maxsize=1)
def parent_communes() -> dict[str, str]:
    """A municipal arrondissement's commune (75101 -> 75056), from the commune reference."""
    path = REFERENCE / "communes.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as f:
        return {r["code_insee"]: r["code_commune_parent"] for r in csv.DictReader(f) if r.get("code_commune_parent")}


@lru_cache(maxsize=1)
def commune_names() -> dict[str, str]:
    """The communes' names as the rest of the site writes them (the commune reference: « Le Port »,
    « Les Avirons »), for the outlines, whose file drops the article (« Port », « Avirons »)."""
    path = REFERENCE / "communes.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as f:
        return {r["code_insee"]: r["nom_commune"] for r in csv.DictReader(f) if r.get("nom_commune")}


def classes_of(bounds: list[int], word: tuple[str, str]) -> list[tuple[int, int | None, str]]:
    """[1, 2, 3, 5] -> (1, 1, "1 structure"), (2, 2, ...), (3, 4, "3 à 4 structures"), (5, None, "5 ... ou plus")."""
    out = []
    for k, low in enumerate(bounds):
        high = bounds[k + 1] - 1 if k + 1 < len(bounds) else None
        many = word[0] if low == 1 and high == 1 else word[1]
        label = (f"{nombre(low)} {many}" if high == low else
                 f"{nombre(low)} à {nombre(high)} {word[1]}" if high is not None else
                 f"{nombre(low)} {word[1]} ou plus")
        out.append((low, high, label))
    return out


def _colour(n: int, classes: list) -> str:
    if not n:
        return NONE_COLOUR
    colour = COLOURS[0]
    for k, (low, _, _) in enumerate(classes):
        if n >= low:
            colour = COLOURS[min(k, len(COLOURS) - 1)]
    return colour


# between the panels of a map of several départements (each drawn in its own frame, side by side)
PANEL_GAP = 12


def _frame_of(file: str, code: str) -> str:
    """The frame an outline is drawn in on a map of several: its own for an overseas département
    (the file communes-974, or département 974 of the départements' file), one for the mainland's."""
    if file == "departements":
        return code if code.startswith("97") else "metropole"
    return file if file.startswith("communes-97") else "metropole"


def _svg(id: str, titre: str, description: str, shapes: list[tuple[str, list, str, str]],
         panels: list[list[int]] | None = None, inset_names: list[str] | None = None) -> Markup:
    """shapes: (code, rings, colour, tooltip). Equirectangular projection at the map's middle latitude.
    `panels`: the indexes of the shapes drawn in each frame, side by side (the communes of each of a
    federation's départements: La Réunion and Mayotte, 1,400 km apart, would be specks on one frame);
    with `inset_names` (of the frames after the first) and more than two frames, the first across the
    map and the others in a row under it, each named (France's mainland and its overseas départements)."""
    panels = [group for group in (panels or [list(range(len(shapes)))]) if group]
    paths: list[str] = []

    def draw(group: list[int], left: float, top: float, width: float, most: float | None = None) -> float:
        """The shapes of `group` in the box at (left, top), `width` wide and at most `most` tall
        (centred in it), undistorted; returns the height drawn."""
        points = [p for i in group for ring in shapes[i][1] for p in ring]
        if not points:
            return 0.0
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        k = math.cos(math.radians((min(ys) + max(ys)) / 2))
        scale = width / max((max(xs) - min(xs)) * k, 1e-9)
        if most is not None and (max(ys) - min(ys)) * scale > most:
            scale = most / max(max(ys) - min(ys), 1e-9)
        left += (width - (max(xs) - min(xs)) * k * scale) / 2
        x0, y1 = min(xs), max(ys)
        for i in group:
            code, rings, colour, tip = shapes[i]
            d = "".join("M" + "L".join(f"{left + (x - x0) * k * scale:.1f} {top + (y1 - y) * scale:.1f}" for x, y in ring)
                        + "Z" for ring in rings)
            paths.append(f'<path d="{d}" fill="{colour}" data-code="{escape(code)}"><title>{escape(tip)}</title></path>')
        return (max(ys) - min(ys)) * scale

    height = 1.0
    if inset_names and len(panels) > 2:
        # the mainland across the map, the overseas frames in a row under it, each named
        height = draw(panels[0], 0.0, 0.0, WIDTH)
        n = len(panels) - 1
        box = (WIDTH - PANEL_GAP * (n - 1)) / n
        top = height + PANEL_GAP
        drawn = [draw(group, k * (box + PANEL_GAP), top, box, box) for k, group in enumerate(panels[1:])]
        for k in range(n):
            paths.append(f'<text x="{k * (box + PANEL_GAP) + box / 2:.1f}" y="{top + max(drawn) + 18:.1f}" '
                         f'text-anchor="middle" font-size="17" fill="#566370" stroke="none">{escape(inset_names[k])}</text>')
        height = top + max(drawn) + 24
    else:
        width = (WIDTH - PANEL_GAP * (len(panels) - 1)) / max(len(panels), 1)
        for k, group in enumerate(panels):
            height = max(height, draw(group, k * (width + PANEL_GAP), 0.0, width))
    if not paths:
        return Markup("")
    return Markup(
        f'<svg class="carte-svg" id="{id}-svg" viewBox="-2 -2 {WIDTH + 4} {height + 4:.0f}" '
        f'role="img" aria-labelledby="{id}-titre {id}-desc" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMidYMid meet">'
        f'<title id="{id}-titre">{escape(titre)}</title><desc id="{id}-desc">{escape(description)}</desc>'
        f'<g stroke="#ffffff" stroke-width="0.8" stroke-linejoin="round" fill-rule="evenodd">{"".join(paths)}</g>'
        f'</svg>')


def choropleth(id: str, titre: str, file: str | tuple[str, ...], units: list[dict], bounds: list[int], *, area: str,
               areas: str, word: tuple[str, str] = ("structure", "structures"),
               draw_all: bool = True) -> Carte | None:
    """A map of the outlines of `file`, each unit of `units` ({code, libelle, n, detail}) shaded by
    its count `n`; the other outlines of the file, with none, drawn in the lightest shade when
    `draw_all`. None when no unit can be drawn (no outline file for this territory). Several files
    (the communes of a federation's départements) are drawn as one map: the mainland ones in one frame
    (2A and 2B side by side as they are), each overseas one in a frame of its own beside it (La Réunion and
    Mayotte, 1,400 km apart, would be specks in one frame)."""
    files = (file,) if isinstance(file, str) else tuple(file)
    shapes = {c: s for f in files for c, s in outlines(f).items()}
    frames = sorted(dict.fromkeys(_frame_of(f, c) for f in files for c in outlines(f)), key=lambda fr: fr != "metropole")
    panel_of = {c: frames.index(_frame_of(f, c)) for f in files for c in outlines(f)}
    if not shapes:
        return None
    parents = parent_communes()
    counts: dict[str, int] = {}
    within: dict[str, list[str]] = {}
    missing = []
    for u in units:
        code = u["code"]
        if code not in shapes and parents.get(code) in shapes:     # an arrondissement: inside its commune
            within.setdefault(parents[code], []).append(u["libelle"])
            code = parents[code]
        if code in shapes:
            counts[code] = counts.get(code, 0) + (u["n"] or 0)
        else:
            missing.append(u)
    if not counts:
        return None
    classes = classes_of(bounds, word)
    named = commune_names()
    names = {code: named.get(code) or name for code, (name, _) in shapes.items()}
    # The 2018 outlines still hold communes merged since into a commune nouvelle (Châtillon-en-Michaille,
    # in Valserhône since 2019): drawn, so that the map has no hole, but neither counted among the
    # communes nor said to have no structure (the reference holds no history: their commune is unknown).
    former = {code for code in shapes if area == "commune" and named and code not in named and code not in counts}
    drawn = []
    for code, (_, rings) in sorted(shapes.items()):
        name = names[code]
        n = counts.get(code, 0)
        if not draw_all and code not in counts:
            continue
        tip = (f"{name}\u00a0: ancienne commune, fusionnée depuis 2018" if code in former else
               f"{name}\u00a0: {nombre(n)} {word[0] if n == 1 else word[1]}" if n else f"{name}\u00a0: aucune {word[0]}")
        drawn.append((code, rings, _colour(n, classes), tip))
    merged = sum(1 for d in drawn if d[0] in former)
    with_some = sorted(((n, names[c]) for c, n in counts.items() if n), key=lambda t: (-t[0], t[1]))
    top = ", ".join(f"{name} ({nombre(n)})" for n, name in with_some[:3])
    merged_note = (f" Les contours de 2018 dessinent aussi {nombre(merged)} ancienne{'s' if merged > 1 else ''} "
                   f"commune{'s' if merged > 1 else ''}, fusionnée{'s' if merged > 1 else ''} depuis dans une "
                   f"commune nouvelle : sans chiffre propre." if merged else "")
    description = (f"{titre}. {nombre(len(drawn) - merged)} {areas}, dont {nombre(len(with_some))} avec au moins une "
                   f"{word[0]} ; le plus de {word[1]} : {top}. Le tableau qui suit la carte donne chaque chiffre."
                   + merged_note if with_some else f"{titre}. Aucune {word[0]} à dessiner.")
    legend = [(NONE_COLOUR, f"aucune {word[0]}")] + [
        (COLOURS[min(k, len(COLOURS) - 1)], label) for k, (_, _, label) in enumerate(classes)]
    lines = [[u["libelle"], nombre(u["n"] or 0), u.get("detail", "")] for u in units if u["n"]]
    missing_names = [f"{u['libelle']} ({nombre(u['n'] or 0)} {word[0] if u['n'] == 1 else word[1]})"
                     for u in missing]
    grouped = [f"{', '.join(inside)} : dans le contour de {names[parent]}" for parent, inside in sorted(within.items())]
    description = typo(description)
    groups = [(fr, [i for i, d in enumerate(drawn) if panel_of[d[0]] == k]) for k, fr in enumerate(frames)]
    groups = [(fr, group) for fr, group in groups if group]
    # France's overseas départements, each in a frame under the mainland's, named (their code is the frame's)
    insets = ([shapes[fr][0] for fr, _ in groups[1:]]
              if groups and groups[0][0] == "metropole" and all(fr in shapes for fr, _ in groups[1:]) else None)
    svg = _svg(id, titre, description, drawn, [group for _, group in groups], insets)
    reason = ("communes créées après 2018, absentes des contours IGN de 2018" if area == "commune" else
              f"{areas} sans contour dans le référentiel (outre-mer)")
    reading = description[len(titre) + 2:] if description.startswith(titre + ". ") else description
    return Carte(id, titre, description, svg, legend, [area[:1].upper() + area[1:], word[1].capitalize(), "Détail"],
                 lines, missing_names, grouped, reason, reading)
