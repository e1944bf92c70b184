"""The feed on one real server process: a stuck subscriber is cut off and slows nobody; no compression.

The feed's reader writes each event straight onto every idle socket (kibitz.server.events.eager); a socket
whose peer stopped reading must not make it wait. A real server process, a real socket whose reader stops:
the others receive every event while the stuck one still reads nothing, and the stuck one, once it reads
again, finds the events up to where it was cut off, a 4408 close naming that seq, and resumes from it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.test_realtime import Subscriber, _start, codemark, person, reply, team
from tests.server_process import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

QUEUE_SIZE = 10
REPLIES = 100
# Big replies fill the stuck socket's buffers (kernel and transport) after a few events.
TEXT = "x" * 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One Kibitz server on SQLite with a short per-subscriber queue."""
    data_dir = tmp_path_factory.mktemp("slow")
    env = {
        "KIBITZ_STREAM_QUEUE_SIZE": str(QUEUE_SIZE),
        "KIBITZ_LOG_LEVEL": "warning",
    }
    running = _start("solo", data_dir, env)
    try:
        yield running
    finally:
        running.stop()


def _tiny_receive_buffer(url: str) -> socket.socket:
    """Return a socket connected to the server with a receive buffer as small as the kernel allows."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    return sock


async def _read_until_closed(ws: ClientConnection, seqs: list[int]) -> ConnectionClosed:
    """Collect the seqs of the events `ws` receives until the server closes it; return the close."""
    while True:
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
        except ConnectionClosed as closed:
            return closed
        if message.get("type") not in ("heartbeat", "pong", "error"):
            seqs.append(message["seq"])


async def test_a_stuck_subscriber_is_cut_off_and_slows_nobody(server: ServerProcess, tmp_path: Path) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        ada = await person(http, server.url, "Ada")
        team_id = await team(http, server.url, ada)
        cm = await codemark(http, server.url, ada, team_id, "a thread")
        healthy = Subscriber("healthy", server.stream_url, ada, team_id, after=0)
        await healthy.start()
        await healthy.wait_for(1)
        after = healthy.last

        # The stuck subscriber: its client library stops taking frames off the socket after one.
        stuck = await connect(
            server.stream_url,
            sock=_tiny_receive_buffer(server.url),
            additional_headers=ada.headers,
            max_queue=1,
            max_size=None,
            ping_interval=None,  # a client that reads nothing could not see the answers
            compression=None,  # compressed, repetitive replies would never fill a buffer
        )
        try:
            await stuck.send(json.dumps({"type": "subscribe", "team_id": team_id, "after": after}))
            subscribed = json.loads(await asyncio.wait_for(stuck.recv(), 30))
            assert subscribed["type"] == "subscribed"

            began = time.monotonic()
            for n in range(REPLIES):
                await reply(http, server.url, ada, cm["id"], f"{n} {TEXT}")
            await healthy.wait_for(after + REPLIES)
            print(f"\n{REPLIES} replies written and delivered in {time.monotonic() - began:.1f}s")
            final = healthy.last
            # Every event reached the healthy subscriber while the stuck one read nothing.
            assert [e["seq"] for e in healthy.events[-REPLIES:]] == list(range(after + 1, final + 1))

            # Reading again, the stuck one finds a prefix of the events, then the cut-off naming its end.
            received: list[int] = []
            closed = await _read_until_closed(stuck, received)
        finally:
            await stuck.close()
        assert closed.rcvd is not None, "the server dropped the socket without a close frame"
        assert closed.rcvd.code == 4408, closed.rcvd
        assert received == list(range(after + 1, after + 1 + len(received)))
        assert len(received) < final - after, "the stuck subscriber was never cut off"
        cut_at = received[-1] if received else after
        assert closed.rcvd.reason == f"too slow; resume with after={cut_at}"

        # It resumes from there and gets the rest exactly once.
        resumed = Subscriber("resumed", server.stream_url, ada, team_id, after=cut_at)
        await resumed.start()
        try:
            await resumed.wait_for(final)
            assert [e["seq"] for e in resumed.events] == list(range(cut_at + 1, final + 1))
        finally:
            await resumed.stop()
            await healthy.stop()


async def test_frames_are_not_compressed(server: ServerProcess) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        ada = await person(http, server.url, "Ada")
    # The client offers permessage-deflate (the websockets library does by default); the server declines.
    async with connect(server.stream_url, additional_headers=ada.headers) as ws:
        assert ws.request is not None
        assert "permessage-deflate" in ws.request.headers.get("Sec-WebSocket-Extensions", "")
        assert ws.response is not None
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
