"""The event log: every change is an event, numbered without gaps per team, carrying the changed object.

Events are read from the `event` table; a client that applies them to what it knew must end up with what a
fresh fetch returns (the state comparison of zulip's `verify_action`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event as sql_event

from kibitz.server.events.hub import event_message
from kibitz.server.events.service import head_seq, read_events
from tests.server.conftest import COMMIT, Api, Person, codemark_body, one_app_per_module
from tests.server.event_log import ClientState, LoggedEvent, assert_gap_free, head, team_events
from tests.server.test_conversation import Crew, get, make_crew, reply

# Every test works in teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


async def check_state(http: httpx.AsyncClient, crew: Crew, state: ClientState) -> None:
    """Check that what the events built equals a fresh fetch of every codemark and reply, for Ada."""
    listed = []
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = await get(http, crew.ada, f"/api/v1/teams/{crew.team}/codemarks?{httpx.QueryParams(params)}")
        listed += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break
    assert sorted(c["id"] for c in listed) == sorted(state.codemarks)
    replies = {}
    for fresh in listed:
        known = state.codemarks[fresh["id"]]
        # Name the fields that differ, as (from the events, fetched).
        assert {k: (known.get(k), v) for k, v in fresh.items() if known.get(k) != v} == {}, fresh["id"]
        page = await get(http, crew.ada, f"/api/v1/codemarks/{fresh['id']}/replies?limit=200")
        replies.update({r["id"]: r for r in page["items"]})
    assert replies == state.replies


LoggedMessage = dict[str, Any]


async def wire_events(app: FastAPI, team_id: str, after: int) -> list[LoggedMessage]:
    """Return the team's events after `after` as the stream sends them to a member."""
    async with app.state.kibitz.sessionmaker() as session:
        events = await read_events(session, team_id, after, await head_seq(session, team_id))
    return [json.loads(event_message(event)) for event in events]


async def apply_new(app: FastAPI, team: str, state: ClientState, seen: int) -> tuple[list[LoggedEvent], int]:
    """Apply the events after `seen` to `state`; return them and the new position."""
    events = await team_events(app, team, seen)
    assert_gap_free(events, seen)
    for event in events:
        state.apply(event)
    return events, events[-1].seq if events else seen


async def test_every_change_is_one_event_in_order(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    c = await make_crew(api)
    state = ClientState()
    seen = 0
    expected: list[str] = ["member.joined", "member.joined"]

    async def step(*types: str) -> list[LoggedEvent]:
        """Check that the last action recorded exactly these events, and that the state still agrees."""
        nonlocal seen
        events, seen = await apply_new(app, c.team, state, seen)
        assert [e.type for e in events] == list(types)
        await check_state(http, c, state)
        return events

    joined = await step(*expected)
    assert [e.data["user_id"] for e in joined] == [c.bo.id, c.cy.id]
    assert joined[0].data["role"] == "member"

    cm = await api.codemark(c.ada, c.team, c.repo, text=f"@{c.bo.email} why?", tags=["t"])
    [created] = await step("codemark.created")
    assert created.data == cm
    assert created.visible_to is None

    # A refused request and a change that changes nothing leave no trace.
    r = await http.post(
        f"/api/v1/teams/{c.team}/codemarks", json=codemark_body(c.repo, text="@ghost"), headers=c.ada.headers
    )
    assert r.status_code == 422
    thumbs = f"/api/v1/codemarks/{cm['id']}/reactions/{quote('👍', safe='')}"
    assert (await http.put(thumbs, headers=c.ada.headers)).status_code == 200
    assert (await http.put(thumbs, headers=c.ada.headers)).status_code == 200
    assert (await http.delete(f"{thumbs}x", headers=c.ada.headers)).status_code == 422
    [reacted] = await step("reaction.added")
    assert reacted.data == {
        "codemark_id": cm["id"],
        "reply_id": None,
        "emoji": "👍",
        "user_id": c.ada.id,
        "reactions": [{"emoji": "👍", "count": 1, "users": [c.ada.id]}],
    }

    answer = await reply(http, c.bo, cm["id"], "because")
    [added] = await step("reply.added")
    assert added.data == answer
    r = await http.patch(
        f"/api/v1/replies/{answer['id']}", json={"text": "because, edited"}, headers=c.bo.headers
    )
    [edited] = await step("reply.edited")
    assert edited.data == r.json()
    assert (
        await http.put(
            thumbs.replace(f"codemarks/{cm['id']}", f"replies/{answer['id']}"), headers=c.cy.headers
        )
    ).status_code == 200
    [on_reply] = await step("reaction.added")
    assert on_reply.data["reply_id"] == answer["id"]
    assert (await http.delete(thumbs, headers=c.ada.headers)).status_code == 200
    await step("reaction.removed")

    r = await http.put(f"/api/v1/codemarks/{cm['id']}/follow", headers=c.cy.headers)
    [followed] = await step("codemark.updated")
    assert c.cy.id in followed.data["followers"]
    for change in (
        {"text": "why, really?"},
        {"status": "resolved"},
        {"pinned": True},
        {"assignees": [c.cy.id]},
    ):
        r = await http.patch(f"/api/v1/codemarks/{cm['id']}", json=change, headers=c.ada.headers)
        assert r.status_code == 200
        [updated] = await step("codemark.updated")
        assert updated.data == r.json()

    other = await api.codemark(c.bo, c.team, c.repo)
    await step("codemark.created")
    assert (
        await http.put(f"/api/v1/codemarks/{cm['id']}/related/{other['id']}", headers=c.cy.headers)
    ).status_code == 200
    pair = await step("codemark.updated", "codemark.updated")
    assert {e.data["id"] for e in pair} == {cm["id"], other["id"]}

    marker = cm["markers"][0]["id"]
    location = {
        "marker_id": marker,
        "path": "src/app.py",
        "start_line": 4,
        "end_line": 6,
        "status": "shifted",
        "confidence": 1.0,
    }
    r = await http.post(
        f"/api/v1/teams/{c.team}/locations",
        json={"commit": COMMIT, "algorithm": "v1", "locations": [location]},
        headers=c.cy.headers,
    )
    assert r.status_code == 200
    [stored] = await step("location.stored")
    assert (stored.data["commit"], stored.data["algorithm"]) == (COMMIT, "v1")
    assert [(x["marker_id"], x["start_line"]) for x in stored.data["locations"]] == [(marker, 4)]

    assert (await http.delete(f"/api/v1/replies/{answer['id']}", headers=c.bo.headers)).status_code == 204
    [deleted] = await step("reply.deleted")
    assert (deleted.data["id"], deleted.data["deleted"], deleted.data["text"]) == (answer["id"], True, "")

    assert (
        await http.delete(f"/api/v1/codemarks/{cm['id']}/related/{other['id']}", headers=c.cy.headers)
    ).status_code == 200
    await step("codemark.updated", "codemark.updated")
    assert (await http.delete(f"/api/v1/codemarks/{other['id']}", headers=c.bo.headers)).status_code == 204
    [gone] = await step("codemark.deleted")
    assert gone.data == {"id": other["id"], "team_id": c.team}

    assert (
        await http.delete(f"/api/v1/teams/{c.team}/members/{c.cy.id}", headers=c.cy.headers)
    ).status_code == 204
    [left] = await step("member.left")
    assert left.data == {"team_id": c.team, "user_id": c.cy.id}


async def test_private_changes_are_marked_for_their_author(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    c = await make_crew(api)
    start = await head(app, c.team)
    bookmark = await api.codemark(c.ada, c.team, c.repo, type="bookmark")
    note = await reply(http, c.ada, bookmark["id"], "note")
    await http.patch(f"/api/v1/replies/{note['id']}", json={"text": "note!"}, headers=c.ada.headers)
    await http.put(
        f"/api/v1/codemarks/{bookmark['id']}/reactions/{quote('⭐', safe='')}", headers=c.ada.headers
    )
    await http.patch(f"/api/v1/codemarks/{bookmark['id']}", json={"text": "later"}, headers=c.ada.headers)
    await http.delete(f"/api/v1/replies/{note['id']}", headers=c.ada.headers)
    await http.delete(f"/api/v1/codemarks/{bookmark['id']}", headers=c.ada.headers)
    events = await team_events(app, c.team, start)
    assert [e.type for e in events] == [
        "codemark.created",
        "reply.added",
        "reply.edited",
        "reaction.added",
        "codemark.updated",
        "reply.deleted",
        "codemark.deleted",
    ]
    assert {e.visible_to for e in events} == {c.ada.id}
    # Where a bookmark's code is is private too: storing its location tells the team nothing.
    hidden = await api.codemark(c.ada, c.team, c.repo, type="bookmark")
    location = {
        "marker_id": hidden["markers"][0]["id"],
        "path": "a.py",
        "start_line": 1,
        "end_line": 1,
        "status": "moved",
        "confidence": 0.9,
    }
    before = await head(app, c.team)
    r = await http.post(
        f"/api/v1/teams/{c.team}/locations",
        json={"commit": COMMIT, "algorithm": "v1", "locations": [location]},
        headers=c.ada.headers,
    )
    assert r.json() == {"stored": 1, "already_known": 0}
    assert await team_events(app, c.team, before) == []


async def test_concurrent_writers_get_distinct_gap_free_seqs(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    c = await make_crew(api)
    cm = await api.codemark(c.ada, c.team, c.repo)
    other_team = await api.team(c.bo, "second")
    other = await api.codemark(c.bo, other_team, await api.repo(c.bo, other_team))
    for person in (c.bo, c.cy):  # already following: see test_concurrent_replies_by_one_person
        assert (
            await http.put(f"/api/v1/codemarks/{cm['id']}/follow", headers=person.headers)
        ).status_code == 200
    start, other_start = await head(app, c.team), await head(app, other_team)
    people = [c.ada, c.bo, c.cy]

    async def write(i: int) -> httpx.Response:
        target, writer = (other, c.bo) if i % 4 == 3 else (cm, people[i % 3])
        url = f"/api/v1/codemarks/{target['id']}/replies"
        return await http.post(url, json={"text": f"reply {i}"}, headers=writer.headers)

    answers = await asyncio.gather(*(write(i) for i in range(24)))
    assert [r.status_code for r in answers] == [201] * 24
    events = await team_events(app, c.team, start)
    assert_gap_free(events, start)
    ours = [r.json()["id"] for r in answers if r.json()["codemark_id"] == cm["id"]]
    assert sorted(e.data["id"] for e in events) == sorted(ours)
    # Another team's counter runs on its own, with no gap either.
    others = await team_events(app, other_team, other_start)
    assert_gap_free(others, other_start)
    assert len(others) == 6


# SQLite runs one writer at a time: there is no race to lose.
@pytest.mark.databases("postgres")
async def test_concurrent_replies_by_one_person(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    c = await make_crew(api)
    cm = await api.codemark(c.ada, c.team, c.repo)
    url = f"/api/v1/codemarks/{cm['id']}/replies"
    answers = await asyncio.gather(
        *(http.post(url, json={"text": f"reply {i}"}, headers=c.bo.headers) for i in range(12))
    )
    assert [r.status_code for r in answers] == [201] * 12


async def test_auto_follow_by_replying_is_announced(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    c = await make_crew(api)
    state = ClientState()
    cm = await api.codemark(c.ada, c.team, c.repo)
    await reply(http, c.bo, cm["id"], f"cc @{c.cy.email}")
    await apply_new(app, c.team, state, 0)
    await check_state(http, c, state)


async def test_a_reply_to_a_listed_codemark_announces_its_followers_without_building_it_again(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    c = await make_crew(api)
    state = ClientState()
    listed = await api.codemark(c.ada, c.team, c.repo, tags=["retry"], assignees=[c.cy.id])
    await get(http, c.ada, f"/api/v1/teams/{c.team}/codemarks")  # its answer is kept from here on
    unlisted = await api.codemark(c.ada, c.team, c.repo, tags=["retry"], assignees=[c.cy.id])
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    engine = app.state.kibitz.engine.sync_engine
    sql_event.listen(engine, "before_cursor_execute", count)
    try:
        # Each reply makes Bo follow the codemark (and mentions Ada, its author): `reply.added`, then
        # `codemark.updated`.
        await reply(http, c.bo, listed["id"], f"why? @{c.ada.email}")
        kept_path = len(statements)
        statements.clear()
        await reply(http, c.bo, unlisted["id"], f"why? @{c.ada.email}")
        built_path = len(statements)
    finally:
        sql_event.remove(engine, "before_cursor_execute", count)
    # The listed codemark's answer came from memory, the other's from its parts' queries (markers, parts).
    assert kept_path <= built_path - 2
    events, _ = await apply_new(app, c.team, state, 0)
    assert [e.type for e in events][-4:] == ["reply.added", "codemark.updated"] * 2
    await check_state(http, c, state)


async def test_relations_made_at_creation_are_announced(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    c = await make_crew(api)
    state = ClientState()
    first = await api.codemark(c.ada, c.team, c.repo)
    await api.codemark(c.ada, c.team, c.repo, related=[first["id"]])
    await apply_new(app, c.team, state, 0)
    await check_state(http, c, state)


async def test_relations_dropped_by_a_deletion_are_announced(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    c = await make_crew(api)
    state = ClientState()
    first = await api.codemark(c.ada, c.team, c.repo)
    second = await api.codemark(c.ada, c.team, c.repo)
    assert (
        await http.put(f"/api/v1/codemarks/{first['id']}/related/{second['id']}", headers=c.ada.headers)
    ).status_code == 200
    assert (await http.delete(f"/api/v1/codemarks/{second['id']}", headers=c.ada.headers)).status_code == 204
    await apply_new(app, c.team, state, 0)
    await check_state(http, c, state)


async def test_events_say_who_made_each_change_and_what_it_was(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    c = await make_crew(api)
    codemark = await api.codemark(c.bo, c.team, c.repo, type="issue")
    seen = await head(app, c.team)

    async def changed(person: Person, body: dict[str, object]) -> list[LoggedMessage]:
        nonlocal seen
        r = await http.patch(f"/api/v1/codemarks/{codemark['id']}", json=body, headers=person.headers)
        assert r.status_code == 200, r.text
        messages = await wire_events(app, c.team, seen)
        seen = messages[-1]["seq"]
        return messages

    [resolved] = await changed(c.ada, {"status": "resolved"})
    assert (resolved["by"]["id"], resolved["by"]["email"], resolved["changes"]) == (
        c.ada.id,
        c.ada.email,
        ["resolved"],
    )
    [reopened] = await changed(c.bo, {"status": "open", "assignees": [c.cy.id], "title": "New title"})
    assert reopened["by"]["email"] == c.bo.email
    assert reopened["changes"] == ["assigned", "edited", "reopened"]
    [unchanged] = await changed(c.bo, {"status": "open"})
    assert unchanged["by"]["email"] == c.bo.email
    assert "changes" not in unchanged
    # The object itself is untouched: `data` is still the codemark as the API returns it.
    fetched = (await http.get(f"/api/v1/codemarks/{codemark['id']}", headers=c.bo.headers)).json()
    assert unchanged["data"] == fetched

    r = await http.delete(f"/api/v1/teams/{c.team}/members/{c.cy.id}", headers=c.ada.headers)
    assert r.status_code == 204, r.text
    [removed] = await wire_events(app, c.team, seen)
    assert (removed["type"], removed["by"]["email"], removed["changes"]) == (
        "member.left",
        c.ada.email,
        ["removed"],
    )
