"""Properties of the engine that must hold for every input, checked with Hypothesis."""

from __future__ import annotations

import itertools

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from kibitz.anchoring import Anchor, Location, Range, relocate, relocate_many
from kibitz.anchoring.candidates import CandidateTexts
from kibitz.anchoring.diff import diff_lines
from kibitz.anchoring.relocate import relocate_anchor, text_pair
from tests.anchoring.well_formed import check_location

# Texts full of the characters that break line handling: every kind of line break, BOMs, tabs.
awkward_text = st.text(alphabet=st.sampled_from("ab \t\n\r\ufeff(){}:x\u2028\x0c"), max_size=80) | st.text(
    max_size=60
)
# Line numbers far outside any text, and reversed ranges.
line_number = st.integers(min_value=-3, max_value=40) | st.integers(min_value=-(10**18), max_value=10**18)
# Code-like lines from a small vocabulary, so that texts repeat lines the way real code does.
code_line = st.sampled_from(
    [
        "",
        "    pass",
        "    return None",
        "def f(self):",
        "def __init__(self):",
        "class A:",
        "    x = 1",
        "        y = x + 1",
        ")",
        "}",
        "    # comment",
        "import os",
    ]
)
code_lines = st.lists(code_line, max_size=30)
# Lines that occur nowhere else: inserting lines equal to their neighbours is ambiguous (is the
# new blank line the one above or the one below?), for any diff.
new_lines = st.lists(st.integers(0, 99).map(lambda n: f"inserted_{n}()"), min_size=1, max_size=10)


def _text(lines: list[str]) -> str:
    """Return the text of ``lines``, each ended by a newline (so that blank lines count)."""
    return "".join(line + "\n" for line in lines)


def _unguarded(old_text: str, new_text: str, anchor: Anchor, candidates: tuple[str, ...] = ()) -> Location:
    """Relocate without relocate_many's last-resort guard, so that any exception fails the test."""
    return relocate_anchor(text_pair(old_text, new_text), anchor, CandidateTexts(candidates))


@given(awkward_text, awkward_text, line_number, line_number, st.none() | awkward_text, awkward_text)
@example("", "", 1, 1, None, "")
@example("a\n", "", 0, 10**18, "a", "")
@example("\ufeffa\r\nb\rc", "a\nb\nc\n", 3, 1, "b", "c")
def test_never_raises_and_stays_within_bounds(
    old_text: str, new_text: str, start: int, end: int, code: str | None, candidate: str
) -> None:
    anchor = Anchor(Range(start, end), code=code, context_before="a", context_after="b")
    location = _unguarded(old_text, new_text, anchor, (candidate,))
    check_location(location, new_text, (candidate,))


@given(code_lines, code_lines, line_number, line_number, st.none() | code_lines)
def test_code_like_edits_never_raise_and_stay_within_bounds(
    old: list[str], new: list[str], start: int, end: int, code: list[str] | None
) -> None:
    old_text, new_text = _text(old), _text(new)
    anchor = Anchor(Range(start, end), code=None if code is None else _text(code))
    location = _unguarded(old_text, new_text, anchor, (old_text,))
    check_location(location, new_text, (old_text,))


@given(code_lines, code_lines)
def test_the_diff_matches_equal_lines_in_order(old: list[str], new: list[str]) -> None:
    keys_old = ["".join(line.split()) for line in old]
    keys_new = ["".join(line.split()) for line in new]
    matching = diff_lines(keys_old, keys_new)
    pairs = [(i, j) for i, j in enumerate(matching.old_to_new) if j >= 0]
    assert all(keys_old[i] == keys_new[j] for i, j in pairs)
    assert all(a[1] < b[1] for a, b in itertools.pairwise(pairs))
    assert all(matching.new_to_old[j] == i for i, j in pairs)
    # Every unmatched line belongs to exactly one hunk.
    in_hunks = sum(hunk.old_end - hunk.old_start for hunk in matching.hunks)
    assert in_hunks == len(old) - len(pairs)
    assert matching.unmatched_before[-1] == len(old) - len(pairs)
    # The old lines' index, given by a caller that keeps it, changes nothing.
    index: dict[str, list[int]] = {}
    for position, key in enumerate(keys_old):
        index.setdefault(key, []).append(position)
    assert diff_lines(keys_old, keys_new, index).old_to_new == matching.old_to_new


@given(code_lines.filter(bool), st.data())
def test_identity_is_unchanged(lines: list[str], data: st.DataObject) -> None:
    text = _text(lines)
    start = data.draw(st.integers(1, len(lines)))
    end = data.draw(st.integers(start, len(lines)))
    assert relocate(text, text, Range(start, end)) == Location(Range(start, end), "unchanged", 1.0)


@given(code_lines.filter(bool), new_lines, st.data())
def test_lines_inserted_above_shift_the_range_by_their_number(
    lines: list[str], inserted: list[str], data: st.DataObject
) -> None:
    start = data.draw(st.integers(1, len(lines)))
    end = data.draw(st.integers(start, len(lines)))
    at = data.draw(st.integers(0, start - 1))
    new = lines[:at] + inserted + lines[at:]
    location = relocate(_text(lines), _text(new), Range(start, end))
    assert location.status == "shifted"
    assert location.range == Range(start + len(inserted), end + len(inserted))


@given(code_lines.filter(bool), new_lines, st.data())
def test_lines_inserted_below_leave_the_range_unchanged(
    lines: list[str], inserted: list[str], data: st.DataObject
) -> None:
    start = data.draw(st.integers(1, len(lines)))
    end = data.draw(st.integers(start, len(lines)))
    at = data.draw(st.integers(end, len(lines)))
    # (Lines indented deeper than a block's header would extend the block: its body grew.)
    new = lines[:at] + inserted + lines[at:]
    location = relocate(_text(lines), _text(new), Range(start, end))
    assert location == Location(Range(start, end), "unchanged", 1.0)


@given(code_lines.filter(bool), st.booleans(), st.data())
def test_crlf_and_bom_do_not_change_anything(lines: list[str], bom: bool, data: st.DataObject) -> None:
    start = data.draw(st.integers(1, len(lines)))
    end = data.draw(st.integers(start, len(lines)))
    lf = _text(lines)
    crlf = ("\ufeff" if bom else "") + lf.replace("\n", "\r\n")
    expected = Location(Range(start, end), "unchanged", 1.0)
    assert relocate(lf, crlf, Range(start, end)) == expected
    assert relocate(crlf, lf, Range(start, end)) == expected


# Distinctive lines: every line of these files is unique, as most lines of real code are.
distinct_lines = st.lists(st.integers(0, 10_000), min_size=4, max_size=40, unique=True).map(
    lambda numbers: [f"    result_{n} = compute_value_{n}(alpha, beta)" for n in numbers]
)


@given(distinct_lines, st.data())
@settings(max_examples=200)
def test_a_block_cut_and_pasted_elsewhere_is_found_there(lines: list[str], data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(lines) - 1))
    size = data.draw(st.integers(1, min(6, len(lines) - start)))
    block, rest = lines[start : start + size], lines[:start] + lines[start + size :]
    assume(rest)
    at = data.draw(st.integers(0, len(rest)))
    assume(at != start)
    new = rest[:at] + block + rest[at:]
    location = relocate(_text(lines), _text(new), Range(start + 1, start + size))
    assert location.range == Range(at + 1, at + size)
    # A diff cannot tell "the block went down past three lines" from "three lines went up past the
    # block": when the block is the longer side it stays matched and merely shifts.
    jumped = abs(at - start)
    assert location.status == ("moved" if jumped > size else location.status)
    assert location.status in ("moved", "shifted")


@given(distinct_lines, st.lists(st.integers(20_000, 30_000), max_size=20, unique=True), st.data())
@settings(max_examples=200)
def test_a_block_moved_into_a_candidate_file_is_found_there(
    lines: list[str], others: list[int], data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(lines) - 1))
    size = data.draw(st.integers(1, min(6, len(lines) - start)))
    block, rest = lines[start : start + size], lines[:start] + lines[start + size :]
    other = [f"other_{n} = {n}" for n in others]
    at = data.draw(st.integers(0, len(other)))
    candidate = _text(other[:at] + block + other[at:])
    unrelated = _text([f"unrelated_{n}()" for n in range(5)])
    location = relocate(
        _text(lines), _text(rest), Range(start + 1, start + size), candidates=(unrelated, candidate)
    )
    assert location == Location(Range(at + 1, at + size), "moved", location.confidence, candidate=1)
    assert location.confidence >= 0.5


@given(code_lines, code_lines, st.lists(st.tuples(line_number, line_number), max_size=8))
def test_relocate_many_agrees_with_relocate(
    old: list[str], new: list[str], ranges: list[tuple[int, int]]
) -> None:
    old_text, new_text = _text(old), _text(new)
    many = relocate_many(old_text, new_text, [Range(a, b) for a, b in ranges])
    assert many == [relocate(old_text, new_text, Range(a, b)) for a, b in ranges]
