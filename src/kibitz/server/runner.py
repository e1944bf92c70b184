"""Run the server process with uvicorn."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable

import uvicorn

from kibitz.server.app import create_app
from kibitz.server.logs import configure_logging
from kibitz.server.tls import TlsSetupError, plain_http_refusal, server_context
from kibitz.settings import Settings


def serve(settings: Settings) -> None:
    """Serve the app until interrupted; migrations run before the first request.

    Raises TlsSetupError, before anything listens, for plain HTTP where it is not allowed or an unusable
    certificate or key.
    """
    refusal = plain_http_refusal(settings)
    if refusal is not None:
        raise TlsSetupError(refusal)
    tls: ssl.SSLContext | None = None
    if settings.tls_cert is not None and settings.tls_key is not None:
        tls = server_context(settings.tls_cert, settings.tls_key)
    configure_logging(settings)
    if not settings.security_contact:
        logging.getLogger("kibitz.server").warning(
            "no security contact: set KIBITZ_SECURITY_CONTACT so /.well-known/security.txt can say where "
            "vulnerabilities are reported"
        )
    where = "PostgreSQL" if not settings.is_sqlite else f"SQLite in {settings.data_dir}"
    logging.getLogger("kibitz.server").info(
        "Kibitz on %s://%s:%d (data: %s)", "https" if tls else "http", settings.host, settings.port, where
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
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
