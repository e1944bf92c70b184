"""The key-encryption key: the file (0600, created once, refused when others may read it) and KIBITZ_KEK."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from kibitz.server.crypto.kek import (
    KeyEncryptionKey,
    LocalKek,
    kek_file_path,
    kek_from_file,
    kek_from_settings,
    read_kek_file,
)
from kibitz.server.errors import KekUnusable
from kibitz.settings import Settings


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", **overrides)  # type: ignore[arg-type]


def test_the_kek_file_is_created_0600_once(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    path = kek_file_path(settings)
    assert path == tmp_path / "data" / "kek.key"
    assert not path.exists()
    first = kek_from_settings(settings, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_text())) == 32
    # The second start reads the same key rather than making another.
    assert kek_from_settings(settings, create=True).key_id == first.key_id


def test_a_missing_kek_file_is_not_created_unless_asked(tmp_path: Path) -> None:
    with pytest.raises(KekUnusable, match="no key-encryption key file"):
        kek_from_settings(_settings(tmp_path), create=False)
    assert not (tmp_path / "data" / "kek.key").exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_kek_file_others_may_access_is_refused(tmp_path: Path, mode: int) -> None:
    settings = _settings(tmp_path, kek_file=tmp_path / "custom.key")
    kek_from_settings(settings, create=True)
    (tmp_path / "custom.key").chmod(mode)
    with pytest.raises(KekUnusable, match=f"mode {mode:04o}.*chmod 600"):
        kek_from_settings(settings, create=True)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not base64!!", "not base64"),
        (base64.b64encode(b"x" * 16).decode(), "holds 16 bytes"),
        ("", "holds 0"),
    ],
)
def test_a_malformed_kek_file_is_refused(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(KekUnusable, match=problem):
        read_kek_file(path)


def test_the_environment_kek_wins_and_has_the_same_id_as_the_same_key_in_a_file(tmp_path: Path) -> None:
    key = os.urandom(32)
    encoded = base64.b64encode(key).decode()
    from_env = kek_from_settings(_settings(tmp_path, kek=encoded), create=True)
    # No file is created when the key comes from the environment.
    assert not (tmp_path / "data" / "kek.key").exists()
    path = tmp_path / "same.key"
    path.write_text(encoded + "\n")
    path.chmod(0o600)
    assert kek_from_file(path, create=False).key_id == from_env.key_id
    assert encoded not in repr(_settings(tmp_path, kek=encoded))
    assert encoded not in repr(from_env)


def test_a_malformed_environment_kek_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KekUnusable, match="KIBITZ_KEK is not base64"):
        kek_from_settings(_settings(tmp_path, kek="%%%"), create=True)
    with pytest.raises(KekUnusable, match="KIBITZ_KEK holds 3 bytes"):
        kek_from_settings(_settings(tmp_path, kek="YWJj"), create=True)


def test_settings_read_the_kek_variables_when_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIBITZ_KEK_FILE", str(tmp_path / "k"))
    monkeypatch.setenv("KIBITZ_KEYSTORE_URL", "postgresql://keys@db/keystore")
    settings = Settings.load()
    assert settings.kek_file == tmp_path / "k"
    assert settings.keystore_url == "postgresql://keys@db/keystore"
    assert settings.kek is None


async def test_wrapping_binds_the_context_and_the_kek() -> None:
    kek, other = LocalKek(os.urandom(32)), LocalKek(os.urandom(32))
    assert isinstance(kek, KeyEncryptionKey)
    data_key = os.urandom(32)
    wrapped = await kek.wrap(data_key, b"owner A")
    assert data_key not in wrapped
    assert await kek.unwrap(wrapped, b"owner A") == data_key
    with pytest.raises(KekUnusable):
        await kek.unwrap(wrapped, b"owner B")
    with pytest.raises(KekUnusable):
        await other.unwrap(wrapped, b"owner A")
    flipped = bytes([wrapped[0] ^ 1]) + wrapped[1:]
    with pytest.raises(KekUnusable):
        await kek.unwrap(flipped, b"owner A")
    with pytest.raises(KekUnusable):
        await kek.unwrap(b"", b"owner A")


def test_two_kek_sources_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        _settings(tmp_path, kek=base64.b64encode(os.urandom(32)).decode(), kek_file=tmp_path / "k")


def test_processes_creating_the_kek_file_at_once_get_one_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "data" / "kek.key"
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: kek_from_file(path, create=True).key_id, range(32)))
    assert len(ids) == 1
    assert [p.name for p in path.parent.iterdir()] == ["kek.key"]
