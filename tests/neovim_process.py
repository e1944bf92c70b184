"""A headless Neovim child process driven from a test through Neovim's own `--server --remote-expr`.

Neovim 0.7 (Debian's) listens on a socket with `--listen`; a second `nvim --server SOCKET --remote-expr
EXPR` evaluates EXPR there and writes the result to its stderr. That needs no client library: each call
is a short process, which is fast enough for a test that makes a few dozen calls.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

CALL_SECONDS = 20.0
START_SECONDS = 20.0
MINIMUM_VERSION = (0, 7)


def neovim_program() -> str:
    """Return the `nvim` to test with; skip without one, or fail when KIBITZ_REQUIRE_NEOVIM is set."""
    found = shutil.which("nvim")
    problem = None
    if found is None:
        problem = "nvim is not on PATH"
    else:
        version = neovim_version(found)
        if version < MINIMUM_VERSION:
            problem = f"nvim {version} is older than {MINIMUM_VERSION}"
    if problem is None and found is not None:
        return found
    if os.environ.get("KIBITZ_REQUIRE_NEOVIM"):
        pytest.fail(f"Neovim is required (KIBITZ_REQUIRE_NEOVIM) but {problem}")
    pytest.skip(f"{problem} (install Debian's neovim; set KIBITZ_REQUIRE_NEOVIM=1 to fail instead)")


def neovim_version(program: str) -> tuple[int, ...]:
    """Return the version `nvim --version` prints on its first line, as numbers (``NVIM v0.7.2``)."""
    first = subprocess.run(
        [program, "--version"], capture_output=True, text=True, timeout=CALL_SECONDS, check=True
    ).stdout.split("\n", 1)[0]
    digits = first.rsplit("v", 1)[-1].split("-", 1)[0]
    return tuple(int(part) for part in digits.split(".") if part.isdigit())


def vim_string(text: str) -> str:
    """Return `text` as a single-quoted Vim string literal (no escapes there but the doubled quote)."""
    return "'" + text.replace("'", "''") + "'"


class Neovim:
    """A headless `nvim --clean -u INIT --listen SOCKET` in `cwd`; stopped by `stop()` or the context."""

    def __init__(
        self,
        program: str,
        init: Path,
        *,
        cwd: Path,
        env: Mapping[str, str],
        settings: Mapping[str, Any],
        log_path: Path,
    ) -> None:
        self.program = program
        # A short directory of its own: a socket's path must fit in about 100 bytes.
        self._socket_dir = Path(tempfile.mkdtemp(prefix="kibitz-nvim-"))
        self.socket = self._socket_dir / "nvim.sock"
        self.log_path = log_path
        # The settings reach the init file as g:kibitz_test, set before it runs.
        let = f"let g:kibitz_test = json_decode({vim_string(json.dumps(dict(settings)))})"
        command = [program, "--headless", "--clean", "--cmd", let, "-u", str(init)]
        command += ["--listen", str(self.socket)]
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        self.env = dict(env)
        self._wait_for_socket()

    def _wait_for_socket(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while not self.socket.exists():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nvim did not start:\n{self.log_path.read_text(errors='replace')}")
            time.sleep(0.02)

    def expr(self, expression: str) -> str:
        """Evaluate a Vim expression in the editor and return its value as text."""
        result = subprocess.run(
            [
                self.program,
                "--headless",
                "--clean",
                "--server",
                str(self.socket),
                "--remote-expr",
                expression,
            ],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CALL_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{expression!r} failed ({result.returncode}): {result.stderr}{result.stdout}")
        return result.stderr

    def lua(self, code: str, argument: Any = None) -> Any:
        """Run Lua `code` (an expression; `_A` is `argument`) and return its value, which must be JSON."""
        wrapped = f"vim.fn.json_encode({{({code})}})"
        encoded = json.dumps(argument)
        value = json.loads(self.expr(f"luaeval({vim_string(wrapped)}, json_decode({vim_string(encoded)}))"))
        return value[0] if value else None

    def command(self, command: str) -> None:
        """Run an Ex command in the editor."""
        self.lua("vim.cmd(_A) and true", command)

    def state(self) -> dict[str, Any]:
        """Return what the test's init file reports: diagnostics, messages, prompts, clients, lenses."""
        state: dict[str, Any] = json.loads(self.expr("luaeval('KibitzTest.state()')"))
        return state

    def wait_for(
        self, what: str, ready: Callable[[dict[str, Any]], bool], seconds: float = 15.0
    ) -> dict[str, Any]:
        """Poll the state until `ready(state)`; fail with the last state after `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            state = self.state()
            if ready(state):
                return state
            if time.monotonic() > deadline:
                pytest.fail(f"Neovim did not show {what} in {seconds:g} s; last state:\n{state}")
            time.sleep(0.05)

    def stop(self) -> None:
        """End the editor (and so its language server) and wait for it."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._socket_dir, ignore_errors=True)

    def __enter__(self) -> Neovim:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def messages_of(state: Mapping[str, Any]) -> Sequence[str]:
    """Return the texts of the messages the plugin showed."""
    return [entry["message"] for entry in state["messages"]]
