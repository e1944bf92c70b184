"""`kibitz ls --why` and `kibitz show` name the commit that moved, changed or deleted a codemark's code,
through the real CLI against a real server: searched once, then read from the team's cache; bounded."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any

import pytest

from tests.code_samples import APP, RETRY
from tests.e2e.conftest import Person, setup_team
from tests.git_helpers import commit_all, git, published_repo

pytestmark = pytest.mark.e2e
_people = itertools.count()

EDITED = RETRY.replace("except ConnectionError:", "except (ConnectionError, TimeoutError):")


@pytest.fixture
def alice(tmp_path: Path) -> Person:
    # One server serves the whole module: every test signs up people of its own.
    return Person(f"alice{next(_people)}@example.com", "Alice", tmp_path / "alice-config")


@pytest.fixture
def bob(tmp_path: Path) -> Person:
    return Person(f"bob{next(_people)}@example.com", "Bob", tmp_path / "bob-config")


def _write(repo: Path, path: str, text: str) -> None:
    (repo / path).write_text(text, encoding="utf-8")


def _noise(repo: Path, count: int) -> None:
    for number in range(count):
        _write(repo, "README.md", f"# app {number}\n")
        commit_all(repo, f"Docs {number}")


def _listed(person: Person, repo: Path, *args: str) -> dict[str, dict[str, Any]]:
    """Return `kibitz ls --status all --json` entries by codemark id."""
    return {entry["id"]: entry for entry in person.json("ls", "--status", "all", *args, cwd=repo)}


def test_ls_and_show_name_the_commit_once_then_from_the_cache(
    server_url: str, alice: Person, bob: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice, bob)
    repo, origin = published_repo(tmp_path, {"app.py": APP, "README.md": "# app\n"})
    alice.run("init", cwd=repo)
    retry = alice.json("add", "app.py:8-14", "-m", "Why retry on ConnectionError only?", cwd=repo)["id"]
    helper = alice.json("add", "app.py:4-5", "-m", "helper is trivial", cwd=repo)["id"]
    _noise(repo, 4)
    _write(repo, "app.py", APP.replace(RETRY, EDITED))
    edit = commit_all(repo, "Catch timeouts too")
    _noise(repo, 4)
    head = git(repo, "rev-parse", "HEAD").strip()

    # Without --why nothing is searched, and the JSON is as it was.
    assert "why" not in _listed(alice, repo, "--at", head)[retry]

    listed = _listed(alice, repo, "--why", "--at", head)
    why = listed[retry]["why"]
    assert why["commit"] == edit
    assert (why["action"], why["author"], why["subject"]) == ("changed", "Test Author", "Catch timeouts too")
    assert (why["merge"], why["reason"], why["source"]) == (False, None, "computed")
    assert dt.datetime.fromisoformat(why["date"]).utcoffset() is not None
    # Still where it was, as it was: nothing to explain.
    assert listed[helper]["why"] is None

    # Shared with the team: the next look reads it from the cache, with no time to search at all.
    again = _listed(alice, repo, "--why", "--why-seconds", "0", "--at", head)
    assert (again[retry]["why"]["commit"], again[retry]["why"]["source"]) == (edit, "shared")
    git(repo, "push", "--quiet", "origin", "main")
    bob_repo = tmp_path / "bob-repo"
    git(tmp_path, "clone", "--quiet", str(origin), str(bob_repo))
    bob.run("init", cwd=bob_repo)
    bobs = _listed(bob, bob_repo, "--why", "--why-seconds", "0")
    assert (bobs[retry]["why"]["commit"], bobs[retry]["why"]["source"]) == (edit, "shared")

    lines = alice.run("ls", "--why", "--at", head, cwd=repo).stdout.splitlines()
    under = {
        line.split()[0]: lines[index + 1] if index + 1 < len(lines) else ""
        for index, line in enumerate(lines)
    }
    assert under[retry].startswith(f"    changed by {edit[:12]} Test Author, ")
    assert under[retry].endswith(": Catch timeouts too")
    assert not under[helper].startswith("    ")

    shown = alice.run("show", retry, cwd=repo).stdout
    assert f"changed by {edit[:12]} Test Author, " in shown
    document = alice.json("show", retry, cwd=repo)
    assert document["markers"][0]["why"]["commit"] == edit


def test_the_search_is_bounded_and_says_what_it_could_not_name(
    server_url: str, alice: Person, bob: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice, bob)
    repo, _ = published_repo(tmp_path, {"app.py": APP, "README.md": "# app\n"})
    alice.run("init", cwd=repo)
    retry = alice.json("add", "app.py:8-14", "-m", "Why retry on ConnectionError only?", cwd=repo)["id"]
    _noise(repo, 3)
    _write(repo, "app.py", APP.replace(RETRY, EDITED))
    commit_all(repo, "Catch timeouts too")
    _noise(repo, 3)

    bounded = _listed(alice, repo, "--why", "--why-seconds", "0")[retry]["why"]
    assert (bounded["commit"], bounded["reason"], bounded["action"]) == (None, "time_limit", "changed")
    lines = alice.run("ls", "--why", "--why-seconds", "0", cwd=repo).stdout.splitlines()
    assert "    changed: the commit was not found within 0 s (--why-seconds gives more time)" in lines
    # What was not found is not shared: given time, it is searched for.
    assert _listed(alice, repo, "--why")[retry]["why"]["subject"] == "Catch timeouts too"

    # Edited again on disk: no commit did that.
    _write(repo, "app.py", APP.replace(RETRY, EDITED.replace("attempts=3", "attempts=5")))
    dirty = _listed(alice, repo, "--why")[retry]["why"]
    assert (dirty["commit"], dirty["reason"]) == (None, "uncommitted")
    assert "changed by uncommitted edits" in alice.run("show", retry, cwd=repo).stdout
