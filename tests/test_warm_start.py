"""A `kibitz` started from the warm parent behaves as the exec'ed console script: output, exit code, stdin,
working directory and environment, and nothing of one run reaches the next; so does `kibitz lsp`."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests import warm_start
from tests.lsp.conftest import start_client, wait_until
from tests.server_process import KIBITZ, clean_environment

COMMANDS = [
    ["--version"],
    ["team", "nonsense"],
    ["show", "zzzz"],
    ["login", "--server", "http://127.0.0.1:9", "--email", "a@example.com", "--password-stdin"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args))
def test_a_warm_command_answers_as_the_console_script(args: list[str], tmp_path: Path) -> None:
    env = {**clean_environment(), "KIBITZ_CONFIG_DIR": str(tmp_path / "config"), "COLUMNS": "100"}
    cold = subprocess.run(
        [str(KIBITZ), *args],
        env=env,
        cwd=tmp_path,
        input="secret\n",
        capture_output=True,
        text=True,
        check=False,
    )
    warm = warm_start.run_kibitz(args, env=env, cwd=tmp_path, input="secret\n")
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)


def test_nothing_of_one_run_reaches_the_next(tmp_path: Path) -> None:
    # The help's width follows COLUMNS: a narrow first run must leave the second one as wide as an
    # exec'ed run without the variable.
    env = {k: v for k, v in clean_environment().items() if k not in ("COLUMNS", "LINES")}
    narrow = warm_start.run_kibitz(["--help"], env={**env, "COLUMNS": "40"}, cwd=tmp_path)
    cold = subprocess.run(
        [str(KIBITZ), "--help"], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    warm = warm_start.run_kibitz(["--help"], env=env, cwd=tmp_path)
    assert narrow.stdout != cold.stdout
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)


def test_a_warm_server_is_its_own_process_and_stops_on_sigterm(tmp_path: Path) -> None:
    from tests.server_process import kibitz_server

    with kibitz_server(tmp_path / "log", settings={"data_dir": tmp_path / "data"}) as server:
        assert Path(f"/proc/{server.pid}").exists()
        process = server._process
        assert isinstance(process, warm_start.WarmProcess)
        process.send_signal(signal.SIGTERM)
        # It shuts down in order, then ends by the signal it caught, as uvicorn does after exec.
        assert process.wait(15) == -signal.SIGTERM
    assert "Application shutdown complete" in (tmp_path / "log").read_text()


async def _signed_out_session(env: dict[str, str], root: Path, *, warm: bool) -> tuple[Any, ...]:
    """Start `kibitz lsp` (warm or exec'ed), initialize and shut it down; return what it said and its exit."""
    client = await start_client(env, warm=warm)
    # pygls' client keeps its server process to itself, and its methods are not annotated.
    untyped: Any = client
    server = untyped._server
    assert isinstance(server, asyncio.subprocess.Process) != warm
    result = await client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=root.as_uri())
    )
    # Signed out: it says so once, after the handshake.
    await wait_until(lambda: client.messages, what="the message about signing in")
    await client.shutdown_session()
    await untyped.stop()
    return result, server.returncode, [m.message for m in client.messages]


async def test_a_warm_language_server_answers_as_the_exec_ed_one(tmp_path: Path) -> None:
    env = {**clean_environment(), "KIBITZ_CONFIG_DIR": str(tmp_path / "config")}
    cold = await _signed_out_session(env, tmp_path, warm=False)
    assert await _signed_out_session(env, tmp_path, warm=True) == cold
