"""The one error tree of the server. Each error has a stable code and an HTTP status.

    KibitzError (500 internal_error)
    ├── InvalidRequest (400 invalid_request)
    │   └── InvalidJson (400 invalid_json)
    ├── ValidationFailed (422 validation_failed)
    ├── NotAuthenticated (401 not_authenticated)
    │   └── InvalidCredentials (401 invalid_credentials)
    ├── Forbidden (403 forbidden)
    │   ├── AddressNotAllowed (403 address_not_allowed)
    │   └── CsrfRefused (403 csrf_refused)
    ├── NotFound (404 not_found)
    ├── MethodNotAllowed (405 method_not_allowed)
    ├── Conflict (409 conflict)
    ├── InviteInvalid (410 invite_invalid)
    ├── PayloadTooLarge (413 payload_too_large)
    ├── UnsupportedMediaType (415 unsupported_media_type)
    ├── TooManyAttempts (429 too_many_attempts)
    ├── NotReady (503 not_ready)
    ├── SealBroken (500 seal_broken)
    ├── KeyUnavailable (500 key_unavailable)
    ├── KekUnusable (500 kek_unusable)
    └── KeystoreMismatch (500 keystore_mismatch)

One set of handlers (`server/error_handlers.py`) renders them as `{"error": {"code", "message", "details"}}`;
operator commands raise them in-process, and the CLI maps them to exit codes by status
(`kibitz/cli/errors.py`), as it maps the API's answers.
"""

from __future__ import annotations

from typing import Any, ClassVar


class KibitzError(Exception):
    """Base of every error the API reports on purpose."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal error."

    def __init__(self, message: str | None = None, details: Any = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def to_body(self) -> dict[str, Any]:
        """Return the JSON body for this error."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}

    def http_headers(self) -> dict[str, str] | None:
        """Return extra response headers for this error (e.g. Retry-After), if any."""
        return None


class InvalidRequest(KibitzError):
    code = "invalid_request"
    status = 400
    default_message = "The request is not valid."


class InvalidJson(InvalidRequest):
    code = "invalid_json"
    default_message = "The body is not valid JSON."


class ValidationFailed(KibitzError):
    code = "validation_failed"
    status = 422
    default_message = "Some fields are not valid."


class NotAuthenticated(KibitzError):
    code = "not_authenticated"
    status = 401
    default_message = "Sign in first: the token is missing, unknown, expired or revoked."


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    default_message = "Wrong email or password."


class Forbidden(KibitzError):
    code = "forbidden"
    status = 403
    default_message = "Your role does not allow this."


class AddressNotAllowed(Forbidden):
    code = "address_not_allowed"
    default_message = "This team does not accept requests from your network address."


class CsrfRefused(Forbidden):
    code = "csrf_refused"
    default_message = "The form was not sent by a page of this server (its CSRF token is missing or wrong)."


class NotFound(KibitzError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class MethodNotAllowed(KibitzError):
    code = "method_not_allowed"
    status = 405
    default_message = "Method not allowed."


class Conflict(KibitzError):
    code = "conflict"
    status = 409
    default_message = "The request conflicts with the current state."


class InviteInvalid(KibitzError):
    code = "invite_invalid"
    status = 410
    default_message = "The invite code is unknown, used or expired."


class PayloadTooLarge(KibitzError):
    code = "payload_too_large"
    status = 413
    default_message = "The request body is too large."


class UnsupportedMediaType(KibitzError):
    code = "unsupported_media_type"
    status = 415
    default_message = "Send the body as application/json."


class TooManyAttempts(KibitzError):
    code = "too_many_attempts"
    status = 429
    default_message = "Too many attempts; wait before trying again."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after

    def http_headers(self) -> dict[str, str] | None:
        """Return the Retry-After header (seconds)."""
        return {"Retry-After": str(self.retry_after)}


class NotReady(KibitzError):
    code = "not_ready"
    status = 503
    default_message = "The server cannot serve requests now: its database does not answer."


class StorageUnavailable(KibitzError):
    code = "storage_unavailable"
    status = 503
    default_message = "The server cannot store changes now."
    # A full disk or a read-only file system is an operator's to fix: minutes, not milliseconds.
    retry_after = 60

    def http_headers(self) -> dict[str, str] | None:
        """Return the Retry-After header (seconds)."""
        return {"Retry-After": str(self.retry_after)}


class SealBroken(KibitzError):
    code = "seal_broken"
    status = 500
    default_message = (
        "A sealed value failed its integrity check (tampered, moved, or opened with the wrong key)."
    )


class KeyUnavailable(KibitzError):
    code = "key_unavailable"
    status = 500
    default_message = "The data key is unknown or has been destroyed."


class KekUnusable(KibitzError):
    code = "kek_unusable"
    status = 500
    default_message = "The key-encryption key is missing, malformed or not protected."


class KeystoreMismatch(KibitzError):
    code = "keystore_mismatch"
    status = 500
    default_message = "The keystore does not belong to this database."
