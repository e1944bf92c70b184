"""Export archives: GET /api/v1/me/export and GET /api/v1/teams/{id}/export (docs/api.md)."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from kibitz.server.codemarks.models import Codemark
from kibitz.server.export.schemas import TeamExport, UserExport
from kibitz.server.export.service import snapshot
from kibitz.server.teams.models import Team
from tests.server.conftest import Api, one_app_per_module
from tests.server.export_seed import ADA_BOOKMARK, CY_BOOKMARK, seed_team

# Every test works in teams of its own: one app serves the module.
module_data_dir, module_database_url, module_settings, module_app = one_app_per_module()


async def export(http: httpx.AsyncClient, url: str, headers: dict[str, str]) -> tuple[bytes, dict[str, Any]]:
    r = await http.get(url, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-disposition"].startswith('attachment; filename="kibitz-')
    return r.content, r.json()


def without_time(body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(body)
    data.pop("exported_at")
    return data


async def test_user_export_holds_what_the_user_wrote_and_no_secrets(
    http: httpx.AsyncClient, api: Api
) -> None:
    s = await seed_team(http, api)
    r = await http.post("/api/v1/tokens", json={"name": "ci", "scope": "read"}, headers=s.ada.headers)
    secret = r.json()["token"]
    raw, body = await export(http, "/api/v1/me/export", s.ada.headers)
    UserExport.model_validate_json(raw)
    assert (body["format"], body["version"], body["kind"]) == ("kibitz-export", 1, "user")
    assert body["user"]["id"] == s.ada.id
    assert body["user"]["email"] == s.ada.email
    assert body["memberships"] == [
        {
            "team_id": s.team,
            "team_name": "exported",
            "role": "owner",
            "joined_at": body["memberships"][0]["joined_at"],
            "content_included": True,
        }
    ]
    # Her codemark with its marker, reference, tags, assignee, mention and history; her own bookmark too.
    assert [c["id"] for c in body["codemarks"]] == [s.ada_codemark["id"], s.ada_bookmark["id"]]
    mine = body["codemarks"][0]
    assert (mine["title"], mine["text"], mine["pinned"]) == (
        "Retry loop",
        f"Why retry twice, @{s.bo.email}?",
        True,
    )
    assert mine["tags"] == ["net", "perf"]
    assert mine["assignees"] == [s.cy.id]
    assert mine["mentions"] == [s.bo.id]
    assert [v["text"] for v in mine["history"]] == [f"Why retry here, @{s.bo.email}?"]
    assert mine["markers"][0]["code"] == "def f():\n    return 1\n\n"
    assert [ref["commit"] for ref in mine["markers"][0]["references"]] == ["c" * 40]
    # Her reply on Cy's codemark, with its edit history; nobody else's replies.
    assert [(r["id"], r["codemark_id"]) for r in body["replies"]] == [
        (s.ada_reply["id"], s.cy_codemark["id"])
    ]
    assert body["replies"][0]["text"] == "Yes: sync.py calls it"
    assert [v["text"] for v in body["replies"][0]["history"]] == ["It is, in sync.py"]
    assert {(r["codemark_id"], r["emoji"]) for r in body["reactions"]} == {
        (s.cy_codemark["id"], "👍"),
        (s.ada_codemark["id"], "🚀"),
    }
    assert all(r["user_id"] == s.ada.id for r in body["reactions"])
    assert {f["codemark_id"] for f in body["follows"]} >= {s.ada_codemark["id"], s.cy_codemark["id"]}
    # Tokens: metadata only.
    assert {t["name"] for t in body["tokens"]} == {"login", "ci"}
    assert set(body["tokens"][0]) == {
        "id",
        "name",
        "kind",
        "scopes",
        "created_at",
        "expires_at",
        "revoked_at",
    }
    text = raw.decode()
    assert secret not in text
    assert s.ada.token not in text
    assert "token_hash" not in text
    assert "password" not in text
    assert "argon2" not in text
    assert CY_BOOKMARK not in text


async def test_user_export_of_a_member_lists_their_inbox(http: httpx.AsyncClient, api: Api) -> None:
    s = await seed_team(http, api)
    _, body = await export(http, "/api/v1/me/export", s.bo.headers)
    # Bo was mentioned in Ada's codemark; his deleted reply stays a tombstone with no text.
    assert [(i["kind"], i["codemark_id"]) for i in body["inbox"]][:1] == [("mention", s.ada_codemark["id"])]
    assert [(r["text"], r["deleted_at"] is not None) for r in body["replies"]] == [("", True)]
    assert body["memberships"][0]["role"] == "admin"


async def test_another_users_private_bookmarks_never_appear(http: httpx.AsyncClient, api: Api) -> None:
    s = await seed_team(http, api)
    for who in (s.ada, s.bo):
        raw, _ = await export(http, "/api/v1/me/export", who.headers)
        assert CY_BOOKMARK.encode() not in raw
    raw, _ = await export(http, f"/api/v1/teams/{s.team}/export", s.ada.headers)
    # A team export holds nobody's bookmarks, the exporting owner's included.
    assert CY_BOOKMARK.encode() not in raw
    assert ADA_BOOKMARK.encode() not in raw
    raw, _ = await export(http, "/api/v1/me/export", s.cy.headers)
    assert CY_BOOKMARK.encode() in raw


async def test_team_export_holds_the_whole_team(http: httpx.AsyncClient, api: Api) -> None:
    s = await seed_team(http, api)
    raw, body = await export(http, f"/api/v1/teams/{s.team}/export", s.ada.headers)
    archive = TeamExport.model_validate_json(raw)
    assert archive.kind == "team"
    assert archive.team.id == s.team
    assert archive.team.allowlist == ["0.0.0.0/0", "::/0"]
    assert archive.team.event_seq > 0
    assert {p.id for p in archive.people} == {s.ada.id, s.bo.id, s.cy.id}
    assert {(m.user_id, m.role) for m in archive.members} == {
        (s.ada.id, "owner"),
        (s.bo.id, "admin"),
        (s.cy.id, "member"),
    }
    assert [(r.root_commits, r.remotes) for r in archive.repos] == [
        (["b" * 40], ["git.example.com/core/app"])
    ]
    assert [c.id for c in archive.codemarks] == [s.ada_codemark["id"], s.cy_codemark["id"]]
    assert [c.status for c in archive.codemarks] == ["open", "resolved"]
    assert [(r.author_id, r.deleted_at is not None) for r in archive.replies] == [
        (s.ada.id, False),
        (s.bo.id, True),
        (s.cy.id, False),
    ]
    assert len(archive.reactions) == 4
    assert {(f.codemark_id, f.user_id) for f in archive.follows} >= {(s.cy_codemark["id"], s.bo.id)}
    assert [(r.first_id, r.second_id) for r in archive.relations] == [
        tuple(sorted((s.ada_codemark["id"], s.cy_codemark["id"])))
    ]
    assert [(loc.status, loc.confidence, loc.computed_by) for loc in archive.locations] == [
        ("shifted", 0.75, s.cy.id)
    ]
    # The event log is not part of an export; no secrets either.
    assert "payload" not in raw.decode()
    assert s.ada.token not in raw.decode()
    assert body["format"] == "kibitz-export"
    assert body["version"] == 1


async def test_exports_are_deterministic(http: httpx.AsyncClient, api: Api) -> None:
    s = await seed_team(http, api)
    for url, who in ((f"/api/v1/teams/{s.team}/export", s.ada), ("/api/v1/me/export", s.cy)):
        first, _ = await export(http, url, who.headers)
        second, _ = await export(http, url, who.headers)
        times = [json.loads(archive)["exported_at"].encode() for archive in (first, second)]
        assert times[0] <= times[1]
        assert first.count(times[0]) == 1
        # Byte-identical apart from the time of export.
        assert first.replace(times[0], b"") == second.replace(times[1], b"")


async def test_team_export_is_for_owners_only(http: httpx.AsyncClient, api: Api) -> None:
    s = await seed_team(http, api)
    for who in (s.bo, s.cy):
        r = await http.get(f"/api/v1/teams/{s.team}/export", headers=who.headers)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"
    eve = await api.person("Eve")
    await api.team(eve, "other")
    r = await http.get(f"/api/v1/teams/{s.team}/export", headers=eve.headers)
    assert r.status_code == 404
    for bad in ("nonsense", "0" * 16, "ZZZZ"):
        r = await http.get(f"/api/v1/teams/{bad}/export", headers=s.ada.headers)
        assert r.status_code == 404
    r = await http.get("/api/v1/me/export")
    assert r.status_code == 401


async def test_exports_are_audited_with_counts_only(http: httpx.AsyncClient, api: Api) -> None:
    s = await seed_team(http, api)
    await export(http, f"/api/v1/teams/{s.team}/export", s.ada.headers)
    await export(http, "/api/v1/me/export", s.cy.headers)
    r = await http.get(
        f"/api/v1/teams/{s.team}/audit", params={"action": "export.made"}, headers=s.ada.headers
    )
    items = r.json()["items"]
    by_kind = {item["details"]["kind"]: item for item in items}
    assert set(by_kind) == {"team", "user"}
    team_event = by_kind["team"]
    assert team_event["actor"]["id"] == s.ada.id
    assert team_event["target_id"] == s.team
    assert team_event["details"]["counts"]["codemarks"] == 2
    assert team_event["details"]["counts"]["replies"] == 3
    assert by_kind["user"]["actor"]["id"] == s.cy.id
    trail = json.dumps(items)
    assert "Retry loop" not in trail
    assert "fetchUrl" not in trail
    assert s.ada.email not in trail


async def test_content_of_teams_whose_allowlist_excludes_the_caller_is_left_out(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    s = await seed_team(http, api)
    # The in-process client's address is 127.0.0.1; a team that admits only another network hides its content.
    r = await http.put(
        f"/api/v1/teams/{s.team}/allowlist", json={"cidrs": ["127.0.0.0/8"]}, headers=s.ada.headers
    )
    assert r.status_code == 200, r.text
    _, body = await export(http, "/api/v1/me/export", s.cy.headers)
    assert body["memberships"][0]["content_included"] is True
    await _set_allowlist_directly(app, s.team, "192.0.2.0/24")
    _, body = await export(http, "/api/v1/me/export", s.cy.headers)
    assert body["memberships"][0]["content_included"] is False
    assert body["codemarks"] == body["replies"] == body["reactions"] == body["follows"] == body["inbox"] == []
    assert body["user"]["id"] == s.cy.id


async def _set_allowlist_directly(app: FastAPI, team_id: str, cidr: str) -> None:
    """Set an allowlist that excludes the caller (the API refuses to lock out the admin saving it)."""
    state = app.state.kibitz
    async with state.sessionmaker() as session:
        team = await session.get(Team, team_id)
        assert team is not None
        team.allowlist = cidr
        await session.commit()
    state.caches.allowlists.clear()


async def test_an_export_reads_one_snapshot(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    ada = await api.person("Ada")
    team = await api.team(ada)
    repo = await api.repo(ada, team)
    await api.codemark(ada, team, repo)
    count = select(func.count()).select_from(Codemark).where(Codemark.team_id == team)
    async with snapshot(app.state.kibitz.sessionmaker) as reader:
        assert await reader.scalar(count) == 1
        # Written and committed by another request while the export reads: not seen by it.
        await api.codemark(ada, team, repo)
        assert await reader.scalar(count) == 1
    async with snapshot(app.state.kibitz.sessionmaker) as reader:
        assert await reader.scalar(count) == 2
