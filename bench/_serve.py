"""Serve the bare Starlette baseline of bench/api.py the way `kibitz.server.runner.serve` serves Kibitz.

Run by bench/api.py as a child process (pinned to the server's CPUs, like the Kibitz server), never by hand:

    python bench/_serve.py HOST PORT DOC_JSON

One uvicorn worker with the HTTP flags of `kibitz.server.runner.serve`, so that the only difference between
the two servers is the application.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def bare_app(doc: dict[str, Any]) -> Starlette:
    """Return a Starlette app with no middleware whose endpoints return fixed JSON documents.

    `/small` returns a page of one codemark (the baseline); `/page` returns a page of the same size and
    shape as a real listing, serialised on every request, to show what the payload alone costs.
    """
    small = {"items": doc["items"][:1], "next_cursor": None}

    async def small_endpoint(_request: Request) -> JSONResponse:
        return JSONResponse(small)

    async def page_endpoint(_request: Request) -> JSONResponse:
        return JSONResponse(doc)

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/small", small_endpoint),
            Route("/page", page_endpoint),
            Route("/healthz", healthz),
        ]
    )


def main(argv: list[str]) -> None:
    """Build the bare app for the page named on the command line and serve it until interrupted."""
    host, port, doc = argv[0], int(argv[1]), Path(argv[2])
    uvicorn.run(
        bare_app(json.loads(doc.read_text(encoding="utf-8"))),
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
        access_log=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
