"""Short-lived, in-process caches for the hot read path (an editor listing a file's codemarks).

- Callers: a token's owner, kept for half a second, so a burst of requests authenticates once. A revoked
  token or removed member is refused by every process within that half second (in this process at once).
- Roles: a member's role in a team, likewise.
- Allowlists: a team's stored IP allowlist, likewise; a change is seen by every process within half a second
  (at once in the process that saved it).
- People: the wire form of a person named in pages of codemarks (and their email, which orders assignees),
  likewise: a new name or email shows within half a second.
- Team frames: what a team's pages show around their content (the team's name and mode, its repos' names,
  its members for the pickers), likewise: a rename, a new repo or member shows within half a second.
- Feed rows: the feed page's rendered list, keyed by the listing answer it shows (so never newer or older
  than that answer) and the minute (its times say "5 minutes ago").
- Listings: whole answers, keyed by the team's event seq. Every change in a team records an event in the
  same transaction, so a newer seq means a different key and a cached answer can never be stale. The seq
  comes from the doorbells this process hears; with the in-process broker those ring before the writer's
  answer is sent, so a client always reads its own writes. With Redis (several processes) a doorbell may
  lag by milliseconds, so there the seq is read from the database instead.

Those that hold opened text (people, team frames, feed rows, listings) are emptied with the sealer's
opened values when an erasure finishes (`drop_content`, called by `Sealer.drop_plaintexts`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache, TTLCache

from kibitz.server.auth.service import Caller

AUTH_TTL_SECONDS = 0.5


@dataclass
class Caches:
    """The caches of one app instance."""

    # Doorbells heard by this process are exact only with the in-process broker.
    heads_are_exact: bool
    callers: TTLCache[str, Caller] = field(
        default_factory=lambda: TTLCache(maxsize=10_000, ttl=AUTH_TTL_SECONDS)
    )
    # (role, tokens_revoked_at) of a membership: the cut-off of an admin's revoke-all travels with the role.
    roles: TTLCache[tuple[str, str], tuple[str, dt.datetime | None]] = field(
        default_factory=lambda: TTLCache(maxsize=10_000, ttl=AUTH_TTL_SECONDS)
    )
    allowlists: TTLCache[str, str] = field(
        default_factory=lambda: TTLCache(maxsize=10_000, ttl=AUTH_TTL_SECONDS)
    )
    people: TTLCache[str, tuple[str, bytes]] = field(
        default_factory=lambda: TTLCache(maxsize=10_000, ttl=AUTH_TTL_SECONDS)
    )
    # Per (team, role): see web/team_context.py.
    team_frames: TTLCache[tuple[str, str], Any] = field(
        default_factory=lambda: TTLCache(maxsize=1_000, ttl=AUTH_TTL_SECONDS)
    )
    listings: LRUCache[Hashable, bytes] = field(
        default_factory=lambda: LRUCache(maxsize=64 * 1024 * 1024, getsizeof=len)
    )
    # The feed page's rendered rows, keyed by the listing answer they were rendered from (see feed_pages.py).
    feed_rows: LRUCache[Hashable, tuple[str, str | None]] = field(
        default_factory=lambda: LRUCache(maxsize=32 * 1024 * 1024, getsizeof=lambda rows: len(rows[0]))
    )
    heads: dict[str, int] = field(default_factory=dict)

    def heard(self, team_id: str, seq: int) -> None:
        """Remember the newest seq of a team this process has heard of."""
        if seq > self.heads.get(team_id, 0):
            self.heads[team_id] = seq

    def drop_content(self) -> None:
        """Forget every cached answer and page holding opened text (after an erasure, like the sealer)."""
        self.listings.clear()
        self.feed_rows.clear()
        self.team_frames.clear()
        self.people.clear()

    def forget_token(self, token_hash: str) -> None:
        """Drop a token at once (logout, revocation) in this process."""
        self.callers.pop(token_hash, None)

    def forget_allowlist(self, team_id: str) -> None:
        """Drop a team's allowlist at once (it changed) in this process."""
        self.allowlists.pop(team_id, None)

    def forget_member(self, team_id: str, user_id: str) -> None:
        """Drop a member's role at once (removal, role change) in this process."""
        self.roles.pop((team_id, user_id), None)
