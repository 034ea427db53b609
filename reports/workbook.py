"""An XLSX workbook written by DuckDB: each sheet's rows become worksheet XML in SQL, one string
expression per row, streamed into the zip; only the few small parts of the package (content
types, relationships, workbook, styles, properties) are written here.

Why not a spreadsheet library: the national open data is about 3.4 million cells, and a writer
that handles each cell in Python spends most of the `report` step on them (measured on the same
rows: openpyxl write-only 41 s, openpyxl with lxml 28 s, XlsxWriter in constant-memory mode 27 s;
the same sheets written here take about 3 s of CPU: DuckDB writes the XML, zlib compresses it).

What a cell is: text is an inline string (`t="inlineStr"`), XML-escaped, without the control
characters XML 1.0 forbids, its spaces and line breaks kept: a text beginning with "=" is text,
never a formula (no cell of this workbook is a formula). A number is a number (`<v>`); a number
that is not finite (inf, nan) is written as the text DuckDB writes for it. An empty value (NULL)
is no cell at all. The header row is bold and frozen; a sheet past a worksheet's 1,048,576 rows
continues on a next sheet ("name (2)"). The zip's dates and the document's dates are fixed (the
`stamp` given, by default 2000-01-01), so the same data gives the same file byte for byte."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

MAX_ROWS = 1_048_575        # a worksheet's rows, less the header
LEVEL = 3                   # deflate level: zlib's fast algorithm (levels 1-3); 6 costs 1.5 s more nationally for 10 % less
BATCH = 20_000              # rows fetched from DuckDB at a time

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# what XML 1.0 forbids in a document (tab, line feed and carriage return are allowed), as an RE2 class
_FORBIDDEN = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"
# what needs escaping or removing, and the spaces a spreadsheet would trim (at an end, or a line break or tab)
_SPECIAL = r"[&<>\t\n\r\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]|^\s|\s$"


@dataclass
class Sheet:
    title: str                      # at most 31 characters (a continuation sheet's too)
    columns: list[tuple[str, str]]  # (name, kind): kind "string", "integer" or "number"
    select: str                     # SQL yielding these columns by name, and `_rn`: the row's rank, 1..n


def column_letter(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text_sql(value: str) -> str:
    """SQL: the <t> element of `value` (VARCHAR): escaped, forbidden characters removed, a carriage
    return kept as a character reference (an XML parser would turn a raw one into a line feed), its
    spaces and line breaks kept (xml:space="preserve": a spreadsheet trims them otherwise). Most
    texts need none of it: one scan finds those that do, the others are written as they are."""
    cleaned = f"regexp_replace({value}, '{_FORBIDDEN}', '', 'g')"
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        cleaned = f"replace({cleaned}, '{raw}', '{entity}')"
    return (f"CASE WHEN regexp_matches({value}, '{_SPECIAL}') "
            f"THEN '<t xml:space=\"preserve\">' || replace({cleaned}, chr(13), '&#13;') "
            f"ELSE '<t>' || {value} END || '</t>'")


def _cell_sql(letter: str, name: str, kind: str) -> str:
    """SQL: the <c> element of one column for the current row (NULL when the value is NULL)."""
    v = _quoted(name)
    ref = f"'<c r=\"{letter}' || _r || '\""
    text = lambda expr: f"{ref} t=\"inlineStr\"><is>' || {_text_sql(expr)} || '</is></c>'"
    if kind == "string":
        return text(f"CAST({v} AS VARCHAR)")
    if kind == "integer":
        return f"{ref}><v>' || CAST(CAST({v} AS BIGINT) AS VARCHAR) || '</v></c>'"
    number = f"CAST({v} AS DOUBLE)"
    return (f"CASE WHEN isfinite({number}) THEN {ref}><v>' || CAST({number} AS VARCHAR) || '</v></c>' "
            f"ELSE {text(f'CAST({number} AS VARCHAR)')} END")


def rows_sql(sheet: Sheet, first: int, last: int) -> str:
    """SQL: the <row> elements of the sheet's rows ranked first..last, numbered from 2 (after the
    header), in their order."""
    cells = ", ".join(_cell_sql(column_letter(i), name, kind) for i, (name, kind) in enumerate(sheet.columns))
    return (f"SELECT concat('<row r=\"', _r, '\">', {cells}, '</row>') AS xml "
            f"FROM (SELECT *, CAST(_rn - {first - 2} AS VARCHAR) AS _r FROM ({sheet.select}) AS _s "
            f"WHERE _rn BETWEEN {first} AND {last}) AS _t ORDER BY _rn")


def _sheet_head(columns: list[tuple[str, str]], rows: int) -> str:
    last = column_letter(max(len(columns) - 1, 0))
    header = "".join(f'<c r="{column_letter(i)}1" t="inlineStr" s="1"><is><t xml:space="preserve">'
                     f"{escape(name)}</t></is></c>" for i, (name, _) in enumerate(columns))
    return (f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><dimension ref="A1:{last}{rows + 1}"/>'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><sheetData><row r="1">{header}</row>')


_SHEET_TAIL = "</sheetData></worksheet>"

_STYLES = (f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
           '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
           '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
           '<fills count="2"><fill><patternFill patternType="none"/></fill>'
           '<fill><patternFill patternType="gray125"/></fill></fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
           '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
           '</styleSheet>')


def _package_parts(titles: list[str], stamp: str) -> list[tuple[str, str]]:
    n = len(titles)
    sheets = "".join(f"<sheet name={quoteattr(t)} sheetId=\"{i}\" r:id=\"rId{i}\"/>" for i, t in enumerate(titles, 1))
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, n + 1))
    moment = f"{stamp}T00:00:00Z"
    return [
        ("[Content_Types].xml",
         f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
         '<Default Extension="xml" ContentType="application/xml"/>'
         '<Override PartName="/xl/workbook.xml" '
         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
         f'{overrides}<Override PartName="/xl/styles.xml" '
         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
         '<Override PartName="/docProps/core.xml" '
         'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>'),
        ("_rels/.rels",
         f'{_HEAD}<Relationships xmlns="{_PKG_REL}">'
         f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
         '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
         'core-properties" Target="docProps/core.xml"/></Relationships>'),
        ("docProps/core.xml",
         f'{_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
         'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
         'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
         '<dc:creator>observatoire</dc:creator>'
         f'<dcterms:created xsi:type="dcterms:W3CDTF">{moment}</dcterms:created>'
         f'<dcterms:modified xsi:type="dcterms:W3CDTF">{moment}</dcterms:modified></cp:coreProperties>'),
        ("xl/workbook.xml",
         f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews>'
         f'<sheets>{sheets}</sheets></workbook>'),
        ("xl/_rels/workbook.xml.rels",
         f'{_HEAD}<Relationships xmlns="{_PKG_REL}">{rels}'
         f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'),
        ("xl/styles.xml", _STYLES),
    ]


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info._compresslevel = LEVEL          # what ZipFile.open(name, "w") would set from the archive
    return info


def _write_strings(out, column) -> None:
    """A column of strings (no NULL) written as one run of bytes: its Arrow data buffer, uncopied."""
    import numpy as np
    import pyarrow as pa
    if isinstance(column, pa.ChunkedArray):
        for chunk in column.chunks:
            _write_strings(out, chunk)
        return
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.large_string())
    if len(column) == 0:
        return
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    offsets = np.frombuffer(column.buffers()[1], dtype=width, count=len(column) + 1, offset=column.offset * width().itemsize)
    out.write(memoryview(column.buffers()[2])[int(offsets[0]):int(offsets[-1])])


def _batches(con, query: str):
    """The query's rows as Arrow record batches, streamed (DuckDB 2 names the reader
    to_arrow_reader; DuckDB 1, fetch_arrow_reader). The reader is closed even when the caller
    stops early (an error while writing): the connection is left with no pending result."""
    relation = con.sql(query)
    reader = (getattr(relation, "to_arrow_reader", None) or relation.fetch_arrow_reader)(BATCH)
    try:
        yield from reader
    finally:
        reader.close()


def write(con, path: Path, sheets: list[Sheet], stamp: str | None = None, max_rows: int = MAX_ROWS) -> None:
    """The workbook of `sheets` at `path`, written beside it and moved in place when complete."""
    parts = []                   # (title, sheet, first rank, last rank)
    for sheet in sheets:
        n = con.execute(f"SELECT count(*) FROM ({sheet.select}) AS _s").fetchall()[0][0]
        for k, first in enumerate(range(1, max(n, 1) + 1, max_rows)):
            title = sheet.title if k == 0 else f"{sheet.title[:31 - len(f' ({k + 1})')]} ({k + 1})"
            parts.append((title[:31], sheet, first, min(first + max_rows - 1, n)))
    tmp = path.with_name(f".{path.name}")
    try:
        _write_parts(con, tmp, parts, stamp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)


def _write_parts(con, tmp: Path, parts: list[tuple], stamp: str | None) -> None:
    with zipfile.ZipFile(tmp, "w") as book:
        for name, text in _package_parts([p[0] for p in parts], stamp or "2000-01-01"):
            book.writestr(_entry(name), text.encode("utf-8"))
        for i, (_, sheet, first, last) in enumerate(parts, 1):
            rows = last - first + 1
            # past some millions of cells, the part may pass the zip's 4 GiB: its sizes on 64 bits
            with book.open(_entry(f"xl/worksheets/sheet{i}.xml"), "w",
                           force_zip64=rows * len(sheet.columns) > 4_000_000) as out:
                out.write(_sheet_head(sheet.columns, rows).encode("utf-8"))
                if rows > 0:
                    for batch in _batches(con, rows_sql(sheet, first, last)):
                        _write_strings(out, batch.column(0))
                out.write(_SHEET_TAIL.encode("utf-8"))
