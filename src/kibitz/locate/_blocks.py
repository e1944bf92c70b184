"""Pure helpers over blocks of code: lines as git counts them, comparison, status, search clues."""

from __future__ import annotations

from collections.abc import Callable

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

    def text(self, path: str | None) -> str | None:
        """Return the text of ``path``, or None if there is no such file (or no path)."""
        if path is None:
            return None
        if path not in self._texts:
            self._texts[path] = self._read(path)
        return self._texts[path]

    def block(self, path: str, start_line: int, end_line: int) -> str:
        """Return lines ``start_line``–``end_line`` of the file at ``path`` (empty if it is missing)."""
        if path not in self._lines:
            self._lines[path] = split_lines(self.text(path) or "")
        return block_in(self._lines[path], start_line, end_line)


def _keys(code: str) -> list[str]:
    # The engine compares lines with all whitespace removed; so does every status said here.
    return ["".join(line.split()) for line in split_lines(code)]


def same_code(one: str, other: str) -> bool:
    """Tell whether two blocks hold the same code, whitespace and line endings aside."""
    return _keys(one) == _keys(other)


def judge(marker: Marker, path: str, start_line: int, end_line: int, code: str, *, moved: bool) -> Status:
    """Return a found block's status against the recorded one: moved, changed, unchanged or shifted."""
    # A provisional marker's lines are a guess at a commit that lacks its code: within its file,
    # only the code says whether the block is still as it was.
    guessed = marker["provisional"] and path == marker["path"]
    if moved and not guessed:
        return "moved"
    if not same_code(code, marker["code"]):
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
