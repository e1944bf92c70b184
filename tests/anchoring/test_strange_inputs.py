"""Large and strange inputs: the engine answers every file pair within a second, never raises, and gives up
(``too_large``) rather than guess.

Hypothesis draws file shapes that break naive line handling (minified lines, generated near-identical rows,
mixed line endings, tabs against spaces, bytes that were not UTF-8) and random edits of them; a few fixed
large cases (50,000 lines, a 500 KB line, a module split into ten files) check the answers, not just their
form. Time is the CPU time of this thread, which other processes on a busy machine barely change.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kibitz.anchoring import Anchor, Location, Range, relocate, relocate_many
from kibitz.anchoring.diff import diff_lines
from kibitz.anchoring.relocate import MAX_TEXT_CHARS
from tests.anchoring.well_formed import check_location

# No file pair may take longer than this, in CPU seconds, whatever its shape.
BOUND = 1.0


def _timed(call: Callable[[], list[Location]]) -> tuple[float, list[Location]]:
    """Return the CPU seconds of this thread a call took, and its answers."""
    began = time.thread_time()
    answers = call()
    return time.thread_time() - began, answers


def _within_a_second(
    old_text: str, new_text: str, anchors: list[Range], candidates: tuple[str, ...] = ()
) -> list[Location]:
    """Relocate with the default budget within the bound; return the answers without a budget.

    On a busy machine the budget may run out before every block is answered: those blocks must be
    ``too_large``, never somewhere else.
    """
    spent, answers = _timed(lambda: relocate_many(old_text, new_text, anchors, candidates=candidates))
    assert spent < BOUND
    unbounded = relocate_many(old_text, new_text, anchors, candidates=candidates, budget=None)
    for answer, full in zip(answers, unbounded, strict=True):
        assert answer == full or answer == Location(None, "too_large", 0.0)
    return unbounded


# -- shapes of files ---------------------------------------------------------------------------------


def _python(rng: random.Random, lines: int) -> list[str]:
    """Return a module of functions mixing distinctive statements and boilerplate."""
    out: list[str] = []
    number = 0
    while len(out) < lines:
        out.append(f"def function_{number}(value, option_{rng.randint(0, 99)}=None):")
        for _ in range(rng.randint(4, 12)):
            if rng.random() < 0.3:
                out.append(
                    rng.choice(["    if value is None:", "        return None", "    result = []", ""])
                )
            else:
                out.append(f"    v{rng.randint(0, 999)} = compute_{rng.randint(0, 9999)}(value)")
        out.extend([f"    return function_{number}_result", "", ""])
        number += 1
    return out[:lines]


def _minified(rng: random.Random, lines: int, statements: int = 400) -> list[str]:
    """Return a few very long lines of minified JavaScript."""
    return [
        "".join(
            f"var a{rng.randint(0, 99999)}=function(b){{return b*{k}+c{k % 97}}};" for k in range(statements)
        )
        for _ in range(lines)
    ]


def _generated(rng: random.Random, lines: int) -> list[str]:
    """Return rows of a generated table: near-identical lines, many exactly repeated."""
    period = rng.choice([1, 2, 4, 7])
    return [f"    0x{k % period:02x}, 0x00, 0x{(k // 50) % 3:02x}, 0x00," for k in range(lines)]


def _garbled(rng: random.Random, lines: int) -> list[str]:
    """Return lines of Latin-1 and random bytes decoded as UTF-8 with replacement, as the client does."""
    raw = b"\n".join(
        bytes(
            rng.choice([rng.randrange(256), 0xE9, 0x0D, 0x09, 0x00, 0x61]) for _ in range(rng.randint(0, 30))
        )
        for _ in range(lines)
    )
    return raw.decode("utf-8", "replace").split("\n")


SHAPES = {"python": _python, "minified": _minified, "generated": _generated, "garbled": _garbled}


def _edit(rng: random.Random, lines: list[str], kind: str) -> list[str]:
    """Return ``lines`` after one edit of the given kind at a random place."""
    lines = list(lines)
    if not lines:
        return ["added()"]
    at = rng.randrange(len(lines))
    size = rng.randint(1, max(1, len(lines) // 10))
    if kind == "insert":
        lines[at:at] = [f"    inserted_{rng.randint(0, 9)}()" for _ in range(size)]
    elif kind == "delete":
        del lines[at : at + size]
    elif kind == "replace":
        lines[at] = lines[at][: len(lines[at]) // 2] + "changed" + lines[at][len(lines[at]) // 2 :]
    elif kind == "duplicate":
        lines[at:at] = lines[at : at + size]
    elif kind == "move":
        block = lines[at : at + size]
        del lines[at : at + size]
        target = rng.randint(0, len(lines))
        lines[target:target] = block
    elif kind == "reindent":
        lines = [line.replace("    ", "\t") for line in lines]
    return lines


def _join(lines: list[str], rng: random.Random, endings: str) -> str:
    """Return the text of ``lines`` with LF, CRLF, CR or a mix of them as line endings."""
    if endings == "mixed":
        return "".join(line + rng.choice(["\n", "\r\n", "\r"]) for line in lines)
    ending = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}[endings]
    return "".join(line + ending for line in lines)


@given(
    shape=st.sampled_from(sorted(SHAPES)),
    size=st.integers(0, 3_000),
    seed=st.integers(0, 2**16),
    edits=st.lists(
        st.sampled_from(["insert", "delete", "replace", "duplicate", "move", "reindent"]), max_size=4
    ),
    endings=st.tuples(*[st.sampled_from(["lf", "crlf", "cr", "mixed"])] * 2),
    spans=st.lists(st.tuples(st.integers(-2, 3_100), st.integers(0, 40)), min_size=1, max_size=6),
    split=st.booleans(),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_strange_files_edited_at_random_get_valid_answers_within_a_second(
    shape: str,
    size: int,
    seed: int,
    edits: list[str],
    endings: tuple[str, str],
    spans: list[tuple[int, int]],
    split: bool,
) -> None:
    rng = random.Random(seed)
    # Minified files are a few very long lines, not thousands of them.
    old_lines = SHAPES[shape](rng, size if shape != "minified" else size % 4)
    new_lines = old_lines
    for kind in edits:
        new_lines = _edit(rng, new_lines, kind)
    candidates: tuple[str, ...] = ()
    if split and len(new_lines) > 10:
        # Part of the file went into other files.
        cut = sorted(rng.sample(range(len(new_lines)), 3))
        candidates = tuple(_join(new_lines[a:b], rng, "lf") for a, b in itertools.pairwise(cut))
        new_lines = new_lines[: cut[0]] + new_lines[cut[-1] :]
    old_text, new_text = _join(old_lines, rng, endings[0]), _join(new_lines, rng, endings[1])
    anchors = [Range(start, start + length) for start, length in spans]

    spent, answers = _timed(lambda: relocate_many(old_text, new_text, anchors, candidates=candidates))
    assert spent < BOUND
    for answer in answers:
        check_location(answer, new_text, candidates)


@given(
    seed=st.integers(0, 2**16),
    vocabulary=st.sampled_from([1, 3, 20, 500]),
    unique_share=st.sampled_from([0.0, 0.05, 0.5, 1.0]),
    edits=st.lists(st.sampled_from(["insert", "delete", "replace", "duplicate", "move"]), max_size=6),
)
@settings(max_examples=12, deadline=None)
def test_the_diff_of_large_regions_matches_equal_lines_in_order(
    seed: int, vocabulary: int, unique_share: float, edits: list[str]
) -> None:
    # Regions above LARGE_REGION lines take the unique-line cut, and common rows the runs of rows.
    rng = random.Random(seed)
    old = [
        f"unique_{k}" if rng.random() < unique_share else f"row_{rng.randrange(vocabulary)}"
        for k in range(rng.randint(5_001, 6_500))
    ]
    new = old
    for kind in edits:
        new = _edit(rng, new, kind)
    matching = diff_lines(old, new)
    pairs = [(i, j) for i, j in enumerate(matching.old_to_new) if j >= 0]
    assert all(old[i] == new[j] and matching.new_to_old[j] == i for i, j in pairs)
    assert all(a[1] < b[1] for a, b in itertools.pairwise(pairs))
    assert sum(j >= 0 for j in matching.new_to_old) == len(pairs)
    # What is left unresolved was left unmatched, and is never where nothing changed.
    for span in matching.unresolved:
        assert all(matching.old_to_new[i] < 0 for i in span)
    if old == new:
        assert len(pairs) == len(old)


# -- fixed large cases -------------------------------------------------------------------------------


def _text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def test_fifty_thousand_lines_edited_here_and_there() -> None:
    rng = random.Random(1)
    old = _python(rng, 50_000)
    new = list(old)
    # Lines inserted at known places: every anchor's true place is known.
    inserts = sorted(rng.sample(range(50_000), 20), reverse=True)
    for at in inserts:
        new[at:at] = [f"    inserted_{at} = prepare(value)"]
    starts = sorted(rng.sample(range(1, 49_990), 100))
    anchors = [Range(start, start + 3) for start in starts]
    answers = _within_a_second(_text(old), _text(new), anchors)
    for anchor, answer in zip(anchors, answers, strict=True):
        below = sum(1 for at in inserts if at < anchor.start_line)
        inside = sum(1 for at in inserts if anchor.start_line <= at < anchor.end_line)
        expected = Range(anchor.start_line + below, anchor.end_line + below + inside)
        assert answer.range == expected, (anchor, answer)


def test_fifty_thousand_lines_rewritten_throughout_are_answered_or_given_up_within_a_second() -> None:
    rng = random.Random(2)
    old = _python(rng, 50_000)
    functions: list[list[str]] = []
    for line in old:
        if line.startswith("def ") or not functions:
            functions.append([])
        functions[-1].append(line.replace("compute_", "compute2_"))
    rng.shuffle(functions)
    new_text = _text([line for function in functions for line in function])
    anchors = [Range(start, start + 5) for start in range(1, 50_000, 500)]
    spent, answers = _timed(lambda: relocate_many(_text(old), new_text, anchors))
    assert spent < BOUND
    for answer in answers:
        check_location(answer, new_text)


def test_a_half_megabyte_minified_line_edited_in_the_middle_is_changed_in_place() -> None:
    rng = random.Random(3)
    [line] = _minified(rng, 1, 13_000)
    assert len(line) > 500_000
    edited = line[:250_000] + "var inserted=1;" + line[250_000:]
    spent, answers = _timed(lambda: relocate_many(line, edited, [Range(1, 1)]))
    assert spent < BOUND
    assert answers == [Location(Range(1, 1), "changed", answers[0].confidence)]
    # Pretty-printed into thousands of lines, and back: an answer, not an exception or a long wait.
    pretty = line.replace(";", ";\n")
    spent, answers = _timed(lambda: relocate_many(line, pretty, [Range(1, 1)]))
    assert spent < BOUND
    check_location(answers[0], pretty)
    spent, answers = _timed(lambda: relocate_many(pretty, line, [Range(k, k) for k in range(1, 20_000, 400)]))
    assert spent < BOUND
    for answer in answers:
        check_location(answer, line)


def test_a_generated_table_with_rows_inserted_is_followed_exactly() -> None:
    rng = random.Random(4)
    vocabulary = [f"    0x{k:02x}, 0x{k + 1:02x}, 0x{k + 2:02x}," for k in range(20)]
    rows = [rng.choice(vocabulary) for _ in range(20_000)]
    # Every row repeats a thousand times: only runs of rows tell where a block went.
    new = rows[:50] + [rng.choice(vocabulary) for _ in range(100)] + rows[50:19_950] + rows[19_951:]
    anchors = [Range(start, start + 2) for start in range(100, 19_900, 450)]
    answers = _within_a_second(_text(rows), _text(new), anchors)
    assert [answer.range for answer in answers] == [
        Range(anchor.start_line + 100, anchor.end_line + 100) for anchor in anchors
    ]


def test_a_periodic_table_edited_at_both_ends_is_given_up_not_guessed() -> None:
    rows = [f"    0x{k % 4:02x}, 0x00," for k in range(5_000)]
    new = [*rows[:2], "    0xff,", *rows[2:4_990], "    0xee,", *rows[4_991:]]
    answers = relocate_many(_text(rows), _text(new), [Range(2_500, 2_502), Range(1, 2), Range(4_999, 5_000)])
    assert answers[0] == Location(None, "too_large", 0.0)
    # What the diff matched around the edits is still answered.
    assert answers[1] == Location(Range(1, 2), "unchanged", 1.0)
    assert answers[2] == Location(Range(5_000, 5_001), "shifted", 1.0)


def test_line_endings_and_tabs_do_not_change_the_answers() -> None:
    rng = random.Random(5)
    old = _python(rng, 10_000)
    new = [f"    added_{k} = 1" for k in range(3)] + old
    anchors = [Range(start, start + 4) for start in range(1, 9_990, 333)]
    expected = relocate_many(_text(old), _text(new), anchors, budget=None)
    assert {answer.status for answer in expected} == {"shifted"}
    # (A lone CR before an empty line would make a CRLF: mixing CR with LF is ambiguous for any reader.)
    mixed = "".join(line + ("\r\n", "\n")[k % 2] for k, line in enumerate(new))
    tabs = _text([line.replace("    ", "\t") for line in new])
    for new_text in (_text(new).replace("\n", "\r\n"), _text(new).replace("\n", "\r"), mixed, tabs):
        assert _within_a_second(_text(old), new_text, anchors) == expected


def test_bytes_that_were_not_utf8_still_relocate() -> None:
    # A Latin-1 file read as the client reads it: undecodable bytes become U+FFFD, the same in both versions.
    old = "caf\xe9 = 1\nna\xefve = 2\nr\xe9sum\xe9()\n".encode("latin-1").decode("utf-8", "replace")
    new = "# en-t\xeate\n".encode("latin-1").decode("utf-8", "replace") + old
    assert relocate(old, new, Range(2, 3)) == Location(Range(3, 4), "shifted", 1.0)


def test_a_module_split_into_ten_files_is_followed_into_each() -> None:
    rng = random.Random(6)
    old = _python(rng, 5_000)
    starts = [k for k, line in enumerate(old) if line.startswith("def ")]
    cuts = [starts[k * len(starts) // 10] for k in range(10)] + [len(old)]
    parts = [old[a:b] for a, b in itertools.pairwise(cuts)]
    # The first part stays, with an import of the others; the nine others are new files.
    new_text = _text(["from .parts import *", "", *parts[0]])
    candidates = tuple(_text(["import os", "", *part]) for part in parts[1:])
    anchors = [Range(start + 1, start + 3) for start in starts[::5]]
    answers = _within_a_second(_text(old), new_text, anchors, candidates)
    for anchor, answer in zip(anchors, answers, strict=True):
        part = next(k for k in range(10) if cuts[k] < anchor.start_line <= cuts[k + 1])
        if part == 0:
            assert (answer.range, answer.candidate) == (
                Range(anchor.start_line + 2, anchor.end_line + 2),
                None,
            )
        else:
            shift = 2 - cuts[part]
            expected = Range(anchor.start_line + shift, anchor.end_line + shift)
            assert (answer.status, answer.candidate, answer.range) == ("moved", part - 1, expected), anchor


def test_with_no_time_left_only_the_diff_answers_and_the_rest_is_given_up() -> None:
    rng = random.Random(7)
    old = _python(rng, 2_000)
    new = list(old)
    new[1_000] = "    something = else_entirely()"
    anchors = [Range(10, 12), Range(999, 1_003)]
    assert relocate_many(_text(old), _text(new), anchors, budget=0.0) == [
        Location(Range(10, 12), "unchanged", 1.0),
        Location(None, "too_large", 0.0),
    ]
    # With time, the edited block is found in place.
    assert relocate_many(_text(old), _text(new), anchors)[1].status == "changed"


def test_a_text_beyond_the_size_bound_is_given_up_at_once() -> None:
    huge = "x = 1\n" * (MAX_TEXT_CHARS // 6 + 1)
    spent, answers = _timed(lambda: relocate_many(huge, huge + "y = 2\n", [Range(1, 1), Anchor(Range(5, 6))]))
    assert spent < 0.1
    assert answers == [Location(None, "too_large", 0.0)] * 2
