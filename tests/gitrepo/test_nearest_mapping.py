"""The best HEAD range for a working-tree selection over uncommitted lines, on real diffs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kibitz.gitrepo import LineRange, hunks_from_head, map_range_nearest
from tests.git_helpers import make_repo, numbered_lines

TEN = numbered_lines(10)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"file.txt": TEN})


def _edit(repo: Path, lines: list[str]) -> None:
    (repo / "file.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _nearest(repo: Path, start: int, end: int) -> LineRange:
    return map_range_nearest(hunks_from_head(repo, "file.txt"), LineRange(start, end), 10)


def test_unchanged_lines_map_exactly(repo: Path) -> None:
    _edit(repo, ["new", *TEN.splitlines()])
    assert _nearest(repo, 4, 6) == LineRange(3, 5)


def test_edited_lines_map_to_the_lines_they_replace(repo: Path) -> None:
    lines = TEN.splitlines()
    _edit(repo, [*lines[:3], "edited 4", "edited 5", *lines[5:]])
    assert _nearest(repo, 4, 5) == LineRange(4, 5)
    # A selection from an unchanged line into the edit spans the lines the whole edit replaced.
    assert _nearest(repo, 2, 4) == LineRange(2, 5)


def test_inserted_lines_map_around_the_insertion(repo: Path) -> None:
    lines = TEN.splitlines()
    _edit(repo, [*lines[:4], "inserted a", "inserted b", *lines[4:]])
    assert _nearest(repo, 5, 6) == LineRange(4, 5)


def test_insertion_at_the_top_and_bottom_stays_inside_the_file(repo: Path) -> None:
    lines = TEN.splitlines()
    _edit(repo, ["top", *lines, "bottom"])
    assert _nearest(repo, 1, 1) == LineRange(1, 1)
    assert _nearest(repo, 12, 12) == LineRange(10, 10)


def test_a_new_file_in_an_empty_head_maps_to_line_one() -> None:
    assert map_range_nearest([], LineRange(3, 4), 0) == LineRange(1, 1)
