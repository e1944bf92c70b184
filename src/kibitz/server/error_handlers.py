"""Render every failure as `{"error": {"code", "message", "details"}}`; never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kibitz.server.access import AddressDenied, record_denial
from kibitz.server.errors import (
    Conflict,
    InvalidJson,
    KibitzError,
    MethodNotAllowed,
    NotFound,
    StorageUnavailable,
    ValidationFailed,
)
from kibitz.server.headers import security_headers
from kibitz.server.storage import StorageHealth, storage_problem, where_stored
from kibitz.server.web.errors import is_page_request, page_error

log = logging.getLogger("kibitz.server")


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a sentence, and details that depend on the code."""

    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


# Documented on every operation (the OpenAPI document promises no answer it does not describe); which of
# them a route can give is in docs/api.md.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "The body is not valid JSON, or the request is not valid (`invalid_json`, `invalid_request`)."),
        (401, "No token, or an unknown, expired or revoked one; or wrong credentials at login."),
        (403, "The role, the token's scope or the team's IP allowlist does not allow this."),
        (404, "No such object, or it belongs to a team the caller is not in."),
        (409, "The request conflicts with the current state."),
        (410, "The invite code is unknown, used or expired."),
        (413, "The body is too large."),
        (415, "The body is not JSON."),
        (
            422,
            "A field is missing, malformed, too long or unknown (`details`: a list of `{loc, msg, type}`).",
        ),
        (429, "Too many login attempts; the Retry-After header says how many seconds to wait."),
        (500, "A bug; `details.request_id` names the request in the server's logs."),
        (
            503,
            "The database cannot be written now (`storage_unavailable`: a full disk, a read-only file "
            "system; `details.cause` says which); the Retry-After header says when to try again.",
        ),
    )
}


def error_response(error: KibitzError, headers: dict[str, str] | None = None) -> JSONResponse:
    """Return the JSON response for an error."""
    return JSONResponse(error.to_body(), status_code=error.status, headers=headers)


def _validation_details(errors: Any) -> list[dict[str, Any]]:
    # Only where and what: echoing the input could put a password or a secret into a client's log.
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in errors
    ]


async def _on_kibitz_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KibitzError)
    if exc.status == 500:
        # A sealed value that does not open, a destroyed key, an unusable KEK: the operator learns which from
        # the log line (the code only, never the value); the caller gets the same answer as for any bug.
        request_id = getattr(request.state, "request_id", "")
        log.error("server-side failure: %s", exc.code, extra={"request_id": request_id})
        # No x-request-id here: this handler runs inside RequestGuard, which adds it to every answer.
        return error_response(KibitzError("Internal error.", {"request_id": request_id}))
    if isinstance(exc, AddressDenied):
        # Here, after the request's transaction has rolled back (and let go of SQLite's write lock).
        page = is_page_request(request)
        await record_denial(
            request.app.state.kibitz.sessionmaker, exc, "web" if page else "api", method=request.method
        )
    if is_page_request(request):
        return await page_error(request, exc)
    return error_response(exc, exc.http_headers())


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc.errors())
    if is_page_request(request):
        return await page_error(request, ValidationFailed("The address or the form is not valid.", details))
    if any(d["type"] == "json_invalid" for d in details):
        return error_response(InvalidJson(details=details))
    return error_response(ValidationFailed(details=details))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and is_page_request(request):
        return await page_error(request, NotFound("There is no page at this address."))
    if exc.status_code == 404:
        return error_response(NotFound("No such route."))
    if exc.status_code == 400:
        # FastAPI's own 400 means the body could not be decoded at all.
        return error_response(InvalidJson())
    if exc.status_code == 405:
        if is_page_request(request):
            return await page_error(request, MethodNotAllowed())
        return error_response(MethodNotAllowed())
    error = KibitzError(str(exc.detail))
    body = {"error": {"code": f"http_{exc.status_code}", "message": error.message, "details": None}}
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _on_integrity_error(_request: Request, _exc: Exception) -> JSONResponse:
    # Reached only when two requests race on a unique key; the loser's transaction was rolled back.
    return error_response(Conflict("The change collided with a concurrent one; try again."))


async def _on_database_error(request: Request, exc: Exception) -> JSONResponse:
    problem = storage_problem(exc)
    if problem is None:
        return await _on_unexpected(request, exc)
    health: StorageHealth = request.app.state.storage_health
    health.failed(problem, where_stored(request.app.state.kibitz.settings))
    message = f"The server cannot store changes now: {problem.description}. Try again later."
    error = StorageUnavailable(message, {"cause": problem.cause})
    return error_response(error, error.http_headers())


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", "")
    log.error("unhandled error", exc_info=exc, extra={"request_id": request_id})
    # This answer is sent by the outermost middleware, past RequestGuard and SecurityHeaders, so it sets
    # their headers itself.
    settings = request.app.state.kibitz.settings
    added = security_headers(
        request.scope, hsts_seconds=settings.hsts_seconds, trusted=settings.trusted_proxy_networks()
    )
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in added}
    # The server closes the connection after this answer (the exception goes on up to it): say so, so that a
    # client does not send its next request down a connection about to close.
    return error_response(
        KibitzError("Internal error.", {"request_id": request_id}),
        {**headers, "x-request-id": request_id, "connection": "close"},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every kind of failure through one renderer."""
    app.add_exception_handler(KibitzError, _on_kibitz_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(IntegrityError, _on_integrity_error)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(Exception, _on_unexpected)
