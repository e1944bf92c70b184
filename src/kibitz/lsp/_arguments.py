"""Check the one object argument of each ``kibitz.*`` command, with messages a person can read. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kibitz.client import CODEMARK_TYPES


class BadArguments(ValueError):
    """A command's arguments are not what it takes; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Lines:
    """A selection as whole lines of a document, 1-based and inclusive."""

    start_line: int
    end_line: int


def the_object(command: str, arguments: Sequence[Any]) -> dict[str, Any]:
    """Return the single object argument of a command."""
    if len(arguments) != 1 or not isinstance(arguments[0], dict):
        raise BadArguments(f'{command} takes one object argument, like {{"id": "..."}}')
    return arguments[0]


def text_field(command: str, value: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """Return a string field; a required one must hold more than white space."""
    found = value.get(name)
    if found is None:
        if required:
            raise BadArguments(f"{command} needs {name!r}")
        return None
    if not isinstance(found, str):
        raise BadArguments(f"{command}: {name!r} must be a string")
    if required and not found.strip():
        raise BadArguments(f"{command}: {name!r} is empty: nothing was sent")
    return found


def flag(command: str, value: dict[str, Any], name: str, default: bool) -> bool:
    """Return a boolean field, or ``default`` when it is absent."""
    found = value.get(name, default)
    if not isinstance(found, bool):
        raise BadArguments(f"{command}: {name!r} must be true or false")
    return found


def codemark_type(command: str, value: dict[str, Any]) -> str:
    """Return the codemark type (``comment`` when absent)."""
    kind = value.get("type", "comment")
    if kind not in CODEMARK_TYPES:
        raise BadArguments(f"{command}: 'type' must be one of {', '.join(CODEMARK_TYPES)}")
    return str(kind)


def _position(command: str, value: Any, name: str) -> tuple[int, int]:
    if not isinstance(value, dict):
        raise BadArguments(f'{command}: \'range.{name}\' must be {{"line", "character"}}')
    line, character = value.get("line"), value.get("character")
    for number in (line, character):
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise BadArguments(f"{command}: 'range.{name}' needs a line and a character (0 or more)")
    assert isinstance(line, int)
    assert isinstance(character, int)
    return line, character


def selected_lines(command: str, value: dict[str, Any], line_count: int) -> Lines:
    """Return the whole lines an LSP range covers (a range ending at a line's start leaves that line out)."""
    selection = value.get("range")
    if not isinstance(selection, dict):
        raise BadArguments(f"{command} needs 'range' (an LSP range)")
    start_line, _ = _position(command, selection.get("start"), "start")
    end_line, end_character = _position(command, selection.get("end"), "end")
    if (end_line, end_character) < (start_line, 0):
        raise BadArguments(f"{command}: the range ends before it starts")
    if end_character == 0 and end_line > start_line:
        end_line -= 1
    if end_line >= line_count:
        raise BadArguments(
            f"{command}: the document has {line_count} lines; the range reaches line {end_line + 1}"
        )
    return Lines(start_line + 1, end_line + 1)
