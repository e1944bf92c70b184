"""Test-only switches are set in code, never from a deployment's environment; tests ignore a developer's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kibitz.settings import Settings
from tests.conftest import HARNESS_VARIABLES, forget_developer_settings
from tests.server_process import clean_environment, free_port
from tests.warm_start import run_kibitz

REFUSAL = "cannot be set from the environment"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KIBITZ_FAST_PASSWORD_HASHING", "1"),
        ("KIBITZ_FAST_PASSWORD_HASHING", "false"),
        ("KIBITZ_ENCRYPT_AT_REST", "false"),
        ("KIBITZ_ENCRYPT_AT_REST", "true"),
    ],
)
def test_the_environment_cannot_set_a_test_only_switch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=f"{variable} {REFUSAL}"):
        Settings.load(data_dir=tmp_path)


def test_the_switches_are_set_in_code_and_the_rest_still_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KIBITZ_LOG_LEVEL", "warning")
    settings = Settings.load(data_dir=tmp_path, fast_password_hashing=True, encrypt_at_rest=False)
    assert (settings.fast_password_hashing, settings.encrypt_at_rest, settings.log_level) == (
        True,
        False,
        "warning",
    )
    production = Settings.load(data_dir=tmp_path)
    assert (production.fast_password_hashing, production.encrypt_at_rest) == (False, True)


def test_kibitz_server_run_refuses_a_test_only_switch(tmp_path: Path) -> None:
    env = {**clean_environment(), "KIBITZ_FAST_PASSWORD_HASHING": "1", "KIBITZ_ENCRYPT_AT_REST": "false"}
    result = run_kibitz(
        ["server", "run", "--port", str(free_port()), "--data-dir", str(tmp_path)], env=env, timeout=60
    )
    assert result.returncode == 1, result.stderr
    assert f"KIBITZ_FAST_PASSWORD_HASHING and KIBITZ_ENCRYPT_AT_REST {REFUSAL}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "kibitz.db").exists()  # refused before anything started


def test_tests_never_see_a_developers_kibitz_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The suite's own environment was cleaned when it started; the hook keeps only the harness's variables.
    assert {name for name in os.environ if name.startswith("KIBITZ_")} <= HARNESS_VARIABLES
    monkeypatch.setenv("KIBITZ_DATA_DIR", "/srv/kibitz")
    monkeypatch.setenv("KIBITZ_TOKEN", "kbzt_developer")
    monkeypatch.setenv("KIBITZ_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    forget_developer_settings()
    assert "KIBITZ_DATA_DIR" not in os.environ
    assert "KIBITZ_TOKEN" not in os.environ
    assert os.environ["KIBITZ_TEST_REDIS_URL"] == "redis://127.0.0.1:6379/0"
