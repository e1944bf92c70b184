"""A minimal LSP client over a child's stdio, for timing: requests, notifications, and what the server sends.

Only what the benchmark needs: JSON-RPC framing, answering the server's requests (with null), and a queue of
`textDocument/publishDiagnostics` stamped with the time they arrived, so that a measurement is the time
between writing a message and reading the server's answer, with nothing else in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class ServerError(RuntimeError):
    """The language server answered a request with an error, or exited."""


@dataclass(frozen=True, slots=True)
class Published:
    """A publishDiagnostics notification and when it was read (time.perf_counter)."""

    at: float
    uri: str
    version: int | None
    diagnostics: list[dict[str, Any]]


class LspClient:
    """A language server child process spoken to over stdio."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self.published: asyncio.Queue[Published] = asyncio.Queue()
        self.notifications: list[tuple[str, Any]] = []
        self._reader = asyncio.create_task(self._read_forever())

    @classmethod
    async def start(cls, command: Sequence[str], env: Mapping[str, str], cwd: str) -> LspClient:
        """Start the server."""
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=dict(env),
            cwd=cwd,
        )
        return cls(process)

    async def _write(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await self.process.stdin.drain()

    async def request(self, method: str, params: Any, seconds: float = 60.0) -> Any:
        """Send a request and return its result."""
        number = next(self._ids)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[number] = answer
        await self._write({"id": number, "method": method, "params": params})
        return await asyncio.wait_for(answer, seconds)

    async def notify(self, method: str, params: Any) -> None:
        """Send a notification."""
        await self._write({"method": method, "params": params})

    async def next_published(self, uri: str, seconds: float) -> Published:
        """Return the next publishDiagnostics for `uri` (those of other documents are dropped)."""
        deadline = time.perf_counter() + seconds
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(f"no diagnostics for {uri} in {seconds:g} s")
            published = await asyncio.wait_for(self.published.get(), left)
            if published.uri == uri:
                return published

    def drain_published(self) -> None:
        """Forget every publication read so far."""
        while not self.published.empty():
            self.published.get_nowait()

    async def _read_forever(self) -> None:
        reader = self.process.stdout
        assert reader is not None
        try:
            while True:
                length = 0
                while True:
                    header = await reader.readline()
                    if not header:
                        raise EOFError
                    if header in (b"\r\n", b"\n"):
                        break
                    name, _, value = header.decode("ascii").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                message = json.loads(await reader.readexactly(length))
                await self._dispatch(message, time.perf_counter())
        except (EOFError, asyncio.IncompleteReadError):
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(ServerError("the language server exited"))

    async def _dispatch(self, message: dict[str, Any], at: float) -> None:
        if "method" not in message:
            waiting = self._pending.pop(message.get("id", -1), None)
            if waiting is not None and not waiting.done():
                if "error" in message:
                    waiting.set_exception(ServerError(message["error"].get("message", "error")))
                else:
                    waiting.set_result(message.get("result"))
            return
        method: str = message["method"]
        params: Any = message.get("params") or {}
        if method == "textDocument/publishDiagnostics":
            self.published.put_nowait(
                Published(at, params["uri"], params.get("version"), params.get("diagnostics", []))
            )
        else:
            self.notifications.append((method, params))
        if "id" in message:
            # Requests from the server (code lens refresh, progress, registration): accept them.
            await self._write({"id": message["id"], "result": None})

    async def stop(self) -> None:
        """Shut the server down politely, then make sure it is gone."""
        with contextlib.suppress(Exception):
            await self.request("shutdown", None, seconds=10)
            await self.notify("exit", None)
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
