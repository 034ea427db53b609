"""The DataFrames the rules run on, pulled from the warehouse (GX validates whole-dataframe
batches: its SQL path through duckdb-engine returns empty results). Every frame is bounded:
the per-measure scores are computed set-wise in dbt (int_controles__mesures) and only the values
that stand out are pulled; the indicators are summarised per indicator x year x level in SQL
before they reach pandas."""
from __future__ import annotations

from typing import Iterator

import pandas as pd

from common.errors import then

from .rules import FACTEUR_EVOLUTION_AVERTISSEMENT, FACTEUR_PAIRS_BLOQUANT, RATIOS, Z_AVERTISSEMENT

# Per indicator x year x level: how many values fall outside the bounds, and the extremes.
_BOUNDS = """
    SELECT i.indicateur, i.annee, i.annee AS annee_donnees, i.niveau,
           count(*) FILTER (WHERE {outside}) AS n_hors_bornes,
           min(i.valeur) AS valeur_min, arg_min(i.code, i.valeur) AS code_min,
           max(i.valeur) AS valeur_max, arg_max(i.code, i.valeur) AS code_max
    FROM indicateurs i JOIN dim_indicateurs d USING (indicateur)
    WHERE {unit} AND i.valeur IS NOT NULL AND NOT isnan(i.valeur)
    GROUP BY i.indicateur, i.annee, i.niveau"""

SQL = {
    "reponses": "SELECT * FROM int_controles__reponses",
    # a superset of what any rule of the frame can fail on (see expectations/rules.py), with the
    # words of the messages
    "mesures": f"""SELECT *, {{influente}} AS influente, CASE WHEN valeur >= mediane_pairs THEN 'plus' ELSE 'moins' END AS sens_pairs,
                          CASE WHEN valeur >= valeur_reference THEN 'multiplié' ELSE 'divisé' END AS sens_evolution,
                          CASE WHEN valeur >= mediane_pairs THEN 'plus élevée' ELSE 'plus basse' END AS sens_pairs_centre,
                          CASE WHEN valeur >= valeur_reference THEN 'plus élevée' ELSE 'plus basse' END
                              AS sens_evolution_centre,
                          coalesce(', sans que « ' || colonne_liee || ' » suive', '') AS sans_suivi
                   FROM int_controles__scores
                   WHERE valeur < 0 OR facteur_pairs >= {FACTEUR_PAIRS_BLOQUANT} OR abs(z_pairs) >= {Z_AVERTISSEMENT}
                      OR (controle_historique AND facteur_evolution >= {FACTEUR_EVOLUTION_AVERTISSEMENT}
                          AND abs(z_evolution) >= {Z_AVERTISSEMENT})""",
    "parts": _BOUNDS.format(outside="i.valeur < 0 OR i.valeur > 1", unit="d.unite = 'ratio'"),
    "sommes": _BOUNDS.format(outside="i.valeur < 0", unit="d.unite <> 'ratio'"),
    "presence": """
        WITH annees_enquete AS (SELECT DISTINCT annee FROM indicateurs WHERE indicateur = 'nb_structures'),
             annees_journal AS (SELECT DISTINCT annee FROM stg_federation__activites),
             niveaux AS (SELECT DISTINCT niveau FROM indicateurs
                         WHERE niveau IN ('structure', 'commune', 'territoire', 'departement', 'national')),
             attendus AS (
                SELECT d.indicateur, a.annee, n.niveau FROM dim_indicateurs d, annees_enquete a, niveaux n
                WHERE d.source = 'enquete'
                UNION ALL
                -- the federation's département, or the level above its départements when it declares
                -- several and they are loaded (int_indicateurs__agregats)
                SELECT d.indicateur, a.annee,
                       CASE WHEN (SELECT bool_or(federation_zone IS NOT NULL) FROM stg_projet__projet)
                                 AND 'national' IN (SELECT niveau FROM niveaux)
                            THEN 'national' ELSE 'departement' END
                FROM dim_indicateurs d, annees_journal a
                WHERE d.source = 'activites'),
             presents AS (SELECT DISTINCT indicateur, annee, niveau FROM indicateurs)
        SELECT t.*, t.annee AS annee_donnees, p.indicateur IS NOT NULL AS present
        FROM attendus t LEFT JOIN presents p USING (indicateur, annee, niveau)""",
}


def influential(thresholds: dict[str, float]) -> str:
    """SQL: whether a value's score passes the threshold of any level of published figure it
    enters (selective editing; the scores are dbt's, int_controles__scores)."""
    tests = [f"coalesce(score_{level} >= {float(t)!r}, false)" for level, t in sorted(thresholds.items())]
    return "(" + " OR ".join(tests or ["false"]) + ")"


def _queries(con, columns: dict[str, set[str]] | None, thresholds: dict[str, float] | None) -> dict[str, str]:
    """The SQL of every frame read from the warehouse (the respondents' frame is cut from the
    answers' one); with `columns`, only the columns named there, in the order of the query."""
    from ingest.config import score_thresholds

    queries = {}
    for name, sql in SQL.items():
        if name == "mesures":
            sql = sql.replace("{influente}", influential(thresholds or score_thresholds()))
        if columns is not None:
            wanted = columns.get(name, set()) | (columns.get("repondantes", set()) | {"est_repondant"}
                                                  if name == "reponses" else set())
            kept = ", ".join(f'"{c}"' for c in con.sql(sql).columns if c in wanted)
            sql = f"SELECT {kept} FROM ({sql})"
        queries[name] = sql
    return queries


def load_frames(con, columns: dict[str, set[str]] | None = None,
                thresholds: dict[str, float] | None = None) -> dict[str, pd.DataFrame]:
    """Every frame, whole; with `columns` (frame -> names), only the columns named there, in the
    order of the query (the respondents' frame is cut from the answers' one). `thresholds`: the
    selective-editing thresholds per level (the settings' defaults when not given). A validation
    reads them a slice at a time instead (`frame_slices`)."""
    frames = {name: con.execute(f"SELECT * FROM ({sql}) ORDER BY {_order(con, sql)}").df()
              for name, sql in _queries(con, columns, thresholds).items()}
    reponses = frames["reponses"]
    frames["repondantes"] = _with_influence(reponses[reponses["est_repondant"]].reset_index(drop=True),
                                            frames["mesures"])
    return frames


# A frame is handed to Great Expectations this many rows at a time: what the validation holds is
# one slice of one frame (and GX's copies of it), whatever the size of the extracts. The national
# demo's frames fit in one slice each.
SLICE_ROWS = 100_000
# The columns a frame's rows are put in order by (those it has): the same rows, the same order,
# whatever order DuckDB reads them in.
ORDER = ("annee_enquete", "code_structure", "ligne_source", "colonne", "indicateur", "annee", "niveau")


def _order(con, sql: str) -> str:
    present = set(con.sql(sql).columns)
    return ", ".join(f'"{c}"' for c in ORDER if c in present) or "ALL"


def _together(rules) -> list[str]:
    """The columns whose rows a rule of the frame compares with each other (a compound key that
    must be unique): rows alike on them are never split between two slices."""
    columns: list[str] = []
    for rule in rules:
        import great_expectations.expectations as gxe

        exp = rule.build(gxe)
        for c in getattr(exp, "column_list", None) or []:
            if c not in columns:
                columns.append(c)
    return columns


def frame_slices(con, columns: dict[str, set[str]] | None = None, thresholds: dict[str, float] | None = None,
                 rows: int | None = None) -> Iterator[tuple[str, int, int | None, pd.DataFrame]]:
    """Every frame as `load_frames` builds it, a slice of at most about `rows` rows at a time:
    (frame, first row, row after the last or None when the slice is the whole frame, slice), the frames in the order of `load_frames`, each slice's rows in
    order. A frame larger than one slice is written, in order, to a temporary table of the
    warehouse's connection (DuckDB writes it to disk beyond its memory limit) and read back a
    slice at a time; rows a rule compares with each other stay in one slice."""
    from .rules import RULES

    rows = rows or SLICE_ROWS
    queries = _queries(con, columns, thresholds)
    queries["repondantes"] = f"SELECT * FROM ({queries['reponses']}) WHERE est_repondant"
    influential = None
    for name, sql in queries.items():
        if name == "repondantes":
            mesures = queries["mesures"]
            influential = con.execute(
                f"SELECT annee_enquete, code_structure, colonne, influente FROM ({mesures}) "
                f"WHERE influente AND colonne IN ({', '.join(repr(c) for c in sorted({r[3] for r in RATIOS}))})").df() \
                if {"influente", "colonne", "annee_enquete", "code_structure"} <= set(con.sql(mesures).columns) \
                else pd.DataFrame()
        for start, end, part in _sliced(con, name, sql, rows, _together([r for r in RULES if r.frame == name])):
            if name == "repondantes":
                part = _with_influence(part, influential)
            yield name, start, end, part


def _sliced(con, name: str, sql: str, rows: int, together: list[str]) -> Iterator[tuple[int, int | None, pd.DataFrame]]:
    order = _order(con, sql)
    n = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
    if n <= rows:
        yield 0, None, con.execute(f"SELECT * FROM ({sql}) ORDER BY {order}").df()
        return
    table = f"_cadre_{name}"
    kept = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")      # the table's rows in the query's order
    # (clean-ups that never hide a failure: validate runs in one transaction, see common.errors.then)
    with then(lambda: con.execute(f"SET preserve_insertion_order = {'true' if kept else 'false'}")):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM ({sql}) ORDER BY {order}")
    with then(lambda: con.execute(f"DROP TABLE IF EXISTS {table}")):
        # the rows' ids follow the order they were written in (from a first id of the transaction's own)
        first, last = con.execute(f"SELECT min(rowid), max(rowid) FROM {table}").fetchall()[0]
        assert last - first + 1 == n, "rows of a frame not numbered in a row"
        key = ", ".join(f'"{c}"' for c in together)
        start = 0
        while start < n:
            end = min(start + rows, n)
            if key and end < n:     # the slice ends after the last row alike the one it would end on
                end = con.execute(f"""SELECT coalesce(min(rowid), {first + n}) - {first} FROM {table}
                                      WHERE rowid >= {first + end} AND ({key}) IS DISTINCT FROM
                                            (SELECT ({key}) FROM {table} WHERE rowid = {first + end - 1})""").fetchall()[0][0]
            part = con.execute(f"SELECT * FROM {table} WHERE rowid >= {first + start} AND rowid < {first + end} "
                               "ORDER BY rowid").df()
            yield start, end, part
            start = end


def _with_influence(repondantes: pd.DataFrame, mesures: pd.DataFrame) -> pd.DataFrame:
    """The respondents' frame with, for each column a ratio rule points at, whether that answer's
    value is influential (`influente__<column>`: its score passes a threshold; see the ratio
    rules in expectations/rules.py). Only values that stand out are scored: any other is not."""
    keys = ["annee_enquete", "code_structure"]
    if "influente" in mesures and "colonne" in mesures and all(k in repondantes for k in keys):
        influential = mesures.loc[mesures["influente"].fillna(False).astype(bool), [*keys, "colonne"]]
    else:
        influential = pd.DataFrame(columns=[*keys, "colonne"])
    answers = pd.MultiIndex.from_frame(repondantes[keys].astype({"annee_enquete": "Int64"})) \
        if all(k in repondantes for k in keys) else None
    out = repondantes.copy()
    for column in sorted({points_at for _, _, _, points_at, *_ in RATIOS}):
        found = influential[influential["colonne"] == column]
        if answers is None or found.empty:
            out[f"influente__{column}"] = False
            continue
        flagged = pd.MultiIndex.from_frame(found[keys].astype({"annee_enquete": "Int64"}))
        out[f"influente__{column}"] = answers.isin(flagged)
    return out
