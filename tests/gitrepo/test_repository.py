"""Repository identity, content at a commit, tracking and the link in local git config."""

from __future__ import annotations

from pathlib import Path

import pytest

from kibitz.gitrepo import (
    GitError,
    NotARepository,
    RepoLink,
    find_root,
    has_commits,
    head_commit,
    read_link,
    remote_urls,
    resolve_commit,
    root_commits,
    write_link,
)
from tests.git_helpers import git, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"src/app.py": "print('hi')\n", "README": "hello\n"})


def test_find_root_from_a_subdirectory(repo: Path) -> None:
    assert find_root(repo / "src").resolve() == repo.resolve()


def test_find_root_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(NotARepository):
        find_root(tmp_path)


def test_root_commits_and_head(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    (repo / "README").write_text("changed\n", encoding="utf-8")
    git(repo, "commit", "--quiet", "--all", "--message", "second")
    assert root_commits(repo) == [first]
    assert head_commit(repo) == git(repo, "rev-parse", "HEAD").strip()
    assert head_commit(repo) != first


def test_a_fresh_repository_has_no_commits(tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet")
    assert not has_commits(tmp_path)
    assert root_commits(tmp_path) == []
    with pytest.raises(GitError):
        head_commit(tmp_path)


def test_remote_urls_are_distinct_and_raw(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "git@example.com:acme/widget.git")
    git(repo, "remote", "add", "mirror", "https://mirror.example.org/acme/widget")
    git(repo, "remote", "set-url", "--push", "origin", "ssh://git@example.com/acme/widget.git")
    assert sorted(remote_urls(repo)) == sorted(
        [
            "git@example.com:acme/widget.git",
            "ssh://git@example.com/acme/widget.git",
            "https://mirror.example.org/acme/widget",
        ]
    )


def test_link_round_trip(repo: Path) -> None:
    assert read_link(repo) is None
    write_link(repo, RepoLink(team_id="team0000000000001", repo_id="repo0000000000001"))
    assert read_link(repo) == RepoLink(team_id="team0000000000001", repo_id="repo0000000000001")
    assert git(repo, "config", "--local", "--get", "kibitz.team").strip() == "team0000000000001"


def test_resolve_commit(repo: Path) -> None:
    head = head_commit(repo)
    git(repo, "tag", "v1")
    assert resolve_commit(repo, "HEAD") == head
    assert resolve_commit(repo, "v1") == head
    assert resolve_commit(repo, head[:10]) == head
    for unknown in ("no-such-branch", "--all", "HEAD:src/app.py"):
        with pytest.raises(GitError):
            resolve_commit(repo, unknown)
