"""`observatoire ingest`: discover extracts, parse them, load them in one transaction."""
from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from common.processes import die_with_parent

from . import config as _config
from .config import REFERENCE_DIR, SCHEMA_FILE, Config
from common.errors import ExtractError, ObservatoireError
from common.observatory import DEPARTEMENT
from .extract import CSV_SUFFIXES, XLSX_SUFFIXES, ParsedExtract, classify, os_error_fr, parse_extract, sha256_of
from .reference import known_communes, load_reference, project_codes
from . import warehouse as W
from common.timing import Chrono
from .values import fold

SPREADSHEET_SUFFIXES = CSV_SUFFIXES | XLSX_SUFFIXES | {".xls", ".ods"}


@dataclass
class FileResult:
    path: Path
    kind: str | None = None
    year: int | None = None
    status: str = ""             # chargé, remplacé, inchangé, rejeté
    rows: int = 0
    blank_lines: int = 0
    duplicates: int = 0
    counts: dict[str, int] = field(default_factory=dict)   # severity -> findings
    message: str = ""
    sha256: str | None = None
    details: list[str] = field(default_factory=list)       # first findings, for the console
    lifted: bool = False          # unchanged, and an earlier rejection of its year was lifted
    revision: str = ""            # a survey replaced: what changed since the version it replaces


@dataclass
class IngestResult:
    files: list[FileResult]
    ignored: list[Path]
    conflicts: int = 0
    unreadable: list[tuple[Path, str]] = field(default_factory=list)   # folders that could not be listed
    # files still loaded (name, kind, year, loaded on) that the folder's extraits/ no longer holds
    absent: list[tuple] = field(default_factory=list)

    @property
    def rejected(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "rejeté"]


def looks_like_an_extract(path: Path) -> bool:
    """« senacs_2022 (1).csv », « Copie de activites_2021.xlsx »: an extract saved under another
    name (a browser's second download, a copy). Named and rejected, never passed over in silence."""
    folded = fold(path.name)
    return bool(_SPREADSHEET_END.search(path.name)) and ("senacs" in folded or "activites" in folded)


# A spreadsheet's extension, then possibly what a careless copy or an odd system leaves after it
# (« senacs_2021.csv. », « senacs_2021.csv  », « senacs_2021.csv\u200f »): such a file is named and
# rejected, never passed over.
_SPREADSHEET_END = re.compile(r"\.(?:" + "|".join(s[1:] for s in sorted(SPREADSHEET_SUFFIXES)) + r")[\W_]*$",
                              re.IGNORECASE)


OUTSIDE_LINK = ("lien symbolique vers un fichier situé hors du dossier des extraits : il n'est pas lu. Copiez "
                "le fichier lui-même dans le dossier des extraits, ou donnez son chemin en argument de la commande")


def _outside(child: Path, root: Path) -> bool:
    """Whether the link `child`, found under the folder `root`, leads out of it (or nowhere)."""
    try:
        return not child.resolve(strict=True).is_relative_to(root)
    except (OSError, RuntimeError):       # a broken link or a loop: read as such later, never followed out
        return False


def discover(paths: Iterable[Path], refused: dict[Path, str] | None = None
             ) -> tuple[list[Path], list[Path], list[tuple[Path, str]]]:
    """Extract files under the given files or folders (and files named almost like one, to be
    rejected with their name), the files passed over, and the folders that could not be read
    (with the reason, in French). A file found in a folder is read only if it lies in that folder:
    a symbolic link leading out of it is listed among the files, and in `refused` (with why), to
    be rejected without a byte of it read. A file named on the command line is read wherever it is."""
    found, ignored, unreadable = [], [], []
    refused = {} if refused is None else refused

    def on_error(exc: OSError) -> None:
        unreadable.append((Path(exc.filename), os_error_fr(exc)))

    for path in paths:
        if not path.exists():
            raise ObservatoireError(f"Chemin introuvable : {path}")
        if not path.is_dir():
            found.append(path)
            continue
        root = path.resolve()
        for folder, dirs, names in os.walk(path, onerror=on_error):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(names):
                if name.startswith((".", "~$")):
                    continue
                child = Path(folder) / name
                if child.is_symlink() and _outside(child, root):
                    refused[child.absolute()] = OUTSIDE_LINK
                (found if classify(child) or looks_like_an_extract(child) else ignored).append(child)
    unique = list(dict.fromkeys(p.absolute() if p.is_symlink() else p.resolve() for p in found))
    return unique, ignored, unreadable


NoProgress = Callable[..., None]


def ingest_paths(paths: Iterable[Path], db_path: Path, *, config: Config | None = None,
                 reference_dir: Path = REFERENCE_DIR, archive_dir: Path | None = None,
                 wait: float = 0, reporter=None, observatory=None) -> IngestResult:
    """Load every extract under `paths` into the warehouse at `db_path`.

    All writes happen in one transaction: a crash leaves the warehouse as it was.
    A file that cannot be read is rejected (and recorded); the others still load.
    """
    if observatory is not None:
        reference_dir = observatory.reference_dir
    config = config or (Config(alias_file=observatory.alias_file) if observatory is not None else Config())
    archive_dir = archive_dir or W.default_archive_dir(db_path)
    refused: dict[Path, str] = {}
    paths = list(paths)
    absent: list[tuple] = []
    # the folder's extraits/ read whole: a file loaded before and no longer there is said
    whole_folder = (observatory is not None and getattr(observatory, "extraits", None) is not None
                    and {Path(p).resolve() for p in paths} == {observatory.extraits.resolve()})
    files, ignored, unreadable = discover(paths, refused)
    if not files and not unreadable:
        raise ObservatoireError("Aucun extrait trouvé (fichiers attendus : senacs_AAAA.csv|.xlsx, "
                                "activites_AAAA.csv|.xlsx).")
    communes = known_communes(reference_dir)
    codes = project_codes(reference_dir, observatory)
    reading = reading_fingerprint(config, communes, codes)
    reporter = reporter or _SilentReporter()
    results: list[FileResult] = []
    with W.warehouse_lock(db_path, wait):
        chrono = Chrono("ingest")
        con = W.connect(db_path)
        try:
            # as for dbt (observatoire/dbt/profiles.yml): beyond, DuckDB writes to its temporary files
            # what it holds (a large extract's rows, until the transaction commits)
            con.execute(f"SET memory_limit = '{W.MEMORY_LIMIT}'")
            W.ensure_schema(con, config)
            parsed_by_key: dict[tuple[str, int], list[tuple[FileResult, ParsedExtract | None]]] = {}
            jobs = []
            for path in files:
                result = FileResult(path=path)
                results.append(result)
                jobs.append(_prepare(path, result, con, refused.get(path), reading))
            for result, parsed in zip(results, _parse_all(jobs, results, config, communes, codes, reporter)):
                if result.kind:
                    parsed_by_key.setdefault((result.kind, result.year), []).append((result, parsed))
            jobs.clear()              # each file's bytes are held by its parsed extract only, until archived
            for (kind, year), entries in parsed_by_key.items():
                if len(entries) > 1:
                    names = ", ".join(str(r.path) for r, _ in entries)
                    for r, _ in entries:
                        _reject(r, f"plusieurs fichiers pour {kind} {year} dans ce lot ({names}) : "
                                   "n'en gardez qu'un")
            _reject_copies(con, parsed_by_key)
            chrono.tour("lecture des extraits")
            if observatory is not None and observatory.identity is not None:
                check_departements(observatory, parsed_by_key, con, db_path)     # before anything is written
            con.execute("BEGIN TRANSACTION")
            try:
                load_reference(con, reference_dir, config, observatory)
                W.clear_undated_findings(con)
                for (kind, year), entries in parsed_by_key.items():
                    if any(result.status == "rejeté" for result, _ in entries):
                        W.clear_rejections(con, kind, year)     # the latest attempt replaces older ones
                    for result, parsed in entries:
                        if result.status == "rejeté":
                            W.record_rejection(con, kind, year, result.path, result.sha256, result.message)
                        elif parsed is not None:
                            archive = W.archive_file(archive_dir, parsed)
                            parsed.data = b""       # archived: its memory goes to the rows being written
                            result.status = W.replace_year(con, parsed, archive, reading)
                            result.revision = parsed.revision
                        elif result.status == "inchangé" and W.clear_rejections(con, kind, year):
                            result.lifted = True
                            result.message += " ; le rejet précédent de cette année est levé"
                for result in results:
                    if result.status == "rejeté" and not result.kind:
                        W.record_rejection(con, None, None, result.path, result.sha256, result.message)
                for folder, reason in unreadable:
                    W.record_unreadable_folder(con, folder, reason)
                conflicts = W.refresh_conflicts(con)
                con.execute("COMMIT")
                if whole_folder:
                    present = {r.sha256 for r in results if r.sha256}
                    absent = [row for row in con.execute(
                        "SELECT nom_fichier, type_extrait, annee_fichier, strftime(charge_le, '%d/%m/%Y'), sha256 "
                        "FROM fichiers_sources WHERE statut = 'actif' ORDER BY type_extrait, annee_fichier").fetchall()
                        if row[4] not in present]
                chrono.tour("écriture dans l'entrepôt")
            except BaseException:
                W.rollback(con)
                for result in results:
                    if result.status in ("chargé", "remplacé"):
                        result.status = "annulé"
                raise
        finally:
            con.close()
    return IngestResult(files=results, ignored=ignored, conflicts=conflicts, unreadable=unreadable,
                        absent=[row[:4] for row in absent] if whole_folder else [])


def departement_of(commune: str) -> str:
    """The département of an INSEE commune code (2A004 -> 2A, 97411 -> 974, 06088 -> 06)."""
    return commune[:3] if commune.startswith("97") else commune[:2]


NAMED_OUTSIDE = 5      # structures outside the départements named by the refusal, per file and département


def check_departements(observatory, parsed_by_key, con=None, db_path=None) -> None:
    """Extracts whose structures lie outside the départements the settings declare are refused
    whole, before anything is written: another federation's data never mixes with this one's;
    nor does a warehouse already holding another département's surveys (one named by --entrepot)."""
    identity = observatory.identity
    if identity.national:
        return
    if con is not None:
        replaced = [year for (kind, year) in parsed_by_key if kind == "senacs"] or [0]
        placeholders = ", ".join("?" * len(replaced))
        held = con.execute(f"""SELECT DISTINCT CASE WHEN code_commune LIKE '97%' THEN left(code_commune, 3)
                                                   ELSE left(code_commune, 2) END
                               FROM raw_senacs WHERE code_commune IS NOT NULL
                                 AND _annee_fichier NOT IN ({placeholders})""", replaced).fetchall()
        foreign = sorted(d for (d,) in held if not identity.covers(d) and DEPARTEMENT.fullmatch(d))
        if foreign:
            raise ObservatoireError(
                f"L'entrepôt {db_path} contient déjà des enquêtes d'un autre département ({', '.join(foreign)}) que "
                f"ceux de {identity.nom} ({', '.join(identity.departements)}) : rien n'a été chargé. Chaque "
                "observatoire a son propre entrepôt : lancez la commande sans --entrepot dans le dossier de "
                "l'observatoire, ou nommez un nouveau fichier.")
    outside: dict[str, dict[str, dict[str, tuple]]] = {}    # file -> département -> structure -> (line, commune)
    for entries in parsed_by_key.values():
        for result, parsed in entries:
            if parsed is None or result.status == "rejeté" or "code_commune" not in parsed.rows.columns:
                continue
            rows = parsed.rows.dropna(subset=["code_commune"])
            lines = rows["_ligne"] if "_ligne" in rows.columns else [None] * len(rows)
            for commune, structure, line in zip(rows["code_commune"].astype(str),
                                                rows.get("code_structure", rows["code_commune"]), lines):
                dep = departement_of(commune)
                if not identity.covers(dep) and DEPARTEMENT.fullmatch(dep):   # no département: an unknown commune
                    outside.setdefault(result.path.name, {}).setdefault(dep, {}).setdefault(
                        str(structure), (line, commune))
    if outside:
        def where(found: dict[str, tuple]) -> str:
            # the lines and communes of the first ones: a typo in one commune code is found at once
            first = [found[code] for code in sorted(found)[:NAMED_OUTSIDE]]
            if any(line is None for line, _ in first):
                return ""
            plural = "s" if len(first) > 1 else ""
            return (f" : ligne{plural} {', '.join(str(line) for line, _ in first)} ; "
                    f"commune{plural} {', '.join(commune for _, commune in first)}")

        lines = [f"  - {name} : " + ", ".join(f"{len(s)} structure{'s' if len(s) > 1 else ''} du {d} "
                                              f"({_some(set(s), NAMED_OUTSIDE)}){where(s)}"
                                              for d, s in sorted(deps.items()))
                 for name, deps in sorted(outside.items())]
        settings = (observatory.root / "observatoire.yaml") if observatory.root else "observatoire.yaml"
        declared = ", ".join(identity.departements)
        raise ObservatoireError(
            f"Extraits refusés, rien n'a été chargé : des structures sont hors des départements de "
            f"{identity.nom} ({declared}).\n" + "\n".join(lines) + "\n"
            f"S'il s'agit bien de vos structures, ajoutez ces départements à la clé « departements » de {settings} "
            "(ou « national: true ») ; sinon retirez ces fichiers du dossier des extraits.")


def _some(codes: set[str], shown: int = 5) -> str:
    """A few codes of a set, in order, and how many more."""
    ordered = sorted(codes)
    more = len(ordered) - shown
    return ", ".join(ordered[:shown]) + (f" et {more} autre{'s' if more > 1 else ''}" if more > 0 else "")


def _reject_copies(con, parsed_by_key) -> None:
    """A new file whose bytes are those of another extract (another year or kind, loaded before or
    in this batch) is that extract dropped a second time under another name (last year's journal
    copied as this year's): rejected, and the other file named. Its lines would otherwise load as
    another year's, each with a finding on its date at best. A file with no line (a header only,
    the same for two empty journals) is not a copy of anything."""
    loaded: dict[str, list[tuple[str, int, str]]] = {}
    for sha, kind, year, name in con.execute("SELECT sha256, type_extrait, annee_fichier, nom_fichier "
                                             "FROM fichiers_sources WHERE statut = 'actif' "
                                             "ORDER BY annee_fichier, type_extrait").fetchall():
        loaded.setdefault(sha, []).append((kind, year, name))
    batch: dict[str, list[FileResult]] = {}
    for entries in parsed_by_key.values():
        for result, _ in entries:
            if result.sha256 and result.status != "rejeté":
                batch.setdefault(result.sha256, []).append(result)
    for entries in parsed_by_key.values():
        for result, parsed in entries:
            if parsed is None or result.status == "rejeté" or parsed.rows.empty:
                continue
            key = (result.kind, result.year)
            held = [f"{name} (déjà chargé pour {kind} {year})" for kind, year, name in loaded.get(result.sha256, [])
                    if (kind, year) != key]
            held += [f"{other.path.name} ({other.kind} {other.year}, dans ce lot)"
                     for other in batch.get(result.sha256, [])
                     if (other.kind, other.year) != key and other.status != "inchangé"]   # loaded: named above
            if held:
                _reject(result, f"contenu identique, octet pour octet, à {', '.join(held)} : le même extrait "
                                "déposé sous deux noms ? Gardez-le sous le nom de son année et retirez l'autre "
                                "copie du dossier des extraits")


def _reject(result: FileResult, message: str) -> None:
    """Nothing of a rejected file is loaded: its read lines and findings are not shown as if."""
    result.status, result.message = "rejeté", message
    result.rows = result.blank_lines = result.duplicates = 0
    result.counts, result.details = {}, []


def reading_fingerprint(config: Config, communes: frozenset[str], codes) -> str:
    """What, besides its bytes, decides how a file is read: the schema, the header aliases (the
    folder's own) and the rule that matches headers to columns, the known communes and the federal
    project's codes. An alias widened after a warning (« étendez les années de cet alias, puis
    rechargez le fichier ») changes it, and the unchanged file is read again."""
    digest = hashlib.sha256(_config.HEADER_MATCHING.encode("utf-8") + b"\0")
    for path in (SCHEMA_FILE, config.alias_file):
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"-")
        digest.update(b"\0")
    digest.update("\n".join(sorted(communes)).encode("utf-8"))
    digest.update(repr(sorted(codes.actions.items())).encode("utf-8"))
    digest.update(repr(sorted(codes.groups.items())).encode("utf-8"))
    return digest.hexdigest()


def _prepare(path, result: FileResult, con, refusal: str | None = None, reading: str | None = None) -> tuple | None:
    """Read and identify one file: (path, kind, year, sha256, bytes) when it is to be parsed, None
    when it is rejected already (`refusal`: without reading it) or unchanged since it was loaded."""
    kind_year = classify(path)
    if kind_year:            # from the name alone: a rejection is tied to its kind and year
        result.kind, result.year = kind_year
    if refusal:
        _reject(result, refusal)
        return None
    try:
        sha, data = sha256_of(path)
    except ExtractError as exc:
        _reject(result, str(exc))
        return None
    result.sha256 = sha
    if not kind_year:
        _reject(result, "nom de fichier non reconnu (attendu : senacs_AAAA ou activites_AAAA, en .csv ou .xlsx) : "
                        "s'il remplace un extrait, donnez-lui ce nom à la place de l'ancien ; sinon retirez-le du "
                        "dossier des extraits")
        return None
    if W.read_alike(con, result.kind, result.year, sha, reading):
        result.status = "inchangé"
        result.message = "déjà chargé à l'identique"
        return None
    return path, result.kind, result.year, sha, data


# Parse in parallel (forked workers, one file each at a time) from this many bytes to parse: below,
# forking costs more than it saves.
PARALLEL_FROM = 100_000
# A file of this many bytes or more is parsed by the writing process itself, while the workers parse
# the others: a worker would send its typed rows back through a pipe, and the parent would hold them
# twice (pickled and unpickled) for the time of the transfer (1.9 GiB for a 195 MiB CSV, 1.4 alone).
HERE_FROM = 16 * 2**20
_CONTEXT: tuple | None = None         # (config, communes, codes), inherited by the forked workers


def _parse_all(jobs: list, results: list[FileResult], config, communes, codes, reporter) -> list:
    """The ParsedExtract of each job (None for no job or a rejected file), in the order of the
    jobs. Whatever happens to a file concerns that file only: it is rejected, the others of the
    batch still load. Independent files are parsed by forked workers when there is enough to do;
    the results come back in order, and the warehouse is written by this process alone."""
    global _CONTEXT
    todo = [(i, job) for i, job in enumerate(jobs) if job is not None]
    # the large files stay here; the pool (forked before they are parsed, while this process is
    # small) reads the others meanwhile
    away = [(i, job) for i, job in todo if len(job[4]) < HERE_FROM]
    cpus = min(os.cpu_count() or 1, len(todo))
    parallel = cpus > 1 and len(away) > 0 and sum(len(job[4]) for _, job in todo) >= PARALLEL_FROM \
        and "fork" in multiprocessing.get_all_start_methods()
    out: list = [None] * len(jobs)
    started = None
    if parallel:
        _CONTEXT = (config, communes, codes)
        started = _start(min(cpus, len(away)), [job for _, job in away])
        if started is None:     # no process to be had (the user's process limit, no memory to fork): one by one
            _CONTEXT = None

    def here(i, job) -> None:
        path, kind, year, sha, data = job
        with reporter.file(path, len(config.columns[kind])) as advance:
            out[i] = _outcome(results[i], _parse_job(job, config, communes, codes, advance), data)

    if started is None:
        for i, job in todo:
            here(i, job)
        return out
    pool, futures = started
    futures = dict(zip((i for i, _ in away), futures))
    try:
        with pool:
            for i, job in todo:
                if i not in futures:
                    here(i, job)
                    continue
                future = futures.pop(i)
                path, *_, data = job
                with reporter.file(path, 1) as advance:
                    try:
                        if future is None:
                            raise BrokenProcessPool
                        answer = future.result()
                    except BrokenProcessPool:
                        # A worker died (killed, out of memory): the pool fails every file still in it,
                        # this one included, whichever file it was reading. Each is read again on its
                        # own, so that only the file that kills its reader is rejected.
                        answer = _parse_alone(job)
                    except Exception as exc:       # a result that could not come back
                        answer = (None, _unexpected(exc))
                    out[i] = _outcome(results[i], answer, data)
                    advance()
    finally:
        _CONTEXT = None
    return out


def _start(workers: int, jobs: list) -> tuple[ProcessPoolExecutor, list] | None:
    """A pool of forked workers and the future of each job (see `_submit`); None when the system
    gives no process to fork."""
    pool = None
    try:
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=die_with_parent, initargs=(os.getpid(),))
        return pool, [_submit(pool, job) for job in jobs]
    except OSError:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        return None


def _submit(pool: ProcessPoolExecutor, job):
    """The job's future; None when the pool is broken already (a worker died meanwhile)."""
    try:
        return pool.submit(_parse_in_worker, job)
    except BrokenProcessPool:
        return None


def _parse_alone(job) -> tuple:
    """Parse one file in a worker of its own: if that worker dies too, the file is what kills it."""
    started = _start(1, [job])
    if started is None:
        return None, NO_PROCESS
    pool, (future,) = started
    with pool:
        try:
            if future is None:
                raise BrokenProcessPool
            return future.result()
        except BrokenProcessPool:
            return None, WORKER_DIED
        except Exception as exc:
            return None, _unexpected(exc)


NO_PROCESS = ("le système n'a pas pu créer de processus pour relire ce fichier (limite de processus ou mémoire "
              "atteinte) ; le fichier est écarté, les autres sont chargés. Relancez le chargement quand la machine "
              "est moins chargée")
WORKER_DIED = ("la lecture de ce fichier a arrêté net le processus qui le lisait (mémoire de la machine épuisée, "
               "ou défaut d'une bibliothèque) ; le fichier est écarté, les autres sont chargés. Relancez "
               "le chargement quand la machine est moins chargée ; si le rejet se reproduit, signalez-le avec le "
               "fichier à l'équipe de l'observatoire")


def _parse_in_worker(job) -> tuple:
    config, communes, codes = _CONTEXT
    parsed, rejection = _parse_job(job, config, communes, codes)
    if parsed is not None:
        parsed.data = b""          # the parent has the bytes already
    return parsed, rejection


def _parse_job(job, config, communes, codes, progress=None) -> tuple[ParsedExtract | None, str | None]:
    path, kind, year, sha, data = job
    try:
        return parse_extract(path, kind, year, sha, data, config, communes, progress=progress, codes=codes), None
    except ExtractError as exc:
        return None, str(exc)
    except Exception as exc:   # a defect no rule foresaw: this file only is rejected
        return None, _unexpected(exc)


def _unexpected(exc: BaseException) -> str:
    return ("erreur inattendue pendant la lecture ; le fichier est écarté, les autres sont chargés. Signalez-la "
            f"avec le fichier à l'équipe de l'observatoire (détail technique : {type(exc).__name__})")


def _outcome(result: FileResult, answer: tuple, data: bytes) -> ParsedExtract | None:
    parsed, rejection = answer
    if parsed is None:
        _reject(result, rejection)
        return None
    parsed.data = data
    result.rows, result.blank_lines, result.duplicates = len(parsed.rows), parsed.blank_lines, parsed.duplicates
    result.counts = {s: parsed.count(s) for s in ("bloquant", "avertissement", "info")}
    if not parsed.findings.empty:
        order = parsed.findings["severite"].map({"bloquant": 0, "avertissement": 1, "info": 2})
        result.details = parsed.findings.assign(_o=order).sort_values("_o", kind="stable")["message"].head(50).tolist()
    result.status = "prêt"
    return parsed


class _SilentReporter:
    from contextlib import contextmanager

    @contextmanager
    def file(self, path, steps):
        yield lambda *a: None
