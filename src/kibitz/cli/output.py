"""How text output adapts to a terminal: colour, aligned columns and a pager there, plain lines elsewhere.

Scripts that read `kibitz ls` through a pipe or a file get exactly the plain lines (docs/cli.md); only a
person at a terminal gets colour (unless NO_COLOR is set, https://no-color.org), columns aligned across
lines, and a pager when the output is taller than the window.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path

import click

from kibitz.cli.terminal import echo_styled, page, printable, stdout_is_terminal

# Colours of codemark statuses; types are dimmed so that the summary stands out.
STATUS_COLOURS = {"open": "green", "resolved": "magenta", "archived": "bright_black"}


def on_terminal() -> bool:
    """Tell whether standard output is a terminal (a person reads it, not a program)."""
    return stdout_is_terminal()


def colour_wanted() -> bool:
    """Tell whether to colour standard output: a terminal, NO_COLOR unset or empty, TERM not dumb."""
    return on_terminal() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def paint(text: str, colour: str | None = None, *, bold: bool = False, dim: bool = False) -> str:
    """Return ``text`` in a colour when colour is wanted, else unchanged."""
    if not colour_wanted() or not (colour or bold or dim):
        return text
    return click.style(text, fg=colour, bold=bold or None, dim=dim or None)


def status_colour(status: str) -> str | None:
    """Return the colour of a codemark status."""
    return STATUS_COLOURS.get(status)


def aligned(rows: Sequence[Sequence[str]], *, gap: str = "  ") -> list[str]:
    """Return rows of cells as lines, every column but the last padded to its widest cell.

    Cells may hold colour codes: widths are measured on the visible text.
    """
    if not rows:
        return []
    columns = max(len(row) for row in rows)
    widths = [max((_visible_len(row[i]) for row in rows if i < len(row)), default=0) for i in range(columns)]
    lines = []
    for row in rows:
        cells = [
            cell + " " * (widths[i] - _visible_len(cell)) if i < len(row) - 1 else cell
            for i, cell in enumerate(row)
        ]
        lines.append(gap.join(cells).rstrip())
    return lines


def _visible_len(cell: str) -> int:
    return len(click.unstyle(cell))


def show(text: str, *, printable_already: bool = False) -> None:
    """Print text on stdout; on a terminal through a pager when it is taller than the window.

    Its control characters are escaped, unless `printable_already` says that was done before our own
    colour codes were added.
    """
    shown = text if printable_already else printable(text)
    if on_terminal() and shown.count("\n") + 1 >= shutil.get_terminal_size().lines:
        page(shown, colour=_pager_colour())
    else:
        echo_styled(shown)


def _pager_colour() -> bool | None:
    """Return what to tell click about colour in the pager: None lets it set up `less` (LESS=-R)."""
    if not colour_wanted():
        return False
    pager = shlex.split(os.environ.get("PAGER") or "less") or ["less"]
    return None if Path(pager[0]).stem == "less" else True
