"""The two baselines every run scores beside the engine, answering in the same terms.

* **same line** — what an editor bookmark or a stale comment does: the range stays at the same line
  numbers, and is gone only when the new file is too short to hold it.
* **diff only** — what GitHub and GitLab do with a review comment: a plain line diff (``difflib`` with
  ``autojunk`` off, exact lines) maps each line of an unchanged region; a range with any changed line is
  reported *outdated*, which the scoring counts as lost (no location).

An answer is ``(path, start, end)`` or None for deleted/outdated, like the engine's ``Location``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from .truth import split_lines

Answer = tuple[str, int, int] | None


def same_line(new_text: str, new_path: str | None, ranges: Sequence[tuple[int, int]]) -> list[Answer]:
    """Return each range where it was, or None when the new file ends before its last line."""
    size = len(split_lines(new_text))
    if new_path is None:
        return [None for _ in ranges]
    return [(new_path, start, end) if end <= size else None for start, end in ranges]


def line_map(old_text: str, new_text: str) -> list[int]:
    """Return the new line (1-based) of each old line that a plain line diff leaves unchanged, else 0."""
    old_lines, new_lines = split_lines(old_text), split_lines(new_text)
    mapping = [0] * (len(old_lines) + 1)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, old_start, old_end, new_start, _ in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(old_end - old_start):
                mapping[old_start + offset + 1] = new_start + offset + 1
    return mapping


def diff_only(
    old_text: str, new_text: str, new_path: str | None, ranges: Sequence[tuple[int, int]]
) -> list[Answer]:
    """Return each range moved through the unchanged lines of a diff, or None if any line changed."""
    if new_path is None:
        return [None for _ in ranges]
    mapping = line_map(old_text, new_text)
    answers: list[Answer] = []
    for start, end in ranges:
        if end >= len(mapping) or start < 1:
            answers.append(None)
            continue
        first = mapping[start]
        intact = first > 0 and all(mapping[line] == first + line - start for line in range(start, end + 1))
        answers.append((new_path, first, first + end - start) if intact else None)
    return answers
