from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from observatoire.cli import cli

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


def query(db: Path, sql: str, params=None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def frame(db: Path, sql: str, params=None):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()
