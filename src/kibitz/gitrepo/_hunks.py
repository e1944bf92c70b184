"""Map a working-tree line range to HEAD through the hunks of ``git diff -U0 HEAD``.

With zero lines of context every hunk header ``@@ -a,b +c,d @@`` says exactly which lines
changed: ``b`` lines of HEAD starting at ``a`` became ``d`` lines of the working tree starting at
``c``. When ``d == 0`` (a pure deletion) ``c`` is the working-tree line *after which* the lines were
removed; when ``b == 0`` (a pure insertion) ``a`` is the HEAD line after which they were added.
Lines outside every hunk are unchanged and only shift by the net size of the hunks before them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class LineRange:
    """Lines ``start_line`` to ``end_line`` of a file, 1-based and inclusive."""

    start_line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class Hunk:
    """One hunk header: ``old_count`` lines at ``old_start`` became ``new_count`` at ``new_start``."""

    old_start: int
    old_count: int
    new_start: int
    new_count: int


def parse_hunks(diff_text: str) -> list[Hunk]:
    """Return the hunk headers of a unified diff, in order."""
    hunks = []
    for match in _HUNK_RE.finditer(diff_text):
        old_start, old_count, new_start, new_count = match.groups()
        hunks.append(
            Hunk(
                old_start=int(old_start),
                # An omitted count means one line (the unified diff format's shorthand).
                old_count=1 if old_count is None else int(old_count),
                new_start=int(new_start),
                new_count=1 if new_count is None else int(new_count),
            )
        )
    return hunks


def map_range_through_hunks(hunks: Iterable[Hunk], line_range: LineRange) -> LineRange | None:
    """Return the HEAD range for a working-tree range, or None if the range touches changed lines."""
    offset = 0
    for hunk in hunks:
        if hunk.new_count > 0:
            first_new = hunk.new_start
            last_new = hunk.new_start + hunk.new_count - 1
            if last_new < line_range.start_line:
                offset += hunk.old_count - hunk.new_count
            elif first_new <= line_range.end_line:
                return None
        else:
            # Lines removed *between* two selected lines mean the block differs from HEAD's,
            # even though every selected line itself is unchanged.
            after_line = hunk.new_start
            if after_line < line_range.start_line:
                offset += hunk.old_count
            elif after_line < line_range.end_line:
                return None
    return LineRange(line_range.start_line + offset, line_range.end_line + offset)


def _nearest_old_line(hunks: Iterable[Hunk], line: int, *, first: bool) -> int:
    """Return the HEAD line nearest to a working-tree line; inside a hunk, that hunk's first or last."""
    offset = 0
    for hunk in hunks:
        if hunk.new_count > 0:
            if hunk.new_start + hunk.new_count - 1 < line:
                offset += hunk.old_count - hunk.new_count
                continue
            if hunk.new_start <= line:
                if hunk.old_count == 0:
                    # Inserted after HEAD line old_start: between it and the next one.
                    return hunk.old_start + 1 if first else hunk.old_start
                return hunk.old_start if first else hunk.old_start + hunk.old_count - 1
            break
        if hunk.new_start < line:
            offset += hunk.old_count
            continue
        break
    return line + offset


def map_range_nearest(hunks: Iterable[Hunk], line_range: LineRange, head_line_count: int) -> LineRange:
    """Return the HEAD range closest to a working-tree range, even one over changed lines.

    Unchanged lines map exactly; a line inside a changed hunk maps to the HEAD lines that hunk
    replaced, or to the two lines around an insertion. The answer lies within HEAD's lines.
    """
    hunk_list = list(hunks)
    start = _nearest_old_line(hunk_list, line_range.start_line, first=True)
    end = _nearest_old_line(hunk_list, line_range.end_line, first=False)
    start, end = min(start, end), max(start, end)
    last = max(head_line_count, 1)
    return LineRange(min(max(start, 1), last), min(max(end, 1), last))
