"""Quality outputs of a validation run: a French page per data year and, per structure,
the CSV of its findings to send back to the centre ("fiche de retour")."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from slugify import slugify

from observatoire.publication import DATA_YEAR

from .formatting import csv_text, nombre, pourcentage

TEMPLATES = Path(__file__).resolve().parent / "templates"
BLOCS = {"identite": "Identité et territoire", "publics_actions": "Publics et actions",
         "participation": "Participation et bénévolat", "partenariats": "Partenariats et pratiques",
         "personnel": "Personnel", "finances": "Finances"}
FICHE_COLUMNS = ["annee_enquete", "code_structure", "nom_structure", "severite", "regle", "colonne",
                 "valeur_brute", "valeur_attendue", "message"]
SEVERITY_ORDER = {"bloquant": 0, "avertissement": 1, "info": 2}


def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                       trim_blocks=False, lstrip_blocks=False)


def write_quality_outputs(con, gates, out_dir: Path) -> list[Path]:
    """Writes <out>/<annee>.html and <out>/fiches_retour/<annee>/<structure>.csv; returns the pages."""
    findings = con.execute(f"""
        SELECT {DATA_YEAR} AS annee, c.*, r.nom_structure
        FROM constats_qualite c
        LEFT JOIN (SELECT DISTINCT ON (code_structure) code_structure, nom_structure FROM reponses
                   ORDER BY code_structure, annee_enquete DESC) r USING (code_structure)""").df()
    completude = con.execute("""SELECT f.*, u.code AS code_dep FROM fct_completude f
                                JOIN dim_unites u ON u.niveau = f.niveau AND u.code = f.code
                                WHERE f.niveau = 'departement'""").df()
    federation = con.execute("SELECT federation_nom FROM stg_projet__projet").fetchall()[0][0]
    from expectations.rules import BY_ID
    env = environment()
    pages = []
    for gate in gates:
        year = gate.annee
        found = findings[findings["annee"] == year].copy()
        found["ordre"] = found["severite"].map(SEVERITY_ORDER)
        found = found.sort_values(["ordre", "regle", "code_structure"])
        fiches_dir = out_dir / "fiches_retour" / str(year)
        by_structure: dict[str, list[dict]] = {}
        for record in found[found["code_structure"].notna()].to_dict("records"):   # one conversion
            by_structure.setdefault(record["code_structure"], []).append(record)
        per_structure = []
        for code in sorted(by_structure):
            records = by_structure[code]
            name = f"{slugify(str(code)) or 'structure'}.csv"
            _write_fiche(fiches_dir / name, records)
            per_structure.append({"code": code, "nom": records[0]["nom_structure"] or code,
                                  "fiche": f"fiches_retour/{year}/{name}", "constats": records})
        rules = (found.groupby(["regle", "severite", "ordre"]).size().reset_index(name="n")
                 .sort_values(["ordre", "regle"]))
        rules["attendu"] = rules["regle"].map(lambda r: BY_ID[r].attendu if r in BY_ID else "")
        blocks = completude[completude["annee"] == year].sort_values("bloc")
        html = env.get_template("qualite_annee.html").render(
            annee=year, federation=federation, publie=gate.publie, deja_publie=gate.deja_publie,
            bloquants=gate.bloquants.to_dict("records"),
            completude=[{"bloc_libelle": BLOCS.get(b.bloc, b.bloc), "n_invites": nombre(b.n_invites),
                         "n_repondants": nombre(b.n_repondants), "taux_reponse": pourcentage(b.taux_reponse),
                         "taux_completude": pourcentage(b.taux_completude)} for b in blocks.itertuples()],
            par_regle=rules.to_dict("records"), par_structure=per_structure,
            autres=found[found["code_structure"].isna()].to_dict("records"))
        page = out_dir / f"{year}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(html, encoding="utf-8")
        pages.append(page)
    return pages


def _write_fiche(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(FICHE_COLUMNS, ([row.get(c) for c in FICHE_COLUMNS] for row in records)),
                    encoding="utf-8")
