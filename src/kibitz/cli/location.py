"""Where a codemark's code is in the working tree, until the anchoring engine exists.

A deliberately simple stand-in for ``kibitz.anchoring.relocate``: the recorded lines still hold the
code (``unchanged``); else the code occurs exactly once elsewhere in the file (``shifted``); else we
do not know, and say so rather than guess (``unknown``, at the recorded range).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LocationStatus = Literal["unchanged", "shifted", "unknown"]


@dataclass(frozen=True, slots=True)
class Location:
    """A 1-based inclusive line range in the current file and how it was found."""

    start_line: int
    end_line: int
    status: LocationStatus


def split_lines(text: str) -> list[str]:
    """Split text into lines the way git counts them: on ``\\n`` only, without line terminators."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    # A CRLF checkout of an LF blob must still compare equal line by line.
    return [line.removesuffix("\r") for line in lines]


def locate(code: str, current_text: str | None, start_line: int, end_line: int) -> Location:
    """Find the recorded ``code`` (lines ``start_line``–``end_line``) in the file's ``current_text``."""
    recorded = Location(start_line, end_line, "unknown")
    if current_text is None:
        return recorded
    code_lines = split_lines(code)
    file_lines = split_lines(current_text)
    if not code_lines:
        return recorded
    size = len(code_lines)
    if 1 <= start_line <= end_line and file_lines[start_line - 1 : end_line] == code_lines:
        return Location(start_line, end_line, "unchanged")
    found = [
        index
        for index in range(len(file_lines) - size + 1)
        if file_lines[index] == code_lines[0] and file_lines[index : index + size] == code_lines
    ]
    if len(found) == 1:
        return Location(found[0] + 1, found[0] + size, "shifted")
    return recorded
