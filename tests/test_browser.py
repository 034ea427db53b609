"""The built site in a real headless Chromium, served over loopback, as readers see it: a crawl of
every public page on a 390 px phone, charts drawn in French without toolbar, the printed A4
report, the dbt docs offline. Screenshots and the PDF are kept in test-artifacts/."""
import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from conftest import ROOT, serve

pytestmark = pytest.mark.lent     # the full tier: real dbt, GX, Chromium or whole runs

ARTIFACTS = ROOT / "test-artifacts"
ENGLISH = re.compile(r"\b(Download|Autoscale|Reset|Zoom|Pan|Produced with|Toggle|Compare data|Show closest|"
                     r"plot|Click|Double-click|Snapshot|Box Select|Lasso)\b")
CODE_WORDS = re.compile(r"(?<![\w-])(None|NaN|nan|undefined|null|realisations|sans sens|Σ)(?![\w-])|::int|"
                        r" is not null|repondant and|SELECT ")
# French typography: a (narrow) no-break space before : ; ! ? % € and inside « », and between the
# groups of a number ("1 607"), never a plain one
TYPOGRAPHY = re.compile(r"\S (?=[:;!?»])|« |\d ?[%€]|\d \d{3}(?!\d)")
# tick labels of a chart that repeat ("0 1 1 2 2") or are written over one another
TICK_CLASHES = """() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(plot => {
    const name = plot.closest('figure').id, out = [];
    for (const axis of ['.xtick text', '.ytick text']) {
        const texts = [...plot.querySelectorAll(axis)].map(t => t.textContent).filter(t => t);
        if (new Set(texts).size !== texts.length) out.push(name + ': ' + texts.join(' | '));
    }
    const boxes = [...plot.querySelectorAll('.xtick text, .ytick text')]
        .map(t => [t.textContent, t.getBoundingClientRect()]).filter(([, r]) => r.width > 0);
    boxes.forEach(([ta, a], i) => boxes.slice(i + 1).forEach(([tb, b]) => {
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1)
            out.push(name + ': ' + ta + ' over ' + tb);
    }));
    return out;
})"""
# the names heading the rows of a table that scrolls sideways, broken over more than two lines
SQUEEZED_ROW_HEADERS = """() => [...document.querySelectorAll('.defilement th[scope=row]')].filter(th => {
    if (!th.checkVisibility()) return false;
    const range = document.createRange();
    range.selectNodeContents(th);
    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 2;
}).map(th => th.innerText)"""
PAGES = [
    ("public", "index.html"),
    ("public", "2022/index.html"),
    ("public", "tableau-de-bord.html"),
    ("public", "indicateurs/part_outils_numeriques.html"),
    ("public", "2022/territoires/200057982.html"),
    ("public", "methodologie.html"),
    ("interne", "structures/index.html"),
    ("interne", "qualite/index.html"),
    ("interne", "qualite/2022.html"),
]


@pytest.fixture(scope="module")
def urls(site):
    _, root, _, codes = site
    with serve(root) as base:
        yield base, root, codes


def watched_page(browser, **context_args):
    """One page for the whole module, collecting its console and script errors: reloading in the
    same context reuses V8's compiled plotly.js."""
    context = browser.new_context(**context_args)
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return context, page


@pytest.fixture(scope="module")
def tab(browser):
    context, page = watched_page(browser, viewport={"width": 1366, "height": 900})
    yield page
    context.close()


@pytest.fixture(scope="module")
def phone(browser):
    context, page = watched_page(browser, viewport={"width": 390, "height": 844}, device_scale_factor=1,
                                 is_mobile=True, has_touch=True)
    yield page
    context.close()


def charts_drawn(page) -> int:
    """Every chart of the page became a Plotly plot with real marks; returns how many."""
    traces = page.locator("div.trace")
    n = traces.count()
    expect(page.locator(".js-plotly-plot")).to_have_count(n)
    for i in range(n):
        assert traces.nth(i).locator(".bars path, .scatterlayer .trace").count() > 0
    return n


@pytest.mark.parametrize("audience, path", PAGES)
def test_page_renders_without_error(tab, urls, audience, path):
    base, _, _ = urls
    tab.errors.clear()
    response = tab.goto(f"{base}/{audience}/{path}")
    assert response.status == 200
    n = charts_drawn(tab)
    if n:
        assert tab.locator("figure.graphique details table").count() == n
        assert tab.locator("a[download]").count() == 1          # one data file per page
        assert tab.locator(".modebar").count() == 0              # no Plotly toolbar
    assert tab.locator("h1").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{audience}-{path.replace('/', '_')}.png"), full_page=True)
    assert tab.errors == []


def test_every_public_page_reads_well_on_a_phone(phone, urls):
    """The crawl: each public page at 390 px is no wider than the screen, has a title of its own and
    one heading, shows no missing value, no code, no English control, and every link resolves."""
    base, root, _ = urls
    public = root / "public"
    titles, links, checked = {}, set(), 0
    for file in sorted(public.rglob("*.html")):
        rel = file.relative_to(public).as_posix()
        phone.errors.clear()
        assert phone.goto(f"{base}/public/{rel}").status == 200
        charts_drawn(phone)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{rel} is {width} px wide"
        cut = phone.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot .ytick text, '
                                + '.js-plotly-plot .textpoint text, .js-plotly-plot .xtick text')]
                                .map(t => t.getBoundingClientRect()).filter(r => r.left < -1 || r.right > 391).length""")
        assert cut == 0, f"{rel}: {cut} chart labels cut"
        title = phone.title()
        assert title.strip() and not title.startswith(("·", "–")), rel
        assert title not in titles, f"{rel} and {titles.get(title)} share the title {title!r}"
        titles[title] = rel
        assert phone.locator("h1").count() == 1 and phone.locator("h1").inner_text().strip(), rel
        text = phone.locator("body").inner_text()
        assert not CODE_WORDS.search(text), (rel, CODE_WORDS.search(text).group(0))
        typo = TYPOGRAPHY.search(text)
        assert not typo, (rel, text[max(typo.start() - 40, 0):typo.end() + 10])
        clashes = phone.evaluate(TICK_CLASHES)
        assert not clashes, (rel, clashes[:3])
        squeezed = phone.evaluate(SQUEEZED_ROW_HEADERS)
        assert not squeezed, (rel, squeezed[:3])
        controls = phone.evaluate("""() => [...document.querySelectorAll('a, button, summary, [aria-label], [title]')]
                                     .map(e => [e.innerText, e.getAttribute('aria-label'), e.getAttribute('title'),
                                                e.getAttribute('data-title')].join(' ')).join(' | ')""")
        assert not ENGLISH.search(controls), (rel, ENGLISH.search(controls).group(0))
        assert phone.locator('[class*="nan"], [class*="None"]').count() == 0, rel
        for href in phone.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)"):
            if urlparse(href).netloc == urlparse(base).netloc:
                links.add(urlparse(href).path)
        assert phone.errors == [], (rel, phone.errors)
        checked += 1
    # every page of the demo: its reports, indicators, territories and the communes with figures
    assert checked > 120 and any("/communes/" in rel for rel in titles.values())
    for path in links:
        assert (root / path.lstrip("/")).exists(), f"broken link {path}"


def test_charts_are_skipped_by_keyboard_and_speak_french(tab, urls):
    base, _, _ = urls
    tab.goto(f"{base}/public/2022/index.html")
    charts_drawn(tab)
    focusable = tab.evaluate("""() => [...document.querySelectorAll('div.trace *')].filter(e =>
        e.tabIndex >= 0 && (e.matches('a[href], button, input, [tabindex]'))).length""")
    assert focusable == 0
    skip = tab.locator("figure#themes a.evitement-graphique")
    skip.focus()
    expect(skip).to_be_visible()
    assert skip.inner_text() == "Passer le graphique"
    tab.keyboard.press("Enter")
    assert tab.evaluate("location.hash") == "#apres-themes"
    figure = tab.locator("figure#themes")
    figure.locator("summary").click()
    cells = figure.locator("tbody td")
    expect(cells.first).to_be_visible()
    assert "\u202f%" in cells.first.inner_text() and "," in cells.first.inner_text()
    figure.locator("div.trace").scroll_into_view_if_needed()
    box = figure.locator(".bars path").first.bounding_box()   # plotly's drag layer covers the bars
    tab.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(figure.locator(".hoverlayer")).to_contain_text(re.compile(r"\d+,\d\u202f%"))


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS rgb()/rgba() colours."""
    def luminance(colour):
        r, g, b = (int(x) / 255 for x in re.findall(r"[\d.]+", colour)[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


BACKGROUND = """e => { for (let n = e; n; n = n.parentElement) { const c = getComputedStyle(n).backgroundColor;
                     if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; }"""


def test_keyboard_users_see_where_they_are(tab, urls):
    """The first stops of a report, header included: each has a focus ring of 2 px or more that stands
    out from what is behind it (3:1); the internal site's badge is readable (4.5:1)."""
    base, _, _ = urls
    tab.goto(f"{base}/public/2022/index.html")
    seen = []
    for _ in range(64):     # the header, the plaquette's link, the key messages and the tiles come first
        tab.keyboard.press("Tab")
        ring = tab.evaluate("""e => { const s = getComputedStyle(e);
            return [e.innerText || e.getAttribute('aria-label') || e.tagName, s.outlineStyle, parseFloat(s.outlineWidth),
                    s.outlineColor, (""" + BACKGROUND + """)(e.parentElement)]; }""", tab.evaluate_handle("document.activeElement"))
        text, style, width, colour, behind = ring
        assert style != "none" and width >= 2, ring
        assert contrast(colour, behind) >= 3, ring
        seen.append(text)
    assert "Aller au contenu" in seen and "Passer le graphique" in seen and "Accueil" in seen
    tab.goto(f"{base}/interne/index.html")
    badge = tab.locator("header .interne")
    colours = badge.evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
    assert contrast(*colours) >= 4.5, colours


def test_board_summary_fits_one_screen_and_each_card_draws_its_trajectory(tab, urls):
    """The board's summary (every target, what needs attention first) fits one 1366 x 768 screen;
    below it, a card per indicator with a target draws its value and the trajectory from the
    reference year to the target; the indicators without a target are apart, in a table."""
    base, _, _ = urls
    tab.set_viewport_size({"width": 1366, "height": 768})
    try:
        tab.goto(f"{base}/public/tableau-de-bord.html")
        rows = tab.locator("table.synthese tbody tr")
        assert rows.count() >= 10
        box = tab.locator("section.synthese").bounding_box()
        assert box["y"] + box["height"] <= 768, box
        cards = tab.locator("article.carte")
        n = cards.count()
        assert n == rows.count() and charts_drawn(tab) == n
        for i in range(n):     # the series, and the trajectory from its reference year to its target
            card = cards.nth(i)
            assert card.locator(".scatterlayer .trace").count() == 2
            spec = card.locator("div.trace").evaluate("d => d.data.map(t => t.x)")
            reference = int(re.search(r"Référence (\d{4})", card.inner_text()).group(1))
            assert spec[1][0] == reference and spec[1][-1] == int(re.search(r"Cible (\d{4})", card.inner_text()).group(1))
        main = tab.locator("main").inner_text()
        assert "atteinte" in main and "du chemin parcouru" in main and "depuis 2018" in main
        suivi = tab.locator("table.suivi tbody tr")
        assert suivi.count() >= 20 and tab.locator("table.suivi", has_text="pas de cible").count() > 0
        # a summary row links to its card
        first = rows.nth(0).locator("a").get_attribute("href")
        assert tab.locator(f"article.carte{first}").count() == 1
    finally:
        tab.set_viewport_size({"width": 1366, "height": 900})


def test_the_yearly_report_prints_as_a_paginated_a4_plaquette(tab, urls, tmp_path):
    from pypdf import PdfReader
    base, _, _ = urls
    tab.goto(f"{base}/public/2022/index.html")
    charts_drawn(tab)
    tab.emulate_media(media="print")
    assert tab.locator("header.site").is_hidden()
    assert tab.locator("figure#themes details table").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "rapport-2022.pdf"
    tab.pdf(path=str(pdf), format="A4", print_background=True)
    tab.emulate_media(media="null")
    reader = PdfReader(str(pdf))
    pages = len(reader.pages)
    assert pages >= 4
    for n, page in enumerate(reader.pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - 595) < 2 and abs(height - 842) < 2          # A4, in points
        text = re.sub(r"\s+", " ", page.extract_text())
        assert f"Page {n} sur {pages}" in text, n
        assert "Fédération des centres sociaux des Hauts-de-Seine" in text, n   # the source on every page
    assert "Données 2022 publiées le" in re.sub(r"\s+", " ", reader.pages[-1].extract_text())


def test_the_board_prints_as_a_short_document_its_summary_on_one_page(tab, urls):
    from pypdf import PdfReader
    base, _, _ = urls
    tab.goto(f"{base}/public/tableau-de-bord.html")
    charts_drawn(tab)
    names = tab.locator("table.synthese tbody th").all_inner_texts()
    tab.emulate_media(media="print")
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / "tableau-de-bord.pdf"
    tab.pdf(path=str(pdf), format="A4", print_background=True)
    tab.emulate_media(media="null")
    pages = [re.sub(r"\s+", " ", p.extract_text()) for p in PdfReader(str(pdf)).pages]
    assert len(pages) <= 6, len(pages)                      # a short board document, not 18 pages
    assert all(re.sub(r"\s+", " ", name) in pages[0] for name in names)     # the whole summary on the first
    assert not any(re.sub(r"\s+", " ", names[0]) in p and "En bref" in p for p in pages[1:])
    assert "Indicateurs de suivi, sans cible" in " ".join(pages)
    assert f"Page {len(pages)} sur {len(pages)}" in pages[-1]


def printed_pages(page) -> list[str]:
    """The page printed to A4, as the text of each sheet (whitespace and line-end hyphens folded)."""
    import io
    from pypdf import PdfReader
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", print_background=True)
    page.emulate_media(media="null")
    return [re.sub(r"\s+", " ", p.extract_text()).replace("- ", "-") for p in PdfReader(io.BytesIO(pdf)).pages]


def test_printed_unit_sheets_never_leave_a_section_heading_without_its_rows(tab, urls):
    """Each section of a territory's or commune's sheet starts on the sheet where its first row
    is printed: never a heading, caption and column headers at the foot of a page, the rows on
    the next one (they were, at the foot of several communes' sheets)."""
    base, root, _ = urls
    last = max(int(p.name) for p in (root / "public").iterdir() if p.name.isdigit())
    sheets = sorted((root / "public" / str(last)).glob("*/*.html"))
    assert len(sheets) > 10
    orphans, long_sheets = [], 0
    for sheet in sheets:
        tab.goto(f"{base}/public/{sheet.relative_to(root / 'public').as_posix()}")
        sections = tab.evaluate("""() => [...document.querySelectorAll('main section table')].map(t =>
            [t.querySelector('caption').innerText, t.querySelector('tbody th').innerText])""")
        pages = printed_pages(tab)
        long_sheets += len(pages) > 2
        fold = lambda text: re.sub(r"\s+", " ", text)
        for caption, first_row in sections:
            start = next(i for i, text in enumerate(pages) if fold(caption) in text)
            rows = next(i for i, text in enumerate(pages) if i >= start and fold(first_row) in text)
            if rows != start:
                orphans.append((sheet.name, caption, start + 1))
    assert long_sheets >= 5           # sheets long enough to break across pages were printed
    assert orphans == []


def test_the_printed_footer_stays_whole(tab, urls):
    """The source and date at the end of a printed page are on one sheet, not split over two."""
    base, _, _ = urls
    for rel in ("tableau-de-bord.html", "2022/index.html"):
        tab.goto(f"{base}/public/{rel}")
        charts_drawn(tab)
        footer = [re.sub(r"\s+", " ", p.inner_text()) for p in tab.locator("footer.site p").all()]
        pages = printed_pages(tab)
        assert len(footer) == 2
        assert all(line in pages[-1] for line in footer), (rel, pages[-1][-300:])


def test_a_unit_sheet_keeps_its_columns_from_section_to_section(tab, urls):
    base, _, _ = urls
    tab.goto(f"{base}/public/2022/territoires/200057990.html")
    # the tables of the sheet's figures (not the tables of its charts' figures, folded under each chart)
    lefts = tab.evaluate("""() => [...document.querySelectorAll('main section table.unite thead tr')].map(tr =>
        [...tr.children].map(th => Math.round(th.getBoundingClientRect().left)).join(','))""")
    assert len(lefts) >= 5 and len(set(lefts)) == 1, lefts
    tab.emulate_media(media="print")
    sizes = tab.evaluate("""() => [getComputedStyle(document.body).fontSize,
                                   getComputedStyle(document.querySelector('main section table td')).fontSize]""")
    tab.emulate_media(media="null")
    assert float(sizes[1].rstrip("px")) <= float(sizes[0].rstrip("px")), sizes    # tables no larger than the text


def test_a_structure_sheet_fits_a_tablet_and_an_a4_page(browser, urls):
    """The table of a structure's figures against its peers on a 768 px tablet and within an A4
    page's printed width (184 mm, 695 px): no column pushed out of the page (its long headers,
    kept on one line, cut the column of compared structures off both)."""
    base, root, codes = urls
    sheets = sorted((root / "interne" / "structures").glob("*.html"))[:3] + \
        [root / "interne" / "structures" / f"{codes['hostile']}.html"]
    for width, media in ((768, "screen"), (695, "print")):
        context, page = watched_page(browser, viewport={"width": width, "height": 900})
        try:
            page.emulate_media(media=media)
            for sheet in sheets:
                page.goto(f"{base}/interne/structures/{sheet.name}")
                right = page.evaluate("() => Math.max(...[...document.querySelectorAll('main table')].map(t => "
                                      "t.getBoundingClientRect().right))")
                assert page.locator("main table").count() and right <= width, (width, media, sheet.name, right)
                assert page.evaluate("document.documentElement.scrollWidth") <= width, (width, media, sheet.name)
        finally:
            context.close()


def test_dbt_docs_work_offline(tab, urls):
    base, _, _ = urls
    outside, failed = [], []
    tab.route(re.compile(r"^(?!http://127\.0\.0\.1).*"), lambda route: (outside.append(route.request.url),
                                                                      route.abort()))
    tab.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    tab.errors.clear()
    try:
        tab.goto(f"{base}/interne/dbt/index.html")
        expect(tab.locator("body")).to_contain_text("pub_indicateurs", timeout=15000)
    finally:
        tab.unroute(re.compile(r"^(?!http://127\.0\.0\.1).*"))
    assert outside == [] and failed == []
    # the icons of the model tree are filled in by Angular, without a script error
    icons = tab.evaluate("() => [...document.querySelectorAll('use')].map(u => u.getAttribute('xlink:href'))")
    drawn = [i for i in icons if i is not None]        # (templates Angular has not used yet have none)
    odd = [i for i in drawn if not re.fullmatch(r"#icn-[a-z-]+", i)]
    assert len(drawn) > 10 and odd == [], odd[:5]
    assert tab.errors == [], tab.errors[:2]


def test_structure_page_with_a_hostile_name_runs_no_script(tab, urls):
    base, _, codes = urls
    dialogs = []
    tab.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    tab.goto(f"{base}/interne/structures/{codes['hostile']}.html")
    expect(tab.locator("h1")).to_contain_text("<script>alert(1)</script>")
    expect(tab.locator(".js-plotly-plot")).to_have_count(1)
    assert "Budget moyen" not in tab.locator("main").inner_text()
    assert dialogs == []


def test_no_page_scrolls_sideways_from_a_phone_to_a_wide_screen(browser, urls):
    """From 360 to 1400 px, the tablet widths just above the phone's stacked cards (641 to 700 px)
    most finely: no table sticks out of the page. They did by 3 to 88 px: a quality finding's long
    file path and column names, a comparison's headers kept on one line."""
    base, root, _ = urls
    interne = root / "interne"
    pages = [p for p in sorted((interne / "qualite").glob("*.html"))] + \
        [interne / "2017" / "index.html", interne / "2022" / "index.html", interne / "methodologie.html",
         interne / "2022" / "territoires" / "200057990.html", interne / "indicateurs" / "taux_reponse.html"] + \
        [p for p in sorted((interne / "structures").glob("*.html")) if "Constats de" in p.read_text(encoding="utf-8")][:4]
    widths = sorted({*range(360, 1401, 40), *range(641, 701, 4), 700})
    context, page = watched_page(browser, viewport={"width": 1400, "height": 900})
    page.route("**/plotly.min.js", lambda route: route.fulfill(body="", content_type="text/javascript"))
    wide = []
    try:
        for file in pages:
            rel = file.relative_to(root).as_posix()
            assert page.goto(f"{base}/{rel}").status == 200
            for width in widths:
                page.set_viewport_size({"width": width, "height": 900})
                over = page.evaluate("document.documentElement.scrollWidth") - width
                if over > 0:
                    wide.append((rel, width, over))
    finally:
        context.close()
    assert len(pages) >= 10 and wide == [], wide[:10]


def test_a_partner_finds_a_commune_without_a_sheet_from_the_home_page(phone, urls):
    """On a phone, from the home page to a small commune's line in the last report, then by its
    territory's name to the territory's sheet, which names it among its communes without one;
    every step a link that resolves, never a dead end."""
    base, _, _ = urls
    phone.goto(f"{base}/public/index.html")
    phone.get_by_role("link", name=re.compile(r"^Fiches territoires et communes 2022$")).click()
    assert urlparse(phone.url).path == "/public/2022/index.html" and urlparse(phone.url).fragment == "s-fiches"
    expect(phone.locator("#s-fiches")).to_be_in_viewport()
    line = phone.locator("ul.petites-communes li").first
    text = re.sub(r"\s+", " ", line.inner_text())
    commune, territory = re.fullmatch(r"(.+?) : .+ ; ses chiffres sont comptés dans ceux de (.+)\.", text).groups()
    line.get_by_role("link", name=territory).click()
    assert re.fullmatch(r"/public/2022/territoires/[^/]+\.html", urlparse(phone.url).path), phone.url
    expect(phone.locator("h1")).to_have_text(f"{territory} en 2022")
    note = phone.locator("p.sans-fiche-note").inner_text()
    assert "pas de fiche" in note and "ce territoire" in note
    names = [re.split(r"\s:\s", li)[0] for li in phone.locator("ul.sans-fiche li").all_inner_texts()]
    assert commune in names
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    # (the sheet's breadcrumb leads back to the report)
    phone.locator("p.fil a").first.click()
    assert urlparse(phone.url).path == "/public/2022/index.html"
