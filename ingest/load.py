"""`observatoire ingest`: discover extracts, parse them, load them in one transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .config import REFERENCE_DIR, Config
from .errors import ExtractError, ObservatoireError
from .extract import ParsedExtract, classify, parse_extract, sha256_of
from .reference import known_communes, load_reference
from . import warehouse as W


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


@dataclass
class IngestResult:
    files: list[FileResult]
    ignored: list[Path]
    conflicts: int = 0

    @property
    def rejected(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "rejeté"]


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Extract files under the given files or folders, and the files passed over."""
    found, ignored = [], []
    for path in paths:
        if not path.exists():
            raise ObservatoireError(f"Chemin introuvable : {path}")
        if path.is_file():
            found.append(path)
            continue
        for child in sorted(path.rglob("*")):
            if not child.is_file() or child.name.startswith((".", "~$")):
                continue
            (found if classify(child) else ignored).append(child)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return unique, ignored


NoProgress = Callable[..., None]


def ingest_paths(paths: Iterable[Path], db_path: Path, *, config: Config | None = None,
                 reference_dir: Path = REFERENCE_DIR, archive_dir: Path | None = None,
                 wait: float = 0, reporter=None) -> IngestResult:
    """Load every extract under `paths` into the warehouse at `db_path`.

    All writes happen in one transaction: a crash leaves the warehouse as it was.
    A file that cannot be read is rejected (and recorded); the others still load.
    """
    config = config or Config()
    archive_dir = archive_dir or W.default_archive_dir(db_path)
    files, ignored = discover(paths)
    if not files:
        raise ObservatoireError("Aucun extrait trouvé (fichiers attendus : senacs_AAAA.csv|.xlsx, "
                                "activites_AAAA.csv|.xlsx).")
    communes = known_communes(reference_dir)
    reporter = reporter or _SilentReporter()
    results: list[FileResult] = []
    with W.warehouse_lock(db_path, wait):
        con = W.connect(db_path)
        try:
            W.ensure_schema(con, config)
            parsed_by_key: dict[tuple[str, int], list[tuple[FileResult, ParsedExtract | None]]] = {}
            for path in files:
                result = FileResult(path=path)
                results.append(result)
                parsed = _parse_one(path, result, con, config, communes, reporter)
                if result.kind:
                    parsed_by_key.setdefault((result.kind, result.year), []).append((result, parsed))
            for (kind, year), entries in parsed_by_key.items():
                if len(entries) > 1:
                    names = ", ".join(str(r.path) for r, _ in entries)
                    for r, _ in entries:
                        _reject(r, f"plusieurs fichiers pour {kind} {year} dans ce lot ({names}) : "
                                   "n'en gardez qu'un")
            con.execute("BEGIN TRANSACTION")
            try:
                load_reference(con, reference_dir, config)
                for (kind, year), entries in parsed_by_key.items():
                    for result, parsed in entries:
                        if result.status == "rejeté":
                            W.record_rejection(con, kind, year, result.path, result.sha256, result.message)
                        elif parsed is not None:
                            archive = W.archive_file(archive_dir, parsed)
                            result.status = W.replace_year(con, parsed, archive)
                for result in results:
                    if result.status == "rejeté" and not result.kind:
                        W.record_rejection(con, None, None, result.path, result.sha256, result.message)
                conflicts = W.refresh_conflicts(con)
                con.execute("COMMIT")
            except BaseException:
                W.rollback(con)
                for result in results:
                    if result.status in ("chargé", "remplacé"):
                        result.status = "annulé"
                raise
        finally:
            con.close()
    return IngestResult(files=results, ignored=ignored, conflicts=conflicts)


def _reject(result: FileResult, message: str) -> None:
    result.status, result.message = "rejeté", message


def _parse_one(path, result: FileResult, con, config, communes, reporter) -> ParsedExtract | None:
    kind_year = classify(path)
    try:
        sha, data = sha256_of(path)
    except OSError as exc:
        _reject(result, f"lecture impossible : {exc.strerror or exc}")
        return None
    result.sha256 = sha
    if not kind_year:
        _reject(result, "nom de fichier non reconnu (attendu : senacs_AAAA ou activites_AAAA, "
                        "en .csv ou .xlsx)")
        return None
    result.kind, result.year = kind_year
    if W.active_file(con, result.kind, result.year) == sha:
        result.status = "inchangé"
        result.message = "déjà chargé à l'identique"
        return None
    steps = len(config.columns[result.kind])
    with reporter.file(path, steps) as advance:
        try:
            parsed = parse_extract(path, result.kind, result.year, sha, data, config, communes,
                                   progress=advance)
        except ExtractError as exc:
            _reject(result, str(exc))
            return None
    result.rows, result.blank_lines, result.duplicates = len(parsed.rows), parsed.blank_lines, parsed.duplicates
    result.counts = {s: parsed.count(s) for s in ("bloquant", "avertissement", "info")}
    result.details = parsed.findings.sort_values("severite")["message"].head(50).tolist() \
        if not parsed.findings.empty else []
    result.status = "prêt"
    return parsed


class _SilentReporter:
    from contextlib import contextmanager

    @contextmanager
    def file(self, path, steps):
        yield lambda *a: None
