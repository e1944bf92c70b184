"""The pure part of naming the commit that made a block what it is: the search, the names, the states."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from kibitz.gitrepo import ChainCommit, FileChange
from kibitz.locate._blocks import line_key, split_lines
from kibitz.locate._model import Placement
from kibitz.locate._why import (
    Chain,
    Question,
    State,
    action_of,
    already_so,
    find_boundary,
    follow_backward,
    follow_forward,
    keyed,
    surely_not_so,
    surely_so,
)
from tests.locate.conftest import as_stored


def _search(answers: list[bool]) -> tuple[int, list[int]]:
    """Run the search over known answers (the last must be true); return its result and what it asked."""
    asked: list[int] = []
    search = find_boundary(len(answers))
    try:
        position = next(search)
        while True:
            asked.append(position)
            position = search.send(answers[position])
    except StopIteration as stop:
        return stop.value, asked


@given(st.integers(min_value=1, max_value=2000), st.data())
def test_the_search_finds_the_turning_point_in_few_steps(count: int, data: st.DataObject) -> None:
    turn = data.draw(st.integers(min_value=0, max_value=count - 1))
    found, asked = _search([position >= turn for position in range(count)])
    assert found == turn
    assert len(asked) <= 2 * math.ceil(math.log2(count + 1)) + 1
    # The newest commit is known to be as things are now: it is never asked about.
    assert count - 1 not in asked


@given(st.lists(st.booleans(), min_size=1, max_size=300))
def test_whatever_the_answers_the_search_returns_a_turning_point(answers: list[bool]) -> None:
    answers[-1] = True
    found, _ = _search(answers)
    assert answers[found]
    assert found == 0 or not answers[found - 1]


def _chain(*changes: tuple[FileChange, ...]) -> Chain:
    """Return a chain of commits c0, c1, … (oldest first) making the given changes."""
    commits = [ChainCommit(f"c{index}", (), index, change) for index, change in enumerate(changes)]
    return Chain(list(reversed(commits)), commits[-1].commit)


def test_a_chain_ends_at_its_target_even_when_the_walk_left_it_out() -> None:
    listed = [ChainCommit("c1", ("c0",), 1, (FileChange("modified", "a.py", "a.py"),))]
    chain = Chain(listed, "c3")
    assert chain.commits == ["c1", "c3"]
    assert chain.events_of("a.py", -1, 1) == [(0, FileChange("modified", "a.py", "a.py"))]
    assert Chain(listed, "c1").commits == ["c1"]


def test_names_follow_renames_forward_and_back() -> None:
    chain = _chain(
        (),
        (FileChange("modified", "a.py", "a.py"),),
        (FileChange("renamed", "a.py", "b.py"),),
        (FileChange("modified", "b.py", "b.py"),),
        (FileChange("renamed", "b.py", "c.py"),),
        (),
    )
    forward, question = follow_forward(chain, "a.py", 0, 5, set())
    assert question is None
    assert [forward.at(position) for position in range(6)] == ["a.py", "a.py", "b.py", "b.py", "c.py", "c.py"]
    backward, question = follow_backward(chain, "c.py", 5, 0, set())
    assert question is None
    assert [backward.at(position) for position in range(6)] == [
        "a.py",
        "a.py",
        "b.py",
        "b.py",
        "c.py",
        "c.py",
    ]


def test_a_deletion_or_an_addition_is_asked_about_until_settled() -> None:
    chain = _chain((), (FileChange("deleted", "a.py", None),), (FileChange("added", None, "z.py"),), ())
    names, question = follow_forward(chain, "a.py", 0, 3, set())
    assert question == Question(1, "a.py")
    names, question = follow_forward(chain, "a.py", 0, 3, {(1, "a.py")})
    assert question is None
    assert [names.at(position) for position in range(4)] == ["a.py", None, None, None]
    names, question = follow_backward(chain, "z.py", 3, 0, set())
    assert question == Question(2, "z.py")
    names, question = follow_backward(chain, "z.py", 3, 0, {(2, "z.py")})
    assert question is None
    assert [names.at(position) for position in range(4)] == [None, None, "z.py", "z.py"]


def test_what_already_shows_the_targets_state() -> None:
    changed = State("changed", 0, "a.py", 3, 5, ("x", "y"))
    assert already_so(changed, State("changed", 0, "b.py", 9, 11, ("x", "y")))  # renamed, shifted since
    assert not already_so(changed, State("changed", 0, "a.py", 3, 5, ("x", "z")))  # an earlier edit
    moved = State("moved", 1, "n.py", 1, 3, ("x",))
    assert already_so(moved, State("moved", 1, "m.py", 7, 9, ("w",)))  # edited after the move
    assert not already_so(moved, State("moved", 0, "a.py", 7, 9, ("x",)))  # moved within its file first
    shifted = State("shifted", 0, "a.py", 10, 12, ("x",))
    assert not already_so(shifted, State("shifted", 0, "a.py", 8, 10, ("x",)))  # an earlier shift
    gone = State("deleted", None, None, None, None, ())
    assert already_so(gone, gone)
    assert not already_so(gone, changed)


def test_what_the_named_commit_did() -> None:
    marker = as_stored(
        {
            "repo_id": "r1",
            "path": "app.py",
            "commit": "c" * 40,
            "start_line": 8,
            "end_line": 14,
            "code": "x\n",
            "context_before": "",
            "context_after": "",
        }
    )
    assert action_of(marker, Placement("m1", "core.py", 8, 14, "shifted", 1.0)) == "renamed"
    assert action_of(marker, Placement("m1", "core.py", 9, 15, "shifted", 1.0)) == "shifted"
    assert action_of(marker, Placement("m1", "app.py", 8, 14, "changed", 0.9)) == "changed"
    assert action_of(marker, Placement.deleted("m1", 1.0)) == "deleted"
    assert action_of(marker, Placement("m1", "app.py", 8, 14, "unchanged", 1.0)) is None
    assert action_of(marker, Placement.unavailable("m1", "symlink")) is None


@given(st.text(alphabet=st.sampled_from("ab \t\r\n\x0b\x0c\x1c\x1f\u00a0\u2028\ufeff"), max_size=40))
def test_keyed_texts_hold_the_keys_the_engine_compares(text: str) -> None:
    assert keyed(text) == "\n" + "\n".join(line_key(line) for line in split_lines(text)) + "\n"


def test_some_commits_are_told_apart_by_their_lines_alone() -> None:
    recorded = ("defretry(call,attempts=3):", "returncall()", "exceptConnectionError:")
    edited = ("defretry(call,attempts=3):", "returncall()", "except(ConnectionError,TimeoutError):")
    before = keyed("def retry(call, attempts=3):\n    return call()\nexcept ConnectionError:\n")
    after = keyed(
        "# header\ndef retry(call, attempts=3):\n    return call()\nexcept (ConnectionError, TimeoutError):\n"
    )
    changed = State("changed", 0, "app.py", 2, 4, edited)
    assert surely_not_so(changed, recorded, [before])
    assert not surely_not_so(changed, recorded, [after])
    assert surely_so(changed, recorded, [after])
    assert not surely_so(changed, recorded, [before])
    gone = State("deleted", None, None, None, None, ())
    assert surely_not_so(gone, recorded, [None, before])
    assert not surely_not_so(gone, recorded, [after])
    assert not surely_so(gone, recorded, [keyed("")])  # deletions are the engine's to confirm
    moved = State("moved", 1, "net.py", 1, 3, recorded)
    assert surely_not_so(moved, recorded, [before, keyed("")])  # still in its own file
    assert surely_not_so(moved, recorded, [keyed(""), None])  # the file it went to is not there yet
    assert surely_so(moved, recorded, [keyed(""), before])
    # Too short to prove anything by its lines: the engine decides.
    short = ("x=1",)
    assert not surely_not_so(State("deleted", None, None, None, None, ()), short, [keyed("x = 1\n")])
