"""The credential store: where it lives, file mode 0600, environment overrides read at call time."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kibitz.client import (
    Credentials,
    CurrentTeam,
    KibitzError,
    config_dir,
    delete_credentials,
    load_credentials,
    load_current_team,
    resolve_server,
    resolve_token,
    save_credentials,
    save_current_team,
)

CREDENTIALS = Credentials(server="http://127.0.0.1:8383", token="kbzt_secret", email="a@example.com")


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("KIBITZ_CONFIG_DIR", str(home))
    monkeypatch.delenv("KIBITZ_SERVER", raising=False)
    monkeypatch.delenv("KIBITZ_TOKEN", raising=False)
    return home


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
def test_credentials_file_is_created_0600_even_with_umask_0(config_home: Path) -> None:
    save_credentials(CREDENTIALS)
    assert _mode(config_home / "credentials.json") == 0o600
    assert _mode(config_home) == 0o700
    assert load_credentials() == CREDENTIALS


@pytest.mark.usefixtures("permissive_umask")
def test_an_existing_readable_file_is_replaced_by_a_private_one(config_home: Path) -> None:
    config_home.mkdir()
    loose = config_home / "credentials.json"
    loose.write_text("{}", encoding="utf-8")
    loose.chmod(0o644)
    save_credentials(CREDENTIALS)
    assert _mode(loose) == 0o600
    assert json.loads(loose.read_text(encoding="utf-8"))["token"] == "kbzt_secret"
    assert [p.name for p in config_home.iterdir()] == ["credentials.json"]


def test_config_dir_follows_the_environment_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIBITZ_CONFIG_DIR", str(tmp_path / "elsewhere"))
    assert config_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("KIBITZ_CONFIG_DIR")
    assert config_dir().name == "kibitz"


def test_environment_overrides_stored_server_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_server() is None
    assert resolve_token() is None
    save_credentials(CREDENTIALS)
    assert resolve_server() == CREDENTIALS.server
    assert resolve_token() == CREDENTIALS.token
    monkeypatch.setenv("KIBITZ_SERVER", "https://kibitz.example.com")
    monkeypatch.setenv("KIBITZ_TOKEN", "kbzt_from_env")
    assert resolve_server() == "https://kibitz.example.com"
    assert resolve_token() == "kbzt_from_env"


def test_delete_credentials_is_idempotent() -> None:
    save_credentials(CREDENTIALS)
    delete_credentials()
    delete_credentials()
    assert load_credentials() is None


def test_current_team_round_trip(config_home: Path) -> None:
    assert load_current_team() is None
    save_current_team(CurrentTeam(id="t000000000000001", name="Acme"))
    assert load_current_team() == CurrentTeam(id="t000000000000001", name="Acme")
    assert _mode(config_home / "config.json") == 0o600
    save_current_team(None)
    assert load_current_team() is None


def test_a_corrupt_file_is_a_clear_error(config_home: Path) -> None:
    config_home.mkdir()
    (config_home / "credentials.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(KibitzError, match=r"credentials\.json is not valid JSON"):
        load_credentials()
