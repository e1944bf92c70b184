"""The WebSocket `/api/v1/stream`: replay from `after`, then live events, heartbeats, and honest closes.

Protocol (JSON text frames), documented in docs/realtime.md:
  client → {"type": "subscribe", "team_id": ID, "after": SEQ, "token": TOKEN?}   (token here or in the
           Authorization header of the handshake; never in the URL)
  server → {"type": "subscribed", "team_id": ID, "head": SEQ}, then events {"seq", "type", "team_id", "at",
           "data"} in seq order, {"type": "heartbeat", "seq": SEQ} when idle
  client → {"type": "ping"} → {"type": "pong", "seq": SEQ}
A web page's script authenticates with the browser's session cookie instead, from a page of this server
only (the Origin header must name the host the handshake went to).
Anything else from the client gets {"type": "error", ...} and the connection stays open; a frame over the
size limit closes that connection only (1009).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kibitz.server.access import AddressDenied, access_team, record_denial
from kibitz.server.auth.service import authenticate
from kibitz.server.deps import AppState
from kibitz.server.errors import AddressNotAllowed, KibitzError, NotAuthenticated
from kibitz.server.events.eager import Suspended, finish, step
from kibitz.server.events.hub import Subscriber
from kibitz.server.events.service import head_seq
from kibitz.server.web.sessions import session_token

router = APIRouter(tags=["realtime"])

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
CLOSE_BAD_REQUEST = 4400
CLOSE_TOO_SLOW = 4408
CLOSE_REMOVED = 4403
# The team's IP allowlist does not include the client's address (an `address_not_allowed` error frame first).
CLOSE_ADDRESS_NOT_ALLOWED = 4403
CLOSE_GOING_AWAY = 1001
CLOSE_TOO_BIG = 1009
SEND_TIMEOUT_SECONDS = 10.0


class SubscribeMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(pattern="^subscribe$")
    team_id: str = Field(min_length=1, max_length=64)
    after: int = Field(default=0, ge=0)
    token: str | None = Field(default=None, max_length=200)


def same_origin(origin: str | None, host: str | None) -> bool:
    """Tell whether a handshake's Origin names the host it was sent to (a page of this server)."""
    if not origin or not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def _error(code: str, message: str) -> str:
    return json.dumps({"type": "error", "code": code, "message": message})


async def _receive_json(ws: WebSocket, limit: int) -> Any:
    text = await ws.receive_text()
    if len(text.encode("utf-8", "surrogatepass")) > limit:
        raise OverflowError
    return json.loads(text)


async def _subscribe(ws: WebSocket, state: AppState) -> tuple[Subscriber, int] | None:
    """Authenticate and subscribe from the first message; close and return None on failure."""
    limit = state.settings.ws_max_bytes
    try:
        first = await asyncio.wait_for(_receive_json(ws, limit), timeout=10)
        message = SubscribeMessage.model_validate(first)
    except OverflowError:
        await ws.close(CLOSE_TOO_BIG, "message too big")
        return None
    except (TimeoutError, ValueError, ValidationError, TypeError):
        await ws.send_text(_error("invalid_request", 'Start with {"type": "subscribe", "team_id": ...}.'))
        await ws.close(CLOSE_BAD_REQUEST, "expected a subscribe message")
        return None
    header = ws.headers.get("authorization", "")
    token = message.token or (header[7:] if header.lower().startswith("bearer ") else "")
    if not token and same_origin(ws.headers.get("origin"), ws.headers.get("host")):
        # A web page's script: its session cookie, which a page of another site must not be able to use
        # (browsers send cookies with cross-site WebSocket handshakes too, so the origin is checked).
        token = session_token(ws, state) or ""
    try:
        async with state.sessionmaker() as session:
            caller = await authenticate(session, token)
            address = state.client_address(ws.client.host if ws.client else None, ws.headers)
            # The access layer's door, as for every HTTP route: 404 for non-members, then the allowlist.
            await access_team(session, dataclasses.replace(caller, address=address), message.team_id)
            head = await head_seq(session, message.team_id)
    except KibitzError as exc:
        if isinstance(exc, AddressDenied):
            await record_denial(state.sessionmaker, exc, "websocket")
        await ws.send_text(_error(exc.code, exc.message))
        close = CLOSE_NOT_AUTHENTICATED if isinstance(exc, NotAuthenticated) else CLOSE_NOT_FOUND
        await ws.close(CLOSE_ADDRESS_NOT_ALLOWED if isinstance(exc, AddressDenied) else close, exc.code)
        return None
    sub = await state.hub.subscribe(
        caller.user.id, message.team_id, message.after, token_id=caller.token_id, address=address
    )
    return sub, head


class Connection:
    """One subscriber's socket: frames go out one at a time, in order, and a send is time-limited."""

    def __init__(self, ws: WebSocket, sub: Subscriber) -> None:
        self.ws, self.sub = ws, sub
        self._lock = asyncio.Lock()
        # A frame `send_now` started that had to wait for the socket; it goes out before any other frame.
        self._stalled: Suspended | None = None

    @property
    def stalled(self) -> bool:
        """Return whether a frame handed over by `send_now` still waits for the socket."""
        return self._stalled is not None

    def send_now(self, text: str) -> bool:
        """Send a frame without waiting if no other send is under way; False means queue it instead.

        Called by the hub's reader for every idle subscriber, so it must never block it: a socket that cannot
        take the frame now keeps it here, and the subscriber's task (`flush`) finishes the send.
        """
        if self._lock.locked() or self._stalled is not None:
            return False
        try:
            self._stalled = step(self.ws.send_text(text))
        except Exception:  # the peer is gone; the receiver notices too, this only makes it prompt
            self.sub.cut = self.sub.cut or "gone"
        if self._stalled is not None or self.sub.cut is not None:
            self.sub.wake.set()
        return True

    async def flush(self) -> None:
        """Finish the frame `send_now` left waiting, if any."""
        if self._stalled is not None:
            async with self._lock, asyncio.timeout(SEND_TIMEOUT_SECONDS):
                await self._finish()

    async def send(self, text: str) -> None:
        """Send a frame after any waiting one; a client that stops reading must not hold this task forever."""
        # asyncio.timeout, unlike wait_for, makes no task per call.
        async with self._lock, asyncio.timeout(SEND_TIMEOUT_SECONDS):
            await self._finish()
            await self.ws.send_text(text)

    async def _finish(self) -> None:
        stalled, self._stalled = self._stalled, None
        if stalled is not None:
            try:
                await finish(stalled)
            except BaseException:
                stalled.coro.close()
                raise

    def close(self) -> None:
        """Drop a frame still waiting for a socket that is going away."""
        if self._stalled is not None:
            self._stalled.coro.close()
            self._stalled = None


@router.websocket("/stream")
async def stream(ws: WebSocket) -> None:
    """Stream a team's events: replay after `after`, then live."""
    state: AppState = ws.app.state.kibitz
    await ws.accept()
    subscribed = await _subscribe(ws, state)
    if subscribed is None:
        return
    conn, head = Connection(ws, subscribed[0]), subscribed[1]
    conn.sub.send_now = conn.send_now
    receiver = asyncio.create_task(_read_client(conn, state.settings.ws_max_bytes))
    try:
        sub = conn.sub
        await conn.send(json.dumps({"type": "subscribed", "team_id": sub.team_id, "head": head}))
        while sub.cut is None and (page := await state.hub.replay_until_live(sub)) is not None:
            for _seq, text in page:
                await conn.send(text)
        await _pump(conn, state.settings.stream_heartbeat_seconds)
    except (WebSocketDisconnect, TimeoutError, RuntimeError):
        pass
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver
        state.hub.unsubscribe(conn.sub)
        conn.close()


async def _pump(conn: Connection, heartbeat: float) -> None:
    """Send what the hub queued or left waiting, heartbeats when idle, and close when cut off."""
    sub = conn.sub
    while True:
        # Drain first, so that a removed member still receives the event of their own removal.
        await conn.flush()
        while not sub.queue.empty():
            _seq, text = sub.queue.get_nowait()
            await conn.send(text)
        if sub.cut is not None:
            await _close_cut(conn, sub.delivered)
            return
        sub.wake.clear()
        if not sub.queue.empty() or sub.cut is not None or conn.stalled:
            continue
        try:
            async with asyncio.timeout(heartbeat):
                await sub.wake.wait()
        except TimeoutError:
            # Everything up to `delivered` has gone out: the queue is empty and nothing is left waiting.
            await conn.send(json.dumps({"type": "heartbeat", "seq": sub.delivered}))


async def _close_cut(conn: Connection, last: int) -> None:
    reason = conn.sub.cut
    if reason == "gone":
        return
    if reason == "slow":
        await conn.ws.close(CLOSE_TOO_SLOW, f"too slow; resume with after={last}")
    elif reason == "removed":
        await conn.ws.close(CLOSE_REMOVED, "no longer a member")
    elif reason == "revoked":
        await conn.send(
            _error(NotAuthenticated.code, "The token was revoked or expired, or the account disabled.")
        )
        await conn.ws.close(CLOSE_NOT_AUTHENTICATED, "token revoked")
    elif reason == "address":
        await conn.send(
            _error(AddressNotAllowed.code, "The team's IP allowlist no longer admits this address.")
        )
        await conn.ws.close(CLOSE_ADDRESS_NOT_ALLOWED, "address not allowed")
    elif reason == "too_big":
        await conn.ws.close(CLOSE_TOO_BIG, "message too big")
    else:
        await conn.ws.close(CLOSE_GOING_AWAY, "server shutting down")


async def _read_client(conn: Connection, limit: int) -> None:
    """Answer pings and refuse anything else without closing, except frames over the size limit."""
    sub = conn.sub
    try:
        while True:
            try:
                message = await _receive_json(conn.ws, limit)
            except OverflowError:
                sub.cut = "too_big"
                return
            except (ValueError, TypeError, KeyError):
                await conn.send(_error("invalid_json", "Messages must be JSON objects."))
                continue
            if isinstance(message, dict) and message.get("type") == "ping":
                await conn.send(json.dumps({"type": "pong", "seq": sub.delivered}))
            else:
                await conn.send(_error("invalid_request", 'Only {"type": "ping"} is understood here.'))
    except (WebSocketDisconnect, RuntimeError, TimeoutError):
        if sub.cut is None:
            sub.cut = "gone"
    finally:
        sub.wake.set()
