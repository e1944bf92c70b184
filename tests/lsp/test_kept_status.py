"""The working tree's state kept between keystrokes: read with git again when HEAD or the index moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from kibitz.gitrepo import FileChange, GitError
from kibitz.lsp._repos import KeptStatus
from tests.git_helpers import GIT_ENV, commit_all, git, make_repo

# Long enough that only HEAD or the index moving makes the state be read again within a test.
FOREVER = 3600.0


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"app.py": "a = 1\n", "lib.py": "b = 2\n"})


def test_the_state_is_kept_while_head_and_the_index_stay(repo: Path) -> None:
    kept = KeptStatus(repo, FOREVER)
    first = kept.current()
    assert kept.current() is first
    (repo / "lib.py").write_text("b = 20\n", encoding="utf-8")
    # Neither HEAD nor the index moved: the edit on disk waits for the state to grow old.
    assert kept.current() is first


def test_a_commit_made_in_the_terminal_is_read_at_the_next_call(repo: Path) -> None:
    kept = KeptStatus(repo, FOREVER)
    before = kept.current()
    (repo / "lib.py").write_text("b = 20\n", encoding="utf-8")
    head = commit_all(repo, "from the terminal")
    after = kept.current()
    assert (before.head != head, after.head, after.changes) == (True, head, ())


def test_a_staged_file_and_a_new_branch_are_read_at_the_next_call(repo: Path) -> None:
    kept = KeptStatus(repo, FOREVER)
    kept.current()
    (repo / "lib.py").write_text("b = 20\n", encoding="utf-8")
    git(repo, "add", "lib.py")
    assert kept.current().changes == (FileChange("modified", "lib.py", "lib.py"),)
    git(repo, "checkout", "--quiet", "-b", "topic")
    (repo / "app.py").write_text("a = 10\n", encoding="utf-8")
    git(repo, "commit", "--quiet", "-am", "on topic")
    assert kept.current().head == git(repo, "rev-parse", "topic").strip()


def test_an_old_state_is_read_again(repo: Path) -> None:
    kept = KeptStatus(repo, 0.0)
    first = kept.current()
    (repo / "lib.py").write_text("b = 20\n", encoding="utf-8")
    again = kept.current()
    assert again is not first
    assert again.changes == (FileChange("modified", "lib.py", "lib.py"),)


def test_a_directory_that_is_no_repository_is_read_every_time(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "a = 1\n"})
    kept = KeptStatus(repo, FOREVER)
    kept.current()
    # The repository's git directory gone (a clone deleted under the editor): git's own error, each time.
    for entry in sorted((repo / ".git").rglob("*"), reverse=True):
        entry.unlink() if entry.is_file() else entry.rmdir()
    (repo / ".git").rmdir()
    with pytest.raises(GitError, match="not a git repository"):
        kept.current()
