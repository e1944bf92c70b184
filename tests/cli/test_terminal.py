"""The one door to the terminal: `printable` and `json_text`, and that every command prints through it."""

from __future__ import annotations

import ast
import json
import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kibitz
from kibitz.cli import terminal
from kibitz.cli.terminal import json_safe, json_text, printable

CLI = Path(kibitz.__file__).parent / "cli"
# What writes to a terminal: click's printing and asking, Python's print, the standard streams.
_WRITERS = {"echo", "secho", "echo_via_pager", "confirm", "prompt", "print", "write", "stdout", "stderr"}


def _unsafe(char: str) -> bool:
    code = ord(char)
    return (code < 32 and char not in "\n\t") or 127 <= code <= 159 or char in "\u202e\u2066\u200f"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),
        ("\x1b]8;;https://x/\x1b\\a\x1b]8;;\x1b\\", "\\x1b]8;;https://x/\\x1b\\a\\x1b]8;;\\x1b\\"),
        ("\x1b[2J", "\\x1b[2J"),
        ("\x9b2J\x9d0;t\x9c", "\\x9b2J\\x9d0;t\\x9c"),
        ("a\rb\x08\x7f", "a\\x0db\\x08\\x7f"),
        ("abc\u202edef", "abc\\u202edef"),
        ("line one\r\nline two\n\tindented", "line one\nline two\n\tindented"),
        ("emoji ❤️ 👨‍👩‍👧 stay", "emoji ❤️ 👨‍👩‍👧 stay"),
    ],
)
def test_printable_shows_controls_as_escapes(text: str, shown: str) -> None:
    assert printable(text) == shown


@given(st.text())
def test_nothing_unsafe_survives_printable(text: str) -> None:
    assert not any(_unsafe(char) for char in printable(text))


@given(
    st.recursive(
        st.none() | st.text() | st.integers(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_json_text_is_the_same_json_without_raw_controls(value: object) -> None:
    for text in (json_text(value), json_text(value, indent=None, compact=True)):
        assert json.loads(text) == value
        assert not any(_unsafe(char) for char in text.replace("\n", ""))
    assert json_safe('{"a": "\x9b"}') == '{"a": "\\u009b"}'


def _writes(tree: ast.Module) -> list[int]:
    """Return the lines that call a terminal writer other than through `kibitz.cli.terminal`."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in _WRITERS:
            owner = node.value
            by_module = isinstance(owner, ast.Name) and owner.id in {"click", "sys"}
            by_stream = isinstance(owner, ast.Attribute) and owner.attr in {"stdout", "stderr"}
            if by_module or by_stream:
                lines.append(node.lineno)
        elif isinstance(node, ast.Name) and node.id == "print":
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module in {"click", "sys"}:
            lines.extend(node.lineno for alias in node.names if alias.name in _WRITERS)
    return lines


def test_every_command_prints_through_the_terminal_module() -> None:
    raw = {
        path.name: lines
        for path in sorted(CLI.glob("*.py"))
        if path.name != "terminal.py" and (lines := _writes(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert raw == {}, "print through kibitz.cli.terminal (echo, confirm, prompt), never raw"


def test_log_records_reach_stderr_escaped() -> None:
    handler = terminal.stderr_log_handler("%(levelname)s %(message)s")
    record = logging.makeLogRecord(
        {"msg": "refused: %s", "args": ("a\x1b]52;c;eA==\x07b",), "levelname": "WARNING"}
    )
    assert handler.format(record) == "WARNING refused: a\\x1b]52;c;eA==\\x07b"
