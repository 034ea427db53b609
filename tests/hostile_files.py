"""Hostile workbooks, built from a good one: a zip bomb, a sheet stretched to the spreadsheet's
limits. Used by the tests and by .ci/benchmark.py."""
from __future__ import annotations

import io
import re
import zipfile

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"
ROW = b'<row><c t="inlineStr"><is><t>0</t></is></c></row>'


def workbook(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rewrite_sheet(data: bytes, before_end: bytes = b"", repeat: int = 0, chunk: bytes = b"",
                  dimension: str | None = None) -> bytes:
    """`data` with its first sheet's XML given `before_end`, then `chunk` written `repeat` times,
    just before </sheetData>, and its declared dimension replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename != SHEET:
                dst.writestr(info, body)
                continue
            if dimension:
                body = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>'.encode(), body)
            head, tail = body.split(b"</sheetData>")
            part_info = zipfile.ZipInfo(SHEET)
            part_info.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(part_info, "w", force_zip64=True) as part:
                part.write(head + before_end)
                per_block = max(1, (1 << 20) // max(len(chunk), 1))
                left = repeat if chunk else 0
                while left > 0:
                    n = min(left, per_block)
                    part.write(chunk * n)
                    left -= n
                part.write(b"</sheetData>" + tail)
    return out.getvalue()


def bomb(good: bytes, mib: int) -> bytes:
    """A workbook whose sheet expands to about `mib` MiB of identical rows (deflate: ~1 000-fold)."""
    return rewrite_sheet(good, chunk=ROW, repeat=mib * 2**20 // len(ROW))
