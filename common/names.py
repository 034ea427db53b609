"""File names made from codes found in the data (a structure's code, a territory's).

Two codes must never share a file: `CS92-0001` and `CS92-0001-`, or `CS92-0001` and `cs92-0001`,
would both slugify to `cs92-0001`, and one centre's feedback sheet or page would silently replace
another's. A code that is exactly its own slug in capitals (`CS92-0001`, `92050`, `2A004`) keeps that
slug, the usual and readable name; any other code (case, accents, punctuation, spaces…) gets its slug
followed by `--` and a digest of the exact code. A slug never holds `--`, so the two forms never meet.
"""
from __future__ import annotations

import hashlib

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
