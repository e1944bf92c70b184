"""The CLI's exit codes, and the one place that maps errors to them and words them.

Three kinds of error reach a person: the client library's (an answer of the server: `ApiError`; no
server or token; an unreachable or untrusted server), the server's own (`kibitz.server.errors`, raised
in-process by the operator commands `kibitz server ...`), and the CLI's (`CliError`). The first two carry
the API's stable code and HTTP status, and map to exit codes by them; so an operator command reports a
server error exactly as a client command reports the same error answered over HTTP.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from kibitz.client import ApiError, CertificateRejected, NotLoggedIn
from kibitz.client import KibitzError as ClientError
from kibitz.gitrepo import GitError

OK = 0
FAILURE = 1
USAGE = 2
NOT_ALLOWED = 3
NOT_FOUND = 4
UNTRUSTED_CERTIFICATE = 5
SERVER_CANNOT_LISTEN = 6
SERVER_CANNOT_START = 7
KEYSTORE_MISMATCH = 8

# What `kibitz --help` lists; docs/cli.md ("Exit codes") says the same at more length (a test holds the three
# together).
EXIT_CODES: dict[int, str] = {
    OK: "success",
    FAILURE: "failure",
    USAGE: "usage error (unknown command, bad or missing argument)",
    NOT_ALLOWED: "not authenticated (log in) or not allowed (your role)",
    NOT_FOUND: "not found",
    UNTRUSTED_CERTIFICATE: (
        "the server's TLS certificate is not trusted (unverifiable, or not the pinned one)"
    ),
    SERVER_CANNOT_LISTEN: "`kibitz server run` cannot listen (port in use, address not available)",
    SERVER_CANNOT_START: (
        "`kibitz server run` cannot start (unusable key-encryption key, data directory or database)"
    ),
    KEYSTORE_MISMATCH: "the keystore does not belong to the database (kibitz server commands)",
}

# Keyed by the API's stable error codes (docs/api.md), not by message text.
_EXIT_BY_API_CODE: dict[str, int] = {
    "not_authenticated": NOT_ALLOWED,
    "invalid_credentials": NOT_ALLOWED,
    "forbidden": NOT_ALLOWED,
    "not_found": NOT_FOUND,
    "keystore_mismatch": KEYSTORE_MISMATCH,
}
# For error answers that carry no code of ours (a proxy's page, say).
_EXIT_BY_STATUS: dict[int, int] = {401: NOT_ALLOWED, 403: NOT_ALLOWED, 404: NOT_FOUND}


@runtime_checkable
class CarriesStatus(Protocol):
    """An error with the API's stable code and HTTP status: the client's `ApiError`, the server's errors."""

    code: str
    status: int


class CliError(Exception):
    """A failure the CLI itself detects, with the message to print and the exit code to use."""

    def __init__(self, message: str, exit_code: int = FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def exit_codes_help() -> str:
    """Return the exit-code table as `kibitz --help` shows it (click keeps the lines after ``\\b``)."""
    rows = "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
    return f"\b\nExit codes:\n{rows}"


def is_reported(error: BaseException) -> bool:
    """Return whether ``error`` is a failure to report in one line, as opposed to a bug."""
    # The server's errors are recognised by their status, so client commands never import the server.
    return isinstance(error, (ClientError, GitError, CliError, CarriesStatus))


def exit_code_for(error: BaseException) -> int:
    """Return the exit code that reports ``error``."""
    if isinstance(error, CliError):
        return error.exit_code
    if isinstance(error, NotLoggedIn):
        return NOT_ALLOWED
    if isinstance(error, CertificateRejected):
        return UNTRUSTED_CERTIFICATE
    if isinstance(error, CarriesStatus):
        return _EXIT_BY_API_CODE.get(error.code) or _EXIT_BY_STATUS.get(error.status, FAILURE)
    return FAILURE


def describe(error: BaseException) -> str:
    """Return the one-line message that reports ``error`` to a person."""
    message = str(getattr(error, "message", None) or error) or type(error).__name__
    # Only an answer's details are worded here: the server's own errors word theirs in the message.
    if isinstance(error, ApiError) and isinstance(error.details, list):
        # Say which field is wrong, in words: "title must have at most 512 characters".
        problems = [_problem(detail) for detail in error.details if isinstance(detail, dict)]
        if any(problems):
            message = f"{message.rstrip('.')}: {'; '.join(p for p in problems if p)}"
    if isinstance(error, CarriesStatus) and error.code == "too_many_attempts":
        message = _with_wait(message, getattr(error, "details", None))
    return message


# Where a field sits in a request, which is no field of it.
_PLACES = ("body", "query", "path", "header")
# pydantic's openings of a message, and the plain word for each.
_OPENINGS = (
    ("Value error, ", ""),
    ("Assertion failed, ", ""),
    ("String should ", "must "),
    ("Input should ", "must "),
    ("List should ", "must "),
    ("Value should ", "must "),
    ("Dictionary should ", "must "),
)
_BY_TYPE = {
    "missing": "is missing",
    "extra_forbidden": "is not a field this server knows",
    "json_invalid": "is not valid JSON",
}


def _field(loc: list[Any]) -> str:
    """Return a field's place in words: ``title``, ``path of marker 1``, ``tag 3``."""
    # Only the first part names the place ("path" may also be a field: a codemark's file path).
    parts = loc[1:] if loc and loc[0] in _PLACES else loc
    words: list[str] = []
    for index, part in enumerate(parts):
        if isinstance(part, int):
            before = str(parts[index - 1]) if index else "item"
            one = before[:-1] if before.endswith("s") else before
            if words and words[-1] == before.replace("_", " "):
                words.pop()
            words.append(f"{one.replace('_', ' ')} {part + 1}")
        else:
            words.append(str(part).replace("_", " "))
    # The innermost name first: "path of marker 1".
    return " of ".join(reversed(words))


def _problem(detail: dict[str, Any]) -> str:
    """Return one invalid field in words, or an empty string when the detail says nothing."""
    message = _BY_TYPE.get(str(detail.get("type")), str(detail.get("msg") or ""))
    for opening, plain in _OPENINGS:
        if message.startswith(opening):
            message = plain + message[len(opening) :]
            break
    if not message:
        return ""
    field = _field(list(detail.get("loc") or []))
    if not field:
        return message
    return f"{field} {message}" if message.startswith(("must ", "is ", "may ")) else f"{field}: {message}"


def _with_wait(message: str, details: Any) -> str:
    """Return a throttle's message with how long to wait, when the answer says."""
    seconds = details.get("retry_after") if isinstance(details, dict) else None
    if not isinstance(seconds, int) or seconds <= 0:
        return message
    minutes, rest = divmod(seconds, 60)
    if minutes and rest:
        wait = f"{minutes} min {rest} s"
    elif minutes:
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    else:
        wait = f"{seconds} second{'s' if seconds != 1 else ''}"
    if "wait before trying again" in message:
        return message.replace("wait before trying again", f"try again in {wait}")
    return f"{message.rstrip('.')}; try again in {wait}."
