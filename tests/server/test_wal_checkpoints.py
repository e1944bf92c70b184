"""SQLite's write-ahead log copied into the database file in the background, not by the requests' commits."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
from fastapi import FastAPI

from kibitz.server.wal_checkpoints import WAL_BACKSTOP_PAGES, WalCheckpoints
from tests.server.conftest import Api


def _wal_database(path: Path, rows: int) -> sqlite3.Connection:
    """Return a connection to a WAL database that wrote `rows` rows and checkpoints nothing by itself."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    for number in range(rows):
        connection.execute("INSERT INTO t (body) VALUES (?)", (f"row {number} " * 40,))
    return connection


async def test_a_round_copies_the_whole_log_and_a_second_finds_it_copied(tmp_path: Path) -> None:
    database = tmp_path / "wal.db"
    writer = _wal_database(database, 200)
    checkpoints = WalCheckpoints(database)
    try:
        first = await checkpoints.checkpoint()
        assert not first.busy
        assert first.log_pages > 20
        assert first.checkpointed_pages == first.log_pages
        # Nothing written since: the log is all in the file already.
        assert await checkpoints.checkpoint() == first
        assert checkpoints.rounds == 2
        # A reader of the database file alone (the log aside) sees every row.
        copy = sqlite3.connect(f"file:{database}?immutable=1", uri=True)
        assert copy.execute("SELECT count(*) FROM t").fetchone() == (200,)
        copy.close()
    finally:
        await checkpoints.stop()
        writer.close()


async def test_rounds_run_in_the_background_until_stopped(tmp_path: Path) -> None:
    database = tmp_path / "wal.db"
    writer = _wal_database(database, 50)
    checkpoints = WalCheckpoints(database, interval=0.01)
    checkpoints.start()
    try:
        for _ in range(500):
            last = checkpoints.last
            if last is not None and last.log_pages > 0 and last.checkpointed_pages == last.log_pages:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail(f"no background round copied the log: {checkpoints.last}")
    finally:
        await checkpoints.stop()
        writer.close()
    stopped_at = checkpoints.rounds
    await asyncio.sleep(0.05)
    assert checkpoints.rounds == stopped_at


async def test_a_database_it_cannot_open_is_said_once_and_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpoints = WalCheckpoints(tmp_path, interval=0.01)  # a directory, not a database
    with caplog.at_level(logging.WARNING, logger="kibitz.server.wal_checkpoints"):
        checkpoints.start()
        await asyncio.sleep(0.1)
        await checkpoints.stop()
    failures = [r for r in caplog.records if "checkpoint failed" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].getMessage() == "write-ahead log checkpoint failed: OperationalError"
    assert checkpoints.rounds == 0


async def test_the_server_checkpoints_in_the_background_and_commits_do_only_past_the_backstop(
    app: FastAPI, api: Api
) -> None:
    state = app.state.kibitz
    checkpoints = state.wal_checkpoints
    if not state.settings.is_sqlite:
        assert checkpoints is None  # PostgreSQL keeps its own log
        return
    assert checkpoints is not None
    async with state.engine.connect() as connection:
        backstop = (await connection.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar_one()
    assert backstop == WAL_BACKSTOP_PAGES
    ada = await api.person("Ada")
    team = await api.team(ada)
    await api.codemark(ada, team, await api.repo(ada, team))
    written = checkpoints.rounds
    for _ in range(250):
        last = checkpoints.last
        if checkpoints.rounds > written and last is not None and last.checkpointed_pages == last.log_pages:
            break  # a round after the writes found the whole log in the file
        await asyncio.sleep(0.02)
    else:
        pytest.fail(f"the server's log was not copied: {checkpoints.last}")
