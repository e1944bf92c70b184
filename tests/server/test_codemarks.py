"""Codemarks and replies: create, get, list with filters and pagination, update, delete."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from kibitz.server.codemarks.models import Codemark
from kibitz.server.events.models import Event
from kibitz.server.models import Base
from tests.server.conftest import Api, codemark_body, one_app_per_module

# Every test works in teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


async def test_create_get_and_reply_thread(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    repo = await api.repo(ada, team)
    created = await api.codemark(
        ada, team, repo, type="question", title="Why one?", tags=["perf", "perf", "api"], assignees=[bo.id]
    )
    assert created["type"] == "question"
    assert created["status"] == "open"
    assert created["tags"] == ["api", "perf"]
    assert [a["email"] for a in created["assignees"]] == [bo.email]
    assert created["markers"][0]["start_line"] == 3
    assert created["author"]["email"] == ada.email

    cid = created["id"]
    r = await http.get(f"/api/v1/codemarks/{cid}", headers=bo.headers)
    assert r.status_code == 200
    assert r.json() == created

    for text in ("first", "second", "third"):
        r = await http.post(f"/api/v1/codemarks/{cid}/replies", json={"text": text}, headers=bo.headers)
        assert r.status_code == 201
    r = await http.get(f"/api/v1/codemarks/{cid}/replies", params={"limit": 2}, headers=ada.headers)
    page = r.json()
    assert [x["text"] for x in page["items"]] == ["first", "second"]
    r = await http.get(
        f"/api/v1/codemarks/{cid}/replies", params={"cursor": page["next_cursor"]}, headers=ada.headers
    )
    assert [x["text"] for x in r.json()["items"]] == ["third"]
    assert r.json()["next_cursor"] is None
    r = await http.get(f"/api/v1/codemarks/{cid}", headers=bo.headers)
    assert r.json()["reply_count"] == 3


async def test_list_filters_and_pagination(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    repo = await api.repo(ada, team)
    other_repo = await api.repo(ada, team, "c" * 40)
    made = []
    for i in range(7):
        made.append(
            await api.codemark(
                ada if i % 2 == 0 else bo,
                team,
                other_repo if i == 6 else repo,
                type="issue" if i < 3 else "comment",
                tags=["hot"] if i == 4 else [],
                assignees=[bo.id] if i == 5 else [],
                marker={"path": f"src/f{i % 3}.py"},
            )
        )
    await http.patch(f"/api/v1/codemarks/{made[1]['id']}", json={"status": "resolved"}, headers=bo.headers)
    url = f"/api/v1/teams/{team}/codemarks"

    async def ids(**params: str) -> list[str]:
        r = await http.get(url, params=params, headers=ada.headers)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    newest_first = [c["id"] for c in reversed(made)]
    assert await ids() == newest_first
    assert await ids(status="open") == [i for i in newest_first if i != made[1]["id"]]
    assert await ids(status="resolved") == [made[1]["id"]]
    assert await ids(type="issue") == [made[2]["id"], made[1]["id"], made[0]["id"]]
    assert await ids(author=bo.id) == [made[5]["id"], made[3]["id"], made[1]["id"]]
    assert await ids(assignee=bo.id) == [made[5]["id"]]
    assert await ids(tag="hot") == [made[4]["id"]]
    assert await ids(repo_id=other_repo) == [made[6]["id"]]
    assert await ids(path="src/f0.py") == [made[6]["id"], made[3]["id"], made[0]["id"]]
    assert await ids(path="src/f0.py", repo_id=repo) == [made[3]["id"], made[0]["id"]]
    assert await ids(path="nothing/here.py") == []

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = await http.get(url, params=params, headers=ada.headers)
        seen += [c["id"] for c in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first


async def test_update_rights(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo, cy = await api.person("Ada"), await api.person("Bo"), await api.person("Cy")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    await api.join(ada, team, cy, "admin")
    repo = await api.repo(bo, team)
    cm = await api.codemark(bo, team, repo)
    url = f"/api/v1/codemarks/{cm['id']}"
    r = await http.patch(
        url, json={"text": "edited", "title": "T", "tags": ["x"], "assignees": [ada.id]}, headers=bo.headers
    )
    assert r.status_code == 200
    body = r.json()
    assert (body["text"], body["title"], body["tags"]) == ("edited", "T", ["x"])
    assert [a["id"] for a in body["assignees"]] == [ada.id]
    assert body["updated_at"] >= body["created_at"]
    # Another member may not edit; an admin may.
    other = await api.person("Di")
    await api.join(ada, team, other)
    assert (await http.patch(url, json={"status": "resolved"}, headers=other.headers)).status_code == 403
    assert (await http.patch(url, json={"status": "resolved"}, headers=cy.headers)).status_code == 200
    assert (await http.patch(url, json={"status": "open"}, headers=bo.headers)).json()["status"] == "open"
    # Assigning a non-member is refused and changes nothing.
    stranger = await api.person("Ed")
    r = await http.patch(url, json={"text": "lost", "assignees": [stranger.id]}, headers=bo.headers)
    assert r.status_code == 422
    assert stranger.id in r.text
    assert (await http.get(url, headers=bo.headers)).json()["text"] == "edited"


async def traces(
    app: FastAPI, codemark_id: str, marker_ids: list[str], reply_ids: list[str]
) -> dict[str, int]:
    """Count the rows left of a codemark, its markers and replies, table by table (the event log apart)."""
    found: dict[str, int] = {}
    async with app.state.kibitz.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name == "event":
                continue
            for column, ids in (
                ("codemark_id", [codemark_id]),
                ("marker_id", marker_ids),
                ("reply_id", reply_ids),
            ):
                if column in table.c:
                    counted = select(func.count()).select_from(table).where(table.c[column].in_(ids))
                    found[f"{table.name}.{column}"] = int(await connection.scalar(counted) or 0)
        counted = select(func.count()).select_from(Codemark).where(Codemark.id == codemark_id)
        found["codemark.id"] = int(await connection.scalar(counted) or 0)
    return found


async def logged_about(app: FastAPI, team: str, codemark_id: str) -> list[tuple[str, str, str | None]]:
    """Return the type, the stored payload and the author of each logged event about a codemark."""
    async with app.state.kibitz.engine.connect() as connection:
        rows = await connection.execute(
            select(Event.type, Event.payload, Event.author_id)
            .where(Event.team_id == team, Event.codemark_id == codemark_id)
            .order_by(Event.seq)
        )
        return [(row.type, row.payload, row.author_id) for row in rows]


async def test_delete_rights_and_cascade(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    ada, bo, cy = await api.person("Ada"), await api.person("Bo"), await api.person("Cy")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    await api.join(ada, team, cy)
    repo = await api.repo(bo, team)
    cm = await api.codemark(bo, team, repo, text="zebrafish @" + cy.email, tags=["t"], assignees=[cy.id])
    url = f"/api/v1/codemarks/{cm['id']}"
    reply = (await http.post(f"{url}/replies", json={"text": "hm walrus"}, headers=cy.headers)).json()
    assert (await http.put(f"{url}/reactions/👍", headers=ada.headers)).status_code == 200
    markers = [m["id"] for m in cm["markers"]]
    before = await traces(app, cm["id"], markers, [reply["id"]])
    for kind in (
        "codemark.id",
        "marker.codemark_id",
        "codemark_tag.codemark_id",
        "codemark_assignee.codemark_id",
    ):
        assert before[kind] >= 1, kind
    assert before["search_token.codemark_id"] >= 2  # the codemark's words and the reply's
    assert before["reply.codemark_id"] == 1
    assert (await http.delete(url, headers=cy.headers)).status_code == 403
    assert (await http.delete(url, headers=bo.headers)).status_code == 204
    left = await traces(app, cm["id"], markers, [reply["id"]])
    assert left == dict.fromkeys(before, 0)
    # Its events keep their seqs, but say no more than the literal redaction marker, and name nobody.
    logged = await logged_about(app, team, cm["id"])
    redacted = [kind for kind, payload, author in logged if (payload, author) == ('{"redacted":true}', None)]
    assert {"codemark.created", "reply.added", "reaction.added"} <= set(redacted)
    assert [kind for kind, _payload, _author in logged][-1] == "codemark.deleted"
    assert len(redacted) == len(logged) - 1
    assert (await http.get(url, headers=bo.headers)).status_code == 404
    assert (
        await http.patch(f"/api/v1/replies/{reply['id']}", json={"text": "x"}, headers=cy.headers)
    ).status_code == 404
    cm2 = await api.codemark(bo, team, repo)
    assert (await http.delete(f"/api/v1/codemarks/{cm2['id']}", headers=ada.headers)).status_code == 204


async def test_reply_edit_and_delete_rights(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo, cy = await api.person("Ada"), await api.person("Bo"), await api.person("Cy")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    await api.join(ada, team, cy)
    repo = await api.repo(bo, team)
    cm = await api.codemark(bo, team, repo)
    reply = (
        await http.post(f"/api/v1/codemarks/{cm['id']}/replies", json={"text": "mine"}, headers=cy.headers)
    ).json()
    url = f"/api/v1/replies/{reply['id']}"
    # Only the author edits, not even an owner.
    assert (await http.patch(url, json={"text": "theirs"}, headers=ada.headers)).status_code == 403
    assert (await http.patch(url, json={"text": "theirs"}, headers=bo.headers)).status_code == 403
    r = await http.patch(url, json={"text": "mine, edited"}, headers=cy.headers)
    assert r.status_code == 200
    assert r.json()["text"] == "mine, edited"
    # The codemark's author is not the reply's author and is no admin: no delete.
    assert (await http.delete(url, headers=bo.headers)).status_code == 403
    assert (await http.delete(url, headers=ada.headers)).status_code == 204
    # A tombstone stays in the thread, with no words left.
    [tombstone] = (await http.get(f"/api/v1/codemarks/{cm['id']}/replies", headers=bo.headers)).json()[
        "items"
    ]
    assert (tombstone["id"], tombstone["deleted"], tombstone["text"]) == (reply["id"], True, "")


async def test_several_markers_keep_their_order(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person()
    team = await api.team(ada)
    repo = await api.repo(ada, team)
    body = codemark_body(repo)
    body["markers"] = [
        dict(body["markers"][0], path=f"m/{i}.py", start_line=i + 1, end_line=i + 2) for i in range(5)
    ]
    r = await http.post(f"/api/v1/teams/{team}/codemarks", json=body, headers=ada.headers)
    assert r.status_code == 201
    assert [m["path"] for m in r.json()["markers"]] == [f"m/{i}.py" for i in range(5)]
