"""Pure helpers over blocks of code: lines as git counts them, comparison, status, search clues."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import cast

from kibitz.anchoring import Status
from kibitz.client import Marker

# A line shorter than this (whitespace removed) is too common to find a file by.
MIN_CLUE_CHARS = 8


def split_lines(text: str) -> list[str]:
    """Split text into lines the way git counts them: a final newline ends, not adds, a line."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def lines_text(lines: list[str]) -> str:
    """Join lines into a text where every line ends with a newline."""
    return "".join(line + "\n" for line in lines)


def block_of(text: str, start_line: int, end_line: int) -> str:
    """Return lines ``start_line``–``end_line`` (1-based, inclusive) of a text."""
    return block_in(split_lines(text), start_line, end_line)


def block_in(lines: list[str], start_line: int, end_line: int) -> str:
    """Return lines ``start_line``–``end_line`` (1-based, inclusive) of a text already split."""
    return lines_text(lines[max(start_line - 1, 0) : max(end_line, 0)])


class Files:
    """Texts of one target (a commit, the working tree) by path, read once and split once."""

    def __init__(self, read: Callable[[str], str | None]) -> None:
        self._read = read
        self._texts: dict[str, str | None] = {}
        self._lines: dict[str, list[str]] = {}
        self._keys: dict[str, list[str | None]] = {}

    def text(self, path: str | None) -> str | None:
        """Return the text of ``path``, or None if there is no such file (or no path)."""
        if path is None:
            return None
        if path not in self._texts:
            self._texts[path] = self._read(path)
        return self._texts[path]

    def block(self, path: str, start_line: int, end_line: int) -> str:
        """Return lines ``start_line``–``end_line`` of the file at ``path`` (empty if it is missing)."""
        return block_in(self._split(path), start_line, end_line)

    def block_keys(self, path: str, start_line: int, end_line: int) -> tuple[str, ...]:
        """Return the comparison keys of lines ``start_line``–``end_line`` of the file at ``path``."""
        lines = self._split(path)
        keys = self._keys.get(path)
        if keys is None:
            keys = self._keys[path] = [None] * len(lines)
        first, last = max(start_line - 1, 0), min(max(end_line, 0), len(lines))
        block = keys[first:last]
        if None in block:
            # Only the lines asked about are keyed: blocks are a small part of a large file.
            for index in range(first, last):
                if keys[index] is None:
                    keys[index] = line_key(lines[index])
            block = keys[first:last]
        return tuple(cast(list[str], block))

    def _split(self, path: str) -> list[str]:
        lines = self._lines.get(path)
        if lines is None:
            lines = self._lines[path] = split_lines(self.text(path) or "")
        return lines


def line_key(line: str) -> str:
    """Return a line's comparison key: the line without whitespace, as the engine compares lines."""
    return "".join(line.split())


# Enough for the codemarks of the few files being edited, whose codes are compared at every keystroke.
@lru_cache(maxsize=1024)
def code_keys(code: str) -> tuple[str, ...]:
    """Return the comparison keys of a block's lines (remembered: a marker's code is compared often)."""
    return tuple(line_key(line) for line in split_lines(code))


def same_code(one: str, other: str) -> bool:
    """Tell whether two blocks hold the same code, whitespace and line endings aside."""
    return code_keys(one) == code_keys(other)


def judge(marker: Marker, path: str, start_line: int, end_line: int, code: str, *, moved: bool) -> Status:
    """Return a found block's status against the recorded one: moved, changed, unchanged or shifted."""
    return judge_keyed(marker, path, start_line, end_line, code_keys(code), moved=moved)


def judge_keyed(
    marker: Marker, path: str, start_line: int, end_line: int, keys: Sequence[str], *, moved: bool
) -> Status:
    """Return the status of a found block given by its lines' comparison keys (see ``judge``)."""
    # A provisional marker's lines are a guess at a commit that lacks its code: within its file,
    # only the code says whether the block is still as it was.
    guessed = marker["provisional"] and path == marker["path"]
    if moved and not guessed:
        return "moved"
    if tuple(keys) != code_keys(marker["code"]):
        return "changed"
    if path != marker["path"]:
        return "shifted"
    if guessed or (start_line, end_line) == (marker["start_line"], marker["end_line"]):
        return "unchanged"
    return "shifted"


def clues(code: str, count: int = 3) -> list[str]:
    """Return the block's most distinctive lines (the longest ones), stripped, to search files by."""
    seen: list[str] = []
    for line in split_lines(code):
        stripped = line.strip()
        if len("".join(stripped.split())) >= MIN_CLUE_CHARS and stripped not in seen:
            seen.append(stripped)
    return sorted(seen, key=len, reverse=True)[:count]
