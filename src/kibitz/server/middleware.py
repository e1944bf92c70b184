"""ASGI middleware at the edge: request ids; bodies too large, not JSON (forms only for pages) or holding
NUL characters."""

from __future__ import annotations

import json
import re
import secrets
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kibitz.server.errors import KibitzError, PayloadTooLarge, UnsupportedMediaType, ValidationFailed

_BODY_METHODS = {b"POST", b"PUT", b"PATCH", "POST", "PUT", "PATCH"}
# The web pages' forms post url-encoded bodies (they check for NUL characters themselves); the API takes JSON.
_FORM = b"application/x-www-form-urlencoded"
_API_PREFIX = "/api/"

# The id of the request being served, for every log record written while serving it (kibitz.server.logs).
request_id_var: ContextVar[str | None] = ContextVar("kibitz_request_id", default=None)


# A NUL character escaped in a JSON string (`\u0000` after an even number of backslashes). PostgreSQL
# cannot store NUL in text, so one would fail deep in a transaction; it is refused here, on every database.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _nul_refused(where: str) -> ValidationFailed:
    return ValidationFailed(
        "Text may not contain NUL characters.",
        [{"loc": [where], "msg": "NUL characters are not accepted", "type": "nul_character"}],
    )


async def _send_error(send: Send, error: KibitzError, request_id: str) -> None:
    body = json.dumps(error.to_body()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """Give each request an id, and refuse oversize or non-JSON bodies before any route sees them.

    The body is read here (up to the limit) and replayed, so chunked uploads are capped as well as
    those that announce a Content-Length.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        reset = request_id_var.set(request_id)
        await self._guard(scope, receive, send, request_id)
        # Reset only when the request ended well: after an exception the id must stay for the server's own
        # report of it (uvicorn logs it in this task; each request runs in a task of its own).
        request_id_var.reset(reset)

    async def _guard(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        # (A NUL in the path only makes an id that names nothing: the route answers 404 as for any other.)
        if b"%00" in scope.get("query_string", b""):
            await _send_error(send, _nul_refused("query"), request_id)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send_with_id)
            return
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await _send_error(send, PayloadTooLarge(details={"limit": self.max_body_bytes}), request_id)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await _send_error(send, PayloadTooLarge(details={"limit": self.max_body_bytes}), request_id)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if (
            body
            and content_type
            and not (content_type == b"application/json" or content_type.endswith(b"+json"))
            and not (content_type == _FORM and not scope.get("path", "").startswith(_API_PREFIX))
        ):
            await _send_error(send, UnsupportedMediaType(), request_id)
            return
        if _JSON_NUL.search(body):
            await _send_error(send, _nul_refused("body"), request_id)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send_with_id)
