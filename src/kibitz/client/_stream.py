"""Follow a team's event log over the WebSocket ``/api/v1/stream`` without losing or repeating an event.

The token travels in the ``Authorization`` header of the handshake, never in the URL (URLs end up in proxy
and server logs); with a pinned certificate the pin is checked inside the TLS layer before that header is
sent (kibitz.client._tls).

The stream subscribes ``after`` the last seq it handled; when the connection drops, the server restarts, or
a seq is missing, it subscribes again from there, waiting longer after each failed attempt. Only what is
final ends the iteration: a refused token, an unknown team, or the caller's removal from the team (close
codes 4401, 4404, 4403, 4400; docs/realtime.md), and a server certificate that fails its check.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, cast

import httpx

from kibitz import __version__
from kibitz.client._errors import (
    ApiError,
    CertificateRejected,
    Forbidden,
    KibitzError,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from kibitz.client._feed import Backoff, FeedPosition, Verdict
from kibitz.client._tls import TlsOptions, connection_failed
from kibitz.client._types import StreamEvent

STREAM_PATH = "/api/v1/stream"
# An event carries whole codemarks, whose code may reach 64 KiB per marker and 20 markers.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

# Close codes after which subscribing again cannot help.
_FINAL: dict[int, tuple[type[ApiError], int, str, str]] = {
    4401: (NotAuthenticated, 401, "not_authenticated", "the server refused the token: log in again"),
    4404: (NotFound, 404, "not_found", "no such team, or you are not in it"),
    4403: (
        Forbidden,
        403,
        "forbidden",
        "you are no longer a member of this team: ask one of its admins for a new invite, then run "
        "`kibitz team join CODE`",
    ),
    4400: (ValidationFailed, 400, "invalid_request", "the server did not understand the subscription"),
}
_REASONS = {
    1001: "the server is going away",
    1006: "the connection dropped",
    1009: "a message was too big",
    1011: "the server hit an error",
    1012: "the server is restarting",
    4408: "the server dropped us for reading too slowly",
}


class Connection(Protocol):
    """What the stream uses of an open WebSocket: websockets' ClientConnection, or a scripted stand-in."""

    @property
    def close_code(self) -> int | None: ...

    @property
    def close_reason(self) -> str | None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> None: ...

    def send(self, message: str, /) -> None: ...

    def __iter__(self) -> Iterator[str | bytes]: ...


Connect = Callable[..., Connection]


def stream_url(server_url: str) -> str:
    """Return the WebSocket URL of a server's event stream (``ws://`` for ``http://``, ``wss://`` for TLS)."""
    base = server_url.strip().rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :] + STREAM_PATH
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :] + STREAM_PATH
    raise KibitzError(f"server URL {server_url!r} must start with http:// or https://")


class _Resubscribe(Exception):
    """Leave this connection and subscribe again at once from the current position."""


class EventStream:
    """Iterate over a team's events after a position, in seq order, each once, across reconnections.

    With ``after=None`` it follows from the newest event when the server reports its head on subscribing,
    else from the start of the log. ``skipped`` events (private changes of others) are yielded too, so that
    ``position`` always names the last seq handled; callers decide what to show.
    """

    def __init__(
        self,
        server_url: str,
        token: str,
        team_id: str,
        after: int | None = None,
        *,
        on_status: Callable[[str], None] | None = None,
        backoff: Backoff | None = None,
        connect: Connect | None = None,
        sleep: Callable[[float], None] = time.sleep,
        open_timeout: float = 10.0,
        ca_file: str | Path | None = None,
        cert_sha256: str | None = None,
    ) -> None:
        """Prepare to follow; ``ca_file`` and ``cert_sha256`` (a pinned fingerprint) say whom to trust."""
        self.url = stream_url(server_url)
        tls = TlsOptions.from_values(ca_file, cert_sha256)
        tls.check_url(server_url)
        # Built once: a CA file that cannot be read is an error now, not at every reconnection. Without
        # options the stream trusts exactly what the API client (httpx) trusts.
        self._ssl: ssl.SSLContext | None = None
        if self.url.startswith("wss://"):
            self._ssl = tls.ssl_context() or httpx.create_ssl_context()
        self.team_id = team_id
        self.position = FeedPosition(after or 0)
        self._start_now = after is None
        self._token = token
        self._on_status = on_status or (lambda _message: None)
        self._backoff = backoff or Backoff()
        self._connect = connect
        self._sleep = sleep
        self._open_timeout = open_timeout
        self._last_error: str | None = None

    def __iter__(self) -> Iterator[StreamEvent]:
        """Yield events forever; raise ApiError when the server refuses us for good."""
        # Imported here: every other command of the CLI starts faster without the WebSocket library.
        from websockets.exceptions import ConnectionClosed, InvalidStatus, InvalidURI, WebSocketException

        stuck_at: int | None = None
        while True:
            try:
                with self._open() as ws:
                    yield from self._follow(ws)
                    reason = self._closed_reason(ws.close_code, ws.close_reason)
            except _Resubscribe:
                # At once the first time; a server that keeps skipping the same seq gets the backoff.
                if stuck_at != self.position.last:
                    stuck_at = self.position.last
                    continue
                reason = f"subscribing again after seq {stuck_at} did not help"
            except ConnectionClosed as closed:
                frame = closed.rcvd
                reason = self._closed_reason(frame.code if frame else None, frame.reason if frame else "")
            except InvalidStatus as refused:
                reason = self._refused_reason(refused.response.status_code)
            except InvalidURI as bad:
                raise KibitzError(f"cannot use {self.url}: {bad}") from bad
            except CertificateRejected:
                raise  # the pinned certificate does not match: reconnecting cannot make it
            except ssl.SSLCertVerificationError as failure:
                # Final too: retrying would only knock on the same untrusted door forever.
                raise connection_failed(self.url, failure) from failure
            except (OSError, TimeoutError, WebSocketException) as failure:
                reason = f"cannot reach {self.url}: {failure or type(failure).__name__}"
            delay = self._backoff.next_delay()
            self._on_status(f"{reason}; reconnecting in {delay:.1f}s (after seq {self.position.last})")
            self._sleep(delay)

    def _open(self) -> Connection:
        if self._connect is None:
            from websockets.sync.client import connect

            self._connect = connect
        options: dict[str, Any] = {} if self._ssl is None else {"ssl": self._ssl}
        return self._connect(
            self.url,
            additional_headers={"Authorization": f"Bearer {self._token}"},
            user_agent_header=f"kibitz/{__version__}",
            open_timeout=self._open_timeout,
            max_size=MAX_MESSAGE_BYTES,
            **options,
        )

    def _follow(self, ws: Connection) -> Iterator[StreamEvent]:
        """Subscribe on an open connection and yield its events until it closes."""
        after = self.position.last
        ws.send(json.dumps({"type": "subscribe", "team_id": self.team_id, "after": after}))
        for raw in ws:
            try:
                message = json.loads(raw)
            except ValueError:
                continue  # not ours to understand; the seq check catches anything lost
            if not isinstance(message, dict):
                continue
            kind = message.get("type")
            if kind == "subscribed":
                self._subscribed(message.get("head"), after)
                continue
            if kind == "error":
                self._last_error = str(message.get("message") or message.get("code") or "error")
                self._on_status(f"the server says: {self._last_error}")
                continue
            verdict = self.position.judge(message)
            if verdict is Verdict.DELIVER:
                yield cast(StreamEvent, message)
            elif verdict is Verdict.GAP:
                got = message.get("seq")
                self._on_status(
                    f"missed events after seq {self.position.last} (got {got}); subscribing again"
                )
                raise _Resubscribe

    def _subscribed(self, head: Any, after: int) -> None:
        """Act on the server's acknowledgement: the connection works, and its head may move our position."""
        self._backoff.reset()
        self._last_error = None
        start_now, self._start_now = self._start_now, False
        if not isinstance(head, int) or isinstance(head, bool) or head == after:
            return
        if start_now and head > after:
            # Nothing remembered: begin at the newest event instead of replaying the team's whole log.
            self.position.last = head
            raise _Resubscribe
        if head < after:
            self._on_status(
                f"the team's log ends at seq {head}, before seq {after} where we were; following from {head}"
            )
            self.position.last = head
            raise _Resubscribe

    def _closed_reason(self, code: int | None, reason: str | None) -> str:
        """Raise for a final close code; otherwise return why the connection ended, in words."""
        if code in _FINAL:
            cls, status, error_code, message = _FINAL[code]
            raise cls(status, error_code, self._last_error or message)
        return _REASONS.get(code or 1006) or f"the connection closed ({code} {reason or ''})".replace(
            " )", ")"
        )

    def _refused_reason(self, status: int) -> str:
        """Raise when the handshake was refused for good; otherwise return why, in words."""
        if status in (401, 403):
            cls: type[ApiError] = NotAuthenticated if status == 401 else Forbidden
            raise cls(status, f"http_{status}", f"the server refused the stream ({status})")
        if status == 404:
            raise NotFound(404, "http_404", f"{self.url} has no event stream (is it a Kibitz server?)")
        return f"the server answered {status}"
