"""Fit a mapped block to the structure of the code it landed in.

Mapping a block's first and last lines through a diff finds where it starts and roughly where it
ends; the code's own structure says exactly where it ends. Two structures are used, both cheap and
both harmless for languages that do not have them:

- **Indented suites.** A block shaped like a header and its indented suite (a ``def``, a ``class``,
  an ``if``) ends, in indentation-structured code, with the last line indented deeper than the
  header: a function whose body grew at its end keeps the new lines, and a definition added at the
  header's own depth inside the mapped range starts something else (a function split in two keeps
  only its first part). Brace languages end such blocks with a closing line at the header's depth,
  so they never look like suites here and are left alone.
- **Brackets.** A balanced statement that was rewrapped (``f(a,\n  b)`` became ``f(\n  a, b\n)``)
  ends on the line that closes its brackets, and a block that was one bracketed construct (a function in a
  brace language, a CSS rule) ends where the brackets opened on its first line close — not at the next
  definition's closing brace, nor before its own. Its body may open below a header of balanced lines
  (``where`` clauses, a C function's return type on a line of its own) with a brace at the header's depth.
"""

from __future__ import annotations

from collections.abc import Sequence

from .normalise import MAX_WRAP, PreparedText, open_brackets

_DEFINITION_STARTS = ("def ", "class ", "async def ", "@")
# Lines a construct's header may take above the line that opens its body.
MAX_HEADER_LINES = 8


def is_suite(old: PreparedText, start: int, end: int) -> bool:
    """Return True if old lines ``start..end`` look like a header and its indented suite."""
    if end == start or not old.keys[start]:
        return False
    last = end
    while last > start and not old.keys[last]:
        last -= 1
    return last > start and old.indent(last) > old.indent(start)


def is_whole_suite(old: PreparedText, start: int, end: int) -> bool:
    """Return True if the suite of the header at ``start`` ends with line ``end`` in the old text."""
    following = end + 1
    while following < len(old) and not old.keys[following]:
        following += 1
    return following == len(old) or old.indent(following) <= old.indent(start)


def fit_suite(
    old: PreparedText, new: PreparedText, new_to_old: Sequence[int], start: int, end: int, low: int, high: int
) -> int:
    """Return the end of old block ``start..end``, mapped to ``low..high``, fitted to its suite.

    ``new_to_old`` tells which new lines the diff matched: only lines that did not exist before
    may join a block that was just the beginning of a suite.
    """
    if not new.keys[low] or not is_suite(old, start, end):
        return high
    header = new.indent(low)
    for position in range(low + 1, high + 1):
        if new_to_old[position] < 0 and _starts_definition(new, position, header):
            return _last_code_line(new, low, position - 1)
    # A block that was the whole suite takes every deeper line that follows; a block that was only
    # its beginning takes only lines that did not exist before.
    whole = is_whole_suite(old, start, end)
    position = high + 1
    while position < len(new):
        if new.keys[position]:
            if new.indent(position) <= header or (new_to_old[position] >= 0 and not whole):
                break
            high = position
        position += 1
    return high


def shape_suite(target: PreparedText, low: int, high: int) -> int:
    """Return the end of a whole suite found at ``low..high`` of ``target``, fitted to its indentation."""
    if not target.keys[low]:
        return high
    header = target.indent(low)
    for position in range(low + 1, high + 1):
        if _starts_definition(target, position, header):
            return _last_code_line(target, low, position - 1)
    position = high + 1
    while position < len(target):
        if target.keys[position]:
            if target.indent(position) <= header:
                break
            high = position
        position += 1
    return high


def close_brackets(old: PreparedText, new: PreparedText, start: int, end: int, low: int, high: int) -> int:
    """Return the end of old block ``start..end``, mapped to ``low..high``, grown to close its brackets."""
    if open_brackets("".join(old.keys[start : end + 1])) != 0:
        return high
    depth = open_brackets("".join(new.keys[low : high + 1]))
    position = high
    while depth > 0 and position + 1 < len(new) and position - high < MAX_WRAP:
        position += 1
        depth += open_brackets(new.keys[position])
    return position if depth == 0 else high


# How far a braced block is followed to the line that closes it.
MAX_BRACED_LINES = 5_000


def is_whole_braced(old: PreparedText, start: int, end: int) -> bool:
    """Return True if old lines ``start..end`` are one bracketed construct, open until its last line.

    A function or class in a brace language, a CSS rule, a multi-line literal: brackets opened on the first
    line stay open on every line but the last, which closes the last of them. The brackets may open on a
    later line, after a header whose lines each leave them balanced (``impl<W> Write for Buf`` and its
    ``where`` clauses above ``{``; a C function's return type and signature on lines of their own).
    """
    if end == start:
        return False
    opening = _body_opening(old, start, end)
    if opening is None or opening == end:
        return False
    depth = 0
    for position in range(opening, end + 1):
        depth += old.balance(position)
        if depth <= 0 and position < end:
            return False
    return depth == 0


def braced_end(target: PreparedText, low: int, high: int) -> int:
    """Return the line of ``target`` that closes the construct opened at ``low`` (``high`` if none does).

    For a block that was one bracketed construct (``is_whole_braced``): where it was found is where it
    starts, and its own brackets say where it ends, whether its body grew or shrank.
    """
    opening = _body_opening(target, low, len(target) - 1)
    if opening is None:
        return high
    depth = 0
    for position in range(opening, min(len(target), opening + MAX_BRACED_LINES)):
        depth += target.balance(position)
        if depth <= 0:
            return position if position > low else high
    return high


def _body_opening(text: PreparedText, start: int, end: int) -> int | None:
    """Return the line of ``start..end`` after which brackets stay open: where a construct's body opens.

    The lines before it are its header: each leaves the brackets balanced, and none ends a statement or
    holds a brace (``fn other() {}`` is a whole construct, not a header); the line below them opens a
    brace at the header's depth. None if there is no such line within MAX_HEADER_LINES.
    """
    depth = 0
    for position in range(start, min(end, start + MAX_HEADER_LINES) + 1):
        key = text.keys[position]
        depth += open_brackets(key)
        if depth > 0:
            # Below a header, only a brace at the header's own depth opens the construct's body: a
            # deeper bracket is a statement inside a body (a Python function's last call, wrapped).
            below = position > start
            if below and not (key.endswith("{") and text.indent(position) == text.indent(start)):
                return None
            return position
        if depth < 0 or key.endswith(";") or "{" in key or "}" in key:
            return None
    return None


def _starts_definition(text: PreparedText, position: int, indent: int) -> bool:
    """Return True if a line starts a definition (or its decorator) at exactly ``indent``."""
    return text.lines[position].lstrip().startswith(_DEFINITION_STARTS) and text.indent(position) == indent


def _last_code_line(text: PreparedText, low: int, high: int) -> int:
    """Return the last non-blank line of ``low..high`` (``low`` if all are blank)."""
    while high > low and not text.keys[high]:
        high -= 1
    return high
