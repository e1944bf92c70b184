"""What every run of the relocation benchmark does per package, whatever the language: score its history.

``bench/relocation.py`` calls these for the Python packages and, with ``--languages``, for the others
(``relocbench/languages.py``), so both measure and describe a package the same way.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kibitz.anchoring import ALGORITHM_VERSION

from .history import History, Stats
from .report import overall
from .score import Results, score_pair

ROOT = Path(__file__).resolve().parents[2]


@dataclass(slots=True)
class Scored:
    """One package at one distance: the scored results and how much of the history was looked at."""

    results: Results
    stats: Stats

    def summary(self) -> dict[str, Any]:
        """Return the package's line of the JSON document: anchors, engine accuracy and speed, counters."""
        engine = overall(self.results, "engine")
        return {
            "anchors": self.results.anchors,
            "engine_correct_percent": engine.percent(engine.correct),
            "engine_anchors_per_second": round(self.speed, 1),
            "stats": {name: getattr(self.stats, name) for name in self.stats.__dataclass_fields__},
        }

    @property
    def speed(self) -> float:
        """Return the engine's anchors per second (wall time, one core)."""
        seconds = self.results.seconds.get("engine", 0.0)
        return self.results.anchors / seconds if seconds else 0.0

    def log_line(self, name: str, distance: int) -> str:
        """Return the progress line printed for the package at this distance."""
        engine = overall(self.results, "engine")
        return (
            f"  {name:10} distance {distance}: {self.stats.version_pairs} version pairs, "
            f"{self.stats.file_pairs} file pairs, {self.results.anchors} anchors, "
            f"engine exact {engine.percent(engine.correct) or 0:.2f} %, {self.speed:,.0f} anchors/s"
        )


def score_history(
    history: History,
    distances: Sequence[int],
    keep: int,
    keep_methods: Sequence[str],
    *,
    with_code: bool,
    budget: float | None = None,
) -> dict[int, Scored]:
    """Score the engine and the baselines on every file pair of a history, per distance.

    ``budget`` is the engine's time budget per call (None: none, so that accuracy does not depend on the
    machine's load).
    """
    scored: dict[int, Scored] = {}
    for distance in distances:
        stats = Stats()
        results = Results()
        for pair in history.file_pairs(distance, stats):
            results.merge(score_pair(pair, keep, keep_methods, with_code=with_code, budget=budget), keep)
        scored[distance] = Scored(results, stats)
    return scored


def document_head(
    benchmark: str, command: str, *, ranges_only: bool, budget: float | None, elapsed: float
) -> dict[str, Any]:
    """Return the fields every relocation benchmark's JSON document starts with: what ran, how, where."""
    return {
        "benchmark": benchmark,
        "command": command,
        "anchors_carry_code": not ranges_only,
        "engine_budget_seconds": budget,
        "algorithm_version": ALGORITHM_VERSION,
        "engine_commit": engine_commit(),
        "machine": machine(),
        "elapsed_seconds": round(elapsed, 1),
    }


def machine() -> dict[str, Any]:
    """Return what the JSON document says about the machine."""
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}


def engine_commit() -> str | None:
    """Return the commit of the working tree and whether the engine's files differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src/kibitz/anchoring"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head}{' + uncommitted engine changes' if dirty else ''}"
