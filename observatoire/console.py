"""Console output: progress bars on long work and the end-of-run summaries (French)."""
from __future__ import annotations

import re
from collections import Counter
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from common.french import fr_count, fr_int  # noqa: F401  (the CLI writes its numbers as ingest does)
from common.names import name_text

def _console(stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:          # logs and CI: do not squeeze tables into 80 columns
        console = Console(stderr=stderr, highlight=False, width=140)
    return console


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(value, lines: bool = False) -> str:
    """Any text from outside (a file or folder name, a message quoting a cell) as the console may
    print it: control characters (terminal escape sequences, carriage returns, bidirectional
    overrides) written visibly as \\xNN, line breaks kept only in a message (`lines`), and rich's
    markup brackets escaped (a name like « [/]x.csv » would otherwise be read as markup)."""
    text = name_text(value)       # bytes of a name that are not UTF-8: \xNN
    keep = "\n\t" if lines else ""
    text = _CONTROL.sub(lambda m: m[0] if m[0] in keep else
                        f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else f"\\u{ord(m[0]):04x}", text)
    return escape(text)


err = _console(True)
out = _console(False)


class ProgressReporter:
    """One progress bar per file while it is parsed."""

    def __init__(self, console: Console = err):
        self.console = console

    @contextmanager
    def file(self, path, steps: int):
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f} %"),
                      TimeElapsedColumn(), console=self.console, transient=True,
                      disable=not self.console.is_terminal) as progress:
            task = progress.add_task(f"Lecture de {shown(path.name)}", total=steps)
            yield lambda *_: progress.advance(task)
        self.console.print(f"  lu : {shown(path.name)}")




def ingest_summary(result) -> Table:
    table = Table(title="Bilan du chargement", title_justify="left")
    for col in ("Fichier", "Type", "Année", "Statut", "Lignes", "Doublons fusionnés", "Bloquants",
                "Avertissements", "Infos"):
        table.add_column(col, justify="right" if col not in ("Fichier", "Type", "Statut") else "left")
    # two files of one name (from two folders) are told apart by their folder, or else their path
    names = Counter(f.path.name for f in result.files)
    in_folder = Counter(f"{f.path.parent.name}/{f.path.name}" for f in result.files)
    for f in result.files:
        c = f.counts
        label = f.path.name if names[f.path.name] == 1 else f"{f.path.parent.name}/{f.path.name}"
        if in_folder[label] > 1:
            label = str(f.path)
        if f.status == "inchangé":      # not read again: its lines and findings are those of its first load
            numbers = ["–"] * 5
        else:
            numbers = [fr_int(f.rows), fr_int(f.duplicates), fr_int(c.get("bloquant", 0)),
                       fr_int(c.get("avertissement", 0)), fr_int(c.get("info", 0))]
        table.add_row(shown(label), f.kind or "?", str(f.year or "?"), f.status, *numbers)
    if any(f.status == "inchangé" for f in result.files):
        table.caption = "« – » : fichier inchangé, non relu ; ses lignes et constats sont ceux de son premier chargement."
        table.caption_justify = "left"
    return table
