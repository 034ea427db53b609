"""The static site, rendered from a real pipeline run: secrecy, escaping, formatting, links,
open data, chart downloads, atomic publication."""
import csv
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT, frame, query
from observatoire.report import run_report
from reports.formatting import csv_cell
from conftest import FORMULA_NAME

pytestmark = pytest.mark.lent     # the full tier: real dbt, GX, Chromium or whole runs



class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.text = [], []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)

    def handle_data(self, data):
        self.text.append(data)


def parse(path: Path) -> Links:
    p = Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def html_files(root: Path):
    return [p for p in root.rglob("*.html") if "/gx/" not in str(p) and "/dbt/" not in str(p)]


def test_both_sites_have_their_pages(site):
    _, root, results, codes = site
    public, interne = root / "public", root / "interne"
    for rel in ("index.html", "2022/index.html", "2017/index.html", "tableau-de-bord.html", "methodologie.html",
                "indicateurs/index.html", "indicateurs/taux_reponse.html", "donnees/indicateurs.csv",
                "2022/territoires/200057982.html"):
        assert (public / rel).exists(), rel
    assert not (public / "structures").exists()
    assert (interne / "structures" / f"{codes['hostile']}.html").exists()
    assert (interne / "qualite" / "2022.html").exists()
    # the GX Data Docs load their styles from CDNs: left out of the site; dbt docs made self-contained
    assert not (interne / "qualite" / "gx").exists()
    dbt = (interne / "dbt" / "index.html").read_text(encoding="utf-8")
    assert "MANIFEST.JSON INLINE DATA" not in dbt and '"pub_indicateurs"' in dbt
    assert not (interne / "dbt" / "manifest.json").exists()
    assert results["public"].pages > 100 and results["interne"].pages > results["public"].pages


def test_every_link_resolves(site):
    _, root, _, codes = site
    checked = 0
    for page in html_files(root):
        for link in parse(page).links:
            if link.startswith(("http://", "https://", "data:", "#", "mailto:")):
                continue
            assert not link.startswith("/"), f"{page}: absolute link {link}"
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.exists(), f"{page.relative_to(root)} → {link}"
            checked += 1
    assert checked > 2000


def test_public_site_never_shows_a_secret_value_nor_a_structure(site):
    db, root, _, codes = site
    public = root / "public"
    names = {n for (n,) in query(db, "SELECT DISTINCT nom_structure FROM reponses")}
    codes = {c for (c,) in query(db, "SELECT DISTINCT code_structure FROM reponses")}
    # a unit sheet lists its centres by name (public facts, issue 17): only there, and with no figure
    listing = re.compile(r'<section aria-labelledby="centres">.*?</section>', re.S)
    pages = {p: p.read_text(encoding="utf-8") for p in public.rglob("*") if p.suffix in (".html", ".csv")
             and "plotly" not in p.name}
    lists = [m for text in pages.values() for m in listing.findall(text)]
    assert lists and not [m for m in lists if "<td" in m or "%" in m or "€" in m or "chiffres" in m.split("</p>", 1)[1]]
    everything = "\n".join(listing.sub("", text) for text in pages.values())
    assert not [c for c in codes if c in everything]
    assert not [n for n in names if n and len(n) > 12 and n in everything]
    # a withheld cell is nowhere: its unit's page (when it has one) does not list that indicator
    secret = frame(db, """SELECT i.*, u.nb_indicateurs_publies FROM indicateurs i
                          JOIN publie.pub_unites u USING (annee, niveau, code)
                          WHERE statut = 'secret' AND niveau IN ('commune', 'territoire') AND valeur >= 1000""")
    assert len(secret) > 20
    from reports.formatting import nombre
    checked = 0
    for row in secret.to_dict("records"):
        page = public / str(row["annee"]) / f"{row['niveau']}s" / f"{row['code'].lower()}.html"
        if row["nb_indicateurs_publies"] == 0:        # nothing to show: no page (its territory names it)
            assert not page.exists(), page
            continue
        html = page.read_text(encoding="utf-8")
        assert f"indicateurs/{row['indicateur']}.html" not in html, (row["indicateur"], page)
        assert nombre(row["valeur"]) not in html, (row["indicateur"], page)
        assert "secret</td>" not in html
        checked += 1
    assert checked > 5
    # and the open data leaves them empty
    with (public / "donnees" / "indicateurs.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert {r["niveau"] for r in rows} <= {"commune", "territoire", "departement", "national"}
    assert all(r["valeur"] == r["numerateur"] == r["denominateur"] == "" for r in rows if r["statut"] == "secret")
    assert any(r["statut"] == "secret" for r in rows)


def test_names_from_the_data_are_escaped(site):
    _, root, _, codes = site
    page = (root / "interne" / "structures" / f"{codes['hostile']}.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page
    assert "Centre &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Les Amis&#34;" in page
    listing = (root / "interne" / "structures" / "index.html").read_text(encoding="utf-8")
    assert "<script>alert" not in listing


def test_csv_cells_starting_with_a_formula_are_neutralised(site):
    _, root, _, codes = site
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("@cmd") == "'@cmd" and csv_cell("-12,5") == "-12,5"
    fiche = root / "interne" / "qualite" / "fiches_retour" / "2022" / f"{codes['formula']}.csv"
    with fiche.open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    assert rows and all(r["nom_structure"] == "'" + FORMULA_NAME for r in rows)


def test_french_number_formatting(site):
    _, root, _, codes = site
    html = (root / "public" / "2022" / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<span class="chiffre">\d{1,3},\d\u202f%</span>', html)           # 96,6 %
    assert re.search(r'<span class="chiffre">\d{1,3}\u202f\d{3}\u202f€</span>', html)   # 502 215 €
    assert re.search(r'<span class="chiffre">\d{1,3}\u202f\d{3}</span>', html)          # 45 427
    assert not re.search(r'<span class="chiffre">\d+\.\d', html)                      # no decimal point


def test_plotly_is_shared_not_inlined(site):
    _, root, _, codes = site
    for audience in ("public", "interne"):
        bundles = list((root / audience).rglob("plotly*.js"))
        assert [b.relative_to(root / audience).as_posix() for b in bundles] == ["assets/plotly.min.js"]
    sizes = [p.stat().st_size for p in html_files(root)]
    assert max(sizes) < 300_000


def test_chart_csv_holds_exactly_the_figures_shown(site):
    _, root, _, codes = site
    page = root / "public" / "2022" / "index.html"
    html = page.read_text(encoding="utf-8")
    assert html.count('href="index-chiffres.csv" download') == 1      # one data file per page
    spec = json.loads(re.search(r'<script type="application/json" id="spec-themes">(.*?)</script>', html).group(1))
    trace = spec["data"][0]
    with (page.parent / "index-chiffres.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert rows[0] == ["graphique", "serie", "categorie", "valeur"]
    title = re.search(r'<figure class="graphique" id="themes">\s*<figcaption>([^<]+)</figcaption>', html).group(1)
    themes = [r for r in rows[1:] if r[0] == title]
    assert [r[2] for r in themes] == trace["customdata"]
    assert [float(r[3]) * 100 for r in themes] == pytest.approx(trace["x"])     # shares drawn in per cent


def test_a_curve_breaks_where_a_year_is_missing(site):
    """A year without a value (a structure that did not answer) leaves a gap in its curve, with
    its year on the axis and in the chart's table: never a line drawn straight over it."""
    _, root, _, _ = site
    gapped = 0
    for page in sorted((root / "interne" / "structures").glob("*.html")):
        html_text = page.read_text(encoding="utf-8")
        for found in re.finditer(r'<script type="application/json" id="spec-[^"]*">(.*?)</script>', html_text, re.S):
            spec = json.loads(found.group(1))
            for trace in spec["data"]:
                if trace.get("mode") != "lines+markers":
                    continue
                xs, ys = trace["x"], trace["y"]
                assert xs == list(range(xs[0], xs[-1] + 1)), (page.name, xs)      # every year of its span
                assert ys[0] is not None and ys[-1] is not None and trace["connectgaps"] is False
                if None in ys:
                    gapped += 1
                    year = xs[ys.index(None)]
                    assert year in spec["layout"]["xaxis"]["tickvals"]
                    header = re.search(r"<thead>(.*?)</thead>", html_text.split('class="graphique"')[1], re.S).group(1)
                    assert f">{year}<" in header, page.name
    assert gapped > 0            # the demo has structures that skipped a year


def test_chart_csv_writes_whole_numbers_as_such(site):
    """The figures of a page's charts, as the open data writes them: "891", never the stored float
    "891.0"; a share keeps its decimals."""
    _, root, _, _ = site
    values = []
    for audience in ("public", "interne"):
        for path in (root / audience).rglob("*-chiffres.csv"):
            with path.open(encoding="utf-8-sig") as f:
                values += [(path.name, r["valeur"]) for r in csv.DictReader(f, delimiter=";")]
    assert len(values) > 1000
    assert [v for v in values if re.fullmatch(r"-?\d+\.0+", v[1])] == []
    assert any(re.fullmatch(r"0\.\d+", v) for _, v in values) and any(re.fullmatch(r"\d{4,}", v) for _, v in values)


def test_an_indicators_card_reads_as_sentences(site):
    """Each line of an indicator's card starts with a capital, as its neighbours do ("Publié à
    partir de 3 structures", not "publié…" under "Une hausse est un progrès")."""
    _, root, _, _ = site
    starts = {}
    for page in (root / "public" / "indicateurs").glob("*.html"):
        for term, value in re.findall(r"<dt>([^<]+)</dt><dd>(.)", page.read_text(encoding="utf-8")):
            starts.setdefault(term, set()).add(value)
    assert {"Calcul", "Champ", "Publication", "Sens"} <= set(starts)
    assert {t: sorted(v) for t, v in starts.items() if any(c.islower() for c in v)} == {}


def test_yearly_report_reads_like_a_plaquette(site):
    _, root, _, codes = site
    main = (root / "public" / "2022" / "index.html").read_text(encoding="utf-8").split('<main id="contenu">')[1]
    headings = [html.unescape(h) for h in re.findall(r"<h2[^>]*>([^<]+)</h2>", main)]
    text = " | ".join(headings)
    import yaml
    spec = yaml.safe_load((ROOT / "data" / "config" / "pages.yaml").read_text(encoding="utf-8"))
    order = [s["titre"] for s in spec["rapport"]["sections"]] + ["Méthode"]
    positions = [text.index(title) for title in order]
    assert positions == sorted(positions)
    assert re.search(r"n = \d+ / N = \d+", main)
    # a chart of totals over each year's respondents says so, under a reading that compares a panel
    legend = re.search(r'<p class="legende" id="apres-publics">([^<]+)</p>', main).group(1)
    assert "répondantes de chaque année" in html.unescape(legend)
    board = " ".join(parse(root / "public" / "tableau-de-bord.html").text)
    # every trend sentence names its panel
    assert re.search(r"[+−]\d+,\d\u202fpoints? sur un an sur les \d+ structures ayant répondu les deux années\u00a0: "
                     r"(en progrès|en recul|stable)\.", board)
    assert re.search(r"depuis 2018 sur les \d+ structures ayant répondu les deux années", board)



def test_bar_chart_readings_name_the_largest_values(site):
    """ "En tête : …" names the three largest bars, largest first, with the figures of the chart's
    own table, whatever order the bars are drawn in."""
    _, root, _, _ = site
    checked = 0
    for page in sorted((root / "public").glob("20*/index.html")):
        for figure in re.findall(r'<figure class="graphique.*?</figure>', page.read_text(encoding="utf-8"), re.S):
            reading = re.search(r'<p class="lecture">En tête\u00a0: (.*?)\.</p>', figure)
            if not reading:
                continue
            named = [tuple(part.rsplit("\u00a0: ", 1)) for part in html.unescape(reading.group(1)).split("\u202f; ")]
            rows = [(html.unescape(label), value) for label, value in
                    re.findall(r'<tr><th scope="row">([^<]*)</th><td class="n">([^<]*)</td></tr>', figure)]
            number = lambda text: float(re.sub(r"[^\d,]", "", text).replace(",", "."))
            top = sorted(rows, key=lambda row: -number(row[1]))[:3]
            assert [number(v) for _, v in named] == [number(v) for _, v in top], (page, named, rows)
            assert set(named) <= set(rows), (page, named)
            checked += 1
    assert checked >= 12       # themes and finances, every year


def test_a_failed_build_leaves_the_previous_site_whole(site, monkeypatch):
    db, root, _, codes = site
    before = sorted((p.relative_to(root / "public").as_posix(), p.stat().st_size)
                    for p in (root / "public").rglob("*") if p.is_file())
    from reports import site as site_module

    def broken(look, w):
        raise RuntimeError("panne simulée pendant la production")
    monkeypatch.setattr(site_module.methodology, "render", broken)
    with pytest.raises(RuntimeError):
        run_report(db, root, audiences=("public",))
    after = sorted((p.relative_to(root / "public").as_posix(), p.stat().st_size)
                   for p in (root / "public").rglob("*") if p.is_file())
    assert after == before
    assert not [p for p in root.iterdir() if p.name.startswith(".")]


def test_a_small_commune_points_to_its_territory(site):
    db, root, _, _ = site
    small = frame(db, """SELECT * FROM publie.pub_unites WHERE annee = 2022 AND niveau = 'commune'
                         AND nb_indicateurs_publies = 0 AND nb_cs = 1 AND nb_evs = 0""")
    assert len(small)
    report = root / "public" / "2022" / "index.html"
    listed = re.search(r'<ul class="petites-communes">(.*?)</ul>', report.read_text(encoding="utf-8"), re.S).group(1)
    for u in small.to_dict("records"):
        sentence = f"{u['libelle']} : 1 centre social ; ses chiffres sont comptés dans ceux de {u['libelle_parent']}."
        # no page of its own (it would only repeat that sentence): the year's report says it, the
        # territory's name a link to its sheet, which lists the commune among those without one
        assert not (root / "public" / "2022" / "communes" / f"{u['code']}.html").exists()
        line = [li for li in re.findall(r"<li>(.*?)</li>", listed, re.S)
                if html.unescape(re.sub(r"<[^>]+>|\s+", " ", li)).strip().startswith(u["libelle"] + " :")]
        assert len(line) == 1 and sentence in text_of_html(line[0])
        assert re.search(rf'<a href="territoires/{u["code_parent"]}.html">{re.escape(html.escape(u["libelle_parent"]))}</a>',
                         line[0]), line[0]
        sheet = (root / "public" / "2022" / "territoires" / f"{u['code_parent']}.html").read_text(encoding="utf-8")
        without = re.search(r'<p class="sans-fiche-note">(.*?)</p>\s*<ul class="sans-fiche">(.*?)</ul>', sheet, re.S)
        assert f"{u['libelle']} : 1 centre social" in [text_of_html(li) for li in re.findall(r"<li>(.*?)</li>",
                                                                                             without.group(2))]
        assert re.search(r"\bn'ont pas de fiche : .* ce territoire\.$|^Une commune n'a pas de fiche",
                         text_of_html(without.group(1)))
    # the reason, said once on the report's list, not in the sheet's lines
    note = text_of_html(re.search(r'<p class="fiches-note">(.*?)</p>', report.read_text(encoding="utf-8"), re.S).group(1))
    assert note.startswith("Ces communes ont trop peu de structures répondantes") and "moins de trois" not in note


def test_the_commune_table_says_which_communes_have_no_sheet(site):
    """In the year's report, a commune with a sheet is a link to it; one without says so, its
    territory's name leading to that territory's sheet; a note below the table says why."""
    db, root, _, _ = site
    units = frame(db, "SELECT code, libelle, nb_indicateurs_publies FROM publie.pub_unites "
                      "WHERE annee = 2022 AND niveau = 'commune'")
    report = root / "public" / "2022" / "index.html"
    page = report.read_text(encoding="utf-8")
    table = re.search(r"<caption>Structures par commune, 2022</caption>(.*?)</table>\s*(<p[^>]*>.*?</p>)?", page, re.S)
    rows = {text_of_html(re.search(r'<th scope="row">(.*?)</th>', tr, re.S).group(1)).replace(" sans fiche", ""): tr
            for tr in re.findall(r"<tr><th scope=\"row\">.*?</tr>", table.group(1), re.S)}
    assert len(rows) == len(units) and (units["nb_indicateurs_publies"] == 0).sum() > 0
    for u in units.to_dict("records"):
        tr = rows[u["libelle"]]
        head = re.search(r'<th scope="row">(.*?)</th>', tr, re.S).group(1)
        if u["nb_indicateurs_publies"]:
            assert f'href="communes/{u["code"]}.html"' in head and "sans fiche" not in head
        else:
            assert "<a " not in head and '<span class="niveau">sans fiche</span>' in head, head
            assert re.search(r'<td data-label="Territoire"><a href="territoires/\d+\.html">', tr), tr
        for href in re.findall(r'href="([^"]+)"', tr):
            assert (report.parent / href).exists(), href
    assert text_of_html(table.group(2)).startswith("Les communes « sans fiche » ont trop peu de structures répondantes")


def test_communes_are_listed_in_french_alphabetical_order(site):
    """Accents and case aside: Châtenay-Malabry and Châtillon before Chaville, as a reader looks
    for them (code-point order put every « Châ » after « Cha »)."""
    import unicodedata
    _, root, _, _ = site
    bare = lambda name: "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()
    page = (root / "public" / "2022" / "index.html").read_text(encoding="utf-8")
    table = re.search(r"<caption>Structures par commune, 2022</caption>(.*?)</table>", page, re.S).group(1)
    lists = {
        "table": [text_of_html(re.sub(r'<span class="niveau">.*?</span>', "", th))
                  for th in re.findall(r'<th scope="row">(.*?)</th>', table, re.S)],
        "report": [text_of_html(li).split(" : ")[0] for li in
                   re.findall(r"<li>(.*?)</li>", re.search(r'<ul class="petites-communes">(.*?)</ul>', page, re.S).group(1))],
    }
    for sheet in sorted((root / "public" / "2022" / "territoires").glob("*.html")):
        found = re.search(r'<ul class="sans-fiche">(.*?)</ul>', sheet.read_text(encoding="utf-8"), re.S)
        if found:
            lists[sheet.name] = [text_of_html(li).split(" : ")[0] for li in re.findall(r"<li>(.*?)</li>", found.group(1))]
    accented = 0
    for where, names in lists.items():
        assert names == sorted(names, key=bare), (where, names)
        accented += names != sorted(names)            # an order that code points alone would not give
    assert accented >= 2, lists


def text_of_html(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", fragment))).strip()


def text_of(page: Path) -> str:
    return re.sub(r"\s+", " ", " ".join(parse(page).text)).replace(" .", ".").replace(" ,", ",")


def test_titles_are_their_own_and_pages_show_no_code(site):
    _, root, _, _ = site
    titles = {}
    for page in html_files(root / "public"):
        html = page.read_text(encoding="utf-8")
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()
        assert title and not title.startswith(("·", "–", "-")), page
        assert title not in titles, f"{page} and {titles.get(title)} share the title {title!r}"
        titles[title] = page
        assert len(re.findall(r"<h1[ >]", html)) == 1, page
        text = text_of(page)
        for word in ("None", "NaN", "nan", "realisations", "sans sens", "Σ", "::int", " is not null", "repondant and",
                     "statut nan", "undefined"):
            assert not re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text), (page, word)
        assert 'class="statut nan"' not in html and 'class="statut None"' not in html


def test_open_data_lists_every_unit_with_its_structures(site):
    """unites.csv: every published unit of every year, the communes without figures of their own
    too (their count of centres is public), in the project's CSV dialect."""
    from reports.opendata import UNIT_COLUMNS
    db, root, _, _ = site
    raw = (root / "public" / "donnees" / "unites.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert list(rows[0]) == UNIT_COLUMNS
    expected = frame(db, "SELECT * FROM publie.pub_unites")
    assert len(rows) == len(expected)
    small = [r for r in rows if r["niveau"] == "commune" and r["nb_indicateurs_publies"] == "0"]
    assert small and all(int(r["nb_structures"]) >= 1 and r["code_parent"] for r in small)
    assert [(int(r["annee"]), r["niveau"]) for r in rows] == sorted((int(r["annee"]), r["niveau"]) for r in rows)
    by_key = expected.set_index(["annee", "niveau", "code"])
    for r in rows[:: max(1, len(rows) // 50)]:
        e = by_key.loc[(int(r["annee"]), r["niveau"], r["code"])]
        assert r["libelle"] == e["libelle"] and int(r["nb_structures"]) == e["nb_structures"]


def test_open_data_has_its_licence_date_precision_and_dictionary(site):
    db, root, _, _ = site
    donnees = root / "public" / "donnees"
    with (donnees / "indicateurs.csv").open(encoding="utf-8-sig") as f:
        reader = csv.DictReader(f, delimiter=";")
        assert reader.fieldnames[:10] == ["indicateur", "annee", "niveau", "code", "libelle_unite", "valeur",
                                          "numerateur", "denominateur", "n_structures", "statut"]
        rows = list(reader)
    decimals = dict(query(db, "SELECT indicateur, decimales FROM publie.pub_registre"))
    for r in rows:
        if r["valeur"]:
            places = len(r["valeur"].split(".")[1].rstrip("0")) if "." in r["valeur"] else 0
            assert places <= decimals[r["indicateur"]], r
        # a whole number reads as one: "5", never "5.0"
        assert not [c for c in ("valeur", "numerateur", "denominateur") if re.fullmatch(r"-?\d+\.0+", r[c])], r
    page = text_of(donnees / "index.html")
    assert "Licence Ouverte 2.0" in page and "Date de production" in page
    from reports.formatting import nombre
    assert f"indicateurs.csv : {nombre(len(rows))} lignes".replace("\u202f", " ") in page.replace("\u202f", " ")
    published = query(db, "SELECT max(publie_le) FROM publications WHERE statut = 'publiee'")[0][0]
    from reports.formatting import date_longue
    assert date_longue(published) in page
    licence = (donnees / "LICENCE.txt").read_text(encoding="utf-8")
    assert "Licence Ouverte 2.0" in licence and "Fédération des centres sociaux des Hauts-de-Seine" in licence
    with (donnees / "dictionnaire.csv").open(encoding="utf-8-sig") as f:
        assert {r["colonne"] for r in csv.DictReader(f, delimiter=";")} >= set(reader.fieldnames[:10])
    with (donnees / "registre.csv").open(encoding="utf-8-sig") as f:
        registry = list(csv.DictReader(f, delimiter=";"))
    assert registry and "numerateur" not in registry[0] and "filtre" not in registry[0]


def test_a_year_page_reads_only_its_year_and_earlier_ones(site, tmp_path):
    """The site of a warehouse whose last year is not published yet has the same pages for every
    earlier year, byte for byte: a year's pages never read a later year, nor today's date."""
    db, root, _, _ = site
    import shutil
    import duckdb
    from reports.site import build_site
    copy = tmp_path / "sans-2022.duckdb"
    shutil.copy2(db, copy)
    con = duckdb.connect(str(copy))
    for (table,) in con.execute("SELECT table_name FROM information_schema.columns WHERE table_schema = 'publie' "
                                "AND column_name = 'annee'").fetchall():
        con.execute(f"DELETE FROM publie.{table} WHERE annee = 2022")
    con.execute("DELETE FROM publications WHERE annee = 2022")
    con.close()
    con = duckdb.connect(str(copy), read_only=True)
    try:
        build_site(con, tmp_path / "site", "public")
    finally:
        con.close()
    compared = 0
    for year in range(2017, 2022):
        for page in (root / "public" / str(year)).rglob("*"):
            if page.is_file():
                again = tmp_path / "site" / page.relative_to(root / "public")
                assert again.read_bytes() == page.read_bytes(), page
                compared += 1
    assert compared > 50
    assert not (tmp_path / "site" / "2022").exists()


def test_pages_are_declared_not_coded(site, tmp_path):
    """A page spec that renames, reorders and regroups sections, and names an indicator the
    registry does not have, renders with no code change; the unknown id is reported."""
    db, _, _, _ = site
    import duckdb
    import yaml
    from reports.site import build_site
    spec = yaml.safe_load((ROOT / "data" / "config" / "pages.yaml").read_text(encoding="utf-8"))
    spec["rapport"]["sections"] = [
        {"id": "projet", "titre": "Le projet fédéral en chiffres", "tuiles": {"axe": ["A1", "A2"], "source": "enquete"}},
        {"id": "numerique", "titre": "Le numérique", "tuiles": {"indicateurs": ["part_theme_numerique",
                                                                                "indicateur_disparu"]},
         "graphiques": [{"type": "evolution", "indicateurs": ["part_outils_numeriques"]}]},
        {"id": "vide", "titre": "Rubrique sans données", "tuiles": {"rubrique": "rubrique_inconnue"}},
    ]
    path = tmp_path / "pages.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    messages = []
    con = duckdb.connect(str(db), read_only=True)
    try:
        build_site(con, tmp_path / "site", "public", pages=path, on_progress=messages.append)
    finally:
        con.close()
    main = (tmp_path / "site" / "2022" / "index.html").read_text(encoding="utf-8").split('<main id="contenu">')[1]
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", main)
    # the key messages open the report, whatever its declared sections
    assert headings == ["À retenir en 2022", "Le projet fédéral en chiffres", "Le numérique", "Méthode"]
    assert 'href="../indicateurs/part_pacte_cooperation.html"' in main       # an A2 survey indicator
    assert 'href="../indicateurs/nb_structures.html"' not in main
    assert 'id="spec-numerique"' in main
    assert any("indicateur_disparu" in m for m in messages)


def test_every_value_read_from_the_data_may_be_missing(site, tmp_path):
    """Labels, names and precisions left empty in the published marts and the build: both sites
    still render, and no page shows "None" or "nan"."""
    db, _, _, _ = site
    import shutil
    import duckdb
    from reports.site import build_site
    copy = tmp_path / "trous.duckdb"
    shutil.copy2(db, copy)
    con = duckdb.connect(str(copy))
    con.execute("UPDATE publie.pub_registre SET libelle_court = NULL, libelle_unite = NULL, libelle_sens = NULL, "
                "libelle_source = NULL, libelle_maillon = NULL, decimales = NULL, n_min = NULL "
                "WHERE rubrique IN ('themes', 'publics')")
    con.execute("UPDATE publie.pub_unites SET libelle_parent = NULL, nb_cs = NULL WHERE niveau = 'commune'")
    con.execute("UPDATE publie.pub_comparaison_nationale SET editeur_source = NULL, titre_source = NULL, "
                "source_nationale = NULL")
    con.execute("UPDATE publie.pub_federation SET contact = NULL, licence_url = NULL")
    con.execute("UPDATE int_structures_annees SET nom_structure = NULL, type_structure = NULL")
    con.execute("UPDATE constats_qualite SET colonne = NULL, annee_enquete = NULL")
    con.close()
    con = duckdb.connect(str(copy), read_only=True)
    try:
        for audience in ("public", "interne"):
            build_site(con, tmp_path / audience, audience)
    finally:
        con.close()
    pages = [p for a in ("public", "interne") for p in html_files(tmp_path / a)]
    assert len(pages) > 300
    for page in pages:
        text = text_of(page)
        assert not re.search(r"(?<![\w-])(None|nan|NaN)(?![\w-])", text), page


def test_sites_built_together_are_the_sites_built_alone(site, tmp_path, monkeypatch):
    """Built together, the internal site takes the public one's pages (rendered once, written to
    both with each site's own menu), here by forked workers for the unit sheets, and the
    structure pages and feedback sheets written by small batches: every file of each site is,
    byte for byte, the one it has when built alone, in this process, in one batch."""
    db, _, results, _ = site
    import duckdb
    import reports.site as S
    from reports import qualite
    con = duckdb.connect(str(db), read_only=True)
    try:
        monkeypatch.setattr(S.units, "PARALLEL_FROM", 0)
        monkeypatch.setattr(S.internal, "BATCH", 7)
        monkeypatch.setattr(qualite, "BATCH", 1)
        together = S.build_sites(con, {a: tmp_path / "ensemble" / a for a in ("public", "interne")})
        monkeypatch.setattr(S.units, "PARALLEL_FROM", 10**9)
        monkeypatch.setattr(S.internal, "BATCH", 10**6)
        monkeypatch.setattr(qualite, "BATCH", 10**6)
        alone = [S.build_site(con, tmp_path / "seul" / a, a) for a in ("public", "interne")]
    finally:
        con.close()
    assert [r.pages for r in together] == [r.pages for r in alone] == [results[a].pages for a in ("public", "interne")]
    for audience in ("public", "interne"):
        files = {}
        for way in ("ensemble", "seul"):
            folder = tmp_path / way / audience
            files[way] = {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        assert files["ensemble"].keys() == files["seul"].keys()
        assert [rel for rel, data in files["ensemble"].items() if files["seul"][rel] != data] == []
    menu = (tmp_path / "ensemble" / "interne" / "2022" / "index.html").read_text(encoding="utf-8")
    assert "structures/index.html" in menu and "structures/index.html" not in (
        tmp_path / "ensemble" / "public" / "2022" / "index.html").read_text(encoding="utf-8")


def test_internal_pages_speak_plain_french(site):
    """The federation's own pages: structure types in words (not CS / EVS), severities as labels,
    real plurals rather than "(s)", and the same typography as the public site."""
    _, root, _, codes = site
    interne = root / "interne"
    pages = [p for p in html_files(interne) if "structures" in p.parts or "qualite" in p.parts]
    assert len(pages) > 50
    for page in pages:
        text = text_of(page)
        assert not re.search(r"\w\(s\)", text), page
        assert not re.search(r"\| (info|avertissement|bloquant) \|", " | ".join(parse(page).text)), page
    listing = text_of(interne / "structures" / "index.html")      # (the validation's messages are not ours)
    assert not re.search(r"(?<![\w-])(CS|EVS)(?![\w-])", listing.split("Structures invitées")[1])
    sheet = text_of(interne / "structures" / f"{codes['hostile']}.html")
    assert re.search(r"(Centre social|Espace de vie sociale) — .* — code ", sheet)
    assert re.search(r"Médiane des (centres sociaux|espaces de vie sociale) du département", sheet)


def test_each_structure_of_the_list_can_be_told_apart(site):
    """Two structures may share a name and a commune (the demo has several « Centre social Le
    Cèdre – Antony »): each row of the internal list reads differently, by the structure's code,
    the one its sheet gives."""
    _, root, _, _ = site
    listing = (root / "interne" / "structures" / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr><th scope=\"row\"><a href=\"([^\"]+)\">(.*?)</tr>", listing)
    assert len(rows) > 50
    texts = [re.sub(r"<[^>]+>", " ", row) for _, row in rows]
    names = [re.sub(r"<[^>]+>", "", row.split("</a>")[0]) for _, row in rows]
    assert len(set(names)) < len(names)                # homonyms exist...
    assert len(set(texts)) == len(texts)               # ...and each row still reads on its own
    for href, row in rows[:10]:
        code = re.search(r"— code ([^.<]+)\.", (root / "interne" / "structures" / href).read_text(encoding="utf-8")).group(1)
        assert f">{code}<" in row, (href, code)


def test_the_first_year_published_has_no_column_of_missing_trends(site):
    """2017 has no year before it: its sheets say so once instead of 45 times "Pas d'évolution
    publiée", and its charts do not point to a reading of a trend that is not there."""
    _, root, _, _ = site
    first = min(int(p.name) for p in (root / "public").iterdir() if p.name.isdigit())
    sheet = root / "public" / str(first) / "territoires" / "200057966.html"
    text = text_of(sheet)
    assert "Aucune évolution sur un an n'est publiée" in text and "Pas d'évolution publiée" not in text
    assert "Évolution sur un an" not in sheet.read_text(encoding="utf-8")
    report = text_of(root / "public" / str(first) / "index.html")
    assert "écrite au-dessus" not in report
    later = text_of(root / "public" / str(first + 1) / "territoires" / "200057966.html")
    assert "Évolution sur un an" in later and "Aucune évolution sur un an" not in later


def test_quality_pages_separate_their_titles_as_the_rest_of_the_site(site):
    """An em dash between a title's parts, as in « Rapport 2022 — Hauts-de-Seine », on the internal
    site's quality pages and on the standalone ones of `validate` (they had an en dash)."""
    db, root, _, _ = site
    pages = sorted((root / "interne" / "qualite").glob("2*.html")) + sorted((db.parent / "qualite").glob("2*.html"))
    assert len(pages) >= 2
    sheets = 0
    for page in pages:
        text = html.unescape(page.read_text(encoding="utf-8"))
        h1 = re.sub(r"<[^>]+>", "", re.search(r"<h1>(.*?)</h1>", text, re.S).group(1))
        assert re.fullmatch(r"Qualité des données — année \d{4}", h1), (page, h1)
        assert not re.search(r"\) – <a href|</strong> – |\d{4} – ", text), page
        sheets += len(re.findall(r"\) — <a href=\"[^\"]+\">fiche de retour", text))
    assert sheets > 0                   # a structure to review, its feedback sheet after the dash


def test_sheets_and_their_comparison_are_the_ones_dbt_decided(site):
    """Which unit has a sheet, what it is compared with and why a change has no verdict are columns
    of the published marts; the pages follow them, one by one."""
    db, root, _, _ = site
    units = frame(db, "SELECT * FROM publie.pub_unites WHERE annee = 2022 AND niveau <> 'national'")
    folders = {"commune": "communes", "territoire": "territoires", "departement": "departements"}
    sheets = {(folder, p.stem) for folder in folders.values() for p in (root / "public" / "2022" / folder).glob("*.html")}
    assert sheets == {(folders[u["niveau"]], u["code"]) for u in units.to_dict("records") if u["a_une_fiche"]}
    names = {(u["niveau"], u["code"]): u["libelle"] for u in units.to_dict("records")}
    for u in units[units["a_une_fiche"]].to_dict("records"):
        page = (root / "public" / "2022" / folders[u["niveau"]] / f"{u['code']}.html").read_text(encoding="utf-8")
        versus = names[(u["niveau_comparaison"], u["code_comparaison"])]
        assert f'data-label="{html.escape(versus)}"' in page, (u["code"], versus)
    # a change of two published values on too small a panel says why it has no verdict, and only then
    reasons = query(db, """SELECT count(*) FILTER (WHERE motif_sans_verdict_un_an = 'panel_insuffisant'),
                                  count(*) FILTER (WHERE motif_sans_verdict_un_an IS NOT NULL AND verdict_un_an IS NOT NULL)
                           FROM publie.pub_tendances""")[0]
    assert reasons[0] > 0 and reasons[1] == 0
    said = [p for p in (root / "public").rglob("*.html") if "pas de verdict" in p.read_text(encoding="utf-8")]
    assert said and all("moins de 3 structures ont répondu les deux années" in text_of_html(p.read_text(encoding="utf-8"))
                        for p in said)
