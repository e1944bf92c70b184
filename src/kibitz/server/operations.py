"""Routes for operators and reporters: liveness, readiness, metrics and `/.well-known/security.txt`.

`/metrics` answers only the loopback interface and the trusted proxies' own networks: behind a proxy every
request arrives from the proxy, so the decision is made on the client address the proxy forwarded
(`addresses.client_address`), and anybody else is told there is no such route (404), as for any path. It
answers only to the configured host names (`KIBITZ_METRICS_HOSTS`, by default this machine's own), so a web
page whose name an attacker re-points at 127.0.0.1 (DNS rebinding) cannot read it from a browser there.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel
from sqlalchemy import text

from kibitz.server.addresses import Network, client_address, host_of, within
from kibitz.server.deps import State
from kibitz.server.error_handlers import ErrorBody
from kibitz.server.errors import NotFound, NotReady
from kibitz.server.storage import StorageHealth, StorageProblem, directory_problem, storage_problem
from kibitz.settings import Settings

router = APIRouter(tags=["operations"])
log = logging.getLogger("kibitz.server")

READY_TIMEOUT_SECONDS = 5.0
# RFC 9116 asks for an expiry less than a year ahead so that stale files are noticed; the file is made at
# request time, so it is always this far ahead.
SECURITY_TXT_LIFETIME = dt.timedelta(days=180)
_LOOPBACK: list[Network] = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]


class Status(BaseModel):
    """The answer of /healthz and /readyz."""

    status: str


@router.get("/healthz")
async def healthz() -> Status:
    """Tell that the process is up."""
    return Status(status="ok")


@router.get(
    "/readyz",
    responses={
        503: {
            "model": ErrorBody,
            "description": "The database does not answer, or cannot be written (`details.cause` says why).",
        }
    },
)
async def readyz(request: Request, state: State) -> Status:
    """Tell whether the server can serve requests: its database answers `SELECT 1` and can be written.

    Writable means: no write failed on storage in the last minute, and (SQLite) the data directory is
    neither read-only nor full.
    """
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS), state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        problem = storage_problem(exc)
        if problem is not None:
            raise _not_writable(problem) from None
        # The type only: a driver's message may quote the database URL, password included.
        log.warning("readiness check failed: %s", type(exc).__name__)
        raise NotReady() from None
    health: StorageHealth = request.app.state.storage_health
    problem = health.current()
    if problem is None and state.settings.is_sqlite:
        problem = await asyncio.to_thread(directory_problem, state.settings.data_dir)
    if problem is not None:
        log.warning("readiness check failed: %s (%s)", problem.description, problem.cause)
        raise _not_writable(problem)
    return Status(status="ready")


def _not_writable(problem: StorageProblem) -> NotReady:
    return NotReady(f"The server cannot store changes now: {problem.description}.", {"cause": problem.cause})


def may_read_metrics(request: Request, trusted: Sequence[Network], hosts: frozenset[str]) -> bool:
    """Tell whether the request comes from the loopback interface or a trusted proxy's network, and names
    one of `hosts` (the one Host header, port aside)."""
    peer = request.client.host if request.client else None
    address = client_address(peer, request.headers, trusted)
    named = request.headers.getlist("host")
    return within(address, [*_LOOPBACK, *trusted]) and len(named) == 1 and host_of(named[0]) in hosts


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, state: State) -> Response:
    """Return the Prometheus metrics of this process (loopback and trusted proxies, own host names only)."""
    if not may_read_metrics(request, state.trusted_proxies, state.settings.metrics_host_names()):
        raise NotFound("No such route.")
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)


def security_txt(settings: Settings, now: dt.datetime) -> str:
    """Return the RFC 9116 security.txt of this server (raises NotFound when no contact is configured)."""
    if not settings.security_contact:
        raise NotFound("No security contact is configured (KIBITZ_SECURITY_CONTACT).")
    expires = (now + SECURITY_TXT_LIFETIME).astimezone(dt.UTC).replace(microsecond=0)
    lines = [
        f"Contact: {settings.security_contact}",
        f"Expires: {expires.isoformat().replace('+00:00', 'Z')}",
        "Preferred-Languages: en",
    ]
    return "\n".join(lines) + "\n"


@router.get("/.well-known/security.txt", include_in_schema=False)
async def well_known_security_txt(state: State) -> PlainTextResponse:
    """Tell security researchers how to report a vulnerability (RFC 9116)."""
    body = security_txt(state.settings, dt.datetime.now(dt.UTC))
    return PlainTextResponse(body, media_type="text/plain; charset=utf-8")
