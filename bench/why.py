"""Why it moved: how fast `kibitz.locate.why_moved` names the commit that changed, moved or deleted a block.

Each shape is a repository generated with `git fast-import` (whybench/history.py): 10,000 first-parent
commits between the commit the markers are recorded at and the target, most of them editing other files,
some touching the markers' files, a few renaming them, and each marker's function changed, moved to another
file or deleted in exactly one commit (the truth). Every marker is then explained three ways:

- **cold** — `why_moved` for that marker alone, with a fresh object reader: what `kibitz show ID` pays
  (its own walk of the history, its own git processes);
- **in a listing** — `why_moved` for all the markers at once, as `kibitz ls --why` calls it (one walk for
  all): the total, and per marker;
- **git log -L** — the baseline: `git log --first-parent -L START,END:PATH` on the block's place at the
  target (or `git log --first-parent -S` with its first line in its recorded file when it is deleted), the
  newest commit it lists.

Times are wall and CPU time (this process and the git processes it waited for); each repository is measured
without and with a commit-graph file (`git commit-graph write --reachable --changed-paths`). The first shape
is the one the search was tuned on; the others (other seeds, busier files with markers recorded at many
commits, changes merged from branches) are held out and reported apart. Run by hand:

    .venv/bin/python bench/why.py [--commits 10000] [--markers 100] [--quick] [--keep DIR]

The results go to bench/results/why.json. This is a benchmark, not a timed test.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from entry import log, run_benchmark
from kibitz.client import Marker
from kibitz.gitrepo import ObjectReader
from kibitz.locate import AtCommit, PinnedMarker, Placement, Why, locate, why_moved
from whybench.history import Generated, Recorded, Shape, Truth, build, shapes

RESULTS = Path(__file__).parent / "results"
TARGET_P95_MS = 50.0
# The search's own bound, far above anything measured: a marker that hits it counts as a miss.
SECONDS = 30.0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commits", type=int, default=10_000, help="commits between the two points")
    parser.add_argument(
        "--markers", type=int, default=100, help="markers of the tuning shape (half held out)"
    )
    parser.add_argument("--quick", action="store_true", help="2,000 commits, 30 markers: a smoke run")
    parser.add_argument("--keep", type=Path, help="build the repositories in DIR and keep them")
    parser.add_argument("--no-baseline", action="store_true", help="skip git log -L (the slowest part)")
    parser.add_argument("--json-out", type=Path, default=RESULTS / "why.json", help="where to write the JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.commits, args.markers = 2_000, 30
    return args


def _cpu() -> float:
    """Return the CPU seconds used so far by this process and the child processes it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(action: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``action``; return its result, wall milliseconds and CPU milliseconds."""
    wall, cpu = time.perf_counter(), _cpu()
    result = action()
    return result, (time.perf_counter() - wall) * 1000, (_cpu() - cpu) * 1000


def _marker(recorded: Recorded) -> Marker:
    return {
        "id": recorded.marker_id,
        "repo_id": "bench",
        "path": recorded.path,
        "commit": recorded.commit,
        "start_line": recorded.start_line,
        "end_line": recorded.end_line,
        "code": recorded.code,
        "context_before": recorded.context_before,
        "context_after": recorded.context_after,
        "provisional": False,
        "references": [],
        "code_free": False,
    }


def _right(why: Why | None, truth: Truth) -> bool:
    named = why.commit.commit if why is not None and why.commit is not None else None
    return named is not None and named in (truth.commit, truth.branch_commit)


def _baseline(root: Path, generated: Generated, recorded: Recorded, placement: Placement) -> str | None:
    """Return the commit the naive `git log` names for a marker (the newest it lists), or None."""
    span = f"{generated.start}..{generated.target}"
    if placement.path is not None and placement.start_line is not None:
        where = f"-L{placement.start_line},{placement.end_line}:{placement.path}"
        args = ["git", "log", "--first-parent", "--format=%H", "-s", where, span]
    else:
        first = recorded.code.splitlines()[0]
        args = ["git", "log", "--first-parent", "--format=%H", "-S", first, span, "--", recorded.path]
    out = subprocess.run(args, cwd=root, capture_output=True, text=True, check=False).stdout.split()
    return out[0] if out else None


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": 0.0, "p95": 0.0, "max": 0.0}
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max": round(ordered[-1], 1),
    }


def measure_shape(shape: Shape, root: Path, *, commit_graph: bool, baseline: bool) -> dict[str, Any]:
    """Build one repository and measure every method on its markers."""
    built_at = time.perf_counter()
    generated = build(shape, root, commit_graph=commit_graph)
    build_seconds = time.perf_counter() - built_at
    pinned = [PinnedMarker("c-" + m.marker_id, _marker(m)) for m in generated.markers]
    by_id = {m.marker_id: m for m in generated.markers}
    target = generated.target
    with ObjectReader(root) as reader:
        placements = locate(reader, pinned, AtCommit(target))
    statuses: dict[str, int] = {}
    for placement in placements.values():
        statuses[placement.status] = statuses.get(placement.status, 0) + 1

    cold_wall: list[float] = []
    cold_cpu: list[float] = []
    cold_right = 0
    reasons: dict[str, int] = {}
    for marker in pinned:
        marker_id = marker.marker["id"]

        def one(marker: PinnedMarker = marker, marker_id: str = marker_id) -> Why | None:
            with ObjectReader(root) as reader:
                return why_moved(
                    reader, [marker], target, {marker_id: placements[marker_id]}, seconds=SECONDS
                )[marker_id]

        why, wall, cpu = _timed(one)
        cold_wall.append(wall)
        cold_cpu.append(cpu)
        cold_right += _right(why, generated.truth[marker_id])
        if why is not None and why.reason is not None:
            reasons[why.reason] = reasons.get(why.reason, 0) + 1

    def listing() -> dict[str, Why | None]:
        with ObjectReader(root) as reader:
            return why_moved(reader, pinned, target, placements, seconds=SECONDS)

    whys, list_wall, list_cpu = _timed(listing)
    list_right = sum(_right(whys.get(m.marker_id), generated.truth[m.marker_id]) for m in generated.markers)

    base_wall: list[float] = []
    base_cpu: list[float] = []
    base_right = 0
    if baseline:
        for marker_id, recorded in by_id.items():

            def naive(recorded: Recorded = recorded, marker_id: str = marker_id) -> str | None:
                return _baseline(root, generated, recorded, placements[marker_id])

            named, wall, cpu = _timed(naive)
            base_wall.append(wall)
            base_cpu.append(cpu)
            truth = generated.truth[marker_id]
            base_right += named is not None and named in (truth.commit, truth.branch_commit)
    count = len(pinned)
    return {
        "shape": shape.name,
        "held_out": shape.held_out,
        "commit_graph": commit_graph,
        "commits": shape.commits,
        "markers": count,
        "build_seconds": round(build_seconds, 1),
        "statuses": statuses,
        "cold": {
            "wall_ms": _percentiles(cold_wall),
            "cpu_ms": _percentiles(cold_cpu),
            "right": cold_right,
            "reasons": reasons,
        },
        "listing": {
            "wall_ms_total": round(list_wall, 1),
            "cpu_ms_total": round(list_cpu, 1),
            "wall_ms_per_marker": round(list_wall / count, 1),
            "cpu_ms_per_marker": round(list_cpu / count, 1),
            "right": list_right,
        },
        "baseline": {
            "wall_ms": _percentiles(base_wall),
            "cpu_ms": _percentiles(base_cpu),
            "right": base_right,
            "measured": baseline,
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure every shape, without and with a commit-graph file."""
    started = time.perf_counter()
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="kibitz-why-"))
    os.environ.update({"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"})
    rows = []
    try:
        for shape in shapes(args.commits, args.markers):
            for graph in (False, True):
                name = f"{shape.seed}-{'graph' if graph else 'plain'}"
                log(f"{shape.name}, {'with' if graph else 'without'} a commit-graph: building and measuring…")
                rows.append(
                    measure_shape(shape, scratch / name, commit_graph=graph, baseline=not args.no_baseline)
                )
    finally:
        if args.keep is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return {
        "benchmark": "why",
        "command": " ".join(["bench/why.py", *sys.argv[1:]]),
        "python": platform.python_version(),
        "git": subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip(),
        "cpus": os.cpu_count(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "target_p95_ms": TARGET_P95_MS,
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
    }


def _line(
    shape: str, graph: str, method: str, wall: tuple[Any, Any], cpu: tuple[Any, Any], right: str
) -> str:
    return f"{shape:<28} {graph:<5} {method:<13} {wall[0]:>8} {wall[1]:>8} {cpu[0]:>8} {cpu[1]:>8} {right:>9}"


def report(document: dict[str, Any]) -> str:
    """Return the results table."""
    header = _line("shape", "graph", "method", ("wall p50", "wall p95"), ("cpu p50", "cpu p95"), "right")
    lines = [header, "-" * len(header)]
    for row in document["rows"]:
        graph = "yes" if row["commit_graph"] else "no"
        count = row["markers"]
        cold, listing, base = row["cold"], row["listing"], row["baseline"]

        def spread(times: dict[str, float]) -> tuple[float, float]:
            return times["p50"], times["p95"]

        lines.append(
            _line(
                row["shape"],
                graph,
                "cold",
                spread(cold["wall_ms"]),
                spread(cold["cpu_ms"]),
                f"{cold['right']}/{count}",
            )
        )
        lines.append(
            _line(
                "",
                "",
                "in a listing",
                (listing["wall_ms_per_marker"], ""),
                (listing["cpu_ms_per_marker"], ""),
                f"{listing['right']}/{count}",
            )
        )
        if base["measured"]:
            lines.append(
                _line(
                    "",
                    "",
                    "git log -L",
                    spread(base["wall_ms"]),
                    spread(base["cpu_ms"]),
                    f"{base['right']}/{count}",
                )
            )
    lines.append("")
    lines.append(
        "ms per marker; 'in a listing' is one call for all the markers, divided by their number. "
        f"Target: cold p95 ≤ {TARGET_P95_MS:g} ms. {document['cpus']} CPUs, load average "
        f"{document['load_average']}, {document['git']}, {document['seconds']} s."
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return its exit code (targets are reported, not enforced)."""
    return run_benchmark(parse_args(argv), run, report)


if __name__ == "__main__":
    sys.exit(main())
