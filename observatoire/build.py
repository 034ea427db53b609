"""`observatoire build`: run the dbt project in-process on the warehouse."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ingest import warehouse as W
from ingest.config import PROJECT_DIR, SCHEMA_FILE, Config
from ingest.corrections import CORRECTIONS_FILE, apply_corrections
from common.errors import ObservatoireError
from common.timing import Chrono

from .console import fr_count

PROFILES_DIR = Path(__file__).resolve().parent / "dbt"


@dataclass
class BuildResult:
    models: int = 0
    tests: int = 0
    seeds: int = 0
    warnings: list[str] = field(default_factory=list)
    target_dir: Path | None = None
    corrections: tuple[int, int] = (0, 0)      # applied, refused


def dbt_dirs(db_path: Path) -> tuple[Path, Path]:
    """dbt's target and log folders, beside the warehouse."""
    base = db_path.resolve().parent / "dbt"
    return base / "target", base / "logs"


def _check_warehouse(db_path: Path) -> None:
    if not db_path.exists():
        raise ObservatoireError(f"L'entrepôt {db_path} n'existe pas : lancez d'abord « observatoire ingest ».")
    con = W.connect(db_path, read_only=True)
    try:
        n = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'reponses'").fetchall()[0][0]
    finally:
        con.close()
    if not n:
        raise ObservatoireError(f"L'entrepôt {db_path} ne contient pas de réponses : lancez d'abord "
                                "« observatoire ingest ».")


def _record_corrections(db_path: Path, corrections: Path, config: Config | None = None,
                        observatory=None) -> tuple[int, int]:
    """The analysts' corrections, and the declared reference tables (federal project, territories,
    events) read again from the folder's settings: a setting changed since the last ingest, or a
    table a newer version of the product declares, is what the build sees."""
    from ingest.reference import load_reference

    config = config or Config()
    con = W.connect(db_path)
    try:
        W.ensure_schema(con, config)
        con.execute("BEGIN TRANSACTION")
        try:
            load_reference(con, config=config, observatory=observatory)
            counts = apply_corrections(con, corrections, config)
            con.execute("COMMIT")
        except BaseException:
            W.rollback(con)
            raise
    finally:
        con.close()
    return counts


BUILDS_DDL = "CREATE TABLE IF NOT EXISTS constructions (debut TIMESTAMP, fin TIMESTAMP, statut VARCHAR)"
# the product's SQL a build ran (see product_fingerprint); a table from before it gains the column
BUILDS_VERSION_DDL = "ALTER TABLE constructions ADD COLUMN IF NOT EXISTS empreinte VARCHAR"


def product_fingerprint(project_dir: Path = PROJECT_DIR) -> str:
    """A digest of the dbt project the product ships (models, macros, seeds, dbt_project.yml): a
    warehouse built by another version of the product has other tables and columns, which the
    later steps must not read as if they were theirs."""
    digest = hashlib.sha256()
    files = [project_dir / "dbt_project.yml"]
    for folder in ("models", "macros", "data/seeds"):
        files += sorted(p for p in (project_dir / folder).rglob("*") if p.is_file() and p.suffix in (".sql", ".yml", ".csv"))
    for path in files:
        digest.update(str(path.relative_to(project_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _mark_build(db_path: Path, status: str) -> None:
    """dbt writes one model after the other: the `constructions` table says whether the last
    build went through, so that no later step reads a mix of two builds (see require_complete_build)."""
    con = W.connect(db_path)
    try:
        con.execute(BUILDS_DDL)
        con.execute(BUILDS_VERSION_DDL)
        if status == "en_cours":
            con.execute("INSERT INTO constructions (debut, fin, statut, empreinte) "
                        "VALUES (now()::TIMESTAMP, NULL, 'en_cours', ?)", [product_fingerprint()])
        else:
            con.execute("UPDATE constructions SET fin = now()::TIMESTAMP, statut = ? "
                        "WHERE debut = (SELECT max(debut) FROM constructions)", [status])
    finally:
        con.close()


def require_complete_build(con) -> None:
    """Refuse to read the models of a build that was interrupted or failed half-way."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'constructions' "
                         "AND table_schema = 'main'").fetchall()[0][0]
    versioned = exists and con.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'constructions' "
        "AND table_schema = 'main' AND column_name = 'empreinte'").fetchall()[0][0]
    last = con.execute(f"SELECT debut, statut, {'empreinte' if versioned else 'NULL'} FROM constructions "
                       "ORDER BY debut DESC LIMIT 1").fetchall() if exists else []
    if last and last[0][1] != "terminee":
        what = "a été interrompue" if last[0][1] == "en_cours" else "a échoué"
        raise ObservatoireError(
            f"La dernière construction des indicateurs (commencée le {last[0][0]:%d/%m/%Y à %H:%M}) {what} : "
            "ses tables sont incomplètes. Relancez « observatoire build » avant de contrôler ou de publier.")
    if last and last[0][2] != product_fingerprint():
        raise ObservatoireError(
            f"Les indicateurs de cet entrepôt ont été calculés le {last[0][0]:%d/%m/%Y à %H:%M} par une autre "
            "version de l'observatoire, dont les tables diffèrent de celles qu'attend celle-ci. Relancez "
            "« observatoire build » (ou « observatoire run ») avant de contrôler ou de publier : les extraits, "
            "les corrections et les années déjà publiées sont gardés.")


SEEDS_DIR = PROJECT_DIR / "data" / "seeds"
REGISTRY = "registre_indicateurs.csv"
LABELS = "libelles_codes.csv"


def folder_seeds(observatory, db_path: Path, warnings: list[str] | None = None) -> Path:
    """The seeds of an observatory folder, beside its warehouse: each of the product's seeds, or the
    file of the same name in the folder's config/; the registry keeps the SENACS key figures, the
    indicators of the axes its own federal project declares (none without one: no target or
    baseline it did not declare), and the survey's indicators of any other axis as key figures; only
    the activity log's indicators of an undeclared axis are left out (they count the actions of a
    project the federation does not have). `warnings` receives, in French, each row of the folder's
    own registry naming an axis or an action its own federal project does not declare (a typo that
    would otherwise move an indicator to the key figures, drop it, or show an action without its name)."""
    import csv
    import io

    from ingest.reference import read_project

    dest = dbt_dirs(db_path)[0].parent / "seeds"
    dest.mkdir(parents=True, exist_ok=True)
    project = read_project(observatory.project_file)
    axes = {str(a["code"]) for a in project["axes"]}
    actions = {str(x["code"]) for a in project["axes"] for x in a.get("actions") or []}
    for source in sorted(SEEDS_DIR.glob("*.csv")):
        own = observatory.root / "config" / source.name if observatory.root else None
        text = (own if own is not None and own.is_file() else source).read_text(encoding="utf-8-sig")
        if source.name == REGISTRY:
            rows = list(csv.DictReader(io.StringIO(text)))
            # a registry written before a column existed gets it empty (its default): the models read every column
            product = next(csv.reader(io.StringIO(source.read_text(encoding="utf-8-sig"))))
            fields = list(rows[0]) if rows else []
            fields += [c for c in product if c not in fields]
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=fields, restval="", lineterminator="\n")
            writer.writeheader()
            checked = own is not None and own.is_file() and observatory.project_file is not None
            for line, row in enumerate(rows, start=2):
                if checked and warnings is not None:
                    warnings.extend(_undeclared(own, observatory.project_file, line, row, axes, actions))
                if row.get("axe") == "socle" or row.get("axe") in axes:
                    if observatory.project_file is None:
                        row["cible"] = row["annee_reference"] = ""
                    writer.writerow(row)
                elif row.get("source") == "enquete":
                    # collected by every centre's survey: a key figure, with no axis, action, working
                    # group, baseline or target of a project this federation did not declare
                    row.update(axe="socle", action="", groupes_travail="", cible="", annee_reference="")
                    writer.writerow(row)
            text = out.getvalue()
        elif source.name == LABELS and own is not None and own.is_file():
            text = _with_product_labels(text, source.read_text(encoding="utf-8-sig"))
        target = dest / source.name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    return dest


def _undeclared(registry: Path, project: Path, line: int, row: dict, axes: set[str], actions: set[str]) -> list[str]:
    """What a row of a folder's own registry names that its federal project does not declare, in French."""
    where = f"Avertissement : {registry}, ligne {line} (indicateur « {row.get('indicateur', '')} ») : "
    axe, action = (row.get("axe") or "").strip(), (row.get("action") or "").strip()
    if axe and axe != "socle" and axe not in axes:
        kept = ("publié parmi les chiffres clés SENACS, sans action ni cible" if row.get("source") == "enquete"
                else "laissé de côté (il compte les actions d'un axe que le projet n'a pas)")
        return [where + f"axe « {axe} » absent du projet fédéral ({project} déclare "
                f"{', '.join(sorted(axes)) or 'aucun axe'}) : l'indicateur est {kept}. Corrigez l'axe, ou "
                "déclarez-le dans le projet fédéral."]
    if action and axe in axes and action not in actions:
        return [where + f"action « {action} » absente du projet fédéral ({project}) : elle serait montrée sans "
                "son nom. Corrigez le code de l'action, ou déclarez-la dans le projet fédéral."]
    return []


def _with_product_labels(own: str, product: str) -> str:
    """A folder's own labels, completed by the product's for the codes it does not label (a domain a
    later version added): the pages read every code's label from dbt, and a code without one stops them."""
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(own)))
    if not rows or not {"domaine", "code"} <= set(rows[0]):
        return own          # not a label file dbt can read: its seed says so, in its own words
    labelled = {(r["domaine"], r["code"]) for r in rows}
    missing = [r for r in csv.DictReader(io.StringIO(product)) if (r["domaine"], r["code"]) not in labelled]
    if not missing:
        return own
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows + missing)
    return out.getvalue()


def dbt_args(db_path: Path, project_dir: Path = PROJECT_DIR, seeds: Path | None = None) -> list[str]:
    """The options of every dbt command on this warehouse (and its environment). dbt opens the
    warehouse by its file name from the warehouse's folder (see `_invoke`): its parsed project,
    which it keeps only while the connection settings stay the same, then serves every warehouse
    of that name (`_parse_cache`)."""
    target_dir, log_dir = dbt_dirs(db_path)
    os.environ["OBSERVATOIRE_DBT_DOSSIER"] = str(db_path.resolve().parent)
    os.environ["OBSERVATOIRE_DBT_FICHIER"] = db_path.name
    if seeds is None:
        os.environ.pop("OBSERVATOIRE_GRAINES", None)
    else:
        os.environ["OBSERVATOIRE_GRAINES"] = _seeds_path(seeds, db_path)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    return ["--project-dir", str(project_dir), "--profiles-dir", str(PROFILES_DIR),
            "--target-path", str(target_dir), "--log-path", str(log_dir)]


# dbt parses the whole project again (≈ 3 s) when an environment variable dbt_project.yml reads has
# changed: the seeds' folder, named by its absolute path, would make every observatory folder's first
# build parse it all. dbt runs from the warehouse's folder (`_invoke`), where a folder's seeds are
# `dbt/seeds`: on Linux, that same folder has one name for every warehouse, through the process's
# own working directory, and a new folder starts from the parse another one saved.
CWD_LINK = Path("/proc/self/cwd")


def _seeds_path(seeds: Path, db_path: Path) -> str:
    """The seeds' folder as dbt_project.yml reads it: the same words for every observatory folder
    where the system can say it (see CWD_LINK), else its absolute path (a full parse per folder)."""
    relative = Path("dbt") / "seeds"
    if seeds.resolve() == db_path.resolve().parent / relative and CWD_LINK.is_dir():
        return str(CWD_LINK / relative)
    return str(seeds.resolve())


def _parse_cache(args: list[str]) -> tuple[Path, Path | None]:
    """This warehouse's saved parse of the project, and the copy shared by the warehouses of the
    same file name built from the same project (None when there is no cache folder to use). A
    new warehouse starts from the shared copy: dbt checks every file against it and re-parses
    only what changed, instead of the whole project (≈ 2.5 s)."""
    from dbt.version import __version__

    project, target = args[args.index("--project-dir") + 1], Path(args[args.index("--target-path") + 1])
    key = hashlib.sha256(f"{project}|{os.environ.get('OBSERVATOIRE_DBT_FICHIER')}|{__version__}|"
                         f"{os.environ.get('OBSERVATOIRE_GRAINES', '')}".encode()).hexdigest()
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return target / "partial_parse.msgpack", Path(base) / "observatoire" / f"dbt-{key[:16]}.msgpack"


def cache_readable(path: Path) -> bool:
    """Whether the shared parse cache can be read. A HOME inherited from another user (`sudo -E`,
    `su` without `-`) holds a cache folder this user may not even look into: Path.exists() then
    raises PermissionError; the build goes on without the cache (a full parse), in silence."""
    try:
        return path.is_file() and os.access(path, os.R_OK)
    except OSError:
        return False


def _copy_quietly(source: Path, dest: Path) -> None:
    """A cache is a convenience: an unwritable folder only costs a full parse."""
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}")
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    except OSError:
        pass


def build(db_path: Path, *, project_dir: Path = PROJECT_DIR, docs: bool = True, wait: float = 0,
          corrections: Path = CORRECTIONS_FILE,
          on_event: Callable[[str], None] | None = None, observatory=None) -> BuildResult:
    """Record the analysts' corrections, then dbt build (seeds, models, tests) and docs."""
    db_path = db_path.resolve()
    if observatory is not None:
        corrections = observatory.corrections
    with W.warehouse_lock(db_path, wait):
        chrono = Chrono("build")
        _check_warehouse(db_path)
        result_corrections = _record_corrections(      # the folder's header aliases name its columns too
            db_path, corrections, Config(alias_file=observatory.alias_file) if observatory is not None else None,
            observatory)
        chrono.tour("corrections")
        notes: list[str] = []       # the folder's registry rows its federal project does not declare
        seeds = folder_seeds(observatory, db_path, notes) if observatory is not None and observatory.root else None
        common = dbt_args(db_path, project_dir, seeds)
        result = BuildResult(target_dir=dbt_dirs(db_path)[0], corrections=result_corrections, warnings=notes)
        _mark_build(db_path, "en_cours")
        try:
            # --full-refresh: seeds follow any change of their columns (a registry edited by hand);
            # the unit tests of the SQL are the test suite's (tests/test_dbt_project.py), not each build's
            _invoke(["build", "--full-refresh", "--exclude-resource-type", "unit_test", *common], result, on_event)
        except BaseException:
            _mark_build(db_path, "echouee")
            raise
        finally:
            if seeds is not None:
                # dbt writes each seed's SQL to its target folder joined with the seed's path, which,
                # absolute, is the seed file itself: the folder's seeds are written back as they were
                with contextlib.suppress(OSError):
                    folder_seeds(observatory, db_path)
        _mark_build(db_path, "terminee")
        chrono.tour("modèles et tests dbt")
        if docs:
            fingerprint = _docs_fingerprint(result.target_dir)
            stamp = result.target_dir / "documentation.empreinte"
            if fingerprint is None or not _docs_current(result.target_dir, stamp, fingerprint):
                stamp.unlink(missing_ok=True)
                _invoke(["docs", "generate", "--no-compile", *common], result, None)  # reuses the build's manifest
                if fingerprint is not None:
                    stamp.write_text(fingerprint, encoding="ascii")
            chrono.tour("documentation dbt")
        return result


def _docs_fingerprint(target_dir: Path) -> str | None:
    """What the dbt docs show: the project as parsed (the manifest, less the run's own metadata)
    and the warehouse's raw schema. DuckDB's catalog has no statistics, so documentation
    generated from the same fingerprint is the same, and is not generated again."""
    import json

    try:
        manifest = json.loads((target_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    manifest.pop("metadata", None)
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode())
    digest.update(SCHEMA_FILE.read_bytes())
    return digest.hexdigest()


def _docs_current(target_dir: Path, stamp: Path, fingerprint: str) -> bool:
    try:
        return stamp.read_text(encoding="ascii") == fingerprint and all(
            (target_dir / name).is_file() for name in ("index.html", "catalog.json"))
    except OSError:
        return False


def _invoke(args: list[str], result: BuildResult, on_event) -> None:
    from dbt.cli.main import dbtRunner  # imported here: dbt costs seconds to import

    counter = {"n": 0}

    def callback(event) -> None:
        name = event.info.name
        if name in ("LogModelResult", "LogSeedResult", "LogTestResult") and on_event:
            counter["n"] += 1
            data = event.data
            node = getattr(data, "node_info", None)
            label = node.node_name if node else "?"
            status = (getattr(data, "status", "") or "").lower()
            kind = {"LogModelResult": "modèle", "LogSeedResult": "seed", "LogTestResult": "test"}[name]
            on_event(f"[{counter['n']}] {kind} {label} : {_status_fr(status)}")

    runner = dbtRunner(callbacks=[callback])
    saved, shared = _parse_cache(args)
    if not saved.exists() and cache_readable(shared):
        _copy_quietly(shared, saved)
    cwd = os.getcwd()
    try:
        os.chdir(os.environ["OBSERVATOIRE_DBT_DOSSIER"])      # the profile names the warehouse's file only
        # dbt's own console (English errors, stack traces) stays silent: failures become French
        # messages below; the details remain in its log file (errors with their database message;
        # the SQL it ran is in target/run — the debug level, every statement and timing, costs
        # about 0.3 s on the demo's hundred nodes).
        res = runner.invoke([*args, "--quiet", "--log-level", "none", "--log-level-file", "info",
                              "--no-use-colors"])
    finally:
        os.chdir(cwd)
        _close_dbt_connection()
    if res.success and saved.exists():
        _copy_quietly(saved, shared)
    messages = [str(res.exception or "")] + [str(r.message or "") for r in getattr(res.result, "results", None) or []]
    lock_error = next(filter(W.is_lock_conflict, messages), None)
    if lock_error:      # a notebook opened the warehouse between our check and dbt's connection
        raise W.busy_error(Path(os.environ["OBSERVATOIRE_DBT_DOSSIER"]) / os.environ["OBSERVATOIRE_DBT_FICHIER"],
                           lock_error)
    if res.exception is not None:
        raise ObservatoireError(f"dbt n'a pas pu s'exécuter (« {args[0]} ») : {res.exception}")
    failures = []
    for node_result in getattr(res.result, "results", []) or []:
        status = str(node_result.status).lower()
        node = node_result.node
        kind = node.resource_type
        if kind == "model":
            result.models += 1
        elif kind in ("test", "unit_test"):
            result.tests += 1
        elif kind == "seed":
            result.seeds += 1
        if status in ("error", "fail", "runtime error"):
            what = {"model": "Le modèle", "test": "Le test", "seed": "Le seed",
                    "unit_test": "Le test unitaire"}.get(kind, "L'élément")
            detail = node_result.message or ""
            if kind == "test" and node_result.failures:
                detail = fr_count(node_result.failures, "ligne en défaut", "lignes en défaut")
            failures.append(f"{what} « {node.name} » a échoué : {detail}")
        elif status == "warn":
            # a test's description says in French what it checks; its generated name is dbt's
            what = (getattr(node, "description", "") or "").strip().rstrip(".") or f"test « {node.name} »"
            shown = _stored_failures(node) if getattr(node.config, "store_failures", False) else []
            result.warnings.append(f"Avertissement : {what} ("
                                   + fr_count(node_result.failures, "ligne", "lignes")
                                   + (" : " + ", ".join(shown) + (" …" if node_result.failures > len(shown) else "")
                                      if shown else "") + ").")
    if failures or not res.success:
        raise ObservatoireError("La construction des indicateurs a échoué.\n  - " + "\n  - ".join(
            failures or ["dbt a signalé un échec sans préciser lequel : voir les journaux dbt."]))


SHOWN_FAILURES = 10     # the rows of a warning test the console names


def _stored_failures(node) -> list[str]:
    """The first rows a warning test stored (store_failures: a table of its own in the warehouse,
    dbt's connection closed by now), each as its values joined: what the console names."""
    path = Path(os.environ["OBSERVATOIRE_DBT_DOSSIER"]) / os.environ["OBSERVATOIRE_DBT_FICHIER"]
    try:
        con = W.connect(path, read_only=True)
        try:
            rows = con.execute(f'SELECT * FROM "{node.schema}"."{node.alias}" LIMIT {SHOWN_FAILURES}').fetchall()
        finally:
            con.close()
    except Exception:       # a convenience: the warning and its count are said anyway
        return []
    return [" ".join(str(v) for v in row if v is not None) for row in rows]


def _close_dbt_connection() -> None:
    """dbt-duckdb keeps its DuckDB connection (keep_open) in a class attribute: close it so the
    next step, in this process or another, can open the warehouse."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def _status_fr(status: str) -> str:
    return {"success": "ok", "pass": "ok", "error": "ERREUR", "fail": "ÉCHEC", "warn": "avertissement",
            "skipped": "ignoré"}.get(status, status)


def copy_docs(target_dir: Path, dest: Path) -> None:
    """The static dbt docs site (index.html + manifest + catalog) for the analysts' site."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("index.html", "manifest.json", "catalog.json"):
        if (target_dir / name).exists():
            shutil.copy2(target_dir / name, dest / name)
