"""A subscriber's place in a team's event log, and how long to wait before trying again. Pure.

The server numbers each team's events 1, 2, 3, … without gaps (docs/realtime.md). A subscriber that
remembers the last seq it handled can therefore tell every message apart: the next seq is delivered, an
older one is a duplicate to drop, and a newer one means something was missed, so the subscriber asks again
from where it is. Nothing here does I/O; ``kibitz.client._stream`` feeds it the messages.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

# Messages about the connection rather than the log.
CONTROL_TYPES = frozenset({"subscribed", "heartbeat", "pong", "error"})


class Verdict(enum.Enum):
    """What to do with one message of the stream."""

    DELIVER = "deliver"  # the next event: hand it on
    DUPLICATE = "duplicate"  # an event already handled: drop it
    GAP = "gap"  # events were missed: subscribe again from the position
    CONTROL = "control"  # not an event: subscribed, heartbeat, pong, error


@dataclass
class FeedPosition:
    """The highest seq handled so far (0 before the first event)."""

    last: int = 0

    def judge(self, message: Mapping[str, Any]) -> Verdict:
        """Classify a message and, for the next event, advance the position past it."""
        kind = message.get("type")
        seq = message.get("seq")
        if kind in CONTROL_TYPES:
            # A heartbeat names the last seq the server sent us; a higher one means we lost some.
            if kind == "heartbeat" and _is_seq(seq) and seq > self.last:
                return Verdict.GAP
            return Verdict.CONTROL
        if not _is_seq(seq) or not isinstance(kind, str):
            return Verdict.CONTROL
        if seq <= self.last:
            return Verdict.DUPLICATE
        if seq > self.last + 1:
            return Verdict.GAP
        self.last = seq
        return Verdict.DELIVER


def _is_seq(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass
class Backoff:
    """Delays between reconnection attempts: doubling from `initial` up to `maximum`, with jitter.

    The jitter (each delay drawn between half and all of its nominal value) keeps many clients that lost
    the same server from all coming back in the same instant.
    """

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    random: Callable[[], float] = field(default=random.random, repr=False)
    _attempts: int = 0

    def next_delay(self) -> float:
        """Return how long to wait before the next attempt, and count the attempt."""
        nominal = min(self.maximum, self.initial * self.factor**self._attempts)
        # Capped so that a server down for days cannot overflow the power.
        self._attempts = min(self._attempts + 1, 64)
        return nominal * (0.5 + 0.5 * self.random())

    def reset(self) -> None:
        """Start again from the shortest delay (after a connection that worked)."""
        self._attempts = 0
