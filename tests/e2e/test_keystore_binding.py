"""A server refuses to start on a keystore that is not its database's: one line, exit code 6, no listener.

Real `kibitz server run` processes on a real data directory: the keystore deleted, replaced by another
server's, and a second server sharing the PostgreSQL database with a keystore of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kibitz.cli.errors import KEYSTORE_MISMATCH
from tests.conftest import fresh_postgres_database
from tests.e2e.conftest import PASSWORD, running_server
from tests.server_process import clean_environment, free_port
from tests.warm_start import run_kibitz

pytestmark = pytest.mark.e2e
SIGNUP = "/api/v1/auth/signup"


def _sign_up(url: str, email: str) -> None:
    answer = httpx.post(
        url + SIGNUP, json={"email": email, "name": "Alice", "password": PASSWORD}, timeout=30
    )
    assert answer.status_code == 201, answer.text


def _refused_start(data_dir: Path, env: dict[str, str]) -> str:
    """Run `kibitz server run` and return its stderr, asserting it exits 6 without ever listening."""
    port = free_port()
    result = run_kibitz(
        ["server", "run", "--data-dir", str(data_dir), "--port", str(port)],
        env={**clean_environment(), **env},
        timeout=120,
    )
    assert result.returncode == KEYSTORE_MISMATCH, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("kibitz: ")]
    assert "keystore" in line
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    return line


@pytest.fixture(params=["sqlite", "postgres"])
def database_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The KIBITZ_* settings of the server's database: SQLite in the data directory, or a fresh PostgreSQL."""
    if request.param == "sqlite":
        yield {}
        return
    if not request.getfixturevalue("postgres_available"):
        pytest.skip("PostgreSQL is not reachable (set KIBITZ_REQUIRE_POSTGRES=1 to fail)")
    with fresh_postgres_database() as url:
        yield {"KIBITZ_DATABASE_URL": url}


def test_a_deleted_keystore_stops_the_start(tmp_path: Path, database_env: dict[str, str]) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, env=database_env) as url:
        _sign_up(url, "alice@example.com")
    (data_dir / "keystore.db").unlink()

    line = _refused_start(data_dir, database_env)
    assert str(data_dir / "keystore.db") in line
    assert "is missing" in line
    # Nothing was made in its place: no empty keystore for the database's own to be confused with.
    assert not (data_dir / "keystore.db").exists()
    # An operator command on the same directory refuses as well, rather than making keys.
    result = run_kibitz(
        ["server", "user", "disable", "alice@example.com", "--data-dir", str(data_dir)],
        env={**clean_environment(), **database_env},
        timeout=120,
    )
    assert result.returncode == KEYSTORE_MISMATCH, result.stderr
    assert "Traceback" not in result.stderr


def test_another_servers_keystore_stops_the_start(tmp_path: Path, database_env: dict[str, str]) -> None:
    data_dir, other_dir = tmp_path / "data", tmp_path / "other"
    with running_server(data_dir, env=database_env) as url:
        _sign_up(url, "alice@example.com")
    with running_server(other_dir) as url:
        _sign_up(url, "bob@example.com")
    # The other server's keystore, with its KEK so that only the binding can tell them apart.
    shutil.copyfile(other_dir / "keystore.db", data_dir / "keystore.db")
    shutil.copyfile(other_dir / "kek.key", data_dir / "kek.key")

    assert "another database's" in _refused_start(data_dir, database_env)


def test_a_second_server_with_its_own_keystore_stops(tmp_path: Path, postgres_available: bool) -> None:
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable (set KIBITZ_REQUIRE_POSTGRES=1 to fail)")
    with fresh_postgres_database() as database_url:
        env = {"KIBITZ_DATABASE_URL": database_url}
        with running_server(tmp_path / "first", env=env) as url:
            _sign_up(url, "alice@example.com")
            # The second process shares the database but not the keystore; the first keeps serving.
            _refused_start(tmp_path / "second", env)
            answer = httpx.post(
                url + SIGNUP,
                json={"email": "alice@example.com", "name": "Alice", "password": PASSWORD},
                timeout=30,
            )
            assert answer.status_code == 409
            assert httpx.get(url + "/readyz", timeout=5).status_code == 200


def test_the_right_keystore_starts_again(tmp_path: Path, database_env: dict[str, str]) -> None:
    data_dir = tmp_path / "data"
    with running_server(data_dir, env=database_env) as url:
        _sign_up(url, "alice@example.com")
    kept = tmp_path / "keystore.db"
    shutil.move(data_dir / "keystore.db", kept)
    _refused_start(data_dir, database_env)
    # Putting the database's own keystore back is all it takes: the same account is found again.
    kept.replace(data_dir / "keystore.db")
    with running_server(data_dir, env=database_env) as url:
        answer = httpx.post(
            url + SIGNUP,
            json={"email": "alice@example.com", "name": "Alice", "password": PASSWORD},
            timeout=30,
        )
        assert answer.status_code == 409
