"""KibitzClient over a mock transport: requests it sends, errors it raises, pages it follows."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable

import httpx
import pytest

import kibitz.client
from kibitz.client import (
    ApiError,
    BlockAt,
    ConnectionFailed,
    Forbidden,
    InviteInvalid,
    KibitzClient,
    KibitzError,
    NewLocation,
    NotAuthenticated,
    NotFound,
    NotLoggedIn,
    ValidationFailed,
)

Handler = Callable[[httpx.Request], httpx.Response]


def _client(handler: Handler, token: str | None = "kbzt_token") -> KibitzClient:  # noqa: S107
    return KibitzClient("http://kibitz.test/", token, transport=httpx.MockTransport(handler))


def _error(status: int, code: str, message: str = "Nope.", details: object = None) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message, "details": details}})


def test_requests_carry_the_token_and_the_api_prefix() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "t1", "name": "Acme", "role": "owner", "created_at": "now"})

    with _client(handler) as client:
        team = client.create_team("Acme")
    assert team["name"] == "Acme"
    assert seen[0].url == "http://kibitz.test/api/v1/teams"
    assert seen[0].headers["Authorization"] == "Bearer kbzt_token"
    assert json.loads(seen[0].content) == {"name": "Acme"}


def test_login_sends_no_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "Authorization" not in request.headers
        return httpx.Response(200, json={"token": "kbzt_new", "expires_at": "later", "user": {}})

    with _client(handler, token=None) as client:
        assert client.login("a@example.com", "a long password")["token"] == "kbzt_new"


def test_calls_that_need_a_token_fail_early_without_one() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request should be sent")

    with _client(handler, token=None) as client, pytest.raises(NotLoggedIn):
        client.me()


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (401, "not_authenticated", NotAuthenticated),
        (401, "invalid_credentials", NotAuthenticated),
        (403, "forbidden", Forbidden),
        (404, "not_found", NotFound),
        (410, "invite_invalid", InviteInvalid),
        (422, "validation_failed", ValidationFailed),
        (500, "internal_error", ApiError),
    ],
)
def test_error_bodies_become_the_matching_error(status: int, code: str, error_class: type[ApiError]) -> None:
    answer = _error(status, code, details={"request_id": "r1"})
    with _client(lambda _request: answer) as client, pytest.raises(error_class) as caught:
        client.get_codemark("c1")
    assert type(caught.value) is error_class
    assert (caught.value.status, caught.value.code, caught.value.message) == (status, code, "Nope.")
    assert caught.value.details == {"request_id": "r1"}


def test_an_error_that_is_not_ours_still_has_a_status_and_a_message() -> None:
    answer = httpx.Response(404, text="<html>gone</html>")
    with _client(lambda _request: answer) as client, pytest.raises(NotFound) as caught:
        client.get_codemark("c1")
    assert caught.value.code == "http_404"
    assert "404" in caught.value.message


def test_an_unreachable_server_is_connection_failed() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port once the probe is closed.
    with KibitzClient(f"http://127.0.0.1:{port}", timeout=5) as client, pytest.raises(ConnectionFailed):
        client.healthz()


def test_a_server_url_needs_a_scheme() -> None:
    with pytest.raises(KibitzError, match="http:// or https://"):
        KibitzClient("localhost:8383")


def test_ids_cannot_escape_their_path_segment() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(204)

    with _client(handler) as client:
        client.delete_codemark("../teams/x")
    assert seen == ["/api/v1/codemarks/..%2Fteams%2Fx"]


def test_iteration_follows_cursors_and_drops_unset_filters() -> None:
    queries: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        query = dict(request.url.params)
        queries.append(query)
        if "cursor" not in query:
            return httpx.Response(200, json={"items": [{"id": "c1"}, {"id": "c2"}], "next_cursor": "k"})
        return httpx.Response(200, json={"items": [{"id": "c3"}], "next_cursor": None})

    with _client(handler) as client:
        ids = [codemark["id"] for codemark in client.iter_codemarks("t1", repo_id="r1", status="open")]
    assert ids == ["c1", "c2", "c3"]
    assert queries[0] == {"repo_id": "r1", "status": "open", "limit": "200"}
    assert queries[1]["cursor"] == "k"


def test_exported_names_are_the_intended_ones() -> None:
    public = {name for name in vars(kibitz.client) if not name.startswith("_")}
    assert set(kibitz.client.__all__) == public


def test_marker_and_location_routes_send_what_the_api_expects() -> None:
    seen: list[tuple[str, dict[str, object]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, json.loads(request.content)))
        if request.url.path.endswith("/references"):
            # 200: the commit was known already.
            return httpx.Response(200 if len(seen) > 1 else 201, json={"id": "c1"})
        if request.url.path.endswith("/query"):
            return httpx.Response(200, json={"locations": []})
        if request.url.path.endswith("/locations"):
            return httpx.Response(200, json={"stored": 1, "already_known": 0})
        return httpx.Response(200, json={"id": "c1"})

    block: BlockAt = {"commit": "a" * 40, "path": "src/app.py", "start_line": 3, "end_line": 5}
    with _client(handler) as client:
        codemark, new = client.add_reference("c1", "m1", kind="upstream", **block)
        assert (dict(codemark), new) == ({"id": "c1"}, True)
        assert client.add_reference("c1", "m1", kind="upstream", **block)[1] is False
        client.promote_marker("c1", "m1", **block)
        deleted: NewLocation = {
            "marker_id": "m1",
            "path": None,
            "start_line": None,
            "end_line": None,
            "status": "deleted",
            "confidence": 0.9,
        }
        stored = client.store_locations("t1", "a" * 40, "1.1", [deleted])
        assert stored == {"stored": 1, "already_known": 0}
        assert client.query_locations("t1", "a" * 40, "1.1", ["m1"]) == {"locations": []}
    assert [path for path, _ in seen] == [
        "/api/v1/codemarks/c1/markers/m1/references",
        "/api/v1/codemarks/c1/markers/m1/references",
        "/api/v1/codemarks/c1/markers/m1/promote",
        "/api/v1/teams/t1/locations",
        "/api/v1/teams/t1/locations/query",
    ]
    assert seen[0][1] == {"kind": "upstream", **block}
    assert seen[2][1] == block
    assert seen[3][1]["algorithm"] == "1.1"
    assert seen[4][1] == {"commit": "a" * 40, "algorithm": "1.1", "marker_ids": ["m1"]}
