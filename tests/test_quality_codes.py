"""A declared value is shown on the quality page, the console's list and the feedback sheet as the
centre wrote it when its column holds codes (a commune code, a SIRET, a year), and in French number
format only when its column is a quantity: an overseas postal code 97400 typed for an INSEE code is
« 97400 », never « 97 400 ».

Fast: a small real DuckDB warehouse holding only the tables the quality outputs read (no dbt, no GX)."""
import html
import re

import duckdb
import pytest

from conftest import quality_tables
from expectations.publication import year_gates
from reports import qualite

YEAR = 2022


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "o.duckdb"))
    quality_tables(con, "Fédération des centres sociaux de La Réunion", "974", 3, 3, 1.0, YEAR)
    con.execute("CREATE TABLE dim_structures AS SELECT * FROM (VALUES ('CS974-0001', 'Centre social du Chaudron'),"
                " ('CS974-0002', 'Centre social Ravine Blanche')) t(code_structure, nom_structure)")
    row = ("validation", "senacs", 2023, "senacs_2023.csv", None, 2, 2023)
    con.executemany("INSERT INTO constats_qualite VALUES (" + ", ".join(["?"] * 21) + ")", [
        (*row, "CS974-0001", "code_commune", "97400", None, "commune_connue", "bloquant", "code commune inconnu",
         None, YEAR, "impossible", None, None, "Le code de commune indiqué (97400) n'existe pas.",
         "Pouvez-vous nous indiquer la bonne commune ?"),
        (*row, "CS974-0001", "siret", "78451236900017", None, "siret_illisible", "bloquant", "SIRET illisible",
         None, YEAR, "impossible", None, None, "Le SIRET indiqué n'a pas 14 chiffres valides.",
         "Pouvez-vous le vérifier ?"),
        (*row, "CS974-0002", "habitants_touches", "12345", None, "forte_evolution", "bloquant", "forte évolution",
         None, YEAR, "influente", 0.6, "les habitants touchés du département", "Cette valeur nous étonne.",
         "Pouvez-vous la confirmer ?"),
    ])
    yield con
    con.close()


def _text(page: str) -> str:
    return html.unescape(re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_a_code_is_shown_as_declared_and_a_quantity_in_french(warehouse, tmp_path):
    contacts = {}
    out = tmp_path / "qualite"
    page = _text(qualite.write_quality_outputs(warehouse, year_gates(warehouse), out, contacts)[0]
                 .read_text(encoding="utf-8"))
    sheets = {p.name.split("__")[0]: _text(p.read_text(encoding="utf-8"))
              for p in (out / "fiches_retour" / str(YEAR)).glob("*__*.html")}
    console = {code: " ".join(asked) for code, _, asked in contacts[YEAR]}
    for said in (page, sheets["cs974-0001"], console["CS974-0001"]):
        assert "97400" in said and "78451236900017" in said
        assert not re.search(r"97\s400|784\s451", said)
    # a quantity keeps its French thousands separator (narrow no-break space)
    for said in (page, sheets["cs974-0002"], console["CS974-0002"]):
        assert "12\u202f345" in said
