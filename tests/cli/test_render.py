"""How `kibitz ls` and `kibitz show` word locations."""

from __future__ import annotations

from typing import Any

from kibitz.cli.locating import Current
from kibitz.cli.render import code_diff, codemark_details, how_found, listing_line, percent
from kibitz.locate import Placement


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
