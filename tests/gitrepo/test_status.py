"""The working tree's state for locating, and the stamp that tells when HEAD or the index moved."""

from __future__ import annotations

from pathlib import Path

import pytest

from kibitz.gitrepo import FileChange, GitError, git_dirs, state_stamp, tree_status
from tests.git_helpers import commit_all, git, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"app.py": "a = 1\n", "lib.py": "b = 2\n"})


def test_the_status_is_head_and_the_changes_on_disk(repo: Path) -> None:
    (repo / "app.py").write_text("a = 10\n", encoding="utf-8")
    (repo / "new.py").write_text("c = 3\n", encoding="utf-8")
    (repo / "lib.py").unlink()
    status = tree_status(repo)
    assert status.head == git(repo, "rev-parse", "HEAD").strip()
    assert sorted(status.changes, key=str) == sorted(
        [
            FileChange("modified", "app.py", "app.py"),
            FileChange("deleted", "lib.py", None),
            FileChange("added", None, "new.py"),
        ],
        key=str,
    )


def test_before_the_first_commit_there_is_no_head_and_every_file_is_new(tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "--quiet")
    (repo / "a.py").write_text("x\n", encoding="utf-8")
    status = tree_status(repo)
    assert (status.head, status.changes) == (None, (FileChange("added", None, "a.py"),))


def test_the_stamp_moves_with_a_commit_a_staged_file_and_a_checkout(repo: Path) -> None:
    dirs = git_dirs(repo)
    first = state_stamp(dirs)
    assert first is not None
    assert state_stamp(dirs) == first

    (repo / "app.py").write_text("a = 10\n", encoding="utf-8")
    assert state_stamp(dirs) == first  # an edit on disk alone moves neither HEAD nor the index

    git(repo, "add", "app.py")
    staged = state_stamp(dirs)
    assert staged != first

    commit_all(repo, "second")
    committed = state_stamp(dirs)
    assert committed not in (first, staged)

    git(repo, "checkout", "--quiet", "-b", "topic")
    assert state_stamp(dirs) != committed  # HEAD names another branch, at the same commit

    git(repo, "checkout", "--quiet", "--detach", "HEAD~1")
    assert state_stamp(dirs) != committed


def test_the_stamp_follows_a_branch_whose_ref_is_packed(repo: Path) -> None:
    git(repo, "pack-refs", "--all")
    dirs = git_dirs(repo)
    before = state_stamp(dirs)
    git(repo, "update-ref", "refs/heads/main", git(repo, "commit-tree", "HEAD^{tree}", "-m", "x").strip())
    assert state_stamp(dirs) != before


def test_a_linked_worktree_has_its_own_head_and_index(repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git(repo, "worktree", "add", "--quiet", "-b", "side", str(other))
    dirs = git_dirs(other)
    assert dirs.common_dir == (repo / ".git").resolve()
    before = state_stamp(dirs)
    (other / "lib.py").write_text("b = 20\n", encoding="utf-8")
    commit_all(other, "on the side")
    assert state_stamp(dirs) != before
    assert tree_status(other).head == git(other, "rev-parse", "HEAD").strip()


def test_outside_a_repository_the_directories_are_an_error(tmp_path: Path) -> None:
    with pytest.raises(GitError):
        git_dirs(tmp_path)
