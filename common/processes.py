"""Forked children that do not outlive their parent.

`run` forks one child per step, and ingest and report fork workers. Killed from outside (an
analyst's Ctrl-\\, a `kill`, a machine under memory pressure), a parent does not take its
children with it: they would wait forever on pipes that they themselves keep open, holding the
caller's output pipes (a script waiting for the command's end would hang) and the warehouse's
file. Each child therefore asks Linux to kill it when its parent dies, and leaves at once if
the parent is already gone.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None) -> None:
    """In a freshly forked child: SIGKILL when the forking process ends. `parent` is the pid the
    child expects as parent (default: the current one, at the time of the call)."""
    parent = os.getppid() if parent is None else parent
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):      # no prctl: the check below still covers a dead parent
            pass
    if os.getppid() != parent:                 # the parent died before the request took effect
        os._exit(1)
