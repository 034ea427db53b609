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


@contextmanager
def phase(etape: str, nom: str):
    path = os.environ.get("OBSERVATOIRE_PROFIL")
    if not path:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        record = {"etape": etape, "phase": nom, "secondes": round(time.perf_counter() - start, 3),
                  "pic_mio": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "pid": os.getpid()}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
