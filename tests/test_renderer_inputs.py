"""What the renderer reads instead of deciding (fast: in-memory data and a real DuckDB file, no dbt):
the disclosure minimum and its words from pub_parametres, the reason a change has no verdict from
pub_tendances, a code without its label, and published rows that no registry or label names."""
from __future__ import annotations

import csv
import io

import duckdb
import pytest

from common.errors import ObservatoireError
from conftest import ROOT
from reports.data import UNIT_COLUMNS, SiteData, Unit, _parametres, unknown_codes
from reports.formatting import lecture, share
from reports.pages import PageSpec
from reports.site.lookups import Lookups

PARAMETRES = {"secret_n_min": 5, "secret_n_min_en_lettres": "cinq", "secret_dominance": 0.875}


def lookups(libelles: dict | None = None, parametres: dict | None = None) -> Lookups:
    data = SiteData("public", [], {}, {}, {}, libelles or {}, [], {}, {}, {}, {}, [],
                    parametres=PARAMETRES if parametres is None else parametres)
    return Lookups(data, PageSpec({}))


def test_the_disclosure_minimum_and_its_words_are_the_published_parameters():
    look = lookups()
    assert look.n_min == 5
    assert look.minimum() == "il en faut au moins cinq"
    assert "(il en faut au moins cinq)" in look.too_few({"territoire"})
    assert share(0.875) == "87,5\u202f%" and share(0.85) == "85\u202f%" and share(None) == "–"


def test_a_warehouse_without_the_published_parameters_is_refused_in_french(tmp_path):
    con = duckdb.connect(str(tmp_path / "entrepot.duckdb"))
    con.execute("CREATE SCHEMA publie")
    with pytest.raises(ObservatoireError, match="pub_parametres.*observatoire run"):
        _parametres(con)
    con.execute("CREATE TABLE main.pub_parametres AS SELECT 4 AS secret_n_min, 'quatre' AS secret_n_min_en_lettres, "
                "0.9 AS secret_dominance")
    assert _parametres(con)["secret_n_min_en_lettres"] == "quatre"      # the current build's, before a publication
    con.execute("CREATE TABLE publie.pub_parametres AS SELECT 3 AS secret_n_min, 'trois' AS secret_n_min_en_lettres, "
                "0.85 AS secret_dominance")
    assert _parametres(con)["secret_n_min"] == 3                         # the published ones first


def test_a_code_without_its_label_is_an_error():
    look = lookups({"statut_publication": {"publiee": "publiée"}})
    assert look.label("statut_publication", "publiee") == "publiée"
    with pytest.raises(ObservatoireError, match="« suspendue » .*n'a pas de libellé"):
        look.label("statut_publication", "suspendue")


TREND = {"verdict_un_an": None, "evolution_un_an": None, "evolution_ensemble_un_an": -3.2, "n_panel_un_an": None,
         "n_structures_precedente": 3, "n_structures": 3, "unite_evolution": "pourcent"}
MOTIFS = {"panel_insuffisant": "moins de {n_min} structures ont répondu les deux années"}


def test_the_reason_a_change_has_no_verdict_is_read_not_inferred():
    said = lecture({**TREND, "motif_sans_verdict_un_an": "panel_insuffisant"}, "un_an", 2019, 0, {}, 4,
                   motifs=MOTIFS)
    assert said == ("\u22123,2\u202f% sur un an sur l'ensemble des répondantes (3 en 2018, 3 en 2019)\u202f; "
                    "pas de verdict\u00a0: moins de 4 structures ont répondu les deux années.")
    # no reason given: no reason written (the change reads as compared on every structure counted)
    plain = lecture(TREND, "un_an", 2019, 0, {}, 4, motifs=MOTIFS)
    assert "pas de verdict" not in plain and "sur l'ensemble des structures comptées (3 en 2018, 3 en 2019)" in plain


PANEL = {"verdict_un_an": "stable", "evolution_un_an": None, "evolution_ensemble_un_an": 0.0, "n_panel_un_an": 4,
         "n_structures_precedente": 4, "n_structures": 5, "unite_evolution": "points"}
VERDICTS = {"stable": "stable", "en_progres": "en progrès"}


@pytest.mark.parametrize("row, long_has, short", [
    # a panel whose figure is not published: its direction, its size, the whole's change
    (PANEL, "chiffre non publié, les répondantes ayant changé\u00a0: 4 en 2018, 5 en 2019",
     "Stable sur 4 structures présentes les deux années (ensemble des répondantes\u00a0: 0,0\u202fpoint)."),
    # a panel's own figure
    ({**PANEL, "evolution_un_an": 2.0}, "sur les 4 structures ayant répondu les deux années",
     "+2,0\u202fpoints sur 4 structures présentes les deux années\u00a0: stable."),
    # every structure counted: the counts of both years stay (they are not said once for the sheet)
    ({**PANEL, "n_panel_un_an": None, "evolution_un_an": 1, "unite_evolution": "unite", "verdict_un_an": "en_progres"},
     "sur l'ensemble des structures comptées (4 en 2018, 5 en 2019)", "+1 (4 en 2018, 5 en 2019)\u00a0: en progrès."),
    # no verdict, for dbt's reason
    ({**TREND, "motif_sans_verdict_un_an": "panel_insuffisant"}, "pas de verdict",
     "Ensemble des répondantes\u00a0: \u22123,2\u202f%\u202f; pas de verdict\u00a0: moins de 4 structures ont répondu "
     "les deux années."),
])
def test_a_unit_sheets_short_reading_says_what_the_long_one_says_in_fewer_words(row, long_has, short):
    """A unit sheet's table says once what a panel is; each row keeps its direction, figure and size."""
    full = lecture(row, "un_an", 2019, 1 if row["unite_evolution"] != "unite" else 0, VERDICTS, 4, motifs=MOTIFS)
    said = lecture(row, "un_an", 2019, 1 if row["unite_evolution"] != "unite" else 0, VERDICTS, 4, motifs=MOTIFS,
                   court=True)
    assert long_has in full
    assert said == short and len(said) < len(full)


def test_published_rows_no_registry_or_label_names_are_named(tmp_path):
    con = duckdb.connect(str(tmp_path / "entrepot.duckdb"))
    con.execute("CREATE SCHEMA publie")
    con.execute("CREATE TABLE publie.pub_registre AS SELECT * FROM (VALUES ('a'), ('b')) AS t(indicateur)")
    con.execute("CREATE TABLE publie.pub_libelles AS SELECT * FROM (VALUES ('verdict', 'stable', 'stable', 1)) "
                "AS t(domaine, code, libelle, ordre)")
    con.execute("CREATE TABLE publie.pub_indicateurs AS SELECT * FROM (VALUES ('a'), ('retire'), (NULL)) AS t(indicateur)")
    con.execute("CREATE TABLE publie.pub_tendances AS SELECT * FROM (VALUES ('a', 'stable', NULL), ('b', 'envole', NULL))"
                " AS t(indicateur, verdict_un_an, verdict_reference)")
    found = unknown_codes(con)
    assert found == ["pub_indicateurs : indicateur « retire » absent du registre publié",
                     "pub_tendances : verdict « envole » sans libellé"]
    con.execute("DELETE FROM publie.pub_indicateurs WHERE indicateur = 'retire'")
    con.execute("UPDATE publie.pub_tendances SET verdict_un_an = 'stable'")
    assert unknown_codes(con) == []


def test_a_folders_own_labels_are_completed_by_the_products():
    """A federation's config/libelles_codes.csv written before a domain existed (the publication statuses,
    the reasons for a missing verdict): its own labels win, the product's fill in what it lacks."""
    from observatoire.build import _with_product_labels

    product = (ROOT / "data" / "seeds" / "libelles_codes.csv").read_text(encoding="utf-8-sig")
    own = "domaine,code,libelle,ordre\nverdict_cible,atteinte,réussie,5\n"
    rows = list(csv.DictReader(io.StringIO(_with_product_labels(own, product))))
    labels = {(r["domaine"], r["code"]): r["libelle"] for r in rows}
    assert labels[("verdict_cible", "atteinte")] == "réussie" and len(rows) == len(labels)
    assert labels[("statut_publication", "bloquee")] == "retenue (contrôle bloquant)"
    assert ("motif_sans_verdict", "panel_insuffisant") in labels
    assert _with_product_labels("pas,un,fichier\n1,2,3\n", product) == "pas,un,fichier\n1,2,3\n"


def test_a_last_year_known_only_from_the_activity_log_does_not_take_the_sites_main_unit():
    """Surveys up to data year 2021 and the federation's activity log of 2022: 2022 has no unit of
    its own (no survey yet). The site's name, home page, board and indicator pages keep the
    département of 2021 (they had none: no figure, « Observatoire des centres sociaux » bare)."""
    def unit(annee):
        values = dict.fromkeys(UNIT_COLUMNS)
        values.update(annee=annee, niveau="departement", code="92", libelle="Hauts-de-Seine", principal=True,
                      confondu=False, a_une_fiche=True)
        return Unit(**values)
    data = SiteData("public", [2020, 2021, 2022], {}, {}, {}, {}, [],
                    {2020: {("departement", "92"): unit(2020)}, 2021: {("departement", "92"): unit(2021)}, 2022: {}},
                    {}, {}, {}, [], parametres=PARAMETRES)
    look = Lookups(data, PageSpec({}))
    assert (look.last, look.main.code, look.main.annee) == (2021, "92", 2021)
    only_log = SiteData("public", [2022], {}, {}, {}, {}, [], {2022: {}}, {}, {}, {}, [], parametres=PARAMETRES)
    assert (Lookups(only_log, PageSpec({})).last, Lookups(only_log, PageSpec({})).main) == (2022, None)


@pytest.mark.parametrize("enquetes, said, not_said", [
    ("2023", "d'après leurs déclarations à l'enquête SENACS 2023.", "journal d'activités"),
    ("2022 et 2023", "d'après leurs déclarations à l'enquête SENACS 2022 et 2023.", "journal d'activités"),
    (None, "L'année 2022 d'après le journal d'activités de la fédération : aucune enquête SENACS chargée ne la "
           "décrit encore.", "enquête SENACS 2023")])
def test_a_report_names_the_survey_its_figures_come_from_as_dbt_gives_it(enquetes, said, not_said):
    """The survey(s) a data year's figures come from are dbt's (pub_unites.enquetes: year N is most
    often described by the survey of N+1, sometimes N+2); a year only the activity log describes
    names no survey (its report said « d'après … l'enquête SENACS 2023 », a survey not loaded)."""
    import html
    import re

    from reports.site import environment

    page = environment().get_template("rapport.html").render(
        titre="Rapport 2022", page_id="rapport", date_page="", graphiques=[], annee_page=2022, racine="",
        federation={"nom": "Fédération test"}, entete="", pied="", csv_nom="", annee=2022, principal=None,
        messages=[], sections=[], plaquette="", enquetes=enquetes)
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))
    assert said in text and not_said not in text
