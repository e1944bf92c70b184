"""`kibitz server rotate-kek` and `keystore-info` end to end: the real command on a real data directory."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from kibitz.server.crypto.envelope import key_id_of, open_sealed, seal
from kibitz.server.crypto.kek import LocalKek, write_kek_file
from kibitz.server.crypto.keystore import Keystore, OwnerKind
from kibitz.server.errors import KekUnusable
from kibitz.settings import Settings
from tests.e2e.conftest import COMMAND_SECONDS
from tests.server_process import clean_environment
from tests.warm_start import run_kibitz

CELL = {"table": "reply", "column": "text", "row": "r000000000000001"}


def operator(
    *args: str, data_dir: Path, expect: int = 0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `kibitz server ARGS --data-dir DIR` as an operator would."""
    result = run_kibitz(
        ["server", *args, "--data-dir", str(data_dir)],
        env={**clean_environment(), **(env or {})},
        timeout=COMMAND_SECONDS,
    )
    assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


async def _seal_some(settings: Settings, owners: list[str]) -> dict[str, str]:
    store = await Keystore.open(settings)
    try:
        values = {}
        for owner in owners:
            key_id, key = await store.data_key(OwnerKind.TEAM, owner)
            values[owner] = seal(key, key_id, f"code of {owner}", **CELL)
        return values
    finally:
        await store.close()


async def _open_all(settings: Settings, values: dict[str, str]) -> None:
    store = await Keystore.open(settings)
    try:
        for owner, value in values.items():
            key_id = key_id_of(value)
            assert open_sealed(await store.key_by_id(key_id), key_id, value, **CELL) == f"code of {owner}"
    finally:
        await store.close()


def _kek_text(data_dir: Path) -> str:
    return (data_dir / "kek.key").read_text().strip()


@pytest.fixture(params=["sqlite", "postgres"])
def keystore_url(request: pytest.FixtureRequest) -> str:
    """The keystore in the data directory's SQLite file, then in a fresh PostgreSQL database."""
    return "" if request.param == "sqlite" else str(request.getfixturevalue("postgres_url"))


async def test_rotate_kek_generates_rewraps_and_replaces_the_kek_file(
    tmp_path: Path, keystore_url: str
) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, keystore_url=keystore_url)
    env = {"KIBITZ_KEYSTORE_URL": keystore_url}
    values = await _seal_some(settings, ["t1", "t2", "t3"])
    old_text = _kek_text(data_dir)
    old_kek = LocalKek(base64.b64decode(old_text))
    # A running server's keystore, opened before the rotation, with one key already cached.
    running = await Keystore.open(settings)
    cached_id, _ = await running.data_key(OwnerKind.TEAM, "t1")

    result = operator("rotate-kek", "--generate", data_dir=data_dir, env=env)

    new_text = _kek_text(data_dir)
    new_kek = LocalKek(base64.b64decode(new_text))
    assert new_text != old_text
    assert f"Rewrapped 3 data keys with the key-encryption key {new_kek.key_id}" in result.stdout
    assert old_kek.key_id in result.stdout
    assert old_text not in result.stdout + result.stderr
    assert new_text not in result.stdout + result.stderr
    assert (data_dir / "kek.key").stat().st_mode & 0o777 == 0o600
    assert not (data_dir / "kek.key.next").exists()
    await _open_all(settings, values)
    with pytest.raises(KekUnusable):
        await Keystore.open(settings, keks=[old_kek])
    # The running server goes on: it reads keys it had not cached and makes new ones with the new KEK.
    try:
        assert await running.key_by_id(key_id_of(values["t2"]))
        assert (await running.data_key(OwnerKind.TEAM, "t1"))[0] == cached_id
        await running.data_key(OwnerKind.TEAM, "t-new")
    finally:
        await running.close()

    info = json.loads(operator("keystore-info", "--json", data_dir=data_dir, env=env).stdout)
    assert info["active_kek"] == new_kek.key_id
    assert info["keys_by_kek"] == {new_kek.key_id: 4}
    assert info["active_keys_by_kind"] == {"team": 4}
    assert info["keystore"] == (str(data_dir / "keystore.db") if not keystore_url else "database server")
    assert (data_dir / "keystore.db").exists() == (not keystore_url)
    text = operator("keystore-info", data_dir=data_dir, env=env).stdout
    assert f"active key-encryption key: {new_kek.key_id}" in text
    assert new_text not in text


async def test_rotate_kek_takes_a_given_key_file_and_refuses_an_exposed_one(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    values = await _seal_some(settings, ["t1"])
    before = _kek_text(data_dir)
    given = tmp_path / "new.key"
    key = os.urandom(32)
    write_kek_file(given, key)
    given.chmod(0o644)
    refused = operator("rotate-kek", "--new-kek-file", str(given), data_dir=data_dir, expect=1)
    assert "chmod 600" in refused.stderr
    assert _kek_text(data_dir) == before
    assert not (data_dir / "kek.key.next").exists()

    given.chmod(0o600)
    same = operator("rotate-kek", "--new-kek-file", str(data_dir / "kek.key"), data_dir=data_dir, expect=1)
    assert "already in use" in same.stderr
    operator("rotate-kek", "--new-kek-file", str(given), data_dir=data_dir)
    assert base64.b64decode(_kek_text(data_dir)) == key
    await _open_all(settings, values)


async def test_an_exposed_kek_file_is_explained_alike_by_every_operator_command(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    await _seal_some(Settings(data_dir=data_dir), ["t1"])
    (data_dir / "kek.key").chmod(0o644)
    commands = [
        ["keystore-info"],
        ["erasures"],
        ["rotate-team-keys", "t1"],
        ["user", "disable", "someone@example.com"],
    ]
    refusals = {operator(*command, data_dir=data_dir, expect=1).stderr for command in commands}
    assert len(refusals) == 1, refusals
    (refusal,) = refusals
    assert refusal.startswith("kibitz: ")
    assert "mode 0644" in refusal
    assert "chmod 600" in refusal
    assert "internal error" not in refusal
    assert refusal.count("\n") == 1


def test_rotate_kek_usage_errors(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert "--generate" in operator("rotate-kek", data_dir=data_dir, expect=2).stderr
    both = operator("rotate-kek", "--generate", "--new-kek-file", __file__, data_dir=data_dir, expect=2)
    assert "not both" in both.stderr
    missing = operator("rotate-kek", "--generate", data_dir=data_dir, expect=1)
    assert "no key-encryption key file" in missing.stderr
    env_kek = base64.b64encode(os.urandom(32)).decode()
    from_env = operator("rotate-kek", "--generate", data_dir=data_dir, expect=1, env={"KIBITZ_KEK": env_kek})
    assert "KIBITZ_KEK" in from_env.stderr


class _CrashingKek:
    """A KEK that stops (as a killed process would) after wrapping a few keys."""

    def __init__(self, inner: LocalKek, wraps_before_crash: int) -> None:
        self.inner = inner
        self.left = wraps_before_crash

    @property
    def key_id(self) -> str:
        return self.inner.key_id

    async def wrap(self, data_key: bytes, context: bytes) -> bytes:
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return await self.inner.wrap(data_key, context)

    async def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        return await self.inner.unwrap(wrapped, context)


async def test_an_interrupted_rotation_loses_nothing_and_resumes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    values = await _seal_some(settings, [f"t{i}" for i in range(5)])
    new_key = os.urandom(32)
    # Steps 1-3 of a rotation, stopped after two of five keys were rewrapped.
    write_kek_file(data_dir / "kek.key.next", new_key)
    store = await Keystore.open(settings)
    with pytest.raises(KeyboardInterrupt):
        await store.rewrap_all(_CrashingKek(LocalKek(new_key), 2), batch_size=1)
    await store.close()
    await _open_all(settings, values)

    given = tmp_path / "other.key"
    write_kek_file(given, os.urandom(32))
    other = operator("rotate-kek", "--new-kek-file", str(given), data_dir=data_dir, expect=1)
    assert "interrupted rotation" in other.stderr

    result = operator("rotate-kek", data_dir=data_dir)
    assert "Resumed the interrupted rotation" in result.stdout
    assert "Rewrapped 3 data keys" in result.stdout
    assert base64.b64decode(_kek_text(data_dir)) == new_key
    assert not (data_dir / "kek.key.next").exists()
    await _open_all(settings, values)
