"""The one way Kibitz shows a time to a person: ``2026-03-01 14:05 UTC (3 hours ago)``. Pure.

The CLI prints it; the language server writes it into hovers.

Every time the server sends is UTC; showing it in UTC with the zone named keeps two teammates in two time
zones quoting the same words, and the relative part says at a glance how old it is. ``--json`` keeps the
server's ISO 8601 times.
"""

from __future__ import annotations

import datetime as dt

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
# (largest age shown in this unit, seconds in the unit, the unit's name)
_UNITS = (
    (_HOUR, _MINUTE, "minute"),
    (_DAY, _HOUR, "hour"),
    (60 * _DAY, _DAY, "day"),
    (730 * _DAY, 30 * _DAY, "month"),
)


def _parse(at: str | dt.datetime) -> dt.datetime | None:
    if isinstance(at, dt.datetime):
        when = at
    else:
        try:
            when = dt.datetime.fromisoformat(at)
        except ValueError:
            return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def relative(when: dt.datetime, now: dt.datetime) -> str:
    """Return how long ago (or in how long) ``when`` is: ``just now``, ``5 minutes ago``, ``in 3 days``."""
    seconds = (now - when).total_seconds()
    ahead, seconds = seconds < 0, abs(seconds)
    if seconds < _MINUTE:
        return "in less than a minute" if ahead else "just now"
    count, unit = int(seconds // (365 * _DAY)), "year"
    for limit, size, name in _UNITS:
        if seconds < limit:
            count, unit = int(seconds // size), name
            break
    words = f"{count} {unit}{'' if count == 1 else 's'}"
    return f"in {words}" if ahead else f"{words} ago"


def timestamp(at: str | dt.datetime | None, now: dt.datetime | None = None) -> str:
    """Return ``2026-03-01 14:05 UTC (3 hours ago)`` for a time; text that is no time is returned as it is."""
    if at is None or at == "":
        return "never"
    when = _parse(at)
    if when is None:
        return str(at)
    now = now if now is not None else dt.datetime.now(dt.UTC)
    utc = when.astimezone(dt.UTC)
    return f"{utc:%Y-%m-%d %H:%M} UTC ({relative(utc, now)})"
