"""Canaries in every sealed field never reach the disk in the clear, and an erased person stays erased.

Real Kibitz server processes. Two people write a unique lowercase canary into every field the server
seals (docs/security.md, "Encryption at rest"): their email, name and handle, a token's name; the team's
name; a codemark's title, text and tag,
and the previous ones after an edit; a marker's path, code and context; a reply and its previous text; a
repo remote (and the name derived from it); a marker reference's path; a shared location's path. Then:

- every canary reads back through the API (the codemark, its history, the replies and theirs, listings by
  path, search, members, repos, shared locations);
- no canary appears in the raw bytes of any file of the data directory — the SQLite database, its WAL and
  shared-memory files while the server runs and after it stops, and the keystore — nor, on PostgreSQL, in a
  plain-text `pg_dump` of the database;
- a backup taken before a person erases themselves, restored into a fresh data directory with the same KEK,
  serves nothing of theirs through the API, holds none of their canaries in its files, and none of its
  sealed cells opens to one of their canaries with the restored keystore (nor with any keystore backup),
  while the other person's canaries still open;
- a codemark text whose ciphertext has one flipped byte makes its codemark answer a clean 500 JSON error
  (no plaintext, no traceback) while the other codemarks still work.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.e2e.conftest import PASSWORD, running_server
from tests.server_process import clean_environment
from tests.warm_start import run_kibitz

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

API = "/api/v1"
COMMIT = "c" * 40
OTHER_COMMIT = "d" * 40
# Canaries of what belongs to the team as a whole (sealed with the team's key): erasing one person leaves
# them, so the erasure checks leave them out.
TEAM_OWNED = ("remote", "reference", "location", "team")


_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def canary(what: str) -> str:
    """Return a lowercase word that can only come from this test.

    Letters only (64 random bits as 16 of the letters a–p): search splits identifiers at digits, and a
    canary must stay one word; nor does any encoding (JSON, URL, UTF-8) change it.
    """
    return f"canary{what}{secrets.token_hex(8).translate(_LETTERS)}"


# ----------------------------------------------------------------------------------------------------
# Servers.


def operator(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `kibitz server ARGS` as the operator and check that it succeeds without a traceback."""
    result = run_kibitz(
        ["server", *args],
        env={**clean_environment(), **env},
        timeout=60,
    )
    assert result.returncode == 0, (args, result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


# ----------------------------------------------------------------------------------------------------
# Seeding a canary into every sealed field.


def _ok(response: httpx.Response, *expected: int) -> Any:
    assert response.status_code in expected, (
        f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else None


@dataclass
class Writer:
    """One person of the test, signed in, and the canaries they wrote."""

    http: httpx.Client
    user_id: str
    email: str
    canaries: dict[str, str]
    codemark_id: str = ""
    marker_id: str = ""
    reply_id: str = ""
    reply_on_other_id: str = ""

    def personal(self) -> dict[str, str]:
        """Return the canaries that erasing this person must destroy (not the team's own)."""
        return {k: v for k, v in self.canaries.items() if k not in TEAM_OWNED}


@dataclass
class Seeded:
    """The team two writers share, and the writers (the owner first)."""

    team_id: str
    repo_id: str
    writers: list[Writer] = field(default_factory=list)

    def all_canaries(self) -> dict[str, str]:
        """Return every canary of the test, named by writer and field."""
        return {f"{i}:{k}": v for i, w in enumerate(self.writers) for k, v in w.canaries.items()}


def sign_up(url: str, clients: list[httpx.Client]) -> Writer:
    """Sign a person up with canaries for email, name and handle, and sign them in."""
    canaries = {"email": canary("email"), "name": canary("name"), "handle": canary("handle")}
    email = f"{canaries['email']}@example.com"
    http = httpx.Client(base_url=url + API, timeout=30)
    clients.append(http)
    body = {"email": email, "name": canaries["name"], "password": PASSWORD, "handle": canaries["handle"]}
    user = _ok(http.post("/auth/signup", json=body), 201)
    login = _ok(http.post("/auth/login", json={"email": email, "password": PASSWORD}), 200)
    http.headers["Authorization"] = f"Bearer {login['token']}"
    canaries["token"] = canary("token")
    made = _ok(http.post("/tokens", json={"name": canaries["token"], "scope": "read"}), 201)
    assert made["name"] == canaries["token"]
    return Writer(http, user["id"], email, canaries)


def write(writer: Writer, team_id: str, repo_id: str) -> None:
    """Write a codemark, a reply, their edits, a reference and a shared location, each holding canaries."""
    c = writer.canaries
    for what in (
        "title",
        "text",
        "path",
        "code",
        "before",
        "after",
        "reply",
        "newtitle",
        "newtext",
        "newreply",
        "reference",
        "location",
        "tag",
    ):
        c[what] = canary(what)
    marker = {
        "repo_id": repo_id,
        "path": f"src/{c['path']}/app.py",
        "commit": COMMIT,
        "start_line": 3,
        "end_line": 4,
        "code": f"{c['code']} = 1\nprint({c['code']})\n",
        "context_before": f"# {c['before']}\n",
        "context_after": f"# {c['after']}\n",
    }
    body = {
        "type": "issue",
        "title": c["title"],
        "text": f"Look at {c['text']} here",
        "markers": [marker],
        "tags": [c["tag"]],
    }
    codemark = _ok(writer.http.post(f"/teams/{team_id}/codemarks", json=body), 201)
    writer.codemark_id, writer.marker_id = codemark["id"], codemark["markers"][0]["id"]
    reply = _ok(writer.http.post(f"/codemarks/{writer.codemark_id}/replies", json={"text": c["reply"]}), 201)
    writer.reply_id = reply["id"]
    # Edits: the previous title, text and reply text go to the histories (sealed there too).
    patch = {"title": c["newtitle"], "text": f"Now {c['newtext']} instead"}
    _ok(writer.http.patch(f"/codemarks/{writer.codemark_id}", json=patch), 200)
    _ok(writer.http.patch(f"/replies/{writer.reply_id}", json={"text": c["newreply"]}), 200)
    reference = {
        "kind": "upstream",
        "commit": OTHER_COMMIT,
        "path": f"lib/{c['reference']}/app.py",
        "start_line": 7,
        "end_line": 8,
    }
    path = f"/codemarks/{writer.codemark_id}/markers/{writer.marker_id}/references"
    _ok(writer.http.post(path, json=reference), 201)
    location = {
        "marker_id": writer.marker_id,
        "path": f"moved/{c['location']}/app.py",
        "start_line": 9,
        "end_line": 10,
        "status": "moved",
        "confidence": 0.9,
    }
    stored = {"commit": OTHER_COMMIT, "algorithm": "canary-1", "locations": [location]}
    assert _ok(writer.http.post(f"/teams/{team_id}/locations", json=stored), 200)["stored"] == 1


def seed(url: str, clients: list[httpx.Client]) -> Seeded:
    """Two people in one team, a repo with a canary remote, and canaries in everything each one writes."""
    owner, member = sign_up(url, clients), sign_up(url, clients)
    owner.canaries["team"] = canary("team")
    team = _ok(owner.http.post("/teams", json={"name": owner.canaries["team"]}), 201)
    code = _ok(owner.http.post(f"/teams/{team['id']}/invites", json={"role": "member"}), 201)["code"]
    _ok(member.http.post("/teams/join", json={"code": code}), 200)
    owner.canaries["remote"] = canary("remote")
    match = {
        "root_commits": ["e" * 40],
        "remotes": [f"https://git.example.com/acme/{owner.canaries['remote']}.git"],
    }
    repo = _ok(owner.http.post(f"/teams/{team['id']}/repos/match", json=match), 200, 201)
    # Matching again by the remote alone finds the same repo (the remote's blind index).
    again = _ok(member.http.post(f"/teams/{team['id']}/repos/match", json={"remotes": match["remotes"]}), 200)
    assert again["id"] == repo["id"]
    seeded = Seeded(team["id"], repo["id"], [owner, member])
    for writer in seeded.writers:
        write(writer, team["id"], repo["id"])
    # Each replies on the other's codemark: erasing one must take this reply too, and not the codemark.
    for writer, other in ((owner, member), (member, owner)):
        writer.canaries["replyonother"] = canary("replyonother")
        text_ = writer.canaries["replyonother"]
        if writer is member:
            # A mention by handle (the handle's blind index finds the owner). Only this way round: the
            # member's handle in the owner's words would be the owner's to keep when the member is erased.
            text_ += f" thanks @{other.canaries['handle']}"
        reply = _ok(writer.http.post(f"/codemarks/{other.codemark_id}/replies", json={"text": text_}), 201)
        assert reply["mentions"] == ([other.user_id] if writer is member else [])
        writer.reply_on_other_id = reply["id"]
    return seeded


# ----------------------------------------------------------------------------------------------------
# Reading back through the API.


def read_everything(http: httpx.Client, team_id: str) -> str:
    """Return, as one text, what the API shows a member of the team: every codemark, thread and history."""
    seen: list[Any] = [_ok(http.get("/me"), 200)]
    seen.append(_ok(http.get(f"/teams/{team_id}/members"), 200))
    seen.append(_ok(http.get(f"/teams/{team_id}/repos"), 200))
    listing = _ok(http.get(f"/teams/{team_id}/codemarks", params={"limit": 200}), 200)
    seen.append(listing)
    marker_ids = []
    for item in listing["items"]:
        seen.append(_ok(http.get(f"/codemarks/{item['id']}"), 200))
        seen.append(_ok(http.get(f"/codemarks/{item['id']}/history"), 200))
        replies = _ok(http.get(f"/codemarks/{item['id']}/replies", params={"limit": 200}), 200)
        seen.append(replies)
        for reply in replies["items"]:
            seen.append(_ok(http.get(f"/replies/{reply['id']}/history"), 200))
        marker_ids += [m["id"] for m in item["markers"]]
    if marker_ids:
        query = {"commit": OTHER_COMMIT, "algorithm": "canary-1", "marker_ids": marker_ids}
        seen.append(_ok(http.post(f"/teams/{team_id}/locations/query", json=query), 200))
    return json.dumps(seen)


def check_readable(seeded: Seeded) -> None:
    """Every canary reads back through the API; listing by path and search find each writer's codemark."""
    reader = seeded.writers[1].http
    everything = read_everything(reader, seeded.team_id)
    # Each person sees their own tokens' names, and the team's name among their teams.
    everything += json.dumps([_ok(w.http.get("/tokens"), 200) for w in seeded.writers])
    everything += json.dumps(_ok(reader.get("/teams"), 200))
    missing = {name: value for name, value in seeded.all_canaries().items() if value not in everything}
    assert not missing, f"canaries that the API no longer shows: {missing}"
    for writer in seeded.writers:
        c = writer.canaries
        by_path = _ok(
            reader.get(f"/teams/{seeded.team_id}/codemarks", params={"path": f"src/{c['path']}/app.py"}), 200
        )
        assert [item["id"] for item in by_path["items"]] == [writer.codemark_id]
        by_tag = _ok(reader.get(f"/teams/{seeded.team_id}/codemarks", params={"tag": c["tag"]}), 200)
        assert [item["id"] for item in by_tag["items"]] == [writer.codemark_id]
        for word in ("newtitle", "newtext", "newreply"):
            hits = _ok(reader.get(f"/teams/{seeded.team_id}/search", params={"q": c[word]}), 200)
            assert [hit["codemark"]["id"] for hit in hits["items"]] == [writer.codemark_id], word


# ----------------------------------------------------------------------------------------------------
# Raw bytes.


def leaks_in_files(directory: Path, canaries: dict[str, str]) -> dict[str, list[str]]:
    """Return, per file under `directory` whose raw bytes hold a canary, the names of those canaries."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        data = path.read_bytes()
        names = [name for name, value in canaries.items() if value.encode() in data]
        if names:
            found[str(path.relative_to(directory))] = names
    return found


def sqlite_files(data_dir: Path) -> list[str]:
    """Return the names of the SQLite files of the data directory (to show what was checked)."""
    return sorted(p.name for p in data_dir.iterdir() if p.name.startswith(("kibitz.db", "keystore.db")))


def pg_dump(url: str) -> str:
    """Return a plain-text dump of a PostgreSQL database, schema and data."""
    result = subprocess.run(
        ["pg_dump", "--no-owner", "--dbname", url], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def clients() -> Iterator[list[httpx.Client]]:
    """The writers' HTTP clients, closed after the test."""
    made: list[httpx.Client] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture
def postgres_database(postgres_url: str) -> str:
    """A fresh PostgreSQL database for one test (skipped, or failed under KIBITZ_REQUIRE_POSTGRES)."""
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is needed to check what a dump of the database holds")
    return postgres_url


# ----------------------------------------------------------------------------------------------------
# Tests.


def test_no_canary_on_disk_sqlite(tmp_path: Path, clients: list[httpx.Client]) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir) as url:
        seeded = seed(url, clients)
        check_readable(seeded)
        canaries = seeded.all_canaries()
        # While the server runs the newest pages sit in the WAL: check it before the stop checkpoints it.
        assert any(name.endswith("-wal") for name in sqlite_files(data_dir)), sqlite_files(data_dir)
        assert leaks_in_files(data_dir, canaries) == {}
        flipped_byte_is_a_clean_error(data_dir, seeded)
    assert {"kibitz.db", "keystore.db"} <= set(sqlite_files(data_dir))
    assert leaks_in_files(data_dir, canaries) == {}


def test_no_canary_on_disk_postgres(
    tmp_path: Path, postgres_database: str, clients: list[httpx.Client]
) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, env={"KIBITZ_DATABASE_URL": postgres_database}) as url:
        seeded = seed(url, clients)
        check_readable(seeded)
    canaries = seeded.all_canaries()
    dump = pg_dump(postgres_database)
    assert seeded.writers[0].user_id in dump  # the dump holds the data, only sealed
    assert [name for name, value in canaries.items() if value in dump] == []
    assert "keystore.db" in sqlite_files(data_dir)
    assert leaks_in_files(data_dir, canaries) == {}


def flipped_byte_is_a_clean_error(data_dir: Path, seeded: Seeded) -> None:
    """Flip one ciphertext byte of a stored codemark text: that codemark is a clean 500, the others work."""
    broken, intact = seeded.writers[0], seeded.writers[1]
    with sqlite3.connect(data_dir / "kibitz.db", timeout=10) as db:
        (stored,) = db.execute("SELECT text FROM codemark WHERE id = ?", (broken.codemark_id,)).fetchone()
        assert stored.startswith("kz1."), "the codemark text is not sealed"
        raw = bytearray(base64.urlsafe_b64decode(stored[4:] + "=" * (-len(stored[4:]) % 4)))
        raw[-20] ^= 0x01  # inside the ciphertext, before the 16-byte tag
        flipped = "kz1." + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
        db.execute("UPDATE codemark SET text = ? WHERE id = ?", (flipped, broken.codemark_id))
    reader = intact.http
    response = reader.get(f"/codemarks/{broken.codemark_id}")
    assert response.status_code == 500, response.text
    # A generic internal error naming the request (the log names the cause), like any other failure.
    error = response.json()["error"]
    assert error["code"] == "internal_error", error
    assert response.headers.get_list("x-request-id") == [error["details"]["request_id"]]
    assert "Traceback" not in response.text
    leaked = [name for name, value in seeded.all_canaries().items() if value in response.text]
    assert leaked == []
    assert _ok(reader.get(f"/codemarks/{intact.codemark_id}"), 200)["title"] == intact.canaries["newtitle"]
    hits = _ok(reader.get(f"/teams/{seeded.team_id}/search", params={"q": intact.canaries["newtext"]}), 200)
    assert [hit["codemark"]["id"] for hit in hits["items"]] == [intact.codemark_id]


def test_erased_person_stays_erased_in_a_restored_backup(tmp_path: Path, clients: list[httpx.Client]) -> None:
    data_dir, backups, restored = tmp_path / "data", tmp_path / "backups", tmp_path / "restored"
    kek = {"KIBITZ_KEK_FILE": str(data_dir / "kek.key")}
    # The erasure purges the keystore backups where backups are kept.
    with running_server(data_dir, env={"KIBITZ_BACKUP_DIR": str(backups)}) as url:
        seeded = seed(url, clients)
        erased, kept = seeded.writers[1], seeded.writers[0]
        operator(
            "backup",
            "--to",
            str(backups),
            env={"KIBITZ_DATA_DIR": str(data_dir), "KIBITZ_BACKUP_DIR": str(backups)},
        )
        assert list((backups / "keystore").glob("*.db")), sorted(p.name for p in backups.rglob("*"))
        wrong = erased.http.request("DELETE", "/me", json={"password": "not the password"})
        assert wrong.status_code in (401, 403), wrong.text
        _ok(erased.http.request("DELETE", "/me", json={"password": PASSWORD}), 200, 202, 204)
        login = httpx.post(f"{url}{API}/auth/login", json={"email": erased.email, "password": PASSWORD})
        assert login.status_code == 401, login.text
        # The live server already shows nothing of theirs.
        everything = read_everything(kept.http, seeded.team_id)
        assert [name for name, value in erased.personal().items() if value in everything] == []
        assert kept.canaries["newtitle"] in everything
        # Nothing of theirs in the raw database files right after the erasure, the WAL included.
        assert leaks_in_files(data_dir, seeded.all_canaries()) == {}
    operator("restore", "--from", str(backups), "--data-dir", str(restored), env=kek)

    gone = erased.personal()
    with running_server(restored, env=kek) as url:
        login = httpx.post(f"{url}{API}/auth/login", json={"email": erased.email, "password": PASSWORD})
        assert login.status_code == 401, login.text
        token = _ok(
            httpx.post(f"{url}{API}/auth/login", json={"email": kept.email, "password": PASSWORD}), 200
        )["token"]
        with httpx.Client(
            base_url=url + API, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as http:
            everything = read_everything(http, seeded.team_id)
            assert [name for name, value in gone.items() if value in everything] == []
            members = _ok(http.get(f"/teams/{seeded.team_id}/members"), 200)
            assert erased.user_id not in [m["user_id"] for m in members]
            for name, value in gone.items():
                hits = _ok(http.get(f"/teams/{seeded.team_id}/search", params={"q": value}), 200)
                assert hits["items"] == [], name
            # The person who stays keeps everything they wrote (and the team keeps its own).
            for name in ("newtitle", "newtext", "newreply", "code", "reference", "location", "remote"):
                assert kept.canaries[name] in everything, name
            hits = _ok(
                http.get(f"/teams/{seeded.team_id}/search", params={"q": kept.canaries["newtext"]}), 200
            )
            assert [hit["codemark"]["id"] for hit in hits["items"]] == [kept.codemark_id]
            by_path = f"src/{gone['path']}/app.py"
            assert (
                _ok(http.get(f"/teams/{seeded.team_id}/codemarks", params={"path": by_path}), 200)["items"]
                == []
            )
            # Gone (404) or kept without its words: either way nothing of theirs, and no 500.
            response = http.get(f"/codemarks/{erased.codemark_id}")
            assert response.status_code in (200, 404), response.text
            assert [name for name, value in gone.items() if value in response.text] == []
    assert leaks_in_files(restored, seeded.all_canaries()) == {}

    # Whatever survives in the restored database cannot be opened to the erased person's canaries, with the
    # restored keystore or with any keystore backup; the other person's still open.
    keystores = [restored / "keystore.db"]
    for number, backup in enumerate(sorted((backups / "keystore").glob("*.db"))):
        copy = tmp_path / f"keystore-backup-{number}.db"  # opening may write: never touch the backup
        shutil.copyfile(backup, copy)
        keystores.append(copy)
    for keystore in keystores:
        opened = asyncio.run(open_every_sealed_cell(restored, keystore, Path(kek["KIBITZ_KEK_FILE"])))
        texts = "\n".join(opened)
        assert [name for name, value in gone.items() if value in texts] == [], keystore.name
        for name in ("newtitle", "email", "newreply"):
            assert kept.canaries[name] in texts, (name, keystore.name)


async def open_every_sealed_cell(data_dir: Path, keystore: Path, kek_file: Path) -> list[str]:
    """Try to open every sealed cell of a data directory's database; return the values that open."""
    from kibitz.server.crypto.registry import SEALED_TABLES
    from kibitz.server.errors import KeyUnavailable, SealBroken
    from kibitz.server.offline import opened
    from kibitz.settings import Settings

    settings = Settings.load(data_dir=data_dir, kek_file=kek_file, keystore_url=f"sqlite:///{keystore}")
    values: list[str] = []
    async with opened(settings, migrate=False) as database, database.sessions() as session:
        for entry in SEALED_TABLES:
            columns = [entry.table.c[c.key] for c in dict.fromkeys((*entry.row, *entry.columns))]
            rows = (await session.execute(select(*columns))).mappings().all()
            for row in rows:
                for column in entry.columns:
                    sealed = row[column.key]
                    if not sealed:
                        continue
                    try:
                        values.append(await database.sealer.open(sealed, column, row=entry.row_of(dict(row))))
                    except (SealBroken, KeyUnavailable):
                        continue
    return values
