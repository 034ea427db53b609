"""French formatting for everything a reader sees: 1 234 567 €, 12,5 %, 3,2 points (narrow
no-break spaces, so that a figure never wraps away from its unit)."""
from __future__ import annotations

import csv
import io
import math

from babel.numbers import format_decimal, format_percent

LOCALE = "fr_FR"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("<NA>", "nan")


def nombre(value, decimals: int = 0) -> str:
    if _missing(value):
        return "–"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(float(value), format=pattern, locale=LOCALE)


def pourcentage(value, decimals: int = 1) -> str:
    if _missing(value):
        return "–"
    return format_percent(float(value), format="#,##0" + ("." + "0" * decimals if decimals else "") + "\u202f%",
                          locale=LOCALE)


def euros(value) -> str:
    return "–" if _missing(value) else f"{nombre(value)}\u202f€"


def valeur(value, unite: str) -> str:
    """An indicator value in its unit."""
    if unite == "ratio":
        return pourcentage(value)
    if unite == "euros":
        return euros(value)
    if unite == "etp":
        return nombre(value, 1)
    return nombre(value)


def csv_cell(value) -> str:
    """A cell safe to open in a spreadsheet: text starting with = + - @ is neutralised."""
    if _missing(value):
        return ""
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(text.replace(",", "."))   # a negative number stays a number
            return text
        except ValueError:
            return "'" + text
    return text


def csv_text(header, rows) -> str:
    """A CSV for French spreadsheets: UTF-8 with BOM, ';' separator, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(c) for c in row])
    return "\ufeff" + buffer.getvalue()
