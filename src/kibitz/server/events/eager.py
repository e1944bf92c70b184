"""Run a coroutine at once as far as it goes without waiting, and finish it later in a task if it had to wait.

This is what Python 3.12's eager tasks do, for one coroutine, on 3.11: the feed's reader hands a frame to
every idle socket without a task switch per subscriber, and only a socket that cannot take the frame now (its
transport paused because the peer stopped reading) costs anything more — its own subscriber task finishes the
send, while the reader goes on to the next socket.
"""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from dataclasses import dataclass
from typing import Any


@dataclass(eq=False)
class Suspended:
    """A coroutine that `step` started and that is waiting on `waiting_on` (what it yielded to the loop)."""

    coro: Coroutine[Any, Any, Any]
    waiting_on: Any


def step(coro: Coroutine[Any, Any, Any]) -> Suspended | None:
    """Run `coro` until it returns (None) or has to wait (the Suspended rest); its exceptions propagate."""
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return None
    return Suspended(coro, waiting_on)


@types.coroutine
def finish(suspended: Suspended) -> Generator[Any, Any, None]:
    """Await the rest of a coroutine that `step` left waiting, inside the calling task."""
    coro, waiting_on = suspended.coro, suspended.waiting_on
    while True:
        try:
            # The task waits on the very future the coroutine yielded, then resumes the coroutine.
            sent = yield waiting_on
        except BaseException as exc:  # cancellation and timeouts reach the coroutine where it waits
            try:
                waiting_on = coro.throw(exc)
            except StopIteration:
                return
            continue
        try:
            waiting_on = coro.send(sent)
        except StopIteration:
            return
