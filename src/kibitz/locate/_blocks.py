"""Pure helpers over blocks of code: lines as git counts them, comparison, status, search clues."""

from __future__ import annotations

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
    return lines_text(split_lines(text)[max(start_line - 1, 0) : max(end_line, 0)])


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
