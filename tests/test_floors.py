"""The floors of the house: common < ingest < expectations < reports < observatoire (the CLI).
Every import of the project's own packages, read with `ast` (top-level and inside functions),
must go to the module's own floor or a lower one."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOORS = ["common", "ingest", "expectations", "reports", "observatoire"]


def imported_packages(source: str, package: str) -> set[tuple[int, str]]:
    """(line, top-level package) of every import in `source`, relative ones resolved to `package`."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {(node.lineno, alias.name.split(".")[0]) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:                      # from .x import y: the module's own package
                found.add((node.lineno, package))
            elif node.module:
                found.add((node.lineno, node.module.split(".")[0]))
    return found


def upward_imports(root: Path = ROOT) -> list[str]:
    bad = []
    for rank, package in enumerate(FLOORS):
        for path in sorted((root / package).rglob("*.py")):
            for line, target in imported_packages(path.read_text(encoding="utf-8"), package):
                if target in FLOORS and FLOORS.index(target) > rank:
                    bad.append(f"{path.relative_to(root)}:{line} imports {target}")
    return bad


def test_no_import_runs_back_up_a_floor():
    assert upward_imports() == []


def test_the_check_sees_an_upward_import(tmp_path):
    """The check itself bites: an ingest module importing the CLI, even inside a function."""
    for package in FLOORS:
        (tmp_path / package).mkdir()
    (tmp_path / "ingest" / "x.py").write_text("def f():\n    from observatoire.cli import cli\n")
    (tmp_path / "reports" / "y.py").write_text("from .formatting import nombre\nimport ingest.config\n")
    assert upward_imports(tmp_path) == ["ingest/x.py:2 imports observatoire"]
