"""Instructions per request: what an uncached listing and a reply cost the server, counted, not timed.

    .venv/bin/python bench/request_instructions.py                 # 100 requests of each kind, ≈ 8 minutes
    .venv/bin/python bench/request_instructions.py --requests 50 --kinds listing

Request rates on a shared virtual machine drift by a fifth between runs, which hides any change smaller
than that (docs/benchmarks.md, "API"). Instructions do not drift: this program runs the app in process
(httpx's ASGI transport, the app's middleware included, SQLite, encryption at rest on, as
`bench/profile_requests.py` does) under `valgrind --tool=callgrind`, once with a few warm-up requests and
once with as many more as `--requests`, and divides the difference by that number: start-up, seeding and
warm-up cancel out. Every thread counts (SQLite's work on the driver's thread, the log's checkpoints).

Kinds: `health` (`GET /healthz`: the in-process client and the middleware, the baseline of the same run),
`listing` (`GET /teams/{id}/codemarks?path=…&limit=50..56` with the answer cache emptied before each, every
codemark's answer kept from an earlier listing, as in `bench/api.py`'s uncached row) and `reply` (`POST
/codemarks/{id}/replies` to codemarks the replier does not follow yet, as `bench/api.py`'s replies mostly
are). The data: 300 codemarks over 6 files made by the server's service functions (`api.seed_service`); the
held-out data, reported apart, is the same shape made from another seed and never looked at while tuning.
Repeat runs agree within about 1 %. Needs valgrind (Debian's package).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api import API, Seeded, _text, in_process_client, seed_service
from entry import log, run_benchmark

HERE = Path(__file__).resolve().parent
KINDS = ("health", "listing", "reply")
CODEMARKS = 300
FILES = 6
WARM_UP = 3
SEEDS = {"measured": 1, "held out": 2}
_COLLECTED = re.compile(r"Collected : (\d+)")


class NoValgrind(Exception):
    """valgrind is not installed."""


class CountFailed(Exception):
    """A run under valgrind failed or printed no count."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0],
        epilog="See docs/benchmarks.md for recorded results.",
    )
    parser.add_argument(
        "--requests", type=int, default=100, help="requests of each kind counted (default 100)"
    )
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help=f"comma-separated kinds to count (default {','.join(KINDS)})"
    )
    parser.add_argument("--json-out", type=Path, default=HERE / "results" / "request_instructions.json")
    # The child's role: run the app in process and make the requests (what valgrind counts).
    parser.add_argument("--child", nargs=3, metavar=("KIND", "COUNT", "SEEDED_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    if not kinds or any(k not in KINDS for k in kinds):
        parser.error(f"--kinds takes some of {', '.join(KINDS)}")
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    args.kinds = kinds
    return args


def _settings(data_dir: Path) -> Any:
    from kibitz.settings import Settings

    return Settings.load(data_dir=data_dir, fast_password_hashing=True, encrypt_at_rest=True)


def seed(directory: Path, seed_value: int) -> None:
    """Make the data once, outside valgrind: the children copy it."""
    seeded = asyncio.run(
        seed_service(_settings(directory / "data"), CODEMARKS, random.Random(seed_value), files=FILES)
    )
    (directory / "seeded.json").write_text(json.dumps(asdict(seeded)), encoding="utf-8")


async def _requests(kind: str, count: int, seeded_dir: Path) -> None:
    """Run the app on a copy of the seeded data and make WARM_UP + `count` requests of one kind."""
    from sqlalchemy import text

    from kibitz.server.app import create_app

    seeded = Seeded(**json.loads((seeded_dir / "seeded.json").read_text(encoding="utf-8")))
    with tempfile.TemporaryDirectory(prefix="kibitz-instructions-") as tmp:
        shutil.copytree(seeded_dir / "data", Path(tmp) / "data")
        app = create_app(_settings(Path(tmp) / "data"))
        state = app.state.kibitz
        async with in_process_client(app, seeded.token) as c:
            listing_url = f"{API}/teams/{seeded.team_id}/codemarks"
            me = (await c.get(f"{API}/me")).raise_for_status().json()["user"]["id"]
            for path in seeded.paths:  # every codemark's answer kept, as after an editor's listings
                (await c.get(listing_url, params={"path": path, "limit": "50"})).raise_for_status()
            async with state.engine.connect() as connection:
                followed = text("SELECT codemark_id FROM follower WHERE user_id = :user")
                skip = set((await connection.execute(followed, {"user": me})).scalars())
                links = text("SELECT id FROM codemark WHERE type = 'link'")
                skip |= set((await connection.execute(links)).scalars())
            targets = [i for i in seeded.codemark_ids if i not in skip]
            rng = random.Random(1)
            texts = [_text(rng, 1, 3) for _ in range(100)]
            for i in range(WARM_UP + count):
                if kind == "reply":
                    body = {"text": texts[i % len(texts)]}
                    answer = await c.post(f"{API}/codemarks/{targets[i % len(targets)]}/replies", json=body)
                elif kind == "listing":
                    state.caches.listings.clear()
                    params = {"path": seeded.paths[i % len(seeded.paths)], "limit": str(50 + i % 7)}
                    answer = await c.get(listing_url, params=params)
                else:
                    answer = await c.get("/healthz")
                answer.raise_for_status()


def count_instructions(kind: str, count: int, seeded_dir: Path) -> int:
    """Run one child under callgrind and return the instructions it executed."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        str(count),
        str(seeded_dir),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise CountFailed(f"the {kind} run under valgrind failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Seed, count every kind on each data set, and return the report."""
    if shutil.which("valgrind") is None:
        raise NoValgrind("valgrind is not installed (Debian: apt-get install valgrind)")
    parts: dict[str, dict[str, Any]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="kibitz-instructions-seed-") as tmp,
        ThreadPoolExecutor(2) as pool,
    ):
        for part, seed_value in SEEDS.items():
            seeded_dir = Path(tmp) / part.replace(" ", "-")
            seeded_dir.mkdir()
            log(f"{part}: seeding {CODEMARKS} codemarks over {FILES} files (seed {seed_value})...")
            seed(seeded_dir, seed_value)
            rows: dict[str, Any] = {}
            for kind in args.kinds:
                log(f"{part}: {kind}, {WARM_UP} and {WARM_UP + args.requests} requests under callgrind...")
                # The two runs are independent processes: one per CPU.
                runs = [pool.submit(count_instructions, kind, n, seeded_dir) for n in (0, args.requests)]
                base, more = (r.result() for r in runs)
                rows[kind] = {
                    "instructions_per_request": (more - base) / args.requests,
                    "instructions_warm_up_run": base,
                    "instructions_counted_run": more,
                }
            health = rows.get("health", {}).get("instructions_per_request")
            for row in rows.values():
                row["over_health"] = row["instructions_per_request"] / health if health else None
            parts[part] = rows
    return {
        "benchmark": "request_instructions",
        "parameters": {
            "requests": args.requests,
            "warm_up": WARM_UP,
            "codemarks": CODEMARKS,
            "files": FILES,
            "seeds": SEEDS,
            "encryption_at_rest": True,
            "database": "sqlite",
        },
        "python": sys.version.split()[0],
        "results": parts,
    }


def report_text(report: dict[str, Any]) -> str:
    """Render the report as a table."""
    lines = [
        "| data | request | instructions per request (millions) | × GET /healthz |",
        "|---|---|--:|--:|",
    ]
    for part, rows in report["results"].items():
        for kind, row in rows.items():
            ratio = row["over_health"]
            shown = f"{ratio:.2f}" if ratio is not None else "—"
            lines.append(f"| {part} | {kind} | {row['instructions_per_request'] / 1e6:.2f} | {shown} |")
    parameters = report["parameters"]
    lines.append(
        f"\n{parameters['requests']} requests of each kind after {parameters['warm_up']} warm-up requests, "
        f"in process under valgrind's callgrind, Python {report['python']}, SQLite, encryption at rest on."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Count, print the table, write the JSON."""
    args = parse_args(argv)
    if args.child:
        kind, count, seeded_dir = args.child
        asyncio.run(_requests(kind, int(count), Path(seeded_dir)))
        return 0
    return run_benchmark(args, run, report_text, failures=(NoValgrind, CountFailed))


if __name__ == "__main__":
    sys.exit(main())
