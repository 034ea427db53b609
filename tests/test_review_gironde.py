"""A federation the product was not built around, as its analyst would meet it (review of issue 15):
the Gironde (33, outside the Métropole, no federal project), five yearly surveys, each in another
dialect of extracts.md (Windows-1252 with old headers and pretty names, an XLSX under title rows with
upper-case old headers and numbers typed as text, a `,`-separated UTF-8 file with a BOM, 1/0 and NC,
x / empty ticks with NC for no answer, a tab-separated Windows-1252 file with Vrai/Faux, N/A and
trailing €), an activity log the federation keeps without a declared project. `init`, copy, `run`:
every year published, the figures those the files declare, the open data naming no level it lacks,
nothing written into the source tree."""
import csv
import datetime
import random
import statistics
import subprocess
from pathlib import Path

import openpyxl
import pytest

from conftest import ROOT, observatoire

pytestmark = pytest.mark.lent

NAME = "Fédération des centres sociaux de la Gironde"
TOWNS = ["Bordeaux", "Bordeaux", "Mérignac", "Pessac", "Bègles", "Talence", "Libourne", "Arcachon", "Lormont",
         "Cenon", "Bazas", "Blaye", "Langon", "Lesparre-Médoc", "Sainte-Foy-la-Grande", "Coutras",
         "La Teste-de-Buch", "Eysines", "Créon", "Belin-Béliet", "Pauillac", "Castillon-la-Bataille"]
THEMES = ("acces_droits numerique parentalite scolarite langue_francaise insertion sante culture vacances "
          "vieillissement discriminations ecologie").split()
BOOLS = ["agrement_acf", "adherent_federation", "multi_sites", *[f"theme_{t}" for t in THEMES],
         "partenariat_commune", "convention_pluripartenariale", "pacte_cooperation",
         "outils_numeriques_collaboratifs", "demarche_impact"]
SURVEYS = [2019, 2020, 2021, 2022, 2023]
OLD = {"salaries": "nb_salaries", "benevoles_activite": "nb_benevoles_activite",
       "benevoles_instance": "nb_benevoles_instances"}


def structures():
    insee = {}
    with (ROOT / "data" / "reference" / "communes.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["code_departement"] == "33" and r["type_commune"] == "commune":
                insee[r["nom_commune"]] = r["code_insee"]
    rng = random.Random(33)
    out = []
    for i, town in enumerate(TOWNS):
        kind = "EVS" if i % 5 == 4 else "CS"
        out.append({"code_structure": f"{kind}33-{i + 1:04d}", "type_structure": kind, "code_commune": insee[town],
                    "nom_structure": f"{'Centre social' if kind == 'CS' else 'Espace de vie sociale'} {town} {i + 1}",
                    "mode_gestion": rng.choice(["associatif"] * 4 + ["collectivite"]),
                    "type_territoire": "urbain" if i < 10 else "rural", "qpv": rng.choice(["en_qpv", "non_concerne"]),
                    "population_zone": rng.randrange(3000, 40000), "scale": rng.uniform(0.5, 1.5) * (0.4 if kind == "EVS" else 1),
                    "date_premier_agrement": datetime.date(rng.randrange(1975, 2015), rng.randrange(1, 13), 1)})
    return out


def answer(s: dict, survey: int) -> dict:
    rng = random.Random(f"{s['code_structure']}-{survey}")
    row = {"annee_enquete": survey, "annee_donnees": survey - 1, "repondant": rng.random() > 0.08,
           **{k: v for k, v in s.items() if k != "scale"}, "statut_controle": "controle_ok",
           "date_fin_agrement": datetime.date(survey + 2, 12, 31)}
    if not row["repondant"]:
        return row
    k = s["scale"] * (1 + 0.03 * (survey - 2019))
    g = lambda a: int(round(a * k * rng.uniform(0.95, 1.05)))  # noqa: E731
    row.update({b: random.Random(f"{s['code_structure']}-{b}").random() > 0.3 for b in BOOLS})
    row.update(agrement_acf=s["type_structure"] == "CS", adherent_federation=True, habitants_touches=g(1200),
               familles_touchees=g(380), benevoles_activite=g(45), benevoles_instance=g(12), heures_benevolat=g(3200),
               administrateurs=max(6, g(14)), salaries=max(3, g(18)), nb_partenaires=g(22))
    row["etp_total"] = round(row["salaries"] * 0.75, 1)
    parts = {"caf_ps_agc": 72000.0 if s["type_structure"] == "CS" else 0.0,
             "caf_ps_acf": 25000.0 if row["agrement_acf"] else 0.0, "caf_autres": float(g(30000)),
             "communes_interco": float(g(180000)), "departement": float(g(25000)), "usagers": float(g(35000)),
             "autres_produits": round(g(15000) + 0.5, 2)}
    row.update(parts, produits_total=round(sum(parts.values()), 2))
    row["charges_total"] = round(row["produits_total"] * rng.uniform(0.97, 1.02), 2)
    return row


COLUMNS = ["annee_enquete", "annee_donnees", "code_structure", "nom_structure", "type_structure", "code_commune",
           "repondant", "statut_controle", "mode_gestion", "type_territoire", "qpv", "population_zone",
           "date_premier_agrement", "date_fin_agrement", *BOOLS, "habitants_touches", "familles_touchees",
           "benevoles_activite", "benevoles_instance", "heures_benevolat", "administrateurs", "salaries",
           "etp_total", "nb_partenaires", "caf_ps_agc", "caf_ps_acf", "caf_autres", "communes_interco",
           "departement", "usagers", "autres_produits", "produits_total", "charges_total"]


def french(v, thousands=" ", euro=False):
    if isinstance(v, bool) or v is None or isinstance(v, (str, datetime.date)):
        return v
    text = f"{v:,.2f}" if isinstance(v, float) else f"{v:,}"
    text = text.replace(",", "\x00").replace(".", ",").replace("\x00", thousands)
    return text + (" €" if euro and isinstance(v, float) else "")


def write_csv(path, rows, headers, *, encoding, sep, yes, no, na, datefmt, thousands=" ", euro=False):
    def cell(c, v):
        if v is None:
            return na
        if isinstance(v, bool):
            return yes if v else no
        if isinstance(v, datetime.date):
            return v.strftime(datefmt)
        return v if c.startswith("annee") else french(v, thousands, euro)
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f, delimiter=sep, lineterminator="\r\n")
        w.writerow(headers)
        w.writerows([cell(c, r.get(c)) for c in COLUMNS] for r in rows)
        f.write("\r\n")                                    # an empty trailing line


def write_extracts(folder: Path) -> dict[int, list[dict]]:
    units = structures()
    data = {y: [answer(s, y) for s in units] for y in SURVEYS}
    pretty = {"nom_structure": "Nom structure", "code_structure": "Code Structure", "etp_total": "ETP",
              "charges_total": "Budget total", "code_commune": "Code commune"}
    write_csv(folder / "senacs_2019.csv", data[2019], [pretty.get(c, OLD.get(c, c)) for c in COLUMNS],
              encoding="cp1252", sep=";", yes="Oui", no="Non", na="", datefmt="%d/%m/%Y", thousands="\u00a0")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Export SENACS — Gironde"])
    ws.append(["Enquête 2020 (données 2019)"])
    ws.append([])
    ws.append([OLD.get(c, c).upper() for c in COLUMNS])
    for r in data[2020]:
        ws.append([("O" if r.get(c) else "N") if isinstance(r.get(c), bool)
                   else french(r.get(c)) if c == "habitants_touches" else r.get(c) for c in COLUMNS])
    wb.save(folder / "senacs_2020.xlsx")
    write_csv(folder / "senacs_2021.csv", data[2021], COLUMNS, encoding="utf-8-sig", sep=",", yes="1", no="0",
              na="NC", datefmt="%Y-%m-%d", thousands="\u202f")
    write_csv(folder / "senacs_2022.csv", data[2022], [c.replace("_", " ").capitalize() for c in COLUMNS],
              encoding="utf-8", sep=";", yes="x", no="", na="NC", datefmt="%d/%m/%Y")
    write_csv(folder / "senacs_2023.csv", data[2023], COLUMNS, encoding="cp1252", sep="\t", yes="Vrai",
              no="Faux", na="N/A", datefmt="%Y-%m-%d", euro=True)
    with (folder / "activites_2022.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(["date", "action_code", "type_activite", "intitule", "nb_participants", "nb_centres"])
        w.writerows([f"{10 + i}/0{1 + i % 9}/2022", f"A{1 + i % 3}.1", "rencontre", f"Rencontre n° {i}", 20, 5]
                    for i in range(4))
    return data


def test_the_gironde_runs_its_five_years_from_five_dialects(tmp_path):
    status = lambda: subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True).stdout
    before = status()
    made = observatoire("init", "gironde", "--federation", NAME, "--departement", "33", cwd=tmp_path, tmp=tmp_path)
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "gironde"
    data = write_extracts(folder / "extraits")
    done = observatoire("run", "--public-seulement", cwd=folder, tmp=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "data/reference" not in done.stderr
    # the log's actions without a project: said in French, once by dbt, never by a test's generated name
    flat = " ".join(done.stderr.split())
    assert "aucun projet fédéral n'est déclaré" in flat and "Avertissement : activités du journal" in flat
    assert "relationships_" not in flat and "absents du registre" not in flat
    site = folder / "sortie" / "site" / "public"
    for survey in SURVEYS:                               # every clean year published
        assert (site / str(survey - 1) / "index.html").is_file(), survey
    with (site / "donnees" / "indicateurs.csv").open(encoding="utf-8-sig") as f:
        published = {(r["indicateur"], int(r["annee"])): r["valeur"] for r in csv.DictReader(f, delimiter=";")
                     if r["niveau"] == "departement" and r["code"] == "33"}
    for survey, rows in data.items():                    # the figures are what the files declare
        year, answered = survey - 1, [r for r in rows if r["repondant"]]
        total = lambda c: sum(r[c] for r in answered)  # noqa: E731
        assert published[("nb_structures", year)] == str(len(rows))
        assert published[("nb_repondants", year)] == str(len(answered)), survey
        for column in ("habitants_touches", "salaries", "benevoles_activite", "heures_benevolat"):
            assert published[(column, year)] == str(total(column)), (survey, column)
        assert float(published[("etp_total", year)]) == pytest.approx(total("etp_total"), abs=0.05)
        assert float(published[("budget_median", year)]) == pytest.approx(
            statistics.median(r["charges_total"] for r in answered), abs=0.5)
        share = sum(r["theme_numerique"] for r in answered) / len(answered)
        assert float(published[("part_theme_numerique", year)]) == pytest.approx(share, abs=0.0005), survey
    everything = "\n".join(p.read_text(encoding="utf-8") for p in site.rglob("*")
                           if p.suffix in (".html", ".csv", ".txt"))
    assert NAME in everything and "Hauts-de-Seine" not in everything and "Alpes-Maritimes" not in everything
    assert "tableau-de-bord" not in everything and "Projet fédéral" not in everything
    with (site / "donnees" / "unites.csv").open(encoding="utf-8-sig") as f:
        units = list(csv.DictReader(f, delimiter=";"))
    assert "territoire" not in {r["niveau"] for r in units} | {r["niveau_parent"] for r in units}
    assert status() == before                            # nothing written into the source tree
