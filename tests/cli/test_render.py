"""How `kibitz ls` and `kibitz show` word locations."""

from __future__ import annotations

from typing import Any

from kibitz.cli.render import code_diff, how_found, listing_line, percent


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
