"""Run the server process with uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from kibitz.server.app import create_app
from kibitz.settings import Settings


def serve(settings: Settings) -> None:
    """Serve the app until interrupted; migrations run before the first request."""
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    where = "PostgreSQL" if not settings.is_sqlite else f"SQLite in {settings.data_dir}"
    logging.getLogger("kibitz.server").info(
        "Kibitz on http://%s:%d (data: %s)", settings.host, settings.port, where
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        server_header=False,
        proxy_headers=False,
        access_log=False,
        ws_max_size=settings.ws_max_bytes,
        # No permessage-deflate: the feed writes every frame to every subscriber, and compressing it once per
        # subscriber would cost more than the frame (events are ≈ 0.5 KB); nor should a compression context
        # mix text an attacker may write with what a victim reads (the CRIME/BREACH length oracle).
        ws_per_message_deflate=False,
    )
