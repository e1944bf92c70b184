"""The event log at rest: payloads sealed, people reduced to ids; read back (replay and live) as they were.

A raw `event` row holds no text, code, path, email or name; what the stream delivers equals what the API
answered when the change was made, people's emails, names and handles filled in as they are now. An event
whose key was destroyed, or which an erasure replaced by the redaction marker, is delivered with data
`{"redacted": true}` in its place, and the stream goes on. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, text, update

from kibitz.server.crypto.keystore import OwnerKind
from kibitz.server.crypto.sealer import is_sealed
from kibitz.server.deps import AppState
from kibitz.server.events.hub import Subscriber
from kibitz.server.events.models import Event
from kibitz.server.events.service import REDACTED, head_seq, record_event, strip_people
from tests.server.conftest import COMMIT, Api, Person, one_app_per_module
from tests.server.event_log import assert_gap_free, team_events

# Every test works in teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()

_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def canary(what: str) -> str:
    """Return a word only this test writes (letters only, so no encoding changes it)."""
    return f"canary{what}{secrets.token_hex(8).translate(_LETTERS)}"


def state_of(app: FastAPI) -> AppState:
    """Return the app's state (its sessions, sealer and stream hub)."""
    state: AppState = app.state.kibitz
    return state


async def token_id(http: httpx.AsyncClient, person: Person) -> str:
    """Return the id of the token `person` is logged in with."""
    r = await http.get("/api/v1/tokens", headers=person.headers)
    assert r.status_code == 200, r.text
    return str(next(t["id"] for t in r.json() if t["current"]))


async def replay(app: FastAPI, http: httpx.AsyncClient, person: Person, team_id: str) -> list[dict[str, Any]]:
    """Subscribe from the start, replay to the live point and return the messages, then unsubscribe."""
    hub = state_of(app).hub
    sub = await hub.subscribe(person.id, team_id, 0, token_id=await token_id(http, person))
    messages: list[dict[str, Any]] = []
    try:
        while (page := await hub.replay_until_live(sub, limit=3)) is not None:
            messages += [json.loads(message) for _seq, message in page]
    finally:
        hub.unsubscribe(sub)
    return messages


async def raw_payloads(app: FastAPI, team_id: str) -> list[str]:
    """Return the team's stored payloads as the database holds them (plain SQL, no model in between)."""
    async with state_of(app).sessionmaker() as session:
        rows = await session.execute(
            text("SELECT payload FROM event WHERE team_id = :team ORDER BY seq"), {"team": team_id}
        )
        return [str(payload) for (payload,) in rows]


async def test_rows_hold_no_plaintext_and_read_back_as_written(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada, bo = await api.person(canary("ada")), await api.person(canary("bo"))
    team_id = await api.team(ada)
    await api.join(ada, team_id, bo)
    repo_id = await api.repo(ada, team_id)
    words = {what: canary(what) for what in ("title", "text", "code", "path", "reply", "location")}
    cm = await api.codemark(
        ada,
        team_id,
        repo_id,
        title=words["title"],
        text=words["text"],
        assignees=[bo.id],
        marker={"path": f"src/{words['path']}.py", "code": f"{words['code']} = 1\n"},
    )
    r = await http.post(
        f"/api/v1/codemarks/{cm['id']}/replies", json={"text": words["reply"]}, headers=bo.headers
    )
    assert r.status_code == 201, r.text
    reply = r.json()
    location = {
        "marker_id": cm["markers"][0]["id"],
        "path": f"lib/{words['location']}.py",
        "start_line": 7,
        "end_line": 9,
        "status": "moved",
        "confidence": 0.9,
    }
    r = await http.post(
        f"/api/v1/teams/{team_id}/locations",
        json={"commit": COMMIT, "algorithm": "v1", "locations": [location]},
        headers=bo.headers,
    )
    assert r.status_code == 200, r.text
    r = await http.get(f"/api/v1/teams/{team_id}/members", headers=ada.headers)
    assert r.status_code == 200, r.text
    members = {m["user_id"]: m for m in r.json()}

    # At rest: every payload is sealed and none holds a word of it, nor anyone's email or name.
    payloads = await raw_payloads(app, team_id)
    assert (
        len(payloads) == 4
    )  # Bo's join (the owner's is not an event), the codemark, the reply, the location
    secrets_at_rest = [*words.values(), ada.email, bo.email, members[ada.id]["name"], members[bo.id]["name"]]
    for payload in payloads:
        assert is_sealed(payload), payload[:40]
        assert [word for word in secrets_at_rest if word in payload] == []

    # Opened, people keep their ids only.
    async with state_of(app).sessionmaker() as session:
        sealer = session.sealer
        row = await session.scalar(
            select(Event).where(Event.team_id == team_id, Event.type == "codemark.created")
        )
        assert row is not None
        opened = json.loads(await sealer.open(row.payload, Event.payload, row=f"{team_id}/{row.seq}"))
    assert opened["author"] == {"id": ada.id, "email": None, "name": None, "handle": None}
    assert opened["assignees"] == [{"id": bo.id, "email": None, "name": None, "handle": None}]
    assert opened["title"] == words["title"]

    # Read back through the stream's replay: what the API answered, people filled in.
    messages = await replay(app, http, ada, team_id)
    assert [m["seq"] for m in messages] == [1, 2, 3, 4]
    by_type = {m["type"]: m["data"] for m in messages}
    assert by_type["codemark.created"] == cm
    assert by_type["codemark.created"]["author"]["email"] == ada.email
    assert by_type["reply.added"] == reply
    assert by_type["location.stored"]["locations"][0]["path"] == location["path"]
    assert by_type["member.joined"] == members[bo.id]


async def test_live_events_are_opened_once_for_every_subscriber(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team_id = await api.team(ada)
    await api.join(ada, team_id, bo)
    repo_id = await api.repo(ada, team_id)
    hub = state_of(app).hub
    subs: list[Subscriber] = [
        await hub.subscribe(
            person.id, team_id, await _head(app, team_id), token_id=await token_id(http, person)
        )
        for person in (ada, bo)
    ]
    try:
        for sub in subs:
            assert await hub.replay_until_live(sub) is None
        cm = await api.codemark(ada, team_id, repo_id, text="live and sealed")
        texts = [(await asyncio.wait_for(sub.queue.get(), 10))[1] for sub in subs]
    finally:
        for sub in subs:
            hub.unsubscribe(sub)
    # One message, built once, the same text for both.
    assert texts[0] is texts[1]
    message = json.loads(texts[0])
    assert (message["type"], message["data"]) == ("codemark.created", cm)


async def _head(app: FastAPI, team_id: str) -> int:
    async with state_of(app).sessionmaker() as session:
        return await head_seq(session, team_id)


async def test_a_destroyed_key_or_a_redaction_reads_as_redacted(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team_id = await api.team(ada)
    await api.join(ada, team_id, bo)
    repo_id = await api.repo(ada, team_id)
    state = state_of(app)
    # Bo's writing, sealed with Bo's membership key: a payload that names Ada (a person, kept as an id).
    async with state.sessionmaker() as session:
        await record_event(
            session,
            team_id,
            "reply.added",
            {
                "id": "r1",
                "text": "what bo wrote",
                "author": {"id": ada.id, "email": "x", "name": "y", "handle": "z"},
            },
            author_id=bo.id,
        )
        await session.commit()
    async with state.sessionmaker() as session:
        bos = await head_seq(session, team_id)
    cm = await api.codemark(ada, team_id, repo_id, text="the team goes on")
    before = await replay(app, http, ada, team_id)
    assert before[bos - 1]["data"]["text"] == "what bo wrote"
    assert before[bos - 1]["data"]["author"]["email"] == ada.email

    assert state.sealer.keystore is not None
    assert await state.sealer.keystore.destroy(OwnerKind.MEMBERSHIP, f"{team_id}:{bo.id}") >= 1
    # An erasure may also overwrite a payload with the plain redaction marker.
    async with state.sessionmaker() as session:
        await session.execute(
            update(Event).where(Event.team_id == team_id, Event.seq == 1).values(payload=REDACTED)
        )
        await session.commit()

    after = await replay(app, http, ada, team_id)
    assert [m["seq"] for m in after] == [m["seq"] for m in before]
    assert after[bos - 1]["type"] == "reply.added"
    assert after[bos - 1]["data"] == {"redacted": True}
    assert (after[0]["type"], after[0]["data"]) == (before[0]["type"], {"redacted": True})
    assert after[-1]["data"] == cm
    untouched = [m for m in after if m["seq"] not in (1, bos)]
    assert untouched == [m for m in before if m["seq"] not in (1, bos)]

    # Live too: a new event after the redacted ones reaches a subscriber that starts from the beginning.
    sub = await state.hub.subscribe(bo.id, team_id, 0, token_id=await token_id(http, bo))
    try:
        pages = []
        while (page := await state.hub.replay_until_live(sub)) is not None:
            pages += page
        assert [json.loads(m)["data"] for _s, m in pages][bos - 1] == {"redacted": True}
        r = await http.post(
            f"/api/v1/codemarks/{cm['id']}/replies", json={"text": "still"}, headers=ada.headers
        )
        assert r.status_code == 201, r.text
        _seq, live = await asyncio.wait_for(sub.queue.get(), 10)
        assert json.loads(live)["data"] == r.json()
    finally:
        state.hub.unsubscribe(sub)


async def test_a_person_who_is_gone_reads_as_empty(api: Api, app: FastAPI, http: httpx.AsyncClient) -> None:
    ada = await api.person("Ada")
    team_id = await api.team(ada)
    ghost = "0" * 16
    async with state_of(app).sessionmaker() as session:
        await record_event(
            session,
            team_id,
            "member.updated",
            {"team_id": team_id, "user_id": ghost, "email": "g@example.com", "name": "G", "role": "member"},
        )
        await session.commit()
    [message] = [m for m in await replay(app, http, ada, team_id) if m["type"] == "member.updated"]
    assert message["data"] == {
        "team_id": team_id,
        "user_id": ghost,
        "email": "",
        "name": "",
        "role": "member",
    }


def test_strip_people_keeps_ids_and_everything_else() -> None:
    payload: dict[str, Any] = {
        "id": "c1",
        "title": "t",
        "author": {"id": "u1", "email": "a@example.com", "name": "A", "handle": "a"},
        "assignees": [{"id": "u2", "email": "b@example.com", "name": "B", "handle": "b"}],
        "member": {"user_id": "u3", "email": "c@example.com", "name": "C", "role": "admin", "joined_at": "t"},
        # Not a person: no email/name pair.
        "location": {"id": "l1", "name": "not personal"},
    }
    stripped = strip_people(payload)
    assert stripped == {
        "id": "c1",
        "title": "t",
        "author": {"id": "u1", "email": None, "name": None, "handle": None},
        "assignees": [{"id": "u2", "email": None, "name": None, "handle": None}],
        "member": {"user_id": "u3", "email": None, "name": None, "role": "admin", "joined_at": "t"},
        "location": {"id": "l1", "name": "not personal"},
    }
    assert payload["author"]["email"] == "a@example.com"  # the caller's object is left alone


async def test_deleting_a_reply_or_a_codemark_redacts_what_the_log_carried_of_it(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team_id = await api.team(ada)
    await api.join(ada, team_id, bo)
    repo_id = await api.repo(ada, team_id)
    kept = await api.codemark(ada, team_id, repo_id, title="kept")
    doomed = await api.codemark(ada, team_id, repo_id, title="doomed")
    replies = {}
    for name in ("gone", "stays"):
        r = await http.post(
            f"/api/v1/codemarks/{kept['id']}/replies", json={"text": f"reply {name}"}, headers=bo.headers
        )
        assert r.status_code == 201, r.text
        replies[name] = r.json()["id"]
    r = await http.post(
        f"/api/v1/codemarks/{doomed['id']}/replies", json={"text": "on the doomed one"}, headers=bo.headers
    )
    assert r.status_code == 201, r.text
    r = await http.put(f"/api/v1/replies/{replies['gone']}/reactions/👍", headers=ada.headers)
    assert r.status_code == 200, r.text

    assert (await http.delete(f"/api/v1/replies/{replies['gone']}", headers=bo.headers)).status_code == 204
    assert (await http.delete(f"/api/v1/codemarks/{doomed['id']}", headers=ada.headers)).status_code == 204

    events = await team_events(app, team_id)
    assert_gap_free(events)
    texts = json.dumps([e.data for e in events])
    assert "reply gone" not in texts
    assert "doomed" not in texts
    assert "on the doomed one" not in texts
    assert "reply stays" in texts
    assert "kept" in texts
    redacted = [e.type for e in events if e.data == {"redacted": True}]
    # doomed: created, its reply, updates; the deleted reply: added, the reaction on it.
    assert {"codemark.created", "reply.added", "reaction.added"} <= set(redacted)
    assert redacted.count("reply.added") == 2
    assert [e.type for e in events][-1] == "codemark.deleted"
