"""The relocation benchmark on JavaScript, TypeScript, CSS, C, C++ and Rust (``relocation.py --languages``).

The same measurement as for Python — file pairs of consecutive releases, ground truth from a parser, the
engine and both baselines scored on every anchor — on the packages pinned in ``releases.py``, with
tree-sitter as the parser (``syntax.py``). Results are kept per language and apart for the held-out
packages: their failures are counted but never recorded or printed, so nobody tunes the engine on them.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import report, shrink
from .history import History
from .releases import BY_NAME, PACKAGES, Package, download, download_all, read_sources
from .run import document_head, score_history
from .score import Results
from .syntax import GRAMMARS, LANGUAGES

# --quick: one small measured package per language, the first six releases (distance 5 needs six).
QUICK_PACKAGES = ("express", "immer", "@picocss/pico", "bitarray", "kiwisolver", "orjson")
QUICK_VERSIONS = 6
PARTS = ("measured", "held out")


def parse_languages(text: str) -> list[str]:
    """Return the language keys named in ``--languages`` (``all`` for every one); raise ValueError."""
    if text.strip() == "all":
        return [grammar.key for grammar in GRAMMARS]
    keys = [key.strip().lower() for key in text.split(",") if key.strip()]
    unknown = [key for key in keys if key not in LANGUAGES]
    if unknown or not keys:
        known = ", ".join(LANGUAGES)
        raise ValueError(f"unknown language(s): {', '.join(unknown) or '(none)'}; known: {known}, or all")
    return [grammar.key for grammar in GRAMMARS if grammar.key in keys]


def select(languages: Sequence[str], names: Sequence[str] | None, *, quick: bool) -> list[Package]:
    """Return the packages of a run: named ones, the quick ones, or every one of the languages."""
    if names:
        unknown = [name for name in names if name not in BY_NAME]
        if unknown:
            raise ValueError(f"unknown package(s): {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
        elsewhere = [name for name in names if BY_NAME[name].language not in languages]
        if elsewhere:
            raise ValueError(f"not in the languages asked for: {', '.join(elsewhere)}")
        return [BY_NAME[name] for name in names]
    chosen = QUICK_PACKAGES if quick else tuple(package.name for package in PACKAGES)
    return [BY_NAME[name] for name in chosen if BY_NAME[name].language in languages]


@dataclass(slots=True)
class _Language:
    """The results of one language (or of all), per part and distance."""

    parts: dict[str, dict[int, Results]] = field(default_factory=dict)
    packages: dict[str, list[str]] = field(default_factory=dict)

    def results(self, part: str, distance: int) -> Results:
        return self.parts.setdefault(part, {}).setdefault(distance, Results())

    def by_distance(self, part: str, distances: Sequence[int]) -> dict[int, Results]:
        return {distance: self.results(part, distance) for distance in distances}


def measure(
    args: argparse.Namespace,
    languages: Sequence[str],
    packages: Sequence[Package],
    command: str,
    keep: int,
    log: Callable[[str], None],
) -> tuple[dict[str, Any], str]:
    """Score the engine and the baselines on the packages; return the JSON document and the printed report.

    ``keep`` is how many of the engine's failures per category are recorded (measured packages only).
    """
    started = time.perf_counter()
    limit = args.versions or (QUICK_VERSIONS if args.quick else None)
    versions = {package.name: package.versions[:limit] for package in packages}
    distances = sorted({int(value) for value in args.distances.split(",") if value.strip()})
    total = sum(len(found) for found in versions.values())
    log(f"fetching {total} releases of {len(packages)} packages in {len(languages)} languages …")
    archives = download_all(
        args.cache, [(package, version) for package in packages for version in versions[package.name]]
    )

    keep_methods = ("engine", "same line", "diff only") if args.dump_baselines else ("engine",)
    by_language = {key: _Language() for key in languages}
    everything = _Language()
    per_package: dict[str, dict[str, Any]] = {}
    for package in packages:
        grammar = LANGUAGES[package.language]
        part = "held out" if package.held_out else "measured"
        sources = {
            version: read_sources(package, archives[package.name, version])
            for version in versions[package.name]
        }
        history = History(package.name, versions[package.name], sources, parse=grammar.parse)
        # Held-out failures are counted, never kept: nothing to look at, so nothing to tune on.
        kept = 0 if package.held_out else keep
        scored = score_history(
            history, distances, kept, keep_methods, with_code=not args.ranges_only, budget=args.budget
        )
        language = by_language[package.language]
        language.packages.setdefault(part, []).append(package.name)
        everything.packages.setdefault(part, []).append(package.name)
        per_package[package.name] = {
            "language": package.language,
            "registry": package.registry,
            "held_out": package.held_out,
            "versions": list(versions[package.name]),
            "distances": {str(distance): found.summary() for distance, found in scored.items()},
        }
        for distance, found in scored.items():
            language.results(part, distance).merge(found.results, kept)
            everything.results(part, distance).merge(found.results, kept)
            log(
                found.log_line(
                    f"{package.name} ({'held out, ' if package.held_out else ''}{grammar.title})", distance
                )
            )

    lines = _report_lines(args, languages, by_language, everything, distances)
    elapsed = time.perf_counter() - started
    lines += ["", f"measured in {elapsed:.0f} s"]
    document = {
        **document_head(
            "relocation-languages", command, ranges_only=args.ranges_only, budget=args.budget, elapsed=elapsed
        ),
        "targets": {
            part: [
                target.as_json()
                for target in report.language_targets(everything.by_distance(part, distances))
            ]
            for part in PARTS
        },
        "overall": {
            part: {str(d): report.results_json(r) for d, r in everything.by_distance(part, distances).items()}
            for part in PARTS
        },
        "languages": {
            key: {
                "title": LANGUAGES[key].title,
                "packages": by_language[key].packages,
                "targets": {
                    part: [
                        target.as_json()
                        for target in report.language_targets(by_language[key].by_distance(part, distances))
                    ]
                    for part in PARTS
                },
                **{
                    part: {
                        str(d): report.results_json(r)
                        for d, r in by_language[key].by_distance(part, distances).items()
                    }
                    for part in PARTS
                },
            }
            for key in languages
        },
        "per_package": per_package,
    }
    return document, "\n".join(lines)


def _report_lines(
    args: argparse.Namespace,
    languages: Sequence[str],
    by_language: dict[str, _Language],
    everything: _Language,
    distances: Sequence[int],
) -> list[str]:
    """Return the printed report: a table per language, the overall tables, the targets, the dumps."""
    lines: list[str] = []
    parts = [part for part in PARTS if everything.packages.get(part)]
    for key in languages:
        language = by_language[key]
        title = _title(LANGUAGES[key].title, language)
        measured = language.by_distance("measured", distances)
        held_out = language.by_distance("held out", distances) if "held out" in parts else {}
        lines += [report.language_table(title, measured, held_out), ""]
        if args.markdown:
            lines += [
                f"{title} (Markdown)",
                "",
                report.language_table(title, measured, held_out, markdown=True),
                "",
            ]
    lines += [
        "Per language: anchors and ok % of the engine, same line (same) and diff only (diff) on the measured",
        "packages, and the engine on the held-out ones. The full breakdown of all languages together:",
        "",
    ]
    totals = (report.HARD, report.SURVIVING, "all")
    for part in parts:
        for distance in distances:
            results = everything.results(part, distance)
            title = f"All languages, {part} packages — "
            lines += [report.distance_table(distance, results, totals, title=title), ""]
            if args.markdown:
                lines += [
                    f"{title}distance {distance} (Markdown)",
                    "",
                    report.markdown_table(results, totals),
                    "",
                ]
    lines += [
        "ok = correct, wrong = wrong place, lost = reported deleted or outdated,",
        "spur = deleted code reported found; percentages of the category's anchors",
        "",
    ]
    for part in parts:
        columns = []
        for key in languages:
            found = by_language[key].by_distance(part, distances)
            columns.append((LANGUAGES[key].title, report.language_targets(found), _anchors(found)))
        found = everything.by_distance(part, distances)
        columns.append(("all", report.language_targets(found), _anchors(found)))
        lines += [f"Targets, {part} packages (ok: met, NO: not met)", report.targets_matrix(columns), ""]
        if args.markdown:
            lines += [report.targets_matrix(columns, markdown=True), ""]
    slowest = sorted(
        (item for results in everything.parts.get("measured", {}).values() for item in results.slowest),
        reverse=True,
    )
    lines += ["Slowest file pairs for the engine (measured packages):"]
    lines += [f"  {seconds * 1000:8.0f} ms  {description}" for seconds, description in slowest[:5]]
    if args.dump_failures:
        for key in languages:
            for distance in distances:
                results = by_language[key].results("measured", distance)
                dump = report.failure_dump(
                    distance,
                    results,
                    args.dump_failures,
                    args.dump_category,
                    title=f"{LANGUAGES[key].title} · ",
                )
                if dump:
                    lines += ["", dump]
    return lines


def _title(name: str, language: _Language) -> str:
    measured = ", ".join(language.packages.get("measured", [])) or "none"
    held_out = ", ".join(language.packages.get("held out", [])) or "none"
    return f"{name} — measured: {measured}; held out: {held_out}"


def _anchors(by_distance: dict[int, Results]) -> int:
    return sum(results.anchors for results in by_distance.values())


def shrink_main(args: argparse.Namespace, languages: Sequence[str]) -> int:
    """Shrink one recorded engine failure of the languages' last run and print the small case."""
    document = json.loads(Path(args.output).read_text(encoding="utf-8"))
    if document.get("benchmark") != "relocation-languages":
        print(f"{args.output} is not the JSON of a --languages run")
        return 2
    distance = str(args.shrink_distance)
    recorded: list[dict[str, Any]] = []
    categories: set[str] = set()
    for key in languages:
        failures = (
            document["languages"]
            .get(key, {})
            .get("measured", {})
            .get(distance, {})
            .get("engine_failures", {})
        )
        categories.update(failures)
        for category, found in failures.items():
            if args.shrink.lower() in category.lower():
                recorded.extend(found)
    if not recorded:
        print(
            f"no recorded failures in a category matching {args.shrink!r} at distance {distance}; "
            f"categories: {', '.join(sorted(categories))}"
        )
        return 2
    if not 1 <= args.shrink_index <= len(recorded):
        print(f"{len(recorded)} failures recorded; --shrink-index must be 1–{len(recorded)}")
        return 2
    failure = recorded[args.shrink_index - 1]
    package = BY_NAME[failure["package"]]
    grammar = LANGUAGES[package.language]
    old_version, new_version = failure["old_version"], failure["new_version"]
    sources = {
        version: read_sources(package, download(args.cache, package, version))
        for version in (old_version, new_version)
    }
    print(
        f"{grammar.title} · {args.shrink} #{args.shrink_index}: {package.name} {old_version} → "
        f"{new_version} {failure['old_path']}:{failure['old_range'][0]}-{failure['old_range'][1]} "
        f"{failure['label']}"
    )
    try:
        small = shrink.shrink_failure(sources, failure, parse=grammar.parse)
    except (LookupError, ValueError) as error:
        print(f"cannot shrink: {error}")
        return 1
    print(small.render())
    return 0
