"""A browser without a browser: an HTTP client with its own cookie jar that signs in through the sign-in form
and posts forms with the CSRF token the pages carry (for the server-side page tests)."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from tests.server.conftest import PASSWORD

_CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
# What a browser sends when it navigates: pages, not JSON, answer it.
HTML_ACCEPT = "text/html,application/xhtml+xml,*/*;q=0.8"


def csrf_of(page: str) -> str:
    """Return the CSRF token of the forms of a page."""
    found = _CSRF_FIELD.search(page)
    assert found is not None, "the page has no form with a CSRF field"
    return html.unescape(found.group(1))


class Browser:
    """One person's browser: cookies, navigation, forms."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf = ""

    async def get(self, path: str, /, **params: str) -> httpx.Response:
        """Load a page (redirects are not followed: tests look at them)."""
        return await self.client.get(path, params=params or None)

    async def post(
        self, path: str, fields: Mapping[str, str] | None = None, *, csrf: bool = True
    ) -> httpx.Response:
        """Post a form, with this browser's CSRF token unless `csrf` is False."""
        data = dict(fields or {})
        if csrf:
            data.setdefault("csrf", self.csrf)
        return await self.client.post(path, data=data)

    async def sign_in(self, email: str, password: str = PASSWORD) -> None:
        """Sign in through the sign-in form and keep the session's CSRF token."""
        form = await self.get("/signin")
        assert form.status_code == 200, form.text
        r = await self.post("/signin", {"email": email, "password": password, "csrf": csrf_of(form.text)})
        assert r.status_code == 303, r.text
        home = await self.get("/account")
        assert home.status_code == 200, home.text
        self.csrf = csrf_of(home.text)


@asynccontextmanager
async def browser(app: FastAPI) -> AsyncIterator[Browser]:
    """Yield a signed-out browser talking to the app in process."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://kibitz.test", headers={"Accept": HTML_ACCEPT}
    ) as client:
        yield Browser(client)
