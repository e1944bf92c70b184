"""Errors map to the documented exit codes in one place, and reach people as `kibitz: message`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from kibitz import __version__
from kibitz.cli.errors import (
    EXIT_CODES,
    FAILURE,
    KEYSTORE_MISMATCH,
    NOT_ALLOWED,
    NOT_FOUND,
    OK,
    SERVER_CANNOT_LISTEN,
    SERVER_CANNOT_START,
    UNTRUSTED_CERTIFICATE,
    USAGE,
    CliError,
    describe,
    exit_code_for,
)
from kibitz.cli.main import cli
from kibitz.client import ApiError, ConnectionFailed, KibitzError, NotLoggedIn, ValidationFailed
from kibitz.gitrepo import GitError
from kibitz.server import errors as server_errors

CLI_DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


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
        # The server's own errors, raised in-process by operator commands, map by the same codes and statuses.
        (server_errors.NotFound("There is no team t1."), NOT_FOUND),
        (server_errors.Forbidden(), NOT_ALLOWED),
        (server_errors.InvalidCredentials(), NOT_ALLOWED),
        (server_errors.Conflict(), FAILURE),
        (server_errors.ValidationFailed(), FAILURE),
        (server_errors.KekUnusable("chmod 600 it"), FAILURE),
        (server_errors.KeystoreMismatch("not this database's"), KEYSTORE_MISMATCH),
    ],
)
def test_exit_code_for(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


def test_documented_values() -> None:
    assert (OK, FAILURE, USAGE, NOT_ALLOWED, NOT_FOUND, UNTRUSTED_CERTIFICATE) == (0, 1, 2, 3, 4, 5)
    assert (SERVER_CANNOT_LISTEN, SERVER_CANNOT_START) == (6, 7)
    assert KEYSTORE_MISMATCH == 8


def _gist(meaning: str) -> str:
    """Return what a meaning says before any colon, without asides in parentheses."""
    words = re.sub(r"\([^)]*\)", "", meaning.split(":", 1)[0])
    return " ".join(words.split())


def _help_table(help_text: str) -> dict[int, str]:
    table = help_text.split("Exit codes:\n", 1)[1]
    return {int(code): meaning for code, meaning in re.findall(r"^ +(\d+) {2}(.+)$", table, re.MULTILINE)}


def _docs_table(markdown: str) -> dict[int, str]:
    section = markdown.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    return {
        int(code): meaning for code, meaning in re.findall(r"^\| (\d+) \| (.+) \|$", section, re.MULTILINE)
    }


def test_the_exit_codes_in_code_help_and_docs_agree() -> None:
    help_table = _help_table(CliRunner().invoke(cli, ["--help"]).stdout)
    docs_table = _docs_table(CLI_DOCS.read_text(encoding="utf-8"))
    assert help_table == EXIT_CODES
    assert {code: _gist(meaning) for code, meaning in docs_table.items()} == {
        code: _gist(meaning) for code, meaning in EXIT_CODES.items()
    }
    assert _gist(EXIT_CODES[NOT_ALLOWED]) == "not authenticated or not allowed"


def test_validation_details_name_the_field() -> None:
    error = ValidationFailed(
        422,
        "validation_failed",
        "Some fields are not valid.",
        [{"loc": ["body", "password"], "msg": "String should have at least 12 characters", "type": "x"}],
    )
    assert describe(error) == "Some fields are not valid: password must have at least 12 characters"


@pytest.mark.parametrize(
    ("detail", "words"),
    [
        (
            {
                "loc": ["body", "markers", 0, "path"],
                "msg": "Value error, must not be empty",
                "type": "value_error",
            },
            "path of marker 1 must not be empty",
        ),
        (
            {"loc": ["body", "tags", 2], "msg": "Value error, may contain only letters", "type": "v"},
            "tag 3 may",
        ),
        ({"loc": ["body", "text"], "msg": "Field required", "type": "missing"}, "text is missing"),
        (
            {"loc": ["query", "limit"], "msg": "Input should be at most 200", "type": "x"},
            "limit must be at most 200",
        ),
        (
            {"loc": ["body", "colour"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"},
            "colour is not a field",
        ),
    ],
)
def test_validation_details_are_plain_words(detail: dict[str, object], words: str) -> None:
    said = describe(ValidationFailed(422, "validation_failed", "Some fields are not valid.", [detail]))
    assert words in said
    assert "Value error" not in said
    assert "should" not in said


def test_the_throttle_says_how_long_to_wait() -> None:
    message = "Too many login attempts for this account; wait before trying again."
    assert describe(ApiError(429, "too_many_attempts", message, {"retry_after": 45})) == (
        "Too many login attempts for this account; try again in 45 seconds."
    )
    assert describe(ApiError(429, "too_many_attempts", "Slow down.", {"retry_after": 120})).endswith(
        "Slow down; try again in 2 minutes."
    )


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
    assert runner.invoke(cli, ["add", "file.py:3", "-m", "x", "--body-file", "x.md"]).exit_code == USAGE
    assert runner.invoke(cli, ["ls", "--status", "closed"]).exit_code == USAGE
    assert runner.invoke(cli, ["ls", "--limit", "0"]).exit_code == USAGE


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
