"""`eager.step` runs a coroutine as far as it goes at once; `eager.finish` completes it inside a task."""

from __future__ import annotations

import asyncio

import pytest

from kibitz.server.events.eager import Suspended, finish, step


async def _send(gate: asyncio.Event, out: list[str], text: str) -> str:
    await gate.wait()
    out.append(text)
    return text


async def test_a_coroutine_that_need_not_wait_finishes_at_once() -> None:
    gate, out = asyncio.Event(), list[str]()
    gate.set()
    assert step(_send(gate, out, "a")) is None
    assert out == ["a"]


async def test_a_coroutine_that_waits_is_finished_later_by_a_task() -> None:
    gate, out = asyncio.Event(), list[str]()
    suspended = step(_send(gate, out, "b"))
    assert suspended is not None
    assert out == []
    task = asyncio.create_task(_finish(suspended))
    await asyncio.sleep(0.01)
    assert not task.done()
    assert out == []
    gate.set()
    await asyncio.wait_for(task, 5)
    assert out == ["b"]


async def _finish(suspended: Suspended) -> None:
    await finish(suspended)


async def test_a_timeout_reaches_the_waiting_coroutine() -> None:
    gate, out = asyncio.Event(), list[str]()
    suspended = step(_send(gate, out, "c"))
    assert suspended is not None
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.01):
            await finish(suspended)
    # The coroutine was cancelled where it waited: it is over, and setting the gate sends nothing.
    gate.set()
    await asyncio.sleep(0)
    assert out == []
    with pytest.raises(RuntimeError, match="cannot reuse already awaited coroutine"):
        suspended.coro.send(None)


async def test_errors_of_the_coroutine_propagate() -> None:
    async def broken() -> None:
        raise ConnectionResetError

    with pytest.raises(ConnectionResetError):
        step(broken())

    async def broken_later(gate: asyncio.Event) -> None:
        await gate.wait()
        raise ConnectionResetError

    gate = asyncio.Event()
    suspended = step(broken_later(gate))
    assert suspended is not None
    gate.set()
    with pytest.raises(ConnectionResetError):
        await finish(suspended)
