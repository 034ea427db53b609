"""The static site, rendered from a real pipeline run: secrecy, escaping, formatting, links,
open data, chart downloads, atomic publication."""
import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import frame, query
from observatoire.report import run_report
from reports.formatting import csv_cell
from conftest import FORMULA_NAME, HOSTILE_NAME



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
    assert (interne / "qualite" / "2022.html").exists() and (interne / "qualite" / "gx" / "index.html").exists()
    assert (interne / "dbt" / "index.html").exists()
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
    everything = "\n".join(p.read_text(encoding="utf-8") for p in public.rglob("*") if p.suffix in (".html", ".csv")
                           and "plotly" not in p.name)
    assert not [c for c in codes if c in everything]
    assert not [n for n in names if n and len(n) > 12 and n in everything]
    # secret cells: the page of that unit says "secret", its chart draws nothing for that year
    secret = frame(db, """SELECT i.*, d.libelle FROM indicateurs i JOIN dim_indicateurs d USING (indicateur)
                          WHERE statut = 'secret' AND niveau IN ('commune', 'territoire') AND valeur >= 1000""")
    assert len(secret) > 20
    from reports.formatting import valeur
    for row in secret.head(60).to_dict("records"):
        page = public / str(row["annee"]) / f"{row['niveau']}s" / f"{row['code'].lower()}.html"
        html = page.read_text(encoding="utf-8")
        assert valeur(row["valeur"], "personnes") not in html, (row["indicateur"], page)
        cells = re.findall(r'href="[^"]*/%s\.html">[^<]*</a></th>\s*<td class="n( secret)?">([^<]*)</td>'
                           % row["indicateur"], html)
        assert cells and cells[0][1] == "secret"
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
    spec = json.loads(re.search(r'<script type="application/json" id="spec-themes">(.*?)</script>', html).group(1))
    trace = spec["data"][0]
    with (page.parent / "index-themes.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.reader(f, delimiter=";"))
    assert rows[0][0] == "Thème"
    assert [r[0] for r in rows[1:]] == trace["y"]
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(trace["x"])


def test_yearly_report_reads_like_a_plaquette(site):
    _, root, _, codes = site
    main = (root / "public" / "2022" / "index.html").read_text(encoding="utf-8").split('<main id="contenu">')[1]
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", main)
    text = " | ".join(headings)
    order = ["Repères clés", "Implantation", "Publics et thèmes", "Participation et bénévolat", "Partenariats",
             "Personnel", "Finances", "Fiches territoires", "Comparaison nationale", "Méthodologie"]
    positions = [text.index(title) for title in order]
    assert positions == sorted(positions)
    assert re.search(r"n = \d+ / N = \d+", main)
    assert re.search(r"[+−]\d+,\d points? sur un an, en (progrès|recul|hausse|baisse)\.|Stable sur un an\.",
                     " ".join(parse(root / "public" / "tableau-de-bord.html").text))


def test_a_failed_build_leaves_the_previous_site_whole(site, monkeypatch):
    db, root, _, codes = site
    before = sorted((p.relative_to(root / "public").as_posix(), p.stat().st_size)
                    for p in (root / "public").rglob("*") if p.is_file())
    from reports import site as site_module

    def broken(self, w):
        raise RuntimeError("panne simulée pendant la production")
    monkeypatch.setattr(site_module.Site, "methodology", broken)
    with pytest.raises(RuntimeError):
        run_report(db, root, audiences=("public",))
    after = sorted((p.relative_to(root / "public").as_posix(), p.stat().st_size)
                   for p in (root / "public").rglob("*") if p.is_file())
    assert after == before
    assert not [p for p in root.iterdir() if p.name.startswith(".")]
