"""The printed plaquette: for each published year an A4 PDF beside the yearly report, linked from
it, read back through the PDF itself (pypdf): its pages, page numbers, fonts, map and figures."""
import io
import re

import pytest
from pypdf import PdfReader

from conftest import query
from reports import svgcharts
from reports.charts import bars, lines
from reports.formatting import nombre
from reports.site.writer import environment




def _flat(text: str) -> str:
    """Text extracted from a PDF, every kind of space removed (narrow no-break spaces included)."""
    return re.sub(r"\s+", "", text.replace("\u202f", " ").replace("\u00a0", " "))


def _fonts(reader: PdfReader) -> dict[str, bool]:
    """Each font used, and whether its glyphs are embedded in the file."""
    out = {}
    for page in reader.pages:
        for font in ((page.get("/Resources") or {}).get("/Font") or {}).values():
            font = font.get_object()
            descriptors = [font.get("/FontDescriptor")] + [
                d.get_object().get("/FontDescriptor") for d in font.get("/DescendantFonts") or []]
            embedded = any(d is not None and any(k in d.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                           for d in descriptors)
            out[str(font.get("/BaseFont"))] = embedded
    return out


@pytest.mark.lent
def test_each_published_year_has_its_plaquette_linked_from_its_report(site):
    db, root = site[0], site[1]
    years = [a for (a,) in query(db, "SELECT annee FROM publie.publications ORDER BY annee")]
    assert years
    for audience in ("public", "interne"):
        for annee in years:
            report = (root / audience / str(annee) / "index.html").read_text(encoding="utf-8")
            assert f'href="plaquette-{annee}.pdf"' in report
            assert (root / audience / str(annee) / f"plaquette-{annee}.pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.lent
def test_the_plaquette_is_an_a4_paginated_document_with_its_map_and_embedded_fonts(site):
    db, root = site[0], site[1] / "public"
    for (annee,) in query(db, "SELECT annee FROM publie.publications ORDER BY annee"):
        reader = PdfReader(root / str(annee) / f"plaquette-{annee}.pdf")
        n = len(reader.pages)
        assert 4 <= n <= 12, (annee, n)
        for page in reader.pages:       # A4: 595 × 842 points
            assert abs(float(page.mediabox.width) - 595.3) < 1 and abs(float(page.mediabox.height) - 841.9) < 1
        texts = [p.extract_text() for p in reader.pages]
        assert f"Rapport {annee}" in texts[0]                       # the cover
        assert "Sommaire" in texts[1]
        for k, text in enumerate(texts[1:], start=2):
            assert f"Page {k} sur {n}" in text, (annee, k)
        whole = "\n".join(texts)
        assert "Structures agréées par commune" in whole and "IGN" in whole     # the map and its source
        assert "Méthode et sources" in texts[-1]
        assert "{" not in whole and "None" not in whole and "nan" not in whole.split()
        fonts = _fonts(reader)
        assert fonts and all(fonts.values()), fonts


@pytest.mark.lent
def test_the_plaquette_states_the_figures_the_extracts_declare(site):
    """Respondents and inhabitants reached, counted here from the loaded answers themselves, are
    printed as such in the plaquette of each year (cover, key figures, key messages)."""
    db, root = site[0], site[1] / "public"
    for (annee,) in query(db, "SELECT annee FROM publie.publications ORDER BY annee"):
        invited, answered, reached = query(db, """
            SELECT count(*), count(*) FILTER (WHERE repondant),
                   sum(habitants_touches) FILTER (WHERE repondant)
            FROM reponses WHERE annee_donnees = ?""", [annee])[0]
        text = _flat("\n".join(p.extract_text() for p in PdfReader(root / str(annee) / f"plaquette-{annee}.pdf").pages))
        assert _flat(f"{nombre(answered)} structures ont répondu à l'enquête, sur {nombre(invited)}") in text, annee
        assert _flat(f"{nombre(invited)}Structures agréées") in text
        published = query(db, """SELECT statut FROM publie.pub_indicateurs i JOIN publie.pub_unites u
                                 USING (annee, niveau, code)
                                 WHERE u.est_principal AND i.annee = ? AND indicateur = 'habitants_touches'""",
                          [annee])
        if published and published[0][0] == "publie":
            assert _flat(f"{nombre(reached)}Habitants touchés") in text, annee


def test_static_charts_draw_the_published_values_from_zero():
    chart = bars("b", "Thèmes", "l", "r", ["Culture", "Santé"], [0.5, 0.25], "ratio", 3)
    svg = str(svgcharts.draw(chart))
    widths = [float(w) for w in re.findall(r'<rect x="230" y="[\d.]+" width="([\d.]+)"', svg)]
    assert len(widths) == 2 and abs(widths[0] - 2 * widths[1]) < 0.2
    assert "50,0\u202f%" in svg and "Culture" in svg
    chart = lines("l", "Habitants", "l", "r", {"92": ([2019, 2020, 2022], [100, 50, 80])}, "personnes", 0)
    svg = str(svgcharts.draw(chart))
    # 2021 missing: the line breaks there (2019-2020 drawn, 2022 a point alone), never bridged
    assert len(re.findall(r'<polyline points="([^"]+)"', svg)) == 1
    assert len(re.findall(r'<polyline points="([^"]+)"', svg)[0].split()) == 2
    assert svg.count("<circle") == 3
    assert ">0<" in svg                         # the axis starts at zero


def test_the_printed_tiles_stand_three_a_row_in_their_order_the_last_row_filled():
    """The tiles of a section are printed as rows of three cells of one height (table rows: a flex
    box costs WeasyPrint several layouts of each tile); a short last row is filled with empty cells,
    so that its tiles keep the width of the others."""
    tiles = [{"valeur": f"{k}\u202f000", "libelle": f"Tuile {k}"} for k in range(1, 5)]
    html = environment().get_template("plaquette.html").render(
        federation={"nom": "Fédération"}, annee=2022, css="",
        sections=[{"id": "reperes", "titre": "Repères", "tuiles": tiles}])
    block = re.search(r'<div class="tuiles">(.*?)</div>', html, re.S).group(1)
    rows = re.findall(r"<ul>(.*?)</ul>", block, re.S)
    assert [len(re.findall(r"<li[ >]", r)) for r in rows] == [3, 3]
    assert re.findall(r"Tuile \d", block) == ["Tuile 1", "Tuile 2", "Tuile 3", "Tuile 4"]
    assert rows[1].count('<li class="vide"></li>') == 2 and "vide" not in rows[0]


def test_a_source_title_keeps_its_own_guillemets_not_doubled():
    """The plaquette cites a national source as « its title » after its publisher; a title read from
    the reference that already holds its guillemets is not wrapped a second time."""
    from reports.site.report import citation
    flat = lambda s: s.replace("\u202f", " ").replace("\u00a0", " ")
    assert flat(citation("Maire info", "Édition synthétique 2018")) == "Maire info, « Édition synthétique 2018 »"
    assert flat(citation("La Gazette", "« Dans le rouge »")) == "La Gazette, « Dans le rouge »"
    assert flat(citation("idCité", "« Portrait type » (enquête SENACS 2015)")) == \
        "idCité, « Portrait type » (enquête SENACS 2015)"
    assert citation("CNAF", "") == "CNAF" and citation("CNAF", None) == "CNAF"
    assert "\u00a0»" in citation("Maire info", "Titre")        # no line starts with the closing guillemet


@pytest.mark.lent
def test_the_plaquette_names_the_sources_and_the_communes_without_a_sheet_as_it_prints_them(site):
    """Printed, the sheets' section lists only the units that have a sheet: its note on those that have
    none speaks of « the other communes », not of « these » (none are listed there); and no source
    of the national figures is quoted twice over (« « … » »)."""
    db, root = site[0], site[1] / "public"
    for (annee,) in query(db, "SELECT annee FROM publie.publications ORDER BY annee"):
        text = " ".join(re.sub(r"\s+", " ", p.extract_text().replace("\u202f", " ").replace("\u00a0", " "))
                        for p in PdfReader(root / str(annee) / f"plaquette-{annee}.pdf").pages)
        assert not re.search(r"«\s*«|»\s*»", text), annee
        assert "Ces communes ont trop peu" not in text, annee
        if "(sans fiche)" in text:
            assert re.search(r"Les autres (territoires et )?communes ont trop peu de structures", text), annee


@pytest.mark.lent
def test_a_printed_table_starts_on_the_page_of_what_introduces_it(site):
    """No heading, introduction or caption left at the foot of a page while its table starts on the next:
    the national comparison (short) is printed whole with its caption; the federation's activity table
    starts on the page of its section's heading."""
    db, root = site[0], site[1] / "public"
    activity = 0
    for (annee,) in query(db, "SELECT annee FROM publie.publications ORDER BY annee"):
        pages = [_flat(p.extract_text()) for p in PdfReader(root / str(annee) / f"plaquette-{annee}.pdf").pages]
        caption = [k for k, t in enumerate(pages) if _flat(f"et France, {annee}") in t]
        header = [k for k, t in enumerate(pages) if _flat("Année du chiffre national") in t]
        assert caption and caption == header, (annee, caption, header)
        heading = [k for k, t in enumerate(pages) if _flat("Ce que la fédération a mené") in t]
        table = [k for k, t in enumerate(pages) if _flat(f"L'activité de la fédération, {annee}") in t]
        assert heading == table, (annee, heading, table)
        activity += bool(heading)
    assert activity          # the demo's later years print the federation's activity


@pytest.mark.lent
def test_the_national_comparison_never_leaves_its_caption_at_the_foot_of_a_page():
    """The plaquette's template, rendered by WeasyPrint with a section before the comparison whose
    length varies line by line: wherever the page ends, the comparison's introduction and caption stay
    on the page of its first row (La Réunion's 2022 plaquette printed them alone at the foot of page 9,
    the table on page 10)."""
    from markupsafe import Markup

    from reports.plaquette import css, render_pdf

    rows = [{"libelle": f"Indicateur comparé {i}", "valeur": "12,5 %", "nationale": "30,0 %",
             "annee_nationale": "2022"} for i in range(8)]
    for n in range(30, 46):
        filler = [{"libelle": f"Ligne {i}", "valeur": str(i), "lecture": "Pas d'évolution publiée sur un an."}
                  for i in range(n)]
        html = environment().get_template("plaquette.html").render(
            site_nom="Observatoire", federation={"nom": "Fédération d'essai"}, css=Markup(css()), annee=2022,
            principal=None, messages=[], chiffre=None, date="", sources=[], adresse="", adresse_methode="",
            sections=[{"id": "avant", "titre": "Avant", "tableau": filler},
                      {"id": "nationale", "titre": "Comparaison nationale", "comparaison": rows}])
        texts = [p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(html))).pages]
        caption = [k for k, t in enumerate(texts) if "Comparaison nationale, 2022" in t]
        first_row = [k for k, t in enumerate(texts) if "Indicateur comparé 0" in t]
        assert caption == first_row and len(caption) == 1, (n, caption, first_row)


@pytest.mark.lent
def test_a_plaquette_too_long_for_its_pages_prints_a_shorter_version_that_says_what_the_site_holds():
    """A département of 260 communes with centres, a federal project of 80 action rows, 260 sheets:
    the whole plaquette passes its pages; the one printed holds in them, keeps the communes with
    the most structures, and says how many communes, rows and sheets the site holds beyond it."""
    from io import BytesIO

    from markupsafe import Markup

    from reports.plaquette import MAX_PAGES, css, render_pdf
    from reports.site.report import versions

    adresse = "https://observatoire.exemple/2022/index.html"
    communes = [{"libelle": f"Commune {k:03d}", "n": 6 if k >= 255 else 2 if k >= 240 else 1, "structures": "1 centre social",
                 "sans_fiche": False} for k in range(260)]
    table = [{"libelle": f"Activités fédérales de l'action A{k}.1 — une action au nom long, sur deux lignes du tableau",
              "valeur": "12", "lecture": "+3 sur un an, sur l'ensemble des activités comptées : en progrès."}
             for k in range(80)]
    links = [{"texte": f"Fiche {k:03d}", "niveau": "commune", "url": f"https://observatoire.exemple/2022/communes/{k}.html"}
             for k in range(260)]
    sections = [{"id": "implantation", "titre": "Implantation", "communes": communes, "communes_note": ""},
                {"id": "federation", "titre": "L'activité de la fédération", "tableau": table},
                {"id": "fiches", "titre": "Fiches", "fiches": {"liens": links, "petites": [], "note": ""}}]
    template = environment().get_template("plaquette.html")
    whole, *shorter = versions(lambda secs: template.render(
        federation={"nom": "Fédération"}, annee=2022, css=Markup(css()), sections=secs, adresse=adresse),
        sections, adresse)
    assert shorter and len(PdfReader(BytesIO(render_pdf(whole))).pages) > MAX_PAGES
    reader = PdfReader(BytesIO(render_pdf((whole, *shorter))))
    assert len(reader.pages) <= MAX_PAGES
    text = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in reader.pages))
    printed = set(re.findall(r"Commune \d{3}", text))
    if printed:     # the communes with the most structures first, the others counted
        rest = int(re.search(r"Les (\d+) autres communes comptent chacune une structure", text).group(1))
        assert len(printed) == 260 - rest and printed == {c["libelle"] for c in sorted(communes, key=lambda c: (-c["n"], c["libelle"]))[:len(printed)]}
        assert {f"Commune {k}" for k in range(240, 260)} <= printed
    else:
        assert "Le tableau des 260 communes qui comptent au moins une structure est en ligne" in text
    rows = len(re.findall(r"Activités fédérales de l'action A\d+\.1", text))
    assert rows == 80 or f"… et {80 - rows} autres indicateurs de cette rubrique dans le rapport en ligne" in text
    sheets = len(re.findall(r"Fiche \d{3}", text))
    assert sheets == 260 or (sheets and f"… et {260 - sheets} autres fiches, en ligne avec ce rapport" in text) \
        or (not sheets and "sont en ligne, avec ce rapport" in text)
    assert _flat(adresse) in _flat(text)
