"""What the editor benchmark types: files, codemark blocks on them, and edits with their expected effect.

Pure functions over text and a seeded random generator, so that every run builds the same workload.

The files are held out from the relocation engine's tuning: they are cut from the Python standard library
of the interpreter running the benchmark (`bench/relocation.py` tunes and scores on ten PyPI packages, none
of which is in the standard library), or from any directory given instead.

The edits are those of someone typing between blocks: a new line inserted between two codemarks' blocks,
or a line typed earlier deleted again. Neither touches a block, so where every block must be afterwards is
known exactly: each line remembers which line of the original it is.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

FILE_LINES = 3000
# Tests, vendored code, and data written as Python (pydoc_data: help texts; encodings: codec tables).
SKIPPED_DIRECTORIES = frozenset(
    {"test", "tests", "idlelib", "lib2to3", "site-packages", "__pycache__", "pydoc_data", "encodings"}
)


def source_files(directory: Path) -> list[Path]:
    """Return the Python files under `directory`, largest first, tests and vendored code left out."""
    found = [
        path
        for path in directory.rglob("*.py")
        if not SKIPPED_DIRECTORIES.intersection(path.relative_to(directory).parts[:-1])
    ]
    return sorted(found, key=lambda path: (-path.stat().st_size, str(path)))


def cut_files(sources: Iterable[Path], count: int, lines: int = FILE_LINES) -> list[str]:
    """Return `count` texts of exactly `lines` lines each, filled with the sources' lines in order."""
    texts: list[str] = []
    current: list[str] = []
    for path in sources:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for line in text.splitlines():
            current.append(line.rstrip() + "\n")
            if len(current) == lines:
                texts.append("".join(current))
                current = []
                if len(texts) == count:
                    return texts
    raise ValueError(f"the sources hold fewer than {count} × {lines} lines")


def pick_blocks(text: str, count: int, rng: random.Random) -> list[tuple[int, int]]:
    """Return `count` blocks (1-based, inclusive) of 1–20 lines, starting on distinct non-blank lines.

    Blocks may nest or overlap, as codemarks do; each starts on a line with code so it has something to
    follow.
    """
    lines = text.splitlines()
    starts = [number for number, line in enumerate(lines, start=1) if line.strip()]
    chosen = sorted(rng.sample(starts[: max(1, len(starts) - 20)], count))
    return [(start, min(len(lines), start + rng.randint(1, 20) - 1)) for start in chosen]


@dataclass(frozen=True, slots=True)
class Edit:
    """One change of the buffer: insert `text` before line `line` (1-based), or delete line `line`."""

    line: int
    insert: str | None


@dataclass(slots=True)
class Buffer:
    """An editor buffer whose lines remember which line of the original they are (None: typed)."""

    lines: list[str]
    origin: list[int | None] = field(default_factory=list)
    typed: int = 0

    @classmethod
    def of(cls, text: str) -> Buffer:
        """Return the buffer holding `text`, every line its own origin."""
        lines = text.splitlines(keepends=True)
        return cls(lines, list(range(1, len(lines) + 1)))

    @property
    def text(self) -> str:
        """Return the buffer's text."""
        return "".join(self.lines)

    def apply(self, edit: Edit) -> None:
        """Apply `edit` to the buffer."""
        index = edit.line - 1
        if edit.insert is None:
            del self.lines[index]
            del self.origin[index]
        else:
            self.lines.insert(index, edit.insert)
            self.origin.insert(index, None)

    def where(self, block: tuple[int, int]) -> tuple[int, int]:
        """Return where an original block is in the buffer now (1-based, inclusive)."""
        return self.origin.index(block[0]) + 1, self.origin.index(block[1]) + 1


def next_edit(buffer: Buffer, blocks: Sequence[tuple[int, int]], rng: random.Random) -> Edit:
    """Return an edit between blocks that moves at least one block: insert a line, or delete a typed one.

    The place is above the last block's start and outside every block, so every edit moves a block and
    none changes one.
    """
    inside: set[int] = set()
    for first, last in blocks:
        inside.update(range(first + 1, last + 1))  # inserting before a block's first line keeps it whole
    last_start = max(first for first, _ in blocks)
    free = [
        number
        for number, origin in enumerate(buffer.origin, start=1)
        if number <= buffer.origin.index(last_start) + 1 and (origin is None or origin not in inside)
    ]
    typed = [number for number in free if buffer.origin[number - 1] is None]
    if typed and rng.random() < 0.3:
        return Edit(rng.choice(typed), None)
    buffer.typed += 1
    return Edit(rng.choice(free), f"# note {buffer.typed}: checked by hand\n")
