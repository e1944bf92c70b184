"""Codemarks follow their code through real commits, clones and unsaved buffers, against a real server.

Alice pins two codemarks in app.py: one on `retry` (it travels: shifted, edited, moved, renamed
with its file, moved to another file, deleted) and one on `helper` (it only rides along). Every
`kibitz ls` at a commit shares what it computed; Bob's client then reads it from the cache. A
clone that never had the commit a codemark was recorded at still finds it, by the upstream
reference or by its code; a location computed on an unsaved buffer is never shared.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from kibitz.gitrepo import ObjectReader
from kibitz.locate import ALGORITHM, InWorkingTree, PinnedMarker, SharedLocations, locate
from tests.code_samples import APP, CLEANUP, MAIN, RETRY
from tests.e2e.conftest import Person, setup_team
from tests.git_helpers import commit_all, git, published_repo

pytestmark = pytest.mark.e2e
_people = itertools.count()


@pytest.fixture
def alice(tmp_path: Path) -> Person:
    # One server serves the whole module: every test signs up people of its own.
    return Person(f"alice{next(_people)}@example.com", "Alice", tmp_path / "alice-config")


@pytest.fixture
def bob(tmp_path: Path) -> Person:
    return Person(f"bob{next(_people)}@example.com", "Bob", tmp_path / "bob-config")


def _write(repo: Path, path: str, text: str) -> None:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text, encoding="utf-8")


def _places(person: Person, repo: Path, *args: str) -> dict[str, dict[str, Any]]:
    """Return `kibitz ls --status all` locations by codemark id."""
    return {entry["id"]: entry["location"] for entry in person.json("ls", "--status", "all", *args, cwd=repo)}


def _where(location: dict[str, Any]) -> tuple[Any, Any, Any, str]:
    return location["path"], location["start_line"], location["end_line"], location["status"]


def test_a_codemark_follows_its_code_and_teammates_share_the_work(
    server_url: str, alice: Person, bob: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice, bob)
    repo, origin = published_repo(tmp_path, {"app.py": APP, "README.md": "# app\n"})
    alice.run("init", cwd=repo)
    traveller = alice.json("add", "app.py:8-14", "-m", "Why retry on ConnectionError only?", cwd=repo)["id"]
    rider = alice.json("add", "app.py:4-5", "-m", "helper is trivial", cwd=repo)["id"]
    assert _where(_places(alice, repo)[traveller]) == ("app.py", 8, 14, "unchanged")

    # Each step is a commit; `ls` in the clean working tree locates at HEAD, and shares it.
    steps: list[tuple[str, str, tuple[Any, ...], tuple[Any, ...]]] = []

    _write(repo, "app.py", "# Copyright Acme\n# All rights reserved\n" + APP)
    steps.append(
        ("insert above", commit_all(repo, "header"), ("app.py", 10, 16, "shifted"), ("app.py", 6, 7))
    )

    edited_retry = RETRY.replace("except ConnectionError:", "except (ConnectionError, TimeoutError):")
    _write(repo, "app.py", "# Copyright Acme\n# All rights reserved\n" + APP.replace(RETRY, edited_retry))
    steps.append(
        ("edit inside", commit_all(repo, "timeouts"), ("app.py", 10, 16, "changed"), ("app.py", 6, 7))
    )

    header_and_helper = (
        "# Copyright Acme\n# All rights reserved\nimport os\n\n\ndef helper(value):\n    return value + 1\n"
    )
    moved_to_end = f"{header_and_helper}\n\n{MAIN}\n\n{CLEANUP}\n\n{edited_retry}"
    _write(repo, "app.py", moved_to_end)
    steps.append(
        ("move to the end", commit_all(repo, "reorder"), ("app.py", 29, 35, "moved"), ("app.py", 6, 7))
    )

    git(repo, "mv", "app.py", "core.py")
    steps.append(
        ("rename the file", commit_all(repo, "rename"), ("core.py", 29, 35, "moved"), ("core.py", 6, 7))
    )

    _write(repo, "core.py", f"{header_and_helper}\n\n{MAIN}\n\n{CLEANUP}")
    _write(repo, "net/retrying.py", "import socket\n\n\n" + edited_retry)
    steps.append(
        (
            "move to another file",
            commit_all(repo, "split"),
            ("net/retrying.py", 4, 10, "moved"),
            ("core.py", 6, 7),
        )
    )

    _write(repo, "net/retrying.py", "import socket\n")
    steps.append(
        ("delete it", commit_all(repo, "drop retry"), (None, None, None, "deleted"), ("core.py", 6, 7))
    )

    for name, commit_id, travelled, rode in steps:
        places = _places(alice, repo, "--at", commit_id)
        assert _where(places[traveller]) == travelled, name
        # helper's code never changed: only its lines did, then its file's name.
        assert _where(places[rider]) == (*rode, "shifted"), name
        assert places[traveller]["at"] == commit_id
        assert places[traveller]["source"] == "computed", name
    assert _where(_places(alice, repo)[traveller]) == (None, None, None, "deleted")
    # `show` puts the code as recorded next to the code at a commit, with a diff.
    timeouts = steps[1][1]
    shown = alice.run("show", traveller, "--at", timeouts, cwd=repo).stdout
    assert f"now at app.py:10-16 at {timeouts[:12]} (changed, " in shown
    assert "-        except ConnectionError:" in shown
    assert "+        except (ConnectionError, TimeoutError):" in shown
    marker = alice.json("show", traveller, "--at", timeouts, cwd=repo)["markers"][0]
    assert marker["current_code"] == edited_retry
    assert marker["location"]["status"] == "changed"
    assert marker["location"]["source"] == "shared"
    human = alice.run("ls", "--status", "all", cwd=repo).stdout
    assert f"{traveller}  app.py:8-14 (deleted, " in human
    assert f"{rider}  core.py:6-7 (shifted, 100%)" in human

    # What Alice computed is on the server, once per (marker, commit)...
    markers = {
        codemark: alice.json("show", codemark, cwd=repo)["markers"][0]["id"]
        for codemark in (traveller, rider)
    }
    with alice.client() as client:
        team_id = client.list_teams()[0]["id"]
        split = steps[4][1]
        shared = client.query_locations(team_id, split, ALGORITHM, list(markers.values()))["locations"]
    by_marker = {location["marker_id"]: location for location in shared}
    assert by_marker[markers[traveller]]["path"] == "net/retrying.py"
    assert by_marker[markers[traveller]]["status"] == "moved"
    # ...and Bob, in his own clone, reads it instead of computing it.
    bob_repo = tmp_path / "bob-repo"
    git(tmp_path, "clone", "--quiet", str(origin), str(bob_repo))
    git(repo, "push", "--quiet", "origin", "main")
    git(bob_repo, "pull", "--quiet", "--ff-only")
    bob.run("init", cwd=bob_repo)
    for name, commit_id, travelled, _ in steps:
        places = _places(bob, bob_repo, "--at", commit_id)
        assert _where(places[traveller]) == travelled, name
        assert places[traveller]["source"] == places[rider]["source"] == "shared", name

    # Bob commits; nobody has located anything there yet. With an unsaved buffer that pushes
    # helper down by three lines, Bob's editor sees it at 9-10 — and the server never hears of it.
    _write(bob_repo, "README.md", "# app\n\nNow with retries elsewhere.\n")
    bobs_head = commit_all(bob_repo, "readme")
    buffer = "# one\n# two\n# three\n" + (bob_repo / "core.py").read_text(encoding="utf-8")
    with bob.client() as client:
        codemarks = [client.get_codemark(traveller), client.get_codemark(rider)]
        pinned = [PinnedMarker(c["id"], m) for c in codemarks for m in c["markers"]]
        with ObjectReader(bob_repo) as reader:
            found = locate(
                reader, pinned, InWorkingTree({"core.py": buffer}), shared=SharedLocations(client, team_id)
            )
        in_buffer = found[markers[rider]]
        assert (in_buffer.path, in_buffer.start_line, in_buffer.end_line) == ("core.py", 9, 10)
        at_head = client.query_locations(team_id, bobs_head, ALGORITHM, [markers[rider]])["locations"]
    # What was shared is the location at HEAD (computed at the commit), not the buffer's.
    assert [(loc["path"], loc["start_line"], loc["end_line"]) for loc in at_head] == [("core.py", 6, 7)]

    # The same holds for uncommitted edits on disk.
    _write(bob_repo, "core.py", buffer)
    assert _where(_places(bob, bob_repo)[rider]) == ("core.py", 9, 10, "shifted")
    with bob.client() as client:
        again = client.query_locations(team_id, bobs_head, ALGORITHM, [markers[rider]])["locations"]
    assert [(loc["start_line"], loc["end_line"]) for loc in again] == [(6, 7)]


def test_a_clone_without_the_recorded_commit_still_finds_the_code(
    server_url: str, alice: Person, bob: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice, bob)
    repo, origin = published_repo(tmp_path, {"app.py": APP, "README.md": "# app\n"})
    alice.run("init", cwd=repo)

    # Alice's local commit, never pushed: a header above everything and a new function.
    parse = (
        "def parse_config(text):\n"
        "    pairs = (line.split('=', 1) for line in text.splitlines())\n"
        "    return dict(pairs)\n"
    )
    _write(repo, "app.py", "# local header\n" + APP + "\n\n" + parse)
    local = commit_all(repo, "parse config")
    # One codemark on code that exists upstream too (it gets an upstream reference)...
    on_cleanup = alice.json("add", "app.py:31-34", "-m", "Log failures?", cwd=repo)["id"]
    # ...and one on code that exists nowhere else.
    on_parse = alice.json("add", "app.py:37-39", "-m", "Split on the first = only", cwd=repo)["id"]
    recorded = alice.json("show", on_cleanup, cwd=repo)["markers"][0]
    assert recorded["commit"] == local
    assert [ref["kind"] for ref in recorded["references"]] == ["upstream"]
    assert alice.json("show", on_parse, cwd=repo)["markers"][0]["references"] == []

    # Alice amends the commit (the recorded one is gone from every history) and pushes.
    _write(repo, "app.py", "# amended header\n# on two lines\n" + APP + "\n\n" + parse)
    git(repo, "add", "app.py")
    git(repo, "commit", "--quiet", "--amend", "--message", "parse config, reviewed")
    git(repo, "push", "--quiet", "--force", "origin", "main")

    bob_repo = tmp_path / "bob-repo"
    git(tmp_path, "clone", "--quiet", str(origin), str(bob_repo))
    assert local not in git(bob_repo, "rev-list", "--all").split()
    bob.run("init", cwd=bob_repo)
    places = _places(bob, bob_repo)
    assert _where(places[on_cleanup]) == ("app.py", 32, 35, "shifted")
    # Found by its code alone, in its own file.
    assert _where(places[on_parse])[:3] == ("app.py", 38, 40)
    assert places[on_parse]["status"] in ("shifted", "unchanged")


def test_a_provisional_codemark_is_promoted_once_its_code_is_committed(
    server_url: str, alice: Person, tmp_path: Path
) -> None:
    setup_team(server_url, tmp_path, alice)
    repo, _ = published_repo(tmp_path, {"app.py": APP, "README.md": "# app\n"})
    alice.run("init", cwd=repo)
    head = git(repo, "rev-parse", "HEAD").strip()
    fresh = "def total_price(order_lines):\n    return sum(line.amount for line in order_lines)\n\n\n"
    lines = APP.splitlines(keepends=True)
    _write(repo, "app.py", "".join([*lines[:7], fresh, *lines[7:]]))
    added = alice.json("add", "app.py:8-9", "-m", "Use Decimal", cwd=repo)
    assert added["provisional"] is True
    marker = alice.json("show", added["id"], cwd=repo)["markers"][0]
    assert (marker["provisional"], marker["commit"]) == (True, head)
    assert marker["code"] == fresh.rstrip("\n") + "\n"
    # In the working tree it is where Alice left it (not shared: that is not a commit).
    assert _where(_places(alice, repo)[added["id"]]) == ("app.py", 8, 9, "unchanged")
    assert alice.json("show", added["id"], cwd=repo)["markers"][0]["provisional"] is True

    committed = commit_all(repo, "total price")
    assert _where(_places(alice, repo)[added["id"]]) == ("app.py", 8, 9, "unchanged")
    promoted = alice.json("show", added["id"], cwd=repo)["markers"][0]
    assert promoted["provisional"] is False
    assert (promoted["commit"], promoted["start_line"], promoted["end_line"]) == (committed, 8, 9)
    assert [ref["commit"] for ref in promoted["references"]] == [head]
    text = alice.run("show", added["id"], cwd=repo).stdout
    assert "now at app.py:8-9 in the working tree (unchanged)" in text
