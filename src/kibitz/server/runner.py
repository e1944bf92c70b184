"""Run the server process with uvicorn.

A problem that keeps the server from starting is raised as `StartupFailure`, with one sentence naming it,
for `kibitz server run` to print in one line with an exit code of its own: the port is checked before
anything else (the socket is bound here and handed to uvicorn), and a failure of the app's start-up (an
unusable key-encryption key, a data directory that cannot be written) is caught from the lifespan instead of
leaving uvicorn to print its traceback.
"""

from __future__ import annotations

import errno
import gc
import logging
import socket
import ssl
from collections.abc import Callable

import uvicorn
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kibitz.server.app import create_app
from kibitz.server.errors import KeystoreMismatch, KibitzError
from kibitz.server.logs import configure_logging
from kibitz.server.storage import storage_problem, where_stored
from kibitz.server.tls import TlsSetupError, plain_http_refusal, server_context
from kibitz.settings import Settings

log = logging.getLogger("kibitz.server")


class StartupFailure(Exception):
    """The server cannot start; `cannot_listen` tells a taken or unavailable address from anything else."""

    def __init__(self, message: str, *, cannot_listen: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.cannot_listen = cannot_listen


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind the server's socket (as uvicorn would), or raise StartupFailure naming why it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as error:
        sock.close()
        reason = {
            errno.EADDRINUSE: "the port is already in use (another Kibitz server, or another program)",
            errno.EADDRNOTAVAIL: "the address is not one of this machine's",
            errno.EACCES: "this user may not listen on that port",
        }.get(error.errno or 0, error.strerror or type(error).__name__)
        raise StartupFailure(f"cannot listen on {host}:{port}: {reason}", cannot_listen=True) from None
    except (socket.gaierror, UnicodeError):
        sock.close()
        raise StartupFailure(f"cannot listen on {host}:{port}: no such address", cannot_listen=True) from None
    sock.set_inheritable(True)
    return sock


def describe_startup_error(error: BaseException, settings: Settings) -> str:
    """Return one sentence naming why the app's start-up failed (never a driver's message: it may hold a
    URL)."""
    problem = storage_problem(error)
    if problem is not None:
        return f"cannot start: {problem.description} ({problem.cause}, {where_stored(settings)})"
    if isinstance(error, KibitzError):
        return f"cannot start: {error.message}"
    if isinstance(error, (ConnectionError, TimeoutError, socket.gaierror)):
        # The driver's words may name the host; the kind is enough to say what to check.
        return (
            f"cannot start: cannot connect to the database ({where_stored(settings)}) or to Redis "
            f"({type(error).__name__})"
        )
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"cannot start: {where}{error.strerror or type(error).__name__}"
    if isinstance(error, DBAPIError):
        kind = type(error.orig).__name__
        return f"cannot start: the database cannot be used ({kind}, {where_stored(settings)})"
    return f"cannot start: unexpected {type(error).__name__} (the log has its traceback)"


class StartupGuard:
    """Keep the exception that failed the app's start-up, and keep its traceback out of uvicorn's log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.error: BaseException | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        failed = False

        async def quiet_send(message: Message) -> None:
            nonlocal failed
            if message["type"] == "lifespan.startup.failed":
                failed = True
                message = {**message, "message": ""}  # Starlette puts the whole traceback there
            await send(message)

        try:
            await self.app(scope, receive, quiet_send)
        except BaseException as error:
            if failed:
                self.error = error
            raise


def serve(settings: Settings, *, check: Callable[[], None] | None = None) -> None:
    """Serve the app until interrupted; migrations run before the first request.

    Raises TlsSetupError, before anything listens, for plain HTTP where it is not allowed or an unusable
    certificate or key; StartupFailure when the port cannot be had or the app cannot start; KeystoreMismatch
    for a keystore that is not the database's.
    """
    refusal = plain_http_refusal(settings)
    if refusal is not None:
        raise TlsSetupError(refusal)
    tls: ssl.SSLContext | None = None
    if settings.tls_cert is not None and settings.tls_key is not None:
        tls = server_context(settings.tls_cert, settings.tls_key)
    configure_logging(settings)
    if not settings.security_contact:
        log.warning(
            "no security contact: set KIBITZ_SECURITY_CONTACT so /.well-known/security.txt can say where "
            "vulnerabilities are reported"
        )
    listener = listening_socket(settings.host, settings.port)
    try:
        try:
            # `check` (the operator layer's: the database and its keystore) runs once the port is ours and
            # before the app starts: a keystore that is not the database's stops the start with one line,
            # never a server answering with the wrong keys.
            if check is not None:
                check()
            app = StartupGuard(create_app(settings))
        except KeystoreMismatch:
            raise
        except (OSError, DBAPIError, KibitzError) as error:
            raise StartupFailure(describe_startup_error(error, settings)) from None
        log.info(
            "Kibitz on %s://%s:%d (data: %s)",
            "https" if tls else "http",
            settings.host,
            settings.port,
            where_stored(settings),
        )
        server = uvicorn.Server(_uvicorn_config(app, settings, tls))
        freeze_what_startup_made()
        try:
            server.run(sockets=[listener])
        except SystemExit:
            # uvicorn exits this way when the app's start-up failed.
            if server.started:
                raise
            if app.error is None:
                raise StartupFailure("cannot start: the app's start-up failed (see the log)") from None
        if app.error is not None:
            if not isinstance(app.error, (OSError, DBAPIError, KibitzError)):
                log.error("start-up failed", exc_info=app.error)  # a bug: its traceback, messages withheld
            raise StartupFailure(describe_startup_error(app.error, settings))
    finally:
        listener.close()


def freeze_what_startup_made() -> None:
    """Exempt the objects made so far (the modules, their functions and classes) from garbage collection.

    A full collection walks every object the collector tracks: about 170,000 once the app is imported, 60 ms
    and more on a 2-core machine, during which the event loop answers nothing (served, searches waited up
    to 230 ms for one). Nearly all of those objects live as long as the process; one that is dropped later
    stays in memory, which costs little. What was garbage already is collected first.
    """
    gc.collect()
    gc.freeze()


def _uvicorn_config(app: ASGIApp, settings: Settings, tls: ssl.SSLContext | None) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level=settings.log_level.lower(),
        server_header=False,
        # Forwarded headers count only from KIBITZ_TRUSTED_PROXIES, and kibitz.server.addresses reads them;
        # uvicorn's own handling would trust them from its forwarded-allow-ips instead.
        proxy_headers=False,
        # Our context (TLS 1.2+, AEAD suites) rather than uvicorn's, which sets no protocol floor.
        ssl_context_factory=None if tls is None else _serve_with(tls),
        access_log=False,
        # Logging is configured by kibitz.server.logs (JSON lines through one formatter); uvicorn keeps out.
        log_config=None,
        ws_max_size=settings.ws_max_bytes,
        # No permessage-deflate: the feed writes every frame to every subscriber, and compressing it once per
        # subscriber would cost more than the frame (events are ≈ 0.5 KB); nor should a compression context
        # mix text an attacker may write with what a victim reads (the CRIME/BREACH length oracle).
        ws_per_message_deflate=False,
    )


def _serve_with(
    context: ssl.SSLContext,
) -> Callable[[uvicorn.Config, Callable[[], ssl.SSLContext]], ssl.SSLContext]:
    """Return a uvicorn context factory that hands out ``context`` instead of building its own."""
    return lambda _config, _default: context
