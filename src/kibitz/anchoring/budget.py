"""How long the engine may work on one text pair before it gives up and says so (``too_large``).

Every step of the engine is bounded (a window of lines, a few seeds, a capped fallback), but a
50,000-line file rewritten throughout, or a thousand anchors in a tangled file, still add up. So
``relocate_many`` gives itself a budget of CPU time (of the calling thread, so that other processes
and threads cost it few answers) and the long loops count their work against it; once
it is spent, the anchor being answered and every later one that still needs more than the diff are
``too_large``. An answer is never guessed to save time: giving up is an answer of its own.

The budget is set for the duration of one call, in a context variable, so that the inner loops need
no extra parameter and two threads (an editor's language server) each keep their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# CPU seconds one ``relocate_many`` call may spend: the rest of a second goes to reading and
# splitting the files around it, so that no file pair takes more than a second in all.
SECONDS = 0.75
# Units of work (about one line looked at each) between two looks at the clock, which costs a few
# microseconds: often enough to stop within a few milliseconds of the deadline.
CLOCK_EVERY = 4_096


class OutOfTime(Exception):
    """The budget is spent: the engine gives up on the anchor it was answering."""


class Budget:
    """A deadline in CPU seconds of the calling thread, checked every so many units of work."""

    __slots__ = ("_deadline", "_units")

    def __init__(self, seconds: float | None) -> None:
        self._deadline = None if seconds is None else time.thread_time() + seconds
        self._units = 0

    def spend(self, units: int) -> None:
        """Count ``units`` of work; raise OutOfTime if the deadline has passed."""
        self._units += units
        if self._units >= CLOCK_EVERY:
            self._units = 0
            if self._deadline is not None and time.thread_time() > self._deadline:
                raise OutOfTime

    def check(self) -> None:
        """Raise OutOfTime if the deadline has passed (looks at the clock now)."""
        self.afford(0.0)

    def afford(self, seconds: float) -> None:
        """Raise OutOfTime unless ``seconds`` more of work would still end before the deadline."""
        self._units = 0
        if self._deadline is not None and time.thread_time() + seconds > self._deadline:
            raise OutOfTime


# None outside ``limited``: the engine's parts called directly (by tests) have no deadline.
_CURRENT: ContextVar[Budget | None] = ContextVar("kibitz_anchoring_budget", default=None)


def spend(units: int) -> None:
    """Count ``units`` of work against the current call's budget (see ``Budget.spend``)."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.spend(units)


def check() -> None:
    """Raise OutOfTime if the current call's budget is spent."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.check()


def afford(seconds: float) -> None:
    """Give up now on a step that cannot be interrupted and would end past the deadline."""
    budget = _CURRENT.get()
    if budget is not None:
        budget.afford(seconds)


@contextmanager
def limited(seconds: float | None) -> Iterator[Budget]:
    """Give the work done inside the block ``seconds`` of CPU time (None: no limit)."""
    budget = Budget(seconds)
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)
