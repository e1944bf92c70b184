"""Erasure of a person and of a team: rows gone, events redacted, tokens dead, keys destroyed, a ledger."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from kibitz.server.crypto.keystore import data_key_table, destroyed_table
from kibitz.server.erasure import service
from kibitz.server.erasure.models import ErasureRequest
from kibitz.server.sqlite_driver import InlineConnection, _run
from tests.server.conftest import PASSWORD, Api, Person
from tests.server.event_log import assert_gap_free, team_events

# Every table with a column naming a person, and that column.
USER_COLUMNS = (
    ("codemark", "author_id"),
    ("reply", "author_id"),
    ("codemark_edit", "editor_id"),
    ("reaction", "user_id"),
    ("mention", "user_id"),
    ("follower", "user_id"),
    ("codemark_assignee", "user_id"),
    ("inbox_item", "user_id"),
    ("inbox_item", "actor_id"),
    ("api_token", "user_id"),
    ("membership", "user_id"),
    ("invite", "created_by"),
    ("event", "author_id"),
    ("event", "visible_to"),
    ("event", "actor_id"),
    ("user_account", "id"),
)


async def count(app: FastAPI, sql: str, **params: Any) -> int:
    """Return the single number a SQL query on the main database answers."""
    async with app.state.kibitz.sessionmaker() as session:
        return int((await session.execute(text(sql), params)).scalar_one())


async def rows_naming(app: FastAPI, user_id: str) -> dict[str, int]:
    """Count the rows that name a person, per table and column (only the non-zero ones)."""
    found = {}
    for table, column in USER_COLUMNS:
        n = await count(app, f"SELECT count(*) FROM {table} WHERE {column} = :u", u=user_id)  # noqa: S608
        if n:
            found[f"{table}.{column}"] = n
    return found


async def keys_of(app: FastAPI, kind: str, owner_id: str) -> tuple[int, int]:
    """Return (data keys, tombstones) of a keystore owner."""
    keystore = app.state.kibitz.sealer.keystore
    async with keystore.engine.connect() as connection:
        keys = await connection.scalar(
            select(text("count(*)"))
            .select_from(data_key_table)
            .where(data_key_table.c.owner_kind == kind, data_key_table.c.owner_id == owner_id)
        )
        tombs = await connection.scalar(
            select(text("count(*)"))
            .select_from(destroyed_table)
            .where(destroyed_table.c.owner_kind == kind, destroyed_table.c.owner_id == owner_id)
        )
    return int(keys or 0), int(tombs or 0)


async def handle_of(http: httpx.AsyncClient, person: Person) -> str:
    r = await http.get("/api/v1/me", headers=person.headers)
    return str(r.json()["user"]["handle"])


async def reply(http: httpx.AsyncClient, person: Person, codemark_id: str, words: str) -> str:
    r = await http.post(
        f"/api/v1/codemarks/{codemark_id}/replies", json={"text": words}, headers=person.headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def delete_me(http: httpx.AsyncClient, person: Person, password: str = PASSWORD) -> httpx.Response:
    return await http.request("DELETE", "/api/v1/me", json={"password": password}, headers=person.headers)


async def test_erasing_a_person_removes_what_they_wrote_and_keeps_what_others_wrote(
    http: httpx.AsyncClient, app: FastAPI, api: Api
) -> None:
    ada, bob = await api.person("Ada"), await api.person("Bob")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    repo = await api.repo(ada, team)
    # A team Bob wrote in and left: his membership key there must go too.
    old_team = await api.team(ada, "old")
    await api.join(ada, old_team, bob)
    old_repo = await api.repo(ada, old_team, "c" * 40)
    await api.codemark(bob, old_team, old_repo, text="written before leaving")
    r = await http.delete(f"/api/v1/teams/{old_team}/members/{bob.id}", headers=bob.headers)
    assert r.status_code == 204, r.text

    bob_handle = await handle_of(http, bob)
    ada_cm = await api.codemark(ada, team, repo, text=f"A question for @{bob_handle}", assignees=[bob.id])
    bob_cm = await api.codemark(bob, team, repo, text="Bob's own remark about zebras")
    ada_on_bob = await reply(http, ada, bob_cm["id"], "Ada answers on Bob's codemark")
    bob_replies = [await reply(http, bob, ada_cm["id"], f"Bob's giraffe reply {n}") for n in range(3)]
    ada_reply = await reply(http, ada, ada_cm["id"], f"Ada thanks @{bob_handle}")
    r = await http.patch(
        f"/api/v1/replies/{bob_replies[0]}", json={"text": "edited okapi"}, headers=bob.headers
    )
    assert r.status_code == 200, r.text
    for path in (
        f"codemarks/{ada_cm['id']}/reactions/%F0%9F%91%8D",
        f"replies/{ada_reply}/reactions/%F0%9F%91%8D",
    ):
        r = await http.put(f"/api/v1/{path}", headers=bob.headers)
        assert r.status_code == 200, r.text
    r = await http.put(f"/api/v1/replies/{bob_replies[1]}/reactions/%F0%9F%91%8D", headers=ada.headers)
    assert r.status_code == 200, r.text
    r = await http.put(f"/api/v1/codemarks/{ada_cm['id']}/follow", headers=bob.headers)
    assert r.status_code == 200, r.text
    r = await http.post("/api/v1/tokens", json={"name": "ci", "scope": "read"}, headers=bob.headers)
    assert r.status_code == 201, r.text
    named = {"Authorization": f"Bearer {r.json()['token']}"}
    authored_events = await count(app, "SELECT count(*) FROM event WHERE author_id = :u", u=bob.id)
    authored_here = await count(
        app, "SELECT count(*) FROM event WHERE author_id = :u AND team_id = :t", u=bob.id, t=team
    )
    assert authored_events > authored_here > 0
    assert await keys_of(app, "membership", f"{team}:{bob.id}") == (1, 0)
    assert await keys_of(app, "membership", f"{old_team}:{bob.id}") == (1, 0)
    assert (await rows_naming(app, bob.id)).keys() >= {
        "reply.author_id",
        "mention.user_id",
        "follower.user_id",
        "event.actor_id",
    }

    r = await delete_me(http, bob)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["status"], answer["subject_kind"], answer["subject_id"]) == ("done", "user", bob.id)
    due = dt.datetime.fromisoformat(answer["due_at"]) - dt.datetime.fromisoformat(answer["requested_at"])
    assert due == dt.timedelta(days=7)
    assert answer["completed_at"] is not None

    # Nothing in the main database names him any more, his replies' search words and reactions went too.
    assert await rows_naming(app, bob.id) == {}
    ids = {"a": bob_replies[0], "b": bob_replies[1], "c": bob_replies[2]}
    for table in ("search_token", "reaction", "mention", "inbox_item"):
        column = "source" if table == "search_token" else "reply_id"
        n = await count(app, f"SELECT count(*) FROM {table} WHERE {column} IN (:a, :b, :c)", **ids)  # noqa: S608
        assert n == 0, table
    assert await count(app, "SELECT count(*) FROM reply_edit WHERE reply_id = :a", a=bob_replies[0]) == 0
    # Stored as the literal marker, not as something that merely reads as redacted.
    redacted = await count(
        app, "SELECT count(*) FROM event WHERE payload = :p AND author_id IS NULL", p='{"redacted":true}'
    )
    assert redacted >= authored_events
    # As the stream reads the log: no gap, his events redacted, none of his words anywhere, and his leaving.
    events = await team_events(app, team)
    assert_gap_free(events)
    # His events, and others' events in his codemarks' threads (their replies and reactions there).
    assert sum(e.data == {"redacted": True} for e in events) > authored_here
    assert not [e for e in events if "giraffe" in json.dumps(e.data) or "zebras" in json.dumps(e.data)]
    assert not [e for e in events if "Ada answers on Bob's codemark" in json.dumps(e.data)]
    assert events[-1].type == "member.left"
    assert events[-1].data["user_id"] == bob.id
    # His codemark went with everyone's replies on it; Ada's codemark and her own reply stay.
    r = await http.get(f"/api/v1/codemarks/{bob_cm['id']}", headers=ada.headers)
    assert r.status_code == 404
    assert await count(app, "SELECT count(*) FROM reply WHERE id = :r", r=ada_on_bob) == 0
    r = await http.get(f"/api/v1/codemarks/{ada_cm['id']}/replies", headers=ada.headers)
    assert r.status_code == 200, r.text
    assert [item["id"] for item in r.json()["items"]] == [ada_reply]
    r = await http.get(f"/api/v1/codemarks/{ada_cm['id']}", headers=ada.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["assignees"], r.json()["reply_count"]) == ([], 1)
    r = await http.get(f"/api/v1/teams/{team}/search", params={"q": "giraffe"}, headers=ada.headers)
    assert (r.status_code, r.json()["items"]) == (200, []), r.text
    r = await http.get(f"/api/v1/teams/{team}/members", headers=ada.headers)
    assert [m["user_id"] for m in r.json()] == [ada.id]

    # Every token of his is dead at once, the session and the named one.
    for headers in (bob.headers, named):
        r = await http.get("/api/v1/me", headers=headers)
        assert r.status_code == 401, r.text
    r = await http.post("/api/v1/auth/login", json={"email": bob.email, "password": PASSWORD})
    assert r.status_code == 401

    # His keys are destroyed (tombstones stay), in the teams he left too; Ada's are untouched.
    assert await keys_of(app, "user", bob.id) == (0, 1)
    assert await keys_of(app, "membership", f"{team}:{bob.id}") == (0, 1)
    assert await keys_of(app, "membership", f"{old_team}:{bob.id}") == (0, 1)
    assert (await keys_of(app, "user", ada.id))[0] == 1
    assert (await keys_of(app, "team", team))[1] == 0

    # The team's admins see the request, by its opaque id, in the ledger.
    r = await http.get(f"/api/v1/teams/{team}/erasures", headers=ada.headers)
    assert r.status_code == 200, r.text
    assert [(e["id"], e["subject_id"], e["status"]) for e in r.json()] == [(answer["id"], bob.id, "done")]
    r = await http.get(f"/api/v1/teams/{old_team}/erasures", headers=ada.headers)
    assert r.json() == []
    r = await http.get(f"/api/v1/teams/{team}/audit", params={"action": "erasure"}, headers=ada.headers)
    assert {e["action"] for e in r.json()["items"]} == {"erasure.requested", "erasure.completed"}


async def test_the_last_owner_of_a_team_with_members_cannot_leave_by_erasure(
    http: httpx.AsyncClient, app: FastAPI, api: Api
) -> None:
    ada, bob = await api.person("Ada"), await api.person("Bob")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    r = await delete_me(http, ada)
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "conflict"
    assert "transfer ownership" in error["message"]
    assert error["details"] == {"team_ids": [team]}
    assert (await http.get("/api/v1/me", headers=ada.headers)).status_code == 200
    assert await count(app, "SELECT count(*) FROM erasure_request") == 0
    # Once another owner is there, she may go; the team stays with Bob.
    r = await http.post(f"/api/v1/teams/{team}/transfer", json={"user_id": bob.id}, headers=ada.headers)
    assert r.status_code == 200, r.text
    assert (await delete_me(http, ada)).status_code == 200
    r = await http.get(f"/api/v1/teams/{team}/members", headers=bob.headers)
    assert [(m["user_id"], m["role"]) for m in r.json()] == [(bob.id, "owner")]
    assert await keys_of(app, "team", team) == (1, 0)


async def test_a_team_where_the_person_is_alone_is_erased_with_them(
    http: httpx.AsyncClient, app: FastAPI, api: Api
) -> None:
    ada = await api.person("Ada")
    solo = await api.team(ada, "solo")
    repo = await api.repo(ada, solo)
    await api.codemark(ada, solo, repo)
    assert (await keys_of(app, "team", solo))[0] == 1
    r = await delete_me(http, ada)
    assert r.status_code == 200, r.text
    assert await count(app, "SELECT count(*) FROM team WHERE id = :t", t=solo) == 0
    assert await count(app, "SELECT count(*) FROM codemark WHERE team_id = :t", t=solo) == 0
    for kind, owner_id in (
        ("team", solo),
        ("index", solo),
        ("membership", f"{solo}:{ada.id}"),
        ("user", ada.id),
    ):
        assert await keys_of(app, kind, owner_id) == (0, 1), (kind, owner_id)


@pytest.mark.database_agnostic
async def test_an_erasure_empties_the_caches_of_opened_text(
    http: httpx.AsyncClient, app: FastAPI, api: Api
) -> None:
    ada, bob = await api.person("Ada"), await api.person("Bob")
    team = await api.team(ada)
    repo = await api.repo(ada, team)
    await api.codemark(ada, team, repo)
    r = await http.get(f"/api/v1/teams/{team}/codemarks", headers=ada.headers)
    assert r.status_code == 200, r.text
    caches = app.state.kibitz.caches
    assert len(caches.listings) > 0
    assert len(caches.people) > 0
    # Anyone's erasure: what was opened under any key must not linger in memory until evicted.
    assert (await delete_me(http, bob)).status_code == 200
    assert (len(caches.listings), len(caches.people), len(caches.feed_rows)) == (0, 0, 0)


@pytest.mark.database_agnostic
async def test_a_wrong_password_erases_nothing(http: httpx.AsyncClient, app: FastAPI, api: Api) -> None:
    ada = await api.person("Ada")
    team = await api.team(ada)
    r = await delete_me(http, ada, "not my password at all")
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "invalid_credentials"
    assert (await http.get("/api/v1/me", headers=ada.headers)).status_code == 200
    assert await count(app, "SELECT count(*) FROM erasure_request") == 0
    before = await rows_naming(app, ada.id)
    assert before.items() >= {"api_token.user_id": 1, "membership.user_id": 1, "user_account.id": 1}.items()
    assert await keys_of(app, "user", ada.id) == (1, 0)
    assert await count(app, "SELECT count(*) FROM team WHERE id = :t", t=team) == 1
    assert (await delete_me(http, Person(ada.id, ada.email, "", {}))).status_code == 401
    r = await http.request("DELETE", "/api/v1/me", json={}, headers=ada.headers)
    assert r.status_code == 422


async def test_a_team_is_deleted_by_its_owner_with_its_name(
    http: httpx.AsyncClient, app: FastAPI, api: Api
) -> None:
    ada, bob, cid = await api.person("Ada"), await api.person("Bob"), await api.person("Cid")
    team = await api.team(ada, "doomed")
    await api.join(ada, team, bob, "admin")
    await api.join(ada, team, cid)
    repo = await api.repo(bob, team)
    await api.codemark(bob, team, repo)
    await api.codemark(ada, team, repo)
    r = await http.request("DELETE", f"/api/v1/teams/{team}", json={"confirm": "doomed"}, headers=bob.headers)
    assert r.status_code == 403, r.text
    r = await http.request("DELETE", f"/api/v1/teams/{team}", json={"confirm": "Doomed"}, headers=ada.headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_failed"
    assert await count(app, "SELECT count(*) FROM codemark WHERE team_id = :t", t=team) == 2
    assert await count(app, "SELECT count(*) FROM erasure_request") == 0

    r = await http.request("DELETE", f"/api/v1/teams/{team}", json={"confirm": "doomed"}, headers=ada.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["subject_kind"], r.json()["subject_id"]) == ("done", "team", team)
    for table in ("team", "membership", "codemark", "marker", "repo", "event", "search_token"):
        column = "id" if table == "team" else "team_id"
        sql = f"SELECT count(*) FROM {table} WHERE {column} = :t"  # noqa: S608
        assert await count(app, sql, t=team) == 0, table
    for person in (ada, bob, cid):
        assert (await http.get(f"/api/v1/teams/{team}/members", headers=person.headers)).status_code == 404
        assert (await http.get("/api/v1/me", headers=person.headers)).status_code == 200
    for kind, owner_id in (
        ("team", team),
        ("index", team),
        ("membership", f"{team}:{ada.id}"),
        ("membership", f"{team}:{bob.id}"),
    ):
        assert await keys_of(app, kind, owner_id) == (0, 1), (kind, owner_id)
    assert (await keys_of(app, "user", bob.id))[0] == 1
    r = await http.request("DELETE", f"/api/v1/teams/{team}", json={"confirm": "doomed"}, headers=ada.headers)
    assert r.status_code == 404


async def test_the_ledger_is_for_admins_of_the_team(http: httpx.AsyncClient, api: Api) -> None:
    ada, bob, cid = await api.person("Ada"), await api.person("Bob"), await api.person("Cid")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    await api.join(ada, team, cid, "admin")
    assert (await delete_me(http, bob)).status_code == 200
    r = await http.get(f"/api/v1/teams/{team}/erasures", headers=cid.headers)
    assert r.status_code == 200
    assert [e["subject_id"] for e in r.json()] == [bob.id]
    assert set(r.json()[0]) == {
        "id",
        "subject_kind",
        "subject_id",
        "requested_at",
        "due_at",
        "status",
        "completed_at",
    }
    r = await http.patch(
        f"/api/v1/teams/{team}/members/{cid.id}", json={"role": "member"}, headers=ada.headers
    )
    assert r.status_code == 200, r.text
    r = await http.get(f"/api/v1/teams/{team}/erasures", headers=cid.headers)
    assert r.status_code == 403


async def test_the_sweeper_finishes_an_erasure_interrupted_before_its_keys_were_destroyed(
    http: httpx.AsyncClient, app: FastAPI, api: Api
) -> None:
    ada, bob = await api.person("Ada"), await api.person("Bob")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    repo = await api.repo(bob, team)
    await api.codemark(bob, team, repo)
    # The first step alone, as if the process died right after its commit.
    async with app.state.kibitz.sessionmaker() as session:
        erased = await service.erase_user(session, bob.id, requested_by=bob.id)
        await session.commit()
    request_id = erased.request.id
    assert await keys_of(app, "membership", f"{team}:{bob.id}") == (1, 0)
    assert await keys_of(app, "user", bob.id) == (1, 0)
    sweeper = app.state.erasure_sweeper
    # A request younger than the grace period is left to the route that made it.
    assert await sweeper.sweep() == 0
    started = time.monotonic()
    assert await sweeper.sweep(grace=dt.timedelta(0)) == 1
    assert time.monotonic() - started < 10
    assert await keys_of(app, "membership", f"{team}:{bob.id}") == (0, 1)
    assert await keys_of(app, "user", bob.id) == (0, 1)
    async with app.state.kibitz.sessionmaker() as session:
        request = await session.scalar(select(ErasureRequest).where(ErasureRequest.id == request_id))
        assert request is not None
        assert request.status == "done"
        assert request.completed_at is not None
    # Nothing is left to do, and doing it again changes nothing.
    assert await sweeper.sweep(grace=dt.timedelta(0)) == 0
    async with app.state.kibitz.sessionmaker() as session:
        request = await session.get(ErasureRequest, request_id)
        assert request is not None
        await service.finish_erasure(session, app.state.kibitz.settings, request)
    assert await keys_of(app, "membership", f"{team}:{bob.id}") == (0, 1)


async def test_the_streams_of_an_erased_person_are_cut(
    http: httpx.AsyncClient, app: FastAPI, api: Api
) -> None:
    ada, bob = await api.person("Ada"), await api.person("Bob")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    async with app.state.kibitz.sessionmaker() as session:
        token_ids = dict(
            (
                await session.execute(
                    text("SELECT user_id, id FROM api_token WHERE user_id IN (:a, :b)"),
                    {
                        "a": ada.id,
                        "b": bob.id,
                    },
                )
            ).all()
        )
    hub = app.state.kibitz.hub
    subs = {p.id: await hub.subscribe(p.id, team, 0, token_id=token_ids[p.id]) for p in (ada, bob)}
    try:
        assert await hub.sweep() == 0
        assert (await delete_me(http, bob)).status_code == 200
        # His token row is gone altogether: the sweep (this one, or the hub's own meanwhile) counts a missing
        # token as revoked.
        await hub.sweep()
        assert subs[bob.id].cut == "revoked"
        assert subs[ada.id].cut is None
    finally:
        for sub in subs.values():
            hub.unsubscribe(sub)


@pytest.mark.database_agnostic
async def test_password_guesses_spend_the_login_budget(
    http: httpx.AsyncClient, app: FastAPI, api: Api
) -> None:
    ada = await api.person("Ada")
    answers = [(await delete_me(http, ada, f"guess {n}")).status_code for n in range(12)]
    assert answers[0] == 401
    assert answers[-1] == 429
    # Throttled, the right password erases nothing either.
    r = await delete_me(http, ada)
    assert r.status_code == 429, r.text
    assert "Retry-After" in r.headers
    assert await count(app, "SELECT count(*) FROM user_account WHERE id = :u", u=ada.id) == 1
    assert await count(app, "SELECT count(*) FROM erasure_request") == 0


@pytest.mark.databases("sqlite")
async def test_an_erasure_leaves_no_copy_of_the_erased_cells_in_the_sqlite_files(
    http: httpx.AsyncClient, app: FastAPI, api: Api, settings: Any
) -> None:
    ada = await api.person("Ada")
    bob = await api.person("Bob")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    repo = await api.repo(ada, team)
    codemarks = [await api.codemark(bob, team, repo, text=f"Bob's note {n}") for n in range(30)]
    await api.codemark(ada, team, repo, text="Ada's note")
    # What Bob's rows hold on disk: sealed values, whose bytes must not outlive the erasure in any file.
    async with app.state.kibitz.sessionmaker() as session:
        stored = [
            str(value)
            for value in (
                await session.execute(
                    text(
                        "SELECT text FROM codemark WHERE author_id = :u "
                        "UNION ALL SELECT email FROM user_account WHERE id = :u"
                    ),
                    {"u": bob.id},
                )
            ).scalars()
        ]
    assert len(stored) == len(codemarks) + 1
    r = await delete_me(http, bob)
    assert r.status_code == 200, r.text

    files = [settings.data_dir / "kibitz.db", settings.data_dir / "kibitz.db-wal"]
    raw = b"".join(path.read_bytes() for path in files if path.exists())
    assert raw, "the database files were not found"
    left = [value for value in stored if value.encode() in raw or value[4:40].encode() in raw]
    assert left == [], f"{len(left)} of {len(stored)} erased cells are still in the SQLite files"


@pytest.mark.databases("sqlite")
async def test_erasures_delete_off_the_event_loop(
    http: httpx.AsyncClient, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large team's erasure deletes for seconds: on SQLite the loop serves other requests meanwhile."""
    ada, bob = await api.person("Ada"), await api.person("Bob")
    team = await api.team(ada, "doomed")
    repo = await api.repo(ada, team)
    await api.codemark(ada, team, repo)
    solo = await api.team(bob, "solo")
    await api.codemark(bob, solo, await api.repo(bob, solo))
    on_thread: list[str] = []
    original = InlineConnection._execute

    async def recording(self: InlineConnection, function: Any, *args: Any, **kwargs: Any) -> Any:
        call = args[2] if len(args) == 3 else function  # the driver's calls: _waiting(connection, ms, call)
        is_statement = getattr(call, "func", None) is _run
        on_thread.append(call.args[1] if is_statement else getattr(call, "__name__", ""))
        return await original(self, function, *args, **kwargs)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(InlineConnection, "_execute", recording)
    r = await http.request("DELETE", f"/api/v1/teams/{team}", json={"confirm": "doomed"}, headers=ada.headers)
    assert r.status_code == 200, r.text
    assert any(sql.startswith("DELETE FROM team") for sql in on_thread), on_thread
    on_thread.clear()
    r = await delete_me(http, bob)
    assert r.status_code == 200, r.text
    assert any(sql.startswith("DELETE FROM user_account") for sql in on_thread), on_thread
    # An ordinary request's statements stay on the loop's thread.
    on_thread.clear()
    assert (await http.get("/api/v1/me", headers=ada.headers)).status_code == 200
    assert (await http.post("/api/v1/teams", json={"name": "next"}, headers=ada.headers)).status_code == 201
    assert on_thread == []
