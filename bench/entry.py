"""The end of every benchmark's `main()`: SIGTERM as Ctrl-C, the run, the table, the JSON, the exit code."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C so that the same clean-up runs."""


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise Terminated()


def log(message: str) -> None:
    """Print progress to stderr."""
    print(message, file=sys.stderr, flush=True)


def run_benchmark(
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    report_text: Callable[[dict[str, Any]], str],
    *,
    failures: tuple[type[Exception], ...] = (),
) -> int:
    """Run, print the report, write it as JSON to `args.json_out`; return the exit code.

    `failures` are the errors reported on one line (exit code 1); an interruption (Ctrl-C or SIGTERM) exits
    with 130 or 143 once every process the benchmark started is stopped.
    """
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        report = run(args)
    except failures as exc:
        log(f"error: {exc}")
        return 1
    except KeyboardInterrupt as exc:
        log("interrupted; every process the benchmark started was stopped")
        return 143 if isinstance(exc, Terminated) else 130
    print(report_text(report))
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.json_out}")
    return 0
