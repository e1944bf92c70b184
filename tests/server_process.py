"""Server child processes for the end-to-end tests and the benchmarks: start, wait for /healthz, stop.

The installed package ships no test code, so this module lives with the tests; the benchmarks (bench/) import
it from the repository checkout, where both directories are. The Kibitz server starts through
tests/launch_server.py, which builds its settings in code: the test-only switches (`fast_password_hashing`,
`encrypt_at_rest`) are refused from the environment, as in production.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from tests import warm_start

HOST = "127.0.0.1"
# The console script installed next to the interpreter running the tests (the project's venv).
KIBITZ = Path(sys.executable).with_name("kibitz")
LAUNCHER = Path(__file__).with_name("launch_server.py")
STARTUP_SECONDS = 60.0
STOP_SECONDS = 15.0
# The switches every test and benchmark server gets: the rest of the settings are the production defaults.
TEST_SWITCHES: dict[str, Any] = {"fast_password_hashing": True}
_PR_SET_PDEATHSIG = 1


class ServerDidNotStart(RuntimeError):
    """The server exited, or did not answer /healthz in time; the message ends with its log."""


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment() -> dict[str, str]:
    """Return this process's environment without any Kibitz setting that could leak into a child."""
    return {key: value for key, value in os.environ.items() if not key.startswith("KIBITZ_")}


def child_setup(cpus: frozenset[int] | None = None) -> Callable[[], None]:
    """Return what the child runs before exec: die with its parent, and keep to `cpus` if given."""
    # Loaded here, not in the child: the child only calls into it (no loading after fork).
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def setup() -> None:
        # Linux only: SIGTERM reaches the child if its parent dies without stopping it.
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if cpus:
            # Threads the server starts later (uvicorn's, aiosqlite's) inherit the mask.
            os.sched_setaffinity(0, cpus)

    return setup


class ServerProcess:
    """A server child process: started and waited for until /healthz answers, stopped (SIGTERM, then SIGKILL).

    Its stdout and stderr go to `log_path`; the failure to start quotes the log's tail. Use as a context
    manager, or call `start()` and `stop()` (which may be called again, and before the block ends).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        port: int,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        scheme: str = "http",
        verify: ssl.SSLContext | bool = True,
        cpus: Iterable[int] | None = None,
        name: str = "server",
        warm: tuple[str, Sequence[str]] | None = None,
    ) -> None:
        self.command = [str(part) for part in command]
        # The same process as a warm parent starts it (warm_start.enable): which main, with which arguments.
        self.warm = warm
        self.port = port
        self.log_path = log_path
        self.env = {**clean_environment(), "PYTHONUNBUFFERED": "1", **(env or {})}
        self.url = f"{scheme}://{HOST}:{port}"
        self.verify = verify
        self.cpus = frozenset(cpus) if cpus is not None else None
        self.name = name
        self._process: subprocess.Popen[bytes] | warm_start.WarmProcess | None = None

    @property
    def stream_url(self) -> str:
        """Return the WebSocket URL of the event stream."""
        return self.url.replace("http", "ws", 1) + "/api/v1/stream"

    @property
    def pid(self) -> int:
        """Return the process id."""
        assert self._process is not None, "the server was not started"
        return self._process.pid

    def start(self) -> ServerProcess:
        """Start the process and wait until it answers /healthz; stop it and raise if it does not."""
        with self.log_path.open("ab") as log, open(os.devnull, "rb") as nothing:
            if self.warm is not None and warm_start.enabled():
                self._process = warm_start.start(
                    *self.warm,
                    env=self.env,
                    stdin=nothing.fileno(),
                    stdout=log.fileno(),
                    stderr=log.fileno(),
                    cpus=self.cpus,
                )
            else:
                self._process = subprocess.Popen(
                    self.command,
                    env=self.env,
                    stdin=nothing,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    # Ctrl-C reaches only the test run or the benchmark, which stops the child itself.
                    start_new_session=True,
                    preexec_fn=child_setup(self.cpus),
                )
        try:
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerDidNotStart(
                    f"the {self.name} exited with {self._process.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError, ValueError):
                answer = httpx.get(f"{self.url}/healthz", timeout=2, verify=self.verify)
                if answer.json() == {"status": "ok"}:
                    return
            time.sleep(0.1)
        raise ServerDidNotStart(
            f"the {self.name} did not answer /healthz in {STARTUP_SECONDS:g} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Terminate the process and wait for it (SQLite checkpoints its WAL then); kill it if stuck."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_SECONDS)

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of the process's output."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def kibitz_server(
    log_path: Path,
    *,
    settings: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    verify: ssl.SSLContext | bool = True,
    cpus: Iterable[int] | None = None,
    name: str = "Kibitz server",
) -> ServerProcess:
    """Return the Kibitz server (not started) as tests/launch_server.py runs it, on `port` or a free one.

    `settings` are keyword arguments of `Settings.load`, given in code (the test-only switches among them:
    fast password hashing is on unless overridden); `env` adds `KIBITZ_*` variables, read as in production.
    With `tls_cert` and `tls_key` among the settings the URL is https.
    """
    port = port or free_port()
    chosen = {**TEST_SWITCHES, "port": port, **(settings or {})}
    arguments = [json.dumps(chosen, default=str)]
    return ServerProcess(
        [sys.executable, str(LAUNCHER), *arguments],
        warm=(warm_start.SERVER_MAIN, arguments),
        port=port,
        log_path=log_path,
        env=env,
        scheme="https" if chosen.get("tls_cert") else "http",
        verify=verify,
        cpus=cpus,
        name=name,
    )


def cli_server(
    args: Sequence[str],
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    verify: ssl.SSLContext | bool = True,
) -> ServerProcess:
    """Return `kibitz server run --port PORT ARGS` itself (not started), without the test-only switches."""
    port = port or free_port()
    arguments = ["server", "run", "--port", str(port), *args]
    return ServerProcess(
        [str(KIBITZ), *arguments],
        warm=(warm_start.KIBITZ_MAIN, arguments),
        port=port,
        log_path=log_path,
        env=env,
        scheme="https" if "--tls-cert" in args else "http",
        verify=verify,
        name="`kibitz server run`",
    )
