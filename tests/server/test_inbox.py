"""The inbox: mentions, assignments and replies on followed codemarks; unread counts; marking read."""

from __future__ import annotations

from typing import Any

import httpx

from tests.server.conftest import Api, Person, one_app_per_module
from tests.server.test_conversation import get, handle_of, make_crew, reply

# Every test works in teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


async def inbox(http: httpx.AsyncClient, person: Person, team: str, **params: Any) -> dict[str, Any]:
    """Return one page of a person's inbox."""
    result: dict[str, Any] = await get(
        http, person, f"/api/v1/teams/{team}/inbox?{httpx.QueryParams(params)}"
    )
    return result


def kinds(page: dict[str, Any]) -> list[tuple[str, str, str | None, str]]:
    """Return (kind, codemark id, reply id, actor id) of each item, newest first."""
    return [(i["kind"], i["codemark_id"], i["reply_id"], i["actor"]["id"]) for i in page["items"]]


async def test_mentions_assignments_and_replies_reach_the_right_people(
    http: httpx.AsyncClient, api: Api
) -> None:
    c = await make_crew(api)
    bo_handle = await handle_of(http, c.bo)
    cm = await api.codemark(
        c.ada, c.team, c.repo, title="Retry?", text=f"@{bo_handle} what do you think?", assignees=[c.cy.id]
    )
    page = await inbox(http, c.bo, c.team)
    assert kinds(page) == [("mention", cm["id"], None, c.ada.id)]
    assert page["unread"] == 1
    item = page["items"][0]
    assert (item["codemark_title"], item["read_at"], item["actor"]["email"]) == ("Retry?", None, c.ada.email)
    assert kinds(await inbox(http, c.cy, c.team)) == [("assignment", cm["id"], None, c.ada.id)]
    # Nobody is told of their own doing.
    assert (await inbox(http, c.ada, c.team))["items"] == []

    # Bo answers: the followers (Ada the author, Cy the assignee) hear of it; Bo does not.
    answer = await reply(http, c.bo, cm["id"], "looks fine")
    assert kinds(await inbox(http, c.ada, c.team)) == [("reply", cm["id"], answer["id"], c.bo.id)]
    assert kinds(await inbox(http, c.cy, c.team))[0] == ("reply", cm["id"], answer["id"], c.bo.id)
    assert len((await inbox(http, c.bo, c.team))["items"]) == 1

    # Someone mentioned in a reply hears of it once, as a mention.
    di = await api.person("Di")
    await api.join(c.ada, c.team, di)
    mention = await reply(http, c.ada, cm["id"], f"cc @{di.email}")
    assert kinds(await inbox(http, di, c.team)) == [("mention", cm["id"], mention["id"], c.ada.id)]
    assert kinds(await inbox(http, c.bo, c.team))[0] == ("reply", cm["id"], mention["id"], c.ada.id)

    # Unfollowing stops the replies; an assignment added later is announced and makes the person follow.
    assert (
        await http.delete(f"/api/v1/codemarks/{cm['id']}/follow", headers=c.cy.headers)
    ).status_code == 200
    before = len((await inbox(http, c.cy, c.team))["items"])
    await reply(http, c.bo, cm["id"], "anyone?")
    assert len((await inbox(http, c.cy, c.team))["items"]) == before
    r = await http.patch(f"/api/v1/codemarks/{cm['id']}", json={"assignees": [di.id]}, headers=c.ada.headers)
    assert r.status_code == 200
    assert kinds(await inbox(http, di, c.team))[0] == ("assignment", cm["id"], None, c.ada.id)

    # An edit that adds a mention tells only the newly mentioned.
    r = await http.patch(
        f"/api/v1/codemarks/{cm['id']}",
        json={"text": f"@{bo_handle} and @{c.cy.email}: what do you think?"},
        headers=c.ada.headers,
    )
    assert r.status_code == 200
    assert [k for k, *_ in kinds(await inbox(http, c.bo, c.team))].count("mention") == 1
    assert kinds(await inbox(http, c.cy, c.team))[0] == ("mention", cm["id"], None, c.ada.id)


async def test_unread_filter_and_marking_read(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    made = [await api.codemark(c.ada, c.team, c.repo, text=f"@{c.bo.email} #{i}") for i in range(5)]
    page = await inbox(http, c.bo, c.team)
    assert [i["codemark_id"] for i in page["items"]] == [m["id"] for m in reversed(made)]
    assert page["unread"] == 5
    ids = [i["id"] for i in page["items"]]
    url = f"/api/v1/teams/{c.team}/inbox/read"

    r = await http.post(url, json={"ids": ids[:2]}, headers=c.bo.headers)
    assert (r.status_code, r.json()) == (200, {"marked": 2})
    # Marking again changes nothing; someone else cannot mark Bo's items.
    assert (await http.post(url, json={"ids": ids[:2]}, headers=c.bo.headers)).json() == {"marked": 0}
    assert (await http.post(url, json={"ids": ids}, headers=c.cy.headers)).json() == {"marked": 0}
    unread = await inbox(http, c.bo, c.team, unread="true")
    assert [i["id"] for i in unread["items"]] == ids[2:]
    assert unread["unread"] == 3
    everything = await inbox(http, c.bo, c.team)
    assert [i["read_at"] is not None for i in everything["items"]] == [True, True, False, False, False]
    assert everything["unread"] == 3

    # Pages, newest first.
    first = await inbox(http, c.bo, c.team, limit=2)
    second = await inbox(http, c.bo, c.team, limit=2, cursor=first["next_cursor"])
    third = await inbox(http, c.bo, c.team, limit=2, cursor=second["next_cursor"])
    assert [i["id"] for p in (first, second, third) for i in p["items"]] == ids
    assert third["next_cursor"] is None

    assert (await http.post(url, json={"all": True}, headers=c.bo.headers)).json() == {"marked": 3}
    assert (await inbox(http, c.bo, c.team, unread="true")) == {"items": [], "next_cursor": None, "unread": 0}
    for bad in ({}, {"ids": ids, "all": True}, {"all": False}, {"ids": ["x" * 65]}, {"ids": [], "extra": 1}):
        assert (await http.post(url, json=bad, headers=c.bo.headers)).status_code == 422, bad


async def test_inbox_is_per_team_and_bookmarks_tell_nobody(http: httpx.AsyncClient, api: Api) -> None:
    c = await make_crew(api)
    await api.codemark(
        c.ada, c.team, c.repo, type="bookmark", text=f"@{c.bo.email} later", assignees=[c.cy.id]
    )
    assert (await inbox(http, c.bo, c.team))["items"] == []
    assert (await inbox(http, c.cy, c.team))["items"] == []
    eve = await api.person("Eve")
    await api.team(eve, "evil")
    assert (await http.get(f"/api/v1/teams/{c.team}/inbox", headers=eve.headers)).status_code == 404
    r = await http.post(f"/api/v1/teams/{c.team}/inbox/read", json={"all": True}, headers=eve.headers)
    assert r.status_code == 404
    # Deleting a codemark takes its inbox items with it.
    cm = await api.codemark(c.ada, c.team, c.repo, text=f"@{c.bo.email} soon gone")
    assert len((await inbox(http, c.bo, c.team))["items"]) == 1
    assert (await http.delete(f"/api/v1/codemarks/{cm['id']}", headers=c.ada.headers)).status_code == 204
    assert await inbox(http, c.bo, c.team) == {"items": [], "next_cursor": None, "unread": 0}
