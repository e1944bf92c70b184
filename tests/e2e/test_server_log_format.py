"""`kibitz server run` logs readable lines on a terminal and JSON lines elsewhere, or what it is told."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests import warm_start
from tests.server_process import HOST, KIBITZ, STOP_SECONDS, clean_environment, free_port

pytestmark = pytest.mark.e2e

WAIT_SECONDS = 60.0


def _serve_and_read_log(tmp_path: Path, *args: str, terminal: bool, env: dict[str, str] | None = None) -> str:
    """Run `kibitz server run ARGS`, its stderr a pseudo-terminal or a pipe; return its log up to the first
    answered request's access line."""
    port = free_port()
    command = [str(KIBITZ), "server", "run", "--port", str(port), "--data-dir", str(tmp_path / "data"), *args]
    environment = {**clean_environment(), "PYTHONUNBUFFERED": "1", **(env or {})}
    if terminal:
        reader, writer = pty.openpty()
    else:
        reader, writer = os.pipe()
    process: subprocess.Popen[bytes] | warm_start.WarmProcess
    if warm_start.enabled():
        # The format follows what standard error is when the server starts logging, not when Python starts:
        # a child of the warm parent with the terminal (or pipe) as its stderr chooses as `kibitz` does.
        with open(os.devnull, "rb") as nothing:
            process = warm_start.start(
                warm_start.KIBITZ_MAIN,
                command[1:],
                env=environment,
                stdin=nothing.fileno(),
                stdout=writer,
                stderr=writer,
            )
    else:
        process = subprocess.Popen(
            command,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=writer,
            stderr=writer,
            start_new_session=True,
        )
    os.close(writer)
    log = b""
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while b"/healthz" not in log:
            assert time.monotonic() < deadline, f"no access line in {WAIT_SECONDS:g} s:\n{log!r}"
            assert process.poll() is None, f"the server exited with {process.returncode}:\n{log!r}"
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"http://{HOST}:{port}/healthz", timeout=2)
            while select.select([reader], [], [], 0.2)[0]:
                try:
                    chunk = os.read(reader, 65536)
                except OSError:  # Linux: EIO once the terminal's other side is closed
                    chunk = b""
                if not chunk:
                    break
                log += chunk
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_SECONDS)
        os.close(reader)
    return log.decode("utf-8", errors="replace").replace("\r\n", "\n")


def _lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.strip()]


def test_a_terminal_gets_readable_lines(tmp_path: Path) -> None:
    lines = _lines(_serve_and_read_log(tmp_path, terminal=True))
    assert lines
    for line in lines:
        assert not line.startswith("{"), line
    started = next(line for line in lines if "Kibitz on http://" in line)
    assert " INFO kibitz.server Kibitz on http://" in started
    access = next(line for line in lines if "/healthz" in line)
    assert " INFO kibitz.access [" in access
    assert "GET /healthz 200" in access


def test_a_pipe_gets_json_lines(tmp_path: Path) -> None:
    records = [json.loads(line) for line in _lines(_serve_and_read_log(tmp_path, terminal=False))]
    assert any(record["logger"] == "kibitz.server" and "Kibitz on" in record["message"] for record in records)
    access = next(record for record in records if record["logger"] == "kibitz.access")
    assert (access["method"], access["route"], access["status"]) == ("GET", "/healthz", 200)


def test_json_on_a_terminal_when_asked(tmp_path: Path) -> None:
    for args, env in ((["--log-format", "json"], None), ([], {"KIBITZ_LOG_FORMAT": "json"})):
        log = _serve_and_read_log(tmp_path, *args, terminal=True, env=env)
        records = [json.loads(line) for line in _lines(log)]
        assert any(record["logger"] == "kibitz.access" for record in records)
    text = _lines(_serve_and_read_log(tmp_path, "--log-format", "text", terminal=False))
    assert not any(line.startswith("{") for line in text)
