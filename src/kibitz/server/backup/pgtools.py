"""pg_dump and pg_restore against the configured PostgreSQL, with no password on their command line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from kibitz.server.errors import KibitzError

# libpq reads these from the environment; URL query options with the same meaning map to them.
_QUERY_VARIABLES = {
    "sslmode": "PGSSLMODE",
    "ssl": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}
TIMEOUT_SECONDS = 3600


def tool(name: str) -> str:
    """Return the path of a PostgreSQL client program on PATH, or say plainly that it is missing."""
    found = shutil.which(name)
    if found is None:
        raise KibitzError(
            f"{name} is not on PATH: install the PostgreSQL client programs (the same major version as the "
            "server or newer) to back up or restore a PostgreSQL database"
        )
    return found


def connection_environment(database_url: str) -> tuple[dict[str, str], str]:
    """Return the environment (PGHOST, PGUSER, PGPASSWORD, …) for a database URL, and the database name.

    The password goes to PGPASSWORD, never to a command line, where other users of the machine could read it.
    """
    url = make_url(database_url)
    # What the URL names wins; other PG* variables of the operator's environment (a CA file, say) still count.
    env = dict(os.environ)
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.username:
        env["PGUSER"] = url.username
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    for option, value in url.query.items():
        variable = _QUERY_VARIABLES.get(option)
        if variable is not None:
            env[variable] = value if isinstance(value, str) else value[-1]
    if not url.database:
        raise KibitzError("the PostgreSQL URL names no database")
    env["PGDATABASE"] = url.database
    return env, url.database


def _run(arguments: list[str], env: dict[str, str], *, stdout: int | None = None) -> None:
    result = subprocess.run(
        arguments,
        env=env,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        problem = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise KibitzError(
            f"{Path(arguments[0]).name} failed (exit {result.returncode}): {' '.join(problem[-3:])}"
        )


def dump(database_url: str, target: Path) -> None:
    """Write a custom-format dump of the database to `target` (one consistent snapshot, taken online)."""
    env, _ = connection_environment(database_url)
    with target.open("wb") as handle:
        # --no-password: fail at once rather than wait for a prompt nobody answers.
        _run([tool("pg_dump"), "--format=custom", "--no-password"], env, stdout=handle.fileno())


def restore(database_url: str, source: Path) -> None:
    """Load a custom-format dump into the (empty) database, all or nothing."""
    env, name = connection_environment(database_url)
    _run(
        [
            tool("pg_restore"),
            "--no-password",
            "--no-owner",
            "--no-acl",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={name}",
            str(source),
        ],
        env,
    )
