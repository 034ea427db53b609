"""Phase timings for the benchmark (.ci/benchmark.py).

When the environment variable OBSERVATOIRE_PROFIL names a file, every phase of a step appends
one JSON line to it: the step, the phase, its duration, and the process's peak memory once the
phase is over. Without the variable, `phase` costs nothing.
"""
from __future__ import annotations

import json
import os
import resource
import time
from contextlib import contextmanager


def _record(etape: str, nom: str, seconds: float) -> None:
    path = os.environ.get("OBSERVATOIRE_PROFIL")
    if not path:
        return
    record = {"etape": etape, "phase": nom, "secondes": round(seconds, 3),
              "pic_mio": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "pid": os.getpid(),
              "fin": round(time.time(), 3)}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")


@contextmanager
def phase(etape: str, nom: str):
    """Times the block as one phase of the step."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _record(etape, nom, time.perf_counter() - start)


class Chrono:
    """Times consecutive phases of a step: each `tour(nom)` closes the phase begun at the
    previous one (or at creation)."""

    def __init__(self, etape: str):
        self.etape, self.start = etape, time.perf_counter()

    def tour(self, nom: str) -> None:
        now = time.perf_counter()
        _record(self.etape, nom, now - self.start)
        self.start = now
