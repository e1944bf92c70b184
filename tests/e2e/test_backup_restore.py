"""`kibitz server backup` against a running `kibitz server run`, and `kibitz server restore` into a new data
directory that another server then serves: the same people, teams and codemarks, with the operator's KEK."""

from __future__ import annotations

import json
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import PASSWORD, running_server
from tests.server_process import clean_environment
from tests.warm_start import run_kibitz

pytestmark = pytest.mark.e2e
API = "/api/v1"


def operator(
    *args: str, cwd: Path, env: dict[str, str] | None = None, expect: int = 0
) -> subprocess.CompletedProcess[str]:
    """Run `kibitz server ARGS` as the operator, with only the given KIBITZ_* settings."""
    result = run_kibitz(
        ["server", *args],
        cwd=cwd,
        env={**clean_environment(), **(env or {})},
        timeout=180,
    )
    assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result


def _ok(response: httpx.Response, *codes: int) -> Any:
    assert response.status_code in codes, response.text
    return response.json() if response.content else None


def login(url: str, email: str) -> httpx.Client:
    token = _ok(httpx.post(f"{url}{API}/auth/login", json={"email": email, "password": PASSWORD}), 200)[
        "token"
    ]
    return httpx.Client(base_url=url + API, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture(params=["sqlite", "postgres"])
def databases(
    request: pytest.FixtureRequest, postgres_available: bool
) -> Iterator[tuple[dict[str, str], ...]]:
    """The database settings of the backed-up server and of the restore (two fresh PostgreSQL databases)."""
    if request.param == "sqlite":
        yield {}, {}
        return
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable")
    with fresh_postgres_database() as live, fresh_postgres_database() as target:
        yield {"KIBITZ_DATABASE_URL": live}, {"KIBITZ_DATABASE_URL": target}


def test_backup_of_a_running_server_restores_into_a_new_directory(
    tmp_path: Path, databases: tuple[dict[str, str], dict[str, str]]
) -> None:
    live, target = databases
    data_dir, backups, restored = tmp_path / "data", tmp_path / "backups", tmp_path / "restored"
    email = "ada@example.com"
    with running_server(data_dir, env=live) as url:
        _ok(
            httpx.post(f"{url}{API}/auth/signup", json={"email": email, "name": "Ada", "password": PASSWORD}),
            201,
        )
        with login(url, email) as ada:
            team = _ok(ada.post("/teams", json={"name": "core"}), 201)["id"]
            repo = _ok(ada.post(f"/teams/{team}/repos/match", json={"root_commits": ["b" * 40]}), 200, 201)[
                "id"
            ]
            marker = {
                "repo_id": repo,
                "path": "src/app.py",
                "commit": "a" * 40,
                "start_line": 1,
                "end_line": 2,
                "code": "x = 1\ny = 2\n",
            }
            codemark = _ok(
                ada.post(
                    f"/teams/{team}/codemarks",
                    json={"type": "comment", "text": "kept across the restore", "markers": [marker]},
                ),
                201,
            )
            summary = json.loads(
                operator(
                    "backup",
                    "--to",
                    str(backups),
                    "--data-dir",
                    str(data_dir),
                    "--json",
                    cwd=tmp_path,
                    env=live,
                ).stdout
            )
            # The server keeps serving while and after the backup is taken.
            _ok(ada.get(f"/codemarks/{codemark['id']}"), 200)
    assert summary["database"] == ("postgresql" if live else "sqlite")
    assert Path(summary["data_file"]).is_file()
    assert Path(summary["keystore_file"]).is_file()
    assert stat.S_IMODE(Path(summary["keystore_file"]).stat().st_mode) == 0o600
    assert not list(backups.rglob("kek.key*"))
    pruned = json.loads(
        operator(
            "backup",
            "--prune-only",
            "--to",
            str(backups),
            "--data-dir",
            str(data_dir),
            "--json",
            cwd=tmp_path,
            env=live,
        ).stdout
    )
    assert pruned == {"pruned": []}

    # Without the KEK the keys cannot be opened: the command says where the KEK comes from, writes nothing.
    refused = operator(
        "restore", "--from", str(backups), "--data-dir", str(restored), cwd=tmp_path, env=target, expect=1
    )
    assert "KIBITZ_KEK_FILE" in refused.stderr
    assert not restored.exists()
    kek = {"KIBITZ_KEK_FILE": str(data_dir / "kek.key"), **target}
    result = json.loads(
        operator(
            "restore", "--from", str(backups), "--data-dir", str(restored), "--json", cwd=tmp_path, env=kek
        ).stdout
    )
    assert result["data_backup"] == summary["data_file"]
    assert result["deleted"] == {}
    # A second restore into the now occupied directory is refused (exit 1, nothing touched).
    again = operator(
        "restore", "--from", str(backups), "--data-dir", str(restored), cwd=tmp_path, env=kek, expect=1
    )
    assert "not empty" in again.stderr

    with running_server(restored, env=kek) as url, login(url, email) as ada:
        got = _ok(ada.get(f"/codemarks/{codemark['id']}"), 200)
        assert got["text"] == "kept across the restore"
        assert [m["code"] for m in got["markers"]] == ["x = 1\ny = 2\n"]
        me = _ok(ada.get("/me"), 200)
        assert me["user"]["email"] == email
        assert [t["id"] for t in me["teams"]] == [team]
