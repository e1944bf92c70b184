"""The CLI's exit codes, and the one place that maps errors to them and words them.

====  =================================================================================
 0    success
 1    failure (anything not listed below)
 2    usage error: unknown command, missing or bad argument
 3    not authenticated (log in) or not allowed (your role)
 4    not found (or in a team you are not in)
 5    the server's TLS certificate is not trusted (unverifiable or not the pinned one)
====  =================================================================================
"""

from __future__ import annotations

from kibitz.client import ApiError, CertificateRejected, NotLoggedIn

OK = 0
FAILURE = 1
USAGE = 2
NOT_ALLOWED = 3
NOT_FOUND = 4
UNTRUSTED_CERTIFICATE = 5

# Keyed by the API's stable error codes (docs/api.md), not by message text.
_EXIT_BY_API_CODE: dict[str, int] = {
    "not_authenticated": NOT_ALLOWED,
    "invalid_credentials": NOT_ALLOWED,
    "forbidden": NOT_ALLOWED,
    "not_found": NOT_FOUND,
}
# For error answers that carry no code of ours (a proxy's page, say).
_EXIT_BY_STATUS: dict[int, int] = {401: NOT_ALLOWED, 403: NOT_ALLOWED, 404: NOT_FOUND}


class CliError(Exception):
    """A failure the CLI itself detects, with the message to print and the exit code to use."""

    def __init__(self, message: str, exit_code: int = FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def exit_code_for(error: BaseException) -> int:
    """Return the exit code that reports ``error``."""
    if isinstance(error, CliError):
        return error.exit_code
    if isinstance(error, NotLoggedIn):
        return NOT_ALLOWED
    if isinstance(error, CertificateRejected):
        return UNTRUSTED_CERTIFICATE
    if isinstance(error, ApiError):
        return _EXIT_BY_API_CODE.get(error.code) or _EXIT_BY_STATUS.get(error.status, FAILURE)
    return FAILURE


def describe(error: BaseException) -> str:
    """Return the one-line message that reports ``error`` to a person."""
    message = str(getattr(error, "message", None) or error) or type(error).__name__
    if isinstance(error, ApiError) and isinstance(error.details, list):
        # Say which field is wrong: "name: String should have at least 1 character".
        problems = []
        for detail in error.details:
            if not isinstance(detail, dict) or not detail.get("msg"):
                continue
            where = [str(part) for part in detail.get("loc") or [] if part not in ("body", "query", "path")]
            problems.append(f"{'.'.join(where)}: {detail['msg']}" if where else str(detail["msg"]))
        if problems:
            message = f"{message.rstrip('.')}: {'; '.join(problems)}"
    return message
