"""Vectorised parsers for the cell values found in real extracts.

Every parser takes a pandas Series of raw strings (or None) and returns
``(parsed, failed)``: the typed Series, and a boolean mask of the cells that held
something that could not be read. Empty cells and "no answer" spellings are NULL
and never count as failures.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa

# "No answer" spellings (compared after strip + lower-case).
NA_TOKENS = frozenset({"", "nc", "n.c.", "nr", "n.r.", "n/a", "na", "-", "\u2013", "\u2014", "?", "ne sait pas", "nsp",
                       "non renseigné", "non renseigne", "non communiqué", "non communique", "non disponible",
                       "nd", "n.d.", "sans objet", "so", "s.o.", "s/o"})
TRUE_TOKENS = frozenset({"oui", "o", "1", "vrai", "yes", "y", "true", "x"})
FALSE_TOKENS = frozenset({"non", "n", "0", "faux", "no", "false"})
# What a spreadsheet writes in a cell whose formula failed: never a value.
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!"})

# plain pattern strings (not compiled): pandas hands them to pyarrow's vectorised engine, unless
# they hold what RE2 reads differently from Python (\s among others: pandas then falls back to
# Python, cell by cell). So the spaces are spelled out: every character Python's \s matches
# (str.isspace), the no-break and narrow no-break spaces among them.
_WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())     # the last one is U+3000
_SPACES = f"[{_WHITESPACE}]+"
# a unit typed after the number: euros, a percentage, full-time equivalents (0,5 ETP)
_UNIT_SUFFIX = "(?:€|[Ee][Uu][Rr][Oo]?[Ss]?|%|[Ee][Tt][Pp])$"
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_FR_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]\d{1,2}[:h]\d{2}(?::\d{2})?)?$")
# « 31 mars 2019 », « 1er avril 2019 », « 31-mars-2019 », « 3 févr. 2019 » (matched on the folded text)
_MONTHS = {"janvier": 1, "janv": 1, "jan": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "mar": 3,
           "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9,
           "sept": 9, "sep": 9, "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12}
_WORD_DATE = re.compile(r"^(\d{1,2})(?:_?er)?_([a-z]+)_(\d{4})$")
# Excel day numbers as text: 5 digits (from 1927 on). Four digits are a year written alone
# ("2019" would otherwise be read as 11 July 1905): unreadable, with a finding.
_EXCEL_SERIAL = re.compile(r"^\d{5}(?:\.0+)?$")
_EXCEL_EPOCH = date(1899, 12, 30)
# Sanity bounds, not plausibility (that is validation's job): beyond them a cell cannot be a
# value of an extract, and letting it through would overflow BIGINT / DATE or poison a sum.
MAX_ABS_NUMBER = 1e15
FIRST_YEAR, LAST_YEAR = 1900, 2100
_CODE_STRUCTURE = re.compile(r"^[A-Z0-9-]{4,20}$")
_COMMUNE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_CORSICA_SHORT = re.compile(r"(2[AB])(\d{1,2})")     # 2B33: zeros lost inside a Corsican code
_CORSICA_OLD = re.compile(r"20(\d{3})")              # 20033: Corsica before its split in 1976
_REPAIRABLE = r"\d{4}|2[AB]\d{1,2}|20\d{3}"


def on_distinct(parser, columns: list, *args) -> list[tuple]:
    """See `iter_distinct`: the results as a list."""
    return list(iter_distinct(parser, columns, *args))


def iter_distinct(parser, columns, *args):
    """Run an elementwise parser once over the distinct values of several raw columns (Series, or
    Arrow text arrays: see `factorize`); each column gets back what `parser(column, *args)`
    returns for it alone. An extract repeats its values (oui / non, small counts, the same few
    enum spellings) across rows and columns: the parsers then see a few thousand values instead
    of millions."""
    # Each column is factorized on its own, then the union of the distinct values of a batch of
    # columns: the cells of all the columns are never copied into one array (on a large extract,
    # hundreds of megabytes). A batch holds columns while their distinct values, as Python
    # objects, are fewer than PARSE_SLICE: a large extract's counts and names, nearly all distinct,
    # are then parsed a column at a time, and its answers and codes many columns at once.
    # `columns` may be a generator: a column is taken only when the batch before it is parsed,
    # and a batch's results are given as soon as it is (the caller can let each column go).
    batch, held = [], 0
    for column in columns:
        codes, uniques = factorize(column)
        if batch and held + len(uniques) > PARSE_SLICE:
            yield from _on_batch(parser, batch, args)
            batch, held = [], 0
        index = column.index if isinstance(column, pd.Series) else pd.RangeIndex(len(column))
        batch.append((index, codes.astype(np.int32, copy=False) if len(uniques) < 2**31 else codes, uniques))
        held += len(uniques)
        del column
    if batch:
        yield from _on_batch(parser, batch, args)


def _on_batch(parser, batch: list[tuple], args) -> list[tuple]:
    """`on_distinct` over one batch of factorized columns: (index, codes, distinct values) each.
    The distinct values come in the same order as over the columns laid end to end."""
    offsets = np.cumsum([0] + [len(u) for *_, u in batch])
    union, uniques = pd.factorize(np.concatenate([u.astype(object) for *_, u in batch]))
    union = np.append(union, len(uniques))               # empty cells: one more distinct value
    results = _by_slices(parser, np.append(uniques.astype(object), None), args)
    out = []
    for (index, codes, _local), offset in zip(batch, offsets):
        take = union[np.where(codes < 0, len(union) - 1, codes + offset)]
        out.append(tuple(r if r is None else r[take] if isinstance(r, np.ndarray)
                         else r.iloc[take].set_axis(index) for r in results))
    return out


def factorize(column) -> tuple[np.ndarray, np.ndarray]:
    """(code of each cell, -1 when empty; the distinct values, as Python objects in the order they
    first appear) of a Series or of an Arrow text array (a table's raw column: its cells are then
    never turned into Python objects, only its distinct values)."""
    if isinstance(column, pd.Series):
        return pd.factorize(column.to_numpy(dtype=object))
    encoded = (column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column).dictionary_encode()
    return (encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp, copy=False),
            encoded.dictionary.to_numpy(zero_copy_only=False).astype(object))


# Distinct values parsed at a time: a large extract has millions, and each step of a parser makes
# a copy of those it is given.
PARSE_SLICE = 200_000


def _by_slices(parser, values: np.ndarray, args) -> tuple:
    """`parser` over `values`, a slice at a time (the parsers are elementwise), results joined."""
    if len(values) <= PARSE_SLICE:
        return parser(pd.Series(values, dtype=object), *args)
    parts = [parser(pd.Series(values[i:i + PARSE_SLICE], dtype=object), *args)
             for i in range(0, len(values), PARSE_SLICE)]
    joined = []
    for k, first in enumerate(parts[0]):
        if first is None:
            joined.append(None)
        elif isinstance(first, np.ndarray):
            joined.append(np.concatenate([p[k] for p in parts]))
        else:                         # one dtype, the first slice's (a slice of empty dates has no unit)
            joined.append(pd.concat([p[k].astype(first.dtype) for p in parts], ignore_index=True))
    return tuple(joined)


def fold(text: str) -> str:
    """Lower-case, strip accents, and reduce punctuation / spaces to single underscores."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def is_missing(raw: pd.Series) -> pd.Series:
    """True where the cell is empty or a "no answer" spelling."""
    stripped = raw.astype("string").str.strip().str.lower()
    return (stripped.isna() | stripped.isin(NA_TOKENS)).to_numpy(dtype=bool)


# Rarer spellings, tried only on the cells the common path could not read.
_MINUS_SIGNS = str.maketrans({"\u2212": "-", "\ufe63": "-", "\uff0d": "-"})
_SPACES_RE = re.compile(_SPACES)
_UNIT_RE = re.compile(r"\s*" + _UNIT_SUFFIX)
_DOT_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?")      # 1.234,5  1.234.567
_COMMA_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3}){2,}(?:\.\d+)?|[+-]?\d{1,3}(?:,\d{3})+\.\d+")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


# A duration typed the French way: 2h30, 1 h, 2 heures, 1h30min, 45 min (read in hours).
_DURATION = re.compile(r"(?:(\d+(?:[.,]\d+)?)h(?:eures?)?(?:(\d{1,2})(?:min)?)?|(\d+)min(?:utes?)?)", re.IGNORECASE)


def _one_number(text: str) -> float | None:
    """1.234,5 (dot thousands), 1,234.5 and 1,234,567 (English), a unicode minus, 2h30."""
    text = _UNIT_RE.sub("", _SPACES_RE.sub("", text.strip().translate(_MINUS_SIGNS)))
    if (m := _DURATION.fullmatch(text)) and int(m[2] or 0) < 60:
        if m[3]:
            return int(m[3]) / 60
        return float(m[1].replace(",", ".")) + (int(m[2]) / 60 if m[2] else 0)
    if _DOT_THOUSANDS.fullmatch(text):
        text = text.replace(".", "").replace(",", ".")
    elif _COMMA_THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    else:
        text = text.replace(",", ".")
    return float(text) if _PLAIN_NUMBER.fullmatch(text) else None


def parse_number(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = is_missing(raw)
    cleaned = (raw.astype("string")
               .str.replace(_SPACES, "", regex=True)
               .str.replace(_UNIT_SUFFIX, "", regex=True)
               .str.replace(",", ".", regex=False))
    cleaned = cleaned.where(~missing)
    values = pd.to_numeric(cleaned, errors="coerce").astype("Float64")
    failed = ~missing & values.isna().to_numpy(dtype=bool)
    if failed.any():
        values[failed] = [_one_number(t) for t in raw[failed].astype(str)]
        failed = ~missing & values.isna().to_numpy(dtype=bool)
    # inf, 1e400, a digit run longer than any count or budget: unreadable, never stored
    absurd = np.abs(values.to_numpy(dtype="float64", na_value=np.nan)) > MAX_ABS_NUMBER
    if absurd.any():
        values, failed = values.mask(absurd), failed | absurd
    return values, failed


def parse_int(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    values, failed = parse_number(raw)
    not_integral = (values.notna() & (values != values.round())).fillna(False).to_numpy(dtype=bool)
    values = values.where(~not_integral)
    return values.round().astype("Int64"), failed | not_integral


def parse_year(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    values, failed = parse_int(raw)
    outside = ((values < FIRST_YEAR) | (values > LAST_YEAR)).fillna(False).to_numpy(dtype=bool)
    return values.mask(outside), failed | outside


# « oui. », « Non ! »: the punctuation closing a typed answer says nothing more.
_CLOSING_PUNCTUATION = r"[\s.!;:,…]+$"
# « Oui (partiellement) », « oui, en partie », « Non - fermé l'été »: an answer with a remark.
_QUALIFIED = re.compile(r"^\s*(oui|non|yes|no|vrai|faux)\b\s*(?:\((.*)\)|[,;:/\u2013\u2014-]\s*(.+))\s*[.!]*\s*$",
                        re.IGNORECASE | re.DOTALL)


def parse_bool(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    return parse_answer(raw)[:2]


def parse_answer(raw: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """A yes / no answer: (values, failed, qualified). `qualified` marks an answer followed by a
    remark (« Oui (partiellement) »): read as its yes or no, the remark named in a finding."""
    missing = is_missing(raw)
    token = raw.astype("string").str.strip().str.lower().str.replace(_CLOSING_PUNCTUATION, "", regex=True)
    result = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    result[token.isin(TRUE_TOKENS).fillna(False).to_numpy(dtype=bool)] = True
    result[token.isin(FALSE_TOKENS).fillna(False).to_numpy(dtype=bool)] = False
    failed = ~missing & result.isna().to_numpy(dtype=bool)
    qualified = np.zeros(len(raw), dtype=bool)
    if failed.any():                      # the rarer spelling, on the few cells left unread only
        for i in np.flatnonzero(failed):
            if m := _QUALIFIED.match(str(raw.iloc[i])):
                result.iloc[i] = m[1].lower() in TRUE_TOKENS
                qualified[i] = True
        failed &= ~qualified
    return result, failed, qualified


def checkbox_column(raw: pd.Series) -> bool:
    """A column exported as a check box: ticked with 'x', and no cell says "no" (an empty cell
    then means "no"; "no answer" spellings still mean no answer). One cell typed "oui" by hand,
    or a stray value (read, or named in a finding), does not turn its empty cells into no answers."""
    present = raw.dropna().astype(str).str.strip().str.lower()
    present = present[~present.isin(NA_TOKENS)]
    return bool((present == "x").any()) and not bool(present.isin(FALSE_TOKENS).any())


def _one_date(text: str) -> date | None:
    text = text.strip()
    try:
        if m := _ISO_DATE.match(text):
            day = date(int(m[1]), int(m[2]), int(m[3]))
        elif m := _FR_DATE.match(text):
            day = date(int(m[3]), int(m[2]), int(m[1]))
        elif (m := _WORD_DATE.match(fold(text))) and m[2] in _MONTHS:
            day = date(int(m[3]), _MONTHS[m[2]], int(m[1]))
        elif _EXCEL_SERIAL.match(text):
            day = _EXCEL_EPOCH + timedelta(days=int(float(text)))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


def parse_date(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = is_missing(raw)
    texts = raw.astype("string")
    uniques = {t: _one_date(t) for t in texts[~missing].unique()}
    parsed = [None if m else uniques[t] for t, m in zip(texts, missing)]
    # the column's own row labels (a Series built from a Series with `index=` would align on them)
    result = pd.to_datetime(pd.Series(parsed, dtype="object")).set_axis(raw.index)
    failed = ~missing & result.isna().to_numpy(dtype=bool)
    return result, failed


def _enum_parts(text: str, spellings: dict[str, str]) -> tuple[str | None, bool]:
    """(value, with a remark) of a label the folded spellings miss: dotted initials (« E.V.S. »),
    or a label and its code (« Centre social (CS) », « CS - Centre social »), all of its parts
    that are spellings naming one value; a further part is a remark (« Associatif (loi 1901) »)."""
    folded = fold(text)
    words = folded.split("_")
    if len(words) > 1 and all(len(w) == 1 for w in words) and "".join(words) in spellings:
        return spellings["".join(words)], False
    parts = [fold(p) for p in re.split(r"[()\[\]/]|\s[-\u2013\u2014:]\s", text) if fold(p)]
    if len(parts) < 2 or parts[0] not in spellings:
        return None, False
    values = {spellings[p] for p in parts if p in spellings}
    if len(values) != 1:
        return None, False
    return values.pop(), any(p not in spellings for p in parts)


def parse_enum(raw: pd.Series, spellings: dict[str, str]) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """spellings maps a folded spelling to its canonical value. Returns (values, failed, with a
    remark): a label followed by a remark is read, the remark named in a finding."""
    missing = is_missing(raw)
    texts = raw.astype("string")
    uniques = {t: (spellings.get(fold(t)), False) for t in texts[~missing].unique()}
    uniques.update({t: _enum_parts(t, spellings) for t, (v, _) in uniques.items() if v is None})
    result = pd.Series([None if m else uniques[t][0] for t, m in zip(texts, missing)],
                       index=raw.index, dtype="string")
    failed = ~missing & result.isna().to_numpy(dtype=bool)
    remark = np.array([not m and uniques[t][1] for t, m in zip(texts, missing)], dtype=bool)
    return result, failed, remark


def parse_text(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    missing = is_missing(raw)
    result = raw.astype("string").str.strip()
    failed = result.isin(EXCEL_ERRORS).to_numpy(dtype=bool)
    return result.where(~missing & ~failed), failed


# What spreadsheets wrap a code in to keep it text (its leading zeros): ="01053" or '01053.
_TEXT_WRAPPER = r"^\s*(?:=\s*\"(.*)\"|'(.*))\s*$"


def _integral_text(raw: pd.Series, inner_spaces: bool = True) -> pd.Series:
    """Spreadsheets turn codes into numbers ('92050.0' -> '92050') or wrap them to keep them
    text (="92050", '92050); spaces are formatting (92 050, 180 752 233 90371), except inside a
    code_structure (`inner_spaces` False), where they are kept and fail the pattern."""
    texts = raw.astype("string").str.replace(_TEXT_WRAPPER, r"\1\2", regex=True)
    texts = texts.str.replace(_SPACES, "", regex=True) if inner_spaces else \
        texts.str.replace(f"^{_SPACES}|{_SPACES}$", "", regex=True)
    return texts.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def parse_pattern(raw: pd.Series, pattern: re.Pattern, upper: bool = True,
                  inner_spaces: bool = True) -> tuple[pd.Series, np.ndarray]:
    missing = is_missing(raw)
    texts = _integral_text(raw, inner_spaces)
    if upper:
        texts = texts.str.upper()
    ok = texts.str.match(pattern).fillna(False).to_numpy(dtype=bool)
    result = texts.where(ok & ~missing)
    return result, ~missing & ~ok


def parse_code_structure(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    return parse_pattern(raw, _CODE_STRUCTURE, inner_spaces=False)


def parse_siret(raw: pd.Series) -> tuple[pd.Series, np.ndarray]:
    return parse_pattern(raw, re.compile(r"^\d{14}$"))


def _compact_code(folded: str) -> str:
    """a_1_1 and a01_1 as a1_1: no separator between a letter and a digit, no leading zero."""
    return re.sub(r"(?<![0-9])0+(?=[0-9])", "", re.sub(r"(?<=[a-z])_(?=[0-9])", "", folded))


def parse_reference_code(raw: pd.Series, known: dict[str, str]) -> tuple[pd.Series, np.ndarray]:
    """A code of a reference list (`known` maps a folded spelling to the code: a2-3, A2.3 and
    « a2 3 » are all A2.3). An unknown code is kept as written and flagged, never dropped."""
    missing = is_missing(raw)
    texts = raw.astype("string").str.strip()
    uniques = {t: known.get(fold(t)) for t in texts[~missing].unique()}
    if any(code is None for code in uniques.values()):     # « A 1.1 », « A01.1 »: spaced or zero-padded
        compact = {_compact_code(k): v for k, v in known.items()}
        uniques = {t: code or compact.get(_compact_code(fold(t))) for t, code in uniques.items()}
    result = pd.Series([None if m else (uniques[t] or t) for t, m in zip(texts, missing)],
                       index=raw.index, dtype="string")
    unknown = np.array([not m and uniques[t] is None for t, m in zip(texts, missing)], dtype=bool)
    return result, unknown


def restored_commune(text: str, known: frozenset[str]) -> str | None:
    """The one known commune a code means once its lost zeros are restored (a spreadsheet made
    01053 a number: 1053; 2B033 typed 2B33), or its old Corsican département 20 replaced by 2A or
    2B (20033: Bastia, numbered before 1976 and still in old files); None when none or several."""
    if text in known:
        return None
    if len(text) == 4 and text.isdigit():
        candidates = ["0" + text]
    elif (short := _CORSICA_SHORT.fullmatch(text)) is not None:
        candidates = [short[1] + short[2].zfill(3)]
    elif (old := _CORSICA_OLD.fullmatch(text)) is not None:
        candidates = ["2A" + old[1], "2B" + old[1]]
    else:
        return None
    found = [code for code in candidates if code in known]
    return found[0] if len(found) == 1 else None


def parse_code_commune(raw: pd.Series, known: frozenset[str]) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Returns (codes, failed, repaired). A code that lost a zero (a 4-digit code, 2B33) or still
    carries Corsica's old département 20 (20033) is repaired when it then names exactly one
    known commune."""
    missing = is_missing(raw)
    texts = _integral_text(raw).str.upper()
    candidate = texts.str.fullmatch(_REPAIRABLE).fillna(False).to_numpy(dtype=bool) & ~missing
    repairable = np.zeros(len(texts), dtype=bool)
    if candidate.any():   # set look-ups on the few candidates only (known holds ~35,000 codes)
        restored = [restored_commune(text, known) for text in texts[candidate]]
        repairable[candidate] = [code is not None for code in restored]
        values = texts.to_numpy(dtype=object, na_value=None)
        values[np.flatnonzero(candidate)[repairable[candidate]]] = [code for code in restored if code is not None]
        texts = pd.Series(values, index=texts.index, dtype="string")
    ok = texts.str.match(_COMMUNE).fillna(False).to_numpy(dtype=bool)
    result = texts.where(ok & ~missing)
    return result, ~missing & ~ok, repairable & ~missing
