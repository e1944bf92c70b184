"""The server process and its surroundings: the data directory's permissions, who reads /metrics by which host
name, failing requests and a failing disk, and start-up problems — against real `kibitz server run` processes.
"""

from __future__ import annotations

import http.client
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.server_process import HOST, ServerProcess, kibitz_server

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """Run the block (and the processes it starts) with `mask` as the umask."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    """Return the permission bits of `path`."""
    return stat.S_IMODE(path.stat().st_mode)


def get(server: ServerProcess, path: str, host: str | None = None) -> tuple[int, bytes]:
    """GET `path` with `host` as the Host header (the default one when None); return status and body."""
    connection = http.client.HTTPConnection(HOST, server.port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# --- the data directory ------------------------------------------------------------------------------


def test_the_data_directory_is_created_private_and_so_is_every_database_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    # A permissive umask, as on many systems: what the server creates must not depend on it.
    with umask(0o022), kibitz_server(tmp_path / "server.log", settings={"data_dir": data_dir}) as server:
        assert get(server, "/readyz")[0] == 200
        files = {path.name: mode(path) for path in data_dir.iterdir() if path.is_file()}
        assert mode(data_dir) == 0o700
    assert {"kibitz.db", "kibitz.db-wal", "kibitz.db-shm", "keystore.db", "kek.key"} <= set(files)
    assert files == dict.fromkeys(files, 0o600), files


def test_a_data_directory_left_open_is_narrowed_at_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = {"data_dir": data_dir}
    with umask(0o022):
        with kibitz_server(tmp_path / "first.log", settings=settings):
            pass
        # An older version, or someone by hand, left the directory and the databases readable to all.
        os.chmod(data_dir, 0o755)  # noqa: S103
        for name in ("kibitz.db", "keystore.db"):
            os.chmod(data_dir / name, 0o644)
        with kibitz_server(tmp_path / "second.log", settings=settings) as server:
            assert get(server, "/readyz")[0] == 200
            assert mode(data_dir) == 0o700
            assert {name: mode(data_dir / name) for name in ("kibitz.db", "keystore.db")} == {
                "kibitz.db": 0o600,
                "keystore.db": 0o600,
            }
    assert "narrowed the permissions" in (tmp_path / "second.log").read_text()


# --- /metrics by host name ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server on SQLite with the default settings."""
    data_dir = tmp_path_factory.mktemp("hardening")
    with kibitz_server(data_dir.parent / f"{data_dir.name}.log", settings={"data_dir": data_dir}) as started:
        yield started


def test_metrics_answer_only_the_machines_own_names(server: ServerProcess) -> None:
    for own in (
        None,
        f"127.0.0.1:{server.port}",
        f"localhost:{server.port}",
        "LOCALHOST.",
        f"[::1]:{server.port}",
    ):
        status, body = get(server, "/metrics", host=own)
        assert (status, b"kibitz_http_requests_total" in body) == (200, True), own
    # A page on a name an attacker re-pointed at 127.0.0.1 (DNS rebinding) is refused like an unknown path.
    for foreign in (f"rebind.attacker.example:{server.port}", "127.0.0.1.nip.io", "", "[::1"):
        status, body = get(server, "/metrics", host=foreign)
        assert status in (400, 404), (foreign, status)
        assert b"kibitz_" not in body
    # The rest of the API is not tied to a name (it needs a token, which a rebinding page does not have).
    assert get(server, "/healthz", host="rebind.attacker.example")[0] == 200


def test_metrics_answer_the_configured_names_instead(tmp_path: Path) -> None:
    settings = {"data_dir": tmp_path / "data"}
    env = {"KIBITZ_METRICS_HOSTS": "kibitz.internal, 127.0.0.1"}
    with kibitz_server(tmp_path / "server.log", settings=settings, env=env) as named:
        assert get(named, "/metrics", host="kibitz.internal:9")[0] == 200
        assert get(named, "/metrics", host=f"127.0.0.1:{named.port}")[0] == 200
        assert get(named, "/metrics", host="localhost")[0] == 404
