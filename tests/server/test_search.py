"""Search: every word of the query in a codemark's title, text or replies, with the listing filters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.server.conftest import Api, Person, one_app_per_module
from tests.server.test_conversation import Crew, get, make_crew, reply

# Every test works in teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


async def search(http: httpx.AsyncClient, person: Person, team: str, **params: Any) -> dict[str, Any]:
    """Return one page of search results."""
    r = await http.get(f"/api/v1/teams/{team}/search", params=params, headers=person.headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def found(http: httpx.AsyncClient, person: Person, team: str, q: str, **params: Any) -> list[str]:
    """Return the ids of every codemark found, following the pages."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await search(http, person, team, q=q, **params, **({"cursor": cursor} if cursor else {}))
        ids += [hit["codemark"]["id"] for hit in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids


@dataclass
class Corpus:
    """A team with a few codemarks worth searching, and the same words in another team."""

    crew: Crew
    retry: dict[str, Any]
    slow: dict[str, Any]
    quiet: dict[str, Any]
    quiet_reply: dict[str, Any]
    bookmark: dict[str, Any]
    elsewhere: dict[str, Any]
    eve: Person
    eve_team: str
    other_repo: str


async def corpus(http: httpx.AsyncClient, api: Api) -> Corpus:
    """Create the codemarks the tests search, oldest first."""
    c = await make_crew(api)
    other_repo = await api.repo(c.ada, c.team, "c" * 40)
    retry = await api.codemark(
        c.ada,
        c.team,
        c.repo,
        type="issue",
        title="Retry fetchUrl",
        text="The network flakes.",
        tags=["net"],
        assignees=[c.bo.id],
        marker={"path": "src/net.py"},
    )
    slow = await api.codemark(
        c.bo,
        c.team,
        other_repo,
        type="question",
        text="Why is fetch_data slow?",
        marker={"path": "src/db.py"},
    )
    quiet = await api.codemark(c.cy, c.team, c.repo, text="Nothing here.")
    quiet_reply = await reply(http, c.ada, quiet["id"], "The fetchUrl retry loop is wrong.")
    bookmark = await api.codemark(c.bo, c.team, c.repo, type="bookmark", text="fetch it later")
    eve = await api.person("Eve")
    eve_team = await api.team(eve, "elsewhere")
    elsewhere = await api.codemark(eve, eve_team, await api.repo(eve, eve_team), text="fetchUrl retry fetch")
    return Corpus(c, retry, slow, quiet, quiet_reply, bookmark, elsewhere, eve, eve_team, other_repo)


async def test_words_identifiers_and_replies(http: httpx.AsyncClient, api: Api) -> None:
    s = await corpus(http, api)
    c = s.crew
    # Newest first; parts of identifiers are words too (fetchUrl, fetch_data); case does not matter.
    assert await found(http, c.ada, c.team, "fetch") == [s.quiet["id"], s.slow["id"], s.retry["id"]]
    assert await found(http, c.ada, c.team, "FETCHURL") == [s.quiet["id"], s.retry["id"]]
    assert await found(http, c.ada, c.team, "url fetch") == [s.quiet["id"], s.retry["id"]]
    assert await found(http, c.ada, c.team, "fetch_data") == [s.slow["id"]]
    assert await found(http, c.ada, c.team, "data") == [s.slow["id"]]
    assert await found(http, c.ada, c.team, "flakes network") == [s.retry["id"]]
    assert await found(http, c.ada, c.team, "network loop") == []
    # Every word must appear, in the codemark or its replies together.
    assert await found(http, c.ada, c.team, "nothing wrong") == [s.quiet["id"]]

    page = await search(http, c.ada, c.team, q="retry")
    hits = {hit["codemark"]["id"]: hit["matches"] for hit in page["items"]}
    assert hits == {
        s.quiet["id"]: [{"kind": "reply", "id": s.quiet_reply["id"]}],
        s.retry["id"]: [{"kind": "codemark", "id": s.retry["id"]}],
    }
    # A hit carries the codemark as GET returns it.
    assert page["items"][1]["codemark"] == await get(http, c.ada, f"/api/v1/codemarks/{s.retry['id']}")


async def test_filters_and_pages(http: httpx.AsyncClient, api: Api) -> None:
    s = await corpus(http, api)
    c = s.crew
    r = await http.patch(
        f"/api/v1/codemarks/{s.retry['id']}", json={"status": "resolved"}, headers=c.ada.headers
    )
    assert r.status_code == 200
    q = "fetch"
    assert await found(http, c.ada, c.team, q, status="resolved") == [s.retry["id"]]
    assert await found(http, c.ada, c.team, q, status="open") == [s.quiet["id"], s.slow["id"]]
    assert await found(http, c.ada, c.team, q, status="archived") == []
    assert await found(http, c.ada, c.team, q, type="question") == [s.slow["id"]]
    assert await found(http, c.ada, c.team, q, author=c.bo.id) == [s.slow["id"]]
    assert await found(http, c.ada, c.team, q, assignee=c.bo.id) == [s.retry["id"]]
    assert await found(http, c.ada, c.team, q, tag="net") == [s.retry["id"]]
    assert await found(http, c.ada, c.team, q, repo_id=s.other_repo) == [s.slow["id"]]
    assert await found(http, c.ada, c.team, q, path="src/db.py") == [s.slow["id"]]
    assert await found(http, c.ada, c.team, q, repo_id=c.repo, path="src/db.py") == []
    since, until = s.slow["created_at"], s.quiet["created_at"]
    assert await found(http, c.ada, c.team, q, since=since) == [s.quiet["id"], s.slow["id"]]
    assert await found(http, c.ada, c.team, q, until=since) == [s.retry["id"]]
    assert await found(http, c.ada, c.team, q, since=since, until=until) == [s.slow["id"]]
    # A date alone, or a time without a zone, is UTC.
    assert len(await found(http, c.ada, c.team, q, since="2000-01-01")) == 3
    assert await found(http, c.ada, c.team, q, until="2000-01-01T00:00:00") == []

    # One hit per page, then the cursor runs out.
    assert await found(http, c.ada, c.team, q, limit=1) == [s.quiet["id"], s.slow["id"], s.retry["id"]]
    first = await search(http, c.ada, c.team, q=q, limit=2)
    assert first["next_cursor"] is not None
    last = await search(http, c.ada, c.team, q=q, limit=2, cursor=first["next_cursor"])
    assert ([h["codemark"]["id"] for h in last["items"]], last["next_cursor"]) == ([s.retry["id"]], None)


@pytest.mark.database_agnostic
async def test_bad_queries_are_refused(http: httpx.AsyncClient, api: Api) -> None:
    s = await corpus(http, api)
    url = f"/api/v1/teams/{s.crew.team}/search"
    queries: tuple[dict[str, str | int], ...] = (
        {},
        {"q": ""},
        {"q": "a"},
        {"q": "! ? -"},
        {"q": "x" * 501},
        {"q": "fetch", "limit": 0},
        {"q": "fetch", "limit": 201},
        {"q": "fetch", "status": "gone"},
        {"q": "fetch", "type": "memo"},
        {"q": "fetch", "since": "yesterday"},
        {"q": "fetch", "path": "../etc/passwd"},
        {"q": "fetch", "cursor": "garbage"},
    )
    for params in queries:
        r = await http.get(url, params=params, headers=s.crew.ada.headers)
        assert r.status_code in (400, 422), (params, r.status_code, r.text)
        assert r.json()["error"]["code"] in ("validation_failed", "invalid_request"), params


async def test_only_what_the_caller_may_see(http: httpx.AsyncClient, api: Api) -> None:
    s = await corpus(http, api)
    c = s.crew
    # Another team's codemarks are never found, whichever words they share.
    assert s.elsewhere["id"] not in await found(http, c.ada, c.team, "fetchUrl retry")
    assert await found(http, s.eve, s.eve_team, "fetch") == [s.elsewhere["id"]]
    r = await http.get(f"/api/v1/teams/{c.team}/search", params={"q": "fetch"}, headers=s.eve.headers)
    assert r.status_code == 404
    # A bookmark is found by its author only.
    assert await found(http, c.bo, c.team, "later") == [s.bookmark["id"]]
    assert await found(http, c.ada, c.team, "later") == []


async def test_index_follows_edits_and_deletions(http: httpx.AsyncClient, api: Api) -> None:
    s = await corpus(http, api)
    c = s.crew
    r = await http.patch(
        f"/api/v1/replies/{s.quiet_reply['id']}", json={"text": "All good now."}, headers=c.ada.headers
    )
    assert r.status_code == 200
    assert await found(http, c.ada, c.team, "loop") == []
    assert await found(http, c.ada, c.team, "good") == [s.quiet["id"]]
    assert (
        await http.delete(f"/api/v1/replies/{s.quiet_reply['id']}", headers=c.ada.headers)
    ).status_code == 204
    assert await found(http, c.ada, c.team, "good") == []
    r = await http.patch(
        f"/api/v1/codemarks/{s.retry['id']}",
        json={"title": "Backoff", "text": "jitter"},
        headers=c.ada.headers,
    )
    assert r.status_code == 200
    assert await found(http, c.ada, c.team, "flakes") == []
    assert await found(http, c.ada, c.team, "backoff jitter") == [s.retry["id"]]
    assert (await http.delete(f"/api/v1/codemarks/{s.slow['id']}", headers=c.bo.headers)).status_code == 204
    assert await found(http, c.ada, c.team, "fetch") == []
