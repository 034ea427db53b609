"""The open data: every published cell of every public unit, as frozen by the publication, with
its dictionary, the registry in plain French and the licence. Values are already rounded to
their published precision and withheld cells already emptied by dbt (pub_indicateurs)."""
from __future__ import annotations

import shutil
from pathlib import Path

from .data import SiteData
from .formatting import csv_text, date_longue

OPEN_DATA_COLUMNS = ["indicateur", "annee", "niveau", "code", "libelle_unite", "valeur", "numerateur",
                     "denominateur", "n_structures", "statut"]
DICTIONARY = [
    ("indicateur", "Identifiant de l'indicateur (voir registre.csv)"),
    ("annee", "Année de données (l'année que décrivent les réponses, pas l'année d'enquête)"),
    ("niveau", "commune, territoire, departement ou national"),
    ("code", "Code INSEE de la commune, SIREN de l'EPT, code du département ou FR"),
    ("libelle_unite", "Nom de la commune, du territoire ou du département"),
    ("valeur", "Valeur de l'indicateur, arrondie à sa précision de publication (colonne decimales du registre) ; "
               "vide si secrète ou non disponible ; une part est écrite entre 0 et 1"),
    ("numerateur", "Numérateur du calcul (arrondi au centième) ; vide si secret"),
    ("denominateur", "Dénominateur du calcul (indicateurs calculés comme un rapport) ; vide si secret"),
    ("n_structures", "Nombre de structures (ou d'activités) entrées dans le calcul ; vide si secret"),
    ("statut", "publie ; secret (trop peu de structures, une structure prépondérante, ou valeur retenue pour "
               "qu'aucune autre ne puisse être retrouvée par soustraction) ; non_disponible (rien à calculer)"),
]
UNIT_COLUMNS = ["annee", "niveau", "code", "libelle", "niveau_parent", "code_parent", "nb_structures", "nb_cs",
                "nb_evs", "nb_indicateurs_publies"]
REGISTRY_COLUMNS = ["indicateur", "libelle", "definition", "calcul", "champ", "rubrique", "axe", "libelle_axe",
                    "action", "libelle_action", "libelle_maillon", "libelle_source", "unite", "libelle_unite",
                    "libelle_sens", "n_min", "decimales", "annee_reference", "cible"]
# The rule of formatting.csv_cell, for the cells DuckDB writes: text starting with = + - @ that is
# not a number is prefixed with a quote, so that no spreadsheet runs it.
_NEUTRAL = ("CASE WHEN regexp_matches({c}, '^[=+@\\t\\r-]') AND TRY_CAST(replace({c}, ',', '.') AS DOUBLE) IS NULL "
            "THEN '''' || {c} ELSE {c} END AS {c}")
# a whole number is written as one ("5", "659789"), not as the float it is stored as ("5.0")
_WHOLE = "CASE WHEN {c} = trunc({c}) THEN CAST(CAST({c} AS HUGEINT) AS VARCHAR) ELSE CAST({c} AS VARCHAR) END AS {c}"


def _copy_csv(con, select: str, path: Path) -> int:
    """`select` written by DuckDB into `path` as a CSV of the project (';', UTF-8 with BOM);
    returns its number of rows (COPY's answer)."""
    body = path.with_name(f".{path.name}")
    target = str(body).replace("'", "''")
    written = con.execute(f"COPY ({select}) TO '{target}' (FORMAT csv, DELIMITER ';', HEADER true)").fetchall()[0][0]
    with path.open("wb") as out, body.open("rb") as src:
        out.write("\ufeff".encode("utf-8"))      # UTF-8 with BOM, as every CSV of the project
        shutil.copyfileobj(src, out, 1 << 20)
    body.unlink()
    return written


def write_open_data(data: SiteData, folder: Path, con) -> int:
    """Writes indicateurs.csv and unites.csv (DuckDB writes them: hundreds of thousands of rows at
    national scale), dictionnaire.csv, registre.csv and LICENCE.txt; returns the number of rows of
    indicateurs.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    columns = ", ".join(_NEUTRAL.format(c=c) if c in ("code", "libelle_unite") else
                        _WHOLE.format(c=c) if c in ("valeur", "numerateur", "denominateur") else c
                        for c in OPEN_DATA_COLUMNS)
    # a commune with no figure of its own (too few structures) has no rows: its count of structures
    # is in unites.csv and its figures are counted in its territory's
    shown = """FROM publie.pub_indicateurs AS i
               WHERE NOT EXISTS (SELECT 1 FROM publie.pub_unites AS u
                                 WHERE u.annee = i.annee AND u.niveau = i.niveau AND u.code = i.code
                                   AND u.niveau = 'commune' AND coalesce(u.nb_indicateurs_publies, 0) = 0)"""
    written = _copy_csv(con, f"SELECT {columns} {shown} ORDER BY indicateur, annee, niveau, code",
                        folder / "indicateurs.csv")
    units = ", ".join(_NEUTRAL.format(c=c) if c in ("code", "libelle", "code_parent") else
                      "coalesce(nb_indicateurs_publies, 0) AS nb_indicateurs_publies" if c == "nb_indicateurs_publies"
                      else c for c in UNIT_COLUMNS)
    # a territory that is its département (dbt's flag) is not a unit of its own
    _copy_csv(con, f"SELECT {units} FROM publie.pub_unites AS u WHERE NOT coalesce(u.confondu_avec_parent, false) "
                   "ORDER BY u.annee, u.niveau, u.libelle, u.code",
              folder / "unites.csv")
    (folder / "dictionnaire.csv").write_text(csv_text(["colonne", "description"], DICTIONARY), encoding="utf-8")
    (folder / "registre.csv").write_text(csv_text(REGISTRY_COLUMNS, [[r.get(c) for c in REGISTRY_COLUMNS]
                                                                      for r in data.registre.values()]),
                                         encoding="utf-8")
    f = data.federation
    dates = [p["publie_le"] for a, p in data.publications.items() if a in data.annees and p.get("publie_le")]
    (folder / "LICENCE.txt").write_text(
        f"Données de l'observatoire des centres sociaux, produites par {f.get('nom', 'la fédération')}.\n"
        f"Licence : {f.get('licence') or 'Licence Ouverte 2.0'}"
        + (f" ({f['licence_url']})" if f.get("licence_url") else "") + "\n"
        + (f"Date de production : {date_longue(max(dates))}\n" if dates else "")
        + "Source : enquête SENACS (déclarations des structures) et journal d'activités de la fédération.\n",
        encoding="utf-8")
    return written          # COPY answers with the number of rows it wrote
