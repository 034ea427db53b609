"""A declared value is shown on the quality page, the console's list and the feedback sheet as the
centre wrote it when its column holds codes (a commune code, a SIRET, a year), and in French number
format only when its column is a quantity: an overseas postal code 97400 typed for an INSEE code is
« 97400 », never « 97 400 ».

Fast: a small real DuckDB warehouse holding only the tables the quality outputs read (no dbt, no GX)."""
import html
import re

import duckdb
import pytest

from expectations.publication import year_gates
from reports import qualite

YEAR = 2022


@pytest.fixture
def warehouse(tmp_path):
    con = duckdb.connect(str(tmp_path / "o.duckdb"))
    con.execute("CREATE TABLE indicateurs AS SELECT 2022 AS annee")
    con.execute("CREATE TABLE pub_federation AS SELECT 'Fédération des centres sociaux de La Réunion' AS nom")
    con.execute("CREATE TABLE pub_unites AS SELECT 2022 AS annee, 'departement' AS niveau, '974' AS code, "
                "true AS est_principal")
    con.execute("CREATE TABLE fct_completude AS SELECT 2022 AS annee, 'departement' AS niveau, '974' AS code, "
                "'identite' AS bloc, 3 AS n_invites, 3 AS n_repondants, 1.0 AS taux_reponse, "
                "1.0 AS taux_completude")
    con.execute("CREATE TABLE dim_structures AS SELECT * FROM (VALUES ('CS974-0001', 'Centre social du Chaudron'),"
                " ('CS974-0002', 'Centre social Ravine Blanche')) t(code_structure, nom_structure)")
    con.execute("""CREATE TABLE constats_qualite (
        etape VARCHAR, type_extrait VARCHAR, annee_fichier INTEGER, fichier VARCHAR, fichier_sha256 VARCHAR,
        ligne INTEGER, annee_enquete INTEGER, code_structure VARCHAR, colonne VARCHAR, valeur_brute VARCHAR,
        valeur_attendue VARCHAR, regle VARCHAR, severite VARCHAR, message VARCHAR, cree_le TIMESTAMP,
        annee_donnees INTEGER, nature VARCHAR, score DOUBLE, figure VARCHAR, constat_centre VARCHAR,
        demande_centre VARCHAR)""")
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
