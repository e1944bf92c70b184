"""The relocation benchmark's ground truth, baselines and scoring, on tiny hand-written sources."""

from __future__ import annotations

import pytest

from relocbench.baselines import diff_only, line_map, same_line
from relocbench.history import History, Stats
from relocbench.scenario import build
from relocbench.score import outcome, score_pair
from relocbench.truth import (
    Case,
    Expected,
    Module,
    PackageIndex,
    file_cases,
    longest_ordered,
    pair_files,
    parse_module,
)
from tests.bench.truth_cases import by_label, cases_of, src


def parsed(text: str) -> Module:
    module = parse_module(text)
    assert module is not None
    return module


def cases_between(old: str, new: str, path: str = "m.py") -> list[Case]:
    return cases_of(parsed(old), parsed(new), path)


OLD = src(
    """
    import os


    @decorator
    def first(a):
        value = a + 1
        return value * 2


    class Box:
        def get(self):
            return self.item

        def put(self, item):
            self.item = item


    def doomed(path):
        handle = open(path)
        handle.write("bytes that nobody keeps")
        handle.close()
    """
)

NEW = src(
    """
    import os
    import sys


    class Box:
        def put(self, item):
            self.item = item

        def get(self):
            return self.item


    @decorator
    def first(a):
        value = a + 1
        return value * 3
    """
)


def test_qualified_names_lines_and_owners() -> None:
    module = parsed(
        src(
            """
            @wraps
            def outer():
                x = 1

                def inner():
                    return x

                return inner


            class A:
                class B:
                    def m(self):
                        pass
            """
        )
    )
    names = {d.qualname: (d.line, d.end) for d in module.definitions}
    assert names == {
        "outer": (2, 8),
        "outer.<locals>.inner": (5, 6),
        "A": (11, 14),
        "A.B": (12, 14),
        "A.B.m": (13, 14),
    }
    owners = {s.norm[0]: s.owner for s in module.statements}
    assert owners == {
        "x=1": "outer",
        "returnx": "outer.<locals>.inner",
        "returninner": "outer",
        "pass": "A.B.m",
    }


def test_definitions_same_edited_moved_and_deleted() -> None:
    cases = cases_between(OLD, NEW)
    lines = by_label(cases, "def line")
    # first: its body changed and it now comes after Box (Box kept its place in the longest order).
    assert lines["first"].expected == Expected("m.py", 14, 14, 14)
    assert lines["first"].edited
    assert lines["first"].moved
    assert not lines["Box"].moved
    assert lines["Box"].edited  # its methods swapped places
    # get and put swapped: one of them (the later in the old file) is the one that moved.
    assert lines["Box.put"].moved != lines["Box.get"].moved
    assert lines["doomed"].expected is None
    assert lines["doomed"].category == "deleted · def line"
    ranges = by_label(cases, "def range")
    assert (ranges["first"].start, ranges["first"].end) == (5, 7)
    assert ranges["first"].expected == Expected("m.py", 14, 16, 16)


def test_statements_need_unique_dumps_in_both_versions() -> None:
    cases = [case for case in cases_between(OLD, NEW) if case.kind == "statement"]
    found = {case.label: case for case in cases}
    assert "first: value=a+1" in found
    assert found["first: value=a+1"].expected == Expected("m.py", 15, 15, 15)
    assert found["first: value=a+1"].moved  # its function moved
    # ``return value * 2`` became ``* 3``: a different dump, so no ground truth.
    assert not any("return" in label and "first" in label for label in found)


def test_removed_definition_with_a_similar_body_elsewhere_is_not_deleted() -> None:
    old = src(
        """
        def helper(items):
            total = 0
            for item in items:
                total += item.size
            return total
        """
    )
    new = src(
        """
        def renamed_helper(items):
            total = 0
            for item in items:
                total += item.size
            return total
        """
    )
    assert cases_between(old, new) == []


FETCH_ITEMS = src(
    """
    def fetch_items(session, limit):
        session.begin()
        rows = session.query(limit)
        items = [row.item for row in rows]
        session.end()
        return items
    """
)
# fetch_items renamed a little (a letter less) and half rewritten.
FETCH_ITEM = src(
    """
    def fetch_item(session, limit):
        session.begin()
        rows = session.query(limit)
        first = rows[0] if rows else None
        return first.item if first else None
    """
)


def test_a_definition_renamed_a_little_and_rewritten_is_not_deleted() -> None:
    gone = src(
        """
        def gone(session):
            session.flush()
            session.close()
            log.info("closed")
            return None
        """
    )
    goner = src(
        """
        def goner(session):
            for value in session.values():
                if value.ready:
                    yield value * 2
            raise StopIteration
        """
    )
    lines = by_label(cases_between(f"{FETCH_ITEMS}\n\n{gone}", f"{FETCH_ITEM}\n\n{goner}"), "def line")
    # Renamed or deleted: nobody can say.
    assert "fetch_items" not in lines
    # A header as alike, but the texts share almost nothing: deleted.
    assert lines["gone"].category == "deleted · def line"


def test_a_removed_definition_like_one_that_was_there_before_is_deleted() -> None:
    before = "def fetch_item(session, limit):\n    return None\n"
    lines = by_label(cases_between(f"{FETCH_ITEMS}\n\n{before}", FETCH_ITEM), "def line")
    # The alike header is an older definition's, edited: no new name took the removed one's place.
    assert lines["fetch_items"].category == "deleted · def line"


def test_a_removed_method_like_a_new_one_of_another_class_is_deleted() -> None:
    old = src(
        """
        class Report:
            def __attrs_post_init__(self) -> None:
                self.count = 0
                self.seen = set()
                self.sections = []
                self.title = self.title.strip()


        class Location:
            path: str
        """
    )
    new = src(
        """
        class Report:
            sections: list


        class Location:
            path: str

            def __post_init__(self) -> None:
                self.count = 0
                self.seen = set()
                self.path = str(self.path)
                self.line = int(self.line)
                self.column = int(self.column)
        """
    )
    lines = by_label(cases_between(old, new), "def line")
    # A rename stays with its class: a new method of another class is other code.
    assert lines["Report.__attrs_post_init__"].category == "deleted · def line"


def test_definition_moved_to_another_file() -> None:
    old_a = src(
        """
        def keep():
            return 1


        def travel(x):
            y = compute(x)
            return y
        """
    )
    new_a = src(
        """
        def keep():
            return 1
        """
    )
    new_b = src(
        """
        import z


        def travel(x):
            y = compute(x)
            return y
        """
    )
    old_modules = {"a.py": parsed(old_a)}
    new_modules = {"a.py": parsed(new_a), "b.py": parsed(new_b)}
    cases = file_cases(
        old_modules["a.py"],
        new_modules["a.py"],
        "a.py",
        PackageIndex.build(old_modules),
        PackageIndex.build(new_modules),
        new_modules,
        frozenset({"a.py", "b.py"}),
    )
    travel = by_label(cases, "def range")["travel"]
    assert travel.expected == Expected("b.py", 4, 6, 6)
    assert travel.moved
    assert not travel.edited


def test_longest_ordered() -> None:
    assert longest_ordered([]) == set()
    assert longest_ordered([1, 2, 3]) == {0, 1, 2}
    assert longest_ordered([5, 1, 2, 3]) == {1, 2, 3}
    assert len(longest_ordered([2, 1])) == 1


def test_pair_files_detects_renames() -> None:
    body = "\n".join(f"line_{i} = {i}" for i in range(20)) + "\n"
    pairs = pair_files({"a.py": body, "gone.py": "x = 1\n"}, {"a2.py": body + "extra = 1\n"})
    assert pairs == {"a.py": "a2.py", "gone.py": None}


def test_baselines() -> None:
    old = "a\nb\nc\nd\n"
    new = "new\na\nb\nC\nd\n"
    assert line_map(old, new) == [0, 2, 3, 0, 5]
    assert same_line(new, "f.py", [(1, 1), (4, 5), (5, 6)]) == [("f.py", 1, 1), ("f.py", 4, 5), None]
    assert diff_only(old, new, "f.py", [(1, 2), (2, 3), (4, 4)]) == [("f.py", 2, 3), None, ("f.py", 5, 5)]
    assert diff_only(old, "", None, [(1, 1)]) == [None]


def test_outcomes() -> None:
    expected = Expected("f.py", 10, 10, 12)
    case = Case("def line", 3, 3, expected)
    assert outcome(case, ("f.py", 10, 10)) == "correct"
    assert outcome(case, ("f.py", 10, 12)) == "correct"  # a wrapped signature
    assert outcome(case, ("f.py", 10, 13)) == "wrong place"
    assert outcome(case, ("g.py", 10, 10)) == "wrong place"
    assert outcome(case, None) == "falsely deleted"
    gone = Case("def range", 3, 5, None)
    assert outcome(gone, None) == "correct"
    assert outcome(gone, ("f.py", 1, 2)) == "spuriously mapped"


def test_history_scores_engine_and_baselines() -> None:
    history = History("demo", ["1", "2"], {"1": {"m.py": OLD}, "2": {"m.py": NEW}})
    stats = Stats()
    pairs = list(history.file_pairs(1, stats))
    assert stats.file_pairs == len(pairs) == 1
    results = score_pair(pairs[0], keep=5)
    assert results.anchors == len(pairs[0].cases)
    for method in ("engine", "same line", "diff only"):
        assert sum(t.total for t in results.tallies[method].values()) == results.anchors
    deleted = results.tally("diff only", "deleted · def range")
    assert deleted.total == 1


def test_scenario_is_deterministic_and_stays_python() -> None:
    functions = "\n\n".join(
        f"def f{i}(a, b):\n    total = a + b * {i}\n    value = total - {i}\n    return value\n"
        for i in range(40)
    )
    text = "class K:\n" + "".join(f"    def m{i}(self):\n        return self.x + {i}\n\n" for i in range(20))
    text += "\n\n" + functions
    first = build("demo.py", text, [functions])
    second = build("demo.py", text, [functions])
    assert first.versions == second.versions
    assert len(first.versions) == 21
    for version in first.versions:
        assert parse_module(version) is not None
    assert len(first.codemarks) == 200


def test_name_left_behind_while_the_code_moved_is_ambiguous() -> None:
    body = "".join(f"    def method_{i}(self):\n        return self.value_{i} * {i}\n\n" for i in range(6))
    old_a = "class Blueprint(Base):\n" + body
    new_a = "class Blueprint(SansioBlueprint):\n    def send(self):\n        return 1\n"
    new_b = "class Blueprint(Base):\n" + body + "    def extra(self):\n        return 2\n"
    old_modules = {"a.py": parsed(old_a)}
    new_modules = {"a.py": parsed(new_a), "b.py": parsed(new_b)}
    cases = file_cases(
        old_modules["a.py"],
        new_modules["a.py"],
        "a.py",
        PackageIndex.build(old_modules),
        PackageIndex.build(new_modules),
        new_modules,
        frozenset({"a.py", "b.py"}),
    )
    assert "Blueprint" not in by_label(cases, "def range")


def test_shrinker_keeps_the_anchor_and_the_expected_lines() -> None:
    from relocbench.history import FilePair
    from relocbench.shrink import _Shrinker

    old = "".join(f"line {i}\n" for i in range(1, 11))
    new = "".join(f"line {i}\n" for i in range(1, 11))
    case = Case("statement", 5, 6, Expected("f.py", 5, 6, 6))
    pair = FilePair("p", "1", "2", 1, "f.py", "f.py", old, new + "x\n", (), (), (case,))
    shrinker = _Shrinker(pair, case)
    assert shrinker._without("old", 4, 6) is None  # the anchor's lines stay
    trimmed = shrinker._without("old", 0, 2)
    assert trimmed is not None
    assert (trimmed[3].start, trimmed[3].end) == (3, 4)
    assert trimmed[3].expected == case.expected
    assert shrinker._without("new", 5, 7) is None  # the expected lines stay
    moved = shrinker._without("new", 1, 3)
    assert moved is not None
    assert moved[3].expected == Expected("f.py", 3, 4, 4)
    assert shrinker._without("new", 7, 9) is not None
    with pytest.raises(ValueError, match="correctly"):
        shrinker.shrink()  # the engine answers this trivial case right: nothing to shrink
