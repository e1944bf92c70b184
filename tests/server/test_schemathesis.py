"""Schemathesis over the whole OpenAPI document, in process, as a member of a team with real objects.

Every operation gets generated requests, valid and invalid, whose path parameters name the member's real
team, repo, codemarks, marker, reply and token (so requests reach the code behind the 404s); no answer may
be a 5xx, and every answer must have a status, a content type and a body that the document describes.
Operations that end the member's session (logout, password change) run last.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, cast

import hypothesis
import hypothesis.errors
import pytest
import requests
import schemathesis
from fastapi import FastAPI
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kibitz.server.app import create_app
from kibitz.settings import Settings
from tests.server.conftest import PASSWORD, codemark_body

pytestmark = pytest.mark.timeout(240)

# Per operation and mode: ≈ 52 operations × 2 modes × at most this many requests, ≈ 15 s per database.
EXAMPLES = 10
# No 5xx; no status, content type or body that the document does not describe for the operation.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
_ORDER = {"GET": 0, "HEAD": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
_LAST = ("/api/v1/auth/logout", "/api/v1/auth/password")


def _ok(response: requests.Response, *statuses: int) -> Any:
    assert response.status_code in statuses, (response.status_code, response.text)
    return response.json()


def _person(http: requests.Session, name: str) -> tuple[str, dict[str, str]]:
    email = f"{name.lower()}@example.com"
    _ok(http.post("/api/v1/auth/signup", json={"email": email, "name": name, "password": PASSWORD}), 201)
    body = _ok(http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}), 200)
    return str(body["user"]["id"]), {"Authorization": f"Bearer {body['token']}"}


def _seed(http: requests.Session) -> tuple[dict[str, str], dict[str, str]]:
    """Create a team where a member wrote codemarks and a reply; return the path parameters and headers."""
    owner_id, owner = _person(http, "Owner")
    _member_id, member = _person(http, "Member")
    team = _ok(http.post("/api/v1/teams", json={"name": "fuzzed"}, headers=owner), 201)["id"]
    code = _ok(http.post(f"/api/v1/teams/{team}/invites", json={"role": "member"}, headers=owner), 201)[
        "code"
    ]
    _ok(http.post("/api/v1/teams/join", json={"code": code}, headers=member), 200)
    repo = _ok(
        http.post(f"/api/v1/teams/{team}/repos/match", json={"root_commits": ["b" * 40]}, headers=member),
        200,
        201,
    )["id"]
    first = _ok(http.post(f"/api/v1/teams/{team}/codemarks", json=codemark_body(repo), headers=member), 201)
    second = _ok(http.post(f"/api/v1/teams/{team}/codemarks", json=codemark_body(repo), headers=member), 201)
    reply = _ok(
        http.post(f"/api/v1/codemarks/{first['id']}/replies", json={"text": "Because."}, headers=member), 201
    )
    token = _ok(http.post("/api/v1/tokens", json={"name": "ci", "scope": "read"}, headers=member), 201)
    parameters = {
        "team_id": team,
        "repo_id": repo,
        "codemark_id": first["id"],
        "other_id": second["id"],
        "marker_id": first["markers"][0]["id"],
        "reply_id": reply["id"],
        "token_id": token["id"],
        # The owner: a member acting on them is refused, and the member stays in the team.
        "user_id": owner_id,
    }
    return parameters, member


def _order(path: str, method: str) -> tuple[int, int, str, str]:
    # Reads, then writes, then deletions (the codemark itself after everything hanging from it), then the
    # operations that end the session.
    last = path in _LAST
    whole_codemark = method.upper() == "DELETE" and path == "/api/v1/codemarks/{codemark_id}"
    return (3 if last else _ORDER.get(method.upper(), 1), int(whole_codemark), path, method)


def _answered(app: FastAPI) -> Counter[tuple[str, str, str]]:
    """Return how many requests the app answered, by method, route template and status."""
    answered: Counter[tuple[str, str, str]] = Counter()
    for family in app.state.kibitz.metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "kibitz_http_requests_total":
                key = (sample.labels["method"], sample.labels["route"], sample.labels["status"])
                answered[key] += int(sample.value)
    return answered


def test_every_operation_answers_within_its_schema_and_never_5xx(settings: Settings) -> None:
    app = create_app(settings)
    try:
        # schemathesis types an app's `send` as taking dicts, FastAPI as taking any mapping; Starlette only
        # ever sends dicts.
        with asgi.get_client(cast(asgi.ASGIApp, app)) as http:
            parameters, headers = _seed(http)
        schema = schemathesis.openapi.from_asgi(
            "/api/v1/openapi.json", app, config=SchemathesisConfig.from_dict({"headers": headers})
        )
        operations = []
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result.err()
            operations.append(result.ok())
        operations.sort(key=lambda op: _order(op.path, op.method))
        assert len(operations) >= 50
        failures: dict[str, str] = {}
        for operation in operations:
            names = set(re.findall(r"{(\w+)}", operation.path))
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                # Valid requests name a real emoji; invalid ones get whatever the generator makes of it.
                given = {**parameters, "emoji": "👍"} if mode is GenerationMode.POSITIVE else parameters
                fixed = {name: value for name, value in given.items() if name in names}
                try:
                    _fuzz(operation, mode, fixed, headers)
                except hypothesis.errors.Unsatisfiable:
                    # Nothing left to make invalid: the path is fixed and there is no query or body.
                    assert mode is GenerationMode.NEGATIVE, operation.path
                except (
                    Exception,
                    FailureGroup,
                ) as exc:  # Schemathesis' check failures are a BaseExceptionGroup
                    report = f"{type(exc).__name__}: {exc}"[:3000]
                    failures[f"{operation.method.upper()} {operation.path} ({mode.value})"] = report
        # The fixed path parameters reached real objects, not only the 404s in front of them.
        answered = _answered(app)
        for method, route, status in (
            ("GET", "/api/v1/codemarks/{codemark_id}", "200"),
            ("POST", "/api/v1/codemarks/{codemark_id}/replies", "201"),
            ("PUT", "/api/v1/codemarks/{codemark_id}/reactions/{emoji}", "200"),
            ("GET", "/api/v1/replies/{reply_id}/history", "200"),
            ("DELETE", "/api/v1/tokens/{token_id}", "204"),
        ):
            assert answered[(method, route, status)] > 0, (method, route, status, answered)
        assert not failures, "\n\n".join(f"{name}:\n{report}" for name, report in failures.items())
    finally:
        asgi.shutdown_lifespans()


def _fuzz(operation: Any, mode: GenerationMode, fixed: dict[str, str], headers: dict[str, str]) -> None:
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed or None))
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate, hypothesis.Phase.shrink],
        report_multiple_bugs=False,
    )
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)

    run()
