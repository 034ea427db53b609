"""Hostile inputs, third round (issue 19): bounded reading of workbooks, one file per structure
whatever its code, nothing read that was not given, any path for the warehouse and its folders.

Each class of problem is tried with several variants; the fast tests run ingest only (no dbt),
the pipeline test (`lent`) runs the whole chain in a folder and a warehouse with awkward names.
"""
from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from conftest import BASE_HEADER, ROOT, query, survey_rows, write_csv, write_year_files
from common.names import file_stem
from hostile_files import bomb, rewrite_sheet, workbook
from ingest import readers
from ingest.load import OUTSIDE_LINK
from observatoire.cli import cli
from observatoire.demo import build_truth
from reports.qualite import _by_structure

SECRET = "SECRET-7f3a-ne-doit-apparaitre-nulle-part"
PASSWD = f"root:x:0:0:{SECRET}:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


# ------------------------------------------------------------------ one file per structure
COLLIDING = ["CS92-0001", "CS92-0001-", "-CS92-0001", "CS92--0001", "cs92-0001", "Cs92-0001", "CS92-0001 ",
             " CS92-0001", "CS92_0001", "CS92.0001", "CS92–0001", "CS92-000É", "CS92-000E", "CS92-000e",
             "ÇS92-0001", "CS92-0001\u200b", "", "-", "--", "é", "e", "E"]


def test_names_made_from_codes_are_injective_and_plain():
    stems = [file_stem(c) for c in COLLIDING]
    assert len(set(stems)) == len(COLLIDING)
    assert all(re.fullmatch(r"[a-z0-9-]+", s) for s in stems)
    # a code written as the federation writes them keeps its readable name
    for code in ("CS92-0001", "EVS92-0012", "92050", "2A004", "92", "FR"):
        assert file_stem(code) == code.lower()
    # case-insensitive file systems: no two names differ by case only
    assert len({s.lower() for s in stems}) == len(stems)


def test_feedback_sheets_of_codes_differing_by_punctuation_are_named_apart():
    codes = ["CS92-0001", "CS92-0001-", "-CS92-0001", "CS92--0001"]
    rows = [{"code_structure": c, "severite": "avertissement", "colonne": "salaries", "controle": f"regle {c}", "score": None,
             "pour_la_structure": True, "nature": "suspecte"}
            for c in codes]
    sheets = _by_structure(rows, {c: f"Centre {i}" for i, c in enumerate(codes)}, 2022)
    assert len({s["fichier"] for s in sheets}) == len(codes)
    for sheet in sheets:
        assert [f["controle"] for f in sheet["constats"]] == [f"regle {sheet['code']}"]


# ------------------------------------------------------------------ bounded reading, links
def good_rows(year: int) -> list[list]:
    return [BASE_HEADER] + [[r[k] for k in BASE_HEADER] for r in survey_rows(year)]


def _texts_in(db: Path) -> str:
    """Every text cell of every table of the warehouse, one blob."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = []
        for schema, table in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall():
            for row in con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall():
                out.extend(str(v) for v in row if isinstance(v, str))
        return "\n".join(out)
    finally:
        con.close()


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """One CLI ingest of a folder holding good extracts and every hostile variant below; returns
    (warehouse, console output, {file name: (status, message)})."""
    base = tmp_path_factory.mktemp("lot")
    folder, outside = base / "extraits", base / "ailleurs"
    folder.mkdir()
    outside.mkdir()
    write_csv(folder / "senacs_1949.csv", BASE_HEADER, survey_rows(1949))
    good = workbook(good_rows(1950))
    # zip bombs: identical rows expanding about 1 000-fold, from 16 MiB to 512 MiB once inflated
    (folder / "senacs_1950.xlsx").write_bytes(bomb(good, 16))
    (folder / "senacs_1951.xlsx").write_bytes(bomb(workbook(good_rows(1951)), 128))
    (folder / "senacs_1952.xlsx").write_bytes(bomb(workbook(good_rows(1952)), 512))
    # rows stretched to the last column (XFD): 1 500 rows of 16 384 cells
    wide = b'<row><c r="XFD%d" t="inlineStr"><is><t>0</t></is></c></row>'
    (folder / "senacs_1953.xlsx").write_bytes(rewrite_sheet(
        workbook(good_rows(1953)), before_end=b"".join(wide % n for n in range(10, 1510))))
    # a declared dimension at the spreadsheet's limits and one cell on its last row: read, quickly
    (folder / "senacs_1954.xlsx").write_bytes(rewrite_sheet(
        workbook(good_rows(1954)), dimension="A1:XFD1048576",
        before_end=b'<row r="1048576"><c r="A1048576"><v>1954</v></c></row>'))
    # links leading out of the folder: to a password-like file, to a valid extract; never read
    (outside / "passwd").write_text(PASSWD, encoding="utf-8")
    (folder / "senacs_1955.csv").symlink_to(outside / "passwd")
    write_csv(outside / "valide.csv", BASE_HEADER, survey_rows(1956))
    (folder / "senacs_1956.csv").symlink_to(outside / "valide.csv")
    (folder / "sous").mkdir()
    (folder / "sous" / "senacs_1957.csv").symlink_to(Path("..") / ".." / "ailleurs" / "passwd")
    # a link inside the folder is read as the file it points to
    (folder / "originaux").mkdir()
    write_csv(folder / "originaux" / "copie.txt", BASE_HEADER, survey_rows(1958))
    (folder / "senacs_1958.csv").symlink_to(folder / "originaux" / "copie.txt")
    # a foreign file given under an extract's name: refused, its content never quoted
    (folder / "senacs_1959.csv").write_text(PASSWD, encoding="utf-8")
    (folder / "activites_1959.csv").write_text(f"{SECRET};x;y\n1;2;3\n", encoding="utf-8")
    (folder / "senacs_1960.csv").symlink_to(outside / "absent.csv")       # broken link
    db = base / "entrepot" / "o.duckdb"
    result = CliRunner().invoke(cli, ["--entrepot", str(db), "ingest", str(folder)], catch_exceptions=False)
    return db, result.output, result.exit_code


def _rejection(db: Path, name: str) -> str:
    rows = query(db, "SELECT message FROM constats_qualite WHERE regle = 'fichier_rejete' AND fichier = ?", [name])
    return "\n".join(r[0] for r in rows)


def loaded_years(db: Path) -> set[int]:
    return {r[0] for r in query(db, "SELECT DISTINCT annee_enquete FROM reponses")}


def test_the_good_extracts_beside_hostile_ones_are_loaded(batch):
    db, output, _ = batch
    assert {1949, 1954, 1958} <= loaded_years(db)
    assert not loaded_years(db) & {1950, 1951, 1952, 1953, 1955, 1956, 1957, 1959, 1960}


@pytest.mark.parametrize("year", [1950, 1951, 1952])
def test_a_zip_bomb_is_refused_in_french(batch, year):
    db, output, _ = batch
    assert "anormalement compressé" in _rejection(db, f"senacs_{year}.xlsx")


def test_rows_stretched_to_the_last_column_are_refused(batch):
    db, output, _ = batch
    assert "classeur trop grand" in _rejection(db, "senacs_1953.xlsx")


def test_a_declared_dimension_at_the_limits_is_read(batch):
    db, output, _ = batch
    assert query(db, "SELECT count(*) FROM reponses WHERE annee_enquete = 1954")[0][0] == 3


@pytest.mark.parametrize("name", ["senacs_1955.csv", "senacs_1956.csv", "senacs_1957.csv"])
def test_a_link_leading_out_of_the_folder_is_refused_unread(batch, name):
    db, output, _ = batch
    assert OUTSIDE_LINK in _rejection(db, name)
    assert query(db, "SELECT count(*) FROM constats_qualite WHERE fichier = ? AND regle <> 'fichier_rejete'",
                 [name])[0][0] == 0


def test_the_content_of_a_refused_file_appears_nowhere(batch):
    db, output, _ = batch
    assert SECRET not in output
    assert SECRET not in _texts_in(db)
    assert "root:x" not in output and "root:x" not in _texts_in(db)
    assert "aucune colonne d'extrait n'y figure" in _rejection(db, "senacs_1959.csv")


def test_a_broken_link_is_said_in_french(batch):
    db, output, _ = batch
    assert "introuvable" in _rejection(db, "senacs_1960.csv")


def test_a_workbook_too_large_once_unzipped_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "MAX_XLSX_UNZIPPED", 4096)
    from ingest.load import ingest_paths

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "senacs_1949.xlsx").write_bytes(workbook(good_rows(1949)))
    write_csv(tmp_path / "in" / "senacs_1948.csv", BASE_HEADER, survey_rows(1948))
    result = ingest_paths([tmp_path / "in"], tmp_path / "o.duckdb")
    status = {r.path.name: (r.status, r.message) for r in result.files}
    assert status["senacs_1949.xlsx"][0] == "rejeté"
    assert "trop volumineux une fois décompressé" in status["senacs_1949.xlsx"][1]
    assert status["senacs_1948.csv"][0] == "chargé"


# ------------------------------------------------------------------ whole chain, awkward names
ODD_FOLDER = "l'été \"x\" $HOME ${y}"
ODD_WAREHOUSE = "l'observatoire.duckdb"


@pytest.fixture(scope="module")
def odd_run(tmp_path_factory):
    """The demo, four of its centres given codes that differ only by dashes, run by the real CLI
    (`run`, each step a process) in a folder and a warehouse with quotes, accents and dollars."""
    base = tmp_path_factory.mktemp("odd") / ODD_FOLDER
    truth = build_truth("92")
    last = {s: d for s, d, _ in truth.per_year}[2023]
    usable = last[last["repondant"] & last["pers_info_droits"].notna()]["code_structure"].tolist()
    root = usable[0]
    codes = {usable[0]: root, usable[1]: root + "-", usable[2]: "-" + root, usable[3]: root.replace("-", "--")}
    names = {new: f"Centre témoin n° {i}" for i, new in enumerate(codes.values())}
    changes = {}
    for survey, df, _ in truth.per_year:
        df = df.copy()
        for old, new in codes.items():
            mask = df["code_structure"] == old
            df.loc[mask, "nom_structure"] = names[new]
            if survey == 2023 and mask.any():      # a warning for each, so that each gets a feedback sheet
                i = df.index[mask][0]
                df.loc[i, "pers_accomp_droits"] = df.loc[i, "pers_info_droits"] + 50
        df["code_structure"] = df["code_structure"].replace(codes)
        changes[survey] = df
    write_year_files(truth, base / "extraits", changes)
    db = base / "entrepôt d'essai" / ODD_WAREHOUSE        # the site goes beside its folder, quality inside
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "observatoire", "--entrepot", str(db), "run", str(base / "extraits")],
                          cwd=base, env=env, capture_output=True, text=True, timeout=900)
    return base, db, done, names


pipeline = pytest.mark.lent


@pipeline
def test_a_warehouse_named_with_a_quote_builds_and_publishes(odd_run):
    base, db, done, _ = odd_run
    assert done.returncode in (0, 4), done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    published = query(db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'publie'")[0][0]
    assert published > 0
    assert (base / "site" / "public" / "index.html").is_file()
    assert (db.parent / "qualite" / "gx" / "index.html").is_file()      # GX wrote where it was told ($HOME kept)


@pipeline
def test_codes_differing_by_punctuation_keep_a_page_and_a_sheet_each(odd_run):
    base, db, done, names = odd_run
    assert done.returncode in (0, 4), done.stdout[-3000:]
    pages = base / "site" / "interne" / "structures"
    sheets = sorted((db.parent / "qualite" / "fiches_retour").rglob("*.csv"))
    for code, name in names.items():
        page = (pages / f"{file_stem(code)}.html").read_text(encoding="utf-8")
        assert name in page
        assert not [other for other in names.values() if other != name and other in page]
        mine = [s for s in sheets if s.name == f"{file_stem(code)}.csv"]
        assert mine, f"pas de fiche de retour pour {code}"
        for sheet in mine:
            rows = list(csv.reader(io.StringIO(sheet.read_text(encoding="utf-8-sig")), delimiter=";"))
            assert rows[1:] and {r[1].removeprefix("'") for r in rows[1:]} == {code}   # csv_cell: '-CS…
            assert {r[2] for r in rows[1:]} == {name}


# ------------------------------------------------------------------ a step killed from outside
def _children(pid: int) -> list[int]:
    try:
        return sorted(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
    except OSError:
        return []


@pipeline
@pytest.mark.parametrize("step, sig, name", [
    ("ingest", 9, "chargement des extraits"),
    ("build", 9, "calcul des indicateurs"),
    ("build", 15, "calcul des indicateurs"),
])
def test_a_step_killed_from_outside_is_said_in_french(tmp_path, step, sig, name):
    """`run` forks its steps in this order: build (waiting), ingest (working), validate, report.
    The working step's process is killed as the out-of-memory killer does."""
    import signal
    import time

    db = tmp_path / "entrepot" / "o.duckdb"
    proc = subprocess.Popen([sys.executable, "-m", "observatoire", "--entrepot", str(db), "run",
                             str(ROOT / "data" / "demo" / "92")], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 120
    first: list[int] = []
    while proc.poll() is None and time.monotonic() < deadline:
        children = _children(proc.pid)
        if len(children) >= 2 and not first:
            first = children[:2]                     # build, ingest
        if first and step == "ingest":
            time.sleep(0.5)
            os.kill(first[1], sig)
            break
        if first and step == "build" and first[1] not in children and first[0] in children:
            time.sleep(1.0)                          # dbt at work
            os.kill(first[0], sig)
            break
        time.sleep(0.01)
    out, errors = proc.communicate(timeout=300)
    said = " ".join((out + errors).split())
    assert proc.returncode == 1, said[-2000:]
    assert f"l'étape « {name} » a été arrêtée de l'extérieur (signal {signal.Signals(sig).name}" in said
    assert "Traceback" not in said and "leaked" not in said and "resource_tracker" not in said


# ------------------------------------------------------------------ names printed to the console
@pytest.mark.parametrize("folder, name", [
    ("d\x1b[2Jossier", "senacs_1949 (copie).csv"),
    ("dossier", "senacs_1949\x1b]0;titre\x07.csv"),
    ("dos\rsier [red]", "senacs_1949 (2).csv"),
    ("[bold]dossier", "activites_1949\u202e.csv"),
])
def test_names_printed_to_the_console_are_cleaned(tmp_path, folder, name):
    (tmp_path / folder).mkdir()
    write_csv(tmp_path / folder / name, BASE_HEADER, survey_rows(1949))
    write_csv(tmp_path / folder / "senacs_1948.csv", BASE_HEADER, survey_rows(1948))
    result = CliRunner().invoke(cli, ["--entrepot", str(tmp_path / "e" / "o.duckdb"), "ingest", str(tmp_path / folder)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    printed = result.output
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", printed)
    assert "rejeté" in printed or "Rejeté" in printed
    assert "[red]" in printed or "[bold]" in printed or "\\x1b" in printed or "\\u202e" in printed or "\\x0d" in printed


# ------------------------------------------------------------------ odd file names in the input folder
# Names a careless copy, another system or a hostile sender may give: bytes that are not UTF-8,
# slashes and hyphens that only look like ASCII ones, a line break, a trailing dot or space, full-
# width letters. Each is loaded or named in a finding (never passed over in silence, never a
# traceback), and its name is stored and printed readable.
ODD_NAMES = {
    os.fsdecode(b"senacs_1961\xff.csv"): "senacs_1961\\xff.csv",          # not UTF-8 (Latin-1 byte)
    os.fsdecode(b"senacs_1962\xe9t\xe9.csv"): "senacs_1962\\xe9t\\xe9.csv",
    "senacs_1963\u2215x.csv": None,            # DIVISION SLASH
    "senacs_1964\u2044.csv": None,             # FRACTION SLASH
    "senacs\u20101965.csv": None,              # HYPHEN (not the ASCII one)
    "senacs_1966\n.csv": None,                # stored as it is, printed \x0a
    "senacs_1967.csv.": None,                  # a trailing dot (Windows drops it, Linux keeps it)
    "senacs_1968.csv ": None,
    "\uff53\uff45\uff4e\uff41\uff43\uff53_1969.csv": None,   # full-width letters
    "senacs_1970.CSV\u200f": None,             # an invisible mark after the extension
}


@pytest.fixture(scope="module")
def odd_batch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("noms") / "extraits"
    folder.mkdir()
    write_csv(folder / "senacs_1949.csv", BASE_HEADER, survey_rows(1949))
    for name in ODD_NAMES:
        year = int(re.search(r"19\d\d", name)[0]) if re.search(r"19\d\d", name) else 1949
        write_csv(folder / name, BASE_HEADER, survey_rows(year))
    db = folder.parent / "entrepot" / "o.duckdb"
    result = CliRunner().invoke(cli, ["--entrepot", str(db), "ingest", str(folder)])
    return db, result


def test_every_odd_name_in_the_folder_is_loaded_or_named(odd_batch):
    db, result = odd_batch
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert "ignoré" not in result.output           # no file passed over without its name
    loaded = {r[0] for r in query(db, "SELECT nom_fichier FROM fichiers_sources WHERE statut = 'actif'")}
    rejected = {r[0] for r in query(db, "SELECT fichier FROM constats_qualite WHERE regle = 'fichier_rejete'")}
    assert "senacs_1949.csv" in loaded
    for name, stored in ODD_NAMES.items():
        shown = stored or name
        assert shown in loaded | rejected, (name, loaded, rejected)
    # a name whose bytes are not UTF-8 is stored and printed with those bytes written \xNN
    assert "senacs_1961\\xff.csv" in result.output and "senacs_1966\\x0a.csv" in result.output
    assert not re.search("[\ud800-\udfff]", result.output)


def test_a_name_that_is_not_utf8_loads_with_a_readable_name(odd_batch):
    db, _ = odd_batch
    rows = query(db, "SELECT nom_fichier, chemin_source FROM fichiers_sources WHERE annee_fichier = 1961")
    assert rows and rows[0][0] == "senacs_1961\\xff.csv" and rows[0][1].endswith("senacs_1961\\xff.csv")
    assert {1949, 1961, 1964, 1966, 1969} <= loaded_years(db)


# ------------------------------------------------------------------ two warehouses in one folder
def test_two_warehouses_of_one_folder_never_touch_each_others_temporary_folders(tmp_path):
    """Two warehouses of one folder share the parent of their output folders (qualite/, site/):
    a command of one, starting while the other builds, must leave the other's temporary folders
    alone, and still clean its own leftovers and those of an earlier version."""
    from common import files

    a, b = files.owner_tag(tmp_path / "a.duckdb"), files.owner_tag(tmp_path / "l'observatoire.duckdb")
    assert a != b and files.owner_tag(tmp_path / "x" / ".." / "a.duckdb") == a
    for target in (tmp_path / "qualite", tmp_path / "site" / "public", tmp_path / "site" / "interne"):
        target.mkdir(parents=True)
        (target / "index.html").write_text("en place", encoding="utf-8")
        building = files.staging(target, a)                      # warehouse a builds…
        (building / "page.html").write_text("a", encoding="utf-8")
        left_by_b = target.parent / f".{target.name}-{b}-k3x9q2ab"   # …b's killed run left this…
        left_by_b.mkdir()
        older = target.parent / f".{target.name}-a1b2c3d4"       # …and an earlier version this
        older.mkdir()
        mine = files.staging(target, b)                          # b starts: cleans its own only
        assert building.is_dir() and (building / "page.html").exists()
        assert not left_by_b.exists() and not older.exists()
        assert mine.name.startswith(f".{target.name}-{b}-") and building.name.startswith(f".{target.name}-{a}-")
        files.swap(building, target, a)                          # a finishes: b's folder untouched
        assert mine.is_dir() and (target / "page.html").exists()
        files.swap(mine, target, b)
        assert sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}")) == []
