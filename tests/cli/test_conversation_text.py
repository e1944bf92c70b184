"""The words of the conversation commands: event lines, emoji names, dates, ids and permalinks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
import pytest

from kibitz.cli.context import object_id
from kibitz.cli.conversation_text import emoji_for, event_line, inbox_line, parse_when, search_line
from kibitz.client import InboxItem, UserRef

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
ADA: UserRef = {"id": "u1", "email": "ada@example.com", "name": "Ada", "handle": "ada"}


def test_emoji_names() -> None:
    assert [emoji_for(n) for n in ("+1", ":tada:", "Heart", "👀", " 🚀 ", "nonsense")] == [
        "👍",
        "🎉",
        "❤️",
        "👀",
        "🚀",
        "nonsense",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31", "2026-01-31T00:00:00+00:00"),
        ("2026-01-31T14:05", "2026-01-31T14:05:00+00:00"),
        ("2026-01-31T14:05:00+02:00", "2026-01-31T14:05:00+02:00"),
        ("2026-01-31T14:05:00Z", "2026-01-31T14:05:00+00:00"),
        ("36h", "2026-03-09T00:00:00+00:00"),
        ("7d", "2026-03-03T12:00:00+00:00"),
        ("2W", "2026-02-24T12:00:00+00:00"),
    ],
)
def test_parse_when(text: str, expected: str) -> None:
    assert parse_when(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "7", "7y", "", "2026-13-01"])
def test_parse_when_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not a date"):
        parse_when(text, NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abcdefghjkmnpqrs", "abcdefghjkmnpqrs"),
        ("ABCDEFGHJKMNPQRS", "abcdefghjkmnpqrs"),
        ("https://kibitz.example.com/c/abcdefghjkmnpqrs", "abcdefghjkmnpqrs"),
        ("http://127.0.0.1:8383/c/abcdefghjkmnpqrs/?x=1#top", "abcdefghjkmnpqrs"),
        ("/c/abcdefghjkmnpqrs", "abcdefghjkmnpqrs"),
        ("not-an-id", "not-an-id"),
    ],
)
def test_ids_and_permalinks(text: str, expected: str) -> None:
    assert object_id(text) == expected


@pytest.mark.parametrize("text", ["https://kibitz.example.com/x/abc", "a/b", "https://kibitz.example.com/"])
def test_urls_that_are_no_permalinks(text: str) -> None:
    with pytest.raises(click.BadParameter):
        object_id(text)


def _event(seq: int, kind: str, data: dict[str, Any] | None = None) -> Any:
    event: dict[str, Any] = {"seq": seq, "type": kind, "team_id": "t"}
    if data is not None:
        event.update(at="2026-03-10T12:00:00+00:00", data=data)
    return event


def test_event_lines() -> None:
    emails = {"u1": "ada@example.com", "u2": "bo@example.com"}
    codemark = {
        "id": "c1",
        "type": "question",
        "status": "open",
        "title": "",
        "text": "Why retry?\nmore",
        "author": ADA,
        "markers": [{"path": "src/app.py", "start_line": 3, "end_line": 5}],
    }
    reply = {"id": "r1", "codemark_id": "c1", "author": ADA, "text": "Because.", "deleted": False}
    reaction = {"codemark_id": "c1", "reply_id": "r1", "emoji": "👍", "user_id": "u2", "reactions": []}
    cases = [
        (
            _event(1, "codemark.created", codemark),
            "ada@example.com opened question c1 at src/app.py:3-5: Why retry?",
        ),
        (
            _event(2, "codemark.updated", {**codemark, "status": "resolved"}),
            "codemark c1 updated [resolved/question]",
        ),
        (_event(3, "codemark.deleted", {"id": "c1", "team_id": "t"}), "codemark c1 deleted"),
        (_event(4, "reply.added", reply), "ada@example.com replied on c1 (r1): Because."),
        (_event(5, "reply.edited", reply), "ada@example.com edited reply r1 on c1: Because."),
        (_event(6, "reply.deleted", {**reply, "text": ""}), "reply r1 on c1 deleted"),
        (_event(7, "reaction.added", reaction), "bo@example.com reacted 👍 on reply r1: no reactions"),
        (
            _event(8, "reaction.removed", {**reaction, "reply_id": None}),
            "bo@example.com took back 👍 on codemark c1",
        ),
        (_event(10, "member.joined", {"email": "cy@example.com", "role": "member"}), "cy@example.com joined"),
        (_event(11, "member.left", {"team_id": "t", "user_id": "u9"}), "u9 left the team"),
        (
            _event(11, "member.updated", {"email": "cy@example.com", "role": "admin"}),
            "cy@example.com is now admin",
        ),
        (_event(12, "something.new", {}), "something.new"),
        (_event(14, "reply.added", {"redacted": True}), "reply.added (redacted: deleted or erased)"),
    ]
    for event, expected in cases:
        line = event_line(event, emails)
        assert line is not None
        assert line.startswith(f"#{event['seq']} ")
        assert expected in line, line
    assert event_line(_event(13, "skipped"), emails) is None
    # Shared locations are the clients' bookkeeping: no line.
    assert event_line(_event(9, "location.stored", {"commit": "f" * 40, "locations": [{}]}), emails) is None


def test_event_lines_say_who_did_what() -> None:
    bo = {"id": "u2", "email": "bo@example.com", "name": "Bo", "handle": "bo"}
    codemark = {"id": "c1", "type": "issue", "status": "resolved", "title": "Retry", "author": ADA}

    def told(kind: str, data: dict[str, Any], changes: list[str] | None = None) -> str | None:
        event: Any = {**_event(20, kind, data), "by": bo}
        if changes is not None:
            event["changes"] = changes
        return event_line(event, {})

    assert "bo@example.com resolved issue c1: Retry" in str(told("codemark.updated", codemark, ["resolved"]))
    assert "bo@example.com reopened and assigned issue c1" in str(
        told("codemark.updated", codemark, ["reopened", "assigned"])
    )
    assert told("codemark.updated", codemark, ["followers"]) is None
    assert told("codemark.updated", codemark, ["references", "promoted"]) is None
    assert "bo@example.com frobbed issue c1" in str(told("codemark.updated", codemark, ["frobbed"]))
    assert "bo@example.com deleted codemark c1" in str(told("codemark.deleted", {"id": "c1"}))
    assert "bo@example.com removed u9 from the team" in str(
        told("member.left", {"team_id": "t", "user_id": "u9"}, ["removed"])
    )
    assert "bo@example.com made cy@example.com admin" in str(
        told("member.updated", {"email": "cy@example.com", "role": "admin"})
    )


def test_search_and_inbox_lines() -> None:
    codemark = {"id": "c1", "type": "issue", "status": "open", "title": "Retry", "text": "x", "author": ADA}
    hit: Any = {
        "codemark": codemark,
        "matches": [{"kind": "codemark", "id": "c1"}, {"kind": "reply", "id": "r1"}],
    }
    assert search_line(hit) == "c1  [open/issue]  Retry  (ada@example.com)  in reply r1"
    item: InboxItem = {
        "id": "i1",
        "kind": "mention",
        "codemark_id": "c1",
        "reply_id": "r1",
        "codemark_title": "Retry",
        "actor": ADA,
        "created_at": "2026-03-10T12:00:00.123+00:00",
        "read_at": None,
    }
    now = dt.datetime(2026, 3, 10, 15, 30, tzinfo=dt.UTC)
    assert (
        inbox_line(item, now)
        == "* mention     c1 (reply r1)  Retry  (ada@example.com, 2026-03-10 12:00 UTC (3 hours ago))"
    )
    assert inbox_line({**item, "read_at": "x", "reply_id": None}).startswith("  mention     c1  Retry")
