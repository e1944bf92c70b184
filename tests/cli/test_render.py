"""How `kibitz ls` and `kibitz show` word locations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kibitz.cli.locating import MORE_WHY_TIME, Current
from kibitz.cli.render import code_diff, codemark_details, how_found, listing_line, percent
from kibitz.gitrepo import CommitInfo
from kibitz.locate import Placement, Why, WhyAction, WhyReason
from kibitz.whynote import why_note


def _entry(location: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "c1",
        "status": "open",
        "type": "question",
        "title": "Retry",
        "text": "",
        "author": "ada@example.com",
        "location": location,
        "recorded": {"path": "app.py", "start_line": 3, "end_line": 5},
    }


def test_an_unchanged_certain_block_is_shown_bare() -> None:
    line = listing_line(
        _entry({"path": "app.py", "start_line": 3, "end_line": 5, "status": "unchanged", "confidence": 1.0})
    )
    assert line == "c1  app.py:3-5  [open/question]  Retry  (ada@example.com)"


def test_other_statuses_carry_their_confidence() -> None:
    location = {"path": "lib.py", "start_line": 7, "end_line": 9, "status": "moved", "confidence": 0.876}
    assert "lib.py:7-9 (moved, 87%)" in listing_line(_entry(location))


def test_a_deleted_block_names_where_it_was_recorded() -> None:
    location = {"path": None, "start_line": None, "end_line": None, "status": "deleted", "confidence": 0.9}
    assert "  app.py:3-5 (deleted, 90%)  " in listing_line(_entry(location))


def test_confidence_is_never_rounded_up_to_certainty() -> None:
    assert percent(0.999) == "99%"
    assert how_found("unchanged", 0.999) == " (unchanged, 99%)"
    assert how_found("unchanged", 1.0) == ""


def test_code_diff() -> None:
    assert code_diff("a\nb\n", "a\nb\n") == []
    assert code_diff("a\nb\n", "a\nc\n") == ["--- recorded", "+++ now", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]


def test_a_block_the_engine_gave_up_on_says_so_where_it_was_recorded() -> None:
    location = {"path": None, "start_line": None, "end_line": None, "status": "too_large", "confidence": 0.0}
    line = listing_line(_entry(location))
    assert "  app.py:3-5 (too large to follow — shown where it was recorded)  " in line
    assert "0%" not in line


def test_show_explains_a_block_the_engine_gave_up_on() -> None:
    marker: Any = {
        "id": "m1",
        "path": "data.py",
        "start_line": 3,
        "end_line": 4,
        "commit": "1a2b3c4d5e6f7a8b9c0d",
        "provisional": False,
        "code": "x = 1\ny = 2\n",
    }
    codemark: Any = {
        "id": "c1",
        "status": "open",
        "type": "question",
        "title": "Why?",
        "author": {"name": "Ada", "email": "ada@example.com"},
        "created_at": "2026-03-10T14:05:00Z",
        "assignees": [],
        "tags": [],
        "markers": [marker],
        "text": "Why?",
    }
    current = Current(Placement.too_large("m1"), None)
    shown = codemark_details(codemark, [], {"m1": current}, "in the working tree")
    assert "now: not followed in the working tree (too large)" in shown
    assert "Kibitz gave up on this file rather than guess" in shown
    assert "`git log -L 3,4:data.py`" in shown
    assert "not found" not in shown


def test_the_commit_that_moved_a_block_is_worded_with_its_author_time_and_subject() -> None:
    when = dt.datetime(2026, 11, 3, 15, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    info = CommitInfo(
        "1a2b3c4d5e6f7a8b" + "0" * 24, "Alice", "alice@example.com", when, "Split the parser", (), 0
    )
    note = why_note(Why("moved", info), "f" * 40, 5.0)
    assert note is not None
    assert note.startswith("moved by 1a2b3c4d5e6f Alice, 2026-11-03 14:05 UTC (")
    assert note.endswith("): Split the parser")
    merge = CommitInfo(
        info.commit, "Bo", "bo@example.com", when, "Merge branch 'topic'", ("a" * 40, "b" * 40), 0
    )
    assert "moved by 1a2b3c4d5e6f (a merge) Bo, " in (why_note(Why("moved", merge), "f" * 40, 5.0) or "")


def test_no_commit_named_says_why() -> None:
    recorded = "f" * 40

    def note(reason: WhyReason, action: WhyAction | None = "changed") -> str | None:
        return why_note(Why(action, None, reason), recorded, 2.5, MORE_WHY_TIME)

    assert (
        note("time_limit") == "changed: the commit was not found within 2.5 s (--why-seconds gives more time)"
    )
    assert note("commit_missing") == "changed: no history to search: commit ffffffffffff is not in this clone"
    assert note("not_in_history") == (
        "changed: no commit to name: commit ffffffffffff is not in this history (another branch?)"
    )
    assert note("not_found", "deleted") == "deleted: no single commit since ffffffffffff did it"
    assert note("uncommitted", "moved") == "moved by uncommitted edits"
    # An unavailable block's own line says what to do; an unchanged one has nothing to explain.
    assert note("unavailable", None) is None
    assert why_note(None, recorded, 2.5) is None
    # Where there is no option to give it more time (an editor's hover), none is named.
    assert why_note(Why("changed", None, "time_limit"), recorded, 1) == (
        "changed: the commit was not found within 1 s"
    )
