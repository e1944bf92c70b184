"""A real Kibitz server process and people at terminals running the real `kibitz` command."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kibitz.client import KibitzClient
from tests.git_helpers import GIT_ENV
from tests.server_process import clean_environment, free_port, kibitz_server
from tests.warm_start import run_kibitz

PASSWORD = "correct horse battery staple"
COMMAND_SECONDS = 60


@contextmanager
def running_server(
    data_dir: Path, *, env: Mapping[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    """Serve `data_dir` (extra KIBITZ_* settings in `env`) on `port` or a free one; yield the URL."""
    port = port or free_port()
    # Every person of a module's tests signs in from 127.0.0.1: lift the per-address login throttle.
    env = {"KIBITZ_LOGIN_RATE_LIMIT": "1000/minute", **(env or {})}
    # The log goes next to the data directory: backups and the canary checks read every file inside it.
    log_path = data_dir.parent / f"server-{port}.log"
    with kibitz_server(log_path, port=port, settings={"data_dir": data_dir}, env=env) as server:
        yield server.url


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the Kibitz server on a free port with a fresh data directory; stop it afterwards."""
    with running_server(tmp_path_factory.mktemp("server-data")) as url:
        yield url


@dataclass
class Person:
    """Someone at a terminal: their own Kibitz configuration directory, running `kibitz` commands."""

    email: str
    name: str
    config_dir: Path

    def run(
        self, *args: str, cwd: Path, expect: int | None = 0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `kibitz ARGS` in ``cwd`` and check its exit code (any, with ``expect=None``)."""
        env = {**clean_environment(), **GIT_ENV, "KIBITZ_CONFIG_DIR": str(self.config_dir)}
        result = run_kibitz(args, cwd=cwd, env=env, input=stdin, timeout=COMMAND_SECONDS)
        assert expect is None or result.returncode == expect, (
            f"kibitz {' '.join(args)} exited {result.returncode}, expected {expect}\n"
            f"stdout: {result.stdout}\nstderr: {result.stderr}"
        )
        assert "Traceback" not in result.stderr
        return result

    def json(self, *args: str, cwd: Path) -> Any:
        """Run a `--json` command and return the single JSON document it prints."""
        return json.loads(self.run(*args, "--json", cwd=cwd).stdout)

    def client(self) -> KibitzClient:
        """Return a client-library client with this person's stored server and token."""
        stored = json.loads((self.config_dir / "credentials.json").read_text(encoding="utf-8"))
        return KibitzClient(stored["server"], stored["token"])


@pytest.fixture
def alice(tmp_path: Path) -> Person:
    return Person("alice@example.com", "Alice", tmp_path / "alice-config")


@pytest.fixture
def bob(tmp_path: Path) -> Person:
    return Person("bob@example.com", "Bob", tmp_path / "bob-config")


def setup_team(server_url: str, tmp_path: Path, *people: Person) -> None:
    """Sign everyone up; the first creates team Acme and invites the others, who join it."""
    signup = ["signup", "--server", server_url, "--password-stdin"]
    owner, *others = people
    owner.run(*signup, "--email", owner.email, "--name", owner.name, cwd=tmp_path, stdin=PASSWORD + "\n")
    owner.run("team", "create", "Acme", cwd=tmp_path)
    for person in others:
        code = owner.run("team", "invite", cwd=tmp_path).stdout.strip()
        person.run(
            *signup, "--email", person.email, "--name", person.name, cwd=tmp_path, stdin=PASSWORD + "\n"
        )
        person.run("team", "join", code, cwd=tmp_path)
