"""Locations people can trust, through the real CLI against a real server.

A codemark whose code this clone cannot see — its commit was never fetched, it sits in a file nobody
committed, its file is a symbolic link — is never reported "deleted, 100%": it is `unavailable`, and the
CLI says why and what to do. `add` refuses what teammates could never see: an ignored file, a symbolic
link.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest

from tests.code_samples import APP
from tests.e2e.conftest import Person, setup_team
from tests.git_helpers import commit_all, git, make_repo, published_repo

pytestmark = pytest.mark.e2e
_people = itertools.count()

FEATURE = """\
def brand_new_feature(records):
    selected = [record for record in records if record.enabled]
    return sorted(selected, key=lambda record: record.priority)
"""


@pytest.fixture
def alice(tmp_path: Path) -> Person:
    # One server serves the whole module: every test signs up people of its own.
    return Person(f"alice{next(_people)}@example.com", "Alice", tmp_path / "alice-config")


@pytest.fixture
def bob(tmp_path: Path) -> Person:
    return Person(f"bob{next(_people)}@example.com", "Bob", tmp_path / "bob-config")


def _clone(origin: Path, into: Path) -> Path:
    git(into.parent, "clone", "--quiet", str(origin), str(into))
    return into


def _listing(person: Person, repo: Path) -> dict[str, dict[str, Any]]:
    return {entry["id"]: entry["location"] for entry in person.json("ls", "--status", "all", cwd=repo)}


def test_a_codemark_at_a_commit_this_clone_lacks_says_fetch_not_deleted(
    server_url: str, alice: Person, bob: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice, bob)
    repo, origin = published_repo(tmp_path, {"app.py": APP, ".gitignore": "*.local.py\n"})
    alice.run("init", cwd=repo)
    bob_repo = _clone(origin, tmp_path / "bob-repo")
    bob.run("init", cwd=bob_repo)
    # Alice commits a new file and pins it, but has not pushed yet.
    (repo / "feature.py").write_text(FEATURE, encoding="utf-8")
    unpushed = commit_all(repo, "feature")
    codemark = alice.json("add", "feature.py:1-3", "-m", "Sort stable?", cwd=repo)["id"]

    location = _listing(bob, bob_repo)[codemark]
    assert location["status"] == "unavailable"
    assert location["reason"] == "commit_missing"
    assert location["path"] is None
    human = bob.run("ls", cwd=bob_repo).stdout
    assert f"{codemark}  feature.py:1-3 (commit {unpushed[:12]} not in this clone — fetch)" in human
    assert "deleted" not in human
    shown = bob.run("show", codemark, cwd=bob_repo).stdout
    assert "git fetch" in shown
    # Nothing this clone could not see was shared as the team's answer at Bob's HEAD.
    with bob.client() as client:
        team_id = client.list_teams()[0]["id"]
        marker_id = client.get_codemark(codemark)["markers"][0]["id"]
        bob_head = git(bob_repo, "rev-parse", "HEAD").strip()
        from kibitz.locate import ALGORITHM

        assert client.query_locations(team_id, bob_head, ALGORITHM, [marker_id])["locations"] == []

    # Once Alice pushes and Bob fetches, the codemark is where it was recorded.
    git(repo, "push", "--quiet", "origin", "main")
    git(bob_repo, "pull", "--quiet", "--ff-only")
    location = _listing(bob, bob_repo)[codemark]
    assert (location["path"], location["start_line"], location["status"]) == ("feature.py", 1, "unchanged")


def test_a_codemark_in_a_file_nobody_committed_is_unavailable_not_deleted(
    server_url: str, alice: Person, bob: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice, bob)
    repo, origin = published_repo(tmp_path, {"app.py": APP, ".gitignore": "*.local.py\n"})
    alice.run("init", cwd=repo)
    bob_repo = _clone(origin, tmp_path / "bob-repo")
    bob.run("init", cwd=bob_repo)
    (repo / "draft.py").write_text(FEATURE, encoding="utf-8")
    codemark = alice.json("add", "draft.py:1-3", "-m", "Draft", cwd=repo)["id"]
    # Alice sees it in her working tree; Bob, whose clone never had the file, is told why not.
    assert _listing(alice, repo)[codemark]["status"] == "unchanged"
    location = _listing(bob, bob_repo)[codemark]
    assert (location["status"], location["reason"]) == ("unavailable", "uncommitted")
    human = bob.run("ls", cwd=bob_repo).stdout
    assert f"{codemark}  draft.py:1-3 (not committed yet" in human
    assert "deleted" not in human


def test_add_refuses_an_ignored_file_and_a_symlink(server_url: str, alice: Person, tmp_path: Path) -> None:
    setup_team(server_url, tmp_path, alice)
    repo, _ = published_repo(tmp_path, {"app.py": APP, ".gitignore": "*.local.py\n"})
    alice.run("init", cwd=repo)
    (repo / "settings.local.py").write_text(FEATURE, encoding="utf-8")
    refused = alice.run("add", "settings.local.py:1-2", "-m", "x", cwd=repo, expect=1)
    assert "settings.local.py is ignored by git" in refused.stderr
    os.symlink("app.py", repo / "link.py")
    commit_all(repo, "a link")
    refused = alice.run("add", "link.py:8-14", "-m", "x", cwd=repo, expect=1)
    assert "link.py is a symbolic link to app.py" in refused.stderr
    assert "app.py:8-14" in refused.stderr
    with alice.client() as client:
        team_id = client.list_teams()[0]["id"]
        assert client.list_codemarks(team_id)["items"] == []


def test_a_codemark_whose_file_became_a_symlink_is_unavailable_not_deleted(
    server_url: str, alice: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice)
    repo, _ = published_repo(tmp_path, {"app.py": APP, ".gitignore": "*.local.py\n"})
    alice.run("init", cwd=repo)
    (repo / "feature.py").write_text(FEATURE, encoding="utf-8")
    commit_all(repo, "feature")
    codemark = alice.json("add", "feature.py:1-3", "-m", "Sort stable?", cwd=repo)["id"]
    # The file is replaced by a link to a file elsewhere that does not hold the code.
    (repo / "feature.py").unlink()
    os.symlink("app.py", repo / "feature.py")
    commit_all(repo, "link")
    location = _listing(alice, repo)[codemark]
    assert (location["status"], location["reason"]) == ("unavailable", "symlink")
    assert "symbolic link" in alice.run("ls", cwd=repo).stdout


def _identified_repo(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    """Return a repository of two commits whose `upstream` remote names it (a local path names nothing)."""
    repo = make_repo(tmp_path / name, files)
    (repo / "NOTES.md").write_text("notes\n", encoding="utf-8")
    commit_all(repo, "notes")
    git(repo, "remote", "add", "upstream", f"https://git.example/acme/{name}.git")
    return repo


def test_init_refuses_a_shallow_or_unknown_clone_and_offers_repo_name(
    server_url: str, alice: Person, bob: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice, bob)
    app = _identified_repo(tmp_path, "app", {"app.py": APP})
    alice.run("init", cwd=app)
    codemark = alice.json("add", "app.py:8-14", "-m", "retry", cwd=app)["id"]
    # A shallow clone: its cut-off commit is not the repository's first, and a path remote names nothing.
    shallow = tmp_path / "bob-shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{app}", str(shallow))
    refused = bob.run("init", cwd=shallow, expect=1)
    assert "shallow clone" in refused.stderr
    assert "kibitz init --repo NAME" in refused.stderr
    assert "git fetch --unshallow" in refused.stderr
    with bob.client() as client:
        team_id = client.list_teams()[0]["id"]
        assert [repo["name"] for repo in client.list_repos(team_id)] == ["app"]
    linked = bob.run("init", "--repo", "APP", cwd=shallow)
    assert "Linked" in linked.stdout
    assert "shallow clone" in linked.stderr
    assert codemark in bob.run("ls", cwd=shallow).stdout
    # With the remote that names it, a shallow clone is recognised, and its cut is not learned as a root.
    git(shallow, "config", "--local", "--unset-all", "kibitz.repo")
    git(shallow, "remote", "add", "upstream", "https://git.example/acme/app.git")
    bob.run("init", cwd=shallow)
    cut = git(shallow, "rev-list", "--max-parents=0", "HEAD").strip()
    (app_repo,) = bob.json("repo", "list", cwd=shallow)
    assert cut not in app_repo["root_commits"]
    assert app_repo["root_commits"] == [git(app, "rev-list", "--max-parents=0", "HEAD").strip()]

    # Another repository is refused until said to be new, or linked by name.
    other = _identified_repo(tmp_path, "tools", {"tool.py": "print('tool')\n"})
    refused = bob.run("init", cwd=other, expect=1)
    assert "matches none of team Acme's repositories (app)" in refused.stderr
    assert "--repo NAME" in refused.stderr
    assert "--new" in refused.stderr
    bob.run("init", "--new", cwd=other)
    listed = bob.run("repo", "list", cwd=other).stdout.splitlines()
    assert len(listed) == 2
    assert [line.split()[2] for line in listed if line.startswith("*")] == ["tools"]
    missing = bob.run("init", "--repo", "nope", cwd=other, expect=4)
    assert "no repository named 'nope' (it has: app, tools)" in missing.stderr


def test_repo_rename_and_remove_need_an_admin(
    server_url: str, alice: Person, bob: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice, bob)
    app = _identified_repo(tmp_path, "app", {"app.py": APP})
    alice.run("init", cwd=app)
    alice.run("add", "app.py:8-14", "-m", "retry", cwd=app)
    tools = _identified_repo(tmp_path, "tools", {"tool.py": "print('tool')\n"})
    alice.run("init", "--new", cwd=tools)
    # Bob is a member: he lists, but neither renames nor removes.
    assert "tools" in bob.run("repo", "list", cwd=tmp_path).stdout
    refused = bob.run("repo", "rename", "tools", "utilities", cwd=tmp_path, expect=3)
    assert "admin" in refused.stderr
    bob.run("repo", "remove", "tools", "--yes", cwd=tmp_path, expect=3)
    renamed = alice.json("repo", "rename", "tools", "utilities", cwd=tmp_path)
    assert renamed["name"] == "utilities"
    clash = alice.run("repo", "rename", "utilities", "App", cwd=tmp_path, expect=1)
    assert "another repo named 'App'" in clash.stderr
    kept = alice.run("repo", "remove", "app", "--yes", cwd=tmp_path, expect=1)
    assert "pinned" in kept.stderr
    removed = alice.run("repo", "remove", "utilities", "--yes", cwd=tools)
    assert "Removed utilities" in removed.stdout
    assert "kibitz init" in removed.stderr
    assert [repo["name"] for repo in alice.json("repo", "list", cwd=tmp_path)] == ["app"]


def test_search_path_matches_where_the_code_is_now_as_ls_does(
    server_url: str, alice: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice)
    repo, _ = published_repo(tmp_path, {"app.py": APP, ".gitignore": "*.local.py\n"})
    alice.run("init", cwd=repo)
    codemark = alice.json("add", "app.py:8-14", "-m", "retry budget", cwd=repo)["id"]
    (repo / "src").mkdir()
    git(repo, "mv", "app.py", "src/core.py")
    commit_all(repo, "move")

    def found(*args: str, cwd: Path = repo) -> list[str]:
        return [hit["codemark"]["id"] for hit in alice.json("search", "retry", *args, cwd=cwd)]

    assert [entry["id"] for entry in alice.json("ls", "src/core.py", cwd=repo)] == [codemark]
    assert found("--path", "src/core.py") == [codemark]
    assert found("--path", "src") == [codemark]
    assert found("--path", "core.py", cwd=repo / "src") == [codemark]
    # Where it was recorded is not where it is: neither ls nor search finds it there.
    assert alice.json("ls", "app.py", cwd=repo) == []
    assert found("--path", "app.py") == []
    assert found() == [codemark]
    human = alice.run("search", "retry", "--path", "src/core.py", cwd=repo).stdout
    assert codemark in human


def test_the_first_ls_after_a_promotion_prints_the_promoted_location(
    server_url: str, alice: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice)
    repo, _ = published_repo(tmp_path, {"app.py": APP, ".gitignore": "*.local.py\n"})
    alice.run("init", cwd=repo)
    (repo / "draft.py").write_text("# top\n" + FEATURE, encoding="utf-8")
    drafted = alice.json("add", "draft.py:2-4", "-m", "draft", cwd=repo)
    assert drafted["provisional"]
    head = commit_all(repo, "draft")
    # This `ls` sees the code committed and promotes the codemark: it prints where it is recorded now.
    (entry,) = alice.json("ls", cwd=repo)
    assert entry["recorded"] == {
        "path": "draft.py",
        "commit": head,
        "start_line": 2,
        "end_line": 4,
        "provisional": False,
    }
    assert entry["location"]["commit"] == head
    assert alice.json("ls", cwd=repo) == [entry | {"location": entry["location"] | {"source": "shared"}}]

    (repo / "sketch.py").write_text(FEATURE, encoding="utf-8")
    sketched = alice.json("add", "sketch.py:1-3", "-m", "sketch", cwd=repo)["id"]
    head = commit_all(repo, "sketch")
    first = alice.run("ls", cwd=repo)
    assert f"{sketched}: its code is committed now; recorded at sketch.py:1-3 at commit {head[:12]}" in (
        first.stderr
    )
    assert "committed now" not in alice.run("ls", cwd=repo).stderr
    shown = alice.json("show", sketched, cwd=repo)["markers"][0]
    assert (shown["commit"], shown["provisional"]) == (head, False)
