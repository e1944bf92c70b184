"""Backups taken while the app writes, restored into new data directories; retention; erasure reaching them.

Every test runs on SQLite and on PostgreSQL (pg_dump / pg_restore on PATH for the latter).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from kibitz.server.app import create_app
from kibitz.server.backup import (
    backup,
    backup_locations,
    layout,
    prune,
    purge_destroyed_from_backups,
)
from kibitz.server.crypto.keystore import Keystore, OwnerKind, backup_location_table, data_key_table
from kibitz.server.db import make_engine
from kibitz.server.errors import Conflict, InvalidRequest, KekUnusable, KeystoreMismatch, KibitzError
from kibitz.server.operator.restore import restore
from kibitz.settings import Settings
from tests.conftest import fresh_postgres_database
from tests.server.conftest import PASSWORD, Api, Person


@asynccontextmanager
async def restore_target(settings: Settings, new_dir: Path) -> AsyncIterator[Settings]:
    """Settings for restoring `settings`' backups into `new_dir` (and a fresh database on PostgreSQL)."""
    kek = settings.data_dir / "kek.key"
    if settings.is_sqlite:
        yield Settings.load(data_dir=new_dir, kek_file=kek, fast_password_hashing=True)
        return
    database = fresh_postgres_database()
    # The fixture helper runs its own event loop: keep it off this one.
    url = await asyncio.to_thread(database.__enter__)
    try:
        yield Settings.load(data_dir=new_dir, database_url=url, kek_file=kek, fast_password_hashing=True)
    finally:
        await asyncio.to_thread(database.__exit__, None, None, None)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Start another app on `settings` and give an in-process client to it."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://kibitz.test") as client:
            yield application, client


async def login(http: httpx.AsyncClient, person: Person) -> dict[str, str]:
    r = await http.post("/api/v1/auth/login", json={"email": person.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def texts_of(http: httpx.AsyncClient, headers: dict[str, str], team_id: str) -> dict[str, str]:
    r = await http.get(f"/api/v1/teams/{team_id}/codemarks", params={"limit": 200}, headers=headers)
    assert r.status_code == 200, r.text
    return {item["id"]: item["text"] for item in r.json()["items"]}


async def raw_rows(settings: Settings, query: str, **params: Any) -> list[Any]:
    engine = make_engine(settings)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(text(query), params)).all())
    finally:
        await engine.dispose()


def keystore_of(app: FastAPI) -> Any:
    keystore = app.state.kibitz.sealer.keystore
    assert keystore is not None
    return keystore


async def test_a_backup_taken_while_writing_restores_into_a_new_directory(
    app: FastAPI, api: Api, settings: Settings, tmp_path: Path
) -> None:
    ada = await api.person("Ada")
    team = await api.team(ada)
    repo = await api.repo(ada, team)
    before = {(await api.codemark(ada, team, repo, text=f"before {n}"))["id"] for n in range(5)}

    async def keep_writing() -> None:
        for n in range(20):
            await api.codemark(ada, team, repo, text=f"during {n}")

    writer = asyncio.create_task(keep_writing())
    await asyncio.sleep(0)
    result = await backup(settings, tmp_path / "backups")
    await writer

    assert result.data_file.is_file()
    assert result.keystore_file is not None
    assert result.keystore_file.is_file()
    assert result.database == ("sqlite" if settings.is_sqlite else "postgresql")
    assert result.alembic_revision
    for path in (result.data_file, result.keystore_file, result.manifest):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for directory in (result.location, result.data_file.parent, result.keystore_file.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    # The KEK is never in a backup.
    kek = (settings.data_dir / "kek.key").read_bytes().strip()
    for path in result.location.rglob("*"):
        assert not path.is_file() or kek not in path.read_bytes(), path
    manifest = json.loads(result.manifest.read_text())
    assert manifest["format"] == layout.MANIFEST_FORMAT
    assert manifest["stamp"] == result.stamp
    assert manifest["alembic_revision"] == result.alembic_revision
    assert manifest["files"]["data"]["sha256"] == layout.sha256_of(result.data_file)
    assert manifest["files"]["keystore"]["file"] == f"keystore/{result.stamp}.db"
    # The location is recorded in the live keystore, for erasures to find.
    assert result.location in await backup_locations(settings)

    async with restore_target(settings, tmp_path / "restored") as target:
        restored = await restore(target, tmp_path / "backups")
        assert restored.deleted == {}
        assert restored.redacted_events == 0
        assert restored.alembic_revision == result.alembic_revision
        async with serving(target) as (_, http):
            headers = await login(http, ada)
            texts = await texts_of(http, headers, team)
    # Everything written before is there, and what was written during the backup is whole or absent.
    assert before <= set(texts)
    assert all(value.startswith(("before ", "during ")) for value in texts.values())
    assert stat.S_IMODE((tmp_path / "restored").stat().st_mode) == 0o700


async def test_a_second_restore_into_the_same_directory_is_refused(
    app: FastAPI, api: Api, settings: Settings, tmp_path: Path
) -> None:
    ada = await api.person("Ada")
    await api.team(ada)
    await backup(settings, tmp_path / "backups")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    async with restore_target(settings, occupied) as target:
        with pytest.raises(Conflict, match="not empty"):
            await restore(target, tmp_path / "backups")
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]
    async with restore_target(settings, tmp_path / "fresh") as target:
        await restore(target, tmp_path / "backups")
        # Now the directory (and database) holds a restore: a second one is refused.
        with pytest.raises(Conflict):
            await restore(target, tmp_path / "backups")


async def test_restore_needs_the_operators_kek_and_leaves_nothing_behind(
    app: FastAPI, api: Api, settings: Settings, tmp_path: Path
) -> None:
    ada = await api.person("Ada")
    await api.team(ada)
    await backup(settings, tmp_path / "backups")
    async with restore_target(settings, tmp_path / "restored") as target:
        without_kek = target.model_copy(update={"kek_file": None})
        with pytest.raises(KekUnusable, match="KIBITZ_KEK_FILE"):
            await restore(without_kek, tmp_path / "backups")
        assert not (tmp_path / "restored").exists()
        # With the KEK it works afterwards: the failed attempt left the target empty.
        await restore(target, tmp_path / "backups")


async def test_restore_refuses_a_directory_without_backups_and_a_damaged_backup(
    app: FastAPI, api: Api, settings: Settings, tmp_path: Path
) -> None:
    async with restore_target(settings, tmp_path / "restored") as target:
        (tmp_path / "nothing").mkdir()
        with pytest.raises(InvalidRequest, match="no data backup"):
            await restore(target, tmp_path / "nothing")
        result = await backup(settings, tmp_path / "backups")
        with result.data_file.open("r+b") as handle:
            handle.seek(200)
            byte = handle.read(1)
            handle.seek(200)
            handle.write(bytes([byte[0] ^ 1]))
        with pytest.raises(KibitzError, match="checksum"):
            await restore(target, tmp_path / "backups")
        assert not (tmp_path / "restored").exists()


async def test_restore_takes_the_newest_data_backup_a_keystore_backup_covers(
    app: FastAPI, api: Api, settings: Settings, tmp_path: Path
) -> None:
    ada = await api.person("Ada")
    await api.team(ada)
    result = await backup(settings, tmp_path / "backups")
    # As if a later backup had stopped between its data copy and its keystore copy.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    orphan = result.data_file.with_name(f"{layout.new_stamp(later)}{result.data_file.suffix}")
    orphan.write_bytes(result.data_file.read_bytes())
    async with restore_target(settings, tmp_path / "restored") as target:
        restored = await restore(target, tmp_path / "backups")
    assert restored.data_backup == result.data_file


async def test_old_keystore_backups_are_deleted_and_data_backups_kept(
    app: FastAPI, api: Api, settings: Settings, tmp_path: Path
) -> None:
    ada = await api.person("Ada")
    await api.team(ada)
    location = tmp_path / "backups"
    first = await backup(settings, location)
    assert first.keystore_file is not None
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=settings.keystore_backup_days, hours=1)
    # One old by its name, one old by its mtime, one young: only the young one stays.
    named_old = first.keystore_file.with_name(f"{layout.new_stamp(old)}.db")
    named_old.write_bytes(first.keystore_file.read_bytes())
    touched_old = first.keystore_file.with_name(f"{layout.new_stamp()}.db")
    touched_old.write_bytes(first.keystore_file.read_bytes())
    os.utime(touched_old, (old.timestamp(), old.timestamp()))
    old_data = first.data_file.with_name(f"{layout.new_stamp(old)}{first.data_file.suffix}")
    old_data.write_bytes(first.data_file.read_bytes())

    second = await backup(settings, location)
    assert sorted(second.pruned) == sorted([named_old, touched_old])
    assert not named_old.exists()
    assert not touched_old.exists()
    assert first.keystore_file.exists()
    assert second.keystore_file is not None
    assert second.keystore_file.exists()
    assert old_data.exists()
    assert first.data_file.exists()

    # --prune-only: today's backups stay, an old one goes.
    named_old.write_bytes(first.keystore_file.read_bytes())
    assert await prune(settings, location) == [named_old]
    assert await prune(settings, location) == []


async def test_purge_removes_owners_keys_from_every_backup_location(
    app: FastAPI, api: Api, settings: Settings, tmp_path: Path
) -> None:
    ada = await api.person("Ada")
    bob = await api.person("Bob")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    repo = await api.repo(ada, team)
    await api.codemark(bob, team, repo, text="Bob's words")
    elsewhere = tmp_path / "elsewhere"
    results = [await backup(settings), await backup(settings, elsewhere)]
    keystore = keystore_of(app)
    owners = [(str(OwnerKind.USER), bob.id), (str(OwnerKind.MEMBERSHIP), f"{team}:{bob.id}")]
    async with keystore.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(data_key_table.c.owner_kind, data_key_table.c.owner_id, data_key_table.c.wrapped)
            )
        ).all()
    bobs = [bytes(row.wrapped) for row in rows if (row.owner_kind, row.owner_id) in owners]
    others = [bytes(row.wrapped) for row in rows if (row.owner_kind, row.owner_id) not in owners]
    assert len(bobs) == 2
    assert others
    for result in results:
        assert result.keystore_file is not None
        content = result.keystore_file.read_bytes()
        assert all(wrapped in content for wrapped in bobs)

    # The configured location and the other one recorded in the keystore are both reached.
    assert await purge_destroyed_from_backups(settings, owners) == 2 * len(bobs)
    for result in results:
        assert result.keystore_file is not None
        content = result.keystore_file.read_bytes()
        assert not any(wrapped in content for wrapped in bobs), result.keystore_file
        assert all(wrapped in content for wrapped in others)
        with closing(sqlite3.connect(result.keystore_file)) as db:
            tombstones = set(db.execute("SELECT owner_kind, owner_id FROM keystore_destroyed").fetchall())
        assert set(owners) <= tombstones
        manifest = layout.read_manifest(result.location, result.stamp)
        assert manifest is not None
        assert manifest["files"]["keystore"]["sha256"] == layout.sha256_of(result.keystore_file)
    # Again: nothing left to remove, and nothing breaks.
    assert await purge_destroyed_from_backups(settings, owners) == 0
    async with keystore.engine.connect() as connection:
        recorded = set(await connection.scalars(select(backup_location_table.c.path)))
    assert recorded == {str(settings.backup_location().resolve()), str(elsewhere.resolve())}


async def test_a_backup_taken_during_an_erasure_keeps_no_destroyed_key(
    app: FastAPI, api: Api, settings: Settings, tmp_path: Path
) -> None:
    ada = await api.person("Ada")
    bob = await api.person("Bob")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    keystore = keystore_of(app)
    # Destroyed in the live keystore, but (as if the erasure's purge ran before this backup existed) never
    # purged from backups: the backup itself leaves the key out.
    await keystore.destroy(OwnerKind.USER, bob.id)
    result = await backup(settings, tmp_path / "backups")
    assert result.keystore_file is not None
    with closing(sqlite3.connect(result.keystore_file)) as db:
        left = db.execute("SELECT count(*) FROM keystore_data_key WHERE owner_id = ?", (bob.id,)).fetchone()
    assert left == (0,)


async def test_restore_erases_what_keys_missing_from_the_keystore_backup_sealed(
    app: FastAPI, api: Api, settings: Settings, tmp_path: Path
) -> None:
    ada = await api.person("Ada")
    bob = await api.person("Bob")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    repo = await api.repo(ada, team)
    kept = await api.codemark(ada, team, repo, text="Ada stays")
    gone = await api.codemark(bob, team, repo, text="Bob goes")
    r = await api.http.post(
        f"/api/v1/codemarks/{kept['id']}/replies", json={"text": "Bob replies"}, headers=bob.headers
    )
    assert r.status_code == 201, r.text
    location = tmp_path / "backups"
    await backup(settings, location)
    # Bob is erased after the backup: his keys leave the keystore backups (the data backup keeps his rows).
    owners = [(str(OwnerKind.USER), bob.id), (str(OwnerKind.MEMBERSHIP), f"{team}:{bob.id}")]
    assert await purge_destroyed_from_backups(settings, owners) == 2

    async with restore_target(settings, tmp_path / "restored") as target:
        restored = await restore(target, location)
        assert restored.erased["user"] == 1
        assert restored.erased["membership"] == 0  # went with the user
        assert restored.deleted == {}  # every row of his went with the user first
        async with serving(target) as (_, http):
            headers = await login(http, ada)
            texts = await texts_of(http, headers, team)
            r = await http.get(f"/api/v1/codemarks/{kept['id']}/replies", headers=headers)
            assert r.status_code == 200, r.text
            assert "Bob replies" not in r.text
            r = await http.post("/api/v1/auth/login", json={"email": bob.email, "password": PASSWORD})
            assert r.status_code == 401, r.text
        assert texts == {kept["id"]: "Ada stays"}
        assert gone["id"] not in texts
        events = await raw_rows(
            target, "SELECT seq, payload, author_id FROM event WHERE team_id = :team ORDER BY seq", team=team
        )
        assert [row.seq for row in events] == list(range(1, len(events) + 1))
        assert all(row.author_id != bob.id for row in events)
        assert any(row.payload == '{"redacted":true}' for row in events)
        assert await raw_rows(target, "SELECT id FROM user_account WHERE id = :id", id=bob.id) == []


async def test_restore_deletes_rows_sealed_with_a_key_the_keystore_never_had(
    app: FastAPI, api: Api, settings: Settings, tmp_path: Path
) -> None:
    ada = await api.person("Ada")
    bob = await api.person("Bob")
    team = await api.team(ada)
    await api.join(ada, team, bob)
    repo = await api.repo(ada, team)
    kept = await api.codemark(ada, team, repo, text="Ada stays")
    gone = await api.codemark(bob, team, repo, text="Bob goes")
    result = await backup(settings, tmp_path / "backups")
    assert result.keystore_file is not None
    # A keystore backup missing Bob's membership key (and no tombstone): his rows cannot open, so they go.
    with closing(sqlite3.connect(result.keystore_file)) as db:
        db.execute("DELETE FROM keystore_data_key WHERE owner_id = ?", (f"{team}:{bob.id}",))
        db.commit()
    manifest = layout.read_manifest(result.location, result.stamp)
    assert manifest is not None
    manifest["files"]["keystore"]["sha256"] = layout.sha256_of(result.keystore_file)
    layout.write_manifest(result.location, result.stamp, manifest)

    async with restore_target(settings, tmp_path / "restored") as target:
        restored = await restore(target, tmp_path / "backups")
        assert restored.deleted.get("codemark") == 1
        assert restored.deleted.get("marker") == 1
        assert restored.redacted_events >= 1
        assert restored.erased == {"user": 0, "team": 0, "membership": 0}
        async with serving(target) as (_, http):
            texts = await texts_of(http, await login(http, ada), team)
            # Bob still exists (his profile key is there) and logs in; his codemark does not.
            await login(http, bob)
        assert texts == {kept["id"]: "Ada stays"}
        assert gone["id"] not in texts
        events = await raw_rows(target, "SELECT seq FROM event WHERE team_id = :team ORDER BY seq", team=team)
        assert [row.seq for row in events] == list(range(1, len(events) + 1))


async def test_restore_refuses_a_keystore_backup_of_another_database(
    app: FastAPI, api: Api, settings: Settings, tmp_path: Path
) -> None:
    ada = await api.person("Ada")
    await api.team(ada)
    result = await backup(settings, tmp_path / "backups")
    assert result.keystore_file is not None
    # Another server's keystore, wrapped by the same KEK, in place of this one's keystore backup.
    other = Settings.load(data_dir=tmp_path / "other", kek_file=settings.data_dir / "kek.key")
    other_keystore = await Keystore.open(other)
    await other_keystore.data_key(OwnerKind.USER, "someone")
    await other_keystore.close()
    result.keystore_file.write_bytes((tmp_path / "other" / "keystore.db").read_bytes())
    manifest = layout.read_manifest(result.location, result.stamp)
    assert manifest is not None
    manifest["files"]["keystore"]["sha256"] = layout.sha256_of(result.keystore_file)
    layout.write_manifest(result.location, result.stamp, manifest)

    async with restore_target(settings, tmp_path / "restored") as target:
        with pytest.raises(KeystoreMismatch, match="keystore"):
            await restore(target, tmp_path / "backups")
        assert not (tmp_path / "restored").exists()


async def test_without_encryption_a_backup_is_a_copy(tmp_path: Path) -> None:
    plain = Settings.load(data_dir=tmp_path / "plain", encrypt_at_rest=False, fast_password_hashing=True)
    async with serving(plain) as (_, http):
        driver = Api(http)
        ada = await driver.person("Ada")
        team = await driver.team(ada)
        repo = await driver.repo(ada, team)
        mark = await driver.codemark(ada, team, repo, text="plain words")
        result = await backup(plain, tmp_path / "backups")
    assert result.keystore_file is None
    encrypted = Settings.load(data_dir=tmp_path / "restored-encrypted", fast_password_hashing=True)
    with pytest.raises(InvalidRequest, match="encryption at rest off"):
        await restore(encrypted, tmp_path / "backups")
    target = plain.model_copy(update={"data_dir": tmp_path / "restored"})
    restored = await restore(target, tmp_path / "backups")
    assert restored.keystore_backup is None
    assert restored.deleted == {}
    async with serving(target) as (_, http):
        assert await texts_of(http, await login(http, ada), team) == {mark["id"]: "plain words"}


# SQLite backups need no external program.
@pytest.mark.databases("postgres")
async def test_a_missing_pg_dump_is_named(
    app: FastAPI, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(KibitzError, match="pg_dump is not on PATH"):
        await backup(settings, tmp_path / "backups")
    assert list((tmp_path / "backups" / "data").iterdir()) == []


async def test_a_keystore_on_postgresql_is_backed_up_as_a_file_and_restored_into_postgresql(
    tmp_path: Path, postgres_url: str
) -> None:
    live = Settings.load(data_dir=tmp_path / "data", keystore_url=postgres_url, fast_password_hashing=True)
    async with serving(live) as (application, http):
        driver = Api(http)
        ada = await driver.person("Ada")
        team = await driver.team(ada)
        repo = await driver.repo(ada, team)
        mark = await driver.codemark(ada, team, repo, text="keys in PostgreSQL")
        result = await backup(live, tmp_path / "backups")
        assert result.keystore_file is not None
        async with keystore_of(application).engine.connect() as connection:
            wrapped = [bytes(value) for value in await connection.scalars(select(data_key_table.c.wrapped))]
        content = result.keystore_file.read_bytes()
        assert wrapped
        assert all(value in content for value in wrapped)
        # The location is recorded in the PostgreSQL keystore, and the purge works on the file all the same.
        assert result.location in await backup_locations(live)
        assert await purge_destroyed_from_backups(live, [(str(OwnerKind.USER), "nobody")]) == 0

    database = fresh_postgres_database()
    keystore_url = await asyncio.to_thread(database.__enter__)
    try:
        target = Settings.load(
            data_dir=tmp_path / "restored",
            keystore_url=keystore_url,
            kek_file=live.data_dir / "kek.key",
            fast_password_hashing=True,
        )
        # Without the KEK nothing stays behind in the PostgreSQL keystore either, so a second try works.
        with pytest.raises(KekUnusable):
            await restore(target.model_copy(update={"kek_file": None}), tmp_path / "backups")
        restored = await restore(target, tmp_path / "backups")
        assert restored.deleted == {}
        assert not (tmp_path / "restored" / "keystore.db").exists()
        async with serving(target) as (_, http):
            assert await texts_of(http, await login(http, ada), team) == {mark["id"]: "keys in PostgreSQL"}
        # A keystore that holds keys is never overwritten.
        again = target.model_copy(update={"data_dir": tmp_path / "again"})
        with pytest.raises(Conflict, match="KIBITZ_KEYSTORE_URL holds keys"):
            await restore(again, tmp_path / "backups")
        assert not (tmp_path / "again").exists()
    finally:
        await asyncio.to_thread(database.__exit__, None, None, None)


def test_the_package_exports_its_entry_points() -> None:
    import kibitz.server.backup as package

    assert sorted(package.__all__) == [
        "BackupResult",
        "backup",
        "backup_locations",
        "prune",
        "purge_destroyed_from_backups",
    ]
    assert all(callable(getattr(package, name)) for name in package.__all__)


def test_pg_tools_get_the_password_in_their_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kibitz.server.backup import pgtools

    calls: list[tuple[list[str], dict[str, str]]] = []

    def run(arguments: list[str], *, env: dict[str, str], **_: Any) -> Any:
        calls.append((arguments, env))
        return type("Done", (), {"returncode": 0, "stderr": b""})()

    monkeypatch.setattr("kibitz.server.backup.pgtools.subprocess.run", run)
    monkeypatch.setenv("PGSSLROOTCERT", "/etc/ca.pem")
    url = "postgresql://kibitz:s3cret-pw@db.internal:6543/kibitz_prod?sslmode=verify-full"
    pgtools.dump(url, tmp_path / "out.pgdump")
    pgtools.restore(url, tmp_path / "out.pgdump")
    assert [Path(arguments[0]).name for arguments, _ in calls] == ["pg_dump", "pg_restore"]
    for arguments, env in calls:
        assert not any("s3cret-pw" in argument for argument in arguments)
        assert env["PGPASSWORD"] == "s3cret-pw"
        assert (env["PGHOST"], env["PGPORT"], env["PGUSER"]) == ("db.internal", "6543", "kibitz")
        assert (env["PGDATABASE"], env["PGSSLMODE"], env["PGSSLROOTCERT"]) == (
            "kibitz_prod",
            "verify-full",
            "/etc/ca.pem",
        )
    assert "--dbname=kibitz_prod" in calls[1][0]


def test_a_failing_pg_tool_is_reported_with_its_message(tmp_path: Path) -> None:
    from kibitz.server.backup import pgtools

    # Nothing listens on port 1: pg_dump fails, and its own words say why.
    with pytest.raises(KibitzError, match=r"pg_dump failed \(exit 1\)"):
        pgtools.dump("postgresql://nobody@127.0.0.1:1/none", tmp_path / "out.pgdump")
