"""The server-process helper: settings given in code reach the server, a failed start quotes its log."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from tests.server_process import ServerDidNotStart, ServerProcess, free_port, kibitz_server

pytestmark = pytest.mark.e2e


def test_a_server_that_exits_fails_with_the_end_of_its_log(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "print('cannot open the database'); raise SystemExit(3)"]
    server = ServerProcess(command, port=free_port(), log_path=tmp_path / "log", name="broken server")
    with pytest.raises(
        ServerDidNotStart, match=r"the broken server exited with 3:\ncannot open the database"
    ):
        server.start()


def test_the_test_only_switches_reach_the_server_in_code(tmp_path: Path) -> None:
    settings = {"data_dir": tmp_path / "data", "encrypt_at_rest": False, "log_format": "text"}
    with kibitz_server(tmp_path / "server.log", settings=settings) as server:
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
        pid = server.pid
    server.stop()  # stopping twice is harmless
    assert "encryption at rest is off" in server.log_path.read_text()
    assert not Path(f"/proc/{pid}").exists()
