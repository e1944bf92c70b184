"""Conversations on codemarks: mentions, reactions, edits and their history, tombstones, assignees, tags,
relations, pins, archiving, follows, permalinks, private bookmarks and thread-less links."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from tests.server.conftest import PASSWORD, Api, Person, codemark_body, one_app_per_module
from tests.server.event_log import head, team_events

# Every test works in teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


@dataclass
class Crew:
    """Ada (owner), Bo and Cy (members) in one team with one repo."""

    ada: Person
    bo: Person
    cy: Person
    team: str
    repo: str


async def make_crew(api: Api) -> Crew:
    """Sign up three people in one team with one repo."""
    ada, bo, cy = await api.person("Ada"), await api.person("Bo"), await api.person("Cy")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    await api.join(ada, team, cy)
    return Crew(ada, bo, cy, team, await api.repo(ada, team))


async def handle_of(http: httpx.AsyncClient, person: Person) -> str:
    """Return a person's handle as the API reports it."""
    r = await http.get("/api/v1/me", headers=person.headers)
    assert r.status_code == 200, r.text
    return str(r.json()["user"]["handle"])


def reaction_url(kind: str, object_id: str, emoji: str) -> str:
    """Return the URL of one emoji on a codemark or a reply, the emoji percent-encoded."""
    return f"/api/v1/{kind}/{object_id}/reactions/{quote(emoji, safe='')}"


async def reply(http: httpx.AsyncClient, person: Person, codemark_id: str, text: str) -> dict[str, Any]:
    """Add a reply and return it."""
    r = await http.post(
        f"/api/v1/codemarks/{codemark_id}/replies", json={"text": text}, headers=person.headers
    )
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def get(http: httpx.AsyncClient, person: Person, url: str) -> Any:
    """GET a URL that must answer 200 and return its JSON."""
    r = await http.get(url, headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


# -- mentions -------------------------------------------------------------------------------------


async def test_mentions_by_handle_and_email_outside_code(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    bo_handle = await handle_of(http, c.bo)
    ada_handle = await handle_of(http, c.ada)
    # A handle is derived from the email when none is chosen at signup.
    assert bo_handle == c.bo.email.split("@")[0]
    text = (
        f"@{bo_handle.upper()} and @{c.cy.email.upper()}, thoughts?\n"
        f"Not a mention: `@{ada_handle}`, nor mail to {c.ada.email}.\n"
        f"```\n@{ada_handle}\n```"
    )
    cm = await api.codemark(c.ada, c.team, c.repo, text=text)
    assert sorted(cm["mentions"]) == sorted([c.bo.id, c.cy.id])
    # The author and everyone mentioned follow the thread.
    assert sorted(cm["followers"]) == sorted([c.ada.id, c.bo.id, c.cy.id])

    # A mention in the title counts; a sentence may end right after one.
    titled = await api.codemark(c.ada, c.team, c.repo, title=f"For @{bo_handle}.", text="no one here")
    assert titled["mentions"] == [c.bo.id]

    # Replies mention too, and make the mentioned follow.
    plain = await api.codemark(c.ada, c.team, c.repo, text="quiet")
    answered = await reply(http, c.bo, plain["id"], f"cc @{c.cy.email} (not `@{ada_handle}`)")
    assert answered["mentions"] == [c.cy.id]
    fresh = await get(http, c.ada, f"/api/v1/codemarks/{plain['id']}")
    assert sorted(fresh["followers"]) == sorted([c.ada.id, c.bo.id, c.cy.id])


async def test_chosen_handle_is_mentionable(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    r = await http.post(
        "/api/v1/auth/signup",
        json={"email": "dee.x@example.com", "name": "Dee", "password": PASSWORD, "handle": "Deedee"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["handle"] == "deedee"
    r = await http.post("/api/v1/auth/login", json={"email": "dee.x@example.com", "password": PASSWORD})
    dee = Person(r.json()["user"]["id"], "dee.x@example.com", r.json()["token"])
    dee.headers = {"Authorization": f"Bearer {dee.token}"}
    await api.join(c.ada, c.team, dee)
    cm = await api.codemark(c.ada, c.team, c.repo, text="@deedee please look")
    assert cm["mentions"] == [dee.id]
    # A handle taken by someone else cannot be chosen again.
    r = await http.post(
        "/api/v1/auth/signup",
        json={"email": "other@example.com", "name": "O", "password": PASSWORD, "handle": "deedee"},
    )
    assert r.status_code == 409


async def test_unknown_mentions_are_refused_and_nothing_is_stored(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    c = await make_crew(api)
    stranger = await api.person("Eve")
    await api.team(stranger, "elsewhere")
    cm = await api.codemark(c.ada, c.team, c.repo, text="original")
    before = await head(app, c.team)
    url = f"/api/v1/teams/{c.team}/codemarks"
    body = codemark_body(c.repo, text=f"@nobody and @{stranger.email} and @{c.bo.email}")
    r = await http.post(url, json=body, headers=c.ada.headers)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "validation_failed"
    assert "@nobody" in error["message"]
    assert stranger.email in error["message"]
    assert error["details"][0]["unknown_mentions"] == ["nobody", stranger.email]
    assert c.bo.email not in str(error["details"])
    listed = await get(http, c.ada, url)
    assert [x["id"] for x in listed["items"]] == [cm["id"]]

    # Replies, reply edits and codemark edits are refused the same way, changing nothing.
    r = await http.post(
        f"/api/v1/codemarks/{cm['id']}/replies", json={"text": "@ghost hi"}, headers=c.bo.headers
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["unknown_mentions"] == ["ghost"]
    answer = await reply(http, c.bo, cm["id"], "fine")
    r = await http.patch(f"/api/v1/replies/{answer['id']}", json={"text": "@ghost"}, headers=c.bo.headers)
    assert r.status_code == 422
    r = await http.patch(
        f"/api/v1/codemarks/{cm['id']}",
        json={"text": "@ghost", "tags": ["lost"], "assignees": [c.bo.id]},
        headers=c.ada.headers,
    )
    assert r.status_code == 422
    fresh = await get(http, c.ada, f"/api/v1/codemarks/{cm['id']}")
    assert (fresh["text"], fresh["tags"], fresh["assignees"], fresh["edited"]) == ("original", [], [], False)
    assert await get(http, c.ada, f"/api/v1/codemarks/{cm['id']}/history") == []
    replies = await get(http, c.ada, f"/api/v1/codemarks/{cm['id']}/replies")
    assert [(x["text"], x["edited"]) for x in replies["items"]] == [("fine", False)]
    # Only the one accepted reply left a trace in the log (with Bo, now following, on the codemark).
    assert [e.type for e in await team_events(app, c.team, before)] == ["reply.added", "codemark.updated"]


# -- reactions ------------------------------------------------------------------------------------


async def test_emoji_forms_are_accepted(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person()
    team = await api.team(ada)
    cm = await api.codemark(ada, team, await api.repo(ada, team))
    # Plain, skin-toned, with a variation selector, joined with ZWJ, a flag.
    accepted = ["👍", "👍🏽", "❤️", "👨‍👩‍👧", "🇫🇷"]
    for emoji in accepted:
        r = await http.put(reaction_url("codemarks", cm["id"], emoji), headers=ada.headers)
        assert r.status_code == 200, (emoji, r.text)
    assert r.json() == [{"emoji": e, "count": 1, "users": [ada.id]} for e in accepted]


async def test_keycap_emoji_are_accepted(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person()
    team = await api.team(ada)
    cm = await api.codemark(ada, team, await api.repo(ada, team))
    for emoji in ("1\ufe0f\u20e3", "#\ufe0f\u20e3"):
        r = await http.put(reaction_url("codemarks", cm["id"], emoji), headers=ada.headers)
        assert r.status_code == 200, (emoji, r.text)


async def test_reactions_on_codemarks_and_replies(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    c = await make_crew(api)
    cm = await api.codemark(c.ada, c.team, c.repo)
    answer = await reply(http, c.bo, cm["id"], "because")
    thumbs = reaction_url("codemarks", cm["id"], "👍")

    assert (await http.put(thumbs, headers=c.ada.headers)).json() == [
        {"emoji": "👍", "count": 1, "users": [c.ada.id]}
    ]
    logged = await head(app, c.team)
    # Adding again changes nothing and records nothing.
    assert (await http.put(thumbs, headers=c.ada.headers)).json()[0]["count"] == 1
    assert await head(app, c.team) == logged
    await http.put(thumbs, headers=c.bo.headers)
    r = await http.put(reaction_url("codemarks", cm["id"], "🎉"), headers=c.cy.headers)
    assert r.json() == [
        {"emoji": "👍", "count": 2, "users": [c.ada.id, c.bo.id]},
        {"emoji": "🎉", "count": 1, "users": [c.cy.id]},
    ]
    r = await http.delete(thumbs, headers=c.ada.headers)
    assert r.status_code == 200
    assert r.json() == [
        {"emoji": "👍", "count": 1, "users": [c.bo.id]},
        {"emoji": "🎉", "count": 1, "users": [c.cy.id]},
    ]
    # Taking back what is not there is fine, and records nothing.
    logged = await head(app, c.team)
    assert (await http.delete(thumbs, headers=c.ada.headers)).status_code == 200
    assert await head(app, c.team) == logged
    fresh = await get(http, c.cy, f"/api/v1/codemarks/{cm['id']}")
    assert fresh["reactions"] == r.json()

    # Replies carry their own reactions; the codemark's are not mixed in.
    r = await http.put(reaction_url("replies", answer["id"], "👀"), headers=c.ada.headers)
    assert r.json() == [{"emoji": "👀", "count": 1, "users": [c.ada.id]}]
    replies = await get(http, c.ada, f"/api/v1/codemarks/{cm['id']}/replies")
    assert replies["items"][0]["reactions"] == r.json()
    r = await http.delete(reaction_url("replies", answer["id"], "👀"), headers=c.ada.headers)
    assert r.json() == []
    fresh = await get(http, c.cy, f"/api/v1/codemarks/{cm['id']}")
    assert [x["emoji"] for x in fresh["reactions"]] == ["👍", "🎉"]


@pytest.mark.database_agnostic
async def test_invalid_emoji_is_refused(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person()
    team = await api.team(ada)
    cm = await api.codemark(ada, team, await api.repo(ada, team))
    answer = await reply(http, ada, cm["id"], "x")
    for word in ("a", "+1", ":+1:", "👍x", "ok👍", " ", "👍" * 17, "\x00", "\u200d"):
        for kind, target in (("codemarks", cm["id"]), ("replies", answer["id"])):
            for method in ("PUT", "DELETE"):
                r = await http.request(method, reaction_url(kind, target, word), headers=ada.headers)
                assert r.status_code == 422, (word, kind, method, r.text)
                assert r.json()["error"]["code"] == "validation_failed"
    assert (await get(http, ada, f"/api/v1/codemarks/{cm['id']}"))["reactions"] == []


async def test_reactions_on_another_teams_codemark_are_not_found(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    cm = await api.codemark(c.ada, c.team, c.repo)
    answer = await reply(http, c.bo, cm["id"], "x")
    eve = await api.person("Eve")
    await api.team(eve, "evil")
    for url in (reaction_url("codemarks", cm["id"], "👍"), reaction_url("replies", answer["id"], "👍")):
        for method in ("PUT", "DELETE"):
            r = await http.request(method, url, headers=eve.headers)
            assert r.status_code == 404, (method, url)
            assert r.json()["error"]["code"] == "not_found"
    assert (await get(http, c.ada, f"/api/v1/codemarks/{cm['id']}"))["reactions"] == []


# -- edits, history and tombstones -----------------------------------------------------------------


async def test_codemark_edits_keep_their_history(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    await api.join(c.ada, c.team, admin := await api.person("Di"), "admin")
    cm = await api.codemark(c.bo, c.team, c.repo, title="v1 title", text="v1 text")
    assert cm["edited"] is False
    url = f"/api/v1/codemarks/{cm['id']}"
    # Changing anything but the words is no edit of the words.
    r = await http.patch(
        url, json={"tags": ["x"], "status": "resolved", "pinned": True}, headers=c.bo.headers
    )
    assert r.json()["edited"] is False
    assert await get(http, c.bo, f"{url}/history") == []

    assert (await http.patch(url, json={"text": "v2 text"}, headers=c.bo.headers)).json()["edited"] is True
    r = await http.patch(url, json={"title": "v3 title", "text": "v3 text"}, headers=admin.headers)
    assert r.status_code == 200
    assert (r.json()["title"], r.json()["text"], r.json()["edited"]) == ("v3 title", "v3 text", True)
    history = await get(http, c.cy, f"{url}/history")
    assert [(v["title"], v["text"], v["editor"]["id"]) for v in history] == [
        ("v1 title", "v2 text", admin.id),
        ("v1 title", "v1 text", c.bo.id),
    ]
    assert history[0]["replaced_at"] >= history[1]["replaced_at"]
    # Saving the same words again is not an edit.
    await http.patch(url, json={"text": "v3 text"}, headers=c.bo.headers)
    assert len(await get(http, c.bo, f"{url}/history")) == 2


async def test_reply_edits_keep_their_history(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    cm = await api.codemark(c.ada, c.team, c.repo)
    answer = await reply(http, c.bo, cm["id"], "first")
    assert answer["edited"] is False
    url = f"/api/v1/replies/{answer['id']}"
    for text in ("second", "third"):
        r = await http.patch(url, json={"text": text}, headers=c.bo.headers)
        assert r.status_code == 200
    assert (r.json()["text"], r.json()["edited"]) == ("third", True)
    assert [v["text"] for v in await get(http, c.cy, f"{url}/history")] == ["second", "first"]
    [listed] = (await get(http, c.cy, f"/api/v1/codemarks/{cm['id']}/replies"))["items"]
    assert (listed["text"], listed["edited"]) == ("third", True)


async def test_deleted_reply_leaves_a_tombstone(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    cm = await api.codemark(c.ada, c.team, c.repo)
    first = await reply(http, c.bo, cm["id"], f"hello @{c.cy.email}")
    second = await reply(http, c.cy, cm["id"], "second")
    url = f"/api/v1/replies/{first['id']}"
    await http.patch(url, json={"text": f"hello again @{c.cy.email}"}, headers=c.bo.headers)
    await http.put(reaction_url("replies", first["id"], "👍"), headers=c.ada.headers)

    r = await http.delete(url, headers=c.bo.headers)
    assert (r.status_code, r.content) == (204, b"")
    items = (await get(http, c.ada, f"/api/v1/codemarks/{cm['id']}/replies"))["items"]
    assert [x["id"] for x in items] == [first["id"], second["id"]]
    tombstone = items[0]
    assert tombstone["deleted"] is True
    assert (tombstone["text"], tombstone["mentions"], tombstone["reactions"]) == ("", [], [])
    assert tombstone["author"]["id"] == c.bo.id
    assert await get(http, c.ada, f"{url}/history") == []
    assert (await get(http, c.ada, f"/api/v1/codemarks/{cm['id']}"))["reply_count"] == 1
    # Deleting again is harmless; a tombstone cannot be edited back to life.
    assert (await http.delete(url, headers=c.bo.headers)).status_code == 204
    r = await http.patch(url, json={"text": "undead"}, headers=c.bo.headers)
    assert r.status_code == 409


async def test_tombstones_take_no_reactions(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    cm = await api.codemark(c.ada, c.team, c.repo)
    answer = await reply(http, c.bo, cm["id"], "soon gone")
    assert (await http.delete(f"/api/v1/replies/{answer['id']}", headers=c.bo.headers)).status_code == 204
    r = await http.put(reaction_url("replies", answer["id"], "👍"), headers=c.ada.headers)
    assert r.status_code == 409
    [tombstone] = (await get(http, c.ada, f"/api/v1/codemarks/{cm['id']}/replies"))["items"]
    assert tombstone["reactions"] == []


# -- assignees, tags, relations, pins, archive ---------------------------------------------------------


async def test_assignees_and_tags(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    cm = await api.codemark(c.ada, c.team, c.repo, assignees=[c.bo.id, c.bo.id], tags=["perf"])
    assert [a["id"] for a in cm["assignees"]] == [c.bo.id]
    assert c.bo.id in cm["followers"]
    url = f"/api/v1/codemarks/{cm['id']}"
    r = await http.patch(
        url, json={"assignees": [c.cy.id], "tags": ["ui", "a/b.c-d_e"]}, headers=c.ada.headers
    )
    assert r.status_code == 200
    body = r.json()
    assert [a["id"] for a in body["assignees"]] == [c.cy.id]
    assert body["tags"] == ["a/b.c-d_e", "ui"]
    # Assignees follow; being unassigned does not unfollow.
    assert {c.bo.id, c.cy.id} <= set(body["followers"])
    listing = f"/api/v1/teams/{c.team}/codemarks"
    assert [x["id"] for x in (await get(http, c.ada, f"{listing}?assignee={c.cy.id}"))["items"]] == [cm["id"]]
    assert (await get(http, c.ada, f"{listing}?assignee={c.bo.id}"))["items"] == []
    assert [x["id"] for x in (await get(http, c.ada, f"{listing}?tag=ui"))["items"]] == [cm["id"]]
    assert (await get(http, c.ada, f"{listing}?tag=perf"))["items"] == []
    for bad in (["has space"], ["x" * 65], [""], ["t"] * 21):
        assert (await http.patch(url, json={"tags": bad}, headers=c.ada.headers)).status_code == 422


async def test_related_codemarks(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    first = await api.codemark(c.ada, c.team, c.repo)
    second = await api.codemark(c.bo, c.team, c.repo)
    url = f"/api/v1/codemarks/{first['id']}/related/{second['id']}"
    # Any member may relate two codemarks; the relation shows on both.
    r = await http.put(url, headers=c.cy.headers)
    assert r.status_code == 200
    assert r.json()["related"] == [second["id"]]
    assert (await get(http, c.ada, f"/api/v1/codemarks/{second['id']}"))["related"] == [first["id"]]
    assert (await http.put(url, headers=c.cy.headers)).json()["related"] == [second["id"]]
    r = await http.delete(f"/api/v1/codemarks/{second['id']}/related/{first['id']}", headers=c.cy.headers)
    assert r.json()["related"] == []
    assert (await get(http, c.ada, f"/api/v1/codemarks/{first['id']}"))["related"] == []

    # Created related, and forgotten when the other is deleted.
    third = await api.codemark(c.ada, c.team, c.repo, related=[first["id"]])
    assert third["related"] == [first["id"]]
    assert (await get(http, c.ada, f"/api/v1/codemarks/{first['id']}"))["related"] == [third["id"]]
    assert (await http.delete(f"/api/v1/codemarks/{third['id']}", headers=c.ada.headers)).status_code == 204
    assert (await get(http, c.ada, f"/api/v1/codemarks/{first['id']}"))["related"] == []


async def test_relations_stay_within_what_the_caller_sees(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    mine = await api.codemark(c.ada, c.team, c.repo)
    eve = await api.person("Eve")
    evil_team = await api.team(eve, "evil")
    theirs = await api.codemark(eve, evil_team, await api.repo(eve, evil_team))
    private = await api.codemark(c.bo, c.team, c.repo, type="bookmark")
    for other in (theirs["id"], mine["id"], private["id"], "0" * 16, "not-an-id"):
        r = await http.put(f"/api/v1/codemarks/{mine['id']}/related/{other}", headers=c.ada.headers)
        assert r.status_code == 422, other
    r = await http.post(
        f"/api/v1/teams/{c.team}/codemarks",
        json=codemark_body(c.repo, related=[theirs["id"]]),
        headers=c.ada.headers,
    )
    assert r.status_code == 422
    # Eve cannot relate her codemark to ours either: ours does not exist for her.
    r = await http.put(f"/api/v1/codemarks/{theirs['id']}/related/{mine['id']}", headers=eve.headers)
    assert r.status_code == 422
    assert (await get(http, c.ada, f"/api/v1/codemarks/{mine['id']}"))["related"] == []


async def test_pin_and_archive(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    plain = await api.codemark(c.ada, c.team, c.repo)
    pinned = await api.codemark(c.ada, c.team, c.repo)
    assert pinned["pinned"] is False
    r = await http.patch(f"/api/v1/codemarks/{pinned['id']}", json={"pinned": True}, headers=c.ada.headers)
    assert r.json()["pinned"] is True
    listing = f"/api/v1/teams/{c.team}/codemarks"
    assert [x["id"] for x in (await get(http, c.bo, f"{listing}?pinned=true"))["items"]] == [pinned["id"]]
    assert [x["id"] for x in (await get(http, c.bo, f"{listing}?pinned=false"))["items"]] == [plain["id"]]
    # Only the author or an admin pins, like any other change of the codemark.
    r = await http.patch(f"/api/v1/codemarks/{plain['id']}", json={"pinned": True}, headers=c.bo.headers)
    assert r.status_code == 403

    r = await http.patch(
        f"/api/v1/codemarks/{plain['id']}", json={"status": "archived"}, headers=c.ada.headers
    )
    assert r.json()["status"] == "archived"
    assert [x["id"] for x in (await get(http, c.bo, f"{listing}?status=archived"))["items"]] == [plain["id"]]
    assert [x["id"] for x in (await get(http, c.bo, f"{listing}?status=open"))["items"]] == [pinned["id"]]
    assert len((await get(http, c.bo, listing))["items"]) == 2
    r = await http.patch(f"/api/v1/codemarks/{plain['id']}", json={"status": "open"}, headers=c.ada.headers)
    assert r.json()["status"] == "open"
    r = await http.patch(f"/api/v1/codemarks/{plain['id']}", json={"pinned": None}, headers=c.ada.headers)
    assert r.status_code == 422


# -- following ------------------------------------------------------------------------------------------


async def test_follow_and_unfollow(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    cm = await api.codemark(c.ada, c.team, c.repo)
    assert cm["followers"] == [c.ada.id]
    url = f"/api/v1/codemarks/{cm['id']}/follow"
    for _ in range(2):  # idempotent
        r = await http.put(url, headers=c.cy.headers)
        assert r.status_code == 200
        assert sorted(r.json()["followers"]) == sorted([c.ada.id, c.cy.id])
    for _ in range(2):
        r = await http.delete(url, headers=c.cy.headers)
        assert r.status_code == 200
        assert r.json()["followers"] == [c.ada.id]
    # The author may stop following their own codemark too.
    assert (await http.delete(url, headers=c.ada.headers)).json()["followers"] == []
    # Replying makes you follow (again).
    await reply(http, c.ada, cm["id"], "back")
    await reply(http, c.bo, cm["id"], "me too")
    followers = (await get(http, c.cy, f"/api/v1/codemarks/{cm['id']}"))["followers"]
    assert sorted(followers) == sorted([c.ada.id, c.bo.id])


# -- permalinks, bookmarks and links ---------------------------------------------------------------------


async def test_permalink(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    cm = await api.codemark(c.ada, c.team, c.repo)
    assert cm["permalink"] == f"/c/{cm['id']}"
    r = await http.get(cm["permalink"], headers=c.bo.headers)
    assert r.status_code == 200
    assert r.json() == await get(http, c.bo, f"/api/v1/codemarks/{cm['id']}")
    r = await http.get(cm["permalink"])
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"
    eve = await api.person("Eve")
    await api.team(eve, "evil")
    assert (await http.get(cm["permalink"], headers=eve.headers)).status_code == 404
    assert (await http.get("/c/0000000000000000", headers=c.bo.headers)).status_code == 404
    assert (await http.get("/c/..%2Fapi", headers=c.bo.headers)).status_code == 404


async def test_bookmarks_are_visible_to_their_author_only(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    bookmark = await api.codemark(c.ada, c.team, c.repo, type="bookmark", text=f"note to self @{c.bo.email}")
    public = await api.codemark(c.bo, c.team, c.repo)
    url = f"/api/v1/codemarks/{bookmark['id']}"
    listing = f"/api/v1/teams/{c.team}/codemarks"
    mine = await reply(http, c.ada, bookmark["id"], "more notes")
    assert (
        await http.put(reaction_url("codemarks", bookmark["id"], "⭐"), headers=c.ada.headers)
    ).status_code == 200

    assert [x["id"] for x in (await get(http, c.ada, listing))["items"]] == [public["id"], bookmark["id"]]
    assert [x["id"] for x in (await get(http, c.ada, f"{listing}?type=bookmark"))["items"]] == [
        bookmark["id"]
    ]
    assert (await get(http, c.ada, url))["type"] == "bookmark"
    assert (await http.get(bookmark["permalink"], headers=c.ada.headers)).status_code == 200

    for person in (c.bo, c.cy):
        assert [x["id"] for x in (await get(http, person, listing))["items"]] == [public["id"]]
        assert (await get(http, person, f"{listing}?type=bookmark"))["items"] == []
        assert (await get(http, person, f"{listing}?author={c.ada.id}"))["items"] == []
        for method, path, body in (
            ("GET", url, None),
            ("PATCH", url, {"text": "x"}),
            ("DELETE", url, None),
            ("GET", f"{url}/history", None),
            ("GET", f"{url}/replies", None),
            ("POST", f"{url}/replies", {"text": "peek"}),
            ("PUT", f"{url}/follow", None),
            ("PUT", reaction_url("codemarks", bookmark["id"], "👍"), None),
            ("DELETE", reaction_url("codemarks", bookmark["id"], "⭐"), None),
            ("PATCH", f"/api/v1/replies/{mine['id']}", {"text": "x"}),
            ("DELETE", f"/api/v1/replies/{mine['id']}", None),
            ("GET", f"/api/v1/replies/{mine['id']}/history", None),
            ("PUT", reaction_url("replies", mine["id"], "👍"), None),
            ("GET", bookmark["permalink"], None),
        ):
            r = await http.request(method, path, json=body, headers=person.headers)
            assert r.status_code == 404, (method, path, r.status_code)
    fresh = await get(http, c.ada, url)
    assert (fresh["text"], fresh["reply_count"]) == (bookmark["text"], 1)
    assert fresh["reactions"] == [{"emoji": "⭐", "count": 1, "users": [c.ada.id]}]


async def test_link_codemarks_carry_no_thread(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    link = await api.codemark(c.ada, c.team, c.repo, type="link", text="see the design notes")
    r = await http.post(f"/api/v1/codemarks/{link['id']}/replies", json={"text": "hm"}, headers=c.bo.headers)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "conflict"
    assert (await get(http, c.bo, f"/api/v1/codemarks/{link['id']}/replies"))["items"] == []
    assert (await get(http, c.bo, f"/api/v1/codemarks/{link['id']}"))["reply_count"] == 0
    # A link still takes reactions, follows and edits.
    assert (
        await http.put(reaction_url("codemarks", link["id"], "👍"), headers=c.bo.headers)
    ).status_code == 200
    assert (await http.put(f"/api/v1/codemarks/{link['id']}/follow", headers=c.bo.headers)).status_code == 200


async def test_a_refused_request_leaves_the_token_usable(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person()
    team = await api.team(ada)
    cm = await api.codemark(ada, team, await api.repo(ada, team))
    # A rolled-back request must not spoil what the next request with the same token sees, whether or not
    # it was the one that authenticated the token (a server may cache callers for a short while).
    for pause in (0.0, 0.6):
        await asyncio.sleep(pause)
        r = await http.post(
            f"/api/v1/codemarks/{cm['id']}/replies", json={"text": "@nobody"}, headers=ada.headers
        )
        assert r.status_code == 422
        r = await http.get(f"/api/v1/codemarks/{cm['id']}", headers=ada.headers)
        assert r.status_code == 200, r.text
