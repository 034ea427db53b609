"""A warehouse whose indicators were built by another version of the product is not read as if
its tables were this version's: validate and report ask for a new build, in French (fast tier)."""
from __future__ import annotations

import duckdb
import pytest

from common.errors import ObservatoireError
from observatoire.build import BUILDS_DDL, BUILDS_VERSION_DDL, product_fingerprint, require_complete_build


def warehouse(rows: list[tuple], versioned: bool = True):
    con = duckdb.connect()
    con.execute(BUILDS_DDL)
    if versioned:
        con.execute(BUILDS_VERSION_DDL)
        con.executemany("INSERT INTO constructions VALUES (?, ?, ?, ?)", rows)
    else:
        con.executemany("INSERT INTO constructions VALUES (?, ?, ?)", rows)
    return con


def test_a_build_of_this_version_is_read():
    con = warehouse([("2026-01-01 10:00", "2026-01-01 10:01", "terminee", product_fingerprint())])
    require_complete_build(con)


@pytest.mark.parametrize("rows, versioned", [
    ([("2026-01-01 10:00", "2026-01-01 10:01", "terminee")], False),            # built before versions were kept
    ([("2026-01-01 10:00", "2026-01-01 10:01", "terminee", "0123456789abcdef")], True),
    ([("2026-01-01 10:00", "2026-01-01 10:01", "terminee", product_fingerprint()),
      ("2026-02-01 10:00", "2026-02-01 10:01", "terminee", "0123456789abcdef")], True),   # the last one counts
])
def test_a_build_of_another_version_asks_for_a_new_build(rows, versioned):
    with pytest.raises(ObservatoireError, match="autre version de l'observatoire.*Relancez « observatoire build »"):
        require_complete_build(warehouse(rows, versioned))


def test_the_fingerprint_follows_the_products_sql(tmp_path):
    for name, text in {"dbt_project.yml": "name: x\n", "models/a.sql": "select 1\n", "macros/m.sql": "",
                       "data/seeds/s.csv": "a\n1\n", "models/notes.md": "ignored\n"}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    before = product_fingerprint(tmp_path)
    (tmp_path / "models/notes.md").write_text("changed\n")
    assert product_fingerprint(tmp_path) == before
    (tmp_path / "models/a.sql").write_text("select 2\n")
    assert product_fingerprint(tmp_path) != before
