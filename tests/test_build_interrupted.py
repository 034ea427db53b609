"""A build killed half-way (kill -9 of the real process) is never read as if it were whole:
validate and the internal site refuse it in French, the public site (the publication snapshot)
is untouched, and the next build makes everything usable again."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import query
from observatoire.build import build
from observatoire.report import run_report
from observatoire.validation import run_validation

pytestmark = pytest.mark.lent     # the full tier: real dbt, GX, Chromium or whole runs

CLI = [sys.executable, "-m", "observatoire"]


@pytest.fixture(scope="module")
def published(tmp_path_factory, site):
    """A copy of the published demo warehouse (the `site` fixture's)."""
    db0, *_ = site
    base = tmp_path_factory.mktemp("interrompu")
    db = base / "entrepot" / "o.duckdb"
    db.parent.mkdir()
    shutil.copy2(db0, db)
    return db


def kill_build_after(db, seconds: float) -> int:
    proc = subprocess.Popen(CLI + ["--entrepot", str(db), "build", "--sans-docs"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(seconds)
    os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait()


def test_a_killed_build_is_refused_until_rebuilt(published, tmp_path):
    db = published
    snapshot = query(db, "SELECT count(*), sum(valeur) FROM publie.pub_indicateurs")
    # kill once dbt is well into the models (the models come after ~2-4 s of start-up)
    for delay in (3.5, 5.0, 6.5):
        code = kill_build_after(db, delay)
        if code == -signal.SIGKILL and query(db, "SELECT statut FROM constructions ORDER BY debut DESC LIMIT 1") \
                == [("en_cours",)]:
            break
    else:
        pytest.skip("the build ended before it could be killed on this machine")
    result = subprocess.run(CLI + ["--entrepot", str(db), "validate", "--sortie", str(tmp_path / "q")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "interrompue" in result.stderr and "observatoire build" in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(Exception, match="interrompue"):
        run_report(db, tmp_path / "site", audiences=("public", "interne"))
    # the publication snapshot did not move, and the public site can still be produced from it
    assert query(db, "SELECT count(*), sum(valeur) FROM publie.pub_indicateurs") == snapshot
    public = run_report(db, tmp_path / "site", audiences=("public",))
    assert public[0].pages > 50
    # a whole build makes the warehouse usable again
    build(db, docs=False)
    outcome = run_validation(db, tmp_path / "q")
    assert all(g.publie for g in outcome.gates)
    assert query(db, "SELECT statut FROM constructions ORDER BY debut DESC LIMIT 1") == [("terminee",)]
