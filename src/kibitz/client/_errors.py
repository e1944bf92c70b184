"""The client's error tree.

::

    KibitzError                  anything the client library raises on purpose
    ├── ConnectionFailed         the server cannot be reached (refused, DNS, TLS, timeout)
    │   └── CertificateRejected  its TLS certificate cannot be verified (unknown CA, wrong name, expired)
    │       └── CertificateMismatch  its certificate is not the pinned one (KIBITZ_CERT_SHA256)
    ├── NotLoggedIn              no server or token is configured
    └── ApiError                 the server answered with an error body (status, code, message, details)
        ├── NotAuthenticated     401: no, unknown, expired or revoked token; wrong email or password
        ├── Forbidden            403: a member whose role does not allow the action
        ├── NotFound             404: no such object, or one of a team the caller is not in
        ├── Conflict             409: e.g. the email is taken
        ├── InviteInvalid        410: the invite code is unknown, used or expired
        └── ValidationFailed     400/422: the request was malformed

The subclass follows the stable ``code`` of the error body, so callers can catch what they mean;
``ApiError.code`` is always there for the rest.
"""

from __future__ import annotations

from typing import Any

import httpx


class KibitzError(Exception):
    """Base of every error the client library raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConnectionFailed(KibitzError):
    """The server could not be reached."""


class CertificateRejected(ConnectionFailed):
    """The server's TLS certificate could not be verified; nothing was sent to it."""


class CertificateMismatch(CertificateRejected):
    """The server's TLS certificate is not the pinned one; nothing was sent to it."""


class NotLoggedIn(KibitzError):
    """No server or token is configured: log in first."""


class ApiError(KibitzError):
    """The server answered with an error: ``status``, stable ``code``, ``message`` and ``details``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"


class NotAuthenticated(ApiError):
    """The token is missing, unknown, expired or revoked, or the credentials are wrong."""


class Forbidden(ApiError):
    """The caller's role does not allow the action."""


class NotFound(ApiError):
    """No such object, or it belongs to a team the caller is not in."""


class Conflict(ApiError):
    """The request conflicts with the current state (e.g. the email is taken)."""


class InviteInvalid(ApiError):
    """The invite code is unknown, used or expired."""


class ValidationFailed(ApiError):
    """The request body or query was malformed."""


_CLASS_BY_CODE: dict[str, type[ApiError]] = {
    "not_authenticated": NotAuthenticated,
    "invalid_credentials": NotAuthenticated,
    "forbidden": Forbidden,
    "not_found": NotFound,
    "conflict": Conflict,
    "invite_invalid": InviteInvalid,
    "validation_failed": ValidationFailed,
    "invalid_json": ValidationFailed,
    "invalid_request": ValidationFailed,
}

# Used when the body is not ours (a proxy's HTML page, say): the status still says what happened.
_CLASS_BY_STATUS: dict[int, type[ApiError]] = {
    401: NotAuthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: InviteInvalid,
    422: ValidationFailed,
}


def error_from_response(response: httpx.Response) -> ApiError:
    """Build the ApiError that an error response describes, whatever its body looks like."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        code: str = error["code"]
        message = error.get("message")
        if not isinstance(message, str) or not message:
            message = code.replace("_", " ")
        cls = _CLASS_BY_CODE.get(code) or _CLASS_BY_STATUS.get(status, ApiError)
        return cls(status, code, message, error.get("details"))
    reason = response.reason_phrase or "error"
    cls = _CLASS_BY_STATUS.get(status, ApiError)
    return cls(status, f"http_{status}", f"the server answered {status} {reason}", None)
