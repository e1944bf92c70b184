"""The server process and its surroundings: the data directory's permissions, who reads /metrics by which host
name, failing requests and a failing disk, and start-up problems — against real `kibitz server run` processes.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import socket
import stat
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.server_process import HOST, KIBITZ, ServerProcess, clean_environment, free_port, kibitz_server
from tests.warm_start import run_kibitz

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


# --- a failing disk ----------------------------------------------------------------------------------

DISK_BYTES = 8 * 1024 * 1024


def can_mount_a_tmpfs() -> bool:
    """Tell whether this user may mount a tmpfs in a mount namespace of its own (root, or user namespaces)."""
    probe = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", "mount -t tmpfs tmpfs /mnt"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode == 0
    except OSError:
        return False


def on_a_small_disk(server: ServerProcess, data_dir: Path, *, read_only: bool = False) -> ServerProcess:
    """Make `server` run with a tmpfs of DISK_BYTES (or a read-only one) mounted on `data_dir`.

    The mount lives in a mount namespace of the server's own, so nothing outside sees it and it goes away
    with the process.
    """
    if not can_mount_a_tmpfs():
        pytest.skip(
            "this user cannot mount a tmpfs in a namespace of its own (needs root or user namespaces)"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    options = f"size={DISK_BYTES}" + (",ro" if read_only else "")
    mount = f'mount -t tmpfs -o {options} tmpfs "$0" && exec "$@"'
    server.warm = None  # the mount namespace needs the server exec'ed inside it
    server.command = [
        "unshare",
        "--user",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        mount,
        str(data_dir),
        *server.command,
    ]
    return server


class Connection:
    """One keep-alive HTTP connection to a server, as a browser or a client library keeps it."""

    def __init__(self, server: ServerProcess) -> None:
        self.http = http.client.HTTPConnection(HOST, server.port, timeout=60)
        self.token = ""

    def send(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
        """Send one request on this connection; return the status, headers (lower-case names) and JSON."""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.http.request(method, path, None if body is None else json.dumps(body), headers)
        response = self.http.getresponse()
        raw = response.read()
        answer = {name.lower(): value for name, value in response.getheaders()}
        return response.status, answer, json.loads(raw) if raw else None

    def close(self) -> None:
        """Close the connection."""
        self.http.close()


def big_codemark(repo_id: str) -> dict[str, Any]:
    """Return a codemark of about 800 KB: text and code that no compression or page reuse can shrink."""

    def noise() -> str:
        return base64.b64encode(os.urandom(45_000)).decode()

    marker = {
        "repo_id": repo_id,
        "path": "src/big.py",
        "commit": "a" * 40,
        "start_line": 1,
        "end_line": 2,
    }
    return {"text": noise(), "markers": [{**marker, "code": noise()} for _ in range(12)]}


def test_a_full_disk_is_named_in_the_answer_the_log_and_readiness(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = on_a_small_disk(
        kibitz_server(tmp_path / "server.log", settings={"data_dir": data_dir}), data_dir
    )
    with server, contextlib.closing(Connection(server)) as client:
        account = {"email": "disk@example.com", "password": "correct horse battery"}
        assert client.send("POST", "/api/v1/auth/signup", {**account, "name": "Disk"})[0] == 201
        status, _, body = client.send("POST", "/api/v1/auth/login", account)
        assert status == 200, body
        client.token = body["token"]
        status, _, team = client.send("POST", "/api/v1/teams", {"name": "disk"})
        assert status == 201, team
        status, _, repo = client.send(
            "POST", f"/api/v1/teams/{team['id']}/repos/match", {"root_commits": ["b" * 40]}
        )
        assert status == 201, repo
        assert client.send("GET", "/readyz")[0] == 200

        for _ in range(4 * DISK_BYTES // 800_000):
            status, headers, body = client.send(
                "POST", f"/api/v1/teams/{team['id']}/codemarks", big_codemark(repo["id"])
            )
            if status != 201:
                break
        else:
            pytest.fail("the disk never filled up")

        # The answer names the cause, and the connection it came on goes on serving.
        assert status == 503, body
        assert body["error"]["code"] == "storage_unavailable"
        assert body["error"]["details"] == {"cause": "disk_full"}
        assert "disk" in body["error"]["message"]
        assert "full" in body["error"]["message"]
        assert int(headers["retry-after"]) > 0
        assert headers.get("connection", "").lower() != "close"
        assert client.send("GET", "/healthz")[0] == 200
        # Reads still work; readiness says the server cannot take writes, and why.
        assert client.send("GET", f"/api/v1/teams/{team['id']}/codemarks")[0] == 200
        status, _, ready = client.send("GET", "/readyz")
        assert status == 503, ready
        assert ready["error"]["code"] == "not_ready"
        assert ready["error"]["details"] == {"cause": "disk_full"}
    log = server.log_tail(400)
    assert "the database cannot be written: the disk holding the database is full (disk_full" in log
    assert "unhandled error" not in log
    assert "Traceback" not in log


# --- start-up problems -------------------------------------------------------------------------------


def server_run(
    data_dir: Path, port: int, *, wrapper: Sequence[str] = (), env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `kibitz server run` on `port`, expecting it to give up; return how it ended.

    From the warm parent, unless a `wrapper` command (a mount namespace) has to start it.
    """
    args = ["server", "run", "--port", str(port), "--data-dir", str(data_dir)]
    env = {**clean_environment(), "KIBITZ_LOG_LEVEL": "warning", **(env or {})}
    if not wrapper:
        return run_kibitz(args, env=env, timeout=120)
    command = [*wrapper, str(KIBITZ), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


def assert_one_line(result: subprocess.CompletedProcess[str], exit_code: int, *words: str) -> str:
    """Check that the run ended with `exit_code` and one `kibitz:` line holding `words`; return the line."""
    assert result.returncode == exit_code, result.stderr
    assert "Traceback" not in result.stderr
    assert "Exception" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("kibitz: ")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0]
    return lines[0]


def test_a_taken_port_is_one_line_and_exit_6_before_anything_is_opened(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = server_run(tmp_path / "data", port)
    assert_one_line(result, 6, "cannot listen", str(port), "already in use")
    assert not (tmp_path / "data").exists()  # no migration ran, no key was made


def test_an_unusable_kek_is_one_line_and_exit_7(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with kibitz_server(tmp_path / "first.log", settings={"data_dir": data_dir}):
        pass
    kek = data_dir / "kek.key"
    kek.chmod(0o644)
    assert_one_line(server_run(data_dir, free_port()), 7, "cannot start", str(kek), "chmod 600")
    kek.chmod(0o600)
    kek.write_text("not a key\n")
    assert_one_line(server_run(data_dir, free_port()), 7, "cannot start", str(kek))


def test_a_read_only_data_directory_is_one_line_and_exit_7(tmp_path: Path) -> None:
    if not can_mount_a_tmpfs():
        pytest.skip(
            "this user cannot mount a tmpfs in a namespace of its own (needs root or user namespaces)"
        )
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    mount = 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"'
    wrapper = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount, str(data_dir)]
    assert_one_line(server_run(data_dir, free_port(), wrapper=wrapper), 7, "cannot start", "read-only")


def test_an_unreachable_database_is_one_line_and_exit_7(tmp_path: Path) -> None:
    # Nothing listens on port 9 (discard) of the loopback interface: the connection is refused at once.
    env = {"KIBITZ_DATABASE_URL": "postgresql://kibitz:canary-db-password@127.0.0.1:9/kibitz"}
    result = server_run(tmp_path / "data", free_port(), env=env)
    assert_one_line(result, 7, "cannot start", "cannot connect to the database (PostgreSQL)")
    assert "canary-db-password" not in result.stderr
