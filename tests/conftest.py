from __future__ import annotations

import functools
import http.server
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from observatoire.cli import cli
from observatoire.demo import Dialect, build_truth, write_activities, write_survey
from ingest.config import Config
from ingest.load import ingest_paths
from observatoire.build import build
from observatoire.report import run_report
from observatoire.validation import run_validation

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / "data" / "demo" / "92"

# The smallest valid survey header, and a respondent row to build variations on.
BASE_HEADER = ["annee_enquete", "annee_donnees", "code_structure", "nom_structure", "type_structure",
               "code_commune", "repondant", "salaries", "etp_total", "charges_total"]


def survey_rows(year: int, rows: list[dict] | None = None) -> list[dict]:
    """Three plausible structures of the 92; `rows` overrides / adds cells."""
    base = [
        {"annee_enquete": year, "annee_donnees": year - 1, "code_structure": "CS92-0001",
         "nom_structure": "Centre social Les Acacias", "type_structure": "CS", "code_commune": "92050",
         "repondant": "oui", "salaries": "30", "etp_total": "17,5", "charges_total": "633 817"},
        {"annee_enquete": year, "annee_donnees": year - 1, "code_structure": "CS92-0002",
         "nom_structure": "Centre social L'Îlot", "type_structure": "CS", "code_commune": "92002",
         "repondant": "oui", "salaries": "12", "etp_total": "8", "charges_total": "310 000,50"},
        {"annee_enquete": year, "annee_donnees": year - 1, "code_structure": "EVS92-0001",
         "nom_structure": "Espace de vie sociale La Ruche", "type_structure": "EVS", "code_commune": "92012",
         "repondant": "non", "salaries": "", "etp_total": "", "charges_total": ""},
    ]
    for i, override in enumerate(rows or []):
        if i < len(base):
            base[i].update(override)
        else:
            base.append(override)
    return base


def write_csv(path: Path, header: list[str], rows: list[dict | list], *, sep: str = ";",
              encoding: str = "utf-8", keys: list[str] | None = None, tail: str = "") -> Path:
    keys = keys or header
    lines = [sep.join(header)]
    for row in rows:
        cells = row if isinstance(row, list) else [row.get(k, "") for k in keys]
        lines.append(sep.join("" if c is None else str(c) for c in cells))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(lines) + "\n" + tail).encode(encoding))
    return path


def observatoire(*args, cwd: Path, tmp: Path) -> subprocess.CompletedProcess:
    """The real command as an analyst types it in a folder: its own process, no folder or warehouse
    named by the environment, temporary files (the demo's, when run in a folder) under `tmp`."""
    env = {**os.environ, "TMPDIR": str(tmp)}
    env.pop("OBSERVATOIRE_DOSSIER", None)
    env.pop("OBSERVATOIRE_ENTREPOT", None)
    return subprocess.run([sys.executable, "-m", "observatoire", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=900)


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return tmp_path / "entrepot" / "observatoire.duckdb"


@pytest.fixture
def cli_run(warehouse):
    """Run the real CLI on the test's warehouse; returns click's Result."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(cli, ["--entrepot", str(warehouse), *map(str, args)], catch_exceptions=False)
    return run


# ---------------------------------------------------------------- reading a warehouse in tests
# Opening a DuckDB database costs 20 to 40 ms (each database builds its own catalog of built-in
# functions) and the fast tier reads warehouses about a thousand times, often several times in a
# row between two steps of the product. The reads of a test share one read-only connection per
# warehouse while nothing else can touch the file. It is closed before anything else opens a
# database in this process (`duckdb.connect`: the product, dbt, a test), before this process forks
# or starts a program (either may open the file, and a reader's lock would stop a writer), when the
# file is no longer the one opened (replaced, rewritten), after a failed query, and at the end of
# each test. While a child process runs, every read opens and closes its own connection.
_REAL_CONNECT = duckdb.connect
_OWNER = os.getpid()
_READERS: dict[str, tuple[tuple, duckdb.DuckDBPyConnection]] = {}
_PROGRAMS: list[subprocess.Popen] = []


def release_readers() -> None:
    """Close the shared read-only connections (in the process that opened them only: a forked
    child must not touch its parent's databases)."""
    if os.getpid() != _OWNER:
        return
    while _READERS:
        _, (_, con) = _READERS.popitem()
        con.close()


def _connect(*args, **kwargs):
    release_readers()
    return _REAL_CONNECT(*args, **kwargs)


class _Popen(subprocess.Popen):
    def __init__(self, *args, **kwargs):
        release_readers()
        super().__init__(*args, **kwargs)
        if os.getpid() == _OWNER:
            _PROGRAMS.append(self)


duckdb.connect = _connect
subprocess.Popen = _Popen
os.register_at_fork(before=release_readers)


def _children_running() -> bool:
    _PROGRAMS[:] = [p for p in _PROGRAMS if p.poll() is None]
    return bool(_PROGRAMS) or bool(multiprocessing.active_children())


@pytest.fixture(autouse=True)
def _readers_closed_after_each_test():
    yield
    release_readers()


@contextmanager
def read_only(db: Path):
    try:
        st = os.stat(db)
    except OSError:
        st = None
    if st is None or os.getpid() != _OWNER or _children_running():
        con = _REAL_CONNECT(str(db), read_only=True)
        try:
            yield con
        finally:
            con.close()
        return
    key, identity = str(Path(db).resolve()), (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    held = _READERS.get(key)
    if held is not None and held[0] != identity:
        del _READERS[key]
        held[1].close()
        held = None
    if held is None:
        held = _READERS[key] = (identity, _REAL_CONNECT(str(db), read_only=True))
    try:
        yield held[1]
    except BaseException:
        if _READERS.get(key) is held:
            del _READERS[key]
            held[1].close()
        raise


def query(db: Path, sql: str, params=None):
    with read_only(db) as con:
        return con.execute(sql, params or []).fetchall()


def frame(db: Path, sql: str, params=None):
    with read_only(db) as con:
        return con.execute(sql, params or []).df()


def quality_tables(con, federation: str, departement: str, invited: int, answered: int, completeness: float,
                   year: int = 2022) -> None:
    """The marts the quality outputs read beside the findings, for a warehouse made by hand (no dbt):
    the federation, its département as the main unit, its response rate, and constats_qualite empty."""
    con.execute(f"CREATE TABLE indicateurs AS SELECT {year} AS annee")
    con.execute("CREATE TABLE pub_federation AS SELECT ? AS nom", [federation])
    con.execute(f"CREATE TABLE pub_unites AS SELECT {year} AS annee, 'departement' AS niveau, ? AS code, "
                "true AS est_principal", [departement])
    con.execute(f"CREATE TABLE fct_completude AS SELECT {year} AS annee, 'departement' AS niveau, ? AS code, "
                "'identite' AS bloc, ? AS n_invites, ? AS n_repondants, ? AS taux_reponse, ? AS taux_completude",
                [departement, invited, answered, answered / invited, completeness])
    con.execute("""CREATE TABLE constats_qualite (
        etape VARCHAR, type_extrait VARCHAR, annee_fichier INTEGER, fichier VARCHAR, fichier_sha256 VARCHAR,
        ligne INTEGER, annee_enquete INTEGER, code_structure VARCHAR, colonne VARCHAR, valeur_brute VARCHAR,
        valeur_attendue VARCHAR, regle VARCHAR, severite VARCHAR, message VARCHAR, cree_le TIMESTAMP,
        annee_donnees INTEGER, nature VARCHAR, score DOUBLE, figure VARCHAR, constat_centre VARCHAR,
        demande_centre VARCHAR)""")


CORRECTIONS_HEADER = "annee_enquete;code_structure;colonne;nouvelle_valeur;motif;auteur;date\n"
CONFIRMATIONS_HEADER = "annee_enquete;code_structure;colonne;valeur_confirmee;motif;auteur;date\n"


def demo_copy(site, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the published demo warehouse (the `site` fixture's) in tmp_path, and an
    empty corrections file beside it: (warehouse, corrections)."""
    db = tmp_path / "entrepot" / "o.duckdb"
    db.parent.mkdir()
    shutil.copy2(site[0], db)
    corrections = tmp_path / "corrections.csv"
    corrections.write_text(CORRECTIONS_HEADER, encoding="utf-8")
    return db, corrections


def build_and_validate(db: Path, base: Path):
    """dbt build and validate with no correction and no confirmation (files written in `base`);
    returns (outcome, corrections file, confirmations file)."""
    corrections, confirmations = base / "corrections.csv", base / "confirmations.csv"
    corrections.write_text(CORRECTIONS_HEADER, encoding="utf-8")
    confirmations.write_text(CONFIRMATIONS_HEADER, encoding="utf-8")
    build(db, docs=False, corrections=corrections)
    return run_validation(db, base / "qualite", confirmations=confirmations), corrections, confirmations
HOSTILE_NAME = "Centre <script>alert(1)</script> & \"Les Amis\""
FORMULA_NAME = "=HYPERLINK(\"http://exemple.invalid\")"


def write_year_files(truth, out, changes=None):
    """Every survey and activity year of `truth`, with `changes` {survey: df} swapped in."""
    config = Config()
    out.mkdir(parents=True, exist_ok=True)
    for survey, df, blocs in truth.per_year:
        df = (changes or {}).get(survey, df)
        write_survey(out / f"senacs_{survey}.csv", survey, df, blocs, Dialect(), config)
    for year, df in zip(range(2019, 2023), truth.per_activity_year):
        write_activities(out / f"activites_{year}.csv", year, df, Dialect(), config)



@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The demo with two hostile structure names, run through every stage."""
    base = tmp_path_factory.mktemp("site")
    truth = build_truth("92")
    last = {s: d for s, d, _ in truth.per_year}[2023]
    usable = last[last["repondant"] & last["pers_info_droits"].notna()]["code_structure"].tolist()
    hostile, formula = usable[0], usable[1]
    changes = {}
    for survey, df, _ in truth.per_year:
        df = df.copy()
        df.loc[df["code_structure"] == hostile, "nom_structure"] = HOSTILE_NAME
        df.loc[df["code_structure"] == formula, "nom_structure"] = FORMULA_NAME
        if survey == 2023:   # a warning-level fault, so that structure gets a fiche de retour
            i = df.index[df["code_structure"] == formula][0]
            df.loc[i, "pers_accomp_droits"] = df.loc[i, "pers_info_droits"] + 50
        changes[survey] = df
    write_year_files(truth, base / "extraits", changes)
    db = base / "entrepot" / "o.duckdb"
    ingest_paths([base / "extraits"], db)
    empty = base / "corrections.csv"
    empty.write_text(CORRECTIONS_HEADER, encoding="utf-8")
    build(db, corrections=empty)
    run_validation(db)
    results = run_report(db, base / "site")
    return db, base / "site", {r.audience: r for r in results}, {"hostile": hostile.lower(), "formula": formula.lower()}




# ---------------------------------------------------------------- headless Chromium (Debian's)
CHROMIUM = (os.environ.get("CHROMIUM_PATH") or
            ("/usr/lib/chromium/chromium" if Path("/usr/lib/chromium/chromium").exists() else None) or
            shutil.which("chromium") or "chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright, pointed at the system Chromium (never `playwright install`)."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage"]}


@contextmanager
def serve(directory: Path):
    """The built site over a loopback HTTP server, as a web server would serve it."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()
