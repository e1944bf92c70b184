"""The `kibitz` command and the test server, started as processes forked from a warm parent (a zygote).

Starting Python and importing the server costs about 3 s of CPU, the command about 0.4 s, and the end-to-end
tests start hundreds of both: on the 2-core machine that was nearly half of the suite's time. So each test
process keeps one zygote that has imported them once and forks a child for every start. The child is a real
process of its own — its own arguments, environment, working directory, standard streams, session and exit
code — running the same `main` as the console script (or tests/launch_server.py); only the imports are shared.
That is faithful because nothing in the package reads the environment at import time (docs/architecture.md).

Tests about process start-up itself (a pseudo-terminal, signals at a prompt, a server exec'ed inside a mount
namespace, the language server spoken to byte by byte) still exec, as do the benchmarks.

    run_kibitz(["team", "show"], env=..., cwd=...)      # like subprocess.run(..., capture_output=True)
    start(SERVER_MAIN, [SETTINGS_JSON], env=..., stdin=fd, stdout=fd, stderr=fd)   # a Popen-like handle

Protocol: one Unix SOCK_SEQPACKET connection per start. The test sends a JSON request with the child's
stdin, stdout and stderr as file descriptors; the zygote forks a manager, which forks the child, sends
`{"pid": N}`, waits for it and sends `{"returncode": R}` (negative for a signal, as Popen reports).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

_PR_SET_PDEATHSIG = 1
_PACKET = 1 << 20
START_SECONDS = 60.0
# What a child may become.
KIBITZ_MAIN = "kibitz"
SERVER_MAIN = "server"


# --- The test side -----------------------------------------------------------------------------------------

# The test suite turns warm starts on (tests/conftest.py); the benchmarks, which import the server helpers
# too, keep exec'ing: they measure the server as `kibitz server run` starts it.
_switch = {"on": False}


def enable(on: bool = True) -> None:
    """Start this process's test servers and commands from the warm parent (or, with False, exec them)."""
    _switch["on"] = on


def enabled() -> bool:
    """Tell whether test servers and commands start from the warm parent."""
    return _switch["on"]


class WarmProcess:
    """A child of the zygote, handled like a `subprocess.Popen`: pid, poll, wait, terminate, kill."""

    def __init__(self, connection: socket.socket, args: Sequence[str]) -> None:
        self._connection = connection
        self.args = list(args)
        self.returncode: int | None = None
        self.pid = int(self._receive(START_SECONDS)["pid"])

    def _receive(self, timeout: float | None) -> dict[str, Any]:
        self._connection.settimeout(timeout)
        packet = self._connection.recv(_PACKET)
        if not packet:
            raise RuntimeError(f"the zygote's manager of {self.args} went away")
        answer: dict[str, Any] = json.loads(packet)
        return answer

    def poll(self) -> int | None:
        """Return the exit code if the child has ended, else None."""
        if self.returncode is None:
            with contextlib.suppress(TimeoutError, BlockingIOError):
                self.returncode = int(self._receive(0)["returncode"])
                self._connection.close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to end and return its exit code (TimeoutExpired after `timeout`)."""
        if self.returncode is None:
            try:
                self.returncode = int(self._receive(timeout)["returncode"])
            except TimeoutError:
                raise subprocess.TimeoutExpired(self.args, timeout or 0) from None
            self._connection.close()
        return self.returncode

    async def wait_async(self) -> int:
        """Wait for the child to end without blocking the event loop, and return its exit code.

        Its only waiter meanwhile: `poll` and `wait` would read the same answer.
        """
        if self.returncode is None:
            self._connection.setblocking(False)
            packet = await asyncio.get_running_loop().sock_recv(self._connection, _PACKET)
            if not packet:
                raise RuntimeError(f"the zygote's manager of {self.args} went away")
            self.returncode = int(json.loads(packet)["returncode"])
            self._connection.close()
        return self.returncode

    def send_signal(self, number: int) -> None:
        """Send a signal to the child, unless it has ended."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, number)

    def terminate(self) -> None:
        """Send SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL."""
        self.send_signal(signal.SIGKILL)


class _Zygote:
    """This test process's zygote: started on first use, stopped when the process exits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self.socket_path = ""

    def connect(self) -> socket.socket:
        """Return a new connection to the zygote, starting it first if needed."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        connection.connect(self.socket_path)
        return connection

    def _start(self) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix="kibitz-zygote-")
        self.socket_path = str(Path(self._directory.name) / "socket")
        environment = {key: value for key, value in os.environ.items() if not key.startswith("KIBITZ_")}
        log_path = Path(self._directory.name) / "zygote.log"
        with log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-u", __file__, self.socket_path],
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + START_SECONDS
        while not os.path.exists(self.socket_path):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the zygote did not start (exit code {self._process.returncode}):\n"
                    + log_path.read_text(errors="replace")
                )
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the zygote (its running children get SIGTERM) and remove its socket."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        if self._directory is not None:
            self._directory.cleanup()


_ZYGOTE = _Zygote()


def start(
    main: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str] | None = None,
    stdin: int,
    stdout: int,
    stderr: int,
    cpus: Iterable[int] | None = None,
) -> WarmProcess:
    """Fork a child that runs `main` (KIBITZ_MAIN or SERVER_MAIN) with `args` and these file descriptors.

    The child starts its own session (as `start_new_session=True`), with exactly `env` as its environment.
    """
    request = {
        "main": main,
        "args": list(args),
        "env": dict(env),
        "cwd": str(cwd or os.getcwd()),
        "cpus": sorted(cpus) if cpus is not None else None,
    }
    connection = _ZYGOTE.connect()
    try:
        socket.send_fds(connection, [json.dumps(request).encode()], [stdin, stdout, stderr])
        return WarmProcess(connection, [main, *args])
    except BaseException:
        connection.close()
        raise


def run_kibitz(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | os.PathLike[str] | None = None,
    input: str | None = None,
    timeout: float = 60,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run `kibitz ARGS` to its end and return what it printed, as `subprocess.run(capture_output=True,
    text=True)` does (`check` raises CalledProcessError on a non-zero exit); stdin is `input`, or empty.
    Exec'ed when warm starts are off."""
    if not enabled():
        return subprocess.run(
            [str(Path(sys.executable).with_name("kibitz")), *args],
            env=env,
            cwd=cwd,
            input=input or "",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )
    with tempfile.TemporaryFile() as given, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        given.write((input or "").encode())
        given.seek(0)
        child = start(
            KIBITZ_MAIN,
            args,
            env=env,
            cwd=cwd,
            stdin=given.fileno(),
            stdout=out.fileno(),
            stderr=err.fileno(),
        )
        try:
            code = child.wait(timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)
            raise
        out.seek(0)
        err.seek(0)
        printed, complained = out.read().decode(), err.read().decode()
    done = subprocess.CompletedProcess(["kibitz", *args], code, printed, complained)
    if check:
        done.check_returncode()
    return done


# --- The zygote --------------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _serve(path: str) -> None:
    """Import once, then fork a manager per connection, until the test process is gone."""
    import kibitz.cli.main
    import kibitz.lsp
    import kibitz.server.app
    import kibitz.server.runner  # noqa: F401 (warmed for the children)

    assert threading.active_count() == 1, "imports started a thread: forking would copy a broken process"
    # What is imported stays out of the children's garbage collections: they neither scan it nor copy the
    # pages its reference counts live on.
    gc.freeze()
    # The children run like the console script, from its directory, not from tests/.
    sys.path[0] = str(Path(sys.executable).parent)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the managers
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path + ".new")
    listener.listen(64)
    os.rename(path + ".new", path)  # the path appears once connections are accepted
    # It ends with the test process that started it (a parent-death signal would follow the starting thread,
    # which may be a test's); each manager and child ends with its own parent.
    parent = os.getppid()
    listener.settimeout(1)
    while os.getppid() == parent:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            continue
        connection.settimeout(None)
        if os.fork() == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _die_with_parent()
            _manage(connection)
        connection.close()


def _manage(connection: socket.socket) -> NoReturn:
    """Receive one request, fork its child, report its pid and exit code."""
    message, fds, _flags, _address = socket.recv_fds(connection, _PACKET, 3)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        connection.close()
        _become(request, fds)
    for fd in fds:
        os.close(fd)
    with contextlib.suppress(OSError):
        connection.send(json.dumps({"pid": pid}).encode())
    _, status = os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        connection.send(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode())
    os._exit(0)


def _become(request: dict[str, Any], fds: list[int]) -> NoReturn:
    """Turn this fork into the requested process, run it and exit with its code."""
    os.setsid()
    _die_with_parent()
    if request["cpus"] is not None:
        os.sched_setaffinity(0, request["cpus"])
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        _run(request["main"], request["args"])
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except BaseException:
        traceback.print_exc()
        code = 1
    # The rest of what the interpreter does at exit, without tearing down every module the zygote imported
    # (that took longer than the command): exit functions, then the standard streams.
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _run(main: str, args: list[str]) -> None:
    if main == SERVER_MAIN:
        from kibitz.server.runner import serve
        from kibitz.settings import Settings

        sys.argv = ["launch_server.py", *args]
        serve(Settings.load(**json.loads(args[0])))
        return
    from kibitz.cli.main import main as kibitz

    sys.argv = ["kibitz", *args]
    kibitz()


def _exit_code(code: object) -> int:
    """Turn `SystemExit`'s code into the process's, as the interpreter does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    _serve(sys.argv[1])
