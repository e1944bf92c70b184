"""Where `kibitz watch` stopped in each team's event log, so that the next run resumes there.

One small file per (server, account, team) in the configuration directory, so that two watchers of
different teams never overwrite each other's place. Each is replaced atomically after every event handled.
"""

from __future__ import annotations

import hashlib

from kibitz.client._config import _read_json, _write_private_json, config_dir

POSITIONS_DIR = "positions"


def _position_file(server: str, email: str, team_id: str) -> str:
    # Hashed: a server URL or an email address makes an awkward, possibly over-long file name.
    key = hashlib.sha256(f"{server.rstrip('/')}\n{email.lower()}\n{team_id}".encode()).hexdigest()[:24]
    return f"{key}.json"


def load_position(server: str, email: str, team_id: str) -> int | None:
    """Return the last seq handled in a team's log, or None if this team was never watched here."""
    data = _read_json(config_dir() / POSITIONS_DIR / _position_file(server, email, team_id))
    seq = data.get("after") if data else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else None


def save_position(server: str, email: str, team_id: str, seq: int) -> None:
    """Remember the last seq handled in a team's log."""
    path = config_dir() / POSITIONS_DIR / _position_file(server, email, team_id)
    _write_private_json(path, {"server": server.rstrip("/"), "team_id": team_id, "after": seq})
