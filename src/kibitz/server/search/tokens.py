"""Words for the search index, from prose and from code alike. Pure."""

from __future__ import annotations

import re
import unicodedata

MIN_LENGTH = 2
MAX_LENGTH = 64
_WORD = re.compile(r"[^\W_]+(?:_+[^\W_]+)*", re.UNICODE)
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def tokens(text: str) -> set[str]:
    """Return the searchable words of a text: words, identifiers and their parts, lower-cased.

    `fetchUrl_retry` yields `fetchurl_retry`, `fetchurl`, `fetch`, `url` and `retry`, so that searching
    for any part of an identifier finds it.
    """
    found: set[str] = set()
    for match in _WORD.finditer(unicodedata.normalize("NFKC", text)):
        word = match.group(0)
        found.add(word.lower())
        for part in word.split("_"):
            if part:
                found.add(part.lower())
                found.update(p.lower() for p in _CAMEL.findall(part))
    return {t for t in found if MIN_LENGTH <= len(t) <= MAX_LENGTH}
