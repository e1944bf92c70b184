"""Pages of codemarks built from answers kept per codemark: never stale, never shown to the wrong person.

A page is assembled from each codemark's answer kept in memory at the codemark's `revision`, which database
triggers bump whenever a row the answer is built from is written. So after every kind of change, every
codemark on a freshly built page must equal the codemark fetched alone (built from the rows there and then).
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import Api, Person, one_app_per_module

module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()

_limits = itertools.count(60)


async def listed(http: httpx.AsyncClient, person: Person, team: str) -> dict[str, dict[str, Any]]:
    """List the team's codemarks as a page never asked for before (so it is built, not served whole)."""
    r = await http.get(f"/api/v1/teams/{team}/codemarks?limit={next(_limits)}", headers=person.headers)
    assert r.status_code == 200, r.text
    return {item["id"]: item for item in r.json()["items"]}


async def fetched(http: httpx.AsyncClient, person: Person, codemark_id: str) -> dict[str, Any]:
    """Fetch one codemark alone."""
    r = await http.get(f"/api/v1/codemarks/{codemark_id}", headers=person.headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def agree(http: httpx.AsyncClient, person: Person, team: str, ids: list[str]) -> dict[str, Any]:
    """Assert that a built page shows each codemark exactly as fetched alone; return the page's items."""
    page = await listed(http, person, team)
    assert sorted(page) == sorted(ids)
    for codemark_id in ids:
        assert page[codemark_id] == await fetched(http, person, codemark_id)
    return page


async def call(http: httpx.AsyncClient, person: Person, method: str, url: str, **kw: Any) -> Any:
    """Make a request that must succeed and return its JSON (or None)."""
    r = await http.request(method, f"/api/v1{url}", headers=person.headers, **kw)
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


async def test_every_change_shows_on_the_next_page(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo, cy = await api.person("Ada"), await api.person("Bo"), await api.person("Cy")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    await api.join(ada, team, cy)
    repo = await api.repo(ada, team)
    a = await api.codemark(ada, team, repo, tags=["perf"], assignees=[bo.id], type="issue")
    b = await api.codemark(ada, team, repo, text="the second")
    c = await api.codemark(
        ada,
        team,
        repo,
        marker={
            "provisional": True,
            "references": [
                {"kind": "upstream", "commit": "d" * 40, "path": "src/app.py", "start_line": 1, "end_line": 3}
            ],
        },
    )
    ids = [a["id"], b["id"], c["id"]]
    await agree(http, bo, team, ids)
    marker = a["markers"][0]["id"]
    reply = await call(http, bo, "POST", f"/codemarks/{a['id']}/replies", json={"text": "looked: fine"})
    changes: list[tuple[Person, str, str, dict[str, Any]]] = [
        (bo, "PUT", f"/codemarks/{a['id']}/reactions/%F0%9F%91%8D", {}),
        (cy, "PUT", f"/codemarks/{a['id']}/follow", {}),
        (ada, "PUT", f"/codemarks/{a['id']}/related/{b['id']}", {}),
        (ada, "PATCH", f"/codemarks/{a['id']}", {"json": {"title": "Slow", "text": "Too slow?"}}),
        (ada, "PATCH", f"/codemarks/{a['id']}", {"json": {"status": "resolved", "pinned": True}}),
        (ada, "PATCH", f"/codemarks/{a['id']}", {"json": {"tags": ["perf", "db"], "assignees": [cy.id]}}),
        (
            bo,
            "POST",
            f"/codemarks/{a['id']}/markers/{marker}/references",
            {"json": {"commit": "f" * 40, "path": "src/moved.py", "start_line": 8, "end_line": 10}},
        ),
        (
            bo,
            "POST",
            f"/codemarks/{c['id']}/markers/{c['markers'][0]['id']}/promote",
            {"json": {"commit": "e" * 40, "path": "src/renamed.py", "start_line": 7, "end_line": 9}},
        ),
        (bo, "DELETE", f"/replies/{reply['id']}", {}),
        (bo, "DELETE", f"/codemarks/{a['id']}/reactions/%F0%9F%91%8D", {}),
        (cy, "DELETE", f"/codemarks/{a['id']}/follow", {}),
        (ada, "PUT", f"/codemarks/{c['id']}/related/{b['id']}", {}),
        (ada, "DELETE", f"/codemarks/{a['id']}/related/{b['id']}", {}),
    ]
    before = await listed(http, bo, team)
    for person, method, url, kw in changes:
        await call(http, person, method, url, **kw)
        page = await agree(http, bo, team, ids)
        assert page != before, f"{method} {url} changed nothing on the page"
        before = page
    # A deletion takes a codemark off the page and out of its relations.
    await call(http, ada, "DELETE", f"/codemarks/{b['id']}")
    page = await agree(http, bo, team, [a["id"], c["id"]])
    assert page[c["id"]]["related"] == []


async def test_a_bookmark_is_kept_for_its_author_alone(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    repo = await api.repo(ada, team)
    mark = await api.codemark(ada, team, repo, type="bookmark", text="mine")
    shared = await api.codemark(ada, team, repo, text="ours")
    assert sorted(await listed(http, ada, team)) == sorted([mark["id"], shared["id"]])
    assert sorted(await listed(http, bo, team)) == [shared["id"]]
    r = await http.get(f"/api/v1/teams/{team}/codemarks?limit=7&type=bookmark", headers=bo.headers)
    assert r.json()["items"] == []


async def test_any_write_to_a_part_bumps_the_revision(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    # Written here with SQL, as a future code path might: the database keeps the revision, not the code.
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    repo = await api.repo(ada, team)
    other = await api.codemark(ada, team, repo)
    bo_handle = bo.email.split("@")[0]
    cm = await api.codemark(ada, team, repo, tags=["perf"], assignees=[bo.id], text=f"hi @{bo_handle}")
    cid, mid = cm["id"], cm["markers"][0]["id"]
    await call(http, bo, "POST", f"/codemarks/{cid}/replies", json={"text": "ok"})
    await call(http, ada, "PATCH", f"/codemarks/{cid}", json={"text": f"edited, @{bo_handle}"})
    await call(http, bo, "PUT", f"/codemarks/{cid}/reactions/%F0%9F%91%8D")
    await call(http, ada, "PUT", f"/codemarks/{cid}/related/{other['id']}")
    await call(
        http,
        bo,
        "POST",
        f"/codemarks/{cid}/markers/{mid}/references",
        json={"commit": "f" * 40, "path": "src/moved.py", "start_line": 8, "end_line": 10},
    )
    engine = app.state.kibitz.engine

    async def revision() -> int:
        async with engine.connect() as connection:
            found = await connection.execute(
                text("SELECT revision FROM codemark WHERE id = :id"), {"id": cid}
            )
            return int(found.scalar_one())

    async def bumps(statement: str, owner: str) -> bool:
        start = await revision()
        async with engine.begin() as connection:
            written = await connection.execute(text(statement), {"owner": owner})
        assert written.rowcount > 0, statement
        return await revision() > start

    # The part tables, each with the column naming its codemark (a reference names its marker).
    parts = {
        "codemark_tag": "codemark_id",
        "codemark_assignee": "codemark_id",
        "reply": "codemark_id",
        "codemark_edit": "codemark_id",
        "reaction": "codemark_id",
        "mention": "codemark_id",
        "follower": "codemark_id",
        "codemark_relation": "first_id" if cid < other["id"] else "second_id",
        "marker_reference": "marker_id",
        "marker": "codemark_id",  # last: deleting it takes its references with it
    }
    assert await bumps("UPDATE codemark SET pinned = pinned WHERE id = :owner", cid)
    for table, column in parts.items():
        owner = mid if table == "marker_reference" else cid
        # (Names from the dictionary above only.)
        update = f"UPDATE {table} SET {column} = {column} WHERE {column} = :owner"  # noqa: S608
        delete = f"DELETE FROM {table} WHERE {column} = :owner"  # noqa: S608
        assert await bumps(update, owner), f"an update of {table} did not bump the revision"
        assert await bumps(delete, owner), f"deleting from {table} did not bump the revision"
