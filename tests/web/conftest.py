"""Fixtures of the web pages' tests: a browser-like client that signs in through the sign-in form.

The browser tests (Playwright driving Debian's Chromium) use `chromium_path`, which skips them when
/usr/bin/chromium is missing, unless KIBITZ_REQUIRE_CHROMIUM is set (CI), where a missing Chromium fails;
`axe_source` does the same for the accessibility checker.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.server.conftest import PASSWORD, Person

CHROMIUM = Path("/usr/bin/chromium")
# axe-core (the accessibility checker, from the npm registry), pinned by tests/web/axe/package-lock.json
# and installed there by `make test` (`npm ci`); the tests run it inside the page.
AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Debian's Chromium, as the browser tests start it (never a browser Playwright downloads).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def chromium_path() -> Path:
    """Return Chromium's path; skip the test without it, or fail when KIBITZ_REQUIRE_CHROMIUM is set."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("KIBITZ_REQUIRE_CHROMIUM"):
        pytest.fail(f"KIBITZ_REQUIRE_CHROMIUM is set but {CHROMIUM} is missing (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


def axe_source() -> str:
    """Return axe-core's script; skip without it, or fail when KIBITZ_REQUIRE_CHROMIUM is set (CI)."""
    if AXE.exists():
        return AXE.read_text(encoding="utf-8")
    if os.environ.get("KIBITZ_REQUIRE_CHROMIUM"):
        pytest.fail(f"KIBITZ_REQUIRE_CHROMIUM is set but {AXE} is missing (make test installs it)")
    pytest.skip(f"{AXE} is missing: `make test` installs it (npm ci in tests/web/axe)")


def csrf_of(html: str) -> str:
    """Return the CSRF token of the first form in a page."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


@asynccontextmanager
async def browser_client(
    app: FastAPI, base_url: str = "http://kibitz.test"
) -> AsyncIterator[httpx.AsyncClient]:
    """Yield a client that behaves like a browser: asks for HTML, keeps cookies, does not follow redirects."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=base_url, headers=HTML) as client:
        yield client


async def sign_in(client: httpx.AsyncClient, person: Person, next_path: str = "/") -> httpx.Response:
    """Sign `person` in through the sign-in form; return the form's answer (a redirect when it worked)."""
    form = await client.get("/signin", params={"next": next_path})
    assert form.status_code == 200, form.text
    return await client.post(
        "/signin",
        data={"csrf": csrf_of(form.text), "email": person.email, "password": PASSWORD, "next": next_path},
    )


async def page_csrf(client: httpx.AsyncClient, path: str) -> str:
    """Return the CSRF token of the forms on the page at `path` (signed in)."""
    r = await client.get(path)
    assert r.status_code == 200, r.text
    return csrf_of(r.text)
