"""Analysts' corrections and confirmations (corrections.csv and confirmations.csv of the observatory folder), checked and recorded.

A correction never touches the raw extract: it is stored in the `corrections` table and
applied in dbt staging (stg_senacs__reponses). Each applied correction is an `info`
finding; one that points at no existing row or column, or whose value cannot be read,
is refused as a `bloquant` finding.

A confirmation (confirmations.csv) says a declared value that looks implausible is right: it
is stored in the `confirmations` table, and `observatoire validate` turns the findings on that
value into `info`. One whose value no longer matches the answer (corrections applied) is stale;
one that points at nothing is refused: both are `avertissement` findings and release nothing.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

from .config import PROJECT_DIR, Config
from common.errors import ObservatoireError
from common.observatory import CONFIRMATION_COLUMNS, CORRECTION_COLUMNS
from .extract import _parse_column
from .readers import decode, sniff_separator
from .reference import known_communes
from .values import TRUE_TOKENS, fold
from . import warehouse as W

CORRECTIONS_FILE = PROJECT_DIR / "data" / "corrections" / "corrections.csv"
CONFIRMATIONS_FILE = PROJECT_DIR / "data" / "corrections" / "confirmations.csv"
COLUMNS, CONFIRMATION_COLUMNS = CORRECTION_COLUMNS, CONFIRMATION_COLUMNS
KEYS = {"annee_enquete", "code_structure"}
HOW_TO = ("Corrigez ou supprimez la ligne dans le fichier des corrections (annee_enquete, code_structure, colonne, "
          "nouvelle_valeur, motif, auteur, date).")
CONFIRMATIONS_DDL = """
CREATE TABLE IF NOT EXISTS confirmations (
    ligne_fichier INTEGER, annee_enquete INTEGER, annee_donnees INTEGER, code_structure VARCHAR,
    colonne VARCHAR, valeur_confirmee VARCHAR, valeur_actuelle VARCHAR, motif VARCHAR, auteur VARCHAR,
    date_confirmation VARCHAR, statut VARCHAR, message VARCHAR, charge_le TIMESTAMP)"""


def read_corrections(path: Path, columns: list[str] = COLUMNS) -> pd.DataFrame:
    """The rows of a corrections-like file (corrections.csv, confirmations.csv), stripped."""
    if not path.exists():
        return pd.DataFrame(columns=columns + ["ligne_fichier"])
    text, _ = decode(path.read_bytes())
    try:
        with warnings.catch_warnings():       # a line with too many fields: an error, never a shift
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(pd.io.common.StringIO(text), sep=sniff_separator(text), dtype=str,
                                keep_default_na=False, index_col=False)
    except pd.errors.EmptyDataError:
        raise ObservatoireError(f"{path} : fichier vide ; il doit au moins contenir la ligne d'en-tête "
                                f"{';'.join(columns)}") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f"la ligne {line.group(1)} est illisible" if line else "une ligne a plus de champs que l'en-tête"
        raise ObservatoireError(f"{path} : {where} (séparateurs ou guillemets) ; chaque ligne doit donner, dans "
                                "l'ordre : " + ";".join(columns)) from None
    frame.columns = [fold(c) for c in frame.columns]      # « Année enquête » is annee_enquete
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ObservatoireError(f"{path} : {'colonne absente' if len(missing) == 1 else 'colonnes absentes'} : "
                                f"{', '.join(missing)} "
                                f"(attendu : {';'.join(columns)})")
    frame = frame[columns].apply(lambda s: s.str.strip())
    frame["ligne_fichier"] = range(2, len(frame) + 2)
    return frame[(frame[columns] != "").any(axis=1)]


def _normalise(frame: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Codes in upper case, a column named as the extract's header (« Salariés ») by its
    canonical name: read as the analyst meant them."""
    frame = frame.copy()
    frame["code_structure"] = frame["code_structure"].str.upper()
    years = pd.to_numeric(frame["annee_enquete"], errors="coerce")
    frame["colonne"] = [config.canonical_name("senacs", c, None if pd.isna(y) else int(y)) or c
                        for c, y in zip(frame["colonne"], years)]
    return frame


def _shown(value) -> str:
    return "vide" if value is None else str(value)


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


def _check(con, row: dict, value: str, table: str, columns,
           answered: bool = False) -> tuple[str | None, str | None, str | None, int | None]:
    """Does the row point at an answer and a correctable column, and can its value be read? A
    measure of a structure that did not answer is refused, unless `answered` (the corrections
    file also marks it as a respondent). Returns (problem, current value of that answer in
    `table`, the value as canonical text, annee_donnees)."""
    year = pd.to_numeric(row["annee_enquete"], errors="coerce")
    column = row["colonne"]
    if pd.isna(year):
        return f"annee_enquete « {row['annee_enquete']} » illisible", None, None, None
    if column not in columns or column in KEYS:
        return (f"« {column} » n'est pas une colonne corrigeable de l'enquête "
                "(colonnes canoniques de ingest/schema.yaml, hors clés)"), None, None, None
    found = con.execute(
        f'SELECT CAST("{column}" AS VARCHAR), annee_donnees, repondant FROM {table} '
        "WHERE annee_enquete = ? AND code_structure = ?", [int(year), row["code_structure"]]).fetchall()
    if not found:
        return (f"aucune réponse de {row['code_structure']} à l'enquête {int(year)} dans l'entrepôt (code mal saisi, "
                "ou structure absente d'un extrait révisé : la correction ne s'applique plus, supprimez alors la "
                "ligne)"), None, None, None
    current, annee_donnees, repondant = found[0]
    if columns[column].block != "identite" and repondant is not True and not answered:
        return (f"{row['code_structure']} n'a pas répondu à l'enquête {int(year)} (repondant : "
                f"{'non' if repondant is False else 'vide'}) : corrigez d'abord « repondant » si la structure a bien "
                "répondu"), current, None, annee_donnees
    parsed, failed, _, expected = _parse_column(
        columns[column], pd.Series([row[value] or None], dtype="object"), known_communes())
    if failed[0]:
        return f"valeur « {row[value]} » illisible (attendu : {expected})", current, None, annee_donnees
    return None, current, _canonical_text(parsed.iloc[0]), annee_donnees


def _year(row) -> int | None:
    year = pd.to_numeric(row["annee_enquete"], errors="coerce")
    return None if pd.isna(year) else int(year)


def _insert(con, table: str, records: list[dict]) -> None:
    con.register("_rows", pd.DataFrame(records))
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT *, now()::TIMESTAMP AS charge_le FROM _rows")
    finally:
        con.unregister("_rows")


def apply_corrections(con, path: Path = CORRECTIONS_FILE, config: Config | None = None) -> tuple[int, int]:
    """Check every correction against the loaded answers and record it. Runs in the
    caller's transaction. Returns (applied, refused)."""
    config = config or Config()
    frame = _normalise(read_corrections(path), config)
    con.execute("DELETE FROM corrections")
    con.execute("DELETE FROM constats_qualite WHERE etape = 'correction'")
    rows = frame.to_dict("records")
    respondents = {(r["annee_enquete"], r["code_structure"]) for r in rows if r["colonne"] == "repondant"
                   and r["nouvelle_valeur"].strip().lower() in TRUE_TOKENS}
    checked = []
    for row in rows:
        problem, initial, new_text, annee_donnees = _check(
            con, row, "nouvelle_valeur", "reponses", config.columns["senacs"],
            answered=(row["annee_enquete"], row["code_structure"]) in respondents)
        if problem and problem.startswith("valeur"):
            problem = "nouvelle " + problem
        if not row["motif"] and not problem:
            problem = "motif manquant : toute correction doit être justifiée"
        checked.append([row, problem, initial, new_text, annee_donnees])
    _refuse_disagreements(checked)
    records, findings = [], []
    for row, problem, initial, new_text, annee_donnees in checked:
        column = row["colonne"]
        status = "refusee" if problem else "appliquee"
        where = f"Correction ligne {row['ligne_fichier']} ({row['code_structure']}, enquête {row['annee_enquete']}, {column})"
        message = (f"{where} refusée : {problem}. {HOW_TO}" if problem else
                   f"{where} : « {_shown(initial)} » remplacé par « {_shown(new_text)} » ({row['motif']}, "
                   f"{row['auteur']}, {row['date']}).")
        records.append({**{k: row[k] for k in ("code_structure", "motif", "auteur")},
                        "ligne_fichier": row["ligne_fichier"], "annee_enquete": _year(row),
                        "colonne": column, "valeur_initiale": initial, "nouvelle_valeur": new_text,
                        "date_correction": row["date"], "statut": status, "message": message})
        findings.append({"ligne": row["ligne_fichier"], "annee_enquete": _year(row),
                         "annee_donnees": annee_donnees, "code_structure": row["code_structure"],
                         "colonne": column, "valeur_brute": initial if not problem else row["nouvelle_valeur"],
                         "valeur_attendue": new_text, "regle": "correction_refusee" if problem else "correction_appliquee",
                         "severite": "bloquant" if problem else "info", "message": message})
    if records:
        _insert(con, "corrections", records)
        W.write_findings(con, pd.DataFrame(findings), etape="correction", kind="senacs", year=None,
                         fichier=path.name, sha256=None)
    applied = sum(1 for r in records if r["statut"] == "appliquee")
    return applied, len(records) - applied


def _refuse_disagreements(checked: list[list]) -> None:
    """Two corrections of one value that give it different values: which one is right is for the
    analyst to say (the table would otherwise keep one of them silently). Both are refused."""
    groups: dict[tuple, list[list]] = {}
    for entry in checked:
        row, problem = entry[0], entry[1]
        if not problem:
            groups.setdefault((row["annee_enquete"], row["code_structure"], row["colonne"]), []).append(entry)
    for entries in groups.values():
        values = list(dict.fromkeys(_shown(e[3]) for e in entries))
        if len(values) > 1:
            lines = [str(e[0]["ligne_fichier"]) for e in entries]
            for entry in entries:
                entry[1] = (f"les lignes {', '.join(lines[:-1])} et {lines[-1]} corrigent cette valeur différemment "
                            f"({', '.join(f'« {v} »' for v in values)}) : gardez-en une seule")


def _same_value(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a.strip().lower() == b.strip().lower()
    return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))


def record_confirmations(con, path: Path = CONFIRMATIONS_FILE, config: Config | None = None) -> pd.DataFrame:
    """Check every confirmation against the answers as corrected (stg_senacs__reponses) and
    record it in `confirmations`; stale or refused ones become `avertissement` findings. Runs in
    the caller's transaction. Returns the active confirmations."""
    config = config or Config()
    con.execute(CONFIRMATIONS_DDL)
    con.execute("DELETE FROM confirmations")
    con.execute("DELETE FROM constats_qualite WHERE etape = 'confirmation'")
    records, findings = [], []
    for row in _normalise(read_corrections(path, CONFIRMATION_COLUMNS), config).to_dict("records"):
        column = row["colonne"]
        problem, current, confirmed, annee_donnees = _check(con, row, "valeur_confirmee", "stg_senacs__reponses",
                                                            config.columns["senacs"])
        if not problem and not (row["motif"] and row["auteur"]):
            problem = "motif ou auteur manquant : toute confirmation doit dire qui confirme et pourquoi"
        where = (f"Confirmation ligne {row['ligne_fichier']} ({row['code_structure']}, enquête "
                 f"{row['annee_enquete']}, {column})")
        if problem:
            status, regle = "refusee", "confirmation_refusee"
            message = (f"{where} ignorée : {problem}. Corrigez la ligne dans confirmations.csv "
                       "(annee_enquete, code_structure, colonne, valeur_confirmee, motif, auteur, date).")
        elif not _same_value(current, confirmed):
            status, regle = "perimee", "confirmation_perimee"
            message = (f"{where} périmée : la valeur confirmée par {row['auteur']} le {row['date']} "
                       f"(« {_shown(confirmed)} ») n'est plus celle de la réponse (« {_shown(current)} »), "
                       "après un nouvel extrait ou une correction. Revoyez-la avec la structure, puis mettez à jour "
                       "ou retirez la ligne de confirmations.csv.")
        else:
            status, regle, message = "active", None, f"{where} : « {_shown(confirmed)} » confirmé par {row['auteur']} le {row['date']} ({row['motif']})."
        records.append({"ligne_fichier": row["ligne_fichier"], "annee_enquete": _year(row),
                        "annee_donnees": annee_donnees, "code_structure": row["code_structure"], "colonne": column,
                        "valeur_confirmee": confirmed if confirmed is not None else row["valeur_confirmee"],
                        "valeur_actuelle": current, "motif": row["motif"], "auteur": row["auteur"],
                        "date_confirmation": row["date"], "statut": status, "message": message})
        if regle:
            findings.append({"ligne": row["ligne_fichier"], "annee_enquete": _year(row),
                             "annee_donnees": annee_donnees, "code_structure": row["code_structure"],
                             "colonne": column, "valeur_brute": current, "valeur_attendue": row["valeur_confirmee"],
                             "regle": regle, "severite": "avertissement", "message": message})
    if records:
        _insert(con, "confirmations", records)
    if findings:
        W.write_findings(con, pd.DataFrame(findings), etape="confirmation", kind="senacs", year=None,
                         fichier=path.name, sha256=None)
    table = pd.DataFrame(records, columns=["annee_enquete", "code_structure", "colonne", "valeur_confirmee",
                                           "motif", "auteur", "date_confirmation", "statut"])
    return table[table["statut"] == "active"].reset_index(drop=True)
