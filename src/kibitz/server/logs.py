"""Logging of the server process: text lines on a terminal, JSON lines otherwise, each with its request id.

What a log may hold is narrow on purpose (docs/security.md): times, levels, logger names, messages written
by us or by uvicorn, request ids, methods, route templates, statuses, durations and client addresses. It
never holds request bodies, query strings, headers, tokens, passwords, text, code or file paths: the access
line names the route by its template (`/api/v1/codemarks/{codemark_id}`), third-party loggers whose
chatter carries content (WebSocket frames, SQL statements) are held above a floor whatever the level, and
tracebacks keep their frames and exception types but not the exception messages.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.config
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import websockets
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kibitz.server.addresses import Network, client_address
from kibitz.server.metrics import Metrics, method_label
from kibitz.server.middleware import request_id_var
from kibitz.server.permissions import template_for_request
from kibitz.settings import Settings

access_log = logging.getLogger("kibitz.access")
_WEBSOCKETS_DIR = str(Path(websockets.__file__).parent) + os.sep
# uvicorn's own line for each WebSocket handshake (its access log is off; this one comes on uvicorn.error).
_WEBSOCKET_LINE = '%s - "WebSocket %s"'
# uvicorn adds a coloured copy of some messages; it is noise in JSON.
_DROPPED_FIELDS = ("color_message",)
# The least severe level these libraries may log at, whatever the configured level: below it they write
# content (SQLAlchemy's INFO is every statement with its parameters; httpx's INFO every URL with its query;
# the others' DEBUG is WebSocket frames, SQL calls and header blocks).
_CONTENT_LOGGERS = {
    "sqlalchemy": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "websockets": logging.INFO,
    "aiosqlite": logging.INFO,
    "asyncpg": logging.INFO,
    "hpack": logging.INFO,
}


def _utc_time(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")


def describe_exception(exc: BaseException) -> str:
    """Return the traceback of `exc` and of its causes, with each exception's type but not its message.

    A message may quote what the request carried (a validation error shows the input, a driver error the
    statement or the database URL), so logs get where and what kind, never the words.
    """
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = f"{type(current).__module__}.{type(current).__qualname__}"
        parts.append("".join(traceback.format_tb(current.__traceback__)) + f"{kind} (message withheld)")
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return "\nwhile handling it, or caused by:\n".join(reversed(parts))


def _format_exception(ei: Any) -> str:
    return describe_exception(ei[1]) if ei and ei[1] is not None else ""


class RequestIdFilter(logging.Filter):
    """Stamp each record with the id of the request being served, when there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add `request_id` unless the record already has one; never drop a record."""
        if getattr(record, "request_id", None) is None:
            request_id = request_id_var.get()
            if request_id is not None:
                record.request_id = request_id
        return True


class QueryStringFilter(logging.Filter):
    """Cut the query string from uvicorn's WebSocket handshake lines (a query may carry anything)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the path argument of a handshake line; never drop a record."""
        if isinstance(record.msg, str) and record.msg.startswith(_WEBSOCKET_LINE) and record.args:
            args = list(record.args) if isinstance(record.args, tuple) else []
            if len(args) >= 2 and isinstance(args[1], str):
                args[1] = args[1].split("?", 1)[0]
                record.args = tuple(args)
        return True


class LibraryDebugFilter(logging.Filter):
    """Drop the websockets library's debug records, whichever logger they use.

    uvicorn hands that library its own `uvicorn.error` logger, so the per-logger floor cannot reach them,
    and at DEBUG they print the request line (query string included), headers and every frame.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record except a websockets debug one."""
        return record.levelno >= logging.INFO or not record.pathname.startswith(_WEBSOCKETS_DIR)


class JsonLines(JsonFormatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the record's extras."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            reserved_attrs=[*RESERVED_ATTRS, *_DROPPED_FIELDS],
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """Return the record's time in UTC, to the millisecond."""
        return _utc_time(record)

    def formatException(self, ei: Any) -> str:
        """Return the traceback without exception messages (see `describe_exception`)."""
        return _format_exception(ei)


class TextLines(logging.Formatter):
    """A line for a terminal: time, level, logger, request id (when there is one) and message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """Return the record's time in UTC, to the millisecond."""
        return _utc_time(record)

    def formatException(self, ei: Any) -> str:
        """Return the traceback without exception messages (see `describe_exception`)."""
        return _format_exception(ei)

    def format(self, record: logging.LogRecord) -> str:
        """Return the line, with `[request id]` after the logger name when there is one."""
        record.exc_text = None  # another handler's formatter may have cached a traceback with messages
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id:
            prefix = f"{record.name} "
            line = line.replace(prefix, f"{prefix}[{request_id}] ", 1)
        return line


def chosen_format(setting: str, to_terminal: bool) -> str:
    """Return the log format to write: ``json`` or ``text``, the setting's, or for ``auto`` by the stream."""
    if setting == "auto":
        return "text" if to_terminal else "json"
    return setting


def logging_config(settings: Settings, *, to_terminal: bool = False) -> dict[str, Any]:
    """Return the `logging.config.dictConfig` configuration of the server process.

    ``to_terminal`` says whether the log (stderr) is a terminal, which the ``auto`` format follows.
    """
    level = settings.log_level.upper()
    formatter = JsonLines if chosen_format(settings.log_format, to_terminal) == "json" else TextLines
    numeric = logging.getLevelName(level)
    numeric = numeric if isinstance(numeric, int) else logging.INFO
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": RequestIdFilter},
            "query_string": {"()": QueryStringFilter},
            "library_debug": {"()": LibraryDebugFilter},
        },
        "formatters": {"default": {"()": formatter}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["library_debug", "request_id", "query_string"],
            },
            "null": {"class": "logging.NullHandler"},
        },
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {
            # uvicorn's loggers go through ours; its access log is replaced by `kibitz.access`, and its
            # ASGI trace (which prints every message, bodies included) goes nowhere at any level.
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": ["null"], "propagate": False},
            "uvicorn.asgi": {"handlers": ["null"], "propagate": False},
            **{name: {"level": max(numeric, floor)} for name, floor in _CONTENT_LOGGERS.items()},
        },
    }


def configure_logging(settings: Settings) -> None:
    """Send every log record of the process through one formatter on stderr (text on a terminal, or JSON)."""
    logging.config.dictConfig(logging_config(settings, to_terminal=_is_terminal(sys.stderr)))


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no stream, or a closed one
        return False


def route_template(scope: Scope) -> str:
    """Return the template of the route that served the request (`unmatched` when none did)."""
    # Starlette's own routes (the OpenAPI document) leave no `route` in the scope; the table still knows them.
    route_path = str(getattr(scope.get("route"), "path", ""))
    return template_for_request(scope["method"], scope["path"], route_path) or route_path or "unmatched"


class AccessLog:
    """Write one access line per HTTP request and count it in the metrics.

    The line has the method, the route template, the status, the duration in milliseconds, the request id
    and the client address (as trusted proxies forwarded it); never the path a client typed or its query.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics, trusted: Sequence[Network]) -> None:
        self.app = app
        self.metrics = metrics
        self.trusted = list(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # 499 (nginx's "client closed request"): the client left before any answer was sent.
        status = 499

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        answered = False
        try:
            await self.app(scope, receive, send_noting_status)
            answered = True
        finally:
            if not answered and status == 499:
                status = 500  # the app raised before answering: the server's error handler answers 500
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        method = method_label(scope["method"])
        route = route_template(scope)
        self.metrics.observe_request(method, route, status, seconds)
        client = scope.get("client")
        address = client_address(client[0] if client else None, Headers(scope=scope), self.trusted)
        request_id = scope.get("state", {}).get("request_id")
        duration_ms = round(seconds * 1000, 2)
        access_log.info(
            "%s %s %d %.2fms",
            method,
            route,
            status,
            duration_ms,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": duration_ms,
                "request_id": request_id,
                "client": str(address) if address is not None else None,
            },
        )
