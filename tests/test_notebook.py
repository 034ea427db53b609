"""The analyst notebook runs end to end on a built warehouse, read-only."""

import nbformat
from nbclient import NotebookClient

from conftest import DEMO_DIR, ROOT, query
from ingest.load import ingest_paths
from observatoire.build import build
import pytest

pytestmark = pytest.mark.lent     # the full tier: real dbt, GX, Chromium or whole runs


def test_notebook_runs_on_the_warehouse(tmp_path, monkeypatch):
    db = tmp_path / "o.duckdb"
    ingest_paths([DEMO_DIR], db)
    build(db, docs=False)
    before = query(db, "SELECT count(*), sum(valeur) FROM indicateurs")
    monkeypatch.setenv("OBSERVATOIRE_ENTREPOT", str(db))
    nb = nbformat.read(ROOT / "notebooks/exploration_indicateurs.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert str(db) in text and "Taux de réponse" in text and "en_" in text
    figures = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(figures) == 2
    assert query(db, "SELECT count(*), sum(valeur) FROM indicateurs") == before
