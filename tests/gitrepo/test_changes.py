"""Changed files between commits and in the working tree: renames paired, untracked and buffers added."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kibitz.gitrepo import FileChange, GitTimeout, changes_between, parse_name_status, working_tree_changes
from tests.git_helpers import git, make_repo, numbered_lines

BIG = numbered_lines(30, prefix="a fairly distinctive line")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"src/old.py": BIG, "keep.py": "k\n", "gone.py": "g\n"})


def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def test_parse_name_status() -> None:
    raw = b"M\0a.py\0R087\0old.py\0new dir/new.py\0D\0gone.py\0A\0added.py\0C100\0x.py\0y.py\0X\0?\0"
    assert parse_name_status(raw) == [
        FileChange("modified", "a.py", "a.py"),
        FileChange("renamed", "old.py", "new dir/new.py"),
        FileChange("deleted", "gone.py", None),
        FileChange("added", None, "added.py"),
        FileChange("copied", "x.py", "y.py"),
    ]
    assert parse_name_status(b"") == []


def test_changes_between_commits_pair_renames(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "mv", "src/old.py", "src/new.py")
    (repo / "src/new.py").write_text(BIG + "one more line\n", encoding="utf-8")
    (repo / "gone.py").unlink()
    (repo / "added.py").write_text("new\n", encoding="utf-8")
    (repo / "keep.py").write_text("kept, edited\n", encoding="utf-8")
    second = _commit(repo, "second")
    assert sorted(changes_between(repo, first, second), key=repr) == sorted(
        [
            FileChange("renamed", "src/old.py", "src/new.py"),
            FileChange("deleted", "gone.py", None),
            FileChange("added", None, "added.py"),
            FileChange("modified", "keep.py", "keep.py"),
        ],
        key=repr,
    )
    assert changes_between(repo, second, second) == []
    # Backwards, the rename runs the other way.
    assert FileChange("renamed", "src/new.py", "src/old.py") in changes_between(repo, second, first)
    # Within a deadline the same; past it, nothing is run.
    soon = time.monotonic() + 30
    assert changes_between(repo, first, second, deadline=soon) == changes_between(repo, first, second)
    with pytest.raises(GitTimeout):
        changes_between(repo, first, second, deadline=time.monotonic() - 1)


def test_working_tree_changes_include_staged_unstaged_untracked_and_buffers(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "mv", "src/old.py", "src/moved.py")  # staged rename
    (repo / "keep.py").write_text("edited on disk\n", encoding="utf-8")  # unstaged edit
    (repo / "gone.py").unlink()  # deleted on disk
    (repo / "draft.py").write_text("untracked\n", encoding="utf-8")
    (repo / ".gitignore").write_text("*.log\n", encoding="utf-8")
    (repo / "debug.log").write_text("ignored\n", encoding="utf-8")
    changes = working_tree_changes(repo, head, {"gone.py": "still open\n", "unsaved.py": "new\n"})
    assert sorted(changes, key=repr) == sorted(
        [
            FileChange("renamed", "src/old.py", "src/moved.py"),
            FileChange("modified", "keep.py", "keep.py"),
            # The buffer still shows the file deleted on disk.
            FileChange("modified", "gone.py", "gone.py"),
            FileChange("added", None, "draft.py"),
            FileChange("added", None, ".gitignore"),
            FileChange("added", None, "unsaved.py"),
        ],
        key=repr,
    )


def test_a_buffer_over_a_clean_file_modifies_it(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    assert working_tree_changes(repo, head) == []
    assert working_tree_changes(repo, head, {"keep.py": "typing…\n"}) == [
        FileChange("modified", "keep.py", "keep.py")
    ]


def test_before_the_first_commit_every_file_is_new(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet")
    (tmp_path / "a.py").write_text("a\n", encoding="utf-8")
    git(tmp_path, "add", "a.py")
    (tmp_path / "b.py").write_text("b\n", encoding="utf-8")
    assert sorted(working_tree_changes(tmp_path, None), key=repr) == [
        FileChange("added", None, "a.py"),
        FileChange("added", None, "b.py"),
    ]
