"""Read an extract file into a header and raw string rows, whatever its dialect."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from .errors import ExtractError

CANDIDATE_SEPARATORS = (";", ",", "\t")
MAX_TITLE_ROWS = 15


@dataclass
class RawTable:
    header: list[str]
    rows: list[list[str | None]]
    line_numbers: list[int]          # line (CSV) or row (XLSX) number of each row, 1-based
    header_line: int
    encoding: str = ""
    separator: str = ""
    blank_lines: int = 0
    notes: list[str] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) first, Windows-1252 otherwise."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def sniff_separator(text: str) -> str:
    """The separator that splits the first lines into the most, and most regular, fields."""
    sample = [line for line in text.splitlines()[:40] if line.strip()]
    best, best_score = ";", (-1, -1)
    for sep in CANDIDATE_SEPARATORS:
        counts = [len(r) for r in csv.reader(sample, delimiter=sep)]
        if not counts:
            continue
        widest = max(counts)
        if widest < 2:
            continue
        regular = sum(1 for c in counts if c == widest)
        score = (regular, widest)
        if score > best_score:
            best, best_score = sep, score
    return best


def read_csv(path: Path, data: bytes, is_header) -> RawTable:
    text, encoding = decode(data)
    separator = sniff_separator(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    records: list[tuple[int, list[str]]] = []
    try:
        for record in reader:
            records.append((reader.line_num, record))
    except csv.Error as exc:
        raise ExtractError(f"fichier CSV illisible près de la ligne {reader.line_num} : {exc}") from exc
    table = _to_table(records, is_header)
    table.encoding, table.separator = encoding, separator
    return table


def _cell_to_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def read_xlsx(path: Path, is_header) -> RawTable:
    import openpyxl  # local import: only XLSX files pay for it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise ExtractError("classeur XLSX illisible : le fichier n'est pas un classeur Excel valide "
                           "(fichier abîmé, ou autre format renommé en .xlsx) ; réenregistrez-le depuis "
                           f"le tableur en .xlsx ou en .csv (détail technique : {type(exc).__name__})") from exc
    try:
        sheet = workbook.worksheets[0]
        records = [(i, [_cell_to_text(v) for v in row])
                   for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        workbook.close()
    table = _to_table(records, is_header)
    table.encoding, table.separator = "xlsx", ""
    return table


def _to_table(records: list[tuple[int, list]], is_header) -> RawTable:
    """Find the header below any title rows, then keep the non-blank rows under it."""
    header_index = None
    for i, (_, record) in enumerate(records[:MAX_TITLE_ROWS]):
        if is_header(record):
            header_index = i
            break
    if header_index is None:
        raise ExtractError(
            "aucune ligne d'en-tête reconnue dans les "
            f"{MAX_TITLE_ROWS} premières lignes (colonnes attendues : annee_enquete, code_structure…)")
    header_line, header = records[header_index]
    header = [(h or "").strip() for h in header]
    while header and not header[-1]:
        header.pop()
    rows, lines, blanks = [], [], 0
    for line, record in records[header_index + 1:]:
        cells = [None if c is None or (isinstance(c, str) and not c.strip()) else c for c in record]
        if all(c is None for c in cells):
            blanks += 1
            continue
        rows.append(cells)
        lines.append(line)
    return RawTable(header=header, rows=rows, line_numbers=lines, header_line=header_line,
                    blank_lines=blanks)
