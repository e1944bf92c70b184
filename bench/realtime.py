"""Benchmark the realtime feed: 1,000 WebSocket subscribers on one team, replies written at rising rates.

    .venv/bin/python bench/realtime.py                          # SQLite, 1,000 subscribers, ≈ 3 minutes
    .venv/bin/python bench/realtime.py --rates 5,10 --phase-seconds 5 --subscribers 200
    .venv/bin/python bench/realtime.py --database-url postgresql://postgres@127.0.0.1:5432/postgres \\
        --redis-url redis://127.0.0.1:6379/0

What it does:

1. starts one Kibitz server process (`kibitz.server.runner.serve`, as `kibitz server run` does; SQLite in a
   temporary data directory by default, or a scratch PostgreSQL database it creates and drops) and signs up
   one person, who creates a team and a codemark;
2. opens the subscribers from a few client processes (`--client-processes`, 2 by default), each a minimal
   WebSocket client on a raw asyncio protocol (no compression, a few microseconds per frame, so that the
   load generator leaves the server its CPU); every subscriber subscribes with `after=0`, checks that every
   event's `seq` is its previous one plus one, and answers the server's pings;
3. runs a schedule of rates (`--rates`, events/s): for each rate, the writer adds replies at that steady rate
   for `--phase-seconds` (open loop: a reply is sent at its time whether or not the previous one was
   answered); the reply text carries the writer's wall-clock time just before it sends the request, and
   each subscriber's latency for an event is its receive time minus that time (all processes are on this
   machine, on one clock). The schedule stops early once p99 exceeds 4 × the target or events are lost;
4. does the same against a baseline in the same run: a bare Starlette WebSocket broadcast server (no
   database, no auth, one task sending each message to every socket in turn) to which the writer posts the
   same message a Kibitz subscriber receives (a real `reply.added` event of the same size);
5. prints a table per server (offered and achieved rates, deliveries/s, p50/p99/max latency over every
   subscriber and event, lost events, gaps, cut-offs, server CPU) and writes JSON (`--json-out`, default
   bench/results/realtime.json).

By default the server is pinned to CPU 0 and the client processes and the writer to the other CPUs
(`--no-pin` lets the scheduler decide). Every process it starts is stopped on exit, Ctrl-C, SIGTERM or error,
and the whole run is bounded by `--max-seconds`.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import contextlib
import json
import math
import os
import platform
import re
import resource
import secrets
import struct
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

# The server-process helper lives with the tests: a checkout of the repository has both directories.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server_process import HOST, ServerDidNotStart, ServerProcess, child_setup, free_port, kibitz_server

from entry import log, run_benchmark

SELF = Path(__file__).resolve()
HERE = SELF.parent
PASSWORD = "correct horse battery staple"
TARGET_P99_MS = 250.0
# The marker a subscriber looks for in a reply's text: phase, index, send time.
MARK = re.compile(rb"kbench\|(\d+)\|(\d+)\|(\d+\.\d+)\|")
SEQ = re.compile(rb'^\{"seq":(\d+),')


def raise_fd_limit(needed: int) -> None:
    """Raise RLIMIT_NOFILE towards `needed` (up to the hard limit); complain if that is not enough."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        log(f"warning: the file descriptor limit is {soft}, below the {needed} this run needs")


def pin(cpus: set[int] | None) -> None:
    """Pin this process (and the threads it starts later) to `cpus`, if given."""
    if cpus:
        os.sched_setaffinity(0, cpus)


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time a process (all its threads) has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(ordered: list[float] | array.array[float], q: float) -> float:
    """Return the q-quantile (0–1) of sorted values by the nearest-rank method (nan when empty)."""
    if not ordered:
        return math.nan
    return float(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))])


# ----------------------------------------------------------------------------------------------------
# The baseline server: a bare Starlette WebSocket broadcast (run as a child: `realtime.py _baseline PORT`).


def baseline_app() -> Any:
    """Return a Starlette app that broadcasts each POSTed message to every subscribed WebSocket in turn.

    The message's `{seq}` placeholder is replaced by the next number in broadcast order.

    It speaks the first step of the Kibitz protocol (a `subscribe` message answered by `subscribed`) and
    nothing else: no authentication, no database, no per-subscriber queue.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    sockets: set[WebSocket] = set()
    outbox: asyncio.Queue[str] = asyncio.Queue()
    broadcaster: list[asyncio.Task[None]] = []

    async def broadcast() -> None:
        seq = 0
        while True:
            # The seq is given here, in broadcast order, as the Kibitz server gives it in commit order.
            seq += 1
            text = (await outbox.get()).replace("{seq}", str(seq), 1)
            for ws in list(sockets):
                try:
                    await ws.send_text(text)
                except Exception:
                    sockets.discard(ws)

    async def stream(ws: WebSocket) -> None:
        await ws.accept()
        try:
            first = json.loads(await ws.receive_text())
            await ws.send_text(json.dumps({"type": "subscribed", "team_id": first.get("team_id"), "head": 0}))
            sockets.add(ws)
            while True:
                await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError, ValueError):
            pass
        finally:
            sockets.discard(ws)

    async def publish(request: Request) -> Response:
        if not broadcaster:
            broadcaster.append(asyncio.create_task(broadcast()))
        outbox.put_nowait((await request.body()).decode())
        return Response(status_code=204)

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            WebSocketRoute("/api/v1/stream", stream),
            Route("/publish", publish, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )


def baseline_child(argv: list[str]) -> None:
    """Child entry point `_baseline PORT`: serve the baseline with the flags Kibitz is served with."""
    import uvicorn

    uvicorn.run(
        baseline_app(),
        host=HOST,
        port=int(argv[0]),
        log_level="warning",
        server_header=False,
        proxy_headers=False,
        access_log=False,
        ws_max_size=64 * 1024,
        ws_per_message_deflate=False,
    )


def baseline_server(work: Path, cpus: list[int]) -> ServerProcess:
    """Return the bare broadcast server (not started), pinned to `cpus` like the Kibitz server."""
    port = free_port()
    return ServerProcess(
        [sys.executable, str(SELF), "_baseline", str(port)],
        port=port,
        log_path=work / "baseline.log",
        cpus=cpus,
        name="baseline server",
    )


# ----------------------------------------------------------------------------------------------------
# Client processes: many subscribers on a minimal WebSocket client (run as `realtime.py _clients CONFIG`).


@dataclass
class ClientStats:
    """What one client process saw, summed over its subscribers."""

    connected: int = 0
    failed: int = 0
    events: int = 0
    gaps: int = 0
    closes: dict[str, int] = field(default_factory=dict)


class Subscriber(asyncio.Protocol):
    """One WebSocket subscriber: handshake, `subscribe`, then unmasked server frames parsed by hand."""

    def __init__(self, owner: ClientProcess, host: str, path: str, token: str, team_id: str) -> None:
        self.owner = owner
        key = base64.b64encode(os.urandom(16)).decode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{auth}\r\n"
        ).encode()
        self.subscribe = json.dumps({"type": "subscribe", "team_id": team_id, "after": 0}).encode()
        self.buffer = bytearray()
        self.upgraded = False
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.last = 0
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the upgrade request."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def _send(self, opcode: int, payload: bytes) -> None:
        # Client frames are masked (RFC 6455 §5.3).
        assert self.transport is not None
        mask = os.urandom(4)
        n = len(payload)
        header = bytes([0x80 | opcode]) + (
            bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n)
        )
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
        self.transport.write(header + mask + masked)

    def data_received(self, data: bytes) -> None:
        """Parse the handshake answer, then every complete frame in the buffer."""
        now = time.time()
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[: self.buffer.find(b"\r\n")])
            del self.buffer[: end + 4]
            if b" 101 " not in status:
                self._fail(f"handshake refused: {status.decode(errors='replace')}")
                return
            self.upgraded = True
            self._send(0x1, self.subscribe)
        buf = self.buffer
        while len(buf) >= 2:
            opcode, length = buf[0] & 0x0F, buf[1] & 0x7F
            start = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, start = struct.unpack_from("!H", buf, 2)[0], 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, start = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < start + length:
                return
            payload = bytes(buf[start : start + length])
            del buf[: start + length]
            if opcode == 0x1:
                self._message(payload, now)
            elif opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self._fail(f"closed {self.close_code}")
                return

    def _message(self, payload: bytes, now: float) -> None:
        match = SEQ.match(payload)
        if match is None:
            if not self.subscribed.done():
                if b'"subscribed"' in payload[:40]:
                    self.subscribed.set_result(None)
                else:
                    self._fail(payload[:200].decode(errors="replace"))
            return
        seq = int(match.group(1))
        if seq != self.last + 1:
            self.owner.stats.gaps += 1
        self.last = seq
        self.owner.stats.events += 1
        mark = MARK.search(payload)
        if mark is not None:
            phase = int(mark.group(1))
            self.owner.latencies(phase).append(now - float(mark.group(3)))

    def _fail(self, why: str) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError(why))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        """Count how the connection ended."""
        code = str(self.close_code or 1006)
        self.owner.stats.closes[code] = self.owner.stats.closes.get(code, 0) + 1
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError(f"connection lost: {exc}"))


def write_latencies(path: str, values: array.array[float]) -> None:
    """Write a phase's latencies (seconds, native doubles) for the parent to read."""
    Path(path).write_bytes(values.tobytes())


def take_latencies(path: str) -> array.array[float]:
    """Read and delete the latencies a client process wrote."""
    values = array.array("d")
    values.frombytes(Path(path).read_bytes())
    Path(path).unlink()
    return values


class ClientProcess:
    """A client process holding many subscribers, driven by lines on stdin, reporting on stdout."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.stats = ClientStats()
        self._latencies: dict[int, array.array[float]] = {}
        self.subscribers: list[Subscriber] = []

    def latencies(self, phase: int) -> array.array[float]:
        """Return the latency list of a phase."""
        found = self._latencies.get(phase)
        if found is None:
            found = self._latencies[phase] = array.array("d")
        return found

    def say(self, *words: object) -> None:
        """Write one line to the parent."""
        sys.stdout.write(" ".join(str(w) for w in words) + "\n")
        sys.stdout.flush()

    async def connect_all(self) -> None:
        """Open and subscribe every subscriber, a batch at a time."""
        loop = asyncio.get_running_loop()
        c = self.config
        url = urlsplit(c["ws_url"])
        host, port = url.hostname or HOST, url.port or 80

        async def one() -> None:
            sub = Subscriber(self, f"{host}:{port}", url.path, c["token"], c["team_id"])
            try:
                await loop.create_connection(lambda: sub, host, port)
                await asyncio.wait_for(sub.subscribed, 60)
            except (OSError, ConnectionError, TimeoutError) as exc:
                self.stats.failed += 1
                if self.stats.failed <= 3:
                    log(f"subscriber failed: {exc}")
                return
            self.subscribers.append(sub)

        for start in range(0, c["count"], 50):
            await asyncio.gather(*(one() for _ in range(start, min(c["count"], start + 50))))
        self.stats.connected = len(self.subscribers)

    async def run(self) -> None:
        """Connect, then obey `count`, `report PHASE`, `stop` on stdin."""
        await self.connect_all()
        self.say("ready", self.stats.connected, self.stats.failed)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).decode().split():
            if line[0] == "count":
                phase = int(line[1])
                self.say("count", len(self._latencies.get(phase, ())))
            elif line[0] == "report":
                phase = int(line[1])
                values = self._latencies.pop(phase, array.array("d"))
                write_latencies(self.config["out"] + f".{phase}", values)
                open_now = sum(1 for s in self.subscribers if s.close_code is None)
                self.say("report", json.dumps({**asdict(self.stats), "open": open_now}))
            elif line[0] == "stop":
                break
        for sub in self.subscribers:
            if sub.transport is not None:
                sub.transport.close()
        await asyncio.sleep(0.2)
        self.say("bye")


def clients_child(argv: list[str]) -> None:
    """Child entry point: `_clients CONFIG_JSON`."""
    config = json.loads(argv[0])
    pin(set(config["cpus"]) if config["cpus"] else None)
    raise_fd_limit(config["count"] + 256)
    asyncio.run(ClientProcess(config).run())


class Clients:
    """The parent's handle on one client process."""

    def __init__(self, proc: asyncio.subprocess.Process, out: str) -> None:
        self.proc, self.out = proc, out

    async def ask(self, line: str, answer: str, seconds: float = 120.0) -> list[str]:
        """Send a command line and return the words of the answer line starting with `answer`."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        if line:
            self.proc.stdin.write(line.encode() + b"\n")
            await self.proc.stdin.drain()
        while True:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), seconds)
            if not raw:
                raise RuntimeError(f"a client process ended while waiting for {answer!r}")
            words = raw.decode().split(" ", 1)
            if words[0] == answer:
                return words

    async def stop(self) -> None:
        """Ask the process to stop, then make sure it does."""
        with contextlib.suppress(Exception):
            await self.ask("stop", "bye", 10)
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                await self.proc.wait()


async def start_clients(
    n: int, processes: int, ws_url: str, token: str, team_id: str, cpus: list[int], work: Path
) -> list[Clients]:
    """Start `processes` client processes holding `n` subscribers in all; wait until all have subscribed."""
    started: list[Clients] = []
    try:
        for k in range(processes):
            count = n // processes + (1 if k < n % processes else 0)
            out = str(work / f"latency-{secrets.token_hex(3)}-{k}")
            config = {
                "ws_url": ws_url,
                "token": token,
                "team_id": team_id,
                "count": count,
                "out": out,
                "cpus": cpus,
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(SELF),
                "_clients",
                json.dumps(config),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=child_setup(),
            )
            started.append(Clients(proc, out))
        answers = await asyncio.gather(*(c.ask("", "ready", 180) for c in started))
        failed = sum(int(a[1].split()[1]) for a in answers)
        if failed:
            log(f"warning: {failed} subscribers could not subscribe")
        return started
    except BaseException:
        await asyncio.gather(*(c.stop() for c in started))
        raise


# ----------------------------------------------------------------------------------------------------
# The writer and the schedule.


@dataclass
class Phase:
    """The measurements of one rate against one server."""

    server: str
    rate: float
    seconds: float
    sent: int = 0
    written: int = 0
    write_errors: int = 0
    write_p50_ms: float = math.nan
    write_p99_ms: float = math.nan
    deliveries: int = 0
    expected_deliveries: int = 0
    lost: int = 0
    deliveries_per_second: float = 0.0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    gaps: int = 0
    cut_off: int = 0
    open_subscribers: int = 0
    server_cpu_percent: float = 0.0
    # Server CPU time per event written (HTTP write, read from the log, fan-out to every subscriber).
    server_cpu_ms_per_event: float = math.nan
    client_cpu_percent: float = 0.0


@dataclass
class Target:
    """How the writer reaches one server."""

    name: str
    server: ServerProcess
    ws_url: str
    token: str
    team_id: str
    send: Any  # async (client, phase, index) -> None


async def run_phase(
    target: Target,
    clients: list[Clients],
    phase_no: int,
    rate: float,
    seconds: float,
    subscribers: int,
    drain_seconds: float,
) -> Phase:
    """Write at `rate` for `seconds`, wait for delivery, and collect the latencies of this phase."""
    result = Phase(server=target.name, rate=rate, seconds=seconds)
    count = max(1, round(rate * seconds))
    write_times: list[float] = []
    cpu0 = cpu_seconds(target.server.pid)
    client_cpu0 = sum(cpu_seconds(c.proc.pid) for c in clients)
    wall0 = time.monotonic()
    async with httpx.AsyncClient(
        base_url=target.server.url,
        headers={"Authorization": f"Bearer {target.token}"} if target.token else {},
        timeout=30,
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
    ) as http:

        async def one(i: int) -> None:
            began = time.perf_counter()
            try:
                await target.send(http, phase_no, i)
            except Exception as exc:
                result.write_errors += 1
                if result.write_errors <= 3:
                    log(f"write failed: {type(exc).__name__}: {exc}")
                return
            write_times.append(time.perf_counter() - began)
            result.written += 1

        tasks = []
        start = time.monotonic()
        for i in range(count):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
            result.sent += 1
        await asyncio.gather(*tasks)
    # Wait until every subscriber has this phase's events, or give up after `drain_seconds`.
    expected = result.written * subscribers
    deadline = time.monotonic() + drain_seconds
    while time.monotonic() < deadline:
        counts = await asyncio.gather(*(c.ask(f"count {phase_no}", "count") for c in clients))
        if sum(int(a[1]) for a in counts) >= expected:
            break
        await asyncio.sleep(0.1)
    wall = time.monotonic() - wall0
    server_cpu = cpu_seconds(target.server.pid) - cpu0
    result.server_cpu_percent = round(100 * server_cpu / wall, 1)
    if result.written:
        result.server_cpu_ms_per_event = round(1000 * server_cpu / result.written, 1)
    client_cpu = sum(cpu_seconds(c.proc.pid) for c in clients) - client_cpu0
    result.client_cpu_percent = round(100 * client_cpu / wall, 1)
    reports = await asyncio.gather(*(c.ask(f"report {phase_no}", "report") for c in clients))
    latencies = array.array("d")
    for c, answer in zip(clients, reports, strict=True):
        stats = json.loads(answer[1])
        result.gaps += stats["gaps"]
        result.cut_off += stats["closes"].get("4408", 0)
        result.open_subscribers += stats["open"]
        latencies.extend(take_latencies(f"{c.out}.{phase_no}"))
    ordered = sorted(latencies)
    result.deliveries = len(ordered)
    result.expected_deliveries = expected
    result.lost = max(0, expected - len(ordered))
    result.deliveries_per_second = round(len(ordered) / seconds, 1)
    result.p50_ms = round(1000 * percentile(ordered, 0.50), 1)
    result.p99_ms = round(1000 * percentile(ordered, 0.99), 1)
    result.max_ms = round(1000 * ordered[-1], 1) if ordered else math.nan
    if write_times:
        write_times.sort()
        result.write_p50_ms = round(1000 * percentile(write_times, 0.5), 1)
        result.write_p99_ms = round(1000 * percentile(write_times, 0.99), 1)
    return result


async def run_schedule(
    target: Target, args: argparse.Namespace, client_cpus: list[int], work: Path, deadline: float
) -> tuple[list[Phase], float]:
    """Open the subscribers, run every rate of the schedule against one server, close the subscribers."""
    log(f"[{target.name}] opening {args.subscribers} subscribers from {args.client_processes} processes")
    began = time.monotonic()
    clients = await start_clients(
        args.subscribers,
        args.client_processes,
        target.ws_url,
        target.token,
        target.team_id,
        client_cpus,
        work,
    )
    subscribe_seconds = time.monotonic() - began
    log(f"[{target.name}] subscribed in {subscribe_seconds:.1f} s")
    phases: list[Phase] = []
    try:
        for n, rate in enumerate(args.rates, start=1):
            if time.monotonic() + args.phase_seconds + args.drain_seconds > deadline:
                log(f"[{target.name}] out of time; skipping rates from {rate}/s")
                break
            phase = await run_phase(
                target, clients, n, rate, args.phase_seconds, args.subscribers, args.drain_seconds
            )
            phases.append(phase)
            log(
                f"[{target.name}] {rate:g}/s: p50 {phase.p50_ms} ms, p99 {phase.p99_ms} ms, "
                f"lost {phase.lost}, server CPU {phase.server_cpu_percent} %"
            )
            if phase.lost or phase.p99_ms > 4 * args.target_p99_ms or phase.write_errors:
                log(f"[{target.name}] stopping the schedule: the server no longer keeps up")
                break
            await asyncio.sleep(0.5)
    finally:
        await asyncio.gather(*(c.stop() for c in clients))
    return phases, round(subscribe_seconds, 1)


# ----------------------------------------------------------------------------------------------------
# Seeding and the two targets.


def _ok(response: httpx.Response, *expected: int) -> Any:
    if response.status_code not in expected:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response.json() if response.content else None


@dataclass
class Seeded:
    """One person, their team and a codemark to reply to."""

    token: str
    team_id: str
    codemark_id: str
    sample_event: str
    sample_text: str


async def seed_kibitz(base_url: str) -> Seeded:
    """Sign up one person who creates a team, a repo and a codemark; return what the writer needs."""
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", timeout=30) as http:
        email = f"bench-{secrets.token_hex(4)}@example.com"
        _ok(
            await http.post("/auth/signup", json={"email": email, "name": "Bench", "password": PASSWORD}), 201
        )
        login = _ok(await http.post("/auth/login", json={"email": email, "password": PASSWORD}), 200)
        http.headers["Authorization"] = f"Bearer {login['token']}"
        team = _ok(await http.post("/teams", json={"name": "realtime bench"}), 201)
        repo = _ok(
            await http.post(f"/teams/{team['id']}/repos/match", json={"root_commits": ["b" * 40]}), 200, 201
        )
        marker = {
            "repo_id": repo["id"],
            "path": "src/app.py",
            "commit": "a" * 40,
            "start_line": 3,
            "end_line": 5,
            "code": "def f():\n    return 1\n\n",
            "context_before": "import os\n",
            "context_after": "\n",
        }
        codemark = _ok(
            await http.post(
                f"/teams/{team['id']}/codemarks",
                json={"type": "comment", "text": "Why does this return 1?", "markers": [marker]},
            ),
            201,
        )
        reply = _ok(
            await http.post(f"/codemarks/{codemark['id']}/replies", json={"text": reply_text(0, 0)}), 201
        )
    # The wire form of a reply.added event (as in kibitz.server.events.hub.event_message), for the baseline.
    sample = (
        f'{{"seq":{{seq}},"type":"reply.added","team_id":{json.dumps(team["id"])},'
        f'"at":{json.dumps(reply["created_at"])},"data":{json.dumps(reply, separators=(",", ":"))}}}'
    )
    return Seeded(login["token"], team["id"], codemark["id"], sample, reply["text"])


def reply_text(phase: int, index: int) -> str:
    """Return a reply text that carries the phase, the index and the send time."""
    return f"kbench|{phase}|{index}|{time.time():.6f}| Looks right to me; shipping it after the next review."


def kibitz_target(server: ServerProcess, seeded: Seeded) -> Target:
    """The Kibitz server: the writer adds replies through the API."""

    async def send(http: httpx.AsyncClient, phase: int, index: int) -> None:
        r = await http.post(
            f"/api/v1/codemarks/{seeded.codemark_id}/replies", json={"text": reply_text(phase, index)}
        )
        _ok(r, 201)

    return Target("kibitz", server, server.stream_url, seeded.token, seeded.team_id, send)


def baseline_target(server: ServerProcess, seeded: Seeded) -> Target:
    """The bare broadcast server: the writer posts the same message a Kibitz subscriber receives."""
    marker = json.dumps(seeded.sample_text)[1:-1]
    sample = seeded.sample_event

    async def send(http: httpx.AsyncClient, phase: int, index: int) -> None:
        text = sample.replace(marker, json.dumps(reply_text(phase, index))[1:-1], 1)
        r = await http.post("/publish", content=text.encode())
        _ok(r, 204)

    return Target("baseline", server, server.stream_url, "", seeded.team_id, send)


# ----------------------------------------------------------------------------------------------------
# Reporting.


def render_table(phases: list[Phase]) -> str:
    """Return the measurements as a fixed-width table."""
    head = (
        f"{'server':<9} {'rate/s':>7} {'written/s':>9} {'deliv/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'lost':>6} {'gaps':>5} {'cut':>4} {'write p99':>9} {'srv CPU%':>8} "
        f"{'srv ms/ev':>9} {'cli CPU%':>8}"
    )
    lines = [head, "-" * len(head)]
    for p in phases:
        lines.append(
            f"{p.server:<9} {p.rate:>7g} {p.written / p.seconds:>9.1f} {p.deliveries_per_second:>9.0f} "
            f"{p.p50_ms:>8.1f} {p.p99_ms:>8.1f} {p.max_ms:>8.1f} {p.lost:>6} {p.gaps:>5} {p.cut_off:>4} "
            f"{p.write_p99_ms:>9.1f} {p.server_cpu_percent:>8.1f} {p.server_cpu_ms_per_event:>9.1f} "
            f"{p.client_cpu_percent:>8.1f}"
        )
    return "\n".join(lines)


def sustained(phases: list[Phase], target_ms: float) -> float:
    """Return the highest rate at which nothing was lost and p99 met the target (0 if none)."""
    good = [
        p.rate for p in phases if not p.lost and not p.gaps and not p.write_errors and p.p99_ms <= target_ms
    ]
    return max(good, default=0.0)


def machine() -> dict[str, Any]:
    """Describe the machine and the software."""
    import starlette
    import uvicorn

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "uvicorn": uvicorn.__version__,
        "starlette": starlette.__version__,
        "load_average": os.getloadavg(),
    }


# ----------------------------------------------------------------------------------------------------
# The run.


async def _pg_execute(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextlib.contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """Create a fresh PostgreSQL database next to `admin_url`, yield its URL and drop it afterwards."""
    name = "kibitz_bench_" + secrets.token_hex(5)
    asyncio.run(_pg_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    finally:
        asyncio.run(_pg_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the baseline and the Kibitz schedules and return the report."""
    deadline = time.monotonic() + args.max_seconds
    load_at_start = os.getloadavg()
    raise_fd_limit(args.subscribers * 2 + 1024)
    cpus = sorted(os.sched_getaffinity(0))
    if args.no_pin or len(cpus) < 2:
        server_cpus, client_cpus = [], []
    else:
        server_cpus, client_cpus = cpus[:1], cpus[1:]
        pin(set(client_cpus))
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kibitz-realtime-")))
        # The server as deployed: content and event payloads sealed at rest. The servers inherit the file
        # descriptor limit raised above.
        settings = {"data_dir": work / "data", "encrypt_at_rest": True, "log_level": "warning"}
        # Every simulated person signs in from this one machine: lift the per-address login throttle.
        env = {"KIBITZ_LOGIN_RATE_LIMIT": "100000/minute"}
        database = "sqlite"
        if args.database_url:
            settings["database_url"] = stack.enter_context(scratch_database(args.database_url))
            database = "postgresql"
        if args.redis_url:
            env["KIBITZ_REDIS_URL"] = args.redis_url
        phases: list[Phase] = []
        subscribe_seconds: dict[str, float] = {}
        log("starting the Kibitz server and seeding")
        kibitz = stack.enter_context(
            kibitz_server(work / "kibitz.log", settings=settings, env=env, cpus=server_cpus)
        )
        seeded = asyncio.run(seed_kibitz(kibitz.url))
        if not args.skip_baseline:
            with baseline_server(work, server_cpus) as bare:
                found, subscribe_seconds["baseline"] = asyncio.run(
                    run_schedule(baseline_target(bare, seeded), args, client_cpus, work, deadline)
                )
                phases += found
        found, subscribe_seconds["kibitz"] = asyncio.run(
            run_schedule(kibitz_target(kibitz, seeded), args, client_cpus, work, deadline)
        )
        phases += found
    by_server = {name: [p for p in phases if p.server == name] for name in ("baseline", "kibitz")}
    return {
        "benchmark": "realtime",
        "parameters": {
            "subscribers": args.subscribers,
            "client_processes": args.client_processes,
            "rates": args.rates,
            "phase_seconds": args.phase_seconds,
            "database": database,
            "redis": bool(args.redis_url),
            "encryption_at_rest": True,
            "pinning": {"server": server_cpus, "clients_and_writer": client_cpus},
            "target_p99_ms": args.target_p99_ms,
        },
        "machine": {**machine(), "load_average_at_start": load_at_start},
        "subscribe_seconds": subscribe_seconds,
        "phases": [asdict(p) for p in phases],
        "sustained_events_per_second": {k: sustained(v, args.target_p99_ms) for k, v in by_server.items()},
    }


def report_text(report: dict[str, Any]) -> str:
    """Return the table and the summary lines."""
    phases = [Phase(**p) for p in report["phases"]]
    params = report["parameters"]
    lines = [
        f"{params['subscribers']} subscribers on one team, {params['database']}"
        f"{' + Redis' if params['redis'] else ''}, {params['phase_seconds']:g} s per rate, "
        "encryption at rest on",
        "",
        render_table(phases),
        "",
    ]
    for name, rate in report["sustained_events_per_second"].items():
        lines.append(
            f"{name}: sustained {rate:g} events/s with p99 ≤ {params['target_p99_ms']:g} ms "
            f"({rate * params['subscribers']:,.0f} deliveries/s); subscribed in "
            f"{report['subscribe_seconds'].get(name, math.nan)} s"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="bench/realtime.py",
        description="Delivery latency and sustained events/s of the realtime feed with many WebSocket "
        "subscribers, next to a bare Starlette broadcast server in the same run.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--subscribers", type=int, default=1000, help="WebSocket subscribers on one team")
    parser.add_argument("--client-processes", type=int, default=2, help="processes holding the subscribers")
    parser.add_argument(
        "--rates",
        type=lambda s: [float(x) for x in s.split(",")],
        default=[2.0, 5.0, 10.0, 20.0, 40.0],
        help="comma-separated schedule of writer rates (events/s), lowest first",
    )
    parser.add_argument("--phase-seconds", type=float, default=8.0, help="how long each rate is held")
    parser.add_argument("--drain-seconds", type=float, default=10.0, help="how long to wait for delivery")
    parser.add_argument("--target-p99-ms", type=float, default=TARGET_P99_MS, help="the p99 target")
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL admin URL: use a scratch database there"
    )
    parser.add_argument(
        "--redis-url", default="", help="Redis URL for the event doorbell (default in-process)"
    )
    parser.add_argument("--skip-baseline", action="store_true", help="measure the Kibitz server only")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and clients to CPUs")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="bound on the whole run")
    parser.add_argument(
        "--json-out", type=Path, default=HERE / "results" / "realtime.json", help="where to write the JSON"
    )
    args = parser.parse_args(argv)
    if args.subscribers < 1 or args.client_processes < 1 or not args.rates or min(args.rates) <= 0:
        parser.error("--subscribers, --client-processes and every rate must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or one of its child processes), print the table and write the JSON."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_baseline":
        baseline_child(argv[1:])
        return 0
    if argv and argv[0] == "_clients":
        clients_child(argv[1:])
        return 0
    return run_benchmark(parse_args(argv), run, report_text, failures=(ServerDidNotStart,))


if __name__ == "__main__":
    sys.exit(main())
