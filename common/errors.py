"""Errors that carry a French message meant for the analyst."""


class ObservatoireError(Exception):
    """An expected failure: the CLI prints its message, without a traceback."""


class ExtractError(ObservatoireError):
    """The file cannot be read as an extract: it is rejected, the others still load."""


class LockedError(ObservatoireError):
    """Another run holds the warehouse."""
