"""Serve one app for bench/api.py: the Kibitz server or a bare Starlette baseline, in the same way.

Run by bench/api.py as a child process, never by hand:

    python bench/_serve.py kibitz HOST PORT CPUS
    python bench/_serve.py bare HOST PORT CPUS DOC_JSON

Both apps get one uvicorn worker with the same flags (those of `kibitz.server.runner.serve`), so the only
difference between them is the application. The Kibitz app reads its settings from `KIBITZ_*` variables.
CPUS is a comma-separated list of CPU numbers the process is pinned to, or `-` for no pinning.
"""

from __future__ import annotations

import json
import os
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
    """Pin the process, build the app named on the command line and serve it until interrupted."""
    kind, host, port, cpus = argv[0], argv[1], int(argv[2]), argv[3]
    if cpus != "-":
        # Threads started later (uvicorn's, aiosqlite's) inherit the mask.
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    app: Any
    if kind == "kibitz":
        from kibitz.server.app import create_app
        from kibitz.settings import Settings

        app = create_app(Settings.load())
    elif kind == "bare":
        app = bare_app(json.loads(Path(argv[4]).read_text(encoding="utf-8")))
    else:
        raise SystemExit(f"unknown app {kind!r}")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        server_header=False,
        proxy_headers=False,
        access_log=False,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
