"""Run the engine and the baselines over file pairs and score every answer against the ground truth.

Outcomes, per anchor:

* ``correct`` — the right file and exactly the expected lines (a def line must start on the ``def``
  line and may only extend over the rest of a wrapped signature);
* ``wrong place`` — a location other than the expected one (also: the right start with another end);
* ``falsely deleted`` — reported deleted (or outdated) although the code is still there;
* ``spuriously mapped`` — the code was deleted but a location was reported.

Throughput is wall time on one core: for the engine one ``relocate_many`` call per file pair, which
diffs the pair and searches the candidates, with the engine's caches cleared before each call so that
no pair profits from another's work. The engine gets each anchor as the client sends it: the range, the
code it held and three lines of context on each side.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from kibitz import anchoring
from kibitz.anchoring import Anchor, Location, Range, relocate_many

from .baselines import Answer, diff_only, same_line
from .history import FilePair
from .truth import Case, split_lines

Outcome = Literal["correct", "wrong place", "falsely deleted", "spuriously mapped"]
METHODS = ("engine", "same line", "diff only")

# Lines captured around a codemark's code when it is created, as the client does (kibitz.locate).
CAPTURED_CONTEXT = 3
# How many of the slowest file pairs are kept for the report.
SLOWEST_KEPT = 8
# Lines of context shown around a range in a failure report, and the most lines shown of a range.
SNIPPET_CONTEXT = 2
SNIPPET_MAX = 14


def outcome(case: Case, answer: Answer) -> Outcome:
    """Return how an answer compares with the case's ground truth."""
    expected = case.expected
    if expected is None:
        return "correct" if answer is None else "spuriously mapped"
    if answer is None:
        return "falsely deleted"
    path, start, end = answer
    if path == expected.path and start == expected.start and expected.end <= end <= expected.end_max:
        return "correct"
    return "wrong place"


@dataclass(slots=True)
class Tally:
    """Counts of outcomes for one method in one category."""

    total: int = 0
    correct: int = 0
    wrong_place: int = 0
    falsely_deleted: int = 0
    spuriously_mapped: int = 0

    def add(self, result: Outcome) -> None:
        """Count one outcome."""
        self.total += 1
        if result == "correct":
            self.correct += 1
        elif result == "wrong place":
            self.wrong_place += 1
        elif result == "falsely deleted":
            self.falsely_deleted += 1
        else:
            self.spuriously_mapped += 1

    def merge(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        self.total += other.total
        self.correct += other.correct
        self.wrong_place += other.wrong_place
        self.falsely_deleted += other.falsely_deleted
        self.spuriously_mapped += other.spuriously_mapped

    def percent(self, count: int) -> float | None:
        """Return ``count`` as a percentage of the total (None when there is nothing to count)."""
        return 100.0 * count / self.total if self.total else None


@dataclass(slots=True)
class Failure:
    """One wrong answer, with enough of both texts to see why."""

    package: str
    old_version: str
    new_version: str
    old_path: str
    kind: str
    label: str
    old_range: tuple[int, int]
    expected: tuple[str, int, int] | None
    got: tuple[str, int, int] | None
    status: str
    confidence: float | None
    last_range: tuple[int, int] | None
    outcome: str
    old_snippet: str
    expected_snippet: str
    got_snippet: str

    def as_json(self) -> dict[str, Any]:
        """Return the failure as a JSON-ready dict."""
        return asdict(self)


@dataclass(slots=True)
class Results:
    """Tallies, timings and kept failures of one distance, for every method."""

    tallies: dict[str, dict[str, Tally]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    anchors: int = 0
    # Anchors of files removed in the new version (searched for in the candidates only).
    removed_file_anchors: int = 0
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    failure_counts: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    # The slowest file pairs for the engine: (seconds, description), slowest first.
    slowest: list[tuple[float, str]] = field(default_factory=list)

    def tally(self, method: str, category: str) -> Tally:
        """Return the tally of a method in a category, created empty if new."""
        return self.tallies.setdefault(method, {}).setdefault(category, Tally())

    def merge(self, other: Results, keep: int) -> None:
        """Add another result's counts, times and (up to ``keep`` per category) failures."""
        for method, categories in other.tallies.items():
            for category, tally in categories.items():
                self.tally(method, category).merge(tally)
        for method, seconds in other.seconds.items():
            self.seconds[method] = self.seconds.get(method, 0.0) + seconds
        self.anchors += other.anchors
        self.removed_file_anchors += other.removed_file_anchors
        for category, failures in other.failures.items():
            kept = self.failures.setdefault(category, [])
            kept.extend(failures[: max(keep - len(kept), 0)])
        for category, count in other.failure_counts.items():
            self.failure_counts[category] = self.failure_counts.get(category, 0) + count
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.slowest = sorted([*self.slowest, *other.slowest], reverse=True)[:SLOWEST_KEPT]


def clear_engine_caches() -> None:
    """Forget every memoised result of the engine (its ``functools`` caches), so no pair profits."""
    for info in pkgutil.iter_modules(anchoring.__path__, anchoring.__name__ + "."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            clear: Callable[[], None] | None = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == info.name:
                clear()


def anchors_for(lines: Sequence[str], ranges: Sequence[tuple[int, int]]) -> list[Anchor]:
    """Return anchors as a codemark carries them: the range, its code and a few lines around it."""
    anchors = []
    for start, end in ranges:
        code = "\n".join(lines[start - 1 : end]) + "\n"
        before = "".join(line + "\n" for line in lines[max(start - 1 - CAPTURED_CONTEXT, 0) : start - 1])
        after = "".join(line + "\n" for line in lines[end : end + CAPTURED_CONTEXT])
        anchors.append(Anchor(Range(start, end), code, before, after))
    return anchors


def engine_answers(
    pair: FilePair,
    ranges: Sequence[tuple[int, int]],
    *,
    with_code: bool = True,
    budget: float | None = None,
) -> tuple[list[Location], float, float]:
    """Return the engine's locations for the ranges of a file pair, and the wall and CPU time it took.

    The anchors carry their code and context as the client's do (unless ``with_code`` is False: bare
    ranges); building them is not timed. ``budget`` is the engine's time budget (None: no limit, so
    that the answers do not depend on the machine's speed).
    """
    anchors: list[Anchor] | list[Range]
    if with_code:
        anchors = anchors_for(split_lines(pair.old_text), ranges)
    else:
        anchors = [Range(start, end) for start, end in ranges]
    clear_engine_caches()
    began, began_cpu = time.perf_counter(), time.process_time()
    locations = relocate_many(
        pair.old_text, pair.new_text, anchors, candidates=pair.candidate_texts, budget=budget
    )
    return locations, time.perf_counter() - began, time.process_time() - began_cpu


def describe(pair: FilePair) -> str:
    """Return a one-line description of a file pair: where it is from and how big it is."""
    new = pair.new_path if pair.new_path == pair.old_path else f"{pair.old_path} → {pair.new_path}"
    old_lines, new_lines = len(split_lines(pair.old_text)), len(split_lines(pair.new_text))
    return (
        f"{pair.package} {pair.old_version} → {pair.new_version} {new}: {old_lines} → {new_lines} lines, "
        f"{len(pair.cases)} anchors, {len(pair.candidate_paths)} candidates"
    )


def location_answer(pair: FilePair, location: Location) -> Answer:
    """Return an engine location in the terms of the baselines: ``(path, start, end)`` or None."""
    if location.range is None:
        return None
    if location.candidate is not None:
        if not 0 <= location.candidate < len(pair.candidate_paths):
            return ("<bad candidate index>", location.range.start_line, location.range.end_line)
        path = pair.candidate_paths[location.candidate]
    else:
        path = pair.new_path if pair.new_path is not None else "<removed file>"
    return (path, location.range.start_line, location.range.end_line)


def score_pair(
    pair: FilePair,
    keep: int,
    keep_methods: Sequence[str] = ("engine",),
    *,
    with_code: bool = True,
    budget: float | None = None,
) -> Results:
    """Relocate every anchor of a file pair with each method and score the answers."""
    results = Results()
    ranges = [(case.start, case.end) for case in pair.cases]
    locations, seconds, cpu_seconds = engine_answers(pair, ranges, with_code=with_code, budget=budget)
    results.seconds["engine"] = seconds
    results.seconds["engine (cpu)"] = cpu_seconds
    if pair.new_path is None:
        results.seconds["engine (removed files)"] = seconds
        results.removed_file_anchors = len(pair.cases)
    results.slowest = [(seconds, describe(pair))]
    answers: dict[str, list[Answer]] = {"engine": [location_answer(pair, loc) for loc in locations]}
    began = time.perf_counter()
    answers["same line"] = same_line(pair.new_text, pair.new_path, ranges)
    results.seconds["same line"] = time.perf_counter() - began
    began = time.perf_counter()
    answers["diff only"] = diff_only(pair.old_text, pair.new_text, pair.new_path, ranges)
    results.seconds["diff only"] = time.perf_counter() - began
    results.anchors = len(ranges)
    for location in locations:
        results.statuses[location.status] = results.statuses.get(location.status, 0) + 1
    for method in METHODS:
        for index, case in enumerate(pair.cases):
            answer = answers[method][index]
            result = outcome(case, answer)
            category = case.category
            results.tally(method, category).add(result)
            if result == "correct" or method not in keep_methods:
                continue
            key = category if method == "engine" else f"{method}: {category}"
            results.failure_counts[key] = results.failure_counts.get(key, 0) + 1
            kept = results.failures.setdefault(key, [])
            if len(kept) < keep:
                engine_location = locations[index] if method == "engine" else None
                kept.append(_failure(pair, case, answer, result, engine_location))
    return results


def _failure(
    pair: FilePair, case: Case, answer: Answer, result: Outcome, location: Location | None
) -> Failure:
    """Return the failure record of a wrong answer, with snippets of the texts involved."""
    expected = case.expected
    new_texts = {pair.new_path: pair.new_text} if pair.new_path is not None else {}
    new_texts.update(zip(pair.candidate_paths, pair.candidate_texts, strict=True))
    expected_tuple = None if expected is None else (expected.path, expected.start, expected.end)
    status = location.status if location is not None else ("deleted" if answer is None else "mapped")
    last = location.last_range if location is not None else None
    if answer is not None:
        got_snippet = snippet(new_texts.get(answer[0], ""), answer[1], answer[2])
    elif last is not None and pair.new_path is not None:
        got_snippet = "(last place)\n" + snippet(pair.new_text, last.start_line, last.end_line)
    else:
        got_snippet = ""
    return Failure(
        package=pair.package,
        old_version=pair.old_version,
        new_version=pair.new_version,
        old_path=pair.old_path,
        kind=case.kind,
        label=case.label,
        old_range=(case.start, case.end),
        expected=expected_tuple,
        got=answer,
        status=status,
        confidence=location.confidence if location is not None else None,
        last_range=None if last is None else (last.start_line, last.end_line),
        outcome=result,
        old_snippet=snippet(pair.old_text, case.start, case.end),
        expected_snippet=(
            snippet(new_texts.get(expected.path, ""), expected.start, expected.end) if expected else ""
        ),
        got_snippet=got_snippet,
    )


def snippet(text: str, start: int, end: int) -> str:
    """Return lines ``start..end`` of a text with a little context, numbered, the range marked ``>``."""
    lines = split_lines(text)
    low = max(start - SNIPPET_CONTEXT, 1)
    high = min(end + SNIPPET_CONTEXT, len(lines))
    shown = list(range(low, high + 1))
    if len(shown) > SNIPPET_MAX:
        head = SNIPPET_MAX // 2
        shown = [*shown[:head], 0, *shown[-(SNIPPET_MAX - head) :]]
    out = []
    for number in shown:
        if number == 0:
            out.append("       …")
            continue
        mark = ">" if start <= number <= end else " "
        out.append(f"{mark}{number:6} | {lines[number - 1]}")
    return "\n".join(out)
