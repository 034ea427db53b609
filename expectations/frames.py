"""The DataFrames the rules run on, pulled from the warehouse (GX validates whole-dataframe
batches: its SQL path through duckdb-engine returns empty results). Every frame is bounded:
the per-measure scores are computed set-wise in dbt (int_controles__mesures) and only the values
that stand out are pulled; the indicators are summarised per indicator x year x level in SQL
before they reach pandas."""
from __future__ import annotations

import pandas as pd

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
                SELECT d.indicateur, a.annee, 'departement' FROM dim_indicateurs d, annees_journal a
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


def load_frames(con, columns: dict[str, set[str]] | None = None,
                thresholds: dict[str, float] | None = None) -> dict[str, pd.DataFrame]:
    """Every frame; with `columns` (frame -> names), only the columns named there, in the order
    of the query (the respondents' frame is cut from the answers' one). `thresholds`: the
    selective-editing thresholds per level (the settings' defaults when not given)."""
    from ingest.config import score_thresholds

    frames = {}
    for name, sql in SQL.items():
        if name == "mesures":
            sql = sql.replace("{influente}", influential(thresholds or score_thresholds()))
        if columns is not None:
            wanted = columns.get(name, set()) | (columns.get("repondantes", set()) | {"est_repondant"}
                                                  if name == "reponses" else set())
            kept = ", ".join(f'"{c}"' for c in con.sql(sql).columns if c in wanted)
            sql = f"SELECT {kept} FROM ({sql})"
        frames[name] = con.execute(sql).df()
    reponses = frames["reponses"]
    frames["repondantes"] = _with_influence(reponses[reponses["est_repondant"]].reset_index(drop=True),
                                            frames["mesures"])
    return frames


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
