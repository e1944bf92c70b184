"""Working-tree ranges map to HEAD through `git diff -U0` hunks, on real repositories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kibitz.gitrepo import Hunk, LineRange, hunks_from_head, map_range_through_hunks, parse_hunks
from tests.git_helpers import GIT_ENV, git, make_repo, numbered_lines

TEN = numbered_lines(10)


def map_range_to_head(repo: Path, path: str, line_range: LineRange) -> LineRange | None:
    """Map a working-tree range to HEAD through the file's real `git diff -U0 HEAD`."""
    return map_range_through_hunks(hunks_from_head(repo, path), line_range)


def _lines(text: str) -> list[str]:
    return text.splitlines()


def _edit(repo: Path, path: str, new_lines: list[str]) -> None:
    (repo / path).write_text("".join(line + "\n" for line in new_lines), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"file.txt": TEN, "other.txt": "x\n"})


def test_clean_file_maps_to_itself(repo: Path) -> None:
    assert map_range_to_head(repo, "file.txt", LineRange(3, 5)) == LineRange(3, 5)


def test_insertion_above_shifts_the_range(repo: Path) -> None:
    lines = _lines(TEN)
    _edit(repo, "file.txt", ["new a", "new b", *lines])
    # Working-tree lines 5-7 are HEAD lines 3-5.
    assert map_range_to_head(repo, "file.txt", LineRange(5, 7)) == LineRange(3, 5)


def test_deletion_above_shifts_the_range(repo: Path) -> None:
    lines = _lines(TEN)
    _edit(repo, "file.txt", lines[2:])
    assert map_range_to_head(repo, "file.txt", LineRange(1, 3)) == LineRange(3, 5)


def test_replacement_above_with_more_lines_shifts_by_the_difference(repo: Path) -> None:
    lines = _lines(TEN)
    _edit(repo, "file.txt", ["changed 1", "extra", "extra", *lines[1:]])
    assert map_range_to_head(repo, "file.txt", LineRange(5, 7)) == LineRange(3, 5)


def test_change_below_does_not_matter(repo: Path) -> None:
    lines = _lines(TEN)
    _edit(repo, "file.txt", [*lines[:8], "changed 9"])
    assert map_range_to_head(repo, "file.txt", LineRange(3, 5)) == LineRange(3, 5)


def test_change_just_around_the_range_does_not_matter(repo: Path) -> None:
    lines = _lines(TEN)
    _edit(repo, "file.txt", [*lines[:1], "changed 2", *lines[2:5], "changed 6", *lines[6:]])
    assert map_range_to_head(repo, "file.txt", LineRange(3, 5)) == LineRange(3, 5)


@pytest.mark.parametrize("changed_line", [3, 4, 5])
def test_changed_line_inside_the_range_is_reported(repo: Path, changed_line: int) -> None:
    lines = _lines(TEN)
    lines[changed_line - 1] = "changed"
    _edit(repo, "file.txt", lines)
    assert map_range_to_head(repo, "file.txt", LineRange(3, 5)) is None


def test_inserted_line_inside_the_range_is_reported(repo: Path) -> None:
    lines = _lines(TEN)
    _edit(repo, "file.txt", [*lines[:3], "inserted", *lines[3:]])
    assert map_range_to_head(repo, "file.txt", LineRange(3, 6)) is None


def test_deletion_between_selected_lines_is_reported(repo: Path) -> None:
    lines = _lines(TEN)
    del lines[3]  # HEAD line 4 is gone: working-tree 3-4 are HEAD 3 and 5, not one block of HEAD.
    _edit(repo, "file.txt", lines)
    assert map_range_to_head(repo, "file.txt", LineRange(3, 4)) is None


def test_deletion_right_after_the_range_does_not_matter(repo: Path) -> None:
    lines = _lines(TEN)
    del lines[5]
    _edit(repo, "file.txt", lines)
    assert map_range_to_head(repo, "file.txt", LineRange(3, 5)) == LineRange(3, 5)


def test_several_hunks_add_up(repo: Path) -> None:
    lines = _lines(TEN)
    # +2 at the top, -1 (line 2), then the range, then an edit below.
    _edit(repo, "file.txt", ["a", "b", lines[0], *lines[2:8], "changed", lines[9]])
    # HEAD 3-5 → working tree 4-6.
    assert map_range_to_head(repo, "file.txt", LineRange(4, 6)) == LineRange(3, 5)


def test_staged_but_uncommitted_file_is_all_changes(repo: Path) -> None:
    (repo / "new.txt").write_text(TEN, encoding="utf-8")
    git(repo, "add", "new.txt")
    assert map_range_to_head(repo, "new.txt", LineRange(1, 1)) is None


def test_file_names_are_not_globs(repo: Path) -> None:
    (repo / "a*.txt").write_text(TEN, encoding="utf-8")
    (repo / "ab.txt").write_text(TEN, encoding="utf-8")
    git(repo, "add", "--", "a*.txt", "ab.txt")
    git(repo, "commit", "--quiet", "--message", "two files")
    _edit(repo, "ab.txt", ["changed", *_lines(TEN)[1:]])
    assert map_range_to_head(repo, "a*.txt", LineRange(1, 2)) == LineRange(1, 2)


def test_parse_hunks_reads_omitted_counts() -> None:
    diff = "@@ -3 +3,0 @@\n-x\n@@ -0,0 +1 @@\n+y\n@@ -7,2 +8,3 @@ def f():\n"
    assert parse_hunks(diff) == [Hunk(3, 1, 3, 0), Hunk(0, 0, 1, 1), Hunk(7, 2, 8, 3)]


def test_pure_mapping_deletion_at_top_of_file() -> None:
    # "@@ -1,2 +0,0 @@": HEAD lines 1-2 removed before working-tree line 1.
    assert map_range_through_hunks([Hunk(1, 2, 0, 0)], LineRange(1, 1)) == LineRange(3, 3)


_line = st.sampled_from(["alpha", "beta", "gamma", "delta", "", "}"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    old=st.lists(_line, min_size=1, max_size=25),
    edits=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 3), st.lists(_line, max_size=3)), max_size=4),
    start=st.integers(1, 30),
    length=st.integers(0, 5),
)
def test_a_mapped_range_holds_the_same_lines_at_head(
    tmp_path: Path, old: list[str], edits: list[tuple[int, int, list[str]]], start: int, length: int
) -> None:
    new = list(old)
    for at, remove, insert in edits:
        at = min(at, len(new))
        new[at : at + remove] = insert
    end = start + length
    if end > len(new):
        return
    old_file, new_file = tmp_path / "old.txt", tmp_path / "new.txt"
    old_file.write_text("".join(line + "\n" for line in old), encoding="utf-8")
    new_file.write_text("".join(line + "\n" for line in new), encoding="utf-8")
    # --no-index diffs two plain files: the same hunk headers as `git diff -U0 HEAD`, without a repo.
    diff = subprocess.run(
        ["git", "diff", "--no-index", "--no-color", "-U0", str(old_file), str(new_file)],
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    mapped = map_range_through_hunks(parse_hunks(diff), LineRange(start, end))
    if mapped is not None:
        assert old[mapped.start_line - 1 : mapped.end_line] == new[start - 1 : end]
