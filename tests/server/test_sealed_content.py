"""Codemark content at rest: what the database holds is sealed, yet listings by file, search, history and
code-free teams work through the API as before."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from tests.server.conftest import Api, Person, codemark_body
from tests.server.test_conversation import get, reply

HEX64 = re.compile(r"[0-9a-f]{64}")
# Every content cell of these tables is sealed (crypto/registry.py): empty, or an envelope.
SEALED_COLUMNS = {
    "codemark": ("title", "text"),
    "marker": ("path", "code", "context_before", "context_after"),
    "marker_reference": ("path",),
    "reply": ("text",),
    "codemark_edit": ("title", "text"),
    "reply_edit": ("text",),
}
# Words no id, hash or envelope can contain by chance.
PLAIN = {
    "title": "Quokkatitle",
    "text": "Wombattext explains",
    "path": "src/platypusfile.py",
    "code": "echidnacode = 1\n",
    "before": "numbatbefore = 0\n",
    "after": "bilbyafter = 2\n",
    "reference": "lib/dingopath.py",
    "reply": "Kookaburrareply agrees",
    "new_title": "Cassowarytitle",
    "new_reply": "Galahreply disagrees",
}


async def rows_of(app: FastAPI, table: str) -> list[dict[str, Any]]:
    """Read every row of a table with plain SQL, as a dump would."""
    async with app.state.kibitz.engine.connect() as connection:
        result = await connection.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 - fixed table names
        return [dict(row) for row in result.mappings()]


async def execute(app: FastAPI, statement: str, **params: Any) -> None:
    """Run one statement with plain SQL and commit it."""
    async with app.state.kibitz.engine.begin() as connection:
        await connection.execute(text(statement), params)


@dataclass
class Written:
    """One codemark with a reference, a reply, and one edit of each."""

    ada: Person
    team: str
    repo: str
    codemark: dict[str, Any]
    reply: dict[str, Any]


async def write_everything(http: httpx.AsyncClient, api: Api) -> Written:
    """Create a codemark (title, text, path, code, context, a reference), reply to it, edit both."""
    ada = await api.person("Ada")
    team = await api.team(ada)
    repo = await api.repo(ada, team)
    reference = {"commit": "c" * 40, "path": PLAIN["reference"], "start_line": 7, "end_line": 9}
    codemark = await api.codemark(
        ada,
        team,
        repo,
        title=PLAIN["title"],
        text=PLAIN["text"],
        marker={
            "path": PLAIN["path"],
            "code": PLAIN["code"],
            "context_before": PLAIN["before"],
            "context_after": PLAIN["after"],
            "references": [reference],
        },
    )
    answer = await reply(http, ada, codemark["id"], PLAIN["reply"])
    r = await http.patch(
        f"/api/v1/codemarks/{codemark['id']}", json={"title": PLAIN["new_title"]}, headers=ada.headers
    )
    assert r.status_code == 200, r.text
    r = await http.patch(
        f"/api/v1/replies/{answer['id']}", json={"text": PLAIN["new_reply"]}, headers=ada.headers
    )
    assert r.status_code == 200, r.text
    return Written(ada, team, repo, codemark, answer)


async def test_content_rows_hold_no_plaintext(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    w = await write_everything(http, api)
    for table, columns in SEALED_COLUMNS.items():
        rows = await rows_of(app, table)
        assert rows, f"{table} has no rows"
        for row in rows:
            for value in row.values():
                for plain in PLAIN.values():
                    assert plain.strip() not in str(value), (table, plain)
            for column in columns:
                assert row[column] == "" or row[column].startswith("kz1."), (table, column, row[column])
    # The cells that hold something hold an envelope (context is not empty here, nor the edits' texts).
    [marker] = await rows_of(app, "marker")
    assert all(marker[c].startswith("kz1.") for c in SEALED_COLUMNS["marker"])
    assert HEX64.fullmatch(marker["path_index"])
    assert marker["code_fingerprint"] == ""
    [edit] = await rows_of(app, "codemark_edit")
    assert edit["title"].startswith("kz1.")
    assert edit["text"].startswith("kz1.")
    [reply_edit] = await rows_of(app, "reply_edit")
    assert reply_edit["text"].startswith("kz1.")
    # The API answers with the opened values, history included.
    got = await get(http, w.ada, f"/api/v1/codemarks/{w.codemark['id']}")
    assert (got["title"], got["text"]) == (PLAIN["new_title"], PLAIN["text"])
    [m] = got["markers"]
    assert (m["path"], m["code"], m["context_before"], m["context_after"], m["code_free"]) == (
        PLAIN["path"],
        PLAIN["code"],
        PLAIN["before"],
        PLAIN["after"],
        False,
    )
    assert [ref["path"] for ref in m["references"]] == [PLAIN["reference"]]
    [version] = await get(http, w.ada, f"/api/v1/codemarks/{w.codemark['id']}/history")
    assert (version["title"], version["text"]) == (PLAIN["title"], PLAIN["text"])
    [reply_version] = await get(http, w.ada, f"/api/v1/replies/{w.reply['id']}/history")
    assert reply_version["text"] == PLAIN["reply"]
    replies = await get(http, w.ada, f"/api/v1/codemarks/{w.codemark['id']}/replies")
    assert [r["text"] for r in replies["items"]] == [PLAIN["new_reply"]]


async def test_search_words_are_keyed_and_still_found(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    w = await write_everything(http, api)
    tokens = await rows_of(app, "search_token")
    assert tokens
    assert all(HEX64.fullmatch(row["token"]) for row in tokens)

    async def found(q: str) -> list[tuple[str, str]]:
        page = await get(http, w.ada, f"/api/v1/teams/{w.team}/search?q={q}")
        return [(m["kind"], m["id"]) for hit in page["items"] for m in hit["matches"]]

    codemark = ("codemark", w.codemark["id"])
    assert await found("cassowarytitle") == [codemark]
    assert await found("WOMBATTEXT") == [codemark]
    assert await found("galahreply") == [("reply", w.reply["id"])]
    # Replaced words are no longer found; neither are words of another team's codemarks.
    assert await found("quokkatitle") == []
    assert await found("kookaburrareply") == []
    assert await found("wombattext galahreply") == []
    other = await api.person("Eve")
    other_team = await api.team(other)
    await api.codemark(other, other_team, await api.repo(other, other_team), text="Wombattext again")
    assert await found("wombattext") == [codemark]


async def test_listing_by_path_uses_the_blind_index(http: httpx.AsyncClient, api: Api) -> None:
    w = await write_everything(http, api)
    elsewhere = await api.codemark(w.ada, w.team, w.repo, marker={"path": "src/other.py"})

    async def listed(path: str) -> list[str]:
        page = await get(http, w.ada, f"/api/v1/teams/{w.team}/codemarks?path={path}")
        return [c["id"] for c in page["items"]]

    assert await listed(PLAIN["path"]) == [w.codemark["id"]]
    assert await listed("src/other.py") == [elsewhere["id"]]
    # Equality, as before: a prefix or another case names another file.
    assert await listed("src/platypus") == []
    assert await listed(PLAIN["path"].upper()) == []
    # A promotion moves the marker: the listing follows it.
    promoted = await api.codemark(w.ada, w.team, w.repo, marker={"path": "src/draft.py", "provisional": True})
    marker_id = promoted["markers"][0]["id"]
    r = await http.post(
        f"/api/v1/codemarks/{promoted['id']}/markers/{marker_id}/promote",
        json={"commit": "d" * 40, "path": "src/final.py", "start_line": 1, "end_line": 2},
        headers=w.ada.headers,
    )
    assert r.status_code == 200, r.text
    assert [ref["path"] for ref in r.json()["markers"][0]["references"]] == ["src/draft.py"]
    assert await listed("src/final.py") == [promoted["id"]]
    assert await listed("src/draft.py") == []


async def test_code_free_team_keeps_only_a_fingerprint(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    ada = await api.person("Ada")
    teams = [await api.team(ada, "free"), await api.team(ada, "free too"), await api.team(ada, "coded")]
    for team in teams[:2]:
        await execute(app, "UPDATE team SET code_free = :on WHERE id = :id", on=True, id=team)
    repos = [await api.repo(ada, team) for team in teams]
    marker = {"code": PLAIN["code"], "context_before": PLAIN["before"], "context_after": PLAIN["after"]}
    made = [
        await api.codemark(ada, team, repo, marker=marker) for team, repo in zip(teams, repos, strict=True)
    ]
    again = await api.codemark(ada, teams[0], repos[0], marker=marker)

    for codemark in (made[0], made[1], again):
        [m] = (await get(http, ada, f"/api/v1/codemarks/{codemark['id']}"))["markers"]
        assert (m["code"], m["context_before"], m["context_after"], m["code_free"]) == ("", "", "", True)
        assert m["path"] == "src/app.py"
    [coded] = (await get(http, ada, f"/api/v1/codemarks/{made[2]['id']}"))["markers"]
    assert (coded["code"], coded["code_free"]) == (PLAIN["code"], False)

    rows = {row["codemark_id"]: row for row in await rows_of(app, "marker")}
    free = [rows[c["id"]] for c in (made[0], again, made[1])]
    for row in free:
        assert (row["code"], row["context_before"], row["context_after"]) == ("", "", "")
        assert HEX64.fullmatch(row["code_fingerprint"])
    # Keyed per team: the same code gives the same fingerprint in one team and another in the next.
    assert free[0]["code_fingerprint"] == free[1]["code_fingerprint"] != free[2]["code_fingerprint"]
    assert rows[made[2]["id"]]["code"].startswith("kz1.")

    # The code is still checked on the way in, though it is not kept.
    body = codemark_body(repos[0], marker={"code": "bad\x00code"})
    r = await http.post(f"/api/v1/teams/{teams[0]}/codemarks", json=body, headers=ada.headers)
    assert r.status_code == 422, r.text


async def test_a_broken_seal_is_a_clean_500(http: httpx.AsyncClient, api: Api, app: FastAPI) -> None:
    w = await write_everything(http, api)
    [row] = await rows_of(app, "codemark")
    sealed: str = row["text"]
    middle = len(sealed) // 2
    flipped = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1 :]
    await execute(app, "UPDATE codemark SET text = :t WHERE id = :id", t=flipped, id=w.codemark["id"])
    for url in (f"/api/v1/codemarks/{w.codemark['id']}", f"/api/v1/teams/{w.team}/codemarks"):
        r = await http.get(url, headers=w.ada.headers)
        assert r.status_code == 500, r.text
        assert set(r.json()) == {"error"}
        for plain in PLAIN.values():
            assert plain.strip() not in r.text
        assert "Traceback" not in r.text
        assert "kz1." not in r.text


async def test_events_name_the_author_of_their_content(
    http: httpx.AsyncClient, api: Api, app: FastAPI
) -> None:
    w = await write_everything(http, api)
    bo = await api.person("Bo")
    await api.join(w.ada, w.team, bo)
    answer = await reply(http, bo, w.codemark["id"], "Bo's reply")
    r = await http.put(f"/api/v1/replies/{answer['id']}/reactions/%F0%9F%91%8D", headers=w.ada.headers)
    assert r.status_code == 200, r.text
    r = await http.put(f"/api/v1/codemarks/{w.codemark['id']}/reactions/%F0%9F%91%8D", headers=bo.headers)
    assert r.status_code == 200, r.text
    events = sorted(
        (row for row in await rows_of(app, "event") if row["team_id"] == w.team), key=lambda row: row["seq"]
    )
    authors = [(row["type"], row["author_id"]) for row in events if row["type"] != "member.joined"]
    assert authors == [
        ("codemark.created", w.ada.id),
        ("reply.added", w.ada.id),
        ("codemark.updated", w.ada.id),  # the edit
        ("reply.edited", w.ada.id),
        ("reply.added", bo.id),
        ("codemark.updated", w.ada.id),  # Bo now follows
        ("reaction.added", bo.id),  # on Bo's reply
        ("reaction.added", w.ada.id),  # on Ada's codemark
    ]
    # Deleting the codemark redacts every event that carried its thread (no author's key seals them any
    # more) and adds one that carries no content.
    r = await http.delete(f"/api/v1/codemarks/{w.codemark['id']}", headers=w.ada.headers)
    assert r.status_code == 204, r.text
    after = sorted(
        (row for row in await rows_of(app, "event") if row["team_id"] == w.team), key=lambda row: row["seq"]
    )
    about = [row for row in after if row["type"] != "member.joined"]
    assert [(row["type"], row["author_id"], row["payload"]) for row in about[:-1]] == [
        (kind, None, '{"redacted":true}') for kind, _author in authors
    ]
    assert (about[-1]["type"], about[-1]["author_id"]) == ("codemark.deleted", None)
