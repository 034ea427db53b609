"""The analyst's guide (docs/guide/): every command it shows runs as written, page after page, in
one shell, on extracts of a federation received in a folder beside it, and does what the guide
says it does."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from ingest.config import Config
from observatoire import demo
from observatoire.demo import Dialect, build_truth, write_survey

pytestmark = pytest.mark.lent

GUIDE = ROOT / "docs" / "guide"
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)


def pages() -> list[Path]:
    return sorted(GUIDE.glob("[0-9][0-9]-*.md"))


def commands(page: Path) -> list[str]:
    return [line for block in BLOCK.findall(page.read_text(encoding="utf-8"))
            for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_every_step_of_the_year_has_its_page_and_its_commands():
    assert len(pages()) >= 7
    index = (GUIDE / "README.md").read_text(encoding="utf-8")
    for page in pages():
        assert f"]({page.name})" in index, page.name
        assert commands(page), f"{page.name} shows no command"


def test_every_command_of_the_guide_runs_as_written(tmp_path):
    received = tmp_path / "extraits-recus"
    received.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(demo.SCALES, "06", {"departements": ["06"], "cs": 18, "evs": 9, "surveys": [2021, 2022, 2023],
                                       "activities": [2022]})
        truth = build_truth("06", seed=6)
    for (survey, df, blocs), dialect in zip(truth.per_year, [Dialect(encoding="cp1252"), Dialect(fmt="xlsx"),
                                                              Dialect(sep=",", true="x", false="")]):
        write_survey(received / f"senacs_{survey}{'.xlsx' if dialect.fmt == 'xlsx' else '.csv'}", survey, df, blocs,
                     dialect, Config())
    script = ["set -e"]
    for page in pages():
        for command in commands(page):
            script += [f"echo '>>> {page.name}: {command}' | tr -d \"'\"", command]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "TMPDIR": str(tmp_path)}
    env.pop("OBSERVATOIRE_DOSSIER", None)
    env.pop("OBSERVATOIRE_ENTREPOT", None)
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = tmp_path / "alpes-maritimes"
    # what the pages say happened
    assert sorted(p.name for p in (folder / "extraits").iterdir()) == sorted(p.name for p in received.iterdir())
    assert (folder / "sortie" / "entrepot" / "journal.log").is_file()
    assert (folder / "sortie" / "entrepot" / "qualite" / "2022.html").is_file()
    assert "CS06-0003;salaries;74" in (folder / "corrections.csv").read_text(encoding="utf-8")
    assert (tmp_path / "alpes-maritimes" / "site-public.tar.gz").stat().st_size > 10_000
    import duckdb

    con = duckdb.connect(str(folder / "sortie" / "entrepot" / "observatoire.duckdb"), read_only=True)
    try:
        applied = con.execute("SELECT count(*) FROM corrections WHERE code_structure = 'CS06-0003'").fetchall()[0][0]
        salaries = con.execute("SELECT salaries FROM stg_senacs__reponses WHERE code_structure = 'CS06-0003' "
                               "AND annee_enquete = 2023").fetchall()
    finally:
        con.close()
    assert applied == 1 and salaries == [(74,)]
    assert "Bilan" in done.stdout and "Ensuite" in done.stdout
