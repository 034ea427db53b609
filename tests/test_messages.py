"""Key messages: chosen in dbt (pub_messages, frozen at publication), written by the site as the
declared sentence of their kind filled with their own figures, at the top of the home page, each
yearly report and each unit sheet."""
import html
import re

import pytest

from conftest import query
from reports.formatting import NBSP, NNBSP, message

REGISTRE = {"salaries_formes": {"libelle": "Salariés formés", "unite": "personnes", "decimales": 0},
            "taux_reponse": {"libelle": "Taux de réponse", "unite": "ratio", "decimales": 3}}


def test_a_message_is_its_sentence_filled_with_its_own_figures():
    m = {"type": "evolution", "indicateur": "salaries_formes", "valeur": 1234, "evolution": 63.4,
         "unite_evolution": "pourcent", "verdict": "en_progres", "n_panel": 52, "annee": 2022,
         "annee_precedente": 2021,
         "gabarit": "{libelle} : {evolution} sur un an, sur les {n_panel} structures ({verdict}), {valeur}."}
    text = message(m, REGISTRE, {"en_progres": "en progrès"})
    assert text == f"Salariés formés{NBSP}: +63,4{NNBSP}% sur un an, sur les 52 structures (en progrès), 1{NNBSP}234."


def test_words_agree_with_their_figure():
    gabarit = "{numerateur} {numerateur|structure a|structures ont} répondu, taux {valeur}."
    one = message({"indicateur": "taux_reponse", "numerateur": 1, "valeur": 1.0, "gabarit": gabarit}, REGISTRE, {})
    many = message({"indicateur": "taux_reponse", "numerateur": 57, "valeur": 0.966, "gabarit": gabarit},
                   REGISTRE, {})
    assert one == f"1 structure a répondu, taux 100,0{NNBSP}%."
    assert many == f"57 structures ont répondu, taux 96,6{NNBSP}%."


def test_a_sentence_missing_one_of_its_figures_is_not_written():
    gabarit = "{libelle} : {valeur}, {rang} des {nb_unites} départements."
    m = {"indicateur": "taux_reponse", "valeur": 0.9, "rang": None, "nb_unites": 96, "gabarit": gabarit}
    assert message(m, REGISTRE, {}) is None
    assert message(dict(m, rang=1), REGISTRE, {}).endswith("1er des 96 départements.")
    assert message(dict(m, rang=3), REGISTRE, {}).endswith("3e des 96 départements.")


def test_the_targets_message_says_the_boards_verdicts_with_the_products_sentences():
    """The federal project's message counts targets as the board judges them: during the project,
    reached / on track / late; from its last year, how many were reached (a home page that said
    « 5 sur 7 en bonne voie » beside a board showing 3 reached, 2 on track and 2 late is gone)."""
    import csv

    from conftest import ROOT

    with (ROOT / "data" / "seeds" / "messages_cles.csv").open(encoding="utf-8") as f:
        sentences = {r["type"]: r["gabarit"] for r in csv.DictReader(f)}
    during = message({"type": "cible", "nb_atteints": 3, "nb_bonne_voie": 2, "nb_en_retard": 2, "nb_cibles": 7,
                      "annee_cible": 2022, "gabarit": sentences["cible"]}, {}, {})
    assert during == f"Projet fédéral, cibles pour 2022{NBSP}: 3 atteintes, 2 en bonne voie, 2 en retard, sur 7 indicateurs suivis."
    last = message({"type": "cible_bilan", "nb_atteints": 1, "nb_cibles": 12, "annee_cible": 2022,
                    "gabarit": sentences["cible_bilan"]}, {}, {})
    assert last == f"Projet fédéral{NBSP}: 1 sur 12 cibles pour 2022 atteinte."


# ---------------------------------------------------------------- on the demo, through the pipeline
def _messages(db):
    return query(db, """SELECT annee, niveau, code, ordre, type, indicateur, valeur, numerateur, evolution,
                               n_panel, verdict FROM publie.pub_messages ORDER BY annee, niveau, code, ordre""")


@pytest.mark.lent
def test_each_published_unit_has_between_one_and_five_messages_in_declared_order(site):
    db = site[0]
    rows = _messages(db)
    assert rows, "no key message published"
    units = query(db, "SELECT DISTINCT annee, niveau, code FROM publie.pub_unites WHERE nb_indicateurs_publies > 0")
    by_unit = {}
    for r in rows:
        by_unit.setdefault(r[:3], []).append(r)
    for key in units:
        assert key in by_unit, f"no message for {key}"
        assert 1 <= len(by_unit[key]) <= 5
        assert [r[3] for r in by_unit[key]] == list(range(1, len(by_unit[key]) + 1))
    kinds = ["evolution", "part_structures", "cible", "cible_bilan", "rang", "repondants"]
    for msgs in by_unit.values():
        order = [kinds.index(r[4]) for r in msgs]
        assert order == sorted(order)


@pytest.mark.lent
def test_change_messages_are_the_largest_changes_on_a_panel_above_the_minimum(site):
    db = site[0]
    changes = query(db, """
        SELECT t.annee, t.niveau, t.code, t.indicateur, t.evolution_un_an, t.n_panel_un_an
        FROM publie.pub_tendances t JOIN publie.pub_registre r USING (indicateur)
        JOIN publie.pub_indicateurs i USING (indicateur, annee, niveau, code)
        WHERE i.statut = 'publie' AND r.comparaison = 'panel' AND t.evolution_un_an IS NOT NULL
          AND t.verdict_un_an NOT IN ('stable') AND t.n_panel_un_an >= r.n_min
          AND t.unite_evolution IN ('points', 'pourcent')""")
    best = {}
    for a, n, c, i, e, p in changes:
        best.setdefault((a, n, c), []).append((abs(e), i, e, p))
    said = {}
    for r in _messages(db):
        if r[4] == "evolution":
            said.setdefault(r[:3], []).append((r[5], r[8], r[9]))
    assert said, "the demo has changes on constant panels: some must be said"
    for key, candidates in best.items():
        top = sorted(candidates, key=lambda x: (-x[0], x[1]))[:2]
        assert said.get(key) == [(i, e, p) for _, i, e, p in top], key


@pytest.mark.lent
def test_the_respondents_message_counts_what_the_extracts_declare(site):
    db = site[0]
    main = query(db, "SELECT annee, niveau, code FROM publie.pub_unites WHERE est_principal")
    for annee, niveau, code in main:
        said = query(db, """SELECT numerateur FROM publie.pub_messages
                            WHERE annee = ? AND niveau = ? AND code = ? AND type = 'repondants'""",
                     [annee, niveau, code])
        declared = query(db, "SELECT count(*) FILTER (WHERE repondant), count(*) FROM reponses "
                             "WHERE annee_donnees = ?", [annee])[0]
        assert said and said[0][0] == declared[0], annee


@pytest.mark.lent
def test_reports_home_and_unit_sheets_open_with_their_messages(site):
    db, root = site[0], site[1] / "public"
    published = {}
    for r in _messages(db):
        published.setdefault(r[:3], []).append(r)
    main = {a: (n, c) for a, n, c in query(db, "SELECT annee, niveau, code FROM publie.pub_unites WHERE est_principal")}
    pages = [(root / f"{a}/index.html", (a, *main[a])) for a in main]
    pages.append((root / "index.html", (max(main), *main[max(main)])))
    for folder, niveau in (("communes", "commune"), ("territoires", "territoire")):
        for page in sorted(root.glob(f"*/{folder}/*.html")):
            annee = int(page.parent.parent.name)
            code = query(db, "SELECT code FROM publie.pub_unites WHERE annee = ? AND niveau = ?",
                         [annee, niveau])
            match = [c for (c,) in code if re.sub(r"[^a-z0-9]+", "-", c.lower()).strip("-") == page.stem]
            if match:
                pages.append((page, (annee, niveau, match[0])))
    assert len(pages) > 10
    for page, key in pages:
        text = page.read_text(encoding="utf-8")
        section = re.search(r'<section class="messages".*?</section>', text, re.S)
        assert section, f"{page} opens with no key message"
        items = re.findall(r"<li>(.*?)</li>", section.group(0), re.S)
        assert len(items) == len(published[key]), page
        # before any section of figures
        assert text.index('class="messages"') < min(
            (text.index(m) for m in ('class="rubrique"', '<table', 'class="tuiles"') if m in text), default=len(text))
        for item, row in zip(items, published[key]):
            sentence = html.unescape(item)
            assert "{" not in sentence and "}" not in sentence
            if row[4] == "repondants":
                assert sentence.startswith(f"{row[7]:.0f} structure")
            if row[4] == "evolution":
                assert f"{row[9]} structures ayant répondu" in sentence
