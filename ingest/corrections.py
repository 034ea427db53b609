"""Analysts' corrections (data/corrections/corrections.csv), checked and recorded.

A correction never touches the raw extract: it is stored in the `corrections` table and
applied in dbt staging (stg_senacs__reponses). Each applied correction is an `info`
finding; one that points at no existing row or column, or whose value cannot be read,
is refused as a `bloquant` finding.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .config import PROJECT_DIR, Config
from .errors import ObservatoireError
from .extract import _parse_column
from .readers import decode, sniff_separator
from .reference import known_communes
from . import warehouse as W

CORRECTIONS_FILE = PROJECT_DIR / "data" / "corrections" / "corrections.csv"
COLUMNS = ["annee_enquete", "code_structure", "colonne", "nouvelle_valeur", "motif", "auteur", "date"]
KEYS = {"annee_enquete", "code_structure"}
HOW_TO = ("Corrigez la ligne dans le fichier des corrections (annee_enquete, code_structure, colonne, "
          "nouvelle_valeur, motif, auteur, date).")


def read_corrections(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS + ["ligne_fichier"])
    text, _ = decode(path.read_bytes())
    frame = pd.read_csv(pd.io.common.StringIO(text), sep=sniff_separator(text), dtype=str,
                        keep_default_na=False)
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ObservatoireError(f"{path} : colonne(s) absente(s) : {', '.join(missing)} "
                                f"(attendu : {';'.join(COLUMNS)})")
    frame = frame[COLUMNS].apply(lambda s: s.str.strip())
    frame["ligne_fichier"] = range(2, len(frame) + 2)
    return frame[(frame[COLUMNS] != "").any(axis=1)]


def _canonical_text(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    if isinstance(value, (bool,)) or str(value) in ("True", "False"):
        return "true" if str(value) == "True" else "false"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def apply_corrections(con, path: Path = CORRECTIONS_FILE, config: Config | None = None) -> tuple[int, int]:
    """Check every correction against the loaded answers and record it. Runs in the
    caller's transaction. Returns (applied, refused)."""
    config = config or Config()
    columns = config.columns["senacs"]
    frame = read_corrections(path)
    con.execute("DELETE FROM corrections")
    con.execute("DELETE FROM constats_qualite WHERE etape = 'correction'")
    records, findings = [], []
    for row in frame.to_dict("records"):
        problem, initial, new_text, annee_donnees = None, None, None, None
        year = pd.to_numeric(row["annee_enquete"], errors="coerce")
        column = row["colonne"]
        if pd.isna(year):
            problem = f"annee_enquete « {row['annee_enquete']} » illisible"
        elif column not in columns or column in KEYS:
            problem = (f"« {column} » n'est pas une colonne corrigeable de l'enquête "
                       "(colonnes canoniques de ingest/schema.yaml, hors clés)")
        else:
            found = con.execute(
                f'SELECT CAST("{column}" AS VARCHAR), annee_donnees FROM reponses '
                "WHERE annee_enquete = ? AND code_structure = ?", [int(year), row["code_structure"]]).fetchall()
            if not found:
                problem = (f"aucune réponse de {row['code_structure']} à l'enquête {int(year)} "
                           "dans l'entrepôt")
            else:
                initial, annee_donnees = found[0]
                parsed, failed, _, expected = _parse_column(
                    columns[column], pd.Series([row["nouvelle_valeur"] or None], dtype="object"),
                    known_communes())
                if failed[0]:
                    problem = f"nouvelle valeur « {row['nouvelle_valeur']} » illisible : {expected} attendu"
                else:
                    new_text = _canonical_text(parsed.iloc[0])
        if not row["motif"] and not problem:
            problem = "motif manquant : toute correction doit être justifiée"
        status = "refusee" if problem else "appliquee"
        where = f"Correction ligne {row['ligne_fichier']} ({row['code_structure']}, enquête {row['annee_enquete']}, {column})"
        message = (f"{where} refusée : {problem}. {HOW_TO}" if problem else
                   f"{where} : « {initial} » remplacé par « {new_text} » ({row['motif']}, {row['auteur']}, "
                   f"{row['date']}).")
        records.append({**{k: row[k] for k in ("code_structure", "motif", "auteur")},
                        "ligne_fichier": row["ligne_fichier"], "annee_enquete": None if pd.isna(year) else int(year),
                        "colonne": column, "valeur_initiale": initial, "nouvelle_valeur": new_text,
                        "date_correction": row["date"], "statut": status, "message": message})
        findings.append({"ligne": row["ligne_fichier"], "annee_enquete": None if pd.isna(year) else int(year),
                         "annee_donnees": annee_donnees, "code_structure": row["code_structure"],
                         "colonne": column, "valeur_brute": initial if not problem else row["nouvelle_valeur"],
                         "valeur_attendue": new_text, "regle": "correction_refusee" if problem else "correction_appliquee",
                         "severite": "bloquant" if problem else "info", "message": message})
    if records:
        table = pd.DataFrame(records)
        con.register("_corrections", table)
        try:
            con.execute("INSERT INTO corrections BY NAME SELECT *, now()::TIMESTAMP AS charge_le FROM _corrections")
        finally:
            con.unregister("_corrections")
        W.write_findings(con, pd.DataFrame(findings), etape="correction", kind="senacs", year=None,
                         fichier=path.name, sha256=None)
    applied = sum(1 for r in records if r["statut"] == "appliquee")
    return applied, len(records) - applied
