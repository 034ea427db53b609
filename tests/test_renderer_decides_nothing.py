"""The renderer decides nothing: dbt owns every number, threshold, verdict and label of the published
figures; reports/ and its templates look them up and lay them out. These checks read the code and
the templates (no warehouse) and fail on the kinds of decision that were once written there: a
threshold or a share in a template ("85 %", "au moins trois", `n_min > 1`), a code of the registry
compared in a template (`axe == 'socle'`), a table of numbers in French words in Python, and the
internal pages reading staging models, intermediate models or raw extracts instead of declared
marts."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"

TAG = re.compile(r"\{[{%](.*?)[%}]\}", re.S)
NUMBER = re.compile(r"(?<![\w.\[:-])-?\d+(?:[.,]\d+)?(?![\w\]])")
# the columns of the registry and the codes of a published figure: a template reads their labels,
# never compares them (which indicator is on an axis, what is published, what a verdict means)
CODES = ("axe", "action", "source", "rubrique", "maillon", "unite", "sens", "n_min", "dominance", "agregat",
         "comparaison", "statut", "verdict", "statut_cible", "cible")
COMPARED = re.compile(r"\.(" + "|".join(CODES) + r")\s*(==|!=|<=|>=|<|>|\bin\b|\bnot in\b)")
WORDS = ("deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix")
THRESHOLD_TEXT = re.compile(r"\d+(?:[.,]\d+)?\s*%|\b(?:au moins|moins de|plus de)\s+(?:" + "|".join(WORDS) + r")\b")
# what the reports may not read: dbt's staging and intermediate models, the raw extracts
TABLES = re.compile(r"\b(?:stg_[a-z]+__[a-z_]+|int_[a-z]+_[a-z_]+)\b|\b(?:FROM|JOIN)\s+(?:reponses|activites)\b",
                    re.I)


STYLE = re.compile(r"<style.*?</style>", re.S)
LAYOUT = re.compile(r"loop\.index0?\s*[=!<>]=?\s*\d+")     # a column's place in a table, not a figure's
SCALE = re.compile(r"\b(?:0|100)\s*%")                     # the ends of a scale (the way to a target)


def template_decisions(text: str) -> list[str]:
    found = []
    text = STYLE.sub(" ", text)
    for tag in TAG.findall(text):
        numbers = NUMBER.findall(LAYOUT.sub(" ", tag))
        found += [f"nombre {n} dans « {tag.strip()} »" for n in numbers if n not in ("0", "1", "-1")]
        found += [f"code comparé dans « {tag.strip()} »" for _ in COMPARED.findall(tag)]
    found += [f"seuil écrit « {m.group(0)} »" for m in THRESHOLD_TEXT.finditer(SCALE.sub(" ", TAG.sub(" ", text)))]
    return found


def python_decisions(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in WORDS:
                found.append(f"ligne {node.lineno} : nombre en lettres « {node.value} »")
            found += [f"ligne {node.lineno} : lit {m.group(0)}" for m in TABLES.finditer(node.value)]
    return found


def test_no_template_holds_a_decision():
    templates = sorted((REPORTS / "templates").rglob("*.html"))
    assert len(templates) > 10
    found = {p.relative_to(ROOT).as_posix(): template_decisions(p.read_text(encoding="utf-8")) for p in templates}
    assert {k: v for k, v in found.items() if v} == {}


def test_no_python_of_the_reports_holds_a_decision_or_reads_below_the_marts():
    modules = sorted(REPORTS.rglob("*.py"))
    assert len(modules) > 10
    found = {p.relative_to(ROOT).as_posix(): python_decisions(p.read_text(encoding="utf-8")) for p in modules}
    assert {k: v for k, v in found.items() if v} == {}


def test_the_checks_see_the_decisions_the_renderer_once_made():
    """They bite: each decision that used to be written in reports/ is caught."""
    assert template_decisions("{% if i.axe == 'socle' or not i.axe %}{{ i.libelle_axe }}{% endif %}")
    assert template_decisions("<dd>{% if i.n_min and i.n_min > 1 %}Publié{% endif %}</dd>")
    assert template_decisions("quand une seule structure fait plus de 85\u202f% d'un total")
    assert template_decisions("{{ 'x' if n > 3 }}")
    assert template_decisions("{% if loop.index == 2 and i.valeur > 0.5 %}")
    assert template_decisions("il en faut au moins trois")
    assert python_decisions('WORDS = {2: "deux", 3: "trois"}')
    assert python_decisions('con.execute("SELECT federation_nom FROM stg_projet__projet")')
    assert python_decisions('sql = """SELECT * FROM int_structures_annees AS s"""')
    assert python_decisions('sql = "SELECT nom_structure FROM reponses ORDER BY 1"')
    # and let layout, grammar and declared marts be
    assert not template_decisions("{% for c in row[1:] %}{{ annee + 1 }}{{ 's' if n > 1 }}{{ rapports[0].annee }}"
                                  "{% endfor %}{% set d = completude[-1] %}{% if loop.index == 2 %}"
                                  "<style>table { width: 100%; }</style>de la référence (0 %) à la cible (100 %)")
    assert not python_decisions('sql = "SELECT * FROM dim_structures"; words = "les deux années"')
