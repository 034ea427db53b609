"""The templates' running text as the reader gets it. The environment trims the newline after a
block tag (trim_blocks): prose that goes on to the next line after a tag ending a line is glued to
it (« n'{% if %}ont{% endif %}⏎pas de cible » printed « n'ontpas de cible » on the board)."""
import re
from pathlib import Path

from reports.site.writer import environment

TEMPLATES = Path(__file__).resolve().parent.parent / "reports" / "templates"


def glued_lines(text: str) -> list[str]:
    """Lines ending with a block tag whose next line starts with a word: the two are printed glued."""
    lines = text.split("\n")
    return [f"{lines[i][-40:]!r} + {lines[i + 1][:30]!r}" for i in range(len(lines) - 1)
            if lines[i].endswith("%}") and re.match(r"[^\s<{]", lines[i + 1])]


def test_no_template_glues_a_word_to_the_line_after_a_block_tag():
    assert environment().trim_blocks           # what makes the newline vanish
    found = {str(f.relative_to(TEMPLATES)): glued_lines(f.read_text(encoding="utf-8"))
             for f in sorted(TEMPLATES.rglob("*.html"))}
    assert not {k: v for k, v in found.items() if v}, found


def test_the_check_sees_a_glued_line_and_spares_a_tag_on_its_own():
    rendered = environment().from_string("n'{% if n > 1 %}ont{% else %}a{% endif %}\npas de cible").render(n=2)
    assert rendered == "n'ontpas de cible"     # the fault the check is for
    assert glued_lines("n'{% if n > 1 %}ont{% endif %}\npas de cible")
    assert not glued_lines("{% if x %}\n<p>texte</p>\n{% endif %}\n  suite") and not glued_lines("a {{ b }}\nc")


def test_a_unit_sheet_names_the_unit_it_is_compared_with_in_french():
    """The sheet's sentences name the compared unit in brackets or after « de » with no article of
    its own (« ceux de Ain », « de Le Havre » are not French), and the level above the départements
    by its published name: a federation of several départements is not « la France »."""
    template = environment().get_template("unite.html")
    said = {}
    for versus in ({"niveau": "departement", "libelle": "Ain"}, {"niveau": "national", "libelle": "France"},
                   {"niveau": "national", "libelle": "Corse-du-Sud, Haute-Corse"}):
        context = template.new_context({
            "racine": "../../", "annee": 2022, "nom": "Le Havre", "niveau": "commune", "parent": None,
            "structures_phrase": "2 centres sociaux", "unite": {"nb_structures": 2}, "versus": versus,
            "non_compares": True, "blocs": [], "evolution": False, "messages": [],
            "messages_cles": lambda *_: "", "graphique": lambda *_: ""})    # the macros the page imports
        html = re.sub(r"\s+", " ", "".join(template.blocks["contenu"](context)))
        said[versus["libelle"]] = html
        assert " de Le Havre" not in html
    assert "face à ceux du département (Ain)." in said["Ain"]
    assert "mis en regard de ceux du département (Ain), qui" in said["Ain"]
    assert "face à ceux de France." in said["France"]
    assert "mis en regard de ceux de Corse-du-Sud, Haute-Corse, qui" in said["Corse-du-Sud, Haute-Corse"]
    assert "France" not in said["Corse-du-Sud, Haute-Corse"].split("<h1>")[1].split("Sur cette fiche")[0]
