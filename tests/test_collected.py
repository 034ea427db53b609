"""What the survey collects is published: the indicators of the issue join the registry, reach the
published marts with the figure the extracts declare, the yearly report and the open data; the
action codes shown carry the action's name."""
import csv
import io

import pytest

from conftest import ROOT, query

NEW = ["publics_0_5", "publics_6_11", "publics_12_17", "publics_18_25", "publics_adultes", "publics_seniors",
       "familles_touchees", "departs_vacances", "projets_habitants", "jeunes_benevoles", "assoc_hebergees",
       "etp_referent_familles", "caf_ps_agc", "caf_ps_acf", "part_agrement_acf",
       "habitants_touches_cs", "habitants_touches_evs", "benevoles_total_cs", "benevoles_total_evs",
       "etp_total_cs", "etp_total_evs", "budget_moyen_cs", "budget_moyen_evs"]


def test_the_collected_indicators_are_in_the_registry_with_their_definition():
    rows = {r["indicateur"]: r for r in csv.DictReader(
        (ROOT / "data" / "seeds" / "registre_indicateurs.csv").open(encoding="utf-8"))}
    for i in NEW:
        assert i in rows, i
        assert rows[i]["definition"] and rows[i]["calcul"] and rows[i]["champ"] and rows[i]["rubrique"], i


@pytest.mark.lent
def test_the_collected_indicators_are_published_as_the_extracts_declare(site):
    db, root = site[0], site[1] / "public"
    annee = query(db, "SELECT max(annee) FROM publie.publications")[0][0]
    main = query(db, "SELECT niveau, code FROM publie.pub_unites WHERE est_principal AND annee = ?", [annee])[0]
    published = dict(query(db, """SELECT indicateur, valeur FROM publie.pub_indicateurs
                                  WHERE annee = ? AND niveau = ? AND code = ? AND statut = 'publie'""",
                           [annee, *main]))
    for column in ("publics_0_5", "familles_touchees", "assoc_hebergees", "caf_ps_acf"):
        declared = query(db, f"SELECT sum({column}) FROM reponses WHERE repondant AND annee_donnees = ?",
                         [annee])[0][0]
        assert published.get(column) == pytest.approx(float(declared)), column
    share = query(db, """SELECT avg(agrement_acf::int) FROM reponses
                         WHERE repondant AND agrement_acf IS NOT NULL AND annee_donnees = ?""", [annee])[0][0]
    assert published["part_agrement_acf"] == pytest.approx(share, abs=0.0005)
    report = (root / str(annee) / "index.html").read_text(encoding="utf-8")
    for label in ("Familles touchées", "Associations hébergées", "Prestation ACF", "Agrément ACF"):
        assert label in report, label
    opendata = (root / "donnees" / "indicateurs.csv").read_text(encoding="utf-8-sig")
    found = {r["indicateur"] for r in csv.DictReader(io.StringIO(opendata), delimiter=";")}
    assert set(NEW) <= found


@pytest.mark.lent
def test_every_action_code_shown_carries_its_name(site):
    db, root = site[0], site[1] / "public"
    actions = dict(query(db, "SELECT DISTINCT code_action, libelle_action FROM publie.pub_projet "
                             "WHERE code_action IS NOT NULL"))
    annee = query(db, "SELECT max(annee) FROM publie.publications")[0][0]
    report = (root / str(annee) / "index.html").read_text(encoding="utf-8")
    import html
    text = html.unescape(report)
    shown = [code for code in actions if f"l'action {code}" in text]
    assert shown
    for code in shown:
        assert f"l'action {code} — {actions[code]}".replace(" :", "\u00a0:") in text or \
            f"l'action {code} — {actions[code]}" in text, code


@pytest.mark.lent
def test_the_key_figures_are_split_between_centres_sociaux_and_evs(site):
    db, root = site[0], site[1] / "public"
    annee = query(db, "SELECT max(annee) FROM publie.publications")[0][0]
    main = query(db, "SELECT niveau, code FROM publie.pub_unites WHERE est_principal AND annee = ?", [annee])[0]
    cells = {i: (v, s) for i, v, s in query(db, """SELECT indicateur, valeur, statut FROM publie.pub_indicateurs
                                                   WHERE annee = ? AND niveau = ? AND code = ?""", [annee, *main])}
    for kind in ("CS", "EVS"):
        declared = query(db, """SELECT sum(habitants_touches) FROM reponses
                                WHERE repondant AND type_structure = ? AND annee_donnees = ?""", [kind, annee])[0][0]
        value, status = cells[f"habitants_touches_{kind.lower()}"]
        if status == "publie":
            assert value == pytest.approx(float(declared)), kind
    report = (root / str(annee) / "index.html").read_text(encoding="utf-8")
    assert "Centres sociaux et espaces de vie sociale" in report and "Habitants touchés — centres sociaux" in report
    opendata = (root / "donnees" / "indicateurs.csv").read_text(encoding="utf-8-sig")
    assert "habitants_touches_cs;" in opendata and "habitants_touches_evs;" in opendata
