"""Pure helpers: lines as git counts them, code comparison, statuses, search clues."""

from __future__ import annotations

from kibitz.client import Marker
from kibitz.locate._blocks import block_of, clues, judge, same_code, split_lines

MARKER: Marker = {
    "id": "m1",
    "repo_id": "r1",
    "path": "app.py",
    "commit": "a" * 40,
    "start_line": 3,
    "end_line": 4,
    "code": "x = 1\ny = 2\n",
    "context_before": "",
    "context_after": "",
    "provisional": False,
    "references": [],
    "code_free": False,
}


def test_split_lines_counts_like_git() -> None:
    assert split_lines("") == []
    assert split_lines("a") == ["a"]
    assert split_lines("a\n") == ["a"]
    assert split_lines("a\n\n") == ["a", ""]
    assert split_lines("\ufeffa\r\nb\rc\n") == ["a", "b", "c"]
    # Form feeds and Unicode separators are not line breaks for git.
    assert split_lines("a\x0cb\u2028c\n") == ["a\x0cb\u2028c"]


def test_block_of() -> None:
    assert block_of("a\nb\nc\n", 2, 3) == "b\nc\n"
    assert block_of("a\nb", 2, 9) == "b\n"


def test_same_code_ignores_whitespace_and_line_endings_only() -> None:
    assert same_code("x = 1\r\n  y=2\n", "x=1\ny = 2")
    assert not same_code("x = 1\n", "x = 2\n")
    assert not same_code("x = 1\n", "x = 1\n\n")


def test_judge() -> None:
    assert judge(MARKER, "app.py", 3, 4, "x = 1\ny = 2\n", moved=False) == "unchanged"
    assert judge(MARKER, "app.py", 5, 6, "x = 1\ny = 2\n", moved=False) == "shifted"
    # A renamed file holding the same code at the same lines: the block is elsewhere, unedited.
    assert judge(MARKER, "new.py", 3, 4, "x = 1\ny = 2\n", moved=False) == "shifted"
    assert judge(MARKER, "app.py", 3, 4, "x = 1\ny = 3\n", moved=False) == "changed"
    assert judge(MARKER, "app.py", 3, 4, "x = 1\ny = 2\n", moved=True) == "moved"


def test_clues_are_the_longest_distinct_lines() -> None:
    code = (
        "def compute_total(items):\n    total = 0\n"
        "    for item in items:\n        total += item.price\n    return total\n"
    )
    assert clues(code, 2) == ["def compute_total(items):", "total += item.price"]
    # Short lines say nothing about where a block is.
    assert clues("}\n)\nx = 1\n") == []


def test_a_provisional_markers_lines_are_only_a_guess() -> None:
    provisional: Marker = {**MARKER, "provisional": True}
    assert judge(provisional, "app.py", 9, 10, "x = 1\ny = 2\n", moved=True) == "unchanged"
    assert judge(provisional, "app.py", 9, 10, "x = 1\ny = 3\n", moved=False) == "changed"
    assert judge(provisional, "lib.py", 9, 10, "x = 1\ny = 2\n", moved=True) == "moved"
