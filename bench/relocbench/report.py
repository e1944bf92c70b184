"""Tables, targets and failure dumps of the relocation benchmark, and its JSON form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .score import METHODS, Failure, Results, Tally
from .truth import categories

# The latency scenario's goal: 200 codemarks in a 3,000-line file located after 20 commits, warm.
SCENARIO_MS = 100.0

# The targets of every language, Python included: exactness is counted on the code that survived.
LANGUAGE_TARGETS = {
    "exact_surviving_d1": 99.5,
    "exact_surviving_d5": 99.0,
    "edited_moved_definitions": 96.0,
    "deleted_reported": 93.0,
    "anchors_per_second": 5000.0,
}

HARD = "all but same · in place"
SURVIVING = "surviving (all but deleted)"


def overall(results: Results, method: str, *, hard_only: bool = False) -> Tally:
    """Return the tally of a method over every category (or all but the unchanged, unmoved code)."""
    total = Tally()
    for name, tally in results.tallies.get(method, {}).items():
        if not (hard_only and name.endswith("· same · in place")):
            total.merge(tally)
    return total


def row_tally(results: Results, method: str, name: str) -> Tally:
    """Return the tally of a table row: a category, ``all`` or the hard subset."""
    if name == "all":
        return overall(results, method)
    if name == HARD:
        return overall(results, method, hard_only=True)
    if name == SURVIVING:
        return surviving(results, method)
    return results.tally(method, name)


def surviving(results: Results, method: str) -> Tally:
    """Return the tally of a method over the code that is still there (every category but deleted)."""
    total = Tally()
    for name, tally in results.tallies.get(method, {}).items():
        if not name.startswith("deleted"):
            total.merge(tally)
    return total


def combined(by_distance: Mapping[int, Results], method: str, names: Sequence[str]) -> Tally:
    """Return the tally of a method over some categories at every distance."""
    total = Tally()
    for results in by_distance.values():
        for name in names:
            tally = results.tallies.get(method, {}).get(name)
            if tally is not None:
                total.merge(tally)
    return total


def _cell(tally: Tally, count: int) -> str:
    value = tally.percent(count)
    return "-" if value is None else f"{value:.1f}"


def distance_table(
    distance: int, results: Results, totals: Sequence[str] = (HARD, "all"), title: str = ""
) -> str:
    """Return the table of one distance: per category, each method's outcome percentages.

    ``totals`` are the summary rows under the categories; ``title`` goes before "Distance d".
    """
    head = f"{'category':31} {'n':>6} |"
    rule = f"{'':31} {'':>6} |"
    for method in METHODS:
        head += f" {method:^27} |"
        rule += f" {'ok':>6} {'wrong':>6} {'lost':>6} {'spur':>6} |"
    lines = [f"{title}Distance {distance}", head, rule, "-" * len(rule)]
    rows = [name for name in categories() if overall_in(results, name)]
    for name in [*rows, *totals]:
        if name == totals[0]:
            lines.append("-" * len(rule))
        tallies = {method: row_tally(results, method, name) for method in METHODS}
        line = f"{name:31} {tallies['engine'].total:>6} |"
        for method in METHODS:
            tally = tallies[method]
            cells = [
                _cell(tally, tally.correct),
                _cell(tally, tally.wrong_place),
                _cell(tally, tally.falsely_deleted),
                _cell(tally, tally.spuriously_mapped),
            ]
            line += "".join(f" {cell:>6}" for cell in cells) + " |"
        lines.append(line)
    speeds = []
    for method in METHODS:
        seconds = results.seconds.get(method, 0.0)
        speeds.append(f"{method} {results.anchors / seconds:,.0f}/s" if seconds else f"{method} -")
    cpu = results.seconds.get("engine (cpu)", 0.0)
    if cpu:
        speeds.append(f"engine on CPU time {results.anchors / cpu:,.0f}/s")
    lines.append("anchors per second (wall, one core): " + ", ".join(speeds))
    if results.statuses.get("too_large"):
        lines.append(
            f"  engine gave up (too_large) on {results.statuses['too_large']:,} anchors: its time budget"
        )
    removed = results.seconds.get("engine (removed files)", 0.0)
    engine = results.seconds.get("engine", 0.0)
    if removed and engine > removed:
        kept = results.anchors - results.removed_file_anchors
        lines.append(
            f"  engine without the {results.removed_file_anchors:,} anchors of removed files "
            f"({removed:.1f} s of {engine:.1f} s): {kept / (engine - removed):,.0f}/s"
        )
    return "\n".join(lines)


def markdown_table(results: Results, totals: Sequence[str] = (HARD, "all")) -> str:
    """Return one distance's table in Markdown, for docs/benchmarks.md."""
    head = "| category | n |"
    rule = "|---|--:|"
    for method in METHODS:
        head += f" {method} ok | wrong | lost | spur |"
        rule += "--:|--:|--:|--:|"
    lines = [head, rule]
    rows = [name for name in categories() if overall_in(results, name)]
    for name in [*rows, *totals]:
        tallies = {method: row_tally(results, method, name) for method in METHODS}
        label = f"**{name}**" if name in totals else name
        line = f"| {label} | {tallies['engine'].total:,} |"
        for method in METHODS:
            tally = tallies[method]
            counts = (tally.correct, tally.wrong_place, tally.falsely_deleted, tally.spuriously_mapped)
            cells = [_cell(tally, count) for count in counts]
            if method == "engine":
                cells[0] = f"**{cells[0]}**"
            line += "".join(f" {cell} |" for cell in cells)
        lines.append(line)
    return "\n".join(lines)


def overall_in(results: Results, name: str) -> bool:
    """Return True if a category has any anchors."""
    return results.tally("engine", name).total > 0


@dataclass(frozen=True, slots=True)
class Target:
    """One target of the issue, with the measured value."""

    name: str
    value: float | None
    goal: float
    higher_is_better: bool = True
    unit: str = "%"
    # How many anchors a percentage was measured on (None: not told).
    count: int | None = None

    @property
    def passed(self) -> bool | None:
        """Return whether the value meets the goal (None when nothing was measured)."""
        if self.value is None:
            return None
        return self.value >= self.goal if self.higher_is_better else self.value <= self.goal

    def as_json(self) -> dict[str, Any]:
        """Return the target as a JSON-ready dict."""
        found: dict[str, Any] = {
            "name": self.name,
            "value": None if self.value is None else round(self.value, 3),
            "goal": self.goal,
            "unit": self.unit,
            "passed": self.passed,
        }
        if self.count is not None:
            found["n"] = self.count
        return found


def scenario_target(scenario: Mapping[str, Any]) -> Target:
    """Return the latency scenario's target measured on this run."""
    return Target(
        "200 codemarks, 3,000 lines, 20 commits (warm median)",
        float(scenario["head_ms_median"]),
        SCENARIO_MS,
        higher_is_better=False,
        unit="ms",
    )


def targets_table(found: Sequence[Target]) -> str:
    """Return the targets as a pass/fail table."""
    lines = [f"{'target':56} {'value':>12} {'goal':>12}  result"]
    for target in found:
        sign = "≥" if target.higher_is_better else "≤"
        if target.value is None:
            value = "-"
        elif target.unit == "%":
            value = f"{target.value:.2f} %"
        else:
            value = f"{target.value:,.1f} {target.unit}"
        goal = f"{sign} {target.goal:,.1f}{' %' if target.unit == '%' else ' ' + target.unit}"
        verdict = {True: "PASS", False: "FAIL", None: "no data"}[target.passed]
        lines.append(f"{target.name:56} {value:>12} {goal:>12}  {verdict}")
    return "\n".join(lines)


def failure_dump(
    distance: int, results: Results, limit: int, only: str | None = None, title: str = ""
) -> str:
    """Return up to ``limit`` failures per category, with old, expected and found code."""
    out: list[str] = []
    order = {name: index for index, name in enumerate(categories())}
    keys = sorted(results.failures, key=lambda key: (key.count(":"), order.get(key.split(": ")[-1], 99), key))
    for key in keys:
        if only is not None and only.lower() not in key.lower():
            continue
        failures = results.failures[key][:limit]
        if not failures:
            continue
        total = results.failure_counts.get(key, len(failures))
        method, _, category = key.rpartition(": ")
        heading = f"{title}distance {distance} · {method or 'engine'} · {category}"
        out.append(f"=== {heading}: {total} wrong, showing {len(failures)} ===")
        for number, failure in enumerate(failures, 1):
            out.append(_failure_text(number, failure))
    return "\n".join(out)


def _where(found: tuple[str, int, int] | None) -> str:
    if found is None:
        return "deleted"
    path, start, end = found
    return f"{path}:{start}" if start == end else f"{path}:{start}-{end}"


def _failure_text(number: int, failure: Failure) -> str:
    confidence = "" if failure.confidence is None else f", confidence {failure.confidence:.2f}"
    start, end = failure.old_range
    lines = [
        f"[{number}] {failure.package} {failure.old_version} → {failure.new_version}  {failure.kind} "
        f"{failure.label}",
        f"    old {failure.old_path}:{start}-{end}  expected {_where(failure.expected)}  "
        f"got {_where(failure.got)} ({failure.outcome}; status {failure.status}{confidence})",
        "  old:",
        _indent(failure.old_snippet),
    ]
    if failure.expected is not None:
        lines += ["  expected:", _indent(failure.expected_snippet)]
    if failure.got_snippet:
        lines += ["  got:", _indent(failure.got_snippet)]
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def results_json(results: Results) -> dict[str, Any]:
    """Return one distance's counts, percentages, speeds and kept failures as JSON-ready data."""
    methods: dict[str, Any] = {}
    for method in METHODS:
        per_category: dict[str, Any] = {}
        for name in [*categories(), HARD, SURVIVING, "all"]:
            tally = row_tally(results, method, name)
            if not tally.total:
                continue
            per_category[name] = {
                "n": tally.total,
                "correct": tally.correct,
                "wrong_place": tally.wrong_place,
                "falsely_deleted": tally.falsely_deleted,
                "spuriously_mapped": tally.spuriously_mapped,
                "correct_percent": round(tally.percent(tally.correct) or 0.0, 3),
            }
        seconds = results.seconds.get(method, 0.0)
        methods[method] = {
            "categories": per_category,
            "seconds": round(seconds, 4),
            "anchors_per_second": round(results.anchors / seconds, 1) if seconds else None,
        }
    cpu = results.seconds.get("engine (cpu)", 0.0)
    methods["engine"]["cpu_seconds"] = round(cpu, 4)
    methods["engine"]["removed_file_anchors"] = results.removed_file_anchors
    methods["engine"]["removed_file_seconds"] = round(results.seconds.get("engine (removed files)", 0.0), 4)
    return {
        "anchors": results.anchors,
        "methods": methods,
        "engine_statuses": results.statuses,
        "engine_slowest_file_pairs": [
            {"ms": round(seconds * 1000, 1), "file_pair": description}
            for seconds, description in results.slowest
        ],
        "engine_failure_counts": {k: v for k, v in results.failure_counts.items() if ":" not in k},
        "engine_failures": {
            key: [failure.as_json() for failure in failures]
            for key, failures in results.failures.items()
            if ":" not in key
        },
    }


def language_targets(by_distance: Mapping[int, Results]) -> list[Target]:
    """Return the targets of the other languages measured on some results (one language or all)."""
    found = []
    goals = LANGUAGE_TARGETS
    for distance, goal in ((1, goals["exact_surviving_d1"]), (5, goals["exact_surviving_d5"])):
        if distance in by_distance:
            tally = surviving(by_distance[distance], "engine")
            found.append(
                Target(
                    f"exact on surviving code, distance {distance}",
                    tally.percent(tally.correct),
                    goal,
                    count=tally.total,
                )
            )
    edited_moved = combined(
        by_distance, "engine", ["def line · edited · moved", "def range · edited · moved"]
    )
    found.append(
        Target(
            "edited-and-moved definitions (line and range)",
            edited_moved.percent(edited_moved.correct),
            goals["edited_moved_definitions"],
            count=edited_moved.total,
        )
    )
    deleted = combined(by_distance, "engine", ["deleted · def line", "deleted · def range"])
    found.append(
        Target(
            "deleted definitions reported deleted",
            deleted.percent(deleted.correct),
            goals["deleted_reported"],
            count=deleted.total,
        )
    )
    # CPU time, not wall time: on a shared machine the wall clock measures the neighbours too.
    anchors = sum(results.anchors for results in by_distance.values())
    seconds = sum(results.seconds.get("engine (cpu)", 0.0) for results in by_distance.values())
    found.append(
        Target(
            "anchors per second, one core (CPU time)",
            anchors / seconds if seconds else None,
            goals["anchors_per_second"],
            unit="/s",
        )
    )
    return found


def targets_matrix(columns: Sequence[tuple[str, Sequence[Target], int]], *, markdown: bool = False) -> str:
    """Return targets side by side: one row per target, one column per ``(title, targets, anchors)``.

    A cell is the value with ``ok`` or ``NO`` (below the goal) and, in brackets, how many anchors it was
    measured on when the target says; ``-`` when there was nothing to measure.
    """
    if not columns:
        return ""
    names = [target.name for target in columns[0][1]]
    goals = [target for target in columns[0][1]]
    header = ["target", "goal", *(title for title, _, _ in columns)]
    rows = []
    for index, name in enumerate(names):
        goal = goals[index]
        sign = "≥" if goal.higher_is_better else "≤"
        row = [name, f"{sign} {goal.goal:,.1f}{' %' if goal.unit == '%' else goal.unit}"]
        for _, found, _ in columns:
            target = found[index]
            if target.value is None:
                row.append("-")
                continue
            verdict = "ok" if target.passed else "NO"
            value = f"{target.value:.2f}" if target.unit == "%" else f"{target.value:,.0f}"
            count = "" if target.count is None else f" ({target.count:,})"
            row.append(f"{value} {verdict}{count}")
        rows.append(row)
    rows.append(["anchors", "", *(f"{anchors:,}" for _, _, anchors in columns)])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|--:|" + "--:|" * len(columns)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [
            row[0].ljust(widths[0]),
            *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)),
        ]
        out.append("  ".join(cells))
    return "\n".join(out)


def language_table(
    title: str,
    measured: Mapping[int, Results],
    held_out: Mapping[int, Results],
    *,
    markdown: bool = False,
) -> str:
    """Return one language's table: per category, the engine and the baselines, measured and held out.

    Columns: per distance the anchors and ``ok`` of the engine, same line and diff only on the measured
    packages; then per distance the anchors and the engine's ``ok`` on the held-out packages.
    """
    distances = sorted(measured)
    every = [*measured.values(), *held_out.values()]
    rows = [
        name for name in categories() if any(results.tallies.get("engine", {}).get(name) for results in every)
    ]
    totals = [HARD, SURVIVING, "all"]
    header = ["category"]
    for distance in distances:
        header += [f"d{distance} n", "engine", "same", "diff"]
    for distance in sorted(held_out):
        header += [f"held d{distance} n", "engine"]
    body = []
    for name in [*rows, *totals]:
        row = [f"**{name}**" if markdown and name in totals else name]
        for distance in distances:
            results = measured[distance]
            engine = row_tally(results, "engine", name)
            row.append(f"{engine.total:,}")
            for method in METHODS:
                tally = row_tally(results, method, name)
                cell = _cell(tally, tally.correct)
                row.append(f"**{cell}**" if markdown and method == "engine" else cell)
        for distance in sorted(held_out):
            engine = row_tally(held_out[distance], "engine", name)
            row += [f"{engine.total:,}", _cell(engine, engine.correct)]
        body.append(row)
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|---|" + "--:|" * (len(header) - 1)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(row[column]) for row in [header, *body]) for column in range(len(header))]
    out = [title]
    for number, row in enumerate([header, *body]):
        if number == len(rows) + 1:
            out.append("-" * (sum(widths) + 2 * (len(widths) - 1)))
        cells = [
            row[0].ljust(widths[0]),
            *(cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)),
        ]
        out.append("  ".join(cells))
    return "\n".join(out)
