"""Faults, on the real command in subprocesses: kill -9 at many points of ingest, validate and
report, two runs at once, a reader holding the warehouse, read-only folders (as an unprivileged
user: root ignores file modes).

After each kill: the warehouse opens and holds either the old or the new state, never a mix;
the previous quality outputs and sites are whole or replaced whole; the next normal run succeeds
and leaves no temporary folder behind. Kill points are placed by watching for the files each step
writes (its temporary folder, the Data Docs, the archive, DuckDB's journal), plus a time offset in
ingest's reading phase; build is not killed here (its atomicity is tested with it).
"""
from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pytest

from conftest import DEMO_DIR, ROOT

pytestmark = pytest.mark.lent     # the full tier: real dbt, GX, Chromium or whole runs

OURS = re.compile(r"\.(public|interne|qualite)-")   # temporary and old folders of the outputs


# ------------------------------------------------------------------ the command in a subprocess
def command(db: Path, *args, python: str = sys.executable) -> list[str]:
    return [python, "-m", "observatoire", "--entrepot", str(db), *map(str, args)]


def run(db: Path, *args, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command(db, *args), capture_output=True, text=True, cwd=db.parent.parent,
                          timeout=timeout, **kwargs)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    return done


def start(db: Path, *args) -> subprocess.Popen:
    return subprocess.Popen(command(db, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=db.parent.parent)


def said(done) -> str:
    """What the command printed, unwrapped (the console wraps long lines)."""
    return " ".join((done.stdout + done.stderr).split())


def timed(db: Path, *args) -> float:
    started = time.monotonic()
    done = run(db, *args)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


def kill(db: Path, *args, after: float = 0.0, when=None) -> bool:
    """Start the command, wait until `when()` holds (if given) then `after` seconds, SIGKILL it.
    True if it was still running when killed."""
    proc = start(db, *args)
    deadline = time.monotonic() + 120
    while when is not None and proc.poll() is None and not when() and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(after)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)       # its forked children must not keep its output pipes open
    assert proc.returncode in (-signal.SIGKILL, 0), proc.returncode
    assert survivors(db) == [], "a child of the killed command lives on"
    return proc.returncode == -signal.SIGKILL


def survivors(db: Path, wait: float = 10) -> list[int]:
    """Processes still working on this warehouse (forked workers or step processes whose parent
    was killed), after giving them `wait` seconds to go."""
    deadline = time.monotonic() + wait
    while True:
        alive = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and str(db).encode() in (entry / "cmdline").read_bytes() \
                        and (entry / "stat").read_text().split(") ")[-1][0] != "Z":
                    alive.append(int(entry.name))
            except OSError:
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


def appears(folder: Path, pattern: str):
    return lambda: any(folder.glob(pattern))


# ------------------------------------------------------------------ what a whole state looks like
def files(folder: Path, skip: str = "gx/") -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
            and skip not in p.relative_to(folder).as_posix() + "/"}


def data_docs_whole(gx: Path) -> bool:
    """Every page the Data Docs index lists exists, and no page is missing from it."""
    index = gx / "index.html"
    if not index.exists():
        return False
    listed = set(re.findall(r"(?:expectations|validations)/[\w./-]+?\.html", index.read_text(encoding="utf-8")))
    pages = {p.relative_to(gx).as_posix() for p in gx.rglob("*.html")} - {"index.html"}
    return bool(listed) and listed == pages


def leftovers(*folders: Path) -> list[str]:
    return [p.name for folder in folders if folder.is_dir() for p in folder.iterdir() if OURS.match(p.name)]


def ingest_state(db: Path):
    """Files, rows and findings of the ingest; asserts no file is half loaded."""
    with duckdb.connect(str(db)) as con:     # read-write, as the next run opens it: replays the journal
        active = con.execute("""SELECT type_extrait, sha256, nb_lignes FROM fichiers_sources
                                WHERE statut = 'actif' ORDER BY ALL""").fetchall()
        rows = con.execute("""SELECT 'senacs', _fichier_sha256, count(*) FROM raw_senacs GROUP BY ALL
                              UNION ALL SELECT 'activites', _fichier_sha256, count(*) FROM raw_activites
                              GROUP BY ALL ORDER BY ALL""").fetchall()
        extra = con.execute("SELECT _fichier_sha256, count(*) FROM raw_cellules_hors_schema "
                            "GROUP BY ALL ORDER BY ALL").fetchall()
        findings = con.execute("SELECT fichier_sha256, severite, count(*) FROM constats_qualite "
                               "WHERE etape = 'ingest' GROUP BY ALL ORDER BY ALL").fetchall()
    assert set(active) == set(rows), "a file is half loaded, or rows remain of a replaced file"
    return active, extra, findings


def validation_state(db: Path):
    """The validation's findings and publication; asserts every year comes from one validation."""
    with duckdb.connect(str(db)) as con:
        stamps = con.execute("SELECT count(DISTINCT verifie_le), max(verifie_le) FROM publications").fetchone()
        published = [f'"{s}"."{t}"' for s, t in con.execute(      # whatever holds the published rows
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = 'publie' OR table_name LIKE '%\\_publi%' ESCAPE '\\' ORDER BY ALL").fetchall()]
        content = (
            con.execute("SELECT etape, severite, count(*) FROM constats_qualite GROUP BY ALL ORDER BY ALL").fetchall(),
            con.execute("SELECT annee, statut FROM publications ORDER BY ALL").fetchall(),
            [(t, con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in published])
    assert published
    assert stamps[0] == 1, "the years were published by two different validations"
    return stamps[1], content


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def origin(site) -> Path:
    """The demo run through every stage (conftest's `site`): entrepot/, qualite/ in it, site/."""
    db, site_dir, _, _ = site
    assert db.parent.parent == site_dir.parent
    return db.parent.parent


@pytest.fixture
def db(origin, tmp_path) -> Path:
    """A private copy of the warehouse, its quality outputs and its sites."""
    for name in ("entrepot", "site"):
        shutil.copytree(origin / name, tmp_path / name, symlinks=True)
    return tmp_path / "entrepot" / "o.duckdb"


# ------------------------------------------------------------------ kill -9
def test_kill_during_ingest_keeps_the_old_or_the_new_load(db, tmp_path):
    saved = tmp_path / "avant"
    shutil.copytree(db.parent, saved, ignore=shutil.ignore_patterns("dbt", "qualite"))
    before = ingest_state(db)
    duration = timed(db, "ingest", DEMO_DIR)            # the demo's own files replace every year
    after = ingest_state(db)
    assert after != before
    archive, archived = db.parent / "archive", [0]
    wal = appears(db.parent, "*.wal")                   # DuckDB's journal: the commit is being written
    points = [{"after": duration * 0.3},                # reading the files
              {"when": lambda: len(list(archive.rglob("*"))) > archived[0]},   # inside the transaction
              *({"when": wal, "after": a} for a in (0, 0.05, 0.3))]            # committing, then closing
    killed, states = 0, []
    for point in points:
        shutil.rmtree(db.parent)
        shutil.copytree(saved, db.parent)
        archived[0] = len(list(archive.rglob("*")))
        killed += kill(db, "ingest", DEMO_DIR, **point)
        states.append(ingest_state(db))
        assert states[-1] in (before, after), point
    assert killed >= len(points) - 1      # the points fell while it ran
    again = run(db, "ingest", DEMO_DIR)   # the next run, on what the last kill left
    assert again.returncode == 0, again.stderr
    assert ingest_state(db) == after


def test_kill_during_validate_keeps_the_previous_outputs_whole(db):
    quality = db.parent / "qualite"
    stamp, content = validation_state(db)
    expected = files(quality)
    assert data_docs_whole(quality / "gx")
    marker = appears(db.parent, ".qualite-*/.observatoire-qualite")
    points = [{"when": appears(db.parent, ".qualite-*")},                  # rules about to run
              {"when": appears(db.parent, ".qualite-*/gx/index.html")},     # Data Docs being written
              *({"when": marker, "after": a} for a in (0, 0.05))]           # committing, then swapping
    killed = 0
    for point in points:         # one after the other, each on what the previous kill left
        killed += kill(db, "validate", **point)
        assert validation_state(db)[1] == content, point       # the old or the new validation, whole
        assert files(quality) == expected and data_docs_whole(quality / "gx"), point
    assert killed >= len(points) - 1
    again = run(db, "validate")
    assert again.returncode == 0, again.stderr
    assert validation_state(db) != (stamp, content) and validation_state(db)[1] == content
    assert files(quality) == expected and data_docs_whole(quality / "gx") and not leftovers(db.parent)


def test_kill_during_report_keeps_each_site_whole_and_the_next_report_cleans_up(db):
    site = db.parent.parent / "site"
    expected = {a: files(site / a, skip="qualite/gx/") for a in ("public", "interne")}
    points = [{"when": appears(site, ".public-*/assets/plotly.min.js"), "after": 0.3},
              {"when": appears(site, ".interne-*")},                        # public already swapped in
              *({"when": appears(site, ".interne-*/qualite/index.html"), "after": a}
                for a in (0, 0.01))]                                        # interne about to be swapped
    killed, left = 0, []
    for point in points:
        killed += kill(db, "report", **point)
        left += leftovers(site)
        for audience in ("public", "interne"):
            assert files(site / audience, skip="qualite/gx/") == expected[audience], (point, audience)
    assert killed >= len(points) - 2
    assert left                         # the kills did leave temporary folders…
    again = run(db, "report")
    assert again.returncode == 0, again.stderr
    assert not leftovers(site)          # …which the next report removed
    assert {a: files(site / a, skip="qualite/gx/") for a in ("public", "interne")} == expected


def test_kill_during_run_takes_its_step_processes_with_it(db):
    """`run` forks a process per step (the later ones wait, their libraries imported) and the
    steps fork workers: killed, the run leaves none of them behind, holding the warehouse or the
    caller's pipes, and the next run works on what it left."""
    for after in (1.5, 5):           # while ingest works, then while dbt builds
        assert kill(db, "run", DEMO_DIR, after=after)
    again = run(db, "run", DEMO_DIR)
    assert again.returncode == 0, again.stderr
    assert not leftovers(db.parent, db.parent.parent / "site")


def test_a_kill_between_the_two_renames_puts_the_old_site_back(db):
    """The narrowest window: the old site moved aside, the new one not yet in place."""
    site = db.parent.parent / "site"
    expected = files(site / "public", skip="qualite/gx/")
    os.replace(site / "public", site / ".public-ancien")
    shutil.copytree(site / ".public-ancien", site / ".public-k3x9q2ab")
    shutil.rmtree(site / ".public-k3x9q2ab" / "assets")          # a half-built new one
    (site / ".public-perso").mkdir()                               # not ours by name: kept
    (site / ".public-notes.txt").write_text("à garder", encoding="utf-8")
    done = run(db, "report", "--public-seulement")
    assert done.returncode == 0, done.stderr
    assert files(site / "public", skip="qualite/gx/") == expected
    assert sorted(p.name for p in site.iterdir()) == [".public-notes.txt", ".public-perso", "interne", "public"]


def test_a_commit_that_cannot_be_written_is_reported_and_loses_nothing(db, origin):
    """DuckDB cannot write its journal at COMMIT (a full disk; here a file-size limit): the real
    cause is said in French, not "cannot rollback", and the warehouse stays as it was, readable
    (closing it with a checkpoint after such a failure used to corrupt the file)."""
    before = ingest_state(db)

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)       # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
    for extract in (origin / "extraits" / "senacs_2018.csv", DEMO_DIR / "senacs_2018.csv"):  # same, new
        done = run(db, "ingest", extract, preexec_fn=small_files)
        assert done.returncode == 1, said(done)
        assert "fichier trop gros" in said(done) and "rollback" not in said(done)
        assert ingest_state(db) == before
    again = run(db, "ingest", extract)
    assert again.returncode == 0, said(again)
    assert ingest_state(db) != before


# ------------------------------------------------------------------ two runs, a reader
def lock_held(db: Path) -> bool:
    """Whether a process holds the warehouse's lock file (read from /proc/locks, without
    touching the lock)."""
    lock = Path(str(db) + ".lock")
    if not lock.exists():
        return False
    inode = lock.stat().st_ino
    return any(line.split()[5].rsplit(":", 1)[-1] == str(inode)
               for line in Path("/proc/locks").read_text().splitlines() if len(line.split()) > 5)


def test_two_runs_at_once_the_second_is_refused_or_waits(db):
    site = db.parent.parent / "site"
    first = start(db, "run", DEMO_DIR)         # long enough (every step) for the others to meet it
    procs = [first]
    try:
        deadline = time.monotonic() + 60
        while not lock_held(db) and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)                       # the first one holds the warehouse from here
        assert first.poll() is None and lock_held(db)
        refused = run(db, "validate")
        assert refused.returncode == 3, said(refused)
        assert "Un autre traitement utilise déjà l'entrepôt" in said(refused)
        procs.append(waiting := start(db, "report", "--attendre", "120"))
        assert first.wait(timeout=120) == 0
        assert waiting.poll() is None              # it waited for the first one, and runs now
        assert waiting.wait(timeout=120) == 0, waiting.stderr.read()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert not leftovers(db.parent, site)


def test_a_reader_holding_the_warehouse_makes_it_busy_and_can_be_waited_for(db):
    extract = DEMO_DIR / "senacs_2018.csv"
    reader = duckdb.connect(str(db), read_only=True)        # a notebook, as the README shows it
    try:
        refused = run(db, "ingest", extract)
        assert refused.returncode == 3, said(refused)
        assert "est ouvert par un autre programme" in said(refused) and "notebook" in said(refused)
        assert "Could not set lock" not in said(refused)
        waiting = start(db, "ingest", "--attendre", "120", extract)
        time.sleep(2)
        assert waiting.poll() is None                        # still waiting for the reader
    finally:
        reader.close()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert "remplacé" in out and "Traceback" not in err


def test_a_reader_arriving_while_dbt_starts_is_reported_as_busy(db):
    """Our check passes, then a notebook opens the file before dbt connects: still exit 3, in French."""
    log = db.parent / "dbt" / "logs" / "dbt.log"
    size = log.stat().st_size if log.exists() else 0
    holder = subprocess.Popen([sys.executable, "-c", f"""
import os, sys, time, duckdb
log = {str(log)!r}
while not os.path.exists(log) or os.path.getsize(log) <= {size}:
    time.sleep(0.005)
con = duckdb.connect({str(db)!r}, read_only=True)
print("held", flush=True)
time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    try:
        done = run(db, "build", "--sans-docs")
        assert holder.poll() is None and holder.stdout.readline().strip() == "held"
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 3, said(done)
    assert "Entrepôt occupé" in said(done) and "est ouvert par un autre programme" in said(done)


# ------------------------------------------------------------------ read-only folders
NOBODY = 65534


def _as_nobody() -> list[str]:
    if os.geteuid() != 0:
        pytest.skip("les tests de droits lancent la commande sous un autre utilisateur : il faut être root "
                    "(root ignore les droits des fichiers, d'où ce changement d'utilisateur)")
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("setpriv (util-linux) est introuvable : impossible de lancer la commande sans privilège")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)        # instant, and keeps the file's (readable) mode
    except OSError:
        shutil.copy2(source, target)


@pytest.fixture(scope="module")
def nobody():
    """How to run the command as an unprivileged user: the project and its venv must be readable by
    that user; if they are not (a clone under /root, say), run from a world-readable copy."""
    prefix = _as_nobody()
    probe = ["-c", "import observatoire.cli, ingest.warehouse, reports.site, expectations.validate; "
                   "from ingest.config import Config; Config()"]
    env = {**os.environ, "HOME": "/tmp"}
    if subprocess.run(prefix + [sys.executable, *probe], env=env, capture_output=True).returncode != 0:
        copy = Path(tempfile.mkdtemp(prefix="observatoire-projet-"))
        shutil.copytree(ROOT, copy / "projet", symlinks=True, copy_function=_link_or_copy,
                        ignore=shutil.ignore_patterns(".git", "test-artifacts", "__pycache__", "sortie"))
        os.chmod(copy, 0o755)
        env["PYTHONPATH"] = str(copy / "projet")
        python = str(copy / "projet" / Path(sys.executable).relative_to(ROOT)) \
            if Path(sys.executable).is_relative_to(ROOT) else sys.executable
        if subprocess.run(prefix + [python, *probe], env=env, capture_output=True).returncode != 0:
            shutil.rmtree(copy, ignore_errors=True)
            pytest.skip("le projet et son environnement Python ne sont pas lisibles par un utilisateur sans "
                        "privilège, même copiés dans /tmp")
    else:
        python, copy = sys.executable, None
    yield prefix, python, env
    if copy:
        shutil.rmtree(copy, ignore_errors=True)


def give(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, NOBODY, NOBODY)


@pytest.fixture
def owned(origin, nobody):
    """A copy of the warehouse and sites owned by the unprivileged user, in a folder it can reach."""
    base = Path(tempfile.mkdtemp(prefix="observatoire-droits-"))
    for name in ("entrepot", "site"):
        shutil.copytree(origin / name, base / name, symlinks=True)
    give(base)
    prefix, python, env = nobody

    def as_nobody(*args):
        done = subprocess.run(prefix + command(base / "entrepot" / "o.duckdb", *args, python=python),
                              capture_output=True, text=True, cwd=base, env={**env, "HOME": str(base)},
                              timeout=300)
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        return done
    yield base, as_nobody
    shutil.rmtree(base)


def test_read_only_warehouse_folder_is_a_french_error_and_changes_nothing(owned):
    base, as_nobody = owned
    warehouse = base / "entrepot"
    before = (warehouse / "o.duckdb").read_bytes()
    quality = files(warehouse / "qualite", skip="/nothing/")
    warehouse.chmod(0o555)
    try:
        done = as_nobody("validate")                # lock file there: DuckDB would fail on its journal
        assert done.returncode == 1, said(done)
        assert f"le dossier {warehouse} n'est pas accessible en écriture" in said(done)
        assert "--entrepot" in said(done)
        (warehouse / "o.duckdb.lock").unlink(missing_ok=True)
        done = as_nobody("ingest", DEMO_DIR / "senacs_2018.csv")      # no lock file: cannot create it
        assert done.returncode == 1, said(done)
        assert f"le dossier {warehouse} n'est pas accessible en écriture" in said(done)
    finally:
        warehouse.chmod(0o755)
    assert (warehouse / "o.duckdb").read_bytes() == before
    assert files(warehouse / "qualite", skip="/nothing/") == quality and not leftovers(warehouse)


def test_read_only_site_folders(owned):
    base, as_nobody = owned
    site = base / "site"
    expected = files(site / "public", skip="qualite/gx/")
    site.chmod(0o555)
    try:
        done = as_nobody("report")
        assert done.returncode == 1, said(done)
        assert f"le dossier {site} n'est pas accessible en écriture" in said(done) and "--sortie" in said(done)
    finally:
        site.chmod(0o755)
    # site/public read-only (the README: exit 1, a French message, nothing modified), then with
    # what a killed report left: a read-only .public-ancien and a temporary folder; once public is
    # writable again, both are removed and every report succeeds
    (site / "public").chmod(0o555)
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*")}
    done = as_nobody("report")
    assert done.returncode == 1, said(done)
    assert f"Le dossier {site / 'public'} est en lecture seule" in said(done) and "rien n'est modifié" in said(done)
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*")} == before
    (site / "public").chmod(0o755)
    shutil.copytree(site / "public", site / ".public-ancien")
    shutil.copytree(site / "interne" / "assets", site / ".interne-a1b2c3d4" / "assets")
    give(site)
    for path in (site / ".public-ancien", site / ".public-ancien" / "assets"):
        path.chmod(0o555)
    for _ in range(2):
        done = as_nobody("report")
        assert done.returncode == 0, said(done)
        assert sorted(p.name for p in site.iterdir()) == ["interne", "public"]
        assert files(site / "public", skip="qualite/gx/") == expected


def test_quality_outputs_never_replace_a_folder_holding_other_files(db, tmp_path):
    mine = tmp_path / "mes-documents"
    mine.mkdir()
    (mine / "budget.xlsx").write_bytes(b"pas a moi")
    done = run(db, "validate", "--sortie", mine)
    assert done.returncode == 1, said(done)
    assert "contient d'autres fichiers que les sorties qualité (budget.xlsx)" in said(done)
    assert [p.name for p in mine.iterdir()] == ["budget.xlsx"] and not leftovers(tmp_path)


def test_an_unreadable_cache_in_an_inherited_home_does_not_prevent_a_build(owned, nobody):
    """`sudo -E` or `su` without `-`: the user runs with the HOME of another (root), whose cache
    folder it may not even look into. The dbt parse cache is then skipped (a full parse), in
    silence: the build succeeds, with no English noise."""
    base, _ = owned
    prefix, python, env = nobody
    # dbt runs child interpreters (multiprocessing's resource tracker): the user must be able to
    # start one, which a Python installed under /root does not allow
    probe = subprocess.run(prefix + [python, "-c", "import subprocess, sys; subprocess.run([sys.executable, '-c', '0'], "
                                               "check=True)"], env=env, capture_output=True)
    if probe.returncode != 0:
        pytest.skip("l'interpréteur Python n'est pas exécutable par un utilisateur sans privilège (installé sous "
                    "/root ?) : dbt ne peut pas y lancer ses processus")
    home = Path(tempfile.mkdtemp(prefix="observatoire-home-de-root-"))
    try:
        cache = home / ".cache" / "observatoire"
        cache.mkdir(parents=True)
        for name in ("dbt-0123456789abcdef.msgpack", "partial_parse.msgpack"):
            (cache / name).write_bytes(b"\x00" * 64)
        for variant in (0o700, 0o711, 0o755):      # home unreadable, cache unlistable, cache file unreadable
            home.chmod(variant)
            (home / ".cache").chmod(0o700 if variant == 0o711 else 0o755)
            for found in cache.iterdir():
                found.chmod(0o600)
            # no parse kept beside the warehouse: the build looks for the shared one in HOME
            shutil.rmtree(base / "entrepot" / "dbt" / "target", ignore_errors=True)
            run_env = {k: v for k, v in env.items() if k != "XDG_CACHE_HOME"} | {"HOME": str(home)}
            done = subprocess.run(prefix + command(base / "entrepot" / "o.duckdb", "build", "--sans-docs",
                                                   python=python),
                                  capture_output=True, text=True, cwd=base, env=run_env, timeout=600)
            printed = done.stdout + done.stderr
            assert done.returncode == 0, said(done)
            assert "Traceback" not in printed and "Permission denied" not in printed and "Errno" not in printed
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize("read_only", ["site", "site/public", "site/interne", "entrepot/qualite"])
def test_a_run_whose_site_cannot_be_written_publishes_nothing(owned, read_only):
    """The whole site (or one of its folders, or the quality outputs) read-only: `run` stops
    before ingest, in French, and the warehouse's publication record does not move: it never
    says a year is published that the site does not show."""
    base, as_nobody = owned
    db = base / "entrepot" / "o.duckdb"

    def record():
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute("SELECT * FROM publications ORDER BY ALL").fetchall()
    before, warehouse = record(), db.read_bytes()
    folder = base / read_only
    folder.chmod(0o555)
    try:
        done = as_nobody("run", DEMO_DIR)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 1, said(done)
    assert str(folder) in said(done) and ("lecture seule" in said(done) or "pas accessible en écriture" in said(done))
    assert "Chargement" not in done.stdout and record() == before and db.read_bytes() == warehouse
