"""French numbers and plurals in messages (console, findings): written once for every floor.

The site's richer formatting (units, signs, decimals chosen per indicator) lives in
reports/formatting.py and builds on these.
"""
from __future__ import annotations

import math

NNBSP = "\u202f"        # narrow no-break space: thousands separator


def fr_int(n: int) -> str:
    """1 048 576, with French narrow no-break spaces."""
    return f"{n:,}".replace(",", NNBSP)


def fr_count(n: int, one: str, many: str) -> str:
    """« 1 avertissement », « 3 avertissements », « 0 bloquant » (French takes 0 as singular)."""
    return f"{fr_int(n)} {one if n in (0, 1) else many}"


def fr_number(value) -> str:
    """1 234 567,5 — a value quoted in a message; « vide » for a missing one, oui/non for a boolean."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "vide"
    try:
        import pandas as pd
        if value is pd.NA:
            return "vide"
    except ImportError:     # pragma: no cover - pandas is a dependency
        pass
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, (int, float)):
        text = f"{value:,.2f}".rstrip("0").rstrip(".") if float(value) != int(value) else f"{int(value):,}"
        return text.replace(",", NNBSP).replace(".", ",")
    return str(value)
