"""Relative times as the pages show them: past ones ("3 days ago") and future ones such as expiries."""

from __future__ import annotations

import datetime as dt

import pytest

from kibitz.server.web.render import relative_time, time_tag

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "just now"),
        (44, "just now"),
        (-44, "just now"),
        (60, "1 minute ago"),
        (5 * 60, "5 minutes ago"),
        (3599, "1 hour ago"),
        (3 * 3600 + 59, "3 hours ago"),
        (86400, "1 day ago"),
        (45 * 86400, "1 month ago"),
        (800 * 86400, "2 years ago"),
        (-5 * 60, "in 5 minutes"),
        (-3599, "in 1 hour"),
        (-2 * 86400, "in 2 days"),
        (-90 * 86400, "in 3 months"),
    ],
)
def test_relative_time_says_past_and_future(seconds: int, said: str) -> None:
    assert relative_time(NOW - dt.timedelta(seconds=seconds), NOW) == said


def test_time_tag_gives_the_exact_time_on_hover() -> None:
    tag = str(time_tag(NOW + dt.timedelta(days=7), NOW))
    assert tag == (
        '<time datetime="2026-05-08T12:00:00+00:00" title="2026-05-08 12:00:00 UTC">in 7 days</time>'
    )
