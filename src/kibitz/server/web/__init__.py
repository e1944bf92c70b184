"""The web pages: server-rendered HTML over the same access layer and services as the API (docs/web.md).

`web_routers()` lists the page routers; `create_app` adds their routes next to the API's. Pages take their
caller from a browser session (`sessions.py`), check every form's CSRF token (`csrf.py`), and render through
one Jinja2 environment in which every person's text is escaped or cleaned (`render.py`).
"""

from __future__ import annotations

from fastapi import APIRouter

from kibitz.server.web import (
    account_pages,
    auth_pages,
    codemark_pages,
    feed_pages,
    home,
    inbox_pages,
    search_pages,
    static,
    team_pages,
)


def web_routers() -> tuple[APIRouter, ...]:
    """Return the routers of every page, form and asset, in the order requests try them."""
    return (
        static.router,
        home.router,
        auth_pages.router,
        codemark_pages.permalink_router,
        codemark_pages.router,
        feed_pages.router,
        inbox_pages.router,
        search_pages.router,
        team_pages.router,
        account_pages.router,
    )
