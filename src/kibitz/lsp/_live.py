"""A team's event stream followed in a worker thread, its events handed to the event loop.

``kibitz.client.EventStream`` does the following: it resubscribes after the last seq handled when the
connection drops or the server restarts, so nothing is missed or repeated. Its waits between attempts
can be cut short (`wake`), so that a server found back by other means is followed again at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import TypeVar

from kibitz.client import Backoff, EventStream, KibitzError, StreamEvent

logger = logging.getLogger(__name__)
V = TypeVar("V")


class TeamFeed:
    """Follow one team's events from now on, calling back on the event loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        server_url: str,
        token: str,
        team_id: str,
        *,
        on_event: Callable[[StreamEvent], None],
        on_trouble: Callable[[str], None],
        on_final: Callable[[KibitzError], None],
        on_subscribed: Callable[[str], None],
        ca_file: str | None = None,
        cert_sha256: str | None = None,
    ) -> None:
        self.team_id = team_id
        self.token = token
        self._loop = loop
        self._on_event = on_event
        self._on_trouble = on_trouble
        self._on_final = on_final
        self._on_subscribed = on_subscribed
        self._stopped = threading.Event()
        self._awake = threading.Event()
        self._stream = EventStream(
            server_url,
            token,
            team_id,
            on_status=self._status,
            backoff=_Acknowledged(lambda: self._call(self._on_subscribed, team_id)),
            sleep=self._sleep,
            ca_file=ca_file,
            cert_sha256=cert_sha256,
        )
        self._thread = threading.Thread(target=self._run, name=f"kibitz-feed-{team_id}", daemon=True)

    def start(self) -> TeamFeed:
        """Start following in the background."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop handing on events (the thread ends at its next event or attempt)."""
        self._stopped.set()
        self._awake.set()

    def wake(self) -> None:
        """Try to connect again now instead of at the end of the current wait."""
        self._awake.set()

    def _sleep(self, seconds: float) -> None:
        self._awake.wait(seconds)
        self._awake.clear()
        if self._stopped.is_set():
            raise _Stopped

    def _status(self, message: str) -> None:
        if not self._stopped.is_set():
            self._call(self._on_trouble, message)

    def _call(self, callback: Callable[[V], None], value: V) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, value)
        except RuntimeError:
            self._stopped.set()  # the loop is closed: the server is going away

    def _run(self) -> None:
        try:
            for event in self._stream:
                if self._stopped.is_set():
                    return
                self._call(self._on_event, event)
        except _Stopped:
            return
        except KibitzError as error:
            if not self._stopped.is_set():
                self._call(self._on_final, error)
        except Exception:
            logger.exception("the event stream of team %s stopped", self.team_id)


class _Acknowledged(Backoff):
    """The stream's backoff, which is reset each time the server acknowledges a subscription: say so.

    Events committed before the first subscription are not replayed (the stream starts at the newest
    one), and a reconnection may follow a long outage: both are moments to read the codemarks again.
    """

    def __init__(self, on_reset: Callable[[], None]) -> None:
        super().__init__()
        self._on_reset = on_reset

    def reset(self) -> None:
        """Start the delays again from the shortest, and tell that the stream is subscribed."""
        super().reset()
        self._on_reset()


class _Stopped(Exception):
    """Raised inside the stream's wait to end a feed that was stopped."""
