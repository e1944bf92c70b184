"""EventStream and FeedPosition: every seq once and in order, across drops, gaps, duplicates and restarts.

The connections are scripted fakes: each one records what the client sent and plays the messages given,
then closes with the given code (or raises the given error when opened).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pytest
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.frames import Close
from websockets.http11 import Response

from kibitz.client import Backoff, EventStream, FeedPosition, Forbidden, NotAuthenticated, NotFound, Verdict
from kibitz.client import stream_url as make_stream_url


def event(seq: int, kind: str = "reply.added") -> dict[str, Any]:
    return {"seq": seq, "type": kind, "team_id": "t", "at": "2026-01-01T00:00:00+00:00", "data": {"n": seq}}


@dataclass
class FakeConnection:
    """One scripted WebSocket connection."""

    messages: list[Any]
    close_code: int | None = 1000
    close_reason: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __enter__(self) -> FakeConnection:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        return None

    def send(self, text: str) -> None:
        self.sent.append(json.loads(text))

    def __iter__(self) -> Iterator[str]:
        for message in self.messages:
            yield message if isinstance(message, str) else json.dumps(message)
        if self.close_code not in (1000, 1001, None):
            raise ConnectionClosedError(Close(self.close_code, self.close_reason), None)


class Server:
    """Hands out the scripted connections in turn, or raises the scripted errors."""

    def __init__(self, *scripts: FakeConnection | BaseException) -> None:
        self.scripts = list(scripts)
        self.opened: list[FakeConnection] = []
        self.urls: list[str] = []

    def connect(self, url: str, **options: Any) -> FakeConnection:
        self.urls.append(url)
        if not self.scripts:
            raise KeyboardInterrupt  # the test has seen enough: stop the endless loop
        script = self.scripts.pop(0)
        if isinstance(script, BaseException):
            raise script
        script.headers = dict(options["additional_headers"])
        self.opened.append(script)
        return script


def subscribed(after: int) -> dict[str, Any]:
    return {"type": "subscribed", "team_id": "t", "head": after}


def run(server: Server, after: int | None = 0, **options: Any) -> tuple[list[int], list[float], list[str]]:
    """Follow the scripted server until it runs out; return the seqs yielded, the sleeps and the notes."""
    sleeps: list[float] = []
    notes: list[str] = []
    stream = EventStream(
        "https://kibitz.example.com/",
        "kbz_token",
        "t",
        after,
        connect=server.connect,
        sleep=sleeps.append,
        on_status=notes.append,
        backoff=Backoff(random=lambda: 1.0),
        **options,
    )
    seqs: list[int] = []
    try:
        for item in stream:
            seqs.append(item["seq"])
    except KeyboardInterrupt:  # the fake server ran out of connections
        return seqs, sleeps, notes
    raise AssertionError("the stream ended by itself")


def test_stream_url_and_the_token_in_a_header() -> None:
    assert make_stream_url("http://127.0.0.1:8383/") == "ws://127.0.0.1:8383/api/v1/stream"
    assert make_stream_url("https://k.example.com/base") == "wss://k.example.com/base/api/v1/stream"
    server = Server(FakeConnection([subscribed(0), event(1)]))
    run(server)
    assert server.urls[0] == "wss://kibitz.example.com/api/v1/stream"
    assert "kbz_token" not in server.urls[0]
    assert server.opened[0].headers == {"Authorization": "Bearer kbz_token"}
    assert server.opened[0].sent == [{"type": "subscribe", "team_id": "t", "after": 0}]


def test_resumes_after_the_last_event_across_drops_without_duplicates() -> None:
    server = Server(
        FakeConnection([subscribed(5), event(6), event(7), {"type": "heartbeat", "seq": 7}], close_code=1006),
        OSError("connection refused"),
        # The server replays from 7 and, as a hub handing over from replay to live might, repeats one.
        FakeConnection(
            [subscribed(7), event(7), event(8), event(8), event(9), "not json", [1]], close_code=1012
        ),
        FakeConnection([subscribed(9), {"type": "pong", "seq": 9}, event(10, "skipped")]),
    )
    seqs, sleeps, notes = run(server, after=5)
    assert seqs == [6, 7, 8, 9, 10]
    assert [c.sent[0]["after"] for c in server.opened] == [5, 7, 9]
    # Backoff doubles while failing and starts over once subscribed.
    assert sleeps == [0.5, 1.0, 0.5, 0.5]
    assert "the connection dropped" in notes[0]
    assert "connection refused" in notes[1]
    assert "restarting" in notes[2]


def test_a_gap_resubscribes_from_the_last_event_at_once() -> None:
    server = Server(
        FakeConnection([subscribed(0), event(1), event(3), event(4)]),
        FakeConnection([subscribed(1), event(2), event(3)]),
    )
    seqs, sleeps, notes = run(server)
    assert seqs == [1, 2, 3]
    assert [c.sent[0]["after"] for c in server.opened] == [0, 1]
    assert sleeps[0] == 0.5  # only for the clean close at the end, not for the gap
    assert "missed events after seq 1 (got 3)" in notes[0]


def test_a_heartbeat_ahead_of_us_is_a_gap() -> None:
    server = Server(
        FakeConnection([subscribed(0), event(1), {"type": "heartbeat", "seq": 2}]),
        FakeConnection([subscribed(1), event(2)]),
    )
    seqs, _, _ = run(server)
    assert seqs == [1, 2]
    assert server.opened[1].sent[0]["after"] == 1


def test_the_same_gap_twice_waits_before_trying_again() -> None:
    server = Server(
        FakeConnection([subscribed(0), event(1), event(5)]),
        FakeConnection([subscribed(1), event(5)]),
        FakeConnection([subscribed(1), event(2)]),
    )
    seqs, sleeps, notes = run(server)
    assert seqs == [1, 2]
    assert sleeps[0] == 0.5
    assert any("did not help" in note for note in notes)


@pytest.mark.parametrize(
    ("code", "error"), [(4401, NotAuthenticated), (4404, NotFound), (4403, Forbidden), (4400, Exception)]
)
def test_final_close_codes_end_the_stream(code: int, error: type[Exception]) -> None:
    server = Server(
        FakeConnection([{"type": "error", "code": "x", "message": "Told you so."}], close_code=code),
        FakeConnection([subscribed(0)]),
    )
    stream = EventStream("http://k", "kbz_t", "t", 0, connect=server.connect, sleep=lambda _: None)
    with pytest.raises(error) as raised:
        list(stream)
    assert "Told you so." in str(raised.value)
    assert len(server.opened) == 1


def test_a_slow_consumer_cut_off_resumes() -> None:
    server = Server(
        FakeConnection(
            [subscribed(0), event(1)], close_code=4408, close_reason="too slow; resume with after=1"
        ),
        FakeConnection([subscribed(1), event(2)]),
    )
    seqs, _, notes = run(server)
    assert seqs == [1, 2]
    assert "too slowly" in notes[0]


@pytest.mark.parametrize(("status", "error"), [(401, NotAuthenticated), (403, Forbidden), (404, NotFound)])
def test_a_refused_handshake_is_final(status: int, error: type[Exception]) -> None:
    server = Server(InvalidStatus(Response(status, "no", Headers())))
    with pytest.raises(error):
        list(EventStream("http://k", "kbz_t", "t", 0, connect=server.connect, sleep=lambda _: None))


def test_a_server_error_at_the_handshake_is_retried() -> None:
    server = Server(
        InvalidStatus(Response(502, "Bad Gateway", Headers())), FakeConnection([subscribed(0), event(1)])
    )
    seqs, _, notes = run(server)
    assert seqs == [1]
    assert "answered 502" in notes[0]


def test_without_a_position_it_starts_at_the_head_the_server_reports() -> None:
    server = Server(
        FakeConnection([{"type": "subscribed", "team_id": "t", "head": 41}]),
        FakeConnection([subscribed(41), event(42)]),
    )
    seqs, sleeps, _ = run(server, after=None)
    assert seqs == [42]
    assert [c.sent[0]["after"] for c in server.opened] == [0, 41]
    assert sleeps == [0.5]  # the clean close at the end only


def test_a_log_shorter_than_our_position_restarts_from_its_head() -> None:
    server = Server(
        FakeConnection([{"type": "subscribed", "team_id": "t", "head": 3}]),
        FakeConnection([subscribed(3), event(4)]),
    )
    seqs, _, notes = run(server, after=10)
    assert seqs == [4]
    assert "ends at seq 3" in notes[0]


def test_feed_position_verdicts() -> None:
    position = FeedPosition(2)
    assert position.judge({"type": "reply.added", "seq": 2}) is Verdict.DUPLICATE
    assert position.judge({"type": "reply.added", "seq": 4}) is Verdict.GAP
    assert position.last == 2
    assert position.judge({"type": "skipped", "seq": 3}) is Verdict.DELIVER
    assert position.last == 3
    assert position.judge({"type": "heartbeat", "seq": 3}) is Verdict.CONTROL
    assert position.judge({"type": "heartbeat", "seq": 9}) is Verdict.GAP
    assert position.judge({"type": "pong", "seq": 9}) is Verdict.CONTROL
    for odd in ({"type": "x"}, {"type": "x", "seq": "4"}, {"type": "x", "seq": True}, {"seq": 4}):
        assert position.judge(odd) is Verdict.CONTROL
    assert position.last == 3


def test_backoff_grows_to_a_ceiling_with_jitter() -> None:
    draws = itertools.cycle([0.0, 1.0])
    backoff = Backoff(initial=1.0, maximum=8.0, random=lambda: next(draws))
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 2.0, 2.0, 8.0, 4.0, 8.0]
    for _ in range(5000):  # a server down for a long time overflows nothing
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 0.5
