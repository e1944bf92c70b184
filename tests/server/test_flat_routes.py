"""Routes added flat to the app's router answer and document themselves as the included routers would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.routing import Mount

from kibitz.server.app import API_PREFIX, api_routers, create_app
from kibitz.server.error_handlers import ERROR_RESPONSES
from kibitz.server.flat_routes import NotFlattenable, add_routes
from kibitz.server.operations import router as operations_router
from kibitz.server.web import web_routers
from kibitz.settings import Settings


def _bare_app() -> FastAPI:
    openapi_url = f"{API_PREFIX}/openapi.json"
    return FastAPI(title="t", version="1", openapi_url=openapi_url, responses=ERROR_RESPONSES)


def _routes(app: FastAPI) -> list[tuple[str, str, frozenset[str]]]:
    """Every route the app answers, as (path, name, methods), in the order requests try them."""
    found = []
    for route in app.router.routes:
        if isinstance(route, APIRoute | APIWebSocketRoute):
            found.append((route.path, route.name, frozenset(getattr(route, "methods", None) or {"WS"})))
    return found


def test_the_flat_api_documents_itself_as_the_included_routers_do() -> None:
    included = _bare_app()
    included.include_router(_prefixed(api_routers()))
    flat = _bare_app()
    add_routes(flat.router, api_routers(), API_PREFIX)
    expected: dict[str, Any] = included.openapi()
    assert flat.openapi() == expected
    assert f"{API_PREFIX}/codemarks/{{codemark_id}}/replies" in expected["paths"]


def _prefixed(routers: tuple[APIRouter, ...]) -> APIRouter:
    outer = APIRouter(prefix=API_PREFIX)
    for router in routers:
        outer.include_router(router)
    return outer


def test_the_app_holds_every_route_of_every_router_flat(tmp_path: Path) -> None:
    app = create_app(Settings.load(data_dir=tmp_path, fast_password_hashing=True))
    routes = _routes(app)
    expected = [
        (prefix + route.path, route.name, frozenset(getattr(route, "methods", None) or {"WS"}))
        for prefix, routers in (
            (API_PREFIX, api_routers()),
            ("", web_routers()),
            ("", (operations_router,)),
        )
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute | APIWebSocketRoute)
    ]
    assert len(expected) == sum(len(r.routes) for r in (*api_routers(), *web_routers(), operations_router))
    assert routes == expected
    # Nothing but those routes and FastAPI's own document route: no router included in another.
    others = [r for r in app.router.routes if not isinstance(r, APIRoute | APIWebSocketRoute)]
    assert [getattr(r, "path", None) for r in others] == [f"{API_PREFIX}/openapi.json"]


def test_a_router_with_settings_of_its_own_is_refused() -> None:
    with pytest.raises(NotFlattenable, match="prefix"):
        add_routes(APIRouter(), [APIRouter(prefix="/x")])


def test_a_route_of_another_kind_is_refused() -> None:
    router = APIRouter()
    router.routes.append(Mount("/static", routes=[]))
    with pytest.raises(NotFlattenable, match="Mount"):
        add_routes(APIRouter(), [router])
