"""The one door from the CLI to a terminal: text from other people never reaches it raw.

Titles, texts, replies, names, paths and error messages come from the server, so from other people. A
terminal obeys escape sequences in what it is given: OSC 52 writes the clipboard, OSC 8 makes links that
say one thing and open another, OSC 0 sets the window title, CSI clears the screen or moves the cursor,
and the C1 controls (U+0080–U+009F) do the same in one character on many terminals. So every line the CLI
prints goes through `printable`, which shows each control character as a visible escape (``\\x1b``) and
keeps only newlines and tabs; bidirectional overrides and isolates are shown the same way, since they
reorder what a reader sees. ``--json`` output is JSON: JSON escapes the C0 controls itself, and
`json_text` escapes the rest the same way. Commands print through `echo`, `confirm` and `prompt` here,
never through click's or Python's own (a test holds the CLI to it). Colour, when there is any, is added
to text after it went through `printable`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from typing import Any

import click

# C0 controls except tab and newline, DEL, and the C1 controls; then the bidirectional embeddings,
# overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the implicit marks (U+200E, U+200F, U+061C).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# In JSON text the C0 controls are escaped already; the others are only inside strings, where a `\\u`
# escape of four hex digits means the same character to every JSON reader.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """Return ``text`` with every control character but newline and tab shown as an escape (``\\x1b``)."""
    # A carriage return before a newline is a Windows line end, not an attempt to overwrite the line.
    return _UNSAFE.sub(_escaped, text.replace("\r\n", "\n"))


def json_safe(text: str) -> str:
    """Return JSON text with the characters JSON leaves raw (DEL, C1, bidi) as escapes such as ``\\u009b``."""
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def json_text(value: Any, *, indent: int | None = 2, compact: bool = False) -> str:
    """Return ``value`` as JSON whose text holds no control character, whatever the strings in it hold."""
    separators = (",", ":") if compact else None
    return json_safe(json.dumps(value, indent=indent, ensure_ascii=False, separators=separators))


def echo(message: str = "", *, err: bool = False) -> None:
    """Print a line on stdout (stderr with ``err``), its control characters escaped."""
    click.echo(printable(message), err=err)


class _PrintableFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def stderr_log_handler(fmt: str) -> logging.Handler:
    """Return a log handler writing to stderr, each record's control characters escaped like `echo`'s.

    A long-running command whose stdout is not for people (the language server speaks its protocol there)
    logs through it: a record may quote a message from the server or a file's path.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter(fmt))
    return handler


def stdout_is_terminal() -> bool:
    """Tell whether standard output is a terminal (a person reads it, not a program)."""
    try:
        return sys.stdout.isatty()
    except ValueError:  # closed
        return False


def interactive() -> bool:
    """Tell whether both standard input and output are terminals (an editor or a question can run)."""
    return sys.stdin.isatty() and stdout_is_terminal()


def silence_stdout() -> None:
    """Send whatever is still buffered for standard output nowhere (its reader has gone)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def echo_styled(text: str) -> None:
    """Print text already made `printable`, with colour codes of our own added (a coloured listing)."""
    click.echo(text)


def page(text: str, *, colour: bool | None) -> None:
    """Show text already made `printable` through the pager (`colour`: as click's echo_via_pager takes it)."""
    click.echo_via_pager(text, color=colour)


def echo_json_document(text: str) -> None:
    """Print a JSON document the server wrote (an export archive) as it is, but for `json_safe`."""
    click.echo(json_safe(text), nl=False)


def confirm(question: str, *, default: bool = False, abort: bool = False) -> bool:
    """Ask a yes/no question on stderr, its control characters escaped."""
    return click.confirm(printable(question), default=default, abort=abort, err=True)


def prompt(
    text: str, *, hide_input: bool = False, confirmation_prompt: bool = False, default: str | None = None
) -> str:
    """Ask for a line on stderr, the question's control characters escaped."""
    return str(
        click.prompt(
            printable(text),
            hide_input=hide_input,
            confirmation_prompt=confirmation_prompt,
            default=default,
            show_default=False,
            err=True,
        )
    )
