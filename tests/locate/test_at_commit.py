"""Markers located at commits of a real repository: each kind of change, renames, references, search."""

from __future__ import annotations

from pathlib import Path

from kibitz.client import Marker
from kibitz.gitrepo import LineRange, ObjectReader
from kibitz.locate import AtCommit, PinnedMarker, Placement, locate
from tests.code_samples import APP, RETRY, RETRY_LINES
from tests.git_helpers import git, make_repo
from tests.locate.conftest import commit, pinned


def _where(placement: Placement) -> tuple[str | None, int | None, int | None, str]:
    return placement.path, placement.start_line, placement.end_line, placement.status


def _at(reader: ObjectReader, marker: PinnedMarker, commit_id: str) -> Placement:
    return locate(reader, [marker], AtCommit(commit_id))[marker.marker["id"]]


def test_each_kind_of_change(repo: Path, reader: ObjectReader) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    head = git(repo, "rev-parse", "HEAD").strip()
    assert _where(_at(reader, marker, head)) == ("app.py", 8, 14, "unchanged")

    (repo / "app.py").write_text("# a header\n# of two lines\n" + APP, encoding="utf-8")
    inserted = commit(repo, "insert above")
    assert _where(_at(reader, marker, inserted)) == ("app.py", 10, 16, "shifted")

    (repo / "app.py").write_text(APP.replace(RETRY, "") + "\n\n" + RETRY, encoding="utf-8")
    moved = commit(repo, "move to the end")
    place = _at(reader, marker, moved)
    assert place.status == "moved"
    assert place.start_line is not None
    assert (repo / "app.py").read_text().splitlines()[place.start_line - 1] == RETRY.splitlines()[0]

    edited = APP.replace("except ConnectionError:", "except (ConnectionError, TimeoutError):")
    (repo / "app.py").write_text(edited, encoding="utf-8")
    changed = commit(repo, "edit inside")
    place = _at(reader, marker, changed)
    assert _where(place) == ("app.py", 8, 14, "changed")
    assert 0.5 < place.confidence < 1

    (repo / "app.py").write_text(APP.replace(RETRY, ""), encoding="utf-8")
    deleted = commit(repo, "delete")
    assert _at(reader, marker, deleted).status == "deleted"
    assert _at(reader, marker, deleted).path is None


def test_a_renamed_file_is_followed(repo: Path, reader: ObjectReader) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    git(repo, "mv", "app.py", "core.py")
    renamed = commit(repo, "rename")
    assert _where(_at(reader, marker, renamed)) == ("core.py", 8, 14, "shifted")
    (repo / "core.py").write_text("# header\n" + APP, encoding="utf-8")
    git(repo, "mv", "core.py", "src.py")
    both = commit(repo, "rename and edit")
    assert _where(_at(reader, marker, both)) == ("src.py", 9, 15, "shifted")


def test_a_block_moved_into_another_file(repo: Path, reader: ObjectReader) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    (repo / "app.py").write_text(APP.replace(RETRY, ""), encoding="utf-8")
    (repo / "net.py").write_text("import socket\n\n\n" + RETRY, encoding="utf-8")
    moved = commit(repo, "move into net.py")
    assert _where(_at(reader, marker, moved)) == ("net.py", 4, 10, "moved")


def test_an_untouched_file_is_not_read(repo: Path, reader: ObjectReader) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    (repo / "other.py").write_text("x = 2\n", encoding="utf-8")
    later = commit(repo, "elsewhere")
    assert _where(_at(reader, marker, later)) == ("app.py", 8, 14, "unchanged")


def test_without_a_readable_reference_the_code_is_searched_for(repo: Path, reader: ObjectReader) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    # The commit it was recorded at is unknown here (amended away, never fetched).
    lost = PinnedMarker(marker.codemark_id, {**marker.marker, "commit": "f" * 40})
    (repo / "app.py").write_text("# header\n" + APP.replace(RETRY, ""), encoding="utf-8")
    (repo / "lib").mkdir()
    (repo / "lib/net.py").write_text("import socket\n\n\n" + RETRY, encoding="utf-8")
    head = commit(repo, "moved")
    assert _where(_at(reader, lost, head)) == ("lib/net.py", 4, 10, "moved")
    # In its own file, found by its code, with the lines it has there.
    (repo / "app.py").write_text("# header\n" + APP, encoding="utf-8")
    (repo / "lib/net.py").unlink()
    back = commit(repo, "back")
    assert _where(_at(reader, lost, back)) == ("app.py", 9, 15, "shifted")
    (repo / "app.py").write_text(APP.replace(RETRY, ""), encoding="utf-8")
    gone = commit(repo, "gone")
    # Not found, but its commit is not here either: this clone cannot tell it is gone.
    assert (_at(reader, lost, gone).status, _at(reader, lost, gone).reason) == (
        "unavailable",
        "commit_missing",
    )


def test_an_upstream_reference_stands_in_for_a_missing_commit(tmp_path: Path) -> None:
    upstream = make_repo(tmp_path / "upstream", {"app.py": APP})
    base = git(upstream, "rev-parse", "HEAD").strip()
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(upstream), str(clone))
    with ObjectReader(clone) as reader:
        marker = pinned(reader, "app.py", RETRY_LINES)
        # The marker's own commit is missing; only the reference at `base` can be read.
        moved: Marker = {
            **marker.marker,
            "commit": "f" * 40,
            "start_line": 1,
            "end_line": 2,
            "references": [
                {"kind": "upstream", "commit": base, "path": "app.py", "start_line": 8, "end_line": 14}
            ],
        }
        (clone / "app.py").write_text("# header\n" + APP, encoding="utf-8")
        head = commit(clone, "header")
        place = _at(reader, PinnedMarker("c1", moved), head)
        assert _where(place) == ("app.py", 9, 15, "shifted")


def test_many_markers_in_one_file_share_one_diff(repo: Path, reader: ObjectReader) -> None:
    markers = [
        pinned(reader, "app.py", RETRY_LINES, "retry"),
        pinned(reader, "app.py", LineRange(4, 5), "helper"),
        pinned(reader, "app.py", LineRange(17, 27), "main"),
    ]
    (repo / "app.py").write_text(
        "# header\n" + APP.replace("return value + 1", "return value + 2"), encoding="utf-8"
    )
    later = commit(repo, "edit helper")
    found = locate(reader, markers, AtCommit(later))
    assert _where(found["retry"]) == ("app.py", 9, 15, "shifted")
    assert _where(found["helper"]) == ("app.py", 5, 6, "changed")
    assert _where(found["main"]) == ("app.py", 18, 28, "shifted")
    assert {placement.source for placement in found.values()} == {"computed"}
