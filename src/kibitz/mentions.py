"""Find `@mentions` in text: `@handle` or `@email`. Pure, shared by server and clients."""

from __future__ import annotations

import re

# Not preceded by a word character, `@` or `.`, so `ada@example.com` in prose is not a mention of `example`.
_MENTION = re.compile(
    r"(?<![\w@.])@("
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"  # an email address
    r"|[A-Za-z0-9][A-Za-z0-9._-]{0,31}"  # a handle
    r")"
)


# Fenced blocks and inline code spans: `@property` in a code span is a decorator, not a person.
_CODE = re.compile(r"```.*?(?:```|$)|~~~.*?(?:~~~|$)|(`+).*?\1", re.DOTALL)


def find_mentions(text: str) -> list[str]:
    """Return the distinct names mentioned in `text` outside code, lower-cased, in order of appearance."""
    found: dict[str, None] = {}
    prose = _CODE.sub(" ", text)
    for match in _MENTION.finditer(prose):
        # A sentence may end right after a mention: "thanks @bo." mentions `bo`.
        name = match.group(1).rstrip(".-_").lower()
        if name:
            found.setdefault(name, None)
    return list(found)
