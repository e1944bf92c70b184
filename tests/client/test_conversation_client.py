"""KibitzClient's conversation methods send the routes of docs/api.md, emoji and ids percent-encoded."""

from __future__ import annotations

import json
from typing import Any

import httpx

from kibitz.client import KibitzClient


def recorder(answer: Any = None, status: int = 200) -> tuple[KibitzClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=answer) if answer is not None else httpx.Response(204)

    return KibitzClient("http://k.test", "kbz_t", transport=httpx.MockTransport(handler)), seen


def test_reactions_encode_the_emoji_and_the_id() -> None:
    client, seen = recorder([])
    client.react("codemarks", "c" * 16, "👍🏽")
    client.unreact("replies", "a/b", "❤️")
    assert [(r.method, r.url.raw_path.decode()) for r in seen] == [
        ("PUT", f"/api/v1/codemarks/{'c' * 16}/reactions/%F0%9F%91%8D%F0%9F%8F%BD"),
        ("DELETE", "/api/v1/replies/a%2Fb/reactions/%E2%9D%A4%EF%B8%8F"),
    ]


def test_follow_history_relations() -> None:
    client, seen = recorder({})
    client.follow("c1")
    client.unfollow("c1")
    client.relate("c1", "c2")
    client.unrelate("c1", "c2")
    client.codemark_history("c1")
    client.reply_history("r1")
    assert [(r.method, r.url.path) for r in seen] == [
        ("PUT", "/api/v1/codemarks/c1/follow"),
        ("DELETE", "/api/v1/codemarks/c1/follow"),
        ("PUT", "/api/v1/codemarks/c1/related/c2"),
        ("DELETE", "/api/v1/codemarks/c1/related/c2"),
        ("GET", "/api/v1/codemarks/c1/history"),
        ("GET", "/api/v1/replies/r1/history"),
    ]


def test_search_sends_only_the_filters_given() -> None:
    client, seen = recorder({"items": [], "next_cursor": None})
    client.search("t1", "fetch url", status="open", author="u1", since="2026-01-01T00:00:00+00:00", limit=5)
    assert seen[0].url.path == "/api/v1/teams/t1/search"
    assert dict(seen[0].url.params) == {
        "q": "fetch url",
        "status": "open",
        "author": "u1",
        "since": "2026-01-01T00:00:00+00:00",
        "limit": "5",
    }


def test_inbox_and_marking_read() -> None:
    client, seen = recorder({"items": [], "next_cursor": None, "unread": 0, "marked": 2})
    client.inbox("t1", unread=True, limit=10)
    client.inbox("t1")
    assert client.mark_inbox_read("t1", ["i1", "i2"]) == 2
    client.mark_inbox_read("t1")
    assert dict(seen[0].url.params) == {"unread": "true", "limit": "10"}
    assert dict(seen[1].url.params) == {}
    assert [json.loads(r.content) for r in seen[2:]] == [{"ids": ["i1", "i2"]}, {"all": True}]
    assert seen[2].url.path == "/api/v1/teams/t1/inbox/read"
