"""A real `kibitz server run` process and people at terminals running the real `kibitz` command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from kibitz.client import KibitzClient
from tests.git_helpers import GIT_ENV

# The console script installed next to the interpreter running the tests (the project's venv).
KIBITZ = Path(sys.executable).with_name("kibitz")
PASSWORD = "correct horse battery staple"
STARTUP_SECONDS = 60
COMMAND_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_environment() -> dict[str, str]:
    """Return this process's environment without any Kibitz setting that could leak into the test."""
    return {key: value for key, value in os.environ.items() if not key.startswith("KIBITZ_")}


@contextmanager
def running_server(data_dir: Path) -> Iterator[str]:
    """Run `kibitz server run` on a free port with `data_dir`; yield its URL, stop it afterwards."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    # Every person of a module's tests signs in from 127.0.0.1: lift the per-address login throttle.
    env = {
        **clean_environment(),
        "KIBITZ_FAST_PASSWORD_HASHING": "1",
        "KIBITZ_LOGIN_RATE_LIMIT": "1000/minute",
    }
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(KIBITZ), "server", "run", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            _wait_until_healthy(url, process, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start `kibitz server run` on a free port with a fresh data directory; stop it afterwards."""
    with running_server(tmp_path_factory.mktemp("server-data")) as url:
        yield url


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{_tail(log_path)}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).json() == {"status": "ok"}:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the server did not answer /healthz in {STARTUP_SECONDS}s:\n{_tail(log_path)}")


def _tail(log_path: Path) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])


@dataclass
class Person:
    """Someone at a terminal: their own Kibitz configuration directory, running `kibitz` commands."""

    email: str
    name: str
    config_dir: Path

    def run(
        self, *args: str, cwd: Path, expect: int = 0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `kibitz ARGS` in ``cwd`` and check its exit code."""
        env = {**clean_environment(), **GIT_ENV, "KIBITZ_CONFIG_DIR": str(self.config_dir)}
        result = subprocess.run(
            [str(KIBITZ), *args],
            cwd=cwd,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
            check=False,
        )
        assert result.returncode == expect, (
            f"kibitz {' '.join(args)} exited {result.returncode}, expected {expect}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        assert "Traceback" not in result.stderr
        return result

    def json(self, *args: str, cwd: Path) -> Any:
        """Run a `--json` command and return the single JSON document it prints."""
        return json.loads(self.run(*args, "--json", cwd=cwd).stdout)

    def client(self) -> KibitzClient:
        """Return a client-library client with this person's stored server and token."""
        stored = json.loads((self.config_dir / "credentials.json").read_text(encoding="utf-8"))
        return KibitzClient(stored["server"], stored["token"])


@pytest.fixture
def alice(tmp_path: Path) -> Person:
    return Person("alice@example.com", "Alice", tmp_path / "alice-config")


@pytest.fixture
def bob(tmp_path: Path) -> Person:
    return Person("bob@example.com", "Bob", tmp_path / "bob-config")
