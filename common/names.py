"""File names made from codes found in the data (a structure's code, a territory's).

Two codes must never share a file: `CS92-0001` and `CS92-0001-`, or `CS92-0001` and `cs92-0001`,
would both slugify to `cs92-0001`, and one centre's feedback sheet or page would silently replace
another's. A code that is exactly its own slug in capitals (`CS92-0001`, `92050`, `2A004`) keeps that
slug, the usual and readable name; any other code (case, accents, punctuation, spaces…) gets its slug
followed by `--` and a digest of the exact code. A slug never holds `--`, so the two forms never meet.
"""
from __future__ import annotations

import hashlib
import re

from slugify import slugify

DIGEST_CHARS = 16      # 64 bits of sha-256: no two codes of any extract come near a shared digest


def file_stem(code) -> str:
    """The file name (without extension) for `code`: injective, lower-case ASCII letters, digits
    and dashes only, so the same on every file system (case-insensitive ones included)."""
    text = str(code)
    slug = slugify(text, max_length=60, word_boundary=False)
    if slug and slug.upper() == text:
        return slug
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:DIGEST_CHARS]
    return f"{slug or 'x'}--{digest}"


def name_text(value) -> str:
    """A path or file name as text that can be stored and printed: a name holding bytes that are
    not UTF-8 (a file copied from an old system, a USB key) reaches Python with "surrogate"
    characters, which the warehouse, the console and any file refuse; each such byte is written
    visibly as \\xNN instead (« senacs_2021\\xe9.csv »)."""
    return _SURROGATE.sub(_visible, str(value))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _visible(m: re.Match) -> str:
    code = ord(m[0])
    return f"\\x{code - 0xdc00:02x}" if 0xdc80 <= code <= 0xdcff else f"\\u{code:04x}"
