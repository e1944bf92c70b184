"""Errors map to the documented exit codes in one place, and reach people as `kibitz: message`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from kibitz import __version__
from kibitz.cli.errors import FAILURE, NOT_ALLOWED, NOT_FOUND, OK, USAGE, CliError, describe, exit_code_for
from kibitz.cli.main import cli
from kibitz.client import ApiError, ConnectionFailed, KibitzError, NotLoggedIn, ValidationFailed
from kibitz.gitrepo import GitError


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ApiError(401, "not_authenticated", "Sign in first."), NOT_ALLOWED),
        (ApiError(401, "invalid_credentials", "Wrong email or password."), NOT_ALLOWED),
        (ApiError(403, "forbidden", "Your role does not allow this."), NOT_ALLOWED),
        (ApiError(404, "not_found", "Not found."), NOT_FOUND),
        (ApiError(404, "http_404", "the server answered 404 Not Found"), NOT_FOUND),
        (ApiError(403, "http_403", "the server answered 403 Forbidden"), NOT_ALLOWED),
        (ApiError(409, "conflict", "The email is taken."), FAILURE),
        (ApiError(410, "invite_invalid", "The invite is used."), FAILURE),
        (ApiError(422, "validation_failed", "Some fields are not valid."), FAILURE),
        (ApiError(500, "internal_error", "Internal error."), FAILURE),
        (NotLoggedIn("not logged in"), NOT_ALLOWED),
        (ConnectionFailed("cannot reach"), FAILURE),
        (KibitzError("bad config"), FAILURE),
        (GitError("not a repository"), FAILURE),
        (CliError("refused"), FAILURE),
        (CliError("no such team", NOT_FOUND), NOT_FOUND),
        (RuntimeError("bug"), FAILURE),
    ],
)
def test_exit_code_for(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


def test_documented_values() -> None:
    assert (OK, FAILURE, USAGE, NOT_ALLOWED, NOT_FOUND) == (0, 1, 2, 3, 4)


def test_validation_details_name_the_field() -> None:
    error = ValidationFailed(
        422,
        "validation_failed",
        "Some fields are not valid.",
        [{"loc": ["body", "password"], "msg": "String should have at least 12 characters", "type": "x"}],
    )
    assert describe(error) == "Some fields are not valid: password: String should have at least 12 characters"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("KIBITZ_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("KIBITZ_SERVER", raising=False)
    monkeypatch.delenv("KIBITZ_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_not_logged_in_exits_3_with_a_one_line_message(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["whoami"])
    assert result.exit_code == NOT_ALLOWED
    assert result.stderr.startswith("kibitz: not logged in")
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_unreachable_server_exits_1(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIBITZ_SERVER", "http://127.0.0.1:9")
    monkeypatch.setenv("KIBITZ_TOKEN", "kbzt_whatever")
    result = runner.invoke(cli, ["whoami"])
    assert result.exit_code == FAILURE
    assert result.stderr.startswith("kibitz: cannot reach http://127.0.0.1:9")


def test_usage_errors_exit_2(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["frobnicate"]).exit_code == USAGE
    assert runner.invoke(cli, ["add", "file.py:0", "-m", "x"]).exit_code == USAGE
    assert runner.invoke(cli, ["add", "file.py:5-3", "-m", "x"]).exit_code == USAGE
    assert runner.invoke(cli, ["add", "file.py:3"]).exit_code == USAGE
    assert runner.invoke(cli, ["ls", "--status", "archived"]).exit_code == USAGE


def test_outside_a_git_repository_exits_1(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["ls"])
    assert result.exit_code == FAILURE
    assert result.stderr.startswith("kibitz: ")
    assert "not inside a git repository" in result.stderr


def test_version_and_help(runner: CliRunner) -> None:
    assert runner.invoke(cli, ["--version"]).stdout.strip() == f"kibitz {__version__}"
    help_text = runner.invoke(cli, ["--help"]).stdout
    for command in ("signup", "login", "logout", "whoami", "team", "init", "add", "ls", "show", "server"):
        assert f"  {command} " in help_text
    assert "Exit codes" in help_text
