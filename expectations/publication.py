"""The quality gate and the publication snapshot.

A data year is published only when it has no blocking finding. Publishing a year freezes
everything public about it: its rows of every public mart of the build (the dbt models named
`pub_*` that have an `annee` column) are copied into the table of the same name in the schema
`publie`, which is all the public site and the open data read. A blocked year keeps the rows of
its previous publication untouched. The public marts that describe no year (the registry, the
federal project, code labels) are frozen whole whenever a year is published. Everything happens
in the caller's transaction: a crash publishes nothing. `publications` says, per year, what
happened at the last validation; `publie.publications` keeps, per published year, its
publication date and its count of warnings as they were when it was published.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# The data year a finding concerns: its own when known, else the year its survey describes.
DATA_YEAR = "coalesce(annee_donnees, annee_enquete - 1, annee_fichier - 1)"
SNAPSHOT_SCHEMA = "publie"

DDL = [
    f"CREATE SCHEMA IF NOT EXISTS {SNAPSHOT_SCHEMA}",
    """CREATE TABLE IF NOT EXISTS publications (
           annee INTEGER, statut VARCHAR, publie_le TIMESTAMP, verifie_le TIMESTAMP,
           nb_bloquants INTEGER, nb_avertissements INTEGER)""",
    # what the public site says of each published year, as it was when the year was published
    f"""CREATE TABLE IF NOT EXISTS {SNAPSHOT_SCHEMA}.publications (
           annee INTEGER, publie_le TIMESTAMP, nb_avertissements INTEGER)""",
]


# blocking findings a gate holds (its first ones; it counts them all): the console quotes 15 of them
GATE_ROWS = 1000


@dataclass
class YearGate:
    annee: int
    publie: bool
    bloquants: pd.DataFrame         # the first GATE_ROWS blocking findings (by rule, then structure)
    avertissements: int
    deja_publie: bool
    n_bloquants: int | None = None  # how many blocking findings in all
    # a published year with no blocking finding whose figures moved while the year before it is held
    # (its one-year changes read that year's figures, unpublished): the held year it waits for; it
    # keeps its publication until then
    attend: int | None = None

    def __post_init__(self):
        if self.n_bloquants is None:
            self.n_bloquants = len(self.bloquants)


def _exists(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                            "AND table_name = ?", [table]).fetchall()[0][0])


def effective_findings_sql(con) -> str:
    """The findings as the gate and the quality outputs count them (a query over
    `constats_qualite`, read only):
    * every finding on a value, whatever step raised it, is cleared by an applied correction or an
      active confirmation of that value (validation findings are re-run on the corrected answers
      and carry the confirmation themselves; the other steps' findings become `info` here);
    * one value is counted once: of the blocking findings of several steps on one value of one
      answer (an empty `repondant` is seen by the reading and by the validation; a budget typed
      x1,000 by its history and by its ratio to the staff), the validation's is kept, and of
      those the one that says its effect on the published figures (scored)."""
    cleared = []
    if _exists(con, "corrections"):
        cleared.append("SELECT annee_enquete, code_structure, colonne FROM corrections WHERE statut = 'appliquee'")
    if _exists(con, "confirmations"):
        cleared.append("SELECT annee_enquete, code_structure, colonne FROM confirmations WHERE statut = 'active'")
    scored = "score IS NOT NULL" if con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'constats_qualite' "
        "AND column_name = 'score'").fetchall()[0][0] else "false"
    levee = ("EXISTS (SELECT 1 FROM (" + " UNION ALL ".join(cleared) + ") l WHERE l.annee_enquete = c.annee_enquete "
             "AND l.code_structure = c.code_structure AND l.colonne = c.colonne)") if cleared else "false"
    return f"""
        WITH c AS (
            SELECT c.* REPLACE (
                CASE WHEN c.severite <> 'info' AND c.etape NOT IN ('validation', 'correction', 'confirmation')
                          AND {levee} THEN 'info' ELSE c.severite END AS severite)
            FROM constats_qualite c)
        SELECT * FROM c
        QUALIFY severite <> 'bloquant' OR code_structure IS NULL OR colonne IS NULL OR annee_enquete IS NULL
             OR row_number() OVER (PARTITION BY annee_enquete, code_structure, colonne, severite
                                   ORDER BY etape = 'validation' DESC, {scored} DESC, regle) = 1"""


def blocking_findings(con) -> pd.DataFrame:
    return con.execute(f"""
        SELECT {DATA_YEAR} AS annee, etape, regle, code_structure, colonne, valeur_brute, message
        FROM ({effective_findings_sql(con)}) WHERE severite = 'bloquant'
        ORDER BY annee, regle, code_structure""").df()


def public_marts(con) -> dict[str, bool]:
    """Every public mart of the build: name -> whether it holds one row set per data year."""
    rows = con.execute("""
        SELECT t.table_name, bool_or(c.column_name = 'annee')
        FROM information_schema.tables t
        JOIN information_schema.columns c USING (table_schema, table_name)
        WHERE t.table_schema = 'main' AND t.table_name LIKE 'pub\\_%' ESCAPE '\\'
        GROUP BY t.table_name ORDER BY t.table_name""").fetchall()
    return dict(rows)


def _snapshot_table(con, name: str) -> str:
    """The frozen table of a public mart, created empty on first use and given any column the
    mart gained since (a column it lost stays, empty in later rows)."""
    frozen = f"{SNAPSHOT_SCHEMA}.{name}"
    con.execute(f"CREATE TABLE IF NOT EXISTS {frozen} AS SELECT * FROM main.{name} WHERE false")
    have = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [SNAPSHOT_SCHEMA, name]).fetchall()}
    for column, sql_type in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position", [name]).fetchall():
        if column not in have:
            con.execute(f'ALTER TABLE {frozen} ADD COLUMN "{column}" {sql_type}')
    return frozen


def freeze(con, years: list[int]) -> None:
    """Copy the public marts' rows of `years` into the snapshot (caller's transaction)."""
    if not years:
        return
    for name, by_year in public_marts(con).items():
        frozen = _snapshot_table(con, name)
        if by_year:
            placeholders = ", ".join("?" * len(years))
            con.execute(f"DELETE FROM {frozen} WHERE annee IN ({placeholders})", years)
            con.execute(f"INSERT INTO {frozen} BY NAME SELECT * FROM main.{name} WHERE annee IN ({placeholders})",
                        years)
        else:
            con.execute(f"DELETE FROM {frozen}")
            con.execute(f"INSERT INTO {frozen} BY NAME SELECT * FROM main.{name}")


def year_gates(con) -> list[YearGate]:
    """The gate of every data year of `indicateurs`, from the findings as they stand (reads only)."""
    years = [r[0] for r in con.execute("SELECT DISTINCT annee FROM indicateurs ORDER BY annee").fetchall()]
    # the first GATE_ROWS of each year (hundreds of thousands with a large extract), and their count
    blocking = con.execute(f"""
        SELECT {DATA_YEAR} AS annee, etape, regle, code_structure, colonne, valeur_brute, message
        FROM ({effective_findings_sql(con)}) WHERE severite = 'bloquant'
        QUALIFY row_number() OVER (PARTITION BY {DATA_YEAR} ORDER BY regle, code_structure, colonne, message)
                <= {GATE_ROWS}
        ORDER BY annee, regle, code_structure""").df()
    counts = dict(con.execute(f"""SELECT {DATA_YEAR}, count(*) FROM ({effective_findings_sql(con)})
                                  WHERE severite = 'bloquant' GROUP BY ALL""").fetchall())
    # findings with no year at all (a rejected file of unknown year, say) block every year
    undated = blocking[blocking["annee"].isna()]
    warnings = con.execute(f"""SELECT {DATA_YEAR} AS annee, count(*) AS n FROM ({effective_findings_sql(con)})
                               WHERE severite = 'avertissement' GROUP BY ALL""").df()
    warnings = dict(zip(warnings["annee"], warnings["n"]))
    logged = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' "
                         "AND table_name = 'publications'").fetchall()[0][0]
    published = {r[0] for r in con.execute("SELECT annee FROM publications WHERE publie_le IS NOT NULL").fetchall()} \
        if logged else set()
    gates = []
    for year in years:
        block = pd.concat([blocking[blocking["annee"] == year], undated], ignore_index=True).head(GATE_ROWS)
        n = counts.get(year, 0) + counts.get(None, 0)
        gates.append(YearGate(year, n == 0, block, int(warnings.get(year, 0)), year in published, n))
    return gates


def changed_years(con, years: list[int]) -> set[int]:
    """The years whose rows of some public mart differ from their last publication (or that were
    never published): their "publié le" date moves; the others keep theirs."""
    changed = set(years)
    if not years:
        return changed
    frozen_dates = {r[0] for r in con.execute(f"SELECT annee FROM {SNAPSHOT_SCHEMA}.publications").fetchall()}
    same = {y for y in years if y in frozen_dates}
    for name, by_year in public_marts(con).items():
        if not by_year or not same:
            continue
        exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? "
                             "AND table_name = ?", [SNAPSHOT_SCHEMA, name]).fetchall()[0][0]
        if not exists:
            return changed
        columns = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
            "ORDER BY ordinal_position", [name]).fetchall()]
        have = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [SNAPSHOT_SCHEMA, name]).fetchall()}
        if not set(columns) <= have:
            return changed
        # each year's rows as a multiset: their count and the sum of their rows' hashes, read in
        # one streaming pass per side (an EXCEPT ALL of the two sides held both in memory, and
        # spilled under validate's memory limit: 16 s on the national warehouse)
        row = "hash(" + ", ".join(f'"{c}"' for c in columns) + ")"
        placeholders = ", ".join("?" * len(same))
        fingerprint = ("SELECT annee, count(*) AS n, sum({row}) AS h FROM {table} "
                       "WHERE annee IN ({placeholders}) GROUP BY annee")
        differ = con.execute(f"""
            SELECT annee FROM ({fingerprint.format(row=row, table=f"main.{name}", placeholders=placeholders)}) AS a
            FULL JOIN ({fingerprint.format(row=row, table=f"{SNAPSHOT_SCHEMA}.{name}", placeholders=placeholders)}) AS b
            USING (annee)
            WHERE a.n IS DISTINCT FROM b.n OR a.h IS DISTINCT FROM b.h""", [*same] * 2).fetchall()
        same -= {r[0] for r in differ}
    return changed - same


def publish(con) -> list[YearGate]:
    """Apply the gate to every data year of `indicateurs` and freeze the years that pass. A year
    whose published figures did not change keeps its publication date. Runs in the caller's
    transaction."""
    for statement in DDL:
        con.execute(statement)
    gates = year_gates(con)
    passing = [g.annee for g in gates if g.publie]
    moved = changed_years(con, passing)
    # a year already published keeps its publication while the year before it is held, if its
    # figures moved: its changes on one year would read the held year's new figures beside that
    # year's old published ones (a later year, with its own new figures, is not held back for it)
    held = {g.annee for g in gates if not g.publie}
    for before, gate in zip(gates, gates[1:]):
        if gate.publie and gate.deja_publie and gate.annee in moved and before.annee in held:
            gate.attend = before.annee
    waiting = {g.annee for g in gates if g.attend is not None}
    freeze(con, [y for y in passing if y not in waiting])
    for gate in gates:
        if gate.attend is not None:        # its publication (rows, date) untouched; checked now
            con.execute("UPDATE publications SET statut = 'publiee', verifie_le = now()::TIMESTAMP, nb_bloquants = 0, "
                        "nb_avertissements = ? WHERE annee = ?", [gate.avertissements, gate.annee])
            continue
        if gate.publie:
            kept = con.execute(f"SELECT publie_le FROM {SNAPSHOT_SCHEMA}.publications WHERE annee = ?",
                               [gate.annee]).fetchall()
            date = kept[0][0] if kept and gate.annee not in moved else None
            con.execute(f"DELETE FROM {SNAPSHOT_SCHEMA}.publications WHERE annee = ?", [gate.annee])
            con.execute(f"INSERT INTO {SNAPSHOT_SCHEMA}.publications VALUES (?, coalesce(?, now()::TIMESTAMP), ?)",
                        [gate.annee, date, gate.avertissements])
        previous = con.execute("SELECT publie_le FROM publications WHERE annee = ?", [gate.annee]).fetchall()
        con.execute("DELETE FROM publications WHERE annee = ?", [gate.annee])
        # the date the year's published figures last changed (kept when they did not)
        con.execute("""INSERT INTO publications VALUES (?, ?, CASE WHEN ? THEN coalesce(
                           (SELECT publie_le FROM publie.publications WHERE annee = ?), now()::TIMESTAMP) ELSE ? END,
                       now()::TIMESTAMP, ?, ?)""",
                    [gate.annee, "publiee" if gate.publie else "bloquee", gate.publie, gate.annee,
                     previous[0][0] if previous else None, gate.n_bloquants, gate.avertissements])
    return gates
