"""The client library's wire types match the server's OpenAPI components, field by field.

Every TypedDict of `kibitz.client._types` is paired with the component the server answers with (or, for
what the client sends, the one it accepts). Both must name the same fields, with the same type (nullability
and the allowed values of a literal included) and the same required-ness (in a request, the client may
always send what the server would default): a field renamed, added, dropped or retyped on either side fails
here. The server's document is the one it serves at /api/v1/openapi.json.
"""

from __future__ import annotations

import asyncio
import types
import typing
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

import httpx
import pytest

from kibitz.client import _types
from kibitz.server.app import create_app
from kibitz.settings import Settings

# Client type -> the server component it is; a page of a generic type is named with its item type.
RESPONSES: dict[object, str] = {
    _types.User: "UserOut",
    _types.UserRef: "UserRef",
    _types.Team: "TeamOut",
    _types.Member: "MemberOut",
    _types.Invite: "InviteOut",
    _types.PendingInvite: "InviteInfoOut",
    _types.Repo: "RepoOut",
    _types.BlockAt: "BlockAt",
    _types.MarkerReference: "ReferenceOut",
    _types.Marker: "MarkerOut",
    _types.Codemark: "CodemarkOut",
    _types.Reply: "ReplyOut",
    _types.Reaction: "ReactionOut",
    _types.Page[_types.Codemark]: "CodemarkPage",
    _types.Page[_types.Reply]: "ReplyPage",
    _types.Page[_types.SearchHit]: "SearchPage",
    _types.Page[_types.AuditEvent]: "AuditPage",
    _types.LoginResult: "LoginOut",
    _types.Me: "MeOut",
    _types.SharedLocation: "LocationOut",
    _types.SharedLocations: "LocationsOut",
    _types.LocationsStored: "LocationsStored",
    _types.CodemarkVersion: "CodemarkVersion",
    _types.ReplyVersion: "ReplyVersion",
    _types.IdMatches: "IdMatches",
    _types.SearchMatch: "SearchMatch",
    _types.SearchHit: "SearchHit",
    _types.InboxItem: "InboxItemOut",
    _types.InboxPage: "InboxPage",
    _types.Token: "TokenOut",
    _types.NewToken: "TokenCreatedOut",
    _types.Allowlist: "AllowlistOut",
    _types.AuditActor: "AuditActor",
    _types.Erasure: "ErasureOut",
    _types.AuditEvent: "AuditEventOut",
}
# What the client sends -> the component the server reads it as.
REQUESTS: dict[object, str] = {
    _types.NewMarker: "MarkerIn",
    _types.NewLocation: "LocationIn",
}
# Not in the OpenAPI document: the WebSocket stream's event (docs/realtime.md), and the generic page itself.
NOT_HTTP_BODIES = {_types.StreamEvent, _types.Page}

# A type reduced to what both sides can say: ("str",), ("list", item), ("nullable", inner),
# ("enum", values), ("ref", component), ("object",), ("any",).
Shape = tuple[Any, ...]
_SCALARS: dict[object, Shape] = {str: ("str",), int: ("int",), float: ("float",), bool: ("bool",)}
_JSON_SCALARS: dict[str, Shape] = {
    "string": ("str",),
    "integer": ("int",),
    "number": ("float",),
    "boolean": ("bool",),
}


@pytest.fixture(scope="module")
def components(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Return the schemas of the OpenAPI document the server serves."""
    settings = Settings.load(data_dir=tmp_path_factory.mktemp("contract"))
    transport = httpx.ASGITransport(app=create_app(settings, migrate=False))

    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(transport=transport, base_url="http://kibitz.test") as http:
            answer = await http.get("/api/v1/openapi.json")
            answer.raise_for_status()
            document: dict[str, Any] = answer.json()
            return document

    schemas: dict[str, Any] = asyncio.run(fetch())["components"]["schemas"]
    return schemas


def _typed_dicts() -> set[object]:
    return {
        value
        for value in vars(_types).values()
        if isinstance(value, type) and typing.is_typeddict(value) and value.__module__ == _types.__name__
    }


def _fields(client_type: object) -> dict[str, tuple[object, bool]]:
    """Return a TypedDict's fields (generic parameters filled in) as name -> (type, required)."""
    origin: Any = get_origin(client_type) or client_type
    filled = _parameters(client_type)
    fields: dict[str, tuple[object, bool]] = {}
    for name, hint in get_type_hints(origin, include_extras=True).items():
        # Read from the annotation: `__required_keys__` misses NotRequired in postponed annotations.
        required = origin.__total__
        if get_origin(hint) in (Required, NotRequired):
            required = get_origin(hint) is Required
            hint = get_args(hint)[0]
        fields[name] = (_fill(hint, filled), required)
    return fields


def _parameters(client_type: Any) -> dict[object, object]:
    """Return what the type variables of a generic TypedDict (or of its generic bases) stand for."""
    origin = get_origin(client_type)
    if origin is not None:
        return dict(zip(origin.__parameters__, get_args(client_type), strict=True))
    filled: dict[object, object] = {}
    for base in getattr(client_type, "__orig_bases__", ()):
        if get_origin(base) is not None and typing.is_typeddict(get_origin(base)):
            filled |= _parameters(base)
    return filled


def _fill(hint: Any, filled: dict[object, object]) -> Any:
    if hint in filled:
        return filled[hint]
    if get_origin(hint) is list:
        return list[_fill(get_args(hint)[0], filled)]  # type: ignore[misc]
    return hint


def client_shape(hint: Any, names: dict[object, str]) -> Shape:
    """Reduce a client annotation to a shape."""
    origin = get_origin(hint)
    if hint in _SCALARS:
        return _SCALARS[hint]
    if hint is Any:
        return ("any",)
    if origin is Literal:
        return ("enum", frozenset(get_args(hint)))
    if origin is list:
        return ("list", client_shape(get_args(hint)[0], names))
    if origin is dict:
        return ("object",)
    if origin in (Union, types.UnionType):
        others = [arg for arg in get_args(hint) if arg is not type(None)]
        assert len(others) == 1, f"a union other than `X | None`: {hint}"
        return ("nullable", client_shape(others[0], names))
    if hint in names:
        return ("ref", names[hint])
    raise AssertionError(f"no contract for the client type {hint!r}: add it to RESPONSES or REQUESTS")


def server_shape(schema: dict[str, Any]) -> Shape:
    """Reduce a JSON schema of the OpenAPI document to a shape."""
    if "$ref" in schema:
        return ("ref", schema["$ref"].rsplit("/", 1)[1])
    if "anyOf" in schema:
        others = [option for option in schema["anyOf"] if option.get("type") != "null"]
        assert len(others) == 1 < len(schema["anyOf"]), f"a union other than `X | None`: {schema}"
        return ("nullable", server_shape(others[0]))
    if "enum" in schema:
        return ("enum", frozenset(schema["enum"]))
    kind = schema.get("type")
    if kind == "array":
        return ("list", server_shape(schema["items"]))
    if kind == "object":
        return ("object",)
    if kind is None:
        return ("any",)
    return _JSON_SCALARS[kind]


def differences(
    client_type: object, component: dict[str, Any], names: dict[object, str], *, sent: bool = False
) -> list[str]:
    """Return every way a client type and a server component disagree (nothing when they match).

    What the server answers must be required on both sides or optional on both; in what the client `sent`,
    a field the server requires must be required for the client, and one the server defaults may be too.
    """
    fields = _fields(client_type)
    properties: dict[str, Any] = component.get("properties", {})
    required = set(component.get("required", ()))
    found = [f"{name}: only the client has it" for name in sorted(fields.keys() - properties.keys())]
    found += [f"{name}: only the server has it" for name in sorted(properties.keys() - fields.keys())]
    for name in sorted(fields.keys() & properties.keys()):
        hint, ours_required = fields[name]
        ours, theirs = client_shape(hint, names), server_shape(properties[name])
        if ours != theirs:
            found.append(f"{name}: the client says {ours}, the server {theirs}")
        theirs_required = name in required
        if ours_required != theirs_required and not (sent and ours_required):
            found.append(
                f"{name}: {'required' if ours_required else 'optional'} for the client, "
                f"{'required' if theirs_required else 'optional'} for the server"
            )
    return found


def test_every_client_wire_type_has_a_server_component() -> None:
    paired = {get_origin(t) or t for t in {**RESPONSES, **REQUESTS}}
    assert _typed_dicts() - paired - NOT_HTTP_BODIES == set()


@pytest.mark.parametrize(
    ("client_type", "name"), [*RESPONSES.items(), *REQUESTS.items()], ids=lambda v: str(v).split(".")[-1]
)
def test_client_type_matches_the_server_component(
    client_type: object, name: str, components: dict[str, Any]
) -> None:
    assert name in components, f"the server has no component {name}"
    if client_type in RESPONSES:
        assert differences(client_type, components[name], RESPONSES) == []
    else:
        # Inside a request body the client's types stand for the server's input components.
        names = {**RESPONSES, **REQUESTS, _types.MarkerReference: "ReferenceIn"}
        assert differences(client_type, components[name], names, sent=True) == []


def test_a_renamed_field_on_either_side_is_caught(components: dict[str, Any]) -> None:
    marker = components["MarkerOut"]
    renamed = {
        **marker,
        "properties": {("codefree" if k == "code_free" else k): v for k, v in marker["properties"].items()},
        "required": [("codefree" if k == "code_free" else k) for k in marker["required"]],
    }
    assert differences(_types.Marker, renamed, RESPONSES) == [
        "code_free: only the client has it",
        "codefree: only the server has it",
    ]
    optional = {**marker, "required": [k for k in marker["required"] if k != "code_free"]}
    assert differences(_types.Marker, optional, RESPONSES) == [
        "code_free: required for the client, optional for the server"
    ]
