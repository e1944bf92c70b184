"""Benchmark the language server as an editor feels it, next to the same relocation done in-process.

    .venv/bin/python bench/editor.py                      # 10 files of 3,000 lines, 200 codemarks each
    .venv/bin/python bench/editor.py --files 3 --edits 50 # quicker
    .venv/bin/python bench/editor.py --source DIR         # cut the files from DIR's Python files instead

What it does:

1. cuts `--files` texts of 3,000 lines from the standard library of the interpreter running it (held out:
   the relocation engine is tuned on ten PyPI packages, see bench/relocation.py), commits them to a fresh
   git repository, starts a real Kibitz server (`tests/server_process.py`), signs up, creates a team and
   links the repository with the real `kibitz` command, and pins 200 codemarks of 1–20 lines on each file
   with the client library (as `kibitz add` does);
2. starts `kibitz lsp` as an editor does (stdio, `initializationOptions` `{"debounceMs": 0}`: the server's
   debounce only adds waiting, which an editor would add as well) and times, from writing the message to
   reading the answer: `didOpen` of the first file to its published diagnostics (cold: the server's first
   document), `didClose` + `didOpen` again (warm, `--opens` times), and `--edits` `didChange`s — a line typed
   or deleted between blocks, never inside one — each to the first publication that has every codemark at
   its expected line;
3. opens the other files and reads the language server's memory (resident set of it and its children);
4. as the baseline, locates the same markers in-process with `kibitz.locate` on the same buffer texts (open,
   and after each of the same edits), without the LSP, the JSON-RPC or a second process;
5. prints a table with the targets (warm open ≤ 100 ms, edit ≤ 50 ms p95, memory ≤ 150 MB) and writes JSON.

It runs on one machine with everything else: read the load average it prints, and run it on a quiet machine
for numbers to keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The server-process and git helpers live with the tests: a checkout of the repository has both directories.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.git_helpers import GIT_ENV, make_repo
from tests.server_process import KIBITZ, ServerDidNotStart, clean_environment, kibitz_server

from editorbench.lsp_client import LspClient, Published, ServerError
from editorbench.workload import Buffer, Edit, cut_files, next_edit, pick_blocks, source_files
from entry import log, run_benchmark
from kibitz.client import KibitzClient
from kibitz.gitrepo import LineRange, ObjectReader
from kibitz.locate import InWorkingTree, PinnedMarker, locate, pin

HERE = Path(__file__).resolve().parent
PASSWORD = "bench-password-123"
TARGETS = {"warm_open_ms": 100.0, "edit_p95_ms": 50.0, "memory_mb": 150.0}
TYPES = ["comment"] * 5 + ["question"] * 3 + ["issue"] * 2
OPEN_SECONDS = 30.0
EDIT_SECONDS = 3.0
Block = tuple[int, int]


class SetupError(RuntimeError):
    """The workload could not be built (a command failed, the sources are too short)."""


@dataclass(frozen=True, slots=True)
class File:
    """A file of the workload: its path in the repository, its text and its codemarks' blocks by id."""

    path: str
    text: str
    blocks: dict[str, Block]


# ----------------------------------------------------------------------------------------------------
# Building the workload: repository, server account, codemarks.


def kibitz_command(config: Path, *args: str, cwd: Path, stdin: str | None = None) -> str:
    """Run the real `kibitz` with its own configuration directory; return its stdout."""
    env = {**clean_environment(), **GIT_ENV, "KIBITZ_CONFIG_DIR": str(config)}
    done = subprocess.run(
        [str(KIBITZ), *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SetupError(f"kibitz {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def build_workload(args: argparse.Namespace, work: Path, server_url: str) -> tuple[Path, Path, list[File]]:
    """Commit the files, sign up, link the repository and pin the codemarks; return repo, config, files."""
    try:
        texts = cut_files(source_files(args.source), args.files)
    except ValueError as error:
        raise SetupError(str(error)) from error
    paths = [f"src/module_{number:02d}.py" for number in range(len(texts))]
    repo = make_repo(work / "repo", dict(zip(paths, texts, strict=True)))
    config = work / "config"
    signup = ["signup", "--server", server_url, "--email", "bench@example.org", "--name", "Bench"]
    kibitz_command(config, *signup, "--password-stdin", cwd=work, stdin=PASSWORD + "\n")
    kibitz_command(config, "team", "create", "Bench", cwd=work)
    linked = json.loads(kibitz_command(config, "init", "--json", cwd=repo))
    team_id, repo_id = linked["team_id"], linked["repo"]["id"]
    stored = json.loads((config / "credentials.json").read_text(encoding="utf-8"))
    rng = random.Random(args.seed)
    files: list[File] = []
    with KibitzClient(stored["server"], stored["token"]) as client, ObjectReader(repo) as reader:
        for path, text in zip(paths, texts, strict=True):
            blocks: dict[str, Block] = {}
            for first, last in pick_blocks(text, args.codemarks, rng):
                marker = pin(reader, repo_id, path, LineRange(first, last), text)
                made = client.create_codemark(
                    team_id, type=rng.choice(TYPES), text=f"About lines {first}-{last}", markers=[marker]
                )
                blocks[made["id"]] = (first, last)
            files.append(File(path, text, blocks))
            log(f"pinned {len(blocks)} codemarks on {path}")
    return repo, config, files


# ----------------------------------------------------------------------------------------------------
# Reading what the server published.


def published_places(published: Published) -> dict[str, Block]:
    """Return the blocks (1-based, inclusive) of a publication's kibitz diagnostics by codemark id.

    A range ends at the end of the block's last line, as the server writes it (a blank last line ends at
    character 0 of that line).
    """
    seen: dict[str, Block] = {}
    for diagnostic in published.diagnostics:
        if diagnostic.get("source") == "kibitz":
            lsp_range = diagnostic["range"]
            seen[str(diagnostic.get("code"))] = (lsp_range["start"]["line"] + 1, lsp_range["end"]["line"] + 1)
    return seen


def wrong_places(published: Published, expected: Mapping[str, Block]) -> int:
    """Return how many codemarks are missing from a publication or not at their expected lines."""
    seen = published_places(published)
    return sum(1 for key, block in expected.items() if seen.get(key) != block)


def misplaced(published: Published | None, expected: Mapping[str, Block]) -> str:
    """Describe what a publication got wrong, for an error message."""
    if published is None:
        return "nothing was published"
    seen = published_places(published)
    wrong = [(key, block, seen.get(key)) for key, block in expected.items() if seen.get(key) != block]
    examples = ", ".join(f"{key} at {found} instead of {block}" for key, block, found in wrong[:3])
    return f"{len(wrong)} of {len(expected)} codemarks misplaced or missing ({examples})"


@dataclass(frozen=True, slots=True)
class Waited:
    """The publications read while waiting: the first (of the version waited for), the first with every
    block at its line (None if none came in time), and the last."""

    first: Published
    placed: Published | None
    last: Published


async def wait_until_placed(
    client: LspClient, uri: str, expected: Mapping[str, Block], seconds: float, version: int | None = None
) -> Waited:
    """Read publications for `uri` (of `version` or later) until one has every block at its line."""
    first: Published | None = None
    last: Published | None = None
    deadline = time.perf_counter() + seconds
    while True:
        left = deadline - time.perf_counter()
        try:
            published = await client.next_published(uri, max(left, 0.001))
        except TimeoutError:
            if first is None or last is None:
                raise
            return Waited(first, None, last)
        if version is not None and published.version is not None and published.version < version:
            continue
        first, last = first or published, published
        if wrong_places(published, expected) == 0:
            return Waited(first, published, published)


# ----------------------------------------------------------------------------------------------------
# The language server, timed.


def change_event(edit: Edit, buffer: Buffer, incremental: bool) -> dict[str, Any]:
    """Return the didChange content change for `edit` (already applied to `buffer`)."""
    if not incremental:
        return {"text": buffer.text}
    line = edit.line - 1
    if edit.insert is None:
        span = {"start": {"line": line, "character": 0}, "end": {"line": line + 1, "character": 0}}
        return {"range": span, "text": ""}
    at = {"line": line, "character": 0}
    return {"range": {"start": at, "end": at}, "text": edit.insert}


def tree_memory_kb(pid: int) -> dict[str, int]:
    """Return the resident set (now and peak, kB) of a process, and of it with all its descendants."""

    def status(one: int) -> dict[str, int]:
        found = {"VmRSS": 0, "VmHWM": 0}
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                name, _, value = line.partition(":")
                if name in found:
                    found[name] = int(value.split()[0])
        except OSError:
            pass
        return found

    def children(one: int) -> list[int]:
        found: list[int] = []
        for task in Path(f"/proc/{one}/task").glob("*"):
            try:
                found += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
        return found

    own = status(pid)
    total, stack = 0, [pid]
    while stack:
        one = stack.pop()
        total += status(one)["VmRSS"]
        stack += children(one)
    return {"rss_kb": own["VmRSS"], "peak_kb": own["VmHWM"], "tree_rss_kb": total}


async def measure_lsp(
    args: argparse.Namespace, repo: Path, config: Path, files: list[File]
) -> dict[str, Any]:
    """Time open (cold, warm) and edits on the first file, then open the rest and read the memory."""
    env = {**clean_environment(), **GIT_ENV, "KIBITZ_CONFIG_DIR": str(config)}
    client = await LspClient.start([str(KIBITZ), "lsp"], env, str(repo))
    try:
        capabilities = {
            "textDocument": {"publishDiagnostics": {"versionSupport": True}, "codeLens": {}, "hover": {}},
            "workspace": {"codeLens": {"refreshSupport": True}, "workspaceFolders": True},
        }
        initialized = await client.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": repo.as_uri(),
                "workspaceFolders": [{"uri": repo.as_uri(), "name": repo.name}],
                "capabilities": capabilities,
                "initializationOptions": {"debounceMs": 0},
            },
        )
        await client.notify("initialized", {})
        sync = initialized["capabilities"].get("textDocumentSync", 1)
        incremental = (sync if isinstance(sync, int) else sync.get("change", 1)) == 2
        first = files[0]
        uri = (repo / first.path).as_uri()

        async def open_file(file: File, version: int = 1) -> float:
            file_uri = (repo / file.path).as_uri()
            document = {"uri": file_uri, "languageId": "python", "version": version, "text": file.text}
            started = time.perf_counter()
            await client.notify("textDocument/didOpen", {"textDocument": document})
            waited = await wait_until_placed(client, file_uri, file.blocks, OPEN_SECONDS)
            if waited.placed is None:
                raise ServerError(f"{file.path}: {misplaced(waited.last, file.blocks)}")
            return (waited.placed.at - started) * 1000

        cold_ms = await open_file(first)
        warm_ms: list[float] = []
        for _ in range(args.opens):
            await client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
            await asyncio.sleep(0.05)
            client.drain_published()
            warm_ms.append(await open_file(first))
        log(f"lsp: cold open {cold_ms:.0f} ms, warm open median {statistics.median(warm_ms):.1f} ms")

        rng = random.Random(args.seed + 1)
        buffer = Buffer.of(first.text)
        edits: list[Edit] = []
        first_ms: list[float] = []
        right_ms: list[float] = []
        misses = 0
        for version in range(2, args.edits + 2):
            edit = next_edit(buffer, list(first.blocks.values()), rng)
            buffer.apply(edit)
            edits.append(edit)
            expected = {key: buffer.where(block) for key, block in first.blocks.items()}
            client.drain_published()
            started = time.perf_counter()
            await client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [change_event(edit, buffer, incremental)],
                },
            )
            waited = await wait_until_placed(client, uri, expected, EDIT_SECONDS, version)
            first_ms.append((waited.first.at - started) * 1000)
            if waited.placed is None:
                misses += 1
                log(f"edit {version - 1}: {misplaced(waited.last, expected)}")
            else:
                right_ms.append((waited.placed.at - started) * 1000)
        log(f"lsp: {len(edits)} edits, p95 {percentile(right_ms, 95):.1f} ms, {misses} never placed right")

        for file in files[1:]:
            await open_file(file)
        memory = tree_memory_kb(client.process.pid)
        log(f"lsp: {len(files)} files open, {memory['rss_kb'] / 1024:.0f} MB resident")
        return {
            "incremental_sync": incremental,
            "cold_open_ms": cold_ms,
            "warm_open_ms": warm_ms,
            "edit_first_publication_ms": first_ms,
            "edit_placed_ms": right_ms,
            "edits_never_placed": misses,
            "memory": memory,
            "files_open": len(files),
            "edits": [[edit.line, edit.insert] for edit in edits],
        }
    finally:
        await client.stop()


# ----------------------------------------------------------------------------------------------------
# The baseline: the same relocation in-process.


def measure_in_process(
    args: argparse.Namespace, repo: Path, config: Path, file: File, edits: Sequence[Edit]
) -> dict[str, Any]:
    """Locate the first file's markers in-process with `kibitz.locate`: open, then after each edit."""
    stored = json.loads((config / "credentials.json").read_text(encoding="utf-8"))
    with KibitzClient(stored["server"], stored["token"]) as client:
        team_id = client.list_teams()[0]["id"]
        codemarks = [c for c in client.iter_codemarks(team_id, path=file.path) if c["id"] in file.blocks]
    markers = [PinnedMarker(codemark["id"], codemark["markers"][0]) for codemark in codemarks]
    by_marker = {codemark["markers"][0]["id"]: codemark["id"] for codemark in codemarks}

    def timed(text: str, expected: Mapping[str, Block]) -> tuple[float, int]:
        started = time.perf_counter()
        with ObjectReader(repo) as reader:
            placed = locate(reader, markers, InWorkingTree({file.path: text}))
        elapsed = (time.perf_counter() - started) * 1000
        wrong = sum(
            1
            for marker_id, placement in placed.items()
            if (placement.start_line, placement.end_line) != expected[by_marker[marker_id]]
        )
        return elapsed, wrong

    cold_ms, wrong_at_open = timed(file.text, file.blocks)
    warm_ms = [timed(file.text, file.blocks)[0] for _ in range(args.opens)]
    buffer = Buffer.of(file.text)
    edit_ms: list[float] = []
    wrong_after_edits = 0
    for edit in edits:
        buffer.apply(edit)
        expected = {key: buffer.where(block) for key, block in file.blocks.items()}
        elapsed, wrong = timed(buffer.text, expected)
        edit_ms.append(elapsed)
        wrong_after_edits += wrong
    log(f"in-process: open {statistics.median(warm_ms):.1f} ms, edit p95 {percentile(edit_ms, 95):.1f} ms")
    return {
        "cold_open_ms": cold_ms,
        "warm_open_ms": warm_ms,
        "edit_ms": edit_ms,
        "wrong_at_open": wrong_at_open,
        "wrong_after_edits": wrong_after_edits,
    }


# ----------------------------------------------------------------------------------------------------
# The run and the report.


def percentile(values: Sequence[float], percent: float) -> float:
    """Return the `percent` percentile of `values` (nearest rank); NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(percent / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the workload, measure the language server and the in-process baseline; return the report."""
    load_before = os.getloadavg()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="kibitz-editor-bench-") as scratch:
        work = Path(scratch)
        with kibitz_server(work / "server.log", settings={"data_dir": work / "data"}) as server:
            repo, config, files = build_workload(args, work, server.url)
            lsp = asyncio.run(measure_lsp(args, repo, config, files))
            edits = [Edit(line, insert) for line, insert in lsp["edits"]]
            baseline = measure_in_process(args, repo, config, files[0], edits)
    warm, edit_p95 = statistics.median(lsp["warm_open_ms"]), percentile(lsp["edit_placed_ms"], 95)
    memory_mb = lsp["memory"]["rss_kb"] / 1024
    return {
        "parameters": {
            "files": args.files,
            "lines_per_file": 3000,
            "codemarks_per_file": args.codemarks,
            "opens": args.opens,
            "edits": args.edits,
            "seed": args.seed,
            "source": str(args.source),
            "debounce_ms": 0,
        },
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)),
            "seconds": round(time.time() - started, 1),
        },
        "lsp": lsp,
        "in_process": baseline,
        "summary": {
            "warm_open_ms": warm,
            "edit_p95_ms": edit_p95,
            "memory_mb": memory_mb,
        },
        "targets": {
            name: {"target": target, "met": summary <= target}
            for (name, target), summary in zip(TARGETS.items(), (warm, edit_p95, memory_mb), strict=True)
        },
    }


def report_text(report: dict[str, Any]) -> str:
    """Return the human-readable report."""
    p, m, lsp, base = report["parameters"], report["machine"], report["lsp"], report["in_process"]

    def ms(value: float) -> str:
        return f"{value:.1f}"

    rows = [
        ("open, cold (first document)", ms(lsp["cold_open_ms"]), ms(base["cold_open_ms"]), ""),
        (
            f"open, warm: median / p95 of {p['opens']}",
            f"{ms(statistics.median(lsp['warm_open_ms']))} / {ms(percentile(lsp['warm_open_ms'], 95))}",
            f"{ms(statistics.median(base['warm_open_ms']))} / {ms(percentile(base['warm_open_ms'], 95))}",
            "≤ 100 (median)",
        ),
        (
            f"edit → positions: p50 / p95 of {p['edits']}",
            f"{ms(percentile(lsp['edit_placed_ms'], 50))} / {ms(percentile(lsp['edit_placed_ms'], 95))}",
            f"{ms(percentile(base['edit_ms'], 50))} / {ms(percentile(base['edit_ms'], 95))}",
            "≤ 50 (p95)",
        ),
        (
            "edit → first publication: p50 / p95",
            f"{ms(percentile(lsp['edit_first_publication_ms'], 50))} / "
            f"{ms(percentile(lsp['edit_first_publication_ms'], 95))}",
            "",
            "",
        ),
        (
            f"memory, {lsp['files_open']} files open (MB): resident / peak",
            f"{lsp['memory']['rss_kb'] / 1024:.0f} / {lsp['memory']['peak_kb'] / 1024:.0f}"
            f" (with children {lsp['memory']['tree_rss_kb'] / 1024:.0f})",
            "",
            "≤ 150",
        ),
        (
            "codemarks at the wrong lines",
            f"{lsp['edits_never_placed']} of {p['edits']} edits never placed right",
            f"{base['wrong_at_open']} at open, {base['wrong_after_edits']} over the edits",
            "0",
        ),
    ]
    header = ("measurement (ms unless said)", "kibitz lsp", "in-process locate", "target")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    lines = [
        f"Editor benchmark: {p['files']} files × {p['lines_per_file']} lines × {p['codemarks_per_file']} "
        f"codemarks, cut from {p['source']} (held out from the relocation engine's tuning); server debounce "
        f"{p['debounce_ms']} ms; didChange {'incremental' if lsp['incremental_sync'] else 'full text'}",
        f"{m['cpu_count']} CPUs, Python {m['python']}, started {m['started']}, {m['seconds']} s; "
        f"load average {m['load_average_before'][0]:.2f} before, {m['load_average_after'][0]:.2f} after",
        "",
        "  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)),
        "  ".join("-" * width for width in widths),
    ]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    lines.append("")
    for name, target in report["targets"].items():
        value = report["summary"][name]
        lines.append(
            f"{name}: {value:.1f} (target ≤ {target['target']:g}: {'met' if target['met'] else 'NOT met'})"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(
        description="Time `kibitz lsp` on 3,000-line files with 200 codemarks each, and in-process locate.",
        epilog="See docs/benchmarks.md for recorded results.",
    )
    parser.add_argument("--files", type=int, default=10, help="files open at once for the memory (10)")
    parser.add_argument("--codemarks", type=int, default=200, help="codemarks per file (200)")
    parser.add_argument("--opens", type=int, default=20, help="warm opens to time (20)")
    parser.add_argument("--edits", type=int, default=200, help="edits to time (200)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the codemarks and the edits (7)")
    parser.add_argument(
        "--source",
        type=Path,
        default=Path(sysconfig.get_paths()["stdlib"]),
        help="directory whose Python files the texts are cut from (this interpreter's standard library)",
    )
    parser.add_argument(
        "--json-out",
        type=Path,
        default=HERE / "results" / "editor.json",
        help="JSON output (bench/results/editor.json)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table and write the JSON."""
    failures = (SetupError, ServerDidNotStart, ServerError, TimeoutError)
    return run_benchmark(parse_args(argv), run, report_text, failures=failures)


if __name__ == "__main__":
    sys.exit(main())
