"""The built site in a real headless Chromium, served over loopback: no console error, every
chart drawn, tables present; a screenshot of each page is kept in test-artifacts/."""
import re

import pytest
from playwright.sync_api import expect

from conftest import ROOT, serve

ARTIFACTS = ROOT / "test-artifacts"
PAGES = [
    ("public", "index.html", 0),
    ("public", "2022/index.html", 4),
    ("public", "2020/index.html", 4),
    ("public", "tableau-de-bord.html", 3),
    ("public", "indicateurs/part_outils_numeriques.html", 1),
    ("public", "2022/territoires/200057982.html", 1),
    ("public", "methodologie.html", 0),
    ("interne", "structures/index.html", 0),
    ("interne", "qualite/2022.html", 0),
]


@pytest.fixture(scope="module")
def tab(browser):
    """One page for the whole module: reloading in the same context reuses V8's compiled plotly.js."""
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def urls(site):
    _, root, _, codes = site
    with serve(root) as base:
        yield base, codes


@pytest.mark.parametrize("audience, path, charts", PAGES)
def test_page_renders_without_error(tab, urls, audience, path, charts):
    base, _ = urls
    errors = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    response = tab.goto(f"{base}/{audience}/{path}")
    assert response.status == 200
    expect(tab.locator(".js-plotly-plot")).to_have_count(charts)
    for i in range(charts):   # each chart really drew its marks
        plot = tab.locator(".js-plotly-plot").nth(i)
        expect(plot.locator(".main-svg").first).to_be_visible()
        assert plot.locator(".bars path, .scatterlayer .trace").count() > 0
    if charts:
        assert tab.locator("figure.graphique details table").count() == charts
        assert tab.locator("figure.graphique a[download]").count() == charts
    assert tab.locator("h1").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{audience}-{path.replace('/', '_')}.png"), full_page=True)
    assert errors == []


def test_structure_page_with_a_hostile_name_runs_no_script(tab, urls):
    base, codes = urls
    dialogs = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.goto(f"{base}/interne/structures/{codes['hostile']}.html")
    expect(tab.locator("h1")).to_contain_text("<script>alert(1)</script>")
    expect(tab.locator(".js-plotly-plot")).to_have_count(1)
    assert dialogs == []


def test_chart_table_fallback_and_tooltip_in_french(tab, urls):
    base, _ = urls
    tab.goto(f"{base}/public/2022/index.html")
    figure = tab.locator("figure#themes")
    figure.locator("summary").click()
    cells = figure.locator("tbody td")
    expect(cells.first).to_be_visible()
    assert "\u202f%" in cells.first.inner_text() and "," in cells.first.inner_text()
    box = figure.locator(".bars path").first.bounding_box()   # plotly's drag layer covers the bars
    tab.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(figure.locator(".hoverlayer")).to_contain_text(re.compile(r"\d+,\d\u202f%"))


def test_print_layout_hides_navigation(tab, urls):
    base, _ = urls
    tab.goto(f"{base}/public/2022/index.html")
    tab.emulate_media(media="print")
    assert tab.locator("header.site").is_hidden()
    assert tab.locator("figure#themes details table").is_visible()
    tab.emulate_media(media="screen")
