"""Routers assembled flat: every route added to one router, not each domain's router included in another.

FastAPI keeps an included router as a router: a request walks the app's routers, each trying its own
routes, and does so twice (once to find the route, once to run it), which costs a reply request as much as
a tenth of its time on the event loop. Added to one router, a route is tried once, by the regular expression
of its full path. The routes are the same objects' settings, so the answers and the OpenAPI document are
the same (tests/server/test_flat_routes.py compares them with the routers included).
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from fastapi.routing import APIRoute, APIWebSocketRoute


class NotFlattenable(TypeError):
    """A router holds a route of a kind this module does not copy (a mount, a plain Starlette route)."""


def add_routes(target: APIRouter, routers: Iterable[APIRouter], prefix: str = "") -> None:
    """Add every route of `routers` to `target`, in order, each under `prefix`."""
    for router in routers:
        if router.prefix or router.dependencies or router.callbacks or router.responses:
            # Those would have to be merged into each route, as including the router does.
            raise NotFlattenable(
                "add_routes takes no router with a prefix, dependencies, callbacks or responses"
            )
        for route in router.routes:
            _add(target, route, prefix)


def _add(flat: APIRouter, route: object, prefix: str) -> None:
    if isinstance(route, APIRoute):
        flat.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=route.tags,
            dependencies=route.dependencies,
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses=route.responses,
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            max_body_size=route.max_body_size,
            form_limits=route.form_limits or None,
        )
    elif isinstance(route, APIWebSocketRoute):
        flat.add_api_websocket_route(
            prefix + route.path, route.endpoint, name=route.name, dependencies=route.dependencies
        )
    else:
        raise NotFlattenable(f"add_routes cannot copy {type(route).__name__} ({getattr(route, 'path', '?')})")
