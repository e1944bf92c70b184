"""Benchmark the relocation engine on real histories against two baselines, in the same run.

    .venv/bin/python bench/relocation.py                      # every default package, distances 1 and 5
    .venv/bin/python bench/relocation.py --quick              # three packages, seven versions: ~15 s
    .venv/bin/python bench/relocation.py --packages click,attrs --dump-failures 5
    .venv/bin/python bench/relocation.py --dump-failures 3 --dump-category "edited · moved"
    .venv/bin/python bench/relocation.py --shrink "deleted · def line" --shrink-index 2   # from the last JSON

What it does:

1. downloads consecutive released versions of popular pure-Python packages with pip (wheels, cached in
   ``bench/.cache/``; the version lists are in ``relocbench/fetch.py`` so runs are reproducible): ten
   measured packages and three held out, which are scored and reported apart and never used to tune the
   engine (their failures are counted, not kept);
2. pairs version i with i+1 (distance 1) and i+5 (distance 5); within a pair matches files by path (and
   renamed files by content), and takes every file whose text changed;
3. derives ground truth from the syntax tree (``relocbench/truth.py``): def lines and whole ranges of
   functions and classes whose qualified name is unique in both versions (also when they moved to
   another file), simple statements in them whose AST dump is unique in both, and deleted definitions
   with no similar body left anywhere; each case is categorised as definition line / range / statement
   × text same / edited × in place / moved, or deleted;
4. relocates every anchor with the engine (``relocate_many`` per file pair, the files added or changed in
   the new version as candidates; without the engine's time budget unless ``--budget``, so that the
   accuracy does not depend on the machine's speed or load) and with two baselines — same line number,
   and a plain line diff that reports changed lines as outdated — and scores each answer: correct, wrong
   place, falsely deleted (``lost``), spuriously mapped (``spur``);
5. times a latency scenario: 200 codemarks in a 3,000-line file located after 20 commits;
6. prints a table per distance and the targets for the measured packages, then the same for the held-out
   ones, and writes everything (with the engine's failures and snippets, measured packages only) to
   ``bench/results/relocation.json``. The targets are those of the other languages (``--languages``):
   exact on surviving code ≥ 99.5 % at distance 1 and ≥ 99.0 % at distance 5, edited-and-moved
   definitions (def lines and ranges) ≥ 96 %, deleted definitions reported deleted ≥ 93 %, ≥ 5,000
   anchors per second of the engine's CPU time; and the latency scenario ≤ 100 ms.

``--dump-failures N`` prints up to N of the engine's wrong answers per category with the old code, the
expected place and what it found, to see what to fix. ``--shrink CATEGORY`` takes one of the failures
recorded in the last JSON and removes lines from the texts while the engine keeps failing the same way,
leaving a small case to turn into a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from entry import log, run_benchmark  # noqa: E402
from relocbench import fetch, languages, report, scenario, shrink  # noqa: E402
from relocbench.history import History  # noqa: E402
from relocbench.run import document_head, score_history  # noqa: E402
from relocbench.score import Results  # noqa: E402
from relocbench.syntax import GRAMMARS  # noqa: E402

CACHE = HERE / ".cache" / "wheels"
RESULTS = HERE / "results" / "relocation.json"
LANGUAGES_CACHE = HERE / ".cache"
LANGUAGES_RESULTS = HERE / "results" / "relocation-languages.json"
QUICK_PACKAGES = ("attrs", "click", "requests")
QUICK_HELD_OUT = ("tomlkit",)
QUICK_VERSIONS = 7
SCENARIO_PACKAGE = ("click", "click/core.py")
# Failures kept per category in the JSON file even when none are printed.
KEPT_FAILURES = 20


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command line options."""
    parser = argparse.ArgumentParser(
        description="Score the relocation engine and two baselines on real package histories.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Packages and versions: "
        + "; ".join(f"{p} {v[0]}…{v[-1]}" for p, v in fetch.DEFAULT_VERSIONS.items())
        + "; held out: "
        + "; ".join(f"{p} {v[0]}…{v[-1]}" for p, v in fetch.HELD_OUT_VERSIONS.items()),
    )
    parser.add_argument(
        "--languages",
        metavar="LIST",
        help="measure other languages instead of Python: all, or some of "
        f"{','.join(grammar.key for grammar in GRAMMARS)} (packages and versions: relocbench/releases.py)",
    )
    parser.add_argument(
        "--packages",
        help="comma-separated packages (default: all of them; PKG=V1,V2,... is not supported, edit fetch.py "
        "or releases.py)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{', '.join(QUICK_PACKAGES)} (held out: {', '.join(QUICK_HELD_OUT)}), {QUICK_VERSIONS} "
        "versions; with --languages "
        f"{', '.join(languages.QUICK_PACKAGES)}, {languages.QUICK_VERSIONS} versions",
    )
    parser.add_argument("--versions", type=int, help="use only the first N versions of each package")
    parser.add_argument("--distances", default="1,5", help="version distances to pair (default: 1,5)")
    parser.add_argument(
        "--dump-failures", type=int, default=0, metavar="N", help="print N engine failures per category"
    )
    parser.add_argument("--dump-category", metavar="TEXT", help="only dump categories containing TEXT")
    parser.add_argument(
        "--dump-baselines", action="store_true", help="also keep and dump the baselines' failures"
    )
    parser.add_argument(
        "--ranges-only",
        action="store_true",
        help="give the engine bare ranges, without the code and context a codemark carries",
    )
    parser.add_argument(
        "--shrink",
        metavar="CATEGORY",
        help="do not run: shrink a failure of CATEGORY recorded in the last JSON to a small case",
    )
    parser.add_argument("--shrink-index", type=int, default=1, metavar="N", help="which failure (1 = first)")
    parser.add_argument("--shrink-distance", type=int, default=1, metavar="D", help="from which distance")
    parser.add_argument("--markdown", action="store_true", help="also print the tables in Markdown")
    parser.add_argument("--no-scenario", action="store_true", help="skip the 3,000-line latency scenario")
    parser.add_argument(
        "--budget",
        type=float,
        metavar="SECONDS",
        help="CPU seconds the engine may spend per file pair, as clients run it with 0.75 (default: no "
        "limit, so that the accuracy measured does not depend on the machine's speed or load)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"JSON file (default: {RESULTS.relative_to(HERE.parent)}, with --languages "
        f"{LANGUAGES_RESULTS.relative_to(HERE.parent)})",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help=f"where downloads are kept (default: {CACHE.relative_to(HERE.parent)}, with --languages "
        f"{LANGUAGES_CACHE.relative_to(HERE.parent)}/npm and /pypi)",
    )
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = LANGUAGES_RESULTS if args.languages else RESULTS
    if args.cache is None:
        args.cache = LANGUAGES_CACHE if args.languages else CACHE
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 (targets are reported, not enforced)."""
    args = parse_args(argv)
    if args.languages:
        return languages_main(args, argv)
    if args.shrink:
        return shrink_main(args)
    if args.packages:
        packages = [name.strip() for name in args.packages.split(",") if name.strip()]
        unknown = [name for name in packages if name not in fetch.ALL_VERSIONS]
        if unknown:
            print(f"unknown package(s): {', '.join(unknown)}; known: {', '.join(fetch.ALL_VERSIONS)}")
            return 2
    elif args.quick:
        packages = [*QUICK_PACKAGES, *QUICK_HELD_OUT]
    else:
        packages = list(fetch.ALL_VERSIONS)
    command = " ".join(["bench/relocation.py", *(argv if argv is not None else sys.argv[1:])])
    # The tables are drawn from the scored results, which the JSON document only summarises.
    tables: list[str] = []

    def run(args: argparse.Namespace) -> dict[str, Any]:
        document, text = measure(args, packages, command)
        tables.append(text)
        return document

    args.json_out = args.output
    return run_benchmark(args, run, lambda _document: tables[-1])


def languages_main(args: argparse.Namespace, argv: list[str] | None) -> int:
    """Run (or shrink a failure of) the benchmark on the other languages."""
    try:
        chosen = languages.parse_languages(args.languages)
        names = [name.strip() for name in args.packages.split(",") if name.strip()] if args.packages else None
        packages = languages.select(chosen, names, quick=args.quick)
    except ValueError as error:
        print(error)
        return 2
    if args.shrink:
        return languages.shrink_main(args, chosen)
    command = " ".join(["bench/relocation.py", *(argv if argv is not None else sys.argv[1:])])
    keep = max(args.dump_failures, KEPT_FAILURES)
    tables: list[str] = []

    def run(args: argparse.Namespace) -> dict[str, Any]:
        document, text = languages.measure(args, chosen, packages, command, keep, log)
        tables.append(text)
        return document

    args.json_out = args.output
    return run_benchmark(args, run, lambda _document: tables[-1])


def measure(args: argparse.Namespace, packages: list[str], command: str) -> tuple[dict[str, Any], str]:
    """Score the engine and the baselines on `packages`; return the JSON document and the printed report."""
    started = time.perf_counter()
    limit = args.versions or (QUICK_VERSIONS if args.quick else None)
    versions = {name: fetch.ALL_VERSIONS[name][:limit] for name in packages}
    distances = sorted({int(value) for value in args.distances.split(",") if value.strip()})

    log(f"fetching {sum(len(v) for v in versions.values())} releases of {len(packages)} packages …")
    wheels = fetch.download_all(
        args.cache, [(name, version) for name in packages for version in versions[name]]
    )

    keep = max(args.dump_failures, KEPT_FAILURES)
    keep_methods = ("engine", "same line", "diff only") if args.dump_baselines else ("engine",)
    by_part = {part: {distance: Results() for distance in distances} for part in languages.PARTS}
    per_package: dict[str, dict[int, dict[str, Any]]] = {}
    for name in packages:
        part = _part(name)
        # Held-out failures are counted, never kept: nothing to look at, so nothing to tune on.
        kept = 0 if part == "held out" else keep
        sources = {version: fetch.read_sources(wheels[name, version]) for version in versions[name]}
        history = History(name, versions[name], sources)
        scored = score_history(
            history, distances, kept, keep_methods, with_code=not args.ranges_only, budget=args.budget
        )
        per_package[name] = {}
        for distance, package in scored.items():
            by_part[part][distance].merge(package.results, kept)
            per_package[name][distance] = package.summary()
            log(package.log_line(f"{name} (held out)" if part == "held out" else name, distance))

    scenario_result: dict[str, Any] | None = None
    if not args.no_scenario:
        scenario_result = run_scenario(args.cache)

    parts = [part for part in languages.PARTS if any(_part(name) == part for name in packages)]
    found = {part: _targets(by_part[part], scenario_result if part == "measured" else None) for part in parts}
    lines: list[str] = []
    for part in parts:
        names = ", ".join(name for name in packages if _part(name) == part)
        lines += [f"{'Measured' if part == 'measured' else 'Held-out'} packages: {names}", ""]
        for distance in distances:
            lines += [report.distance_table(distance, by_part[part][distance]), ""]
    lines += [
        "ok = correct, wrong = wrong place, lost = reported deleted or outdated,",
        "spur = deleted code reported found; percentages of the category's anchors",
        "",
    ]
    if scenario_result is not None:
        lines += [scenario.summary(scenario_result), ""]
    for part in parts:
        lines += [f"Targets, {part} packages:", report.targets_table(found[part]), ""]
    lines += ["Slowest file pairs for the engine:"]
    slowest = sorted(
        (item for results in by_part["measured"].values() for item in results.slowest), reverse=True
    )
    lines += [f"  {seconds * 1000:8.0f} ms  {description}" for seconds, description in slowest[:5]]

    if args.markdown:
        for part in parts:
            for distance in distances:
                lines += [
                    "",
                    f"Distance {distance}, {part} (Markdown)",
                    "",
                    report.markdown_table(by_part[part][distance]),
                ]
    if args.dump_failures:
        for distance in distances:
            dump = report.failure_dump(
                distance, by_part["measured"][distance], args.dump_failures, args.dump_category
            )
            if dump:
                lines += ["", dump]

    elapsed = time.perf_counter() - started
    lines += ["", f"measured in {elapsed:.0f} s"]
    document = {
        **document_head(
            "relocation", command, ranges_only=args.ranges_only, budget=args.budget, elapsed=elapsed
        ),
        "packages": {name: list(versions[name]) for name in packages if _part(name) == "measured"},
        "distances": {
            str(distance): report.results_json(by_part["measured"][distance]) for distance in distances
        },
        "per_package": {name: {str(d): v for d, v in values.items()} for name, values in per_package.items()},
        "scenario": scenario_result,
        "targets": [target.as_json() for target in found.get("measured", [])],
        "held_out": {
            "packages": {name: list(versions[name]) for name in packages if _part(name) == "held out"},
            "distances": {
                str(distance): report.results_json(by_part["held out"][distance]) for distance in distances
            },
            "targets": [target.as_json() for target in found.get("held out", [])],
        },
    }
    return document, "\n".join(lines)


def _part(package: str) -> str:
    """Return which part of the benchmark a package is in."""
    return "held out" if package in fetch.HELD_OUT_VERSIONS else "measured"


def _targets(by_distance: dict[int, Results], scenario_result: dict[str, Any] | None) -> list[report.Target]:
    """Return the targets, the same as the other languages', and the latency scenario's when it ran."""
    found = report.language_targets(by_distance)
    if scenario_result is not None:
        found.append(report.scenario_target(scenario_result))
    return found


def shrink_main(args: argparse.Namespace) -> int:
    """Shrink one recorded engine failure and print the small case."""
    document = json.loads(args.output.read_text(encoding="utf-8"))
    failures = document["distances"][str(args.shrink_distance)]["engine_failures"]
    matching = [key for key in failures if args.shrink.lower() in key.lower()]
    if not matching:
        print(
            f"no recorded failures in a category matching {args.shrink!r}; categories: {', '.join(failures)}"
        )
        return 2
    recorded = failures[matching[0]]
    if not 1 <= args.shrink_index <= len(recorded):
        print(f"{matching[0]}: {len(recorded)} failures recorded; --shrink-index must be 1–{len(recorded)}")
        return 2
    failure = recorded[args.shrink_index - 1]
    versions = (failure["old_version"], failure["new_version"])
    sources = {
        version: fetch.read_sources(fetch.download(args.cache, failure["package"], version))
        for version in versions
    }
    print(
        f"{matching[0]} #{args.shrink_index}: {failure['package']} {versions[0]} → {versions[1]} "
        f"{failure['old_path']}:{failure['old_range'][0]}-{failure['old_range'][1]} {failure['label']}"
    )
    try:
        small = shrink.shrink_failure(sources, failure)
    except (LookupError, ValueError) as error:
        print(f"cannot shrink: {error}")
        return 1
    print(small.render())
    return 0


def run_scenario(cache: Path) -> dict[str, Any]:
    """Build and time the 3,000-line scenario from the newest fetched release of its package."""
    name, path = SCENARIO_PACKAGE
    version = fetch.DEFAULT_VERSIONS[name][-1]
    sources = fetch.read_sources(fetch.download(cache, name, version))
    donors = [text for other, text in sources.items() if other != path]
    built = scenario.build(f"{path} ({name} {version})", sources[path], donors)
    return scenario.measure(built)


if __name__ == "__main__":
    raise SystemExit(main())
