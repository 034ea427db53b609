"""The quality gate: a data year is published only when it has no blocking finding.

Publishing a year copies its rows of `indicateurs` and `fct_tendances` into
`indicateurs_publies` and `tendances_publiees`; a blocked year keeps the rows of its previous
publication untouched. `publications` says, per year, what happened and when.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# The data year a finding concerns: its own when known, else the year its survey describes.
DATA_YEAR = "coalesce(annee_donnees, annee_enquete - 1, annee_fichier - 1)"

DDL = [
    "CREATE TABLE IF NOT EXISTS indicateurs_publies AS SELECT * FROM indicateurs WHERE false",
    "CREATE TABLE IF NOT EXISTS tendances_publiees AS SELECT * FROM fct_tendances WHERE false",
    """CREATE TABLE IF NOT EXISTS publications (
           annee INTEGER, statut VARCHAR, publie_le TIMESTAMP, verifie_le TIMESTAMP,
           nb_bloquants INTEGER, nb_avertissements INTEGER)""",
]


@dataclass
class YearGate:
    annee: int
    publie: bool
    bloquants: pd.DataFrame
    avertissements: int
    deja_publie: bool


def blocking_findings(con) -> pd.DataFrame:
    return con.execute(f"""
        SELECT {DATA_YEAR} AS annee, etape, regle, code_structure, colonne, valeur_brute, message
        FROM constats_qualite WHERE severite = 'bloquant'
        ORDER BY annee, regle, code_structure""").df()


def publish(con) -> list[YearGate]:
    """Apply the gate to every data year of `indicateurs`. Runs in the caller's transaction."""
    for statement in DDL:
        con.execute(statement)
    years = [r[0] for r in con.execute("SELECT DISTINCT annee FROM indicateurs ORDER BY annee").fetchall()]
    blocking = blocking_findings(con)
    # findings with no year at all (a rejected file of unknown year, say) block every year
    undated = blocking[blocking["annee"].isna()]
    warnings = con.execute(f"""SELECT {DATA_YEAR} AS annee, count(*) AS n FROM constats_qualite
                               WHERE severite = 'avertissement' GROUP BY ALL""").df()
    warnings = dict(zip(warnings["annee"], warnings["n"]))
    published = {r[0] for r in con.execute("SELECT annee FROM publications WHERE publie_le IS NOT NULL").fetchall()}
    gates = []
    for year in years:
        block = pd.concat([blocking[blocking["annee"] == year], undated], ignore_index=True)
        ok = block.empty
        if ok:
            con.execute("DELETE FROM indicateurs_publies WHERE annee = ?", [year])
            con.execute("INSERT INTO indicateurs_publies SELECT * FROM indicateurs WHERE annee = ?", [year])
            con.execute("DELETE FROM tendances_publiees WHERE annee = ?", [year])
            con.execute("INSERT INTO tendances_publiees SELECT * FROM fct_tendances WHERE annee = ?", [year])
        previous = con.execute("SELECT publie_le FROM publications WHERE annee = ?", [year]).fetchall()
        con.execute("DELETE FROM publications WHERE annee = ?", [year])
        con.execute("""INSERT INTO publications VALUES (?, ?, CASE WHEN ? THEN now()::TIMESTAMP ELSE ? END,
                       now()::TIMESTAMP, ?, ?)""",
                    [year, "publiee" if ok else "bloquee", ok, previous[0][0] if previous else None,
                     len(block), int(warnings.get(year, 0))])
        gates.append(YearGate(year, ok, block, int(warnings.get(year, 0)), year in published))
    return gates
