"""The stand-in location rule of `kibitz ls`: unchanged, shifted (found once), else unknown."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kibitz.cli.location import Location, locate, split_lines

FILE = "a\nb\nc\nd\ne\nf\n"


def test_same_lines_are_unchanged() -> None:
    assert locate("c\nd\n", FILE, 3, 4) == Location(3, 4, "unchanged")


def test_code_moved_down_is_shifted() -> None:
    assert locate("c\nd\n", "new\n" + FILE, 3, 4) == Location(4, 5, "shifted")


def test_code_found_twice_elsewhere_is_unknown() -> None:
    assert locate("c\nd\n", "x\nc\nd\nc\nd\n", 1, 2) == Location(1, 2, "unknown")


def test_code_gone_is_unknown_at_the_recorded_range() -> None:
    assert locate("c\nd\n", "a\nb\nC\nd\n", 3, 4) == Location(3, 4, "unknown")


def test_missing_file_is_unknown() -> None:
    assert locate("c\n", None, 3, 3) == Location(3, 3, "unknown")


def test_range_past_the_end_of_a_shorter_file() -> None:
    assert locate("e\nf\n", "a\nb\n", 5, 6) == Location(5, 6, "unknown")
    assert locate("b\n", "b\n", 5, 5) == Location(1, 1, "shifted")


def test_line_endings_do_not_matter() -> None:
    assert locate("c\nd\n", FILE.replace("\n", "\r\n"), 3, 4) == Location(3, 4, "unchanged")
    assert locate("c\nd", FILE, 3, 4) == Location(3, 4, "unchanged")


def test_split_lines_counts_like_git() -> None:
    assert split_lines("") == []
    assert split_lines("a") == ["a"]
    assert split_lines("a\n") == ["a"]
    assert split_lines("a\n\n") == ["a", ""]
    # Form feeds and Unicode separators are not line breaks for git.
    assert split_lines("a\x0cb\u2028c\n") == ["a\x0cb\u2028c"]


@given(st.text(), st.text(), st.integers(-5, 50), st.integers(-5, 50))
def test_never_raises_and_stays_in_bounds(code: str, text: str, start: int, end: int) -> None:
    location = locate(code, text, start, end)
    if location.status == "shifted":
        lines = split_lines(text)
        assert 1 <= location.start_line <= location.end_line <= len(lines)
        assert lines[location.start_line - 1 : location.end_line] == split_lines(code)
    else:
        assert (location.start_line, location.end_line) == (start, end)
