"""Shared locations (first write wins) and marker references (provisional anchors, other commits)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from kibitz.server.crypto.sealer import is_sealed
from tests.server.conftest import Api, one_app_per_module

# Every test works in teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()

AT = "c" * 40


def located(marker_id: str, line: int, status: str = "shifted", confidence: float = 0.9) -> dict[str, Any]:
    """Return a location body for a marker at `line`."""
    return {
        "marker_id": marker_id,
        "path": "src/app.py",
        "start_line": line,
        "end_line": line + 2,
        "status": status,
        "confidence": confidence,
    }


async def test_first_write_wins_and_teammates_read_it(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    repo = await api.repo(ada, team)
    one = (await api.codemark(ada, team, repo))["markers"][0]["id"]
    two = (await api.codemark(ada, team, repo))["markers"][0]["id"]
    url = f"/api/v1/teams/{team}/locations"

    body = {"commit": AT, "algorithm": "v1", "locations": [located(one, 10), located(one, 99)]}
    r = await http.post(url, json=body, headers=ada.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 1, "already_known": 1}
    gone = {"marker_id": two, "status": "deleted", "confidence": 0.8}
    body = {"commit": AT, "algorithm": "v1", "locations": [located(one, 50), gone]}
    r = await http.post(url, json=body, headers=bo.headers)
    assert r.json() == {"stored": 1, "already_known": 1}
    # Another algorithm version is another cache line.
    r = await http.post(
        url, json={"commit": AT, "algorithm": "v2", "locations": [located(one, 12)]}, headers=bo.headers
    )
    assert r.json() == {"stored": 1, "already_known": 0}

    query = {"commit": AT.upper(), "algorithm": "v1", "marker_ids": [one, two, "z" * 16]}
    r = await http.post(f"{url}/query", json=query, headers=bo.headers)
    found = {loc["marker_id"]: loc for loc in r.json()["locations"]}
    assert set(found) == {one, two}
    assert (found[one]["start_line"], found[one]["computed_by"]) == (10, ada.id)
    assert found[two]["status"] == "deleted"
    assert found[two]["start_line"] is None


async def test_the_commit_that_made_a_location_is_added_once_and_kept(
    http: httpx.AsyncClient, api: Api
) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    repo = await api.repo(ada, team)
    one = (await api.codemark(ada, team, repo))["markers"][0]["id"]
    two = (await api.codemark(ada, team, repo))["markers"][0]["id"]
    url = f"/api/v1/teams/{team}/locations"
    edit, other = "E" * 40, "f" * 40

    async def why_commits() -> dict[str, str | None]:
        query = {"commit": AT, "algorithm": "v1", "marker_ids": [one, two]}
        r = await http.post(f"{url}/query", json=query, headers=bo.headers)
        return {loc["marker_id"]: loc["why_commit"] for loc in r.json()["locations"]}

    # Shared by a client that did not look for the commit: none known.
    r = await http.post(
        url, json={"commit": AT, "algorithm": "v1", "locations": [located(one, 10)]}, headers=ada.headers
    )
    assert r.json() == {"stored": 1, "already_known": 0}
    assert await why_commits() == {one: None}
    # Found later: added to the known location (its place stays the first one), in lower case.
    found = [{**located(one, 77), "why_commit": edit}, {**located(two, 5, "moved"), "why_commit": other}]
    r = await http.post(url, json={"commit": AT, "algorithm": "v1", "locations": found}, headers=bo.headers)
    assert r.json() == {"stored": 1, "already_known": 1}
    assert await why_commits() == {one: edit.lower(), two: other}
    query = {"commit": AT, "algorithm": "v1", "marker_ids": [one]}
    r = await http.post(f"{url}/query", json=query, headers=bo.headers)
    assert r.json()["locations"][0]["start_line"] == 10
    # Never replaced: the first commit found stands.
    again = [{**located(one, 10), "why_commit": other}]
    r = await http.post(url, json={"commit": AT, "algorithm": "v1", "locations": again}, headers=ada.headers)
    assert r.json() == {"stored": 0, "already_known": 1}
    assert await why_commits() == {one: edit.lower(), two: other}


async def test_another_members_bookmark_is_unreachable(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    repo = await api.repo(ada, team)
    mark = (await api.codemark(ada, team, repo, type="bookmark", text="mine"))["markers"][0]["id"]
    url = f"/api/v1/teams/{team}/locations"
    r = await http.post(
        url, json={"commit": AT, "algorithm": "v1", "locations": [located(mark, 7)]}, headers=ada.headers
    )
    assert r.json() == {"stored": 1, "already_known": 0}, r.text

    # Bo can neither read where Ada's bookmark is nor write a location for it: it is as missing as a
    # marker that does not exist, and the error is the same one.
    query = {"commit": AT, "algorithm": "v1", "marker_ids": [mark]}
    r = await http.post(f"{url}/query", json=query, headers=bo.headers)
    assert r.status_code == 200, r.text
    assert r.json()["locations"] == []
    mine = {"commit": "d" * 40, "algorithm": "v1", "locations": [located(mark, 9)]}
    r = await http.post(url, json=mine, headers=bo.headers)
    missing = {"commit": "d" * 40, "algorithm": "v1", "locations": [located("z" * 16, 9)]}
    r2 = await http.post(url, json=missing, headers=bo.headers)
    assert (r.status_code, r2.status_code) == (422, 422), r.text
    assert r.text == r2.text.replace("z" * 16, mark)
    # Ada still finds her own, and Bo's attempt stored nothing.
    r = await http.post(f"{url}/query", json=query, headers=ada.headers)
    assert [loc["start_line"] for loc in r.json()["locations"]] == [7]
    r = await http.post(f"{url}/query", json=query | {"commit": "d" * 40}, headers=ada.headers)
    assert r.json()["locations"] == []


@pytest.mark.database_agnostic
async def test_bad_locations_are_refused(http: httpx.AsyncClient, api: Api) -> None:
    ada, eve = await api.person("Ada"), await api.person("Eve")
    team, other = await api.team(ada), await api.team(eve)
    repo = await api.repo(ada, team)
    marker = (await api.codemark(ada, team, repo))["markers"][0]["id"]
    foreign = (await api.codemark(eve, other, await api.repo(eve, other)))["markers"][0]["id"]
    url = f"/api/v1/teams/{team}/locations"
    for body in (
        {"commit": "abc", "algorithm": "v1", "locations": [located(marker, 1)]},
        {"commit": AT, "algorithm": "v 1", "locations": [located(marker, 1)]},
        {"commit": AT, "algorithm": "v1", "locations": []},
        {"commit": AT, "algorithm": "v1", "locations": [located(marker, 1)] * 1001},
        {"commit": AT, "algorithm": "v1", "locations": [{**located(marker, 1), "start_line": 0}]},
        {"commit": AT, "algorithm": "v1", "locations": [{**located(marker, 5), "end_line": 2}]},
        {"commit": AT, "algorithm": "v1", "locations": [{**located(marker, 1), "confidence": 1.5}]},
        {"commit": AT, "algorithm": "v1", "locations": [{**located(marker, 1), "status": "lost"}]},
        # What one clone cannot see is no fact about the commit: the team's cache never holds it.
        {
            "commit": AT,
            "algorithm": "v1",
            "locations": [{"marker_id": marker, "status": "unavailable", "confidence": 0}],
        },
        {"commit": AT, "algorithm": "v1", "locations": [{**located(marker, 1), "status": "deleted"}]},
        {
            "commit": AT,
            "algorithm": "v1",
            "locations": [{"marker_id": marker, "status": "moved", "confidence": 1}],
        },
        {"commit": AT, "algorithm": "v1", "locations": [{**located(marker, 1), "path": "../x"}]},
        {"commit": AT, "algorithm": "v1", "locations": [located(foreign, 1)]},
        {"commit": AT, "algorithm": "v1", "locations": [located(marker, 1)], "extra": True},
        {"commit": AT, "algorithm": "v1", "locations": [{**located(marker, 1), "why_commit": "abc"}]},
        # Nothing made an unchanged block so: there is no commit to name.
        {
            "commit": AT,
            "algorithm": "v1",
            "locations": [{**located(marker, 1, "unchanged"), "why_commit": "d" * 40}],
        },
    ):
        r = await http.post(url, json=body, headers=ada.headers)
        assert r.status_code == 422, body
    r = await http.post(
        f"{url}/query", json={"commit": AT, "algorithm": "v1", "marker_ids": [marker]}, headers=ada.headers
    )
    assert r.json()["locations"] == []
    # Foreign markers are simply absent from answers.
    r = await http.post(
        f"{url}/query", json={"commit": AT, "algorithm": "v1", "marker_ids": [foreign]}, headers=ada.headers
    )
    assert r.json()["locations"] == []


async def test_provisional_marker_is_promoted_once(http: httpx.AsyncClient, api: Api) -> None:
    ada, bo = await api.person("Ada"), await api.person("Bo")
    team = await api.team(ada)
    await api.join(ada, team, bo)
    repo = await api.repo(ada, team)
    cm = await api.codemark(
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
    marker = cm["markers"][0]
    assert marker["provisional"] is True
    assert [r["kind"] for r in marker["references"]] == ["upstream"]
    url = f"/api/v1/codemarks/{cm['id']}/markers/{marker['id']}"
    block = {"commit": "e" * 40, "path": "src/renamed.py", "start_line": 7, "end_line": 9}
    r = await http.post(f"{url}/promote", json=block, headers=bo.headers)
    assert r.status_code == 200, r.text
    promoted = r.json()["markers"][0]
    assert (promoted["commit"], promoted["path"], promoted["start_line"], promoted["provisional"]) == (
        "e" * 40,
        "src/renamed.py",
        7,
        False,
    )
    # The provisional place is kept as a reference.
    assert {r["commit"] for r in promoted["references"]} == {"d" * 40, marker["commit"]}
    r = await http.post(f"{url}/promote", json=block, headers=ada.headers)
    assert r.status_code == 409


async def test_references_are_added_once(http: httpx.AsyncClient, api: Api) -> None:
    ada = await api.person("Ada")
    team = await api.team(ada)
    repo = await api.repo(ada, team)
    cm = await api.codemark(ada, team, repo)
    url = f"/api/v1/codemarks/{cm['id']}/markers/{cm['markers'][0]['id']}/references"
    ref = {"kind": "upstream", "commit": "f" * 40, "path": "src/app.py", "start_line": 4, "end_line": 6}
    assert (await http.post(url, json=ref, headers=ada.headers)).status_code == 201
    r = await http.post(url, json={**ref, "start_line": 5}, headers=ada.headers)
    assert r.status_code == 200
    assert [x["start_line"] for x in r.json()["markers"][0]["references"]] == [4]
    r = await http.post(url, json={**ref, "commit": cm["markers"][0]["commit"]}, headers=ada.headers)
    assert r.status_code == 200
    for i in range(19):
        commit = f"{i:040x}"
        assert (await http.post(url, json={**ref, "commit": commit}, headers=ada.headers)).status_code == 201
    assert (await http.post(url, json={**ref, "commit": "9" * 40}, headers=ada.headers)).status_code == 409
    bad = f"/api/v1/codemarks/{cm['id']}/markers/{'z' * 16}/references"
    assert (await http.post(bad, json=ref, headers=ada.headers)).status_code == 404
    assert (
        await http.post(
            f"{url[: -len('/references')]}/promote", json=ref | {"kind": None}, headers=ada.headers
        )
    ).status_code == 422


async def test_deleting_a_codemark_removes_its_markers_locations_and_references(
    http: httpx.AsyncClient, api: Api, app: Any
) -> None:
    from tests.server.test_bad_input import row_counts

    ada = await api.person("Ada")
    team = await api.team(ada)
    repo = await api.repo(ada, team)
    before = await row_counts(app)
    cm = await api.codemark(ada, team, repo, tags=["x"], assignees=[ada.id])
    marker = cm["markers"][0]["id"]
    await http.post(f"/api/v1/codemarks/{cm['id']}/replies", json={"text": "r"}, headers=ada.headers)
    await http.post(
        f"/api/v1/codemarks/{cm['id']}/markers/{marker}/references",
        json={"commit": "f" * 40, "path": "a.py", "start_line": 1, "end_line": 1},
        headers=ada.headers,
    )
    await http.post(
        f"/api/v1/teams/{team}/locations",
        json={"commit": AT, "algorithm": "v1", "locations": [located(marker, 3)]},
        headers=ada.headers,
    )
    assert (await http.delete(f"/api/v1/codemarks/{cm['id']}", headers=ada.headers)).status_code == 204
    after = await row_counts(app)
    # The event log keeps the history of what happened (the deletion included).
    assert after.pop("event") == before.pop("event") + 5  # created, reply, reference, location, deleted
    assert after == before


async def test_paths_are_sealed_at_rest(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    ada = await api.person("Ada")
    team = await api.team(ada)
    repo = await api.repo(ada, team)
    one = (await api.codemark(ada, team, repo))["markers"][0]["id"]
    two = (await api.codemark(ada, team, repo))["markers"][0]["id"]
    place = {**located(one, 10), "path": "src/gearboxhousing.py"}
    gone = {"marker_id": two, "status": "deleted", "confidence": 0.8}
    body = {"commit": AT, "algorithm": "v1", "locations": [place, gone]}
    r = await http.post(f"/api/v1/teams/{team}/locations", json=body, headers=ada.headers)
    assert r.json() == {"stored": 2, "already_known": 0}
    async with app.state.kibitz.sessionmaker() as session:
        stored = dict(
            (
                await session.execute(
                    text("SELECT marker_id, path FROM marker_location WHERE team_id = :t"), {"t": team}
                )
            ).all()
        )
    assert is_sealed(stored[one])
    assert "gearboxhousing" not in stored[one]
    assert stored[two] is None
    query = {"commit": AT, "algorithm": "v1", "marker_ids": [one, two]}
    r = await http.post(f"/api/v1/teams/{team}/locations/query", json=query, headers=ada.headers)
    found = {loc["marker_id"]: loc["path"] for loc in r.json()["locations"]}
    assert found == {one: "src/gearboxhousing.py", two: None}
