"""Speed sanity check of kibitz.anchoring: 200 anchors in a 3,000-line file across 20 commits.

A synthetic Python module of about 3,000 lines is edited 20 times the way code is edited (functions
added, deleted, moved, renamed, grown, lines edited), and 200 anchors (function headers, whole
functions, single statements) are followed through the versions two ways:

- chained: each version is relocated from the previous one (one diff per commit);
- direct: each version is relocated from the first one (one diff per version).

Both are timed cold (every cache emptied), "rediff" (the texts already prepared, every diff and
answer computed again, as for a commit seen for the first time) and warm (the same work again,
answered from the engine's caches), and compared with the
naive baseline that keeps every anchor on the same line numbers. Because the edits are generated,
the true place of every anchor in every version is known, so the table also shows how often each
method is right. Run by hand:

    .venv/bin/python bench/anchoring_speed.py [--seed N] [--versions 20] [--anchors 200]

The results go to bench/results/anchoring_speed.json. This is a sanity check, not a timed test.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from entry import run_benchmark
from kibitz.anchoring import ALGORITHM_VERSION, Location, Range, relocate_many
from kibitz.anchoring.normalise import prepare
from kibitz.anchoring.relocate import text_pair

RESULTS = Path(__file__).parent / "results"
_ids = itertools.count()

BOILERPLATE = [
    "    if value is None:",
    "        return None",
    "    result = []",
    "    return result",
    "    self._check()",
    "    log.debug('step %s', value)",
    "",
]


@dataclass
class Line:
    """One line of the synthetic module, with an identity that survives edits and moves."""

    text: str
    id: int = field(default_factory=lambda: next(_ids))


@dataclass
class Function:
    """A function: its lines (the first is the header) and the blank lines after it."""

    lines: list[Line]


def make_function(rng: random.Random, name: str) -> Function:
    """Return a function of 6-16 lines mixing distinctive statements and boilerplate."""
    lines = [Line(f"def {name}(value, option_{rng.randint(0, 99)}=None):")]
    for _ in range(rng.randint(5, 15)):
        if rng.random() < 0.35:
            lines.append(Line(rng.choice(BOILERPLATE)))
        else:
            lines.append(Line(f"    {name}_v{rng.randint(0, 999)} = compute_{rng.randint(0, 9999)}(value)"))
    lines.append(Line(f"    return {name}_result"))
    return Function(lines)


def render(functions: list[Function]) -> tuple[str, dict[int, int]]:
    """Return the module text and the 1-based line number of every line id."""
    out: list[str] = ["import logging", "", "log = logging.getLogger(__name__)", "", ""]
    where: dict[int, int] = {}
    for function in functions:
        for line in function.lines:
            out.append(line.text)
            where[line.id] = len(out)
        out.extend(["", ""])
    return "\n".join(out) + "\n", where


def mutate(rng: random.Random, functions: list[Function], names: itertools.count[int]) -> None:
    """Apply a handful of typical edits to the module in place."""
    for _ in range(rng.randint(3, 8)):
        kind = rng.random()
        target = rng.choice(functions)
        if kind < 0.2:
            functions.insert(rng.randrange(len(functions) + 1), make_function(rng, f"added_{next(names)}"))
        elif kind < 0.3 and len(functions) > 10:
            functions.remove(target)
        elif kind < 0.4:
            functions.remove(target)
            functions.insert(rng.randrange(len(functions) + 1), target)
        elif kind < 0.55:
            header = target.lines[0]
            header.text = header.text.replace("(value,", "(value, extra,", 1)
        elif kind < 0.75:
            line = rng.choice(target.lines[1:])
            if line.text.strip():
                line.text = line.text.replace("(value)", "(value, 1)").replace("compute_", "compute2_")
        elif kind < 0.9:
            at = rng.randrange(1, len(target.lines))
            target.lines.insert(at, Line(f"    extra_{next(names)} = prepare(value)"))
        else:
            target.lines.insert(len(target.lines) - 1, Line(f"    grown_{next(names)} = finish(value)"))


@dataclass(frozen=True)
class AnchorSpec:
    """An anchor: the ids of its first and last lines (a header, a statement, or a whole function)."""

    kind: str
    first: int
    function: Function | None = None
    last: int | None = None


def truth(spec: AnchorSpec, where: dict[int, int]) -> Range | None:
    """Return where an anchor really is in a version, or None if its code is gone."""
    if spec.first not in where:
        return None
    if spec.kind == "function" and spec.function is not None:
        return Range(where[spec.function.lines[0].id], where[spec.function.lines[-1].id])
    return Range(where[spec.first], where[spec.first])


def build(seed: int, versions: int, anchors: int) -> tuple[list[str], list[dict[int, int]], list[AnchorSpec]]:
    """Return the texts of every version, the line positions in each, and the anchors."""
    rng = random.Random(seed)
    names = itertools.count()
    functions = [make_function(rng, f"function_{next(names)}") for _ in range(220)]
    specs: list[AnchorSpec] = []
    for function in rng.sample(functions, anchors):
        kind = rng.choice(["header", "function", "statement"])
        if kind == "header":
            specs.append(AnchorSpec(kind, function.lines[0].id))
        elif kind == "function":
            specs.append(AnchorSpec(kind, function.lines[0].id, function, function.lines[-1].id))
        else:
            line = rng.choice([line for line in function.lines[1:] if line.text.strip() and "=" in line.text])
            specs.append(AnchorSpec(kind, line.id))
    texts, positions = [], []
    for version in range(versions + 1):
        if version:
            mutate(rng, functions, names)
        text, where = render(functions)
        texts.append(text)
        positions.append(where)
    return texts, positions, specs


def clear_caches() -> None:
    """Forget every prepared text and diff, as in a fresh process."""
    prepare.cache_clear()
    text_pair.cache_clear()


def run_chained(texts: list[str], start: list[Range]) -> list[list[Location | None]]:
    """Relocate the anchors from each version to the next; return their places in every version."""
    current: list[Range | None] = list(start)
    history: list[list[Location | None]] = []
    for old, new in itertools.pairwise(texts):
        alive = [(index, where) for index, where in enumerate(current) if where is not None]
        found = relocate_many(old, new, [where for _, where in alive])
        step: list[Location | None] = [None] * len(current)
        for (index, _), location in zip(alive, found, strict=True):
            step[index] = location
            current[index] = location.range if location.candidate is None else None
        history.append(step)
    return history


def run_direct(texts: list[str], start: list[Range]) -> list[list[Location | None]]:
    """Relocate the anchors from the first version to every later one."""
    return [list(relocate_many(texts[0], text, start)) for text in texts[1:]]


def timed(function: Callable[[], list[list[Location | None]]]) -> tuple[float, list[list[Location | None]]]:
    """Return the seconds a call took and its result."""
    began = time.perf_counter()
    result = function()
    return time.perf_counter() - began, result


def score(
    history: list[list[Location | None]], positions: list[dict[int, int]], specs: list[AnchorSpec]
) -> float:
    """Return the share of (anchor, version) answers that match the truth exactly."""
    right = total = 0
    for step, where in zip(history, positions[1:], strict=True):
        for location, spec in zip(step, specs, strict=True):
            expected = truth(spec, where)
            got = None if location is None else location.range
            right += got == expected
            total += 1
    return right / total


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--anchors", type=int, default=200)
    parser.add_argument("--json-out", type=Path, default=RESULTS / "anchoring_speed.json")
    return parser.parse_args(argv)


def run(options: argparse.Namespace) -> dict[str, Any]:
    """Time the engine, chained and direct, and the same-line baseline; return the report."""
    texts, positions, specs = build(options.seed, options.versions, options.anchors)
    start = [truth(spec, positions[0]) or Range(1, 1) for spec in specs]
    located = options.anchors * options.versions

    rows = []
    for name, run in (("chained", run_chained), ("direct", run_direct)):
        clear_caches()
        cold, history = timed(lambda run=run: run(texts, start))  # type: ignore[misc]
        # Texts already prepared, every diff and answer computed afresh: a new commit to look at.
        text_pair.cache_clear()
        rediff, _ = timed(lambda run=run: run(texts, start))  # type: ignore[misc]
        warm, _ = timed(lambda run=run: run(texts, start))  # type: ignore[misc]
        rows.append(
            {
                "method": f"engine, {name}",
                "cold_ms": round(cold * 1000, 1),
                "rediff_ms": round(rediff * 1000, 1),
                "warm_ms": round(warm * 1000, 1),
                "anchors_per_s_cold": round(located / cold),
                "anchors_per_s_warm": round(located / warm),
                "exact": round(score(history, positions, specs), 4),
            }
        )
    began = time.perf_counter()
    same_line: list[list[Location | None]] = [
        [Location(where, "unchanged", 1.0) for where in start] for _ in texts[1:]
    ]
    baseline_time = time.perf_counter() - began
    rows.append(
        {
            "method": "baseline, same line",
            "cold_ms": round(baseline_time * 1000, 1),
            "rediff_ms": round(baseline_time * 1000, 1),
            "warm_ms": round(baseline_time * 1000, 1),
            "anchors_per_s_cold": round(located / max(baseline_time, 1e-9)),
            "anchors_per_s_warm": round(located / max(baseline_time, 1e-9)),
            "exact": round(score(same_line, positions, specs), 4),
        }
    )

    return {
        "algorithm_version": ALGORITHM_VERSION,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "file_lines": len(texts[0].splitlines()),
        "anchors": options.anchors,
        "versions": options.versions,
        "seed": options.seed,
        "rows": rows,
    }


def report_text(report: dict[str, Any]) -> str:
    """Return the table."""
    lines = [
        f"{report['anchors']} anchors, {report['file_lines']}-line file, {report['versions']} versions, "
        f"seed {report['seed']}"
    ]
    header = ("method", "cold ms", "rediff ms", "warm ms", "anchors/s cold", "anchors/s warm", "exact")
    lines.append(f"{header[0]:22} " + " ".join(f"{title:>{len(title) + 1}}" for title in header[1:]))
    for row in report["rows"]:
        values = (row["cold_ms"], row["rediff_ms"], row["warm_ms"])
        rates = (row["anchors_per_s_cold"], row["anchors_per_s_warm"])
        lines.append(
            f"{row['method']:22} {values[0]:>8} {values[1]:>10} {values[2]:>8} {rates[0]:>15} {rates[1]:>15} "
            f"{row['exact']:>6.1%}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    return run_benchmark(parse_args(argv), run, report_text)


if __name__ == "__main__":
    raise SystemExit(main())
