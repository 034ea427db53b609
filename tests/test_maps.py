"""Maps: outlines derived from IGN's Admin Express into data/reference/contours/ (ingest/geo_build.py),
drawn as static SVG by reports/maps.py, on the yearly report."""
import re

import pytest

from conftest import ROOT, query
from ingest import geo_build
from reports import maps as M


def test_simplification_keeps_corners_and_drops_points_on_a_line():
    square = [(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (1, 2.00001), (0, 2), (0, 1), (0, 0)]
    ring = geo_build.simplify_ring(square, 0.01)
    assert sorted(ring) == sorted([(0, 0), (20000, 0), (20000, 20000), (0, 20000)])


def test_an_outline_written_by_the_derivation_reads_back_in_degrees():
    geometry = {"type": "MultiPolygon", "coordinates": [
        [[[2.25, 48.8], [2.31, 48.8], [2.31, 48.86], [2.25, 48.86], [2.25, 48.8]]],
        [[[2.4, 48.9], [2.45, 48.9], [2.42, 48.95], [2.4, 48.9]]]]}
    rings = M.decode(geo_build.path(geometry, 0.0001))
    assert len(rings) == 2
    assert rings[0] == [(2.25, 48.8), (2.31, 48.8), (2.31, 48.86), (2.25, 48.86)]
    assert rings[1] == [(2.4, 48.9), (2.45, 48.9), (2.42, 48.95)]


def test_shipped_outlines_cover_the_reference_and_stay_small():
    files = list((ROOT / "data" / "reference" / "contours").glob("*.csv"))
    assert sum(f.stat().st_size for f in files) < 6_000_000
    assert "Licence Ouverte" in (ROOT / "data" / "reference" / "contours" / "SOURCE.txt").read_text(encoding="utf-8")
    # the 96 of the mainland and the 5 overseas départements (the overseas collectivities have none)
    departements = M.outlines("departements")
    assert len(departements) == 101 and {"971", "972", "973", "974", "976"} <= set(departements)
    assert len(M.outlines("communes-92")) == 36


def _units(codes_counts):
    return [{"code": c, "libelle": name, "n": n, "detail": ""} for c, name, n in codes_counts]


def test_a_commune_map_draws_every_commune_shaded_by_its_count():
    units = _units([("92050", "Nanterre", 6), ("92012", "Boulogne-Billancourt", 1), ("92002", "Antony", 3)])
    carte = M.choropleth("c", "Structures par commune", "communes-92", units, [1, 2, 3, 5],
                         area="commune", areas="communes")
    svg = str(carte.svg)
    assert svg.count("<path ") == 36
    assert 'role="img"' in svg and "<title id=\"c-titre\">Structures par commune</title>" in svg
    assert "<desc" in svg and "Nanterre (6)" in carte.description
    colours = dict(re.findall(r'fill="(#[0-9a-f]{6})" data-code="(\d+)"', svg)[i][::-1] for i in range(36))
    assert colours["92050"] == M.COLOURS[3]     # 5 or more
    assert colours["92002"] == M.COLOURS[2]     # 3 to 4
    assert colours["92012"] == M.COLOURS[0]
    assert colours["92004"] == M.NONE_COLOUR
    assert [label for _, label in carte.legende] == ["aucune structure", "1 structure", "2 structures",
                                                     "3 à 4 structures", "5 structures ou plus"]
    assert carte.lignes == [["Nanterre", "6", ""], ["Boulogne-Billancourt", "1", ""], ["Antony", "3", ""]]
    assert not carte.sans_contour


def test_a_commune_with_no_outline_is_named_never_drawn():
    # Aurseulles (14581) was created in 2017-2019 under a new code: the 2018 outlines lack it
    units = _units([("14581", "Aurseulles", 2), ("14118", "Caen", 4)])
    carte = M.choropleth("c", "t", "communes-14", units, [1, 2, 3, 5], area="commune", areas="communes")
    assert carte.sans_contour == ["Aurseulles (2 structures)"]
    assert 'data-code="14581"' not in str(carte.svg)
    assert "2018" in carte.raison


def test_an_arrondissement_is_drawn_within_its_commune():
    units = _units([("75101", "Paris 1er Arrondissement", 2), ("75120", "Paris 20e Arrondissement", 3)])
    carte = M.choropleth("c", "t", "communes-75", units, [1, 2, 3, 5], area="commune", areas="communes")
    assert 'data-code="75056"' in str(carte.svg) and "Paris\u00a0: 5 structures" in str(carte.svg)
    assert carte.regroupes and "Paris 1er" in carte.regroupes[0]


def test_a_departement_map_names_the_departements_it_cannot_draw():
    units = _units([("92", "Hauts-de-Seine", 59), ("57", "Moselle", 40), ("988", "Nouvelle-Calédonie", 12)])
    carte = M.choropleth("d", "t", "departements", units, [1, 25, 50, 100], area="département",
                         areas="départements")
    assert str(carte.svg).count("<path ") == 101
    assert carte.sans_contour == ["Nouvelle-Calédonie (12 structures)"]


def test_frances_map_draws_its_overseas_departements_in_frames_under_the_mainland():
    """The five overseas départements, 7,000 km from the mainland, each in a frame of its own in a
    row under it, named there; each drawn (not listed as having no outline), shaded by its count."""
    units = _units([("92", "Hauts-de-Seine", 59), ("971", "Guadeloupe", 19), ("974", "La Réunion", 61)])
    carte = M.choropleth("d", "t", "departements", units, [1, 25, 50, 100], area="département",
                         areas="départements")
    svg = str(carte.svg)
    assert carte.sans_contour == []
    ys = {code: [float(y) for y in re.findall(r"[ML][\d.]+ ([\d.]+)", d)]
          for d, code in re.findall(r'<path d="([^"]+)" fill="#[0-9a-f]{6}" data-code="(\w+)"', svg)}
    mainland = max(max(v) for c, v in ys.items() if not c.startswith("97"))
    assert all(min(ys[c]) > mainland for c in ("971", "972", "973", "974", "976"))
    assert re.findall(r'<text [^>]*>([^<]+)</text>', svg) == ["Guadeloupe", "Martinique", "Guyane", "La Réunion", "Mayotte"]
    colours = dict((c, f) for f, c in re.findall(r'fill="(#[0-9a-f]{6})" data-code="(\w+)"', svg))
    assert colours["974"] == M.COLOURS[2] and colours["971"] == M.COLOURS[0] and colours["972"] == M.NONE_COLOUR


def test_no_outline_file_no_map():
    assert M.choropleth("x", "t", "communes-XX", _units([("1", "a", 1)]), [1], area="commune",
                        areas="communes") is None


@pytest.mark.lent
def test_the_yearly_report_maps_the_structures_of_each_commune(site):
    db, root = site[0], site[1] / "public"
    for annee, in query(db, "SELECT DISTINCT annee FROM publie.pub_unites ORDER BY 1"):
        text = (root / str(annee) / "index.html").read_text(encoding="utf-8")
        figure = re.search(r'<figure class="carte-geo".*?</figure>', text, re.S)
        assert figure, annee
        svg = figure.group(0)
        assert "https://" not in svg and "<script" not in svg      # nothing from the network
        counts = dict(query(db, "SELECT code, nb_structures FROM publie.pub_unites WHERE annee = ? AND "
                                "niveau = 'commune'", [annee]))
        drawn = re.findall(r'data-code="(\d+)"><title>[^<]*?(?:(\d+) structures?|aucune structure)</title>', svg)
        assert len(drawn) == 36
        for code, n in drawn:
            assert int(n or 0) == (counts.get(code) or 0), (annee, code)
        assert "Légende" in svg and "Voir les chiffres de la carte" in svg and "<desc" in svg


def test_outlines_are_named_as_the_site_names_the_communes():
    """The outline files drop the article (« Port », « Avirons », « Plessis-Robinson »): the map's
    tooltips and text alternative name each commune as the pages and the table do."""
    units = _units([("97407", "Le Port", 1), ("97411", "Saint-Denis", 4)])
    carte = M.choropleth("c", "t", "communes-974", units, [1, 2, 3, 5], area="commune", areas="communes")
    svg = str(carte.svg)
    assert "Le Port\u00a0: 1 structure" in svg and "Les Avirons\u00a0: aucune structure" in svg
    assert ">Port\u00a0:" not in svg and ">Avirons\u00a0:" not in svg
    assert "Saint-Denis (4), Le Port (1)" in carte.description


def test_each_overseas_departement_has_a_frame_of_its_own_on_a_map_of_several():
    """La Réunion and Mayotte, 1,400 km apart, side by side in two frames each as wide as the other;
    Corse-du-Sud and Haute-Corse, which touch, in one frame."""
    def spans(carte):
        found = {}
        for d, code in re.findall(r'<path d="([^"]+)"[^>]*data-code="(\w+)"', str(carte.svg)):
            found.setdefault(code[:3] if code.startswith("97") else code[:2], []).extend(
                float(x) for x in re.findall(r"[ML]([\d.]+) ", d))
        return {k: (min(v), max(v)) for k, v in found.items()}

    units = _units([("97411", "Saint-Denis", 4), ("97611", "Mamoudzou", 2)])
    oi = spans(M.choropleth("c", "t", ("communes-974", "communes-976"), units, [1, 2, 3, 5], area="commune",
                            areas="communes"))
    assert oi["974"][1] < oi["976"][0]                                       # apart, side by side
    assert oi["974"][1] - oi["974"][0] > M.WIDTH / 3 and oi["976"][1] - oi["976"][0] > M.WIDTH / 3
    units = _units([("2A004", "Ajaccio", 3), ("2B033", "Bastia", 2)])
    corse = spans(M.choropleth("c", "t", ("communes-2A", "communes-2B"), units, [1, 2, 3, 5], area="commune",
                               areas="communes"))
    assert corse["2A"][1] > corse["2B"][0]                                   # one frame: the island whole


def test_communes_merged_since_2018_are_drawn_but_not_counted_as_communes():
    # The Ain's 2018 outlines still hold communes merged since into a commune nouvelle (Châtillon-en-
    # Michaille and Lancrans in Valserhône, 01033): the map said « 407 communes » for a département
    # of 391, and « aucune structure » over part of a commune that has one.
    current = {c for c, r in M.commune_names().items() if c.startswith("01")} & set(M.outlines("communes-01"))
    former = set(M.outlines("communes-01")) - set(M.commune_names())
    assert "01091" in former and current
    units = _units([("01033", "Valserhône", 1), ("01053", "Bourg-en-Bresse", 4)])
    carte = M.choropleth("c", "Structures par commune", "communes-01", units, [1, 2, 3, 5],
                         area="commune", areas="communes")
    svg = str(carte.svg)
    assert svg.count("<path ") == len(current) + len(former)          # no hole in the map
    assert f"{M.nombre(len(current))} communes, dont 2 avec au moins une structure" in carte.description
    assert f"{M.nombre(len(former))} anciennes communes" in carte.description
    tip = re.search(r'data-code="01091"><title>([^<]*)</title>', svg).group(1)
    assert "ancienne commune" in tip and "aucune structure" not in tip
    assert "Bourg-en-Bresse\u00a0: 4 structures" in svg
    # a département with no merger since 2018 is unchanged
    carte92 = M.choropleth("c", "t", "communes-92", _units([("92050", "Nanterre", 6)]), [1, 2, 3, 5],
                           area="commune", areas="communes")
    assert "36 communes" in carte92.description and "ancienne" not in carte92.description
