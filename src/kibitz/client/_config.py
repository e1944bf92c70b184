"""Where the client keeps who it is and which team it works in.

Two files in the configuration directory (``$KIBITZ_CONFIG_DIR``, else the platform's per-user
config directory): ``credentials.json`` (server URL, API token, email) and ``config.json`` (the
current team). ``KIBITZ_SERVER`` and ``KIBITZ_TOKEN`` override the stored server and token; every
variable is read when asked, never at import time, so a process can change them between calls.
``KIBITZ_CA_FILE`` and ``KIBITZ_CERT_SHA256`` say which server certificates to trust (kibitz.client._tls).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import platformdirs

from kibitz.client._errors import KibitzError
from kibitz.client._tls import ENV_CA_FILE, ENV_CERT_SHA256

ENV_CONFIG_DIR = "KIBITZ_CONFIG_DIR"
ENV_SERVER = "KIBITZ_SERVER"
ENV_TOKEN = "KIBITZ_TOKEN"  # noqa: S105 - the name of a variable, not a secret

CREDENTIALS_FILE = "credentials.json"
CONFIG_FILE = "config.json"


@dataclass(frozen=True, slots=True)
class Credentials:
    """The server, API token and email stored by ``kibitz login``."""

    server: str
    token: str
    email: str


@dataclass(frozen=True, slots=True)
class CurrentTeam:
    """The team that team commands and ``kibitz init`` act on."""

    id: str
    name: str


def config_dir() -> Path:
    """Return the configuration directory: ``$KIBITZ_CONFIG_DIR`` or the user's config directory."""
    configured = os.environ.get(ENV_CONFIG_DIR)
    if configured:
        return Path(configured)
    return Path(platformdirs.user_config_dir("kibitz", appauthor=False))


def load_credentials() -> Credentials | None:
    """Return the stored credentials, or None if there are none."""
    data = _read_json(config_dir() / CREDENTIALS_FILE)
    if data is None:
        return None
    try:
        return Credentials(server=str(data["server"]), token=str(data["token"]), email=str(data["email"]))
    except KeyError as exc:
        raise KibitzError(f"{config_dir() / CREDENTIALS_FILE} lacks {exc}; log in again") from exc


def save_credentials(credentials: Credentials) -> None:
    """Store credentials in a file only the current user can read (mode 0600)."""
    _write_private_json(config_dir() / CREDENTIALS_FILE, asdict(credentials))


def delete_credentials() -> None:
    """Forget the stored credentials."""
    (config_dir() / CREDENTIALS_FILE).unlink(missing_ok=True)


def load_current_team() -> CurrentTeam | None:
    """Return the current team from ``config.json``, or None if none is chosen."""
    data = _read_json(config_dir() / CONFIG_FILE)
    team = data.get("team") if data else None
    if not isinstance(team, dict) or not isinstance(team.get("id"), str):
        return None
    return CurrentTeam(id=team["id"], name=str(team.get("name", "")))


def save_current_team(team: CurrentTeam | None) -> None:
    """Make ``team`` the current team (None forgets it)."""
    path = config_dir() / CONFIG_FILE
    data = _read_json(path) or {}
    if team is None:
        data.pop("team", None)
    else:
        data["team"] = asdict(team)
    _write_private_json(path, data)


def resolve_server() -> str | None:
    """Return the server URL to use: ``$KIBITZ_SERVER``, else the stored one."""
    from_env = os.environ.get(ENV_SERVER)
    if from_env:
        return from_env
    credentials = load_credentials()
    return credentials.server if credentials else None


def resolve_token() -> str | None:
    """Return the API token to use: ``$KIBITZ_TOKEN``, else the stored one."""
    from_env = os.environ.get(ENV_TOKEN)
    if from_env:
        return from_env
    credentials = load_credentials()
    return credentials.token if credentials else None


def resolve_ca_file() -> str | None:
    """Return the CA file to verify servers with: ``$KIBITZ_CA_FILE``, else None (the usual CAs)."""
    return os.environ.get(ENV_CA_FILE) or None


def resolve_cert_sha256() -> str | None:
    """Return the pinned server certificate fingerprint: ``$KIBITZ_CERT_SHA256``, else None."""
    return os.environ.get(ENV_CERT_SHA256) or None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KibitzError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise KibitzError(f"{path} is not valid JSON; fix or delete it") from exc
    if not isinstance(data, dict):
        raise KibitzError(f"{path} does not hold a JSON object; fix or delete it")
    return data


def _write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically to a file created with mode 0600 (never widened, never chmod-ed later)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # A fresh, unpredictable temporary name with O_EXCL: the file is born 0600 and nobody can
    # pre-create it with other permissions; os.replace then swaps it in atomically.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
