"""Speed of kibitz.anchoring: 200 anchors in a 3,000-line file across 20 commits, and strange inputs.

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
method is right.

The second section times one file pair of each strange kind (50,000 lines edited, rewritten or
shuffled; a 500 KB minified line; generated tables of near-identical rows; CRLF and mixed line endings;
bytes that were not UTF-8; tabs against spaces; a module split into ten files), each cold, the median of
``--repeat`` runs in CPU time of this thread, against the bound of one second per file pair. Next to
it, the same call without the engine's time budget (what giving up saves) and the histogram diff of the
same texts alone (the least any answer costs). Where the edits are generated the true places are known,
and the table says how many answers are right and how many the engine gave up on (``too_large``). Run
by hand:

    .venv/bin/python bench/anchoring_speed.py [--seed N] [--versions 20] [--anchors 200] [--repeat 3]
    .venv/bin/python bench/anchoring_speed.py --strange-only

The results go to bench/results/anchoring_speed.json. This is a sanity check, not a timed test.
"""

from __future__ import annotations

import argparse
import itertools
import os
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
from kibitz.anchoring.budget import SECONDS
from kibitz.anchoring.diff import diff_lines
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


def pick_anchors(rng: random.Random, functions: list[Function], count: int) -> list[AnchorSpec]:
    """Return anchors on ``count`` of the functions: a header, a whole function or one statement each."""
    specs: list[AnchorSpec] = []
    for function in rng.sample(functions, count):
        kind = rng.choice(["header", "function", "statement"])
        if kind == "header":
            specs.append(AnchorSpec(kind, function.lines[0].id))
        elif kind == "function":
            specs.append(AnchorSpec(kind, function.lines[0].id, function, function.lines[-1].id))
        else:
            line = rng.choice([line for line in function.lines[1:] if line.text.strip() and "=" in line.text])
            specs.append(AnchorSpec(kind, line.id))
    return specs


def build(seed: int, versions: int, anchors: int) -> tuple[list[str], list[dict[int, int]], list[AnchorSpec]]:
    """Return the texts of every version, the line positions in each, and the anchors."""
    rng = random.Random(seed)
    names = itertools.count()
    functions = [make_function(rng, f"function_{next(names)}") for _ in range(220)]
    specs = pick_anchors(rng, functions, anchors)
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


# -- strange inputs ----------------------------------------------------------------------------------

# The bound every file pair must answer within, in CPU seconds.
BOUND_SECONDS = 1.0
# Where an anchor truly is: its lines and the candidate holding them (None: the new text), or None
# when its code is gone; a case whose truth is unknown has None for the whole list.
Truth = tuple[Range, int | None] | None


@dataclass(frozen=True)
class Case:
    """One file pair of a strange kind, the anchors to relocate, and where they truly are if known."""

    kind: str
    old: str
    new: str
    anchors: list[Range]
    truths: list[Truth] | None = None
    candidates: tuple[str, ...] = ()


def module(rng: random.Random, lines: int, names: itertools.count[int]) -> list[Function]:
    """Return the functions of a synthetic module of about ``lines`` lines."""
    functions: list[Function] = []
    total = 5
    while total < lines:
        functions.append(make_function(rng, f"function_{next(names)}"))
        total += len(functions[-1].lines) + 2
    return functions


def module_case(
    kind: str,
    rng: random.Random,
    lines: int,
    edit: Callable[[list[Function]], None],
    *,
    text: Callable[[str], str] = lambda text: text,
    old_text: Callable[[str], str] = lambda text: text,
) -> Case:
    """Return a module of about ``lines`` lines, edited, with 100 anchors and their true places."""
    names = itertools.count()
    functions = module(rng, lines, names)
    specs = pick_anchors(rng, functions, 100)
    old, before = render(functions)
    edit(functions)
    new, after = render(functions)
    anchors = [truth(spec, before) or Range(1, 1) for spec in specs]
    truths: list[Truth] = []
    for spec in specs:
        found = truth(spec, after)
        truths.append(None if found is None else (found, None))
    return Case(kind, old_text(old), text(new), anchors, truths)


def scattered(rng: random.Random) -> Callable[[list[Function]], None]:
    """Return an edit that adds 20 functions and changes 20 headers here and there."""

    def edit(functions: list[Function]) -> None:
        for number in range(20):
            functions.insert(rng.randrange(len(functions) + 1), make_function(rng, f"added_{number}"))
        for function in rng.sample(functions, 20):
            function.lines[0].text = function.lines[0].text.replace("(value,", "(value, extra,", 1)

    return edit


def every_line(functions: list[Function]) -> None:
    """Edit every statement a little (a rename throughout the file)."""
    for function in functions:
        for line in function.lines:
            line.text = line.text.replace("compute_", "compute2_")


def shuffled(rng: random.Random) -> Callable[[list[Function]], None]:
    """Return an edit that reorders every function and edits a tenth of the lines."""

    def edit(functions: list[Function]) -> None:
        rng.shuffle(functions)
        for function in functions:
            for line in function.lines[1:]:
                if rng.random() < 0.1:
                    line.text = line.text.replace("(value)", "(value, 1)")

    return edit


def minified_line(rng: random.Random, statements: int) -> str:
    """Return one long line of minified JavaScript."""
    return "".join(
        f"var a{rng.randint(0, 99_999)}=function(b){{return b*{k}+c{k % 97}}};" for k in range(statements)
    )


def rows(rng: random.Random, count: int) -> list[str]:
    """Return rows of a generated table: 20 distinct rows, each repeated about count / 20 times."""
    vocabulary = [f"    0x{k:02x}, 0x{k + 1:02x}, 0x{k + 2:02x}, 0x{k + 3:02x}," for k in range(20)]
    return [rng.choice(vocabulary) for _ in range(count)]


def lines_text(lines: list[str]) -> str:
    """Return the text of lines, each ended by a newline."""
    return "".join(line + "\n" for line in lines)


def latin1_as_utf8(text: str) -> str:
    """Return the text as a client reads a Latin-1 file: undecodable bytes replaced."""
    return text.encode("latin-1", "replace").decode("utf-8", "replace")


def split_case(rng: random.Random) -> Case:
    """Return a 5,000-line module split into ten files: one keeps the first tenth, nine are new."""
    names = itertools.count()
    functions = module(rng, 5_000, names)
    specs = pick_anchors(rng, functions, 100)
    old, before = render(functions)
    size = len(functions)
    groups = [functions[k * size // 10 : (k + 1) * size // 10] for k in range(10)]
    new, kept = render(groups[0])
    parts = [render(group) for group in groups[1:]]
    truths: list[Truth] = []
    for spec in specs:
        place = truth(spec, kept)
        if place is not None:
            truths.append((place, None))
            continue
        index = next(k for k, (_, where) in enumerate(parts) if spec.first in where)
        place = truth(spec, parts[index][1])
        truths.append(None if place is None else (place, index))
    anchors = [truth(spec, before) or Range(1, 1) for spec in specs]
    return Case(
        "5,000-line module split into ten files", old, new, anchors, truths, tuple(t for t, _ in parts)
    )


def strange_cases(seed: int) -> list[Case]:
    """Return one file pair of each strange kind."""
    rng = random.Random(seed)
    cases = [
        module_case("50,000 lines, 40 edits here and there", rng, 50_000, scattered(rng)),
        module_case("50,000 lines, every statement edited", rng, 50_000, every_line),
        module_case("50,000 lines, functions shuffled, 10 % edited", rng, 50_000, shuffled(rng)),
    ]
    line = minified_line(rng, 13_000)
    middle = len(line) // 2
    cases.append(
        Case(
            f"minified line of {len(line) // 1000} KB, edited",
            line,
            line[:middle] + "var inserted=1;" + line[middle:],
            [Range(1, 1)],
            [(Range(1, 1), None)],
        )
    )
    cases.append(Case("minified line, pretty-printed", line, line.replace(";", ";\n"), [Range(1, 1)]))
    table = rows(rng, 20_000)
    grown = table[:50] + rows(rng, 100) + table[50:19_950] + ["    0xff,"] + table[19_951:]
    anchors = [Range(start, start + 2) for start in range(100, 19_900, 200)]
    cases.append(
        Case(
            "generated table, 20,000 rows, 100 inserted",
            lines_text(table),
            lines_text(grown),
            anchors,
            [(Range(a.start_line + 100, a.end_line + 100), None) for a in anchors],
        )
    )
    periodic = [f"    0x{k % 4:02x}, 0x00, 0x00, 0x00," for k in range(20_000)]
    edited = [*periodic[:3], "    0xff,", *periodic[3:19_990], "    0xee,", *periodic[19_991:]]
    cases.append(
        Case(
            "periodic table, 20,000 rows, edited at both ends",
            lines_text(periodic),
            lines_text(edited),
            anchors,
        )
    )
    cases.append(
        module_case(
            "10,000 lines, LF to mixed CRLF/LF, edited",
            rng,
            10_000,
            scattered(rng),
            text=lambda text: "".join(
                line + ("\r\n" if k % 2 else "\n") for k, line in enumerate(text.split("\n")[:-1])
            ),
        )
    )
    cases.append(
        module_case(
            "10,000 lines, Latin-1 read as UTF-8, edited",
            rng,
            10_000,
            scattered(rng),
            text=lambda text: latin1_as_utf8(text.replace("value", "valeur_\xe9t\xe9")),
            old_text=lambda text: latin1_as_utf8(text.replace("value", "valeur_\xe9t\xe9")),
        )
    )
    cases.append(
        module_case(
            "10,000 lines, tabs to spaces, edited",
            rng,
            10_000,
            scattered(rng),
            old_text=lambda text: text.replace("    ", "\t"),
        )
    )
    cases.append(split_case(rng))
    return cases


def cpu_timed(call: Callable[[], list[Location]]) -> tuple[float, float, list[Location]]:
    """Return the CPU seconds of this thread and the wall seconds a call took, and its answers."""
    cpu, wall = time.thread_time(), time.perf_counter()
    answers = call()
    return time.thread_time() - cpu, time.perf_counter() - wall, answers


def run_case(case: Case, repeat: int) -> dict[str, Any]:
    """Time one strange file pair cold, with and without the budget, and score its answers."""

    def engine(budget: float | None) -> Callable[[], list[Location]]:
        return lambda: relocate_many(
            case.old, case.new, case.anchors, candidates=case.candidates, budget=budget
        )

    runs = []
    for _ in range(repeat):
        clear_caches()
        runs.append(cpu_timed(engine(SECONDS)))
    runs.sort(key=lambda run: run[0])
    cpu, wall, answers = runs[len(runs) // 2]
    clear_caches()
    unbounded_cpu, _, unbounded = cpu_timed(engine(None))
    clear_caches()
    began = time.thread_time()
    diff_lines(prepare(case.old).keys, prepare(case.new).keys)
    diff_cpu = time.thread_time() - began
    statuses: dict[str, int] = {}
    for answer in answers:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    return {
        "kind": case.kind,
        "old_lines": len(prepare(case.old)),
        "new_lines": len(prepare(case.new)),
        "old_chars": len(case.old),
        "candidates": len(case.candidates),
        "anchors": len(case.anchors),
        "cpu_ms": round(cpu * 1000, 1),
        "cpu_ms_runs": sorted(round(run[0] * 1000, 1) for run in runs),
        "wall_ms": round(wall * 1000, 1),
        "unbounded_cpu_ms": round(unbounded_cpu * 1000, 1),
        "diff_cpu_ms": round(diff_cpu * 1000, 1),
        "within_bound": cpu <= BOUND_SECONDS,
        "statuses": statuses,
        "too_large": statuses.get("too_large", 0),
        "right": None if case.truths is None else sum(map(is_right, answers, case.truths)),
        "right_unbounded": None if case.truths is None else sum(map(is_right, unbounded, case.truths)),
    }


def is_right(answer: Location, expected: Truth) -> bool:
    """Return True if an answer is the true place (or ``deleted`` for code that is gone)."""
    if expected is None:
        return answer.status == "deleted"
    return (answer.range, answer.candidate) == expected


def run_strange(options: argparse.Namespace) -> list[dict[str, Any]]:
    """Time every strange kind of file pair; return a row per kind."""
    return [run_case(case, options.repeat) for case in strange_cases(options.seed)]


def strange_text(rows: list[dict[str, Any]], load: list[float]) -> str:
    """Return the table of the strange inputs."""
    lines = [
        f"Strange inputs: one file pair each, CPU ms of this thread (median of cold runs), bound "
        f"{BOUND_SECONDS * 1000:.0f} ms; load average {load[0]:.2f}",
        f"{'kind':50} {'lines old→new':>15} {'anchors':>7} {'cpu ms':>7} {'wall ms':>8} {'≤ 1 s':>5} "
        f"{'no budget':>9} {'diff ms':>7} {'right':>9} {'gave up':>7}",
    ]
    for row in rows:
        sizes = f"{row['old_lines']:,}→{row['new_lines']:,}"
        right = "-" if row["right"] is None else f"{row['right']}/{row['anchors']}"
        lines.append(
            f"{row['kind']:50} {sizes:>15} {row['anchors']:>7} {row['cpu_ms']:>7.0f} {row['wall_ms']:>8.0f} "
            f"{'yes' if row['within_bound'] else 'NO':>5} {row['unbounded_cpu_ms']:>9.0f} "
            f"{row['diff_cpu_ms']:>7.0f} {right:>9} {row['too_large']:>7}"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--anchors", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="cold runs per strange kind (median)")
    parser.add_argument("--strange-only", action="store_true", help="only the strange inputs")
    parser.add_argument("--json-out", type=Path, default=RESULTS / "anchoring_speed.json")
    return parser.parse_args(argv)


def run(options: argparse.Namespace) -> dict[str, Any]:
    """Time the 20-commit scenario and the strange inputs; return the report."""
    report: dict[str, Any] = {
        "algorithm_version": ALGORITHM_VERSION,
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "load_average": list(os.getloadavg()),
    }
    if not options.strange_only:
        report.update(run_commits(options))
    report["strange"] = run_strange(options)
    report["load_average_after"] = list(os.getloadavg())
    return report


def run_commits(options: argparse.Namespace) -> dict[str, Any]:
    """Time the engine, chained and direct, and the same-line baseline, over 20 commits."""
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
        "file_lines": len(texts[0].splitlines()),
        "anchors": options.anchors,
        "versions": options.versions,
        "seed": options.seed,
        "rows": rows,
    }


def report_text(report: dict[str, Any]) -> str:
    """Return the tables."""
    lines = [] if "rows" not in report else commits_text(report)
    lines.append(strange_text(report["strange"], report["load_average"]))
    return "\n".join(lines)


def commits_text(report: dict[str, Any]) -> list[str]:
    """Return the table of the 20-commit scenario."""
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
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    return run_benchmark(parse_args(argv), run, report_text)


if __name__ == "__main__":
    raise SystemExit(main())
