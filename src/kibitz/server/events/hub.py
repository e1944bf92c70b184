"""Fan-out of the event log to this process's WebSocket subscribers.

One `TeamFeed` per team with subscribers: when the doorbell rings (or the poll notices a newer head), the
feed reads the new events from the database once and hands the same serialised message to every
subscriber: straight onto the socket when the subscriber is idle and its socket takes the frame at once (no
task switch per subscriber; see `eager.py`), otherwise into the subscriber's bounded queue, which the
subscriber's own task drains. A subscriber that joins replays what it missed straight from the database, and
switches to the feed under the feed's lock exactly when it has caught up, so it sees every seq once, in
order. A subscriber whose queue is full is cut off (it resumes later with `after=`) instead of slowing the
others.

Revocation reaches open sockets through a sweep, not through the fan-out (which stays free of checks): twice a
second, one query per team feed looks up the tokens of its subscribers, and a subscriber whose token was
revoked or expired, whose account was disabled, or who is no longer a member is cut off. The sweep reads the
shared database, so a revocation made by any process (or by `kibitz server user disable`) is felt by all.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, select

from kibitz.server.access import address_allowed, team_allowlist, token_admitted
from kibitz.server.auth.models import ApiToken, User
from kibitz.server.db import utcnow
from kibitz.server.events.service import LoggedEvent, head_seq, read_events
from kibitz.server.teams.models import Membership, Team
from kibitz.server.unit_of_work import Sessions

log = logging.getLogger("kibitz.server.stream")

# Tokens looked up per statement by the sweep, well below the bound-parameter limits of SQLite and PostgreSQL.
_SWEEP_BATCH = 500


def event_message(event: LoggedEvent, user_id: str | None = None) -> str:
    """Return the wire form of an event as `user_id` may see it: seq, type, team, time and the changed object.

    An event the user may not see (someone else's bookmark) keeps its place as `{"seq", "type": "skipped"}`,
    so that every subscriber sees seq grow by exactly one and can tell a real gap from a private change.
    """
    if event.visible_to is not None and user_id is not None and event.visible_to != user_id:
        return f'{{"seq":{event.seq},"type":"skipped","team_id":{json.dumps(event.team_id)}}}'
    # Who did it and what, when the log knows: outside `data`, which stays the object as the API returns it.
    told = ""
    if event.actor is not None:
        told += f',"by":{json.dumps(event.actor, separators=(",", ":"))}'
    if event.changes:
        told += f',"changes":{json.dumps(list(event.changes), separators=(",", ":"))}'
    return (
        f'{{"seq":{event.seq},"type":{json.dumps(event.type)},"team_id":{json.dumps(event.team_id)},'
        f'"at":{json.dumps(event.created_at.isoformat())}{told},"data":{event.payload}}}'
    )


@dataclass(eq=False)
class Subscriber:
    """One WebSocket's place in a team's feed."""

    user_id: str
    team_id: str
    queue: asyncio.Queue[tuple[int, str]]
    # Highest seq handed to this subscriber (sent while replaying, queued once live).
    delivered: int
    live: bool = False
    # Why the hub cut this subscriber off, if it did: "slow", "removed" (no longer a member) or "revoked"
    # (the token was revoked or expired, or the account disabled).
    cut: str | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    # Sends a frame now if the socket is idle and returns True, or returns False (then queue it); never waits.
    send_now: Callable[[str], bool] | None = None
    # The API token the socket authenticated with, checked by the revocation sweep.
    token_id: str = ""
    # The client's address, checked by the sweep against the team's allowlist (which may change meanwhile).
    address: str | None = None


@dataclass(eq=False)
class TeamFeed:
    """The subscribers of one team in this process and the newest seq dispatched to them."""

    team_id: str
    last_seq: int
    subscribers: set[Subscriber] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The newest seq announced, and the task that reads up to it (one at a time, doorbells coalesce).
    target: int = 0
    reader: asyncio.Task[None] | None = None


class StreamHub:
    """Reads each new event once and hands it to every subscriber of its team in this process."""

    def __init__(
        self,
        sessionmaker: Sessions,
        *,
        queue_size: int = 1000,
        poll_seconds: float = 2.0,
        sweep_seconds: float = 0.5,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._queue_size = queue_size
        self._poll_seconds = poll_seconds
        self._sweep_seconds = sweep_seconds
        self._feeds: dict[str, TeamFeed] = {}
        self._poller: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the poll that covers lost doorbells and the sweep that cuts revoked subscribers."""
        self._poller = asyncio.create_task(self._poll(), name="kibitz-stream-poll")
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="kibitz-stream-sweep")

    async def stop(self) -> None:
        """Stop polling and sweeping, and cut every subscriber off."""
        for task in (self._poller, self._sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for feed in self._feeds.values():
            if feed.reader is not None:
                feed.reader.cancel()
            for sub in feed.subscribers:
                sub.cut = "shutdown"
                sub.wake.set()

    @property
    def subscriber_count(self) -> int:
        """Return how many subscribers this process serves."""
        return sum(len(feed.subscribers) for feed in self._feeds.values())

    async def ring(self, team_id: str, seq: int) -> None:
        """Have the team's events up to `seq` delivered, if this process has subscribers for it.

        Returns at once: the reading happens in the feed's reader task, so a writer's request never waits
        for the fan-out, and many doorbells in a burst cost one read.
        """
        feed = self._feeds.get(team_id)
        if feed is None or seq <= feed.last_seq:
            return
        feed.target = max(feed.target, seq)
        if feed.reader is None or feed.reader.done():
            feed.reader = asyncio.create_task(self._read(feed), name=f"kibitz-feed-{team_id}")

    async def _read(self, feed: TeamFeed) -> None:
        try:
            while feed.last_seq < feed.target:
                async with feed.lock:
                    async with self._sessionmaker() as session:
                        events = await read_events(session, feed.team_id, feed.last_seq, feed.target)
                    if not events:
                        # The team was deleted, or the doorbell ran ahead of what this process can see yet;
                        # the poll will ring again.
                        feed.target = feed.last_seq
                        return
                    for event in events:
                        self._fan_out(feed, event)
                        feed.last_seq = event.seq
        except Exception as exc:  # the poll rings again; a failed read must not kill the feed
            log.warning("event read failed for a team feed: %s", type(exc).__name__)

    def _fan_out(self, feed: TeamFeed, event: LoggedEvent) -> None:
        # The event was opened and its people filled in once, by `read_events`; every subscriber gets the same
        # text.
        message = event_message(event)
        hidden = event_message(event, "") if event.visible_to is not None else message
        removed = None
        if event.type == "member.left" and isinstance(event.data, dict):
            removed = event.data.get("user_id")
        for sub in feed.subscribers:
            if not sub.live or sub.cut is not None or event.seq <= sub.delivered:
                continue
            visible = event.visible_to is None or event.visible_to == sub.user_id
            text = message if visible else hidden
            # Straight to the socket only when nothing is queued before it, so the order stays seq order.
            if sub.send_now is None or not sub.queue.empty() or not sub.send_now(text):
                try:
                    sub.queue.put_nowait((event.seq, text))
                except asyncio.QueueFull:
                    sub.cut = "slow"
                    sub.wake.set()
                    continue
                sub.wake.set()
            sub.delivered = event.seq
            if removed == sub.user_id:
                sub.cut = "removed"
                sub.wake.set()

    async def subscribe(
        self, user_id: str, team_id: str, after: int, *, token_id: str, address: str | None = None
    ) -> Subscriber:
        """Register a subscriber that has seen events up to `after`; it starts in replay mode.

        `token_id` is the token the socket authenticated with; the sweep cuts the subscriber once it stops
        working.
        """
        feed = self._feeds.get(team_id)
        if feed is None:
            async with self._sessionmaker() as session:
                head = await head_seq(session, team_id)
            feed = self._feeds.setdefault(team_id, TeamFeed(team_id=team_id, last_seq=head))
        sub = Subscriber(
            user_id=user_id,
            team_id=team_id,
            queue=asyncio.Queue(self._queue_size),
            delivered=after,
            token_id=token_id,
            address=address,
        )
        feed.subscribers.add(sub)
        return sub

    async def replay_until_live(self, sub: Subscriber, limit: int = 500) -> list[tuple[int, str]] | None:
        """Return the next page of missed events as messages, or None once the subscriber is live."""
        feed = self._feeds[sub.team_id]
        async with feed.lock:
            if sub.delivered >= feed.last_seq:
                sub.live = True
                return None
            upto = feed.last_seq
        async with self._sessionmaker() as session:
            events = await read_events(session, sub.team_id, sub.delivered, upto, limit)
        if events:
            sub.delivered = events[-1].seq
        else:  # events up to `upto` were deleted with their team; nothing more to replay
            sub.delivered = upto
        return [(e.seq, event_message(e, sub.user_id)) for e in events]

    def unsubscribe(self, sub: Subscriber) -> None:
        """Forget a subscriber; the last one of a team takes its feed with it."""
        feed = self._feeds.get(sub.team_id)
        if feed is None:
            return
        feed.subscribers.discard(sub)
        if not feed.subscribers:
            del self._feeds[sub.team_id]
            if feed.reader is not None:
                feed.reader.cancel()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            if not self._feeds:
                continue
            try:
                async with self._sessionmaker() as session:
                    heads = await session.execute(
                        select(Team.id, Team.event_seq).where(Team.id.in_(list(self._feeds)))
                    )
                    found = [(team_id, int(seq)) for team_id, seq in heads]
                for team_id, seq in found:
                    await self.ring(team_id, seq)
            except Exception as exc:  # a database hiccup must not end the poll
                log.warning("event poll failed: %s", type(exc).__name__)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_seconds)
            if not self._feeds:
                continue
            try:
                await self.sweep()
            except Exception as exc:  # a database hiccup must not end the sweep; the next one retries
                log.warning("revocation sweep failed: %s", type(exc).__name__)

    async def sweep(self) -> int:
        """Cut every subscriber whose token stopped working, who left the team, or whose address the team's
        allowlist no longer admits; return how many were cut.

        One query per team feed with subscribers (per batch of tokens): the tokens, their owners' status and
        their memberships of that team, and one for the team's allowlist. A token that is gone altogether (its
        owner erased) counts as revoked.
        """
        cut = 0
        async with self._sessionmaker() as session:
            for feed in list(self._feeds.values()):
                subscribers = [s for s in feed.subscribers if s.cut is None]
                token_ids = sorted({s.token_id for s in subscribers})
                verdicts: dict[str, str | None] = {}
                for start in range(0, len(token_ids), _SWEEP_BATCH):
                    rows = await session.execute(
                        select(
                            ApiToken.id,
                            ApiToken.revoked_at,
                            ApiToken.expires_at,
                            User.status,
                            Membership.role,
                            ApiToken.created_at,
                            Membership.tokens_revoked_at,
                        )
                        .join(User, User.id == ApiToken.user_id)
                        .outerjoin(
                            Membership,
                            and_(Membership.team_id == feed.team_id, Membership.user_id == ApiToken.user_id),
                        )
                        .where(ApiToken.id.in_(token_ids[start : start + _SWEEP_BATCH]))
                    )
                    now = utcnow()
                    for token_id, revoked_at, expires_at, status, role, issued_at, cut_off in rows:
                        verdicts[token_id] = revocation(revoked_at, expires_at, status, role, now)
                        if verdicts[token_id] is None and not token_admitted(cut_off, issued_at):
                            verdicts[token_id] = "revoked"
                allowlist = await team_allowlist(session, feed.team_id)
                for sub in subscribers:
                    reason = verdicts.get(sub.token_id, "revoked")
                    if reason is None and not address_allowed(allowlist, sub.address):
                        reason = "address"
                    if reason is not None and sub.cut is None:
                        sub.cut = reason
                        sub.wake.set()
                        cut += 1
        return cut


def revocation(
    revoked_at: dt.datetime | None, expires_at: dt.datetime, status: str, role: str | None, now: dt.datetime
) -> str | None:
    """Return why a subscriber must be cut ("revoked" or "removed"), or None if its token still admits it."""
    if revoked_at is not None or expires_at <= now or status != "active":
        return "revoked"
    if role is None:
        return "removed"
    return None
