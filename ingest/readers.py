"""Read an extract file into a header and raw string rows, whatever its dialect.

Readers never drop or alter a line silently: whatever they had to repair (a line in another
encoding, a stray quote, an over-long cell, control characters, a formula without its value) is
returned as an `Issue` naming the line and, when known, the cell.
"""
from __future__ import annotations

import csv
import io
import itertools
from array import array
from collections import Counter
import re
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from common.errors import ExtractError
from common.french import fr_count, fr_int  # noqa: F401  (re-exported for ingest's modules)
from .values import fold

CANDIDATE_SEPARATORS = (";", ",", "\t")
MAX_TITLE_ROWS = 15
MAX_CELL_CHARS = 32_767            # a spreadsheet cannot hold a longer cell: beyond, it is debris
PREVIEW_CHARS = 80

BOM_UTF8 = b"\xef\xbb\xbf"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"      # Excel 97-2003 .xls
PDF_MAGIC = b"%PDF"
# Physical lines as Python's csv module counts them (universal newlines, kept untranslated).
_BYTE_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# C0 / C1 control characters other than tab and line breaks: never part of a value.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Invisible characters with no content (zero-width space, word joiner, a BOM inside the text).
_INVISIBLE = re.compile("[\u200b\u2060\ufeff]")
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "cp1252": "Windows-1252"}
SEPARATOR_NAMES = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}
_SEP_LINE = re.compile(r"^\s*sep=(.)\s*$", re.IGNORECASE)   # Excel's "sep=;" first line
# Ctrl-Z: the end-of-file mark of old DOS / Windows programs, after the last line. Not a line.
_EOF_MARK = re.compile(r"\x1a+[\r\n]*\Z")


XLSX_UNREADABLE = ("classeur XLSX illisible : le fichier n'est pas un classeur Excel valide (fichier abîmé "
                   "ou tronqué, ou autre format renommé en .xlsx) ; réenregistrez-le depuis le tableur en .xlsx "
                   "ou en .csv")


# What a workbook may hold once unzipped. A real extract's sheet is a few megabytes of XML; a
# workbook's parts compress 5 to 20 times. Beyond these bounds it is a zip bomb (a small file whose
# sheet expands to gigabytes) or far more than an extract: refused from the archive's directory,
# before a byte is inflated (zipfile stops every part at its declared size).
MAX_XLSX_UNZIPPED = 400 * 2**20
MAX_XLSX_RATIO = 100                 # for a part of more than RATIO_FROM bytes once unzipped
RATIO_FROM = 2 * 2**20
# Cells walked through in a sheet, the empty ones a row is padded with included: beyond, reading
# would take minutes and gigabytes (a national extract has about a million).
MAX_XLSX_CELLS = 20_000_000
MAX_XLSX_KEPT = 5_000_000            # cells kept in memory, up to the last filled one of each row
_MARKUP_CHUNK = 1 << 20
# Rows gathered before they are stored column by column (see `Columns`).
ROW_SLICE = 5_000


class NoHeaderError(ExtractError):
    """No header among the first rows: the file is of another kind, another separator, or no extract."""


@dataclass
class Issue:
    """Something a reader repaired at a line; `column` is the 0-based cell index when known.
    `message` is the French explanation, without the "Ligne N, colonne X :" prefix."""
    line: int | None
    column: int | None
    raw: str | None
    expected: str | None
    rule: str
    severity: str
    message: str


class Columns:
    """A table's cells, column by column, as Arrow text arrays (an empty cell is null).

    Rows come in one at a time and are stored a slice of ROW_SLICE rows at a time: a file's cells
    are never held as millions of Python objects (a Python string weighs some fifty bytes more
    than its text, and a row list eight more per cell). A column is turned back into Python
    values only when it is read, one column at a time. `width` None: the table widens to its
    longest row (a spreadsheet's cells keep their column); otherwise cells beyond it are dropped
    (a CSV line's surplus values are named by the reader)."""

    def __init__(self, width: int | None = None):
        self.fixed = width is not None
        self.width = width or 0
        self.chunks: list[list[pa.Array]] = [[] for _ in range(self.width)]
        self.rows = 0
        self._pending: list[list] = []

    def append(self, cells: list) -> None:
        if len(cells) > self.width:
            if self.fixed:
                cells = cells[:self.width]
            else:
                self.pad(len(cells))
        self._pending.append(cells)
        if len(self._pending) >= ROW_SLICE:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        width = self.width
        padded = [r if len(r) == width else r + [None] * (width - len(r)) for r in pending]
        del pending
        for j, values in enumerate(zip(*padded)):
            self.chunks[j].append(pa.array(values, type=pa.string()))
        self.rows += len(padded)

    def pad(self, width: int) -> None:
        """At least `width` columns: those added are empty on every row stored so far."""
        for _ in range(self.width, width):
            self.chunks.append([pa.nulls(self.rows, type=pa.string())] if self.rows else [])
        self.width = max(self.width, width)

    def __len__(self) -> int:
        return self.rows + len(self._pending)

    @property
    def index(self) -> pd.RangeIndex:
        return pd.RangeIndex(len(self))

    def arrow(self, j: int) -> pa.ChunkedArray:
        self.flush()
        return pa.chunked_array(self.chunks[j], type=pa.string())

    def column(self, j: int) -> pd.Series:
        """Column j as Python values: text, None for an empty cell."""
        return pd.Series(self.arrow(j).to_numpy(), dtype=object, index=self.index)

    def is_empty(self, j: int) -> np.ndarray:
        return self.arrow(j).is_null().to_numpy(zero_copy_only=False)

    def compact(self) -> None:
        """Each column in one piece: the slices' pieces of all the columns lie side by side in
        memory, and a column let go would free none of it until all the others are."""
        self.flush()
        for j in range(self.width):
            if self.chunks[j] is not None and len(self.chunks[j]) > 1:
                self.chunks[j] = [pa.concat_arrays(self.chunks[j])]
        pa.default_memory_pool().release_unused()

    def drop(self, j: int) -> None:
        """Let column j go: it is read no more."""
        self.flush()
        self.chunks[j] = None

    def keep(self, mask: np.ndarray) -> None:
        """Keep the rows where `mask` is true."""
        self.flush()
        keep = pa.array(mask, type=pa.bool_())
        for j in range(self.width):
            if self.chunks[j] is not None:
                self.chunks[j] = [self.arrow(j).filter(keep).combine_chunks()]
        self.rows = int(mask.sum())


@dataclass
class RawTable:
    header: list[str]
    cells: Columns                   # the rows under the header, column by column
    line_numbers: np.ndarray         # first line (CSV) or row (XLSX) of each row, 1-based
    lengths: np.ndarray              # each row's number of fields (values, empty ones included)
    header_line: int
    encoding: str = ""
    separator: str = ""
    blank_lines: int = 0
    issues: list[Issue] = field(default_factory=list)
    counted_fields: bool = False     # CSV: a row's number of fields is meaningful
    header_fields: int = 0           # fields of the header line, trailing empty ones included
    # CSV: (line, number of values, the values beyond the header's columns) of each row holding some
    overflow: list[tuple[int, int, str]] = field(default_factory=list)


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({fr_int(len(text))} caractères)"


# ------------------------------------------------------------------ bytes -> text
def _cp1252(line: bytes) -> str:
    try:
        return line.decode("cp1252")
    except UnicodeDecodeError:      # the five bytes cp1252 leaves undefined
        return line.decode("latin-1")


def decode_lines(data: bytes) -> tuple[str, str, list[int]]:
    """(text, encoding, lines in the minority encoding): see `split_lines`."""
    lines, encoding, foreign = split_lines(data)
    return "".join(lines), encoding, foreign


def split_lines(data: bytes) -> tuple[list[str], str, list[int]]:
    """(physical lines, encoding, lines in the minority encoding).

    UTF-8 (with or without BOM) when every line is; otherwise line by line: a line that is valid
    UTF-8 is UTF-8, the others Windows-1252. A file wholly in Windows-1252 is a normal case; in a
    file that mixes both, the lines of the minority encoding are returned for a finding each.
    Lines are split on the bytes and decoded one at a time (a line break is one ASCII byte in
    both encodings), so that the file is never held twice more as one text: memory stays about
    the size of the file and its lines.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _physical_lines(data.decode("utf-16")), "utf-16", []
        except UnicodeDecodeError as exc:
            raise ExtractError("fichier en UTF-16 abîmé : réenregistrez-le en CSV UTF-8") from exc
    if b"\x00" in data[:4000] and (endian := _utf16_without_bom(data)):
        return _physical_lines(data.decode(endian, errors="replace")), endian, []
    start, label = (3, "utf-8-sig") if data.startswith(BOM_UTF8) else (0, "utf-8")
    texts: list[str] = []
    utf8, other = [], []
    for number, m in enumerate(_BYTE_LINES.finditer(data, start), start=1):
        line = m[0]
        if line.isascii():
            texts.append(line.decode("ascii"))
            continue
        try:
            texts.append(line.decode("utf-8"))
            utf8.append(number)
        except UnicodeDecodeError:
            texts.append(_cp1252(line))
            other.append(number)
    if not other:
        return texts, label, []
    if not utf8:
        return texts, "cp1252", []
    if len(utf8) >= len(other):
        return texts, f"{label}+cp1252", other
    return texts, "cp1252+utf-8", utf8


class Lines:
    """A CSV's physical lines (those of `split_lines`, in the same encodings), decoded one at a
    time when read: the file is held once, as its bytes, never as a list of decoded lines (which
    weighs twice the file or more: a line with one accented letter takes two bytes a character).
    Once `clean_with` is called, a line is read without its invisible characters and control
    characters, the latter named in a finding (once per line, however often the line is read)."""

    def __init__(self, data: bytes, start: int = 0):
        self.data = data
        bounds = array("q", (m.start() for m in _BYTE_LINES.finditer(data, start)))
        bounds.append(len(data))
        self.bounds = bounds
        self.n = len(bounds) - 1          # lines read from the bytes; then `tail`, as text
        self.tail: list[str] = []
        self.cleaning: tuple[str, list[Issue]] | None = None
        self.cleaned: set[int] = set()

    def __len__(self) -> int:
        return self.n + len(self.tail)

    def __getitem__(self, key):
        if isinstance(key, slice):
            return [self[i] for i in range(*key.indices(len(self)))]
        if key < 0:
            key += len(self)
        if not 0 <= key < len(self):
            raise IndexError(key)
        if key >= self.n:
            line = self.tail[key - self.n]
        else:
            raw = self.data[self.bounds[key]:self.bounds[key + 1]]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                line = _cp1252(raw)
        if self.cleaning is not None and (_INVISIBLE.search(line) or _CONTROL.search(line)):
            line = _clean_line(key + 1, line, *self.cleaning, report=key not in self.cleaned)
            self.cleaned.add(key)
        return line

    def __iter__(self) -> Iterator[str]:
        return self.iter_from(0)

    def iter_from(self, first: int) -> Iterator[str]:
        return (self[i] for i in range(first, len(self)))

    def longer_than(self, i: int, chars: int) -> bool:
        """Whether line i has more than `chars` characters (its bytes are never fewer)."""
        if i < self.n and self.bounds[i + 1] - self.bounds[i] <= chars:
            return False
        return len(self[i]) > chars

    def replace_tail(self, count: int, lines: list[str]) -> None:
        """The last `count` lines become `lines`."""
        count = min(count, len(self))
        kept = self.tail[:max(len(self.tail) - count, 0)]
        self.n -= max(count - len(self.tail), 0)
        self.tail = kept + lines

    def clean_with(self, sep: str, issues: list[Issue]) -> None:
        self.cleaning = (sep, issues)


def lazy_lines(data: bytes) -> tuple[Lines, str, list[int]]:
    """`split_lines`, the lines decoded only when read (see `Lines`)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or (b"\x00" in data[:4000] and _utf16_without_bom(data)):
        lines, encoding, foreign = split_lines(data)     # UTF-16 (rare): its text, as UTF-8 bytes
        return Lines("".join(lines).encode("utf-8")), encoding, foreign
    start, label = (3, "utf-8-sig") if data.startswith(BOM_UTF8) else (0, "utf-8")
    utf8, other = [], []
    for number, m in enumerate(_BYTE_LINES.finditer(data, start), start=1):
        line = m[0]
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8.append(number)
        except UnicodeDecodeError:
            other.append(number)
    lines = Lines(data, start)
    if not other:
        return lines, label, []
    if not utf8:
        return lines, "cp1252", []
    if len(utf8) >= len(other):
        return lines, f"{label}+cp1252", other
    return lines, "cp1252+utf-8", utf8


def _physical_lines(text: str) -> list[str]:
    """Lines as Python's csv module counts them (universal newlines, kept untranslated)."""
    return io.StringIO(text, newline="").readlines()


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without BOM) first, Windows-1252 otherwise (line by line when mixed)."""
    text, encoding, _ = decode_lines(data)
    return text, encoding


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without BOM (Excel's "Unicode text" is little-endian): every other byte of ASCII
    text is NUL, the second of each pair (little-endian) or the first (big-endian)."""
    sample = data[:4000]
    if len(sample) < 8:
        return None
    for endian, zeros in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
        if zeros.count(0) > 0.9 * (len(sample) // 2):
            return endian
    return None


def sniff_separator(text: str) -> str:
    """The separator that splits the most of the first lines into the same number (2 or more) of fields."""
    sample = [line for line in io.StringIO(text[:200_000], newline="").readlines()[:40] if line.strip()]
    if sample and (m := _SEP_LINE.match(sample[0])):
        return m[1]
    best, best_score = ";", (0, 0)
    with _no_field_limit():
        for sep in CANDIDATE_SEPARATORS:
            # line by line: a stray quote must not let one line swallow the others
            counts = Counter(len(next(csv.reader([line], delimiter=sep), [])) for line in sample)
            score = max(((n, width) for width, n in counts.items() if width >= 2), default=(0, 0))
            if score > best_score:
                best, best_score = sep, score
    return best


@contextmanager
def _no_field_limit():
    """csv raises on a field over 128 KiB; cells are bounded by MAX_CELL_CHARS afterwards."""
    previous = csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def check_content(data: bytes) -> str:
    """'xlsx' or 'csv' by what the bytes are, whatever the file is called; rejects the rest."""
    if not data or data.isspace():
        raise ExtractError("le fichier est vide")
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if data.startswith(OLE_MAGIC):
        raise ExtractError("classeur Excel 97-2003 (.xls) : ouvrez-le dans le tableur et enregistrez-le "
                           "en .xlsx ou en .csv")
    if data.startswith(PDF_MAGIC):
        raise ExtractError("ce fichier est un document PDF, pas un extrait : demandez l'export CSV ou XLSX")
    return "csv"


# ------------------------------------------------------------------ CSV
def _tolerant_split(body: str, sep: str) -> tuple[list[str], int | None, str, bool]:
    """Split one line, a quote opening a field only if it is closed within the line. Returns
    (cells, first cell with a stray quote, that cell as written, whether its quote was an
    unclosed opening one, then dropped)."""
    s = re.escape(sep)
    pattern = re.compile(f'"((?:[^"]|"")*)"[ \\t]*(?={s}|$)|([^{s}]*)')
    cells: list[str] = []
    stray, written, unclosed, pos = None, "", False, 0
    while True:
        m = pattern.match(body, pos)
        if m[1] is not None:
            cell = m[1].replace('""', '"')
        else:
            cell = m[2]
            if '"' in cell and stray is None:
                stray, written = len(cells), cell
                if cell.lstrip().startswith('"') and cell.count('"') % 2 == 1:
                    cell, unclosed = cell.replace('"', "", 1), True
        cells.append(cell)
        pos = m.end()
        if pos >= len(body):
            break
        pos += 1                      # the separator
    return cells, stray, written, unclosed


def _swallowed(cells: list[str], sep: str, width: int | None, header_fields: int) -> bool:
    """A record spanning several lines that is no multi-line cell but lines eaten by a stray quote:
    a wrong number of fields, or a cell holding line breaks and a whole line's worth of separators."""
    if width is None:
        return any(sep in c for c in cells if "\n" in c or "\r" in c)
    if len(cells) not in (width, header_fields):
        return True
    return any(c.count(sep) >= max(width - 1, 1) for c in cells if "\n" in c or "\r" in c)


def _csv_records(lines: Lines, sep: str, is_header, issues: list[Issue]) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of every record, as they are read. Strict csv parsing; a record that a
    quote breaks or stretches over the lines that follow is re-read from its first line, on its own."""
    width = header_fields = None
    start = count = 0

    def keep(cells: list[str], end: int) -> tuple[int, list[str]]:
        nonlocal width, header_fields, count
        count += 1
        if width is None and count <= MAX_TITLE_ROWS and is_header(cells):
            width, header_fields = len(_trim_header(cells)), len(cells)
        return start + 1, cells

    with _no_field_limit():
        while start < len(lines):
            # the reader counts the physical lines it has taken (line_num): from `base`, the
            # position of the next line to read
            base = start
            reader = csv.reader(lines.iter_from(base), delimiter=sep, strict=True)
            try:
                for cells in reader:
                    end = base + reader.line_num
                    if end - start > 1 and _swallowed(cells, sep, width, header_fields):
                        break
                    if end - start > 1 or lines.longer_than(start, MAX_CELL_CHARS):
                        _bound_cells(cells, start + 1, issues)
                    record = keep(cells, end)
                    start = end
                    yield record
                else:
                    break
            except csv.Error:
                pass
            cells, stray, written, unclosed = _tolerant_split(lines[start].rstrip("\r\n"), sep)
            _bound_cells(cells, start + 1, issues)
            eaten = base + reader.line_num - start - 1
            if issue := _quote_issue(start + 1, stray, written, unclosed, eaten=eaten):
                issues.append(issue)
            record = keep(cells, start + 1)
            start += 1
            yield record


def _quote_issue(line: int, stray: int | None, written: str, unclosed: bool, eaten: int) -> Issue | None:
    check = " Vérifiez la valeur dans le fichier d'origine."
    if stray is None and eaten == 0:      # e.g. a space after a closing quote: read without doubt
        return None
    if stray is None:
        return Issue(line, None, None, None, "ligne_mal_formee", "avertissement",
                     "ligne mal formée (guillemets) : relue seule, sans les lignes qui la suivent." + check)
    if unclosed:
        return Issue(line, stray, preview(written), "des guillemets qui s'ouvrent et se ferment dans la cellule",
                     "guillemet_non_ferme", "avertissement",
                     "guillemet ouvert et jamais fermé : le guillemet est ignoré et la ligne lue seule"
                     + (" (sans cela, la ligne suivante aurait disparu dans cette cellule)" if eaten == 1 else
                        f" (sans cela, les {fr_int(eaten)} lignes suivantes auraient disparu dans cette cellule)"
                        if eaten > 1 else "") + "." + check)
    return Issue(line, stray, preview(written), "des guillemets qui s'ouvrent et se ferment dans la cellule",
                 "guillemets_mal_places", "avertissement",
                 "guillemets mal placés (du texte suit le guillemet fermant) : la cellule est gardée telle "
                 "qu'écrite, guillemets compris." + check)


def _bound_cells(cells: list, line: int, issues: list[Issue]) -> None:
    for i, cell in enumerate(cells):
        if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
            issues.append(Issue(line, i, preview(cell), f"au plus {fr_int(MAX_CELL_CHARS)} caractères",
                                "cellule_trop_longue", "avertissement",
                                f"cellule de {fr_int(len(cell))} caractères, plus qu'un tableur n'en admet : "
                                "vidée (débris d'un export ou d'un copier-coller ?). Vérifiez la valeur dans le "
                                "fichier d'origine."))
            cells[i] = ""


def _clean_line(number: int, line: str, sep: str, issues: list[Issue], report: bool = True) -> str:
    """Invisible characters go silently; control characters go with a finding (when `report`),
    naming the cell of the first one (counted by separators: a quoted separator may shift it)."""
    if _INVISIBLE.search(line):
        line = _INVISIBLE.sub("", line)
    if m := _CONTROL.search(line):
        found = sorted({f"U+{ord(c):04X}" for c in _CONTROL.findall(line)})
        column = line[:m.start()].count(sep)
        line = _CONTROL.sub("", line)
        if report:
            issues.append(Issue(number, column, ", ".join(found), "du texte", "caracteres_de_controle",
                                "avertissement",
                                ("caractère de contrôle ({}) retiré" if len(found) == 1 else
                                 "caractères de contrôle ({}) retirés").format(", ".join(found))
                                + " : octets parasites, ou fichier abîmé. Vérifiez cette ligne dans le fichier "
                                "d'origine."))
    return line


def _drop_eof_mark(lines: Lines) -> None:
    """Ctrl-Z after the last line (and the line breaks after it) is no line."""
    tail = "".join(lines[-50:])
    if "\x1a" in tail and (m := _EOF_MARK.search(tail)):
        lines.replace_tail(50, _physical_lines(tail[:m.start()]))


def read_csv(path: Path, data: bytes, is_header) -> RawTable:
    try:
        return _read_csv(data, is_header)
    except NoHeaderError as exc:
        separator = sniff_separator("".join(itertools.islice(split_lines(data[:400_000])[0], 40)))
        raise NoHeaderError(f"{exc} (séparateur compris : {SEPARATOR_NAMES.get(separator, separator)} ; "
                            "attendus : point-virgule, virgule ou tabulation)") from None


def _read_csv(data: bytes, is_header) -> RawTable:
    lines, encoding, foreign = lazy_lines(data)
    _drop_eof_mark(lines)
    sample = "".join(itertools.islice(lines, 2000))[:65536]
    if sample and len(_CONTROL.findall(sample)) > 0.05 * len(sample):
        raise ExtractError("le fichier ne contient pas du texte (fichier binaire renommé en .csv ?) : "
                           "demandez l'export CSV ou XLSX de l'extrait")
    issues: list[Issue] = []
    separator = sniff_separator("".join(lines[:40]))
    lines.clean_with(separator, issues)
    # a line in the minority encoding is named with its first foreign word
    foreign_lines = set(foreign)
    foreign_cells: dict[int, tuple] = {}

    def noting_foreign(records):
        """The first cell with a non-ASCII character of each record starting on a foreign line, as
        written (a title or the header) and as read under the header (a blank cell is empty)."""
        for line, cells in records:
            if line in foreign_lines:
                written = next((i for i, c in enumerate(cells) if c and not c.isascii()), None)
                read = next((i for i, c in enumerate(cells) if c and not c.isascii() and not c.isspace()), None)
                foreign_cells[line] = tuple((i, None if i is None else cells[i]) for i in (written, read))
            yield line, cells

    table = _to_table(noting_foreign(_csv_records(lines, separator, is_header, issues)), is_header, counted=True)
    table.encoding, table.separator = encoding, separator
    first_data_line = table.header_line + 1
    if foreign:
        main, other = (ENCODING_NAMES[e] for e in encoding.split("+"))
        for line in foreign:
            written, read = foreign_cells.get(line, ((None, None), (None, None)))
            column, word = read if line >= first_data_line else written
            if column is None:
                word = next((w for w in lines[line - 1].split() if not w.isascii()), "")
            issues.append(Issue(line, column if line >= first_data_line else None, preview(word),
                                f"un texte en {main}", "encodage_mixte", "avertissement",
                                f"ligne écrite dans un autre encodage que le reste du fichier ({main}), lue en "
                                f"{other} (« {preview(word, 40)} ») : vérifiez les accents de cette ligne."))
    table.issues = sorted(issues + table.issues, key=lambda i: i.line or 0)
    return table


# ------------------------------------------------------------------ XLSX
def _cell_to_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):     # as the spreadsheet shows it: 15 significant digits at most
        value = float(f"{value:.15g}")   # (22.999999999999996, a formula's binary noise, is 23)
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value)
    return _INVISIBLE.sub("", text) if _INVISIBLE.search(text) else text


def _is_formula(value) -> bool:
    return (isinstance(value, str) and value.startswith("=")) or type(value).__name__ in (
        "ArrayFormula", "DataTableFormula")


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE_TAG = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def check_archive(data: bytes) -> None:
    """Refuse a workbook whose parts, once unzipped, would be far larger than an extract's, or
    compressed far more than a spreadsheet's are (a zip bomb), from the sizes its archive declares."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ExtractError(f"{XLSX_UNREADABLE} (détail technique : {type(exc).__name__})") from exc
    for part in parts:
        if part.file_size > RATIO_FROM and part.file_size > MAX_XLSX_RATIO * max(part.compress_size, 1):
            raise ExtractError(
                f"classeur anormalement compressé : une de ses parties passe de {fr_int(part.compress_size // 1024)} Kio "
                f"à {fr_int(part.file_size // 2**20)} Mio une fois décompressée (plus de {fr_int(MAX_XLSX_RATIO)} fois, "
                "ce qu'aucun tableur ne produit : « bombe de décompression » ?). Le fichier n'est pas lu ; "
                "réenregistrez l'extrait depuis le tableur ou demandez l'export CSV.")
    total = sum(p.file_size for p in parts)
    if total > MAX_XLSX_UNZIPPED:
        raise ExtractError(f"classeur trop volumineux une fois décompressé ({fr_int(total // 2**20)} Mio, au plus "
                           f"{fr_int(MAX_XLSX_UNZIPPED // 2**20)} Mio) : bien plus qu'un extrait. Vérifiez qu'il "
                           "s'agit du bon fichier ; s'il l'est, enregistrez-le en CSV depuis le tableur.")


def _too_many_cells(bound: int = MAX_XLSX_CELLS) -> ExtractError:
    return ExtractError(f"classeur trop grand : plus de {fr_int(bound)} cellules à parcourir (lignes ou "
                        "colonnes étendues jusqu'aux limites du tableur ?), bien plus qu'un extrait. Supprimez les lignes "
                        "et colonnes vides sous et à droite du tableau, ou enregistrez-le en CSV, puis rechargez.")


def _bounded_rows(sheet, **kwargs):
    """A read-only sheet's rows (tuples of values), its declared size ignored (a dimension of
    A1:XFD1048576 would pad every row to 16 384 cells and add a million rows), the cells walked
    through bounded by MAX_XLSX_CELLS."""
    sheet.reset_dimensions()
    seen = 0
    for row in sheet.iter_rows(values_only=True, **kwargs):
        seen += len(row) or 1
        if seen > MAX_XLSX_CELLS:
            raise _too_many_cells()
        yield row


def _sheet_markup(data: bytes, sheet_path: str | None) -> tuple[bool, list[str]]:
    """(whether the sheet holds formulas, its merged ranges), from the sheet's XML: openpyxl's
    read-only mode, which keeps memory low on large workbooks, gives neither. The XML is read
    in chunks (a tag cut between two is found in the overlap)."""
    formulas, merged = False, []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = [sheet_path] if sheet_path in archive.namelist() else [
            n for n in archive.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        for name in names:
            with archive.open(name) as part:
                tail = b""
                while chunk := part.read(_MARKUP_CHUNK):
                    text = tail + chunk
                    formulas = formulas or bool(_FORMULA_TAG.search(text))
                    last = 0
                    for m in _MERGE_TAG.finditer(text):
                        merged.append(m[1].decode())
                        last = m.end()
                    tail = text[max(last, len(text) - 256):]
    return formulas, merged


def _formulas_without_value(data: bytes, records, sheet_index: int) -> list[Issue]:
    """Formula cells whose cached value is missing (a file written by a program that does not
    compute formulas): data_only gives None for them. A second read, formulas as text."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    values = {row: cells for row, cells in records}
    issues = []
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        for row, cells in enumerate(_bounded_rows(workbook.worksheets[sheet_index]), start=1):
            read = values.get(row, [])
            for col, value in enumerate(cells):
                if _is_formula(value) and (col >= len(read) or read[col] is None):
                    formula = value if isinstance(value, str) else getattr(value, "text", "") or "formule"
                    issues.append(Issue(
                        row, col, preview(str(formula)), "une valeur", "formule_sans_valeur", "avertissement",
                        f"la cellule {get_column_letter(col + 1)}{row} contient la formule « {preview(str(formula), 60)} » "
                        "sans sa valeur calculée (classeur produit par un programme qui ne calcule pas les "
                        "formules) : cellule laissée vide. Ouvrez le classeur dans un tableur, enregistrez-le, "
                        "puis rechargez-le."))
    finally:
        workbook.close()
    return issues


def _table_sheet(workbook, is_header) -> tuple[int, list[Issue]]:
    """The sheet holding the table: the first whose first rows hold a header (a « Lisez-moi »
    sheet may come first). Two sheets holding one are ambiguous (respondents and the others,
    last year's and this year's): the file is rejected rather than half read."""
    found = [i for i, sheet in enumerate(workbook.worksheets)
             if any(is_header(row) for row in _bounded_rows(sheet, max_row=MAX_TITLE_ROWS))]
    if len(found) > 1:
        names = ", ".join(f"« {workbook.worksheets[i].title} »" for i in found)
        raise ExtractError(f"plusieurs feuilles du classeur contiennent un tableau d'extrait ({names}) : une seule "
                           "serait lue et les lignes des autres perdues. Réunissez les lignes dans une seule feuille, "
                           "ou supprimez les feuilles en trop, puis rechargez le fichier.")
    if not found or found[0] == 0:
        return 0, []
    sheet = workbook.worksheets[found[0]]
    return found[0], [Issue(None, None, sheet.title, "le tableau dans la première feuille", "feuille_lue", "info",
                            f"la première feuille ne contient pas le tableau : lu dans la feuille « {sheet.title} ».")]


def _without_empty_tail(cells: list) -> list:
    while cells and (cells[-1] is None or (isinstance(cells[-1], str) and not cells[-1].strip())):
        cells.pop()
    return cells


def _fill_merged(records, ranges: list[str], header_line: int, width: int, issues: list[Issue]) -> None:
    """A merged cell of the data shows its value on each row it spans; openpyxl gives it to the
    first cell only. Read as the spreadsheet shows it, each filled cell with a finding, within the
    table: the header's columns, down to its last row holding a value of its own (a merge over a
    whole row or column, E10:XFD10 or E10:E1048576, would otherwise make thousands of columns or
    a million rows of one repeated value)."""
    from openpyxl.utils.cell import range_boundaries

    by_row = {row: cells for row, cells in records}
    last_data_row = max((row for row, cells in records if any(c is not None and str(c).strip() for c in cells)),
                        default=0)
    for ref in ranges:
        first_col, first_row, last_col, last_row = range_boundaries(ref)
        last_col, last_row = min(last_col, width), min(last_row, last_data_row)
        top = by_row.get(first_row)
        value = top[first_col - 1] if top and first_col - 1 < len(top) else None
        if first_row <= header_line or value is None or (isinstance(value, str) and not value.strip()):
            continue
        for row in range(first_row, last_row + 1):
            cells = by_row.get(row)
            if cells is None:
                continue
            for col in range(first_col - 1, last_col):
                if (row, col) == (first_row, first_col - 1):
                    continue
                cells.extend([None] * (col + 1 - len(cells)))
                cells[col] = value
                issues.append(Issue(row, col, preview(value), None, "cellule_fusionnee", "avertissement",
                                    f"cellule fusionnée ({ref}) : la valeur « {preview(value, 40)} » de sa première "
                                    f"ligne ({first_row}) est reprise ici, comme le tableur l'affiche. Vérifiez qu'elle "
                                    "vaut bien pour cette ligne, sinon défusionnez les cellules et rechargez le fichier."))


def read_xlsx(data: bytes, is_header) -> RawTable:
    """The sheet of a workbook that holds the table (read from its bytes: openpyxl would refuse
    a .csv name), as the spreadsheet shows it."""
    import openpyxl  # local import: only XLSX files pay for it

    check_archive(data)
    issues: list[Issue] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # openpyxl warns (in English) about odd cells
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                index, issues = _table_sheet(workbook, is_header)
                sheet = workbook.worksheets[index]
                sheet_path = getattr(sheet, "_worksheet_path", None)
                # rows come padded to the sheet's declared width (A1:XFD5 after a merge across a
                # whole row: 16 384 cells each); the empty cells at their end are dropped, as in a CSV
                records, kept = [], 0
                for i, row in enumerate(_bounded_rows(sheet), start=1):
                    cells = _without_empty_tail([_cell_to_text(v) for v in _without_empty_tail(list(row))])
                    kept += len(cells)
                    if kept > MAX_XLSX_KEPT:
                        raise _too_many_cells(MAX_XLSX_KEPT)
                    records.append((i, cells))
            finally:
                workbook.close()
            formulas, merged = _sheet_markup(data, sheet_path)
            if formulas:
                issues.extend(_formulas_without_value(data, records, index))
    except ExtractError:
        raise
    except Exception as exc:  # openpyxl, zipfile and the XML parser raise many types for broken files
        raise ExtractError(f"{XLSX_UNREADABLE} (détail technique : {type(exc).__name__})") from exc
    for row, cells in records:
        _bound_cells(cells, row, issues)
    if merged:
        header = _find_header(records, is_header)
        if header is not None:
            _fill_merged(records, merged, records[header][0], len(_trim_header(records[header][1])), issues)
    table = _to_table(records, is_header, counted=False)
    table.encoding, table.separator = "xlsx", ""
    table.issues = issues + table.issues
    return table


# ------------------------------------------------------------------ both
def _trim_header(record) -> list[str]:
    header = [(str(h) if h is not None else "").strip() for h in record]
    while header and not header[-1]:
        header.pop()
    return header


def _find_header(records: list[tuple[int, list]], is_header) -> int | None:
    """Index of the header record, below any title rows."""
    return next((i for i, (_, record) in enumerate(records[:MAX_TITLE_ROWS]) if is_header(record)), None)


def _to_table(records: Iterable[tuple[int, list]], is_header, counted: bool) -> RawTable:
    """Find the header below any title rows, then keep the non-blank rows under it, as they come
    (stored column by column: see `Columns`). The same header repeated further down (two exports
    put end to end) is skipped, with an `info`; another header there would give its rows the wrong
    columns: the file is rejected. `counted` (a CSV): a row's number of values is kept, and the
    values beyond the header's columns are named by line."""
    records = iter(records)
    head: list[tuple[int, list]] = []
    for record in records:
        head.append(record)
        if len(head) >= MAX_TITLE_ROWS or is_header(record[1]):
            break
    header_index = _find_header(head, is_header)
    if header_index is None:
        first = next((r for _, r in itertools.chain(head, records)
                      if any(c is not None and str(c).strip() for c in r)), [])
        shown = "|".join("" if c is None else str(c).strip() for c in first).rstrip("|")
        # The first line is quoted only when it names a column of an extract (a header under the
        # wrong separator): the first line of a foreign file (a password file…) is never repeated.
        knows = getattr(is_header, "knows", None)
        words = [w for w in re.split(r"[^\w]+", shown) if w]
        quoted = knows is not None and any(knows(w) for w in words)
        raise NoHeaderError(
            "aucune ligne d'en-tête reconnue dans les "
            f"{MAX_TITLE_ROWS} premières lignes (colonnes attendues : "
            f"{getattr(is_header, 'expected', 'annee_enquete, code_structure')}…) ; "
            + (f"première ligne lue : « {preview(shown)} »" if quoted else
               "aucune colonne d'extrait n'y figure : est-ce bien un extrait SENACS ou un journal d'activités ?"))
    header_line, raw_header = head[header_index]
    header = _trim_header(raw_header)
    folded = [fold(h) for h in header]
    names = set(folded) - {""}
    width = len(header)
    cells_store = Columns(width if counted else None)
    lines, lengths, overflow = array("q"), array("q"), []
    blanks, issues = 0, []
    for line, record in itertools.chain(head[header_index + 1:], records):
        record[:] = [c if c and not c.isspace() else None for c in record]    # cells are text or None
        cells = record
        if cells.count(None) == len(cells):
            blanks += 1
            continue
        first = next(c for c in cells if c is not None)
        if isinstance(first, str) and not first[0].isdigit() and fold(first) in names and is_header(cells):
            if [fold(h) for h in _trim_header(cells)] != folded:
                raise ExtractError(
                    f"deux en-têtes différents, lignes {header_line} et {line} (deux exports mis bout à bout ?) : "
                    f"les lignes sous le second seraient lues avec les colonnes du premier. Séparez-les en deux "
                    "fichiers, ou remettez les colonnes dans le même ordre, puis rechargez.")
            issues.append(Issue(line, None, None, None, "entete_repete", "info",
                                f"en-tête répété (celui de la ligne {header_line} : deux exports mis bout à bout ?) : "
                                "ligne ignorée, les lignes qui suivent sont lues."))
            continue
        if counted and len(cells) > width and any(c is not None for c in cells[width:]):
            overflow.append((line, len(cells), " | ".join(str(c) for c in cells[width:] if c is not None)[:200]))
        cells_store.append(cells)
        lines.append(line)
        lengths.append(len(cells))
    del head
    if not lines:
        raise ExtractError(f"aucune ligne de données sous l'en-tête (ligne {header_line}) : fichier tronqué "
                           "ou export incomplet ? L'année reste telle qu'elle était chargée.")
    cells_store.compact()
    return RawTable(header=header, cells=cells_store, line_numbers=np.frombuffer(lines, dtype=np.int64),
                    lengths=np.frombuffer(lengths, dtype=np.int64), header_line=header_line,
                    blank_lines=blanks, issues=issues, header_fields=len(raw_header), counted_fields=counted,
                    overflow=overflow)
