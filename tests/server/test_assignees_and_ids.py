"""An assignee may resolve or reopen their codemark (nothing more); ids are found by their beginning."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.server.conftest import Api, Person, one_app_per_module
from tests.server.event_log import head

module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


async def _team_of_three(api: Api) -> tuple[str, str, Person, Person, Person]:
    """Return a team, its repo, its owner (the author), a member assignee and a member bystander."""
    author, assignee, bystander = await api.person("Ada"), await api.person("Bo"), await api.person("Cy")
    team = await api.team(author)
    for person in (assignee, bystander):
        await api.join(author, team, person)
    return team, await api.repo(author, team), author, assignee, bystander


async def test_an_assignee_resolves_and_reopens_their_codemark(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    team, repo, author, assignee, _ = await _team_of_three(api)
    codemark = await api.codemark(author, team, repo, type="issue", assignees=[assignee.id])
    url = f"/api/v1/codemarks/{codemark['id']}"

    r = await http.patch(url, json={"status": "resolved"}, headers=assignee.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved"
    r = await http.patch(url, json={"status": "open"}, headers=assignee.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "open"


async def test_an_assignee_changes_nothing_but_the_status(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    team, repo, author, assignee, _ = await _team_of_three(api)
    codemark = await api.codemark(author, team, repo, type="issue", assignees=[assignee.id])
    url = f"/api/v1/codemarks/{codemark['id']}"
    before = await head(app, team)
    changes: list[dict[str, object]] = [
        {"status": "archived"},
        {"status": "resolved", "title": "mine now"},
        {"text": "rewritten"},
        {"assignees": []},
        {"pinned": True},
    ]
    for change in changes:
        r = await http.patch(url, json=change, headers=assignee.headers)
        assert r.status_code == 403, (change, r.text)
    assert await head(app, team) == before
    r = await http.get(url, headers=author.headers)
    assert (r.json()["status"], r.json()["text"], len(r.json()["assignees"])) == ("open", codemark["text"], 1)


async def test_a_member_who_is_neither_author_nor_assignee_cannot_resolve(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    team, repo, author, assignee, bystander = await _team_of_three(api)
    codemark = await api.codemark(author, team, repo, type="issue", assignees=[assignee.id])
    url = f"/api/v1/codemarks/{codemark['id']}"
    r = await http.patch(url, json={"status": "resolved"}, headers=bystander.headers)
    assert r.status_code == 403, r.text
    # Unassigned, the former assignee is a bystander too.
    r = await http.patch(url, json={"assignees": []}, headers=author.headers)
    assert r.status_code == 200, r.text
    r = await http.patch(url, json={"status": "resolved"}, headers=assignee.headers)
    assert r.status_code == 403, r.text
    assert (await http.get(url, headers=author.headers)).json()["status"] == "open"


async def test_ids_are_found_by_prefix_within_what_the_caller_may_see(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    team, repo, author, member, _ = await _team_of_three(api)
    codemark = await api.codemark(author, team, repo)
    bookmark = await api.codemark(author, team, repo, type="bookmark")
    r = await http.post(
        f"/api/v1/codemarks/{codemark['id']}/replies", json={"text": "an answer"}, headers=member.headers
    )
    reply_id = r.json()["id"]
    url = f"/api/v1/teams/{team}/ids"

    r = await http.get(url, params={"prefix": codemark["id"][:6]}, headers=member.headers)
    assert r.status_code == 200, r.text
    assert codemark["id"] in r.json()["codemarks"]
    r = await http.get(url, params={"prefix": reply_id[:6]}, headers=member.headers)
    assert reply_id in r.json()["replies"]
    # Another member's bookmark is not theirs to find; its author finds it.
    r = await http.get(url, params={"prefix": bookmark["id"]}, headers=member.headers)
    assert r.json() == {"codemarks": [], "replies": []}
    r = await http.get(url, params={"prefix": bookmark["id"]}, headers=author.headers)
    assert r.json()["codemarks"] == [bookmark["id"]]


async def test_id_prefixes_of_another_team_are_not_found(http: httpx.AsyncClient, api: Api) -> None:
    team, repo, author, _, _ = await _team_of_three(api)
    codemark = await api.codemark(author, team, repo)
    stranger = await api.person("Eve")
    other_team = await api.team(stranger, "other")
    r = await http.get(
        f"/api/v1/teams/{other_team}/ids", params={"prefix": codemark["id"]}, headers=stranger.headers
    )
    assert r.json() == {"codemarks": [], "replies": []}
    r = await http.get(
        f"/api/v1/teams/{team}/ids", params={"prefix": codemark["id"]}, headers=stranger.headers
    )
    assert r.status_code == 404, r.text


async def test_an_id_prefix_must_be_four_id_characters(http: httpx.AsyncClient, api: Api) -> None:
    team, _, author, _, _ = await _team_of_three(api)
    for prefix in ("abc", "ABCD", "abc%", "abcdefghjkmnpqrst0", "i000"):
        r = await http.get(f"/api/v1/teams/{team}/ids", params={"prefix": prefix}, headers=author.headers)
        assert r.status_code == 422, (prefix, r.text)
