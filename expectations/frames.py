"""The DataFrames the rules run on, pulled from the warehouse (GX validates whole-dataframe
batches: its SQL path through duckdb-engine returns empty results)."""
from __future__ import annotations

import pandas as pd

CORE_LEVELS = ("structure", "commune", "territoire", "departement")

SQL = {
    "reponses": "SELECT * FROM int_controles__reponses",
    "parts": """SELECT i.*, i.annee AS annee_donnees FROM indicateurs i JOIN dim_indicateurs d USING (indicateur)
                WHERE d.unite = 'ratio' AND i.valeur IS NOT NULL""",
    "sommes": """SELECT i.*, i.annee AS annee_donnees FROM indicateurs i JOIN dim_indicateurs d USING (indicateur)
                 WHERE d.unite <> 'ratio' AND i.valeur IS NOT NULL""",
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
                WHERE d.source = 'activites')
        SELECT t.*, t.annee AS annee_donnees,
               EXISTS (SELECT 1 FROM indicateurs i WHERE i.indicateur = t.indicateur AND i.annee = t.annee
                       AND i.niveau = t.niveau) AS present
        FROM attendus t""",
    "secret": """SELECT i.*, i.annee AS annee_donnees, d.n_min,
                        NOT (i.statut = 'publie' AND i.n_structures < d.n_min) AS secret_respecte
                 FROM indicateurs i JOIN dim_indicateurs d USING (indicateur)
                 WHERE i.niveau IN ('structure', 'commune', 'territoire')""",
}


def load_frames(con) -> dict[str, pd.DataFrame]:
    frames = {name: con.execute(sql).df() for name, sql in SQL.items()}
    reponses = frames["reponses"]
    frames["repondantes"] = reponses[reponses["est_repondant"]].reset_index(drop=True)
    return frames
