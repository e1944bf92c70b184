"""Markers located in the working tree and unsaved buffers: only files that differ from HEAD are redone."""

from __future__ import annotations

from pathlib import Path

from kibitz.gitrepo import LineRange, ObjectReader
from kibitz.locate import (
    AtCommit,
    InWorkingTree,
    PinnedMarker,
    Placement,
    locate,
    locate_at_head,
    locate_from_head,
)
from tests.code_samples import APP, RETRY, RETRY_LINES
from tests.git_helpers import git
from tests.locate.conftest import commit, pinned


def _where(placement: Placement) -> tuple[str | None, int | None, int | None, str]:
    return placement.path, placement.start_line, placement.end_line, placement.status


def _here(reader: ObjectReader, marker: PinnedMarker, buffers: dict[str, str] | None = None) -> Placement:
    return locate(reader, [marker], InWorkingTree(buffers or {}))[marker.marker["id"]]


def test_a_clean_tree_is_head(repo: Path, reader: ObjectReader) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    (repo / "app.py").write_text("# header\n" + APP, encoding="utf-8")
    head = commit(repo, "header")
    assert _here(reader, marker) == locate(reader, [marker], AtCommit(head))["m1"]
    assert _where(_here(reader, marker)) == ("app.py", 9, 15, "shifted")


def test_uncommitted_edits_and_unsaved_buffers(repo: Path, reader: ObjectReader) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    (repo / "app.py").write_text("# one\n# two\n" + APP, encoding="utf-8")
    assert _where(_here(reader, marker)) == ("app.py", 10, 16, "shifted")
    # The buffer wins over the file on disk.
    buffer = "# one\n# two\n# three\n" + APP.replace("attempts=3", "attempts=5")
    place = _here(reader, marker, {"app.py": buffer})
    assert _where(place) == ("app.py", 11, 17, "changed")
    assert 0.5 < place.confidence < 1


def test_a_block_moved_into_an_untracked_file_or_a_buffer(repo: Path, reader: ObjectReader) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    (repo / "app.py").write_text(APP.replace(RETRY, ""), encoding="utf-8")
    (repo / "net.py").write_text("import socket\n\n\n" + RETRY, encoding="utf-8")
    assert _where(_here(reader, marker)) == ("net.py", 4, 10, "moved")
    (repo / "net.py").unlink()
    assert _here(reader, marker).status == "deleted"
    assert _where(_here(reader, marker, {"unsaved.py": RETRY})) == ("unsaved.py", 1, 7, "moved")


def test_a_block_gone_at_head_is_found_again_in_the_tree(repo: Path, reader: ObjectReader) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    (repo / "app.py").write_text(APP.replace(RETRY, ""), encoding="utf-8")
    commit(repo, "delete")
    assert _here(reader, marker).status == "deleted"
    (repo / "app.py").write_text(APP, encoding="utf-8")
    assert _where(_here(reader, marker)) == ("app.py", 8, 14, "unchanged")


def test_a_provisional_marker_is_found_where_it_is_on_disk(repo: Path, reader: ObjectReader) -> None:
    lines = APP.splitlines(keepends=True)
    added = "def total_price(order_lines):\n    return sum(line.amount for line in order_lines)\n\n\n"
    (repo / "app.py").write_text("".join([*lines[:7], added, *lines[7:]]), encoding="utf-8")
    marker = pinned(reader, "app.py", LineRange(8, 9))
    assert marker.marker["provisional"]
    assert _where(_here(reader, marker)) == ("app.py", 8, 9, "unchanged")
    # Not at HEAD, where its code does not exist: not committed yet, which is not deleted.
    at_head = locate(reader, [marker], AtCommit(marker.marker["commit"]))["m1"]
    assert (at_head.status, at_head.reason) == ("unavailable", "uncommitted")
    (repo / "app.py").write_text("# header\n" + (repo / "app.py").read_text(), encoding="utf-8")
    head = commit(repo, "commit it")
    assert _where(locate(reader, [marker], AtCommit(head))["m1"]) == ("app.py", 9, 10, "unchanged")


def test_places_at_head_are_kept_and_only_files_unlike_head_are_relocated(
    repo: Path, reader: ObjectReader
) -> None:
    retry = pinned(reader, "app.py", RETRY_LINES, "m1")
    other = pinned(reader, "other.py", LineRange(1, 1), "m2")
    head = locate_at_head(reader, [retry, other], git(repo, "rev-parse", "HEAD").strip())
    assert _where(head.placements["m1"]) == ("app.py", 8, 14, "unchanged")

    typed = {"app.py": "# typed\n" + APP}
    placed = locate_from_head(reader, head, InWorkingTree(typed))
    assert placed == locate(reader, [retry, other], InWorkingTree(typed))
    assert _where(placed["m1"]) == ("app.py", 9, 15, "shifted")
    # other.py is HEAD's: its block is where HEAD has it, not located again.
    assert placed["m2"] is head.placements["m2"]

    # A buffer holding HEAD's text is no change either.
    untouched = locate_from_head(reader, head, InWorkingTree({"app.py": APP, "other.py": "x = 1\n"}))
    assert untouched["m1"] is head.placements["m1"]
    assert untouched["m2"] is head.placements["m2"]

    # A file changed on disk is relocated, buffer or not.
    (repo / "other.py").write_text("# header\nx = 1\n", encoding="utf-8")
    assert _where(locate_from_head(reader, head, InWorkingTree(typed))["m2"]) == ("other.py", 2, 2, "shifted")


def test_a_block_gone_at_head_is_looked_for_in_the_buffers(repo: Path, reader: ObjectReader) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    (repo / "app.py").write_text(APP.replace(RETRY, ""), encoding="utf-8")
    head = locate_at_head(reader, [marker], commit(repo, "delete"))
    assert [pinned.marker["id"] for pinned in head.unsure] == ["m1"]
    assert locate_from_head(reader, head, InWorkingTree({"other.py": "x = 1\n"}))["m1"].status == "deleted"
    back = locate_from_head(reader, head, InWorkingTree({"other.py": "x = 1\n\n" + RETRY}))
    assert _where(back["m1"]) == ("other.py", 3, 9, "moved")
