"""One person's browser for the server-side page tests: the foundation's browser-like client, signed in
through the sign-in form, posting forms with the session's CSRF token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from tests.server.conftest import Person
from tests.web.conftest import browser_client, page_csrf, sign_in


class Browser:
    """Cookies, navigation and forms of one browser."""

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

    async def sign_in(self, person: Person) -> None:
        """Sign in through the sign-in form and keep the session's CSRF token."""
        r = await sign_in(self.client, person)
        assert r.status_code == 303, r.text
        self.csrf = await page_csrf(self.client, "/account")


@asynccontextmanager
async def browser(app: FastAPI) -> AsyncIterator[Browser]:
    """Yield a signed-out browser talking to the app in process."""
    async with browser_client(app) as client:
        yield Browser(client)
