"""A conversation through the real `kibitz` CLI and a real server: mentions, reactions, edits, follows,
search, the inbox, and `kibitz watch` receiving what another person writes, live and after a restart."""

from __future__ import annotations

import itertools
import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kibitz.client import NewMarker
from tests.e2e.conftest import PASSWORD, Person, running_server
from tests.git_helpers import GIT_ENV, git, make_repo
from tests.server_process import KIBITZ, clean_environment, free_port

pytestmark = pytest.mark.e2e

APP = "def fetchUrl(url):\n    return retry(get, url)\n\n\ndef retry(call, *args):\n    return call(*args)\n"
WAIT_SECONDS = 20.0


class Watcher:
    """`kibitz watch` running as its own process; its stdout lines are read as they come."""

    def __init__(self, person: Person, cwd: Path, *args: str, as_json: bool = True) -> None:
        env = {**clean_environment(), **GIT_ENV, "KIBITZ_CONFIG_DIR": str(person.config_dir)}
        self.config_dir = person.config_dir
        self.process = subprocess.Popen(
            [str(KIBITZ), "watch", *(["--json"] if as_json else []), *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def lines(self, count: int) -> list[str]:
        """Return the next `count` lines it prints, failing if they do not come in time."""
        deadline = time.monotonic() + WAIT_SECONDS
        found: list[str] = []
        while len(found) < count:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(
                    f"watch printed {found} and then nothing for {WAIT_SECONDS}s; stderr: {self.stderr()}"
                )
            if line is None:
                pytest.fail(f"watch ended after {found}; stderr: {self.stderr()}")
            found.append(line.rstrip("\n"))
        return found

    def events(self, count: int) -> list[dict[str, Any]]:
        """Return the next `count` events it prints (one JSON object per line)."""
        return [json.loads(line) for line in self.lines(count)]

    def quiet(self, seconds: float) -> None:
        """Check that it prints nothing more for a while."""
        try:
            line = self._lines.get(timeout=seconds)
        except queue.Empty:
            return
        pytest.fail(f"watch printed {line!r} unexpectedly")

    def wait_until_recorded(self, seq: int) -> None:
        """Wait until its person's saved place in the log (the positions files) has reached `seq`."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            places = [
                json.loads(path.read_text(encoding="utf-8")).get("after")
                for path in (self.config_dir / "positions").glob("*.json")
            ]
            if seq in places:
                return
            time.sleep(0.01)
        raise AssertionError(f"kibitz watch did not record seq {seq} in {WAIT_SECONDS:g} s")

    def kill(self) -> None:
        """Kill it at once, as a closed laptop or a crash would (no chance to save anything)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self.process.stderr is not None and not self.process.stderr.closed:
            self._stderr = self.process.stderr.read()
            self.process.stderr.close()

    def stderr(self) -> str:
        """Return what it said on stderr, once it has ended."""
        if (
            self.process.poll() is not None
            and self.process.stderr is not None
            and not self.process.stderr.closed
        ):
            self._stderr = self.process.stderr.read()
            self.process.stderr.close()
        return self._stderr or "(still running)"


@pytest.fixture
def watchers() -> Iterator[list[Watcher]]:
    """Collect the watchers a test starts, and kill those still running at its end."""
    started: list[Watcher] = []
    yield started
    for watcher in started:
        watcher.kill()


_people = itertools.count()


# The server lives as long as this module; each test signs up people of its own.
@pytest.fixture
def alice(tmp_path: Path) -> Person:
    return Person(f"alice{next(_people)}@example.com", "Alice", tmp_path / "alice-config")


@pytest.fixture
def bob(tmp_path: Path) -> Person:
    return Person(f"bob{next(_people)}@example.com", "Bob", tmp_path / "bob-config")


def handle(person: Person, cwd: Path) -> str:
    """Return what teammates type after `@` to mention this person."""
    return str(person.json("whoami", cwd=cwd)["user"]["handle"])


@pytest.fixture
def team(server_url: str, alice: Person, bob: Person, tmp_path: Path) -> Path:
    """Alice and Bob in one team; Alice's clone is linked. Returns Alice's clone."""
    signup = ["signup", "--server", server_url, "--password-stdin"]
    alice.run(*signup, "--email", alice.email, "--name", alice.name, cwd=tmp_path, stdin=PASSWORD + "\n")
    alice.run("team", "create", "Acme", cwd=tmp_path)
    code = alice.run("team", "invite", cwd=tmp_path).stdout.strip()
    # Bob chooses his handle; Alice's is derived from her email.
    chosen = "the-" + bob.email.split("@")[0]
    said = bob.run(
        *signup,
        "--email",
        bob.email,
        "--name",
        bob.name,
        "--handle",
        chosen,
        cwd=tmp_path,
        stdin=PASSWORD + "\n",
    )
    assert f"(mention: @{chosen})" in said.stdout
    assert handle(bob, tmp_path) == chosen
    assert handle(alice, tmp_path) == alice.email.split("@")[0]
    bob.run("team", "join", code, cwd=tmp_path)
    repo = make_repo(tmp_path / "alice-repo", {"src/net.py": APP})
    alice.run("init", cwd=repo)
    return repo


def test_watch_sees_the_conversation_live_and_resumes_after_a_restart(
    team: Path, alice: Person, bob: Person, tmp_path: Path, watchers: list[Watcher]
) -> None:
    repo = team
    watcher = Watcher(alice, tmp_path, "--after", "0")
    watchers.append(watcher)
    [joined] = watcher.events(1)
    assert (joined["seq"], joined["type"], joined["data"]["email"]) == (1, "member.joined", bob.email)

    text = f"@{handle(bob, tmp_path)} why retry here?"
    codemark = alice.json("add", "src/net.py:1-2", "-m", text, "--type", "question", cwd=repo)
    codemark_id = codemark["id"]
    [created] = watcher.events(1)
    assert (created["seq"], created["type"], created["data"]["id"]) == (2, "codemark.created", codemark_id)

    # Bob answers from his own terminal; Alice's watcher prints it as it happens.
    reply_id = bob.run("reply", codemark_id, "-m", "Because the network flakes.", cwd=tmp_path).stdout.strip()
    [answered] = watcher.events(1)
    assert answered["seq"] == 3
    assert answered["type"] == "reply.added"
    assert answered["team_id"] == created["team_id"]
    assert answered["at"].endswith("+00:00")
    assert (answered["data"]["id"], answered["data"]["text"]) == (reply_id, "Because the network flakes.")
    assert answered["data"]["author"]["email"] == bob.email

    # The watcher dies once it has recorded its place (a kill between printing an event and recording it
    # would show that one event again: at least once, never lost); meanwhile the conversation goes on, with
    # a bookmark of Bob's among it.
    watcher.wait_until_recorded(3)
    watcher.kill()
    bob.run("react", codemark_id, "+1", cwd=tmp_path)
    bob.run("edit", reply_id, "-m", "Because the network flakes, often.", cwd=tmp_path)
    bookmark = alice.json("add", "src/net.py:5-6", "-m", "note to self", "--type", "bookmark", cwd=repo)
    alice.run("react", reply_id, "eyes", cwd=tmp_path)
    alice.run("edit", codemark_id, "--title", "Retry", cwd=tmp_path)

    # Restarted without --after, it resumes where it stopped: each missed event once, in order. Alice's
    # own bookmark is hers to see.
    watcher = Watcher(alice, tmp_path)
    watchers.append(watcher)
    missed = watcher.events(5)
    assert [(e["seq"], e["type"]) for e in missed] == [
        (4, "reaction.added"),
        (5, "reply.edited"),
        (6, "codemark.created"),
        (7, "reaction.added"),
        (8, "codemark.updated"),
    ]
    assert missed[2]["data"]["id"] == bookmark["id"]
    assert missed[3]["data"]["reply_id"] == reply_id
    assert missed[4]["data"]["title"] == "Retry"

    # Bob, watching too, is told nothing of Alice's bookmark: the seq just moves on.
    bob_watcher = Watcher(bob, tmp_path, "--after", "5")
    watchers.append(bob_watcher)
    bob_missed = bob_watcher.events(2)
    assert [(e["seq"], e["type"]) for e in bob_missed] == [(7, "reaction.added"), (8, "codemark.updated")]

    # Both are live again; nothing is repeated.
    bob.run("reply", codemark_id, "-m", "Shall I add a backoff?", cwd=tmp_path)
    [live] = watcher.events(1)
    [bob_live] = bob_watcher.events(1)
    assert live == bob_live
    assert (live["seq"], live["type"]) == (9, "reply.added")
    watcher.quiet(1.0)

    # The human form says who did what, one line per event.
    human = Watcher(alice, tmp_path, "--after", "7", as_json=False)
    watchers.append(human)
    lines = human.lines(2)
    assert lines[0].startswith("#8 ")
    assert lines[0].endswith(f"{alice.email} edited question {codemark_id}: Retry")
    assert lines[1].startswith("#9 ")
    assert lines[1].endswith(
        f"{bob.email} replied on {codemark_id} ({live['data']['id']}): Shall I add a backoff?"
    )


def test_mentions_reactions_edits_and_follows(team: Path, alice: Person, bob: Person, tmp_path: Path) -> None:
    repo = team
    # Mentions name members by handle or email; anyone else is refused, naming them, and nothing is made.
    bob_handle = handle(bob, tmp_path)
    refused = alice.run("add", "src/net.py:1-2", "-m", f"@{bob_handle} and @nobody?", cwd=repo, expect=1)
    assert "@nobody" in refused.stderr
    assert alice.json("ls", cwd=repo) == []
    first_text = f"@{bob_handle} and @{bob.email}: `@nobody` is code"
    codemark = alice.json("add", "src/net.py:1-2", "-m", first_text, cwd=repo)
    codemark_id = codemark["id"]
    shown = alice.json("show", codemark_id, cwd=tmp_path)
    bob_id = shown["mentions"][0]
    assert shown["followers"] == sorted([shown["author"]["id"], bob_id])
    assert shown["permalink"] == f"/c/{codemark_id}"

    # Reactions on the codemark (by id or by permalink) and on a reply.
    with alice.client() as client:
        permalink = f"{client.server_url}/c/{codemark_id}"
    assert alice.run("react", permalink, "👍", cwd=tmp_path).stdout.strip() == (
        f"Reacted 👍 on codemark {codemark_id}: 👍 1"
    )
    assert bob.json("react", codemark_id, ":tada:", cwd=tmp_path) == [
        {"emoji": "👍", "count": 1, "users": [shown["author"]["id"]]},
        {"emoji": "🎉", "count": 1, "users": [bob_id]},
    ]
    took_back = alice.run("react", codemark_id, "+1", "--remove", cwd=tmp_path).stdout.strip()
    assert took_back == f"Took back 👍 on codemark {codemark_id}: 🎉 1"
    reply_id = bob.run("reply", permalink, "-m", "It flakes.", cwd=tmp_path).stdout.strip()
    assert alice.run("react", reply_id, "eyes", cwd=tmp_path).stdout.startswith(
        f"Reacted 👀 on reply {reply_id}"
    )
    bad = alice.run("react", codemark_id, "nonsense", cwd=tmp_path, expect=1)
    assert bad.stderr.startswith("kibitz: ")
    assert "emoji" in bad.stderr
    alice.run("react", "0000000000000000", "+1", cwd=tmp_path, expect=4)

    # Edits keep a history; only the author edits a reply.
    alice.run("edit", codemark_id, "-m", f"@{bob_handle} why retry at all?", "--title", "Retry", cwd=tmp_path)
    assert (
        bob.run("edit", reply_id, "-m", "It flakes a lot.", cwd=tmp_path).stdout.strip()
        == f"Edited reply {reply_id}."
    )
    forbidden = alice.run("edit", reply_id, "-m", "words in Bob's mouth", cwd=tmp_path, expect=3)
    assert forbidden.stderr.startswith("kibitz: ")
    alice.run("edit", reply_id, "--title", "replies have none", cwd=tmp_path, expect=4)
    alice.run("edit", codemark_id, cwd=tmp_path, expect=2)
    with alice.client() as client:
        [previous] = client.codemark_history(codemark_id)
        assert (previous["title"], previous["text"]) == ("", first_text)
        assert [v["text"] for v in client.reply_history(reply_id)] == ["It flakes."]
    [reply] = alice.json("show", codemark_id, cwd=tmp_path)["replies"]
    assert (reply["text"], reply["edited"]) == ("It flakes a lot.", True)

    # Following.
    alice.run("unfollow", codemark_id, cwd=tmp_path)
    assert alice.json("show", codemark_id, cwd=tmp_path)["followers"] == [bob_id]
    assert "Following" in alice.run("follow", permalink, cwd=tmp_path).stdout
    assert len(alice.json("show", codemark_id, cwd=tmp_path)["followers"]) == 2
    alice.run("follow", "0000000000000000", cwd=tmp_path, expect=4)


def test_search_and_inbox(team: Path, alice: Person, bob: Person, tmp_path: Path) -> None:
    repo = team
    bob_repo = tmp_path / "bob-repo"
    git(tmp_path, "clone", "--quiet", str(repo), str(bob_repo))
    bob.run("init", cwd=bob_repo)
    text = f"@{handle(bob, tmp_path)} is fetchUrl safe?"
    first = alice.json("add", "src/net.py:1-2", "-m", text, "--tag", "net", cwd=repo)["id"]
    second = bob.json(
        "add", "src/net.py:5-6", "-m", "retry needs a backoff", "--type", "issue", cwd=bob_repo
    )["id"]
    reply_id = alice.run("reply", second, "-m", "fetch it twice then", cwd=tmp_path).stdout.strip()

    # Parts of identifiers are words; replies count; filters narrow.
    assert [h["codemark"]["id"] for h in bob.json("search", "fetch", cwd=tmp_path)] == [second, first]
    assert [h["codemark"]["id"] for h in bob.json("search", "url FETCH", cwd=tmp_path)] == [first]
    assert [
        h["codemark"]["id"] for h in bob.json("search", "fetch", "--author", bob.email, cwd=tmp_path)
    ] == [second]
    assert [h["codemark"]["id"] for h in bob.json("search", "fetch", "--type", "issue", cwd=bob_repo)] == [
        second
    ]
    assert [h["codemark"]["id"] for h in bob.json("search", "fetch", "--tag", "net", cwd=tmp_path)] == [first]
    assert bob.json("search", "fetch", "--since", "1h", "--status", "resolved", cwd=tmp_path) == []
    assert bob.json("search", "fetch", "--until", "2000-01-01", cwd=tmp_path) == []
    in_src = bob.json("search", "fetch", "--path", "net.py", cwd=bob_repo / "src")
    assert [h["codemark"]["id"] for h in in_src] == [second, first]
    text = bob.run("search", "twice", cwd=tmp_path).stdout
    assert text.strip().startswith(f"{second}  [open/issue]")
    assert f"in reply {reply_id}" in text
    bob.run("search", "a", cwd=tmp_path, expect=1)
    bob.run("search", "fetch", "--since", "last week", cwd=tmp_path, expect=2)

    # Bob was mentioned and follows his own codemark, which Alice answered.
    inbox = bob.json("inbox", cwd=tmp_path)
    assert [(i["kind"], i["codemark_id"]) for i in inbox["items"]] == [("reply", second), ("mention", first)]
    assert inbox["unread"] == 2
    shown = bob.run("inbox", "--read", cwd=tmp_path)
    assert shown.stdout.count("\n") == 2
    assert shown.stdout.startswith("* reply")
    assert "Marked 2 read" in shown.stderr
    assert bob.json("inbox", cwd=tmp_path) == {"items": [], "unread": 0}
    assert len(bob.json("inbox", "--all", cwd=tmp_path)["items"]) == 2
    assert alice.json("inbox", cwd=tmp_path) == {"items": [], "unread": 0}


def test_watch_reconnects_when_the_server_restarts(
    alice: Person, tmp_path: Path, watchers: list[Watcher]
) -> None:
    data_dir, port = tmp_path / "restarting-server", free_port()
    with running_server(data_dir, port=port) as url:
        alice.run(
            "signup", "--server", url, "--password-stdin", "--email", alice.email, "--name", alice.name,
            cwd=tmp_path, stdin=PASSWORD + "\n",
        )  # fmt: skip
        alice.run("team", "create", "Solo", cwd=tmp_path)
        with alice.client() as client:
            team_id = client.list_teams()[0]["id"]
            repo = client.match_repo(team_id, ["a" * 40], [])
            marker: NewMarker = {
                "repo_id": repo["id"],
                "path": "app.py",
                "commit": "b" * 40,
                "start_line": 1,
                "end_line": 1,
                "code": "x = 1\n",
                "context_before": "",
                "context_after": "",
            }
            codemark = client.create_codemark(team_id, type="comment", text="before", markers=[marker])
        watcher = Watcher(alice, tmp_path, "--after", "0")
        watchers.append(watcher)
        assert [(e["seq"], e["type"]) for e in watcher.events(1)] == [(1, "codemark.created")]
    # The server is down: the watcher keeps trying, then resumes once it is back.
    with running_server(data_dir, port=port):
        with alice.client() as client:
            client.add_reply(codemark["id"], "after the restart")
        [event] = watcher.events(1)
        assert (event["seq"], event["type"], event["data"]["text"]) == (2, "reply.added", "after the restart")
        watcher.quiet(0.5)
    watcher.kill()
    assert "reconnecting in" in watcher.stderr()
