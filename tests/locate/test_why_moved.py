"""Naming the commit that moved, changed or deleted a block, in real repositories with real histories."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from kibitz.gitrepo import LineRange, ObjectReader, Walk, first_parent_walk
from kibitz.locate import AtCommit, PinnedMarker, Placement, Why, locate, why_in_worktree, why_moved
from tests.code_samples import APP, CLEANUP, RETRY, RETRY_LINES
from tests.git_helpers import git
from tests.locate.conftest import commit, pinned

EDITED_RETRY = RETRY.replace("except ConnectionError:", "except (ConnectionError, TimeoutError):")


def _write(repo: Path, path: str, text: str) -> None:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text, encoding="utf-8")


def _noise(repo: Path, count: int, name: str = "other.py") -> list[str]:
    """Commit ``count`` changes to a file no codemark is in; return the commits."""
    made = []
    for number in range(count):
        _write(repo, name, f"x = {number}  # {name}\n")
        made.append(commit(repo, f"noise {number} in {name}"))
    return made


def _why(reader: ObjectReader, markers: list[PinnedMarker], at: str) -> dict[str, Why | None]:
    placements = locate(reader, markers, AtCommit(at))
    return why_moved(reader, markers, at, placements)


def _counted_walks(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Record the paths of every history walk the search makes (each is still made)."""
    walks: list[list[str]] = []

    def counted(root: Path, target: str, paths: Sequence[str], **options: Any) -> Walk:
        walks.append(list(paths))
        return first_parent_walk(root, target, paths, **options)

    monkeypatch.setattr("kibitz.locate._why_moved.first_parent_walk", counted)
    return walks


def _named(why: Why | None) -> tuple[str | None, str | None, str | None]:
    """Return (action, commit, reason) of an answer."""
    assert why is not None
    return why.action, why.commit.commit if why.commit else None, why.reason


def test_an_edit_among_many_commits_is_named(repo: Path, reader: ObjectReader) -> None:
    retry = pinned(reader, "app.py", RETRY_LINES)
    helper = pinned(reader, "app.py", LineRange(4, 5), "m2")
    _noise(repo, 6)
    _write(repo, "app.py", APP.replace(RETRY, EDITED_RETRY))
    edit = commit(repo, "Catch timeouts too")
    _noise(repo, 6)
    # Lines added far below do not touch either block.
    _write(repo, "app.py", APP.replace(RETRY, EDITED_RETRY) + "\n\ndef tail():\n    return None\n")
    head = commit(repo, "Add tail")
    whys = _why(reader, [retry, helper], head)
    assert _named(whys["m1"]) == ("changed", edit, None)
    found = whys["m1"]
    assert found is not None
    assert found.commit is not None
    assert (found.commit.author, found.commit.subject) == ("Test Author", "Catch timeouts too")
    assert found.source == "computed"
    # Still where it was, as it was: nothing to explain.
    assert whys["m2"] is None


def test_the_last_of_two_edits_is_named(repo: Path, reader: ObjectReader) -> None:
    retry = pinned(reader, "app.py", RETRY_LINES)
    _write(repo, "app.py", APP.replace(RETRY, EDITED_RETRY))
    commit(repo, "Catch timeouts too")
    _noise(repo, 3)
    _write(repo, "app.py", APP.replace(RETRY, EDITED_RETRY.replace("attempts - 1", "attempts - 1  # last")))
    second = commit(repo, "Explain the last attempt")
    head = _noise(repo, 2)[-1]
    assert _named(_why(reader, [retry], head)["m1"]) == ("changed", second, None)


def test_a_renamed_file_names_the_rename(repo: Path, reader: ObjectReader) -> None:
    retry = pinned(reader, "app.py", RETRY_LINES)
    _noise(repo, 3)
    git(repo, "mv", "app.py", "core.py")
    rename = commit(repo, "Rename app to core")
    head = _noise(repo, 3)[-1]
    placements = locate(reader, [retry], AtCommit(head))
    assert (placements["m1"].path, placements["m1"].status) == ("core.py", "shifted")
    assert _named(why_moved(reader, [retry], head, placements)["m1"]) == ("renamed", rename, None)


def test_a_block_moved_to_another_file_names_the_move_through_later_renames(
    repo: Path, reader: ObjectReader
) -> None:
    retry = pinned(reader, "app.py", RETRY_LINES)
    _noise(repo, 3)
    _write(repo, "app.py", APP.replace(RETRY + "\n\n", ""))
    _write(repo, "net/retrying.py", "import socket\n\n\n" + RETRY)
    move = commit(repo, "Split retrying out")
    _noise(repo, 3)
    git(repo, "mv", "net/retrying.py", "net/retry.py")
    commit(repo, "Shorter name")
    head = _noise(repo, 2)[-1]
    placements = locate(reader, [retry], AtCommit(head))
    assert (placements["m1"].path, placements["m1"].status) == ("net/retry.py", "moved")
    assert _named(why_moved(reader, [retry], head, placements)["m1"]) == ("moved", move, None)


def test_edits_between_two_renames_are_followed(repo: Path, reader: ObjectReader) -> None:
    # app.py → middle.py (edited there) → last.py: the walk first looks at app.py and last.py only. Both
    # markers need the middle name; the second must not take the first one's question as settled.
    retry = pinned(reader, "app.py", RETRY_LINES)
    cleanup = pinned(reader, "app.py", LineRange(30, 33), "m2")
    git(repo, "mv", "app.py", "middle.py")
    commit(repo, "First rename")
    _noise(repo, 2)
    _write(repo, "middle.py", APP.replace(RETRY, EDITED_RETRY))
    edit = commit(repo, "Edit in the middle")
    _write(
        repo, "middle.py", APP.replace(RETRY, EDITED_RETRY).replace("remove_quietly(path)", "remove(path)")
    )
    second = commit(repo, "Edit cleanup in the middle")
    _noise(repo, 2)
    git(repo, "mv", "middle.py", "last.py")
    commit(repo, "Second rename")
    head = _noise(repo, 2)[-1]
    placements = locate(reader, [retry, cleanup], AtCommit(head))
    assert (placements["m1"].path, placements["m1"].status) == ("last.py", "changed")
    whys = why_moved(reader, [retry, cleanup], head, placements)
    assert _named(whys["m1"]) == ("changed", edit, None)
    assert _named(whys["m2"]) == ("changed", second, None)


def test_a_deletion_is_named_even_after_a_move(repo: Path, reader: ObjectReader) -> None:
    retry = pinned(reader, "app.py", RETRY_LINES)
    cleanup = pinned(reader, "app.py", LineRange(30, 33), "m2")
    _noise(repo, 2)
    _write(repo, "app.py", APP.replace(RETRY + "\n\n", ""))
    _write(repo, "net/retrying.py", "import socket\n\n\n" + RETRY)
    commit(repo, "Split retrying out")
    _noise(repo, 2)
    _write(repo, "net/retrying.py", "import socket\n")
    gone = commit(repo, "Drop retrying")
    _write(repo, "app.py", APP.replace(RETRY + "\n\n", "").replace("\n\n" + CLEANUP, ""))
    cleaned = commit(repo, "Drop cleanup")
    head = _noise(repo, 2)[-1]
    whys = _why(reader, [retry, cleanup], head)
    # Not "deleted by the split": it lived on in net/retrying.py until that was emptied.
    assert _named(whys["m1"]) == ("deleted", gone, None)
    assert _named(whys["m2"]) == ("deleted", cleaned, None)


@pytest.mark.parametrize(
    ("after", "walked"),
    [
        # The two ends pair app.py with core.py: one walk over both names finds the deletion.
        (APP.replace(RETRY + "\n\n", ""), [["app.py", "core.py"]]),
        # Rewritten too much to pair: the walk over app.py finds the rename and is done again.
        ("".join(f"setting_{n} = {n}\n" for n in range(80)), [["app.py"], ["app.py", "core.py"]]),
    ],
    ids=["paired", "rewritten"],
)
def test_a_block_deleted_after_its_file_was_renamed_names_the_deletion(
    repo: Path, reader: ObjectReader, monkeypatch: pytest.MonkeyPatch, after: str, walked: list[list[str]]
) -> None:
    # Deleted, so no place at the target names core.py.
    retry = pinned(reader, "app.py", RETRY_LINES)
    git(repo, "mv", "app.py", "core.py")
    commit(repo, "Rename app to core")
    _noise(repo, 2)
    _write(repo, "core.py", after)
    gone = commit(repo, "Drop retry")
    head = _noise(repo, 2)[-1]
    walks = _counted_walks(monkeypatch)
    assert _named(_why(reader, [retry], head)["m1"]) == ("deleted", gone, None)
    assert [sorted(paths) for paths in walks] == walked


def test_a_deleted_file_names_its_deletion(repo: Path, reader: ObjectReader) -> None:
    retry = pinned(reader, "app.py", RETRY_LINES)
    _noise(repo, 3)
    git(repo, "rm", "--quiet", "app.py")
    removed = commit(repo, "Remove the app")
    head = _noise(repo, 2)[-1]
    assert _named(_why(reader, [retry], head)["m1"]) == ("deleted", removed, None)


def test_a_change_merged_from_a_branch_names_the_merge(repo: Path, reader: ObjectReader) -> None:
    retry = pinned(reader, "app.py", RETRY_LINES)
    git(repo, "switch", "--quiet", "-c", "topic")
    _write(repo, "app.py", APP.replace(RETRY, EDITED_RETRY))
    commit(repo, "Catch timeouts too")
    git(repo, "switch", "--quiet", "main")
    _noise(repo, 2)
    git(repo, "merge", "--quiet", "--no-edit", "topic")
    merge = git(repo, "rev-parse", "HEAD").strip()
    head = _noise(repo, 2)[-1]
    why = _why(reader, [retry], head)["m1"]
    assert _named(why) == ("changed", merge, None)
    assert why is not None
    assert why.commit is not None
    assert why.commit.is_merge


def test_a_block_recorded_on_a_merged_branch_is_explained_from_the_merge_on(
    repo: Path, reader: ObjectReader
) -> None:
    git(repo, "switch", "--quiet", "-c", "topic")
    _noise(repo, 1, "topic.py")
    retry = pinned(reader, "app.py", RETRY_LINES)
    git(repo, "switch", "--quiet", "main")
    _noise(repo, 2)
    git(repo, "merge", "--quiet", "--no-edit", "topic")
    _noise(repo, 2)
    _write(repo, "app.py", APP.replace(RETRY, EDITED_RETRY))
    edit = commit(repo, "Catch timeouts too")
    head = _noise(repo, 1)[-1]
    assert _named(_why(reader, [retry], head)["m1"]) == ("changed", edit, None)


def test_no_commit_is_named_when_the_history_is_not_there(repo: Path, reader: ObjectReader) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    _write(repo, "app.py", APP.replace(RETRY, EDITED_RETRY))
    edited = commit(repo, "Catch timeouts too")
    retry = pinned(reader, "app.py", RETRY_LINES)
    # Recorded after the target: the target is not in its history.
    changed = Placement("m1", "app.py", 8, 14, "changed", 0.9)
    assert _named(why_moved(reader, [retry], first, {"m1": changed})["m1"]) == (
        "changed",
        None,
        "not_in_history",
    )
    # A recorded commit this clone never had.
    unknown = PinnedMarker("c-m1", {**retry.marker, "commit": "0" * 40})
    assert _named(why_moved(reader, [unknown], edited, {"m1": changed})["m1"]) == (
        "changed",
        None,
        "commit_missing",
    )
    # A block this clone cannot see has no commit either.
    unseen = Placement.unavailable("m1", "commit_missing")
    assert _named(why_moved(reader, [retry], edited, {"m1": unseen})["m1"]) == (None, None, "unavailable")


def test_the_search_stops_at_its_time_bound(repo: Path, reader: ObjectReader) -> None:
    retry = pinned(reader, "app.py", RETRY_LINES)
    _noise(repo, 3)
    _write(repo, "app.py", APP.replace(RETRY, EDITED_RETRY))
    head = commit(repo, "Catch timeouts too")
    placements = locate(reader, [retry], AtCommit(head))
    answer = why_moved(reader, [retry], head, placements, seconds=0)["m1"]
    assert _named(answer) == ("changed", None, "time_limit")
    # Given time, the same question has an answer.
    assert _named(why_moved(reader, [retry], head, placements)["m1"]) == ("changed", head, None)


def test_the_working_tree_keeps_heads_answer_unless_edits_moved_the_block() -> None:
    at_head = Placement("m1", "app.py", 8, 14, "changed", 0.9)
    found = Why("changed", None, "not_found")
    assert why_in_worktree(at_head, at_head, found) is found
    grown = Placement("m1", "app.py", 8, 15, "changed", 0.8)
    assert why_in_worktree(at_head, grown, found) == Why("changed", None, "uncommitted")
    assert why_in_worktree(at_head, at_head, found, edited=True) == Why("changed", None, "uncommitted")
    unchanged = Placement("m1", "app.py", 8, 14, "unchanged", 1.0)
    assert why_in_worktree(at_head, unchanged, found) is None
    gone = Placement.deleted("m1", 1.0)
    assert why_in_worktree(unchanged, gone, None) == Why("deleted", None, "uncommitted")


def test_markers_recorded_at_many_commits_share_one_walk(repo: Path, reader: ObjectReader) -> None:
    # Three recorded commits or more: one walk of the line serves them all, each from its own commit.
    first = pinned(reader, "app.py", RETRY_LINES, "m1")
    _noise(repo, 2)
    second = pinned(reader, "app.py", LineRange(4, 5), "m2")
    _noise(repo, 2)
    third = pinned(reader, "app.py", LineRange(30, 33), "m3")
    git(repo, "switch", "--quiet", "-c", "topic")
    _noise(repo, 1, "topic.py")
    on_branch = pinned(reader, "topic.py", LineRange(1, 1), "m4")
    git(repo, "switch", "--quiet", "main")
    _write(repo, "app.py", APP.replace(RETRY, EDITED_RETRY).replace("value + 1", "value + 2"))
    edit = commit(repo, "Edit retry and helper")
    _noise(repo, 2)
    _write(
        repo,
        "app.py",
        APP.replace(RETRY, EDITED_RETRY).replace("value + 1", "value + 2").replace(CLEANUP, ""),
    )
    dropped = commit(repo, "Drop cleanup")
    git(repo, "merge", "--quiet", "--no-edit", "topic")
    _write(repo, "topic.py", "changed = True\n")
    topic = commit(repo, "Change the topic")
    head = _noise(repo, 1)[-1]
    markers = [first, second, third, on_branch]
    whys = _why(reader, markers, head)
    assert _named(whys["m1"]) == ("changed", edit, None)
    assert _named(whys["m2"]) == ("changed", edit, None)
    assert _named(whys["m3"]) == ("deleted", dropped, None)
    # Recorded on a branch merged later: not on the line, found all the same.
    assert _named(whys["m4"]) == ("deleted", topic, None)
    # On a branch the target does not contain: nothing to name.
    git(repo, "switch", "--quiet", "-c", "old", first.marker["commit"])
    old = _noise(repo, 1, "old.py")[-1]
    moved_away = {
        marker_id: Placement(marker_id, "app.py", 1, 2, "changed", 0.9) for marker_id in ("m1", "m2", "m3")
    }
    whys = why_moved(reader, [first, second, third], old, moved_away)
    assert _named(whys["m1"]) == ("changed", None, "not_found")
    assert _named(whys["m2"]) == ("changed", None, "not_in_history")
    assert _named(whys["m3"]) == ("changed", None, "not_in_history")
