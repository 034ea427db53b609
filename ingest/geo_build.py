"""Derive the map outlines shipped under data/reference/contours/ from IGN's Admin Express.

    python -m ingest.geo_build --source DIR     # DIR: the outlines folder (see below)

The source folder holds `communes/communes-<code>-<nom>.geojson` (one file per département, the
outlines of its communes, properties `code` and `nom`) and `departements-simplifies.geojson`
(metropolitan départements), and `departements-avec-outre-mer.geojson` (its overseas ones, 971 to
976, are taken from it), as published by the project "france-geojson" (Grégoire David) from
IGN Admin Express COG 2018 and INSEE's COG 2018, under the Licence Ouverte / Open Licence (Etalab).

Each outline is simplified again here (Douglas-Peucker, to 1/400 of its département's extent for
the communes, of metropolitan France's for the départements: about a pixel of the maps) and its
coordinates counted in ten-thousandths of a degree (about 10 m). Outputs (UTF-8 CSV, comma
separated, sorted, deterministic); an outline is its rings separated by `;`, each ring its first
point `lon,lat` then the steps to the next ones `dx,dy`, all in ten-thousandths of a degree
(WGS84), e.g. `22745,487407 103,49 6,19 -30,24`:
  contours/communes-<département>.csv   code_insee, nom, contour
  contours/departements.csv             code_departement, nom, contour
  contours/SOURCE.txt                   origin, licence, vintage
The product reads only these files. A commune with no outline here (created since 2018 under a
new code) is said so on the map: it is never drawn at a guessed place.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

CONTOURS_DIR = Path(__file__).resolve().parent.parent / "data" / "reference" / "contours"
OVERSEAS_FILE = "departements-avec-outre-mer.geojson"
DECIMALS = 4
RESOLUTION = 400        # an outline keeps the detail of about 1/RESOLUTION of its map's extent
UNIT = 10 ** DECIMALS


def _distance(p, a, b) -> float:
    """Distance from p to the segment ab (degrees, flat: the tolerance is a fraction of the map)."""
    (x, y), (x1, y1), (x2, y2) = p, a, b
    dx, dy = x2 - x1, y2 - y1
    if dx == 0 and dy == 0:
        return math.hypot(x - x1, y - y1)
    t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
    return math.hypot(x - x1 - t * dx, y - y1 - t * dy)


def douglas_peucker(points: list, tolerance: float) -> list:
    """The points of an open line that keep it within `tolerance` (iterative, no recursion limit)."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        far, index = 0.0, None
        for i in range(first + 1, last):
            d = _distance(points[i], points[first], points[last])
            if d > far:
                far, index = d, i
        if index is not None and far > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep) if k]


def simplify_ring(ring: list, tolerance: float) -> list:
    """A closed ring simplified: cut at its first point and at the point farthest from it, so that
    both halves keep their ends; None when nothing of it would show (fewer than 3 points)."""
    ring = [tuple(p[:2]) for p in ring]
    if ring and ring[0] == ring[-1]:
        ring = ring[:-1]
    if len(ring) < 3:
        return None
    far = max(range(len(ring)), key=lambda i: math.hypot(ring[i][0] - ring[0][0], ring[i][1] - ring[0][1]))
    half1 = douglas_peucker(ring[:far + 1], tolerance)
    half2 = douglas_peucker(ring[far:] + [ring[0]], tolerance)
    out = half1[:-1] + half2[:-1]
    out = [(round(x * UNIT), round(y * UNIT)) for x, y in out]
    out = [p for i, p in enumerate(out) if i == 0 or p != out[i - 1]]
    return out if len(out) >= 3 else None


def polygons(geometry: dict) -> list:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiPolygon":
        return geometry["coordinates"]
    return []


def extent(features: list) -> float:
    xs, ys = [], []
    for f in features:
        for poly in polygons(f["geometry"]):
            for ring in poly:
                xs += [p[0] for p in ring]
                ys += [p[1] for p in ring]
    return max(max(xs) - min(xs), max(ys) - min(ys)) if xs else 0.0


def path(geometry: dict, tolerance: float) -> str:
    """The outline as its rings (first point, then steps); the outer ring of a polygon always kept."""
    rings = []
    for poly in polygons(geometry):
        for n, ring in enumerate(poly):
            simple = simplify_ring(ring, tolerance)
            if simple is None and n == 0:       # an outer ring too small for the tolerance: its bare shape
                simple = simplify_ring(ring, 0.0)
            if simple:
                steps = [f"{simple[0][0]},{simple[0][1]}"] + [
                    f"{x - px},{y - py}" for (px, py), (x, y) in zip(simple, simple[1:])]
                rings.append(" ".join(steps))
    return ";".join(rings)


def decode(contour: str) -> list[list[tuple[float, float]]]:
    """The rings of an outline written by path(), in degrees (lon, lat)."""
    rings = []
    for ring in filter(None, contour.split(";")):
        x = y = 0
        points = []
        for step in ring.split(" "):
            dx, dy = step.split(",")
            x, y = x + int(dx), y + int(dy)
            points.append((x / UNIT, y / UNIT))
        rings.append(points)
    return rings


def _features(path_: Path) -> list:
    return json.loads(path_.read_text(encoding="utf-8"))["features"]


def _write(dest: Path, header: list[str], rows: list[tuple]) -> None:
    with dest.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(sorted(rows))


def build(source: Path, dest: Path = CONTOURS_DIR) -> dict[str, int]:
    dest.mkdir(parents=True, exist_ok=True)
    counts = {"departements": 0, "communes": 0}
    for old in dest.glob("communes-*.csv"):
        old.unlink()
    for file in sorted((source / "communes").glob("communes-*.geojson")):
        features = _features(file)
        code = file.stem.split("-")[1]
        tolerance = extent(features) / RESOLUTION
        rows = [(f["properties"]["code"], f["properties"]["nom"], path(f["geometry"], tolerance))
                for f in features]
        _write(dest / f"communes-{code}.csv", ["code_insee", "nom", "contour"], [r for r in rows if r[2]])
        counts["communes"] += len(rows)
    features = _features(source / "departements-simplifies.geojson")
    tolerance = extent(features) / RESOLUTION
    rows = [(f["properties"]["code"], f["properties"]["nom"], path(f["geometry"], tolerance)) for f in features]
    # the overseas départements (971 to 976), each simplified at its own scale: the national map
    # draws each in a frame of its own
    overseas = source / OVERSEAS_FILE
    if overseas.is_file():
        rows += [(f["properties"]["code"], f["properties"]["nom"], path(f["geometry"], extent([f]) / RESOLUTION))
                 for f in _features(overseas) if str(f["properties"]["code"]).startswith("97")]
    _write(dest / "departements.csv", ["code_departement", "nom", "contour"], [r for r in rows if r[2]])
    counts["departements"] = len(rows)
    (dest / "SOURCE.txt").write_text(
        "Contours des communes et des départements pour les cartes de l'observatoire.\n"
        "Source : IGN — Admin Express COG 2018, contours simplifiés (codes et noms : INSEE, COG 2018), convertis\n"
        "par le projet public « france-geojson » (Grégoire David). Licence Ouverte / Open Licence (Etalab).\n"
        "Simplifiés de nouveau (Douglas-Peucker, au 1/400 de l'étendue de la carte), coordonnées en dix-millièmes\n"
        "de degré (WGS84), chaque point après le premier donné par son écart au précédent.\n"
        "Millésime 2018 : une commune créée depuis sous un nouveau code n'a pas de contour, et la carte le dit.\n"
        "Départements d'outre-mer (971 à 976) : contours de departements-avec-outre-mer.geojson, même origine,\n"
        "simplifiés à l'échelle de chacun ; la carte de France les dessine chacun dans un cadre à part.\n"
        "Régénérer : python -m ingest.geo_build --source DOSSIER\n", encoding="utf-8")
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Dérive les contours des cartes (IGN Admin Express, simplifiés).")
    parser.add_argument("--source", type=Path, required=True,
                        help="dossier des contours : communes/communes-<code>-<nom>.geojson et "
                             "departements-simplifies.geojson")
    parser.add_argument("--dest", type=Path, default=CONTOURS_DIR)
    args = parser.parse_args(argv)
    counts = build(args.source, args.dest)
    print(", ".join(f"{k} : {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
