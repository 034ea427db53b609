"""The DuckDB warehouse: raw tables with lineage, analyst views, findings, file archive."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd

from .config import Config
from common.errors import LockedError, ObservatoireError
from common.french import fr_count, fr_int
from common.names import name_text
from .extract import FINDING_COLUMNS, ParsedExtract

LINEAGE = {"_fichier_sha256": "VARCHAR", "_annee_fichier": "INTEGER", "_ligne": "INTEGER",
           "_charge_le": "TIMESTAMP"}
RAW_TABLE = {"senacs": "raw_senacs", "activites": "raw_activites"}

FILES_DDL = """
CREATE TABLE IF NOT EXISTS fichiers_sources (
    sha256 VARCHAR, type_extrait VARCHAR, annee_fichier INTEGER, nom_fichier VARCHAR,
    chemin_source VARCHAR, chemin_archive VARCHAR, taille_octets BIGINT, encodage VARCHAR,
    separateur VARCHAR, nb_lignes INTEGER, nb_doublons_fusionnes INTEGER, statut VARCHAR,
    charge_le TIMESTAMP, remplace_le TIMESTAMP)"""
EXTRA_DDL = """
CREATE TABLE IF NOT EXISTS raw_cellules_hors_schema (
    type_extrait VARCHAR, annee_fichier INTEGER, annee_enquete INTEGER, code_structure VARCHAR,
    question VARCHAR, reponse VARCHAR, est_bloc BOOLEAN,
    _fichier_sha256 VARCHAR, _ligne INTEGER, _charge_le TIMESTAMP)"""
FINDINGS_DDL = """
CREATE TABLE IF NOT EXISTS constats_qualite (
    etape VARCHAR, type_extrait VARCHAR, annee_fichier INTEGER, fichier VARCHAR,
    fichier_sha256 VARCHAR, ligne INTEGER, annee_enquete INTEGER, code_structure VARCHAR,
    colonne VARCHAR, valeur_brute VARCHAR, valeur_attendue VARCHAR, regle VARCHAR,
    severite VARCHAR, message VARCHAR, cree_le TIMESTAMP, annee_donnees INTEGER)"""
CORRECTIONS_DDL = """
CREATE TABLE IF NOT EXISTS corrections (
    ligne_fichier INTEGER, annee_enquete INTEGER, code_structure VARCHAR, colonne VARCHAR,
    valeur_initiale VARCHAR, nouvelle_valeur VARCHAR, motif VARCHAR, auteur VARCHAR,
    date_correction VARCHAR, statut VARCHAR, message VARCHAR, charge_le TIMESTAMP)"""


def connect(db_path: Path, read_only: bool = False, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Another process holding the file (a notebook, another command: DuckDB
    allows one writer, and a reader blocks writers) is a LockedError once `wait` seconds have
    passed; by default the wait is what remains of the `warehouse_lock` this process holds."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    if not read_only:
        _check_writable(db_path)
    deadline = time.monotonic() + wait if wait is not None else _DEADLINES.get(_key(db_path), 0)
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=read_only)
        except duckdb.IOException as exc:
            if not is_lock_conflict(exc):
                raise ObservatoireError(f"Impossible d'ouvrir l'entrepôt {db_path} : {exc}") from exc
            if time.monotonic() >= deadline:
                raise busy_error(db_path, exc) from None
            time.sleep(0.2)


def is_lock_conflict(exc: BaseException | str) -> bool:
    """DuckDB's "Could not set lock on file …: Conflicting lock is held in … (PID n)"."""
    return "conflicting lock" in str(exc).lower() or "could not set lock" in str(exc).lower()


def busy_error(db_path: Path, exc: BaseException | str) -> LockedError:
    pid = re.search(r"PID (\d+)", str(exc))
    who = f" (processus {pid.group(1)})" if pid else ""
    return LockedError(
        f"L'entrepôt {db_path} est ouvert par un autre programme{who} : un notebook, une autre commande "
        "observatoire ou un autre outil qui lit le fichier. Fermez-le (dans un notebook : con.close()), "
        "ou relancez avec --attendre SECONDES pour attendre qu'il le libère.")


def _check_writable(db_path: Path) -> None:
    """DuckDB writes its journal (.wal) beside the file: say so before a write fails half-way."""
    for path in (db_path.parent, db_path, db_path.with_name(db_path.name + ".wal")):
        if path.exists() and not os.access(path, os.W_OK):
            raise _not_writable(db_path, path)


def _not_writable(db_path: Path, path: Path) -> ObservatoireError:
    what = (f"le dossier {path} n'est pas accessible en écriture pour l'utilisateur qui lance la commande "
            "(l'entrepôt y écrit son verrou et son journal .wal)" if path.is_dir() else
            f"le fichier {path} n'est pas accessible en écriture pour l'utilisateur qui lance la commande")
    return ObservatoireError(f"L'entrepôt {db_path} ne peut pas être modifié : {what}. Donnez-lui ce droit, "
                             "ou choisissez un autre entrepôt avec --entrepot.")


def rollback(con) -> None:
    """Undo the open transaction, without hiding the error being handled: when COMMIT itself failed
    (its journal could not be written), DuckDB has already ended the transaction and ROLLBACK would
    raise "no transaction is active". And close without a checkpoint: after a failed write (a full
    disk), the checkpoint at close could rewrite the file half-way; the next opening replays the
    journal instead, which DuckDB does safely."""
    for statement in ("ROLLBACK", "PRAGMA disable_checkpoint_on_shutdown"):
        try:
            con.execute(statement)
        except duckdb.Error:
            pass


def ensure_schema(con, config: Config) -> None:
    """Create the tables and views; add any column the schema gained since."""
    con.execute(FILES_DDL)
    con.execute(EXTRA_DDL)
    con.execute(FINDINGS_DDL)
    con.execute(CORRECTIONS_DDL)
    con.execute("ALTER TABLE constats_qualite ADD COLUMN IF NOT EXISTS annee_donnees INTEGER")
    # the reading settings a file was loaded with (ingest.load.reading_fingerprint): an alias added
    # since makes the same bytes read otherwise, so the file is loaded again
    con.execute("ALTER TABLE fichiers_sources ADD COLUMN IF NOT EXISTS empreinte_lecture VARCHAR")
    add_selection_columns(con)
    for kind, table in RAW_TABLE.items():
        columns = {c.name: c.sql_type for c in config.columns[kind].values()} | LINEAGE
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ("
                    + ", ".join(f'"{n}" {t}' for n, t in columns.items()) + ")")
        existing = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
        for name, sql_type in columns.items():
            if name not in existing:
                con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {sql_type}')
    senacs_cols = ", ".join(f'"{c}"' for c in config.columns["senacs"])
    activity_cols = ", ".join(f'"{c}"' for c in config.columns["activites"])
    con.execute(f"""
        CREATE OR REPLACE VIEW reponses AS
        SELECT {senacs_cols}, _fichier_sha256 AS fichier_sha256, _ligne AS ligne_source
        FROM raw_senacs
        WHERE code_structure IS NOT NULL AND annee_enquete = _annee_fichier
        QUALIFY count(*) OVER (PARTITION BY annee_enquete, code_structure) = 1""")
    con.execute(f"""
        CREATE OR REPLACE VIEW activites AS
        SELECT {activity_cols}, _annee_fichier AS annee_fichier,
               _fichier_sha256 AS fichier_sha256, _ligne AS ligne_source
        FROM raw_activites""")
    con.execute("""
        CREATE OR REPLACE VIEW reponses_blocs AS
        SELECT annee_enquete, code_structure, question, reponse,
               _fichier_sha256 AS fichier_sha256, _ligne AS ligne_source
        FROM raw_cellules_hors_schema
        WHERE type_extrait = 'senacs' AND est_bloc""")


def active_file(con, kind: str, year: int) -> str | None:
    row = con.execute("SELECT sha256 FROM fichiers_sources WHERE type_extrait = ? AND annee_fichier = ? "
                      "AND statut = 'actif'", [kind, year]).fetchall()
    return row[0][0] if row else None


def read_alike(con, kind: str, year: int, sha256: str, reading: str) -> bool:
    """Whether the year's active file is these bytes, read with the same reading settings (header
    aliases, schema, communes, project codes): only then is loading it again a no-op."""
    row = con.execute("SELECT sha256, empreinte_lecture FROM fichiers_sources WHERE type_extrait = ? "
                      "AND annee_fichier = ? AND statut = 'actif'", [kind, year]).fetchall()
    return bool(row) and row[0] == (sha256, reading)


def archive_file(archive_dir: Path, parsed: ParsedExtract) -> Path:
    """Content-addressed copy of the original bytes; written atomically, never overwritten."""
    target = archive_dir / parsed.sha256[:2] / f"{parsed.sha256}{parsed.path.suffix.lower()}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(parsed.data)
        os.replace(tmp, target)
    return target


def _insert(con, table: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    con.register("_frame", frame)
    try:
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
    finally:
        con.unregister("_frame")


# What the validation says of a finding besides its message: its kind (impossible, influente,
# suspecte, info), its selective-editing score and the published figure it would move most,
# and the words meant for the structure (the feedback sheet: what looks odd, what is asked).
SELECTION_COLUMNS = {"nature": "VARCHAR", "score": "DOUBLE", "figure": "VARCHAR",
                     "constat_centre": "VARCHAR", "demande_centre": "VARCHAR"}


def add_selection_columns(con) -> None:
    for name, sql_type in SELECTION_COLUMNS.items():
        con.execute(f"ALTER TABLE constats_qualite ADD COLUMN IF NOT EXISTS {name} {sql_type}")


def write_findings(con, frame: pd.DataFrame, *, etape: str, kind: str | None, year: int | None,
                   fichier: str | None, sha256: str | None) -> None:
    if frame.empty:
        return
    frame = frame.reindex(columns=FINDING_COLUMNS + ["annee_donnees"]
                          + [c for c in SELECTION_COLUMNS if c in frame.columns]).copy()
    # a message naming a file or folder whose name is not UTF-8: its bytes written \xNN
    frame["message"] = frame["message"].map(name_text, na_action="ignore")
    frame["annee_donnees"] = pd.array(frame["annee_donnees"], dtype="Int64")
    frame["valeur_brute"] = frame["valeur_brute"].map(name_text, na_action="ignore").astype("string")
    frame["valeur_attendue"] = frame["valeur_attendue"].astype("string")
    frame["annee_enquete"] = pd.array(frame["annee_enquete"], dtype="Int64")
    frame["ligne"] = pd.array(frame["ligne"], dtype="Int64")
    frame = frame.assign(etape=etape, type_extrait=kind, annee_fichier=year,
                         fichier=None if fichier is None else name_text(fichier),
                         fichier_sha256=sha256)
    con.register("_findings", frame)
    try:
        con.execute("INSERT INTO constats_qualite BY NAME SELECT *, now()::TIMESTAMP AS cree_le FROM _findings")
    finally:
        con.unregister("_findings")


INSERT_SLICE = 50_000
# What DuckDB may hold in memory while ingest writes (the rows of a large extract, until they are
# committed); beyond, it writes them to its temporary files beside the warehouse.
MEMORY_LIMIT = "512MB"


REVISION_NAMED = 5      # structures named, and columns, in the summary of a revised survey


def _revision(con, year: int, previous: str, same_bytes: bool = False) -> str:
    """What a revised survey file changes against the version it replaces (still in
    `_version_remplacee`): the structures added and removed, and the values changed, by column.
    A summary in French, for the console and the quality page: a revision is never silent."""
    def some(codes: list[str]) -> str:
        more = len(codes) - REVISION_NAMED
        return ", ".join(codes[:REVISION_NAMED]) + (f" et {more} autre{'s' if more > 1 else ''}" if more > 0 else "")

    loaded = con.execute("SELECT strftime(charge_le, '%d/%m/%Y'), nom_fichier FROM fichiers_sources "
                         "WHERE sha256 = ? ORDER BY charge_le DESC LIMIT 1", [previous]).fetchall()
    when = f"la version chargée le {loaded[0][0]} ({loaded[0][1]})" if loaded else "la version précédente"
    new = "(SELECT * FROM raw_senacs WHERE _annee_fichier = ?)"
    old = "_version_remplacee"
    codes = "SELECT DISTINCT code_structure FROM {} WHERE code_structure IS NOT NULL"
    added = [r[0] for r in con.execute(f"{codes.format(new)} EXCEPT {codes.format(old)} ORDER BY 1", [year]).fetchall()]
    removed = [r[0] for r in con.execute(f"{codes.format(old)} EXCEPT {codes.format(new)} ORDER BY 1",
                                         [year]).fetchall()]
    columns = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = 'raw_senacs' "
        "ORDER BY ordinal_position").fetchall() if not r[0].startswith("_") and r[0] != "code_structure"]
    # the structures listed once on each side (a structure listed twice is a finding of its own)
    once = "(SELECT * FROM {} QUALIFY count(*) OVER (PARTITION BY code_structure) = 1)"
    differs = [f'(o."{c}" IS DISTINCT FROM n."{c}")' for c in columns]
    row = con.execute(
        f"SELECT {', '.join(f'count(*) FILTER (WHERE {d})' for d in differs)}, "
        f"count(*) FILTER (WHERE {' OR '.join(differs) or 'false'}) "
        f"FROM {once.format(old)} o JOIN {once.format(new)} n USING (code_structure)", [year]).fetchall()[0]
    by_column = sorted(((n, c) for c, n in zip(columns, row[:-1]) if n), key=lambda x: (-x[0], x[1]))
    parts = []
    if added:
        parts.append(f"{fr_count(len(added), 'structure ajoutée', 'structures ajoutées')} ({some(added)})")
    if removed:
        parts.append(f"{fr_count(len(removed), 'structure retirée', 'structures retirées')} ({some(removed)})")
    if by_column:
        shown = ", ".join(f"{c} : {fr_int(n)}" for n, c in by_column[:REVISION_NAMED])
        more = len(by_column) - REVISION_NAMED
        parts.append(f"{fr_count(sum(n for n, _ in by_column), 'valeur changée', 'valeurs changées')} chez "
                     f"{fr_count(row[-1], 'structure', 'structures')} ({shown}"
                     + (f" et {more} autre{'s' if more > 1 else ''} colonne{'s' if more > 1 else ''}" if more > 0 else "")
                     + ")")
    if same_bytes:       # the same file read again (an alias widened, a new reading rule)
        lead = f"relu à l'identique, avec la nouvelle façon de lire les extraits (chargé le {loaded[0][0]})" \
            if loaded else "relu à l'identique, avec la nouvelle façon de lire les extraits"
        return f"{lead}, sans aucune réponse changée." if not parts else f"{lead} : " + " ; ".join(parts) + "."
    if not parts:
        return f"remplace {when}, sans aucune réponse changée (seule la présentation du fichier diffère)."
    return f"remplace {when} : " + " ; ".join(parts) + "."


def replace_year(con, parsed: ParsedExtract, archive_path: Path, reading: str | None = None) -> str:
    """Swap the rows of the file's year for the new file's. Runs in the caller's transaction."""
    kind, year = parsed.kind, parsed.year
    table = RAW_TABLE[kind]
    previous = active_file(con, kind, year)
    if previous and kind == "senacs":        # kept to say what the revised file changes
        con.execute("CREATE OR REPLACE TEMP TABLE _version_remplacee AS SELECT * FROM raw_senacs "
                    "WHERE _annee_fichier = ?", [year])
    con.execute(f"DELETE FROM {table} WHERE _annee_fichier = ?", [year])
    con.execute("DELETE FROM raw_cellules_hors_schema WHERE type_extrait = ? AND annee_fichier = ?", [kind, year])
    con.execute("DELETE FROM constats_qualite WHERE etape = 'ingest' AND type_extrait = ? AND annee_fichier = ?",
                [kind, year])
    con.execute("UPDATE fichiers_sources SET statut = 'remplace', remplace_le = now()::TIMESTAMP "
                "WHERE type_extrait = ? AND annee_fichier = ? AND statut = 'actif'", [kind, year])
    # a slice of rows at a time: DuckDB converts the frame's Python values (texts, answers) as it
    # reads them, and a large extract's at once would weigh as much again as the frame
    for start in range(0, len(parsed.rows), INSERT_SLICE):
        rows = parsed.rows.iloc[start:start + INSERT_SLICE].assign(_fichier_sha256=parsed.sha256, _annee_fichier=year)
        con.register("_rows", rows)
        try:
            con.execute(f"INSERT INTO {table} BY NAME SELECT *, now()::TIMESTAMP AS _charge_le FROM _rows")
        finally:
            con.unregister("_rows")
    if not parsed.extra.empty:
        keys = parsed.rows[["_ligne"] + (["annee_enquete", "code_structure"] if kind == "senacs" else [])]
        extra = parsed.extra.merge(keys, on="_ligne", how="left").assign(
            type_extrait=kind, annee_fichier=year, _fichier_sha256=parsed.sha256)
        con.register("_extra", extra)
        try:
            con.execute("INSERT INTO raw_cellules_hors_schema BY NAME "
                        "SELECT *, now()::TIMESTAMP AS _charge_le FROM _extra")
        finally:
            con.unregister("_extra")
    write_findings(con, parsed.findings, etape="ingest", kind=kind, year=year,
                   fichier=parsed.path.name, sha256=parsed.sha256)
    if previous and kind == "senacs":
        parsed.revision = _revision(con, year, previous, same_bytes=previous == parsed.sha256)
        con.execute("DROP TABLE _version_remplacee")
        write_findings(con, pd.DataFrame([{
            "ligne": None, "annee_enquete": year, "code_structure": None, "colonne": None, "valeur_brute": None,
            "valeur_attendue": None, "regle": "fichier_remplace", "severite": "info",
            "message": f"{parsed.path.name} : {parsed.revision}"}]),
            etape="ingest", kind=kind, year=year, fichier=parsed.path.name, sha256=parsed.sha256)
    con.execute("""INSERT INTO fichiers_sources (sha256, type_extrait, annee_fichier, nom_fichier, chemin_source,
                       chemin_archive, taille_octets, encodage, separateur, nb_lignes, nb_doublons_fusionnes, statut,
                       charge_le, remplace_le, empreinte_lecture)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'actif', now()::TIMESTAMP, NULL, ?)""",
                [parsed.sha256, kind, year, name_text(parsed.path.name), name_text(parsed.path.resolve()),
                 name_text(archive_path),
                 parsed.size, parsed.encoding, parsed.separator, len(parsed.rows), parsed.duplicates, reading])
    return "remplacé" if previous else "chargé"


def record_rejection(con, kind: str | None, year: int | None, path: Path, sha256: str | None,
                     message: str) -> None:
    """A rejected file's finding, tied to the kind and year its name gives (it goes when a file of
    that year loads or is found unchanged). A file whose name gives no year concerns no year's
    data: its finding is a warning of this ingest only (replaced at the next one) and holds no
    year back."""
    write_findings(con, pd.DataFrame([{
        "ligne": None, "annee_enquete": None, "code_structure": None, "colonne": None,
        "valeur_brute": None, "valeur_attendue": None, "regle": "fichier_rejete",
        "severite": "bloquant" if year else "avertissement",
        "message": name_text(f"Fichier {path.name} rejeté : {message}"),
        # the activity log of year N describes year N, a survey of year N year N-1 (or N-2)
        "annee_donnees": year if kind == "activites" else None}]),
        etape="ingest", kind=kind, year=year, fichier=path.name, sha256=sha256)


def clear_rejections(con, kind: str, year: int) -> int:
    """Remove the rejection findings of that kind and year; returns how many there were."""
    found = con.execute("SELECT count(*) FROM constats_qualite WHERE etape = 'ingest' AND regle = 'fichier_rejete' "
                        "AND type_extrait = ? AND annee_fichier = ?", [kind, year]).fetchall()[0][0]
    if found:
        con.execute("DELETE FROM constats_qualite WHERE etape = 'ingest' AND regle = 'fichier_rejete' "
                    "AND type_extrait = ? AND annee_fichier = ?", [kind, year])
    return found


def clear_undated_findings(con) -> None:
    """Findings of an ingest that concern no year (a file with an unknown name, an unreadable
    folder) describe that ingest only: each ingest replaces them."""
    con.execute("DELETE FROM constats_qualite WHERE etape = 'ingest' AND annee_fichier IS NULL "
                "AND regle IN ('fichier_rejete', 'dossier_illisible')")


def record_unreadable_folder(con, folder: Path, reason: str) -> None:
    write_findings(con, pd.DataFrame([{
        "ligne": None, "annee_enquete": None, "code_structure": None, "colonne": None,
        "valeur_brute": name_text(folder), "valeur_attendue": "un dossier lisible", "regle": "dossier_illisible",
        "severite": "avertissement",
        "message": name_text(f"Dossier {folder} illisible ({reason}) : les extraits qu'il contient éventuellement "
                             "n'ont pas été chargés. Rendez-le lisible puis relancez le chargement.")}]),
        etape="ingest", kind=None, year=None, fichier=str(folder), sha256=None)


def refresh_conflicts(con) -> int:
    """Two different rows for one structure x survey: both stay out of `reponses`. A row of
    another survey than its file's is out already (a finding of its own): it clashes with none."""
    con.execute("DELETE FROM constats_qualite WHERE regle = 'doublon_conflictuel'")
    con.execute("""
        INSERT INTO constats_qualite (etape, type_extrait, annee_fichier, fichier, fichier_sha256, ligne,
                                      annee_enquete, code_structure, colonne, valeur_brute, valeur_attendue,
                                      regle, severite, message, cree_le, annee_donnees)
        SELECT 'ingest', 'senacs', r._annee_fichier, f.nom_fichier, r._fichier_sha256, r._ligne,
               r.annee_enquete, r.code_structure, 'code_structure', r.code_structure,
               'une seule ligne par structure et par enquête', 'doublon_conflictuel', 'bloquant',
               'Ligne ' || r._ligne || ' : la structure ' || r.code_structure || ' figure '
               || count(*) OVER w || ' fois dans l''enquête ' || r.annee_enquete
               || ' avec des valeurs différentes (lignes '
               || array_to_string(list_sort(list(r._ligne) OVER w), ', ')
               || ') ; ces lignes sont exclues de « reponses » jusqu''à correction.',
               now()::TIMESTAMP, r.annee_donnees
        FROM raw_senacs r
        LEFT JOIN fichiers_sources f ON f.sha256 = r._fichier_sha256 AND f.statut = 'actif'
        WHERE r.code_structure IS NOT NULL AND r.annee_enquete = r._annee_fichier
        WINDOW w AS (PARTITION BY r.annee_enquete, r.code_structure)
        QUALIFY count(*) OVER w > 1""")
    return con.execute("SELECT count(*) FROM constats_qualite WHERE regle = 'doublon_conflictuel'").fetchall()[0][0]


def default_archive_dir(db_path: Path) -> Path:
    return db_path.parent / "archive"


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


_LOCKS: dict[str, "object"] = {}
_DEADLINES: dict[str, float] = {}     # warehouse -> when the current step stops waiting for it
_INHERITED: set[str] = set()          # locks a parent process holds for this one


def adopt_parent_locks() -> None:
    """In a process forked while its parent held warehouse locks (`observatoire run` runs each
    step in a child process): the parent keeps holding them for the child, which must neither
    take them again nor release them."""
    _INHERITED.update(_DEADLINES)
    _LOCKS.clear()


def _key(db_path: Path) -> str:
    return str(db_path.resolve())


def warehouse_lock(db_path: Path, wait: float = 0):
    """One run at a time per warehouse. Re-entrant within a process (run -> ingest).

    `wait` bounds the whole wait of the step: for the lock file here, then for DuckDB's own lock
    when `connect` opens the file while a notebook holds it."""
    from contextlib import contextmanager, nullcontext

    from filelock import FileLock, Timeout

    key = _key(db_path)
    if key in _INHERITED:
        return nullcontext()
    lock = _LOCKS.setdefault(key, FileLock(key + ".lock"))

    @contextmanager
    def held():
        deadline = time.monotonic() + wait
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=wait)
        except Timeout:
            raise LockedError(
                f"Un autre traitement utilise déjà l'entrepôt {db_path} (verrou {key}.lock). "
                "Attendez qu'il se termine, ou relancez avec --attendre SECONDES.") from None
        except PermissionError as exc:
            raise _not_writable(db_path, Path(exc.filename or key).parent) from None
        previous = _DEADLINES.get(key)
        _DEADLINES[key] = deadline
        try:
            yield
        finally:
            if previous is None:
                _DEADLINES.pop(key, None)
            else:
                _DEADLINES[key] = previous
            lock.release()
    return held()
