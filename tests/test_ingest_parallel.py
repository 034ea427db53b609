"""Hostile files in the parallel path: `observatoire ingest` parses a batch of more than
PARALLEL_FROM bytes in forked workers. Large valid extracts (from `observatoire demo`) mixed with
every hostile class of /work/shared/domain/extracts.md go through the real CLI, as an unprivileged
user (so that a file without read rights is really unreadable): every file gets its French answer,
the valid ones load in full, and the answers are the same, in the same order, whether the files
are parsed by workers or one by one."""
from __future__ import annotations

from collections import Counter

import csv
import errno
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from conftest import ROOT, query
from ingest import load
from ingest.readers import decode
from observatoire.cli import cli

pytestmark = [pytest.mark.lent,        # the full tier: a national demo read as an unprivileged user
              pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"),
                                 reason="setpriv is needed to drop root")]
UNPRIVILEGED = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
BIN = Path(sys.executable).parent / "observatoire"
SERIAL = ("import sys; import ingest.load as load; load.PARALLEL_FROM = 10 ** 12; "
          "from observatoire.cli import main; sys.argv[0] = 'observatoire'; main()")
# the files of {} bytes or more parsed by the writing process, the others by the workers meanwhile
MIXED = ("import sys; import ingest.load as load; load.HERE_FROM = {}; "
         "from observatoire.cli import main; sys.argv[0] = 'observatoire'; main()")


def text_of(path: Path) -> str:
    return decode(path.read_bytes())[0]


def separator_of(text: str) -> str:
    first = text.splitlines()[0]
    return "," if first.count(",") > first.count(";") else ";"


def records(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=separator_of(text)))


def data_lines(text: str) -> int:
    """Non-blank records under the header: what a valid extract must load."""
    return sum(1 for r in records(text)[1:] if any(c.strip() for c in r))


def workbook(sheets: dict[str, list[list]], merge: dict[str, str] | None = None) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        if merge and title in merge:
            ws.merge_cells(merge[title])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# file -> (expected answer fragment, or None when it loads)
REJECTED = {
    "senacs_2020.csv": "le fichier ne contient pas du texte",
    "activites_2020.csv": "aucune ligne d'en-tête reconnue dans les 15 premières lignes (colonnes attendues : "
                          "date, action_code, type_activite…)",
    "activites_2019.csv": "le fichier est vide",
    "senacs_2021 (1).csv": "nom de fichier non reconnu",
    "senacs_2024.xlsx": "classeur XLSX illisible",
    "activites_2022.csv": "lecture impossible : droits de lecture insuffisants",
    "senacs_2023.csv": "plusieurs fichiers pour senacs 2023 dans ce lot",
    "sous/senacs_2023.csv": "plusieurs fichiers pour senacs 2023 dans ce lot",
}


def build_batch(demo: Path, folder: Path) -> dict[str, tuple[str, int, int]]:
    """The hostile batch; returns the files that must load: name -> (kind, year, lines)."""
    folder.mkdir(parents=True)
    loads = {}
    # wrong encodings: Windows-1252 as the demo writes it, and UTF-16 with BOM
    (folder / "senacs_2015.csv").write_bytes((demo / "senacs_2015.csv").read_bytes())
    assert text_of(demo / "senacs_2015.csv").encode("cp1252") == (demo / "senacs_2015.csv").read_bytes()
    (folder / "senacs_2016.csv").write_bytes(text_of(demo / "senacs_2016.csv").encode("utf-16"))
    # comma separated (the demo writes this one so), semicolon separated (above)
    assert separator_of(text_of(demo / "senacs_2022.csv")) == ","
    shutil.copy(demo / "senacs_2022.csv", folder / "senacs_2022.csv")
    # the header repeated twice further down (exports put end to end)
    lines = text_of(demo / "senacs_2017.csv").splitlines(keepends=True)
    lines.insert(300, lines[0])
    lines.insert(700, lines[0])
    (folder / "senacs_2017.csv").write_text("".join(lines), encoding="utf-8")
    # the last line cut in the middle, no line break after it
    lines = text_of(demo / "senacs_2018.csv").splitlines(keepends=True)
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    (folder / "senacs_2018.csv").write_text("".join(lines), encoding="cp1252", errors="replace")
    # surplus values on three lines
    text = text_of(demo / "senacs_2019.csv")
    sep, lines = separator_of(text), text.splitlines(keepends=True)
    for i in (10, 20, 30):
        lines[i] = lines[i].rstrip("\r\n") + f"{sep}surplus{sep}encore\n"
    (folder / "senacs_2019.csv").write_text("".join(lines), encoding="utf-8")
    for name in ("senacs_2015.csv", "senacs_2016.csv", "senacs_2017.csv", "senacs_2018.csv", "senacs_2019.csv",
                 "senacs_2022.csv"):
        loads[name] = ("senacs", int(name[7:11]), data_lines(text_of(demo / name)))
    # a binary file named .csv, an empty file
    (folder / "senacs_2020.csv").write_bytes(bytes(range(256)) * 600)
    (folder / "activites_2019.csv").write_bytes(b"")
    # a letter where the activity log should be: the answer names the log's columns
    (folder / "activites_2020.csv").write_text("Bonjour,\nvoici les chiffres demandés.\n", encoding="utf-8")
    # a workbook: a « Lisez-moi » sheet first, the table on the second under a title, merged cells
    rows = records(text_of(demo / "activites_2021.csv"))
    (folder / "activites_2021.xlsx").write_bytes(workbook(
        {"Lisez-moi": [["Journal des activités de la fédération"]], "Données": [["Journal 2021"], [], *rows]},
        merge={"Données": "E6:E8"}))
    loads["activites_2021.xlsx"] = ("activites", 2021, data_lines(text_of(demo / "activites_2021.csv")))
    # a name that is almost an extract's (the browser's second download)
    shutil.copy(demo / "senacs_2021.csv", folder / "senacs_2021 (1).csv")
    # a workbook cut in half
    data = workbook({"Feuil1": records(text_of(demo / "senacs_2024.csv"))})
    (folder / "senacs_2024.xlsx").write_bytes(data[: len(data) // 2])
    # a file its reader may not read
    shutil.copy(demo / "activites_2022.csv", folder / "activites_2022.csv")
    # two files for the same survey year
    shutil.copy(demo / "senacs_2023.csv", folder / "senacs_2023.csv")
    (folder / "sous").mkdir()
    shutil.copy(demo / "senacs_2023.csv", folder / "sous" / "senacs_2023.csv")
    return loads


@pytest.fixture(scope="module")
def shared():
    """A folder the unprivileged user can reach (pytest's own temporary folders are private)."""
    base = Path(tempfile.mkdtemp(prefix="observatoire-parallele-"))
    os.chmod(base, 0o777)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def demo(shared):
    out = shared / "demo"
    subprocess.run([sys.executable, str(BIN), "demo", "--echelle", "national", "--taille", "0.25", "--sortie",
                    str(out)], check=True, capture_output=True, cwd=shared)
    return out


def run_as_user(shared: Path, db: Path, folder: Path, *, serial: bool = False,
                here_from: int | None = None) -> subprocess.CompletedProcess:
    command = ([sys.executable, "-c", SERIAL] if serial else [sys.executable, "-c", MIXED.format(here_from)]
               if here_from else [sys.executable, str(BIN)])
    env = {**os.environ, "HOME": str(shared), "PYTHONPATH": str(ROOT), "COLUMNS": "300"}
    return subprocess.run(UNPRIVILEGED + command + ["--entrepot", str(db), "ingest", str(folder)],
                          capture_output=True, text=True, env=env, cwd=shared, timeout=120)


@pytest.fixture(scope="module")
def runs(shared, demo):
    folder = shared / "extraits"
    loads = build_batch(demo, folder)
    for path in [folder, *folder.rglob("*")]:
        os.chmod(path, 0o777 if path.is_dir() else 0o644)
    os.chmod(folder / "activites_2022.csv", 0)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size > 20 * load.PARALLEL_FROM          # well within the parallel path
    sizes = sorted(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    out = {}
    for name, serial, here_from in (("parallel", False, None), ("serial", True, None),
                                    ("parallel_again", False, None), ("mixed", False, sizes[len(sizes) // 2])):
        (shared / name).mkdir()
        os.chmod(shared / name, 0o777)
        db = shared / name / "o.duckdb"
        out[name] = (run_as_user(shared, db, folder, serial=serial, here_from=here_from), db)
    return folder, loads, out


def said(run: subprocess.CompletedProcess) -> str:
    """What the command said, one line per answer (the console wraps long lines), warehouse line out."""
    return "\n".join(line for line in (run.stderr + run.stdout).splitlines() if not line.startswith("Entrepôt :"))


def findings(db: Path):
    return query(db, "SELECT fichier, type_extrait, annee_fichier, ligne, colonne, regle, severite, message "
                     "FROM constats_qualite ORDER BY fichier, annee_fichier, ligne, regle, colonne, message")


@pytest.mark.parametrize("name", ["parallel", "serial", "parallel_again", "mixed"])
def test_every_file_gets_its_french_answer_never_a_traceback(runs, name):
    folder, loads, out = runs
    run, db = out[name]
    assert run.returncode == 1, run.stderr           # README: 1 when a file is rejected, the others load
    assert "Traceback" not in run.stderr + run.stdout and "Error" not in run.stderr + run.stdout
    flat = " ".join((run.stderr + run.stdout).split())
    for relative, reason in REJECTED.items():
        assert f"Rejeté {folder / relative} : {reason}" in flat, relative
    for file, (kind, year, lines) in loads.items():
        got = query(db, f"SELECT count(*) FROM raw_{kind} WHERE _annee_fichier = ?", [year])[0][0]
        merged = query(db, "SELECT count(*) FROM constats_qualite WHERE type_extrait = ? AND annee_fichier = ? "
                           "AND regle = 'doublon_exact'", [kind, year])[0][0]
        assert got + merged == lines, file            # every line of a valid extract is loaded
        assert query(db, "SELECT statut FROM fichiers_sources WHERE nom_fichier = ?", [file]) == [("actif",)]
    rejected = {(f, r) for f, r in query(db, "SELECT fichier, regle FROM constats_qualite WHERE regle = 'fichier_rejete'")}
    assert rejected == {(Path(p).name, "fichier_rejete") for p in REJECTED}
    for year in (2020, 2023, 2024):                   # a rejected year loads nothing
        assert query(db, "SELECT count(*) FROM raw_senacs WHERE _annee_fichier = ?", [year]) == [(0,)]
    summary = [[c.strip() for c in line.split("│")[1:-1]] for line in run.stdout.splitlines() if "│" in line]
    statuses = {row[0]: (row[3], row[4]) for row in summary}
    # a file is named by its name, or with its folder when another file of the batch has that name
    repeated = {n for n, k in Counter(Path(p).name for p in [*REJECTED, *loads]).items() if k > 1}
    assert {name for name, (status, _) in statuses.items() if status == "rejeté"} == {
        f"{(folder / p).parent.name}/{Path(p).name}" if Path(p).name in repeated else Path(p).name for p in REJECTED}
    for name, (status, lines) in statuses.items():    # nothing of a rejected file is shown as read
        assert status in ("chargé", "rejeté") and (lines == "0") == (status == "rejeté"), name


def test_each_hostile_class_is_named_where_it_loads(runs):
    _, _, out = runs
    db = out["parallel"][1]
    rules = {(f, r, s): n for f, r, s, n in query(
        db, "SELECT fichier, regle, severite, count(*) FROM constats_qualite GROUP BY ALL")}
    assert rules[("senacs_2017.csv", "entete_repete", "info")] == 2
    assert rules[("senacs_2019.csv", "champs_surnumeraires", "bloquant")] == 3
    last = query(db, "SELECT max(_ligne) FROM raw_senacs WHERE _annee_fichier = 2018")[0][0]
    assert query(db, "SELECT ligne FROM constats_qualite WHERE fichier = 'senacs_2018.csv' "
                     "AND regle = 'champs_manquants'") == [(last,)]     # the cut line, loaded and named
    assert rules[("activites_2021.xlsx", "feuille_lue", "info")] == 1
    assert rules[("activites_2021.xlsx", "cellule_fusionnee", "avertissement")] == 2
    assert query(db, "SELECT encodage FROM fichiers_sources WHERE nom_fichier IN ('senacs_2015.csv', "
                     "'senacs_2016.csv') ORDER BY nom_fichier") == [("cp1252",), ("utf-16",)]


def test_workers_and_one_by_one_give_the_same_answers_in_the_same_order(runs):
    _, _, out = runs
    parallel, serial, again, mixed = (out[n] for n in ("parallel", "serial", "parallel_again", "mixed"))
    assert said(parallel[0]) == said(serial[0]) == said(again[0]) == said(mixed[0])
    assert findings(parallel[1]) == findings(serial[1]) == findings(again[1]) == findings(mixed[1])
    for db in (parallel[1], serial[1], again[1], mixed[1]):
        assert query(db, "SELECT _annee_fichier, count(*) FROM raw_senacs GROUP BY 1 ORDER BY 1") == query(
            parallel[1], "SELECT _annee_fichier, count(*) FROM raw_senacs GROUP BY 1 ORDER BY 1")


def test_large_files_are_parsed_by_the_writer_while_workers_parse_the_others(demo, tmp_path, monkeypatch):
    """A file of HERE_FROM bytes or more is parsed by the process that writes the warehouse (its
    typed rows never cross a pipe, held twice), the smaller ones by forked workers at the same
    time; every file loads in full, and the console names them in the batch's order."""
    folder = tmp_path / "extraits"
    folder.mkdir()
    names = ["activites_2019.csv", "senacs_2015.csv", "senacs_2016.csv", "senacs_2017.csv"]
    for name in names:
        shutil.copy(demo / name, folder / name)
    big = max(names, key=lambda n: (folder / n).stat().st_size)
    monkeypatch.setattr(load, "HERE_FROM", (folder / big).stat().st_size)
    real, parent, readers = load.parse_extract, os.getpid(), tmp_path / "lecteurs"
    readers.mkdir()

    def noted(path, *args, **kwargs):
        (readers / path.name).write_text(str(os.getpid()))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(load, "parse_extract", noted)
    db = tmp_path / "o.duckdb"
    result = CliRunner().invoke(cli, ["--entrepot", str(db), "ingest", str(folder)], terminal_width=300)
    assert result.exit_code == 0, result.output
    pids = {name: int((readers / name).read_text()) for name in names}
    assert pids[big] == parent
    assert all(pid != parent for name, pid in pids.items() if name != big)
    read = [line.split("lu : ")[1].strip() for line in result.output.splitlines() if "lu : " in line]
    assert read == names
    for name in names:
        kind, year = name[:-9], int(name[-8:-4])
        assert query(db, f"SELECT count(*) FROM raw_{kind} WHERE _annee_fichier = ?", [year])[0][0] == data_lines(
            text_of(demo / name)), name


# ------------------------------------------------------------------ a worker that dies
def test_a_worker_killed_while_reading_rejects_that_file_only(demo, tmp_path, monkeypatch):
    """The machine's out-of-memory killer takes a worker while it reads one file: the pool fails
    every file still in it, but only that file is rejected, in French and by name; the others,
    read again on their own, load in full."""
    folder = tmp_path / "extraits"
    folder.mkdir()
    names = ["senacs_2015.csv", "senacs_2016.csv", "senacs_2017.csv", "senacs_2018.csv"]
    for name in names:
        shutil.copy(demo / name, folder / name)
    real, parent = load.parse_extract, os.getpid()

    def killed_on_2016(path, *args, **kwargs):
        if path.name == "senacs_2016.csv" and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(load, "parse_extract", killed_on_2016)
    db = tmp_path / "o.duckdb"
    result = CliRunner().invoke(cli, ["--entrepot", str(db), "ingest", str(folder)], terminal_width=300)
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    assert "Traceback" not in flat
    assert f"Rejeté {folder / 'senacs_2016.csv'} : la lecture de ce fichier a arrêté net le processus" in flat
    assert flat.count("Rejeté") == 1
    for name in names:
        year = int(name[7:11])
        got = query(db, "SELECT count(*) FROM raw_senacs WHERE _annee_fichier = ?", [year])[0][0]
        assert got == (0 if year == 2016 else data_lines(text_of(demo / name))), name
    assert query(db, "SELECT fichier, regle, severite FROM constats_qualite WHERE regle = 'fichier_rejete'") == [
        ("senacs_2016.csv", "fichier_rejete", "bloquant")]


def test_no_process_to_fork_reads_the_files_one_by_one(demo, tmp_path, monkeypatch):
    """The system refuses a new process (the user's process limit, no memory to fork): the batch is
    read one file after the other rather than failing as a whole on a misleading file error."""
    folder = tmp_path / "extraits"
    folder.mkdir()
    names = ["senacs_2015.csv", "senacs_2016.csv", "activites_2019.csv"]
    for name in names:
        shutil.copy(demo / name, folder / name)

    def refused():
        raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
    monkeypatch.setattr(os, "fork", refused)
    db = tmp_path / "o.duckdb"
    result = CliRunner().invoke(cli, ["--entrepot", str(db), "ingest", str(folder)], terminal_width=300)
    assert result.exit_code == 0, result.output
    for name in names:
        kind, year = name[:-9], int(name[-8:-4])
        assert query(db, f"SELECT count(*) FROM raw_{kind} WHERE _annee_fichier = ?", [year])[0][0] == data_lines(
            text_of(demo / name)), name


# ------------------------------------------------------------------ merged cells beyond the table
def test_a_merge_beyond_the_table_is_read_within_it(demo, tmp_path):
    """A merge drawn past the table (across the row to column Z, down the column to row 500) is
    read as the spreadsheet shows it, but within the table only: no columns without a header nor
    hundreds of rows holding only the merged value (each with its blocking findings)."""
    rows = records(text_of(demo / "activites_2021.csv"))
    width, last = len(rows[0]), len(rows)          # header on row 1, data on rows 2..last
    assert width < 26 and 60 < last < 500
    folder = tmp_path / "extraits"
    folder.mkdir()
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    wb.active.merge_cells("E10:Z10")
    wb.active.merge_cells("E60:E500")
    wb.save(folder / "activites_2021.xlsx")
    db = tmp_path / "o.duckdb"
    result = CliRunner().invoke(cli, ["--entrepot", str(db), "ingest", str(folder)], terminal_width=300)
    assert result.exit_code == 0, result.output
    assert query(db, "SELECT count(*) FROM raw_activites")[0][0] == last - 1
    numbers = {"nb_participants", "nb_centres", "nb_habitants", "nb_benevoles", "nb_salaries", "duree_heures"}
    spanned = [h.strip().lower().replace(" ", "_") for h in rows[0][5:]]      # F.. on row 10: a title in numbers
    assert query(db, "SELECT regle, severite, min(ligne), max(ligne), count(*) FROM constats_qualite "
                     "GROUP BY ALL ORDER BY 1") == [
        ("cellule_fusionnee", "avertissement", 10, last, (width - 5) + (last - 60)),
        ("valeur_illisible", "avertissement", 10, 10, len(numbers & set(spanned)))]
    assert query(db, "SELECT DISTINCT intitule FROM raw_activites WHERE _ligne BETWEEN 60 AND ?", [last]) == [
        (rows[59][4],)]
