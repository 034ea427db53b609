"""The dbt documentation is generated again only when what it shows changed: the project as
parsed and the warehouse's raw schema (DuckDB's catalog carries no statistics)."""
from conftest import demo_copy
from observatoire.build import build
import pytest

pytestmark = pytest.mark.lent     # the full tier: real dbt, GX, Chromium or whole runs


def test_docs_are_generated_once_per_state_of_the_project(site, tmp_path):
    db, corrections = demo_copy(site, tmp_path)

    first = build(db, docs=True, corrections=corrections)
    catalog, stamp = first.target_dir / "catalog.json", first.target_dir / "documentation.empreinte"
    assert (first.target_dir / "index.html").is_file() and catalog.is_file() and stamp.is_file()
    generated, fingerprint = catalog.stat().st_mtime_ns, stamp.read_text()
    assert len(fingerprint) == 64

    build(db, docs=True, corrections=corrections)              # nothing changed: kept as it is
    assert catalog.stat().st_mtime_ns == generated and stamp.read_text() == fingerprint

    stamp.write_text("0" * 64)                                   # documentation of another state
    build(db, docs=True, corrections=corrections)
    assert catalog.stat().st_mtime_ns != generated and stamp.read_text() == fingerprint

    catalog.unlink()                                             # a documentation left incomplete
    build(db, docs=True, corrections=corrections)
    assert catalog.is_file() and stamp.read_text() == fingerprint
