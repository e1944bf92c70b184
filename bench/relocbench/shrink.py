"""Shrink one of the engine's failures to a small pair of texts that still fails the same way.

A failure recorded in the benchmark's JSON names its package, versions, file and anchor. The file pair is
rebuilt from the cached releases, then lines are removed from the old text (never the anchor's), from the
new text (never the expected lines) and from the candidate files, in halving chunks, as long as the engine
still answers with the same outcome (falsely deleted, wrong place or spuriously mapped). Candidates the
failure does not need are dropped first. What is left is usually a few lines: a test case for the engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from kibitz.anchoring import Location, relocate_many

from .history import FilePair, History, Parse, Stats, parse_python
from .score import Outcome, anchors_for, clear_engine_caches, location_answer, outcome
from .truth import Case, Expected, split_lines

# Stop after this many engine calls: shrinking is quadratic at worst.
MAX_CALLS = 4000


@dataclass(frozen=True, slots=True)
class Shrunk:
    """A small failing case: texts, the anchor, what was expected and what the engine said."""

    old: list[str]
    new: list[str]
    candidates: dict[str, list[str]]
    new_path: str | None
    start: int
    end: int
    expected: Expected | None
    location: Location
    outcome: Outcome

    def render(self) -> str:
        """Return the case as text: numbered lines, the anchor marked, the engine's answer."""
        out = [f"old text (anchor lines {self.start}-{self.end} marked):"]
        out += [
            f"{'>' if self.start <= n <= self.end else ' '}{n:4} | {line}"
            for n, line in enumerate(self.old, 1)
        ]
        out.append(f"new text ({self.new_path or 'file removed'}):")
        out += [f"{n:5} | {line}" for n, line in enumerate(self.new, 1)]
        for path, lines in self.candidates.items():
            out.append(f"candidate {path}:")
            out += [f"{n:5} | {line}" for n, line in enumerate(lines, 1)]
        if self.expected is None:
            out.append("expected: deleted")
        else:
            out.append(f"expected: {self.expected.path}:{self.expected.start}-{self.expected.end}")
        out.append(f"engine:   {self.location}  → {self.outcome}")
        return "\n".join(out)


def find_pair(
    sources: Mapping[str, Mapping[str, str]], failure: Mapping[str, Any], parse: Parse = parse_python
) -> tuple[FilePair, Case]:
    """Return the file pair and the case a recorded failure came from (``parse`` reads the language)."""
    old_version, new_version = failure["old_version"], failure["new_version"]
    history = History(failure["package"], [old_version, new_version], sources, parse=parse)
    start, end = failure["old_range"]
    for pair in history.file_pairs(1, Stats()):
        if pair.old_path != failure["old_path"]:
            continue
        for case in pair.cases:
            if (case.start, case.end, case.kind) == (start, end, failure["kind"]):
                return pair, case
    raise LookupError("the failure's anchor is not in the rebuilt file pair")


def _text(lines: Sequence[str]) -> str:
    return "".join(line + "\n" for line in lines)


class _Shrinker:
    def __init__(self, pair: FilePair, case: Case) -> None:
        self.new_path = pair.new_path
        self.candidates = {
            path: split_lines(text)
            for path, text in zip(pair.candidate_paths, pair.candidate_texts, strict=True)
        }
        self.old = split_lines(pair.old_text)
        self.new = split_lines(pair.new_text)
        self.case = case
        self.calls = 0

    def run(
        self, old: list[str], new: list[str], candidates: dict[str, list[str]], case: Case
    ) -> tuple[Location, Outcome]:
        self.calls += 1
        clear_engine_caches()
        paths = list(candidates)
        anchors = anchors_for(old, [(case.start, case.end)])
        location = relocate_many(
            _text(old), _text(new), anchors, candidates=[_text(candidates[p]) for p in paths]
        )[0]
        answer = location_answer(_pair_view(self.new_path, paths), location)
        return location, outcome(case, answer)

    def shrink(self) -> Shrunk:
        location, wanted = self.run(self.old, self.new, self.candidates, self.case)
        if wanted == "correct":
            raise ValueError("the engine answers this anchor correctly now")
        expected_path = self.case.expected.path if self.case.expected else None
        for path in list(self.candidates):
            if path == expected_path or self.calls > MAX_CALLS:
                continue
            trial = {p: lines for p, lines in self.candidates.items() if p != path}
            if self.run(self.old, self.new, trial, self.case)[1] == wanted:
                self.candidates = trial
        for target in ["old", "new", *self.candidates]:
            self._shrink_lines(target, wanted)
        location, result = self.run(self.old, self.new, self.candidates, self.case)
        return Shrunk(
            self.old,
            self.new,
            self.candidates,
            self.new_path,
            self.case.start,
            self.case.end,
            self.case.expected,
            location,
            result,
        )

    def _lines(self, target: str) -> list[str]:
        if target == "old":
            return self.old
        if target == "new":
            return self.new
        return self.candidates[target]

    def _shrink_lines(self, target: str, wanted: Outcome) -> None:
        chunk = max(len(self._lines(target)) // 2, 1)
        while chunk >= 1 and self.calls <= MAX_CALLS:
            position = 0
            while position < len(self._lines(target)) and self.calls <= MAX_CALLS:
                tried = self._without(target, position, position + chunk)
                if tried is not None and self.run(*tried)[1] == wanted:
                    self._accept(target, tried)
                else:
                    position += chunk
            chunk //= 2

    def _without(
        self, target: str, low: int, high: int
    ) -> tuple[list[str], list[str], dict[str, list[str]], Case] | None:
        """Return the texts and case with 0-based lines ``low:high`` of ``target`` removed, if allowed."""
        lines = self._lines(target)
        high = min(high, len(lines))
        removed = high - low
        case = self.case
        if target == "old":
            if not (high <= case.start - 1 or low >= case.end):
                return None
            if high <= case.start - 1:
                case = replace(case, start=case.start - removed, end=case.end - removed)
        else:
            path = self.new_path if target == "new" else target
            expected = case.expected
            if expected is not None and expected.path == path:
                if not (high <= expected.start - 1 or low >= expected.end_max):
                    return None
                if high <= expected.start - 1:
                    expected = replace(
                        expected,
                        start=expected.start - removed,
                        end=expected.end - removed,
                        end_max=expected.end_max - removed,
                    )
                    case = replace(case, expected=expected)
        trimmed = lines[:low] + lines[high:]
        old = trimmed if target == "old" else self.old
        new = trimmed if target == "new" else self.new
        candidates = dict(self.candidates)
        if target not in ("old", "new"):
            candidates[target] = trimmed
        return old, new, candidates, case

    def _accept(self, target: str, tried: tuple[list[str], list[str], dict[str, list[str]], Case]) -> None:
        self.old, self.new, self.candidates, self.case = tried


def _pair_view(new_path: str | None, paths: Sequence[str]) -> FilePair:
    """Return a FilePair holding only what ``location_answer`` reads: the new path and candidates."""
    return FilePair("", "", "", 1, "", new_path, "", "", tuple(paths), (), ())


def shrink_failure(
    sources: Mapping[str, Mapping[str, str]], failure: Mapping[str, Any], parse: Parse = parse_python
) -> Shrunk:
    """Return a small case that fails like the recorded ``failure``."""
    pair, case = find_pair(sources, failure, parse)
    return _Shrinker(pair, case).shrink()
