"""Errors that carry a French message meant for the analyst, and clean-ups that never hide one."""
from __future__ import annotations

from contextlib import contextmanager, suppress
from typing import Callable


class ObservatoireError(Exception):
    """An expected failure: the CLI prints its message, without a traceback."""


class ExtractError(ObservatoireError):
    """The file cannot be read as an extract: it is rejected, the others still load."""


class LockedError(ObservatoireError):
    """Another run holds the warehouse."""


@contextmanager
def then(clean_up: Callable[[], object]):
    """Runs `clean_up` after the block. After a failure of the block, a failure of `clean_up` is
    dropped and the block's error is raised: inside a DuckDB transaction, a failed statement
    leaves every later one refused (« Current transaction is aborted »), and a clean-up in a plain
    `finally` would put that refusal in the place of the error that caused it."""
    try:
        yield
    except BaseException:
        with suppress(Exception):
            clean_up()
        raise
    clean_up()
