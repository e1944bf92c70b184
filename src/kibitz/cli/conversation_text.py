"""Words of the conversation commands: event lines, search hits, inbox items, reactions, dates. Pure."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from kibitz.cli.render import reactions_line, summary
from kibitz.client import Codemark, InboxItem, Reaction, SearchHit, StreamEvent
from kibitz.times import timestamp

# Names people type for the reactions most tools offer, so a terminal without an emoji keyboard works too.
EMOJI_NAMES: dict[str, str] = {
    "+1": "👍",
    "thumbsup": "👍",
    "-1": "👎",
    "thumbsdown": "👎",
    "laugh": "😄",
    "smile": "😄",
    "hooray": "🎉",
    "tada": "🎉",
    "confused": "😕",
    "heart": "❤️",
    "rocket": "🚀",
    "eyes": "👀",
    "check": "✅",
    "white_check_mark": "✅",
    "x": "❌",
    "pray": "🙏",
    "thinking": "🤔",
    "fire": "🔥",
    "100": "💯",
}

_RELATIVE = re.compile(r"(\d{1,6})\s*([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def emoji_for(name: str) -> str:
    """Return the emoji a word names (``+1``, ``:tada:``), or the text itself (the server judges it)."""
    key = name.strip()
    if key.startswith(":") and key.endswith(":") and len(key) > 2:
        key = key[1:-1]
    return EMOJI_NAMES.get(key.lower(), name.strip())


def parse_when(value: str, now: dt.datetime) -> str:
    """Return an ISO 8601 time for a date, a date and time, or an age like ``36h``, ``7d``, ``2w`` ago.

    A date or time without a zone is UTC, as every time Kibitz prints is.
    """
    text = value.strip()
    relative = _RELATIVE.fullmatch(text.lower())
    if relative:
        amount, unit = int(relative.group(1)), _UNITS[relative.group(2)]
        return (now - dt.timedelta(**{unit: amount})).isoformat()
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a date (2026-01-31), a time (2026-01-31T14:00) or an age (7d)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.isoformat()


def reactions_text(reactions: Sequence[Reaction]) -> str:
    """Return ``👍 2  🎉 1``, or ``no reactions``."""
    return reactions_line(reactions) or "no reactions"


def _first_line(text: str) -> str:
    return summary(None, text) or "(empty)"


def _codemark_words(codemark: Mapping[str, Any]) -> str:
    return summary(codemark.get("title"), str(codemark.get("text") or ""))


def event_line(event: StreamEvent, emails: Mapping[str, str], now: dt.datetime | None = None) -> str | None:
    """Return the line `kibitz watch` prints for an event, or None for a `skipped` placeholder.

    ``emails`` maps user ids to email addresses; unknown ids are shown as they are.
    """
    kind = event["type"]
    if kind == "skipped":
        return None
    data: dict[str, Any] = event.get("data") or {}
    who = _author_email(data)
    actor = event.get("by")
    by = str(actor["email"]) if isinstance(actor, dict) and actor.get("email") else None
    changes = event.get("changes")
    codemark, object_id = data.get("codemark_id"), data.get("id")
    if data.get("redacted"):
        # Its codemark or reply was deleted, or its writer erased: the log keeps only its place.
        what = f"{kind} (redacted: deleted or erased)"
    elif kind == "codemark.created":
        place = _first_place(data)
        what = f"{who} opened {data.get('type', 'codemark')} {data.get('id')}{place}: {_codemark_words(data)}"
    elif kind == "codemark.updated" and changes is not None:
        # A change this client has no words for (a newer server's) is shown as the server names it.
        said = [word for change in changes if (word := _CHANGE_WORDS.get(change, change))]
        if not said:
            return None  # bookkeeping (followers, references found by clients), not news
        what = (
            f"{by or 'someone'} {_joined(said)} {data.get('type', 'codemark')} {object_id}: "
            f"{_codemark_words(data)}"
        )
    elif kind == "codemark.updated":
        state = f"[{data.get('status')}/{data.get('type')}]"
        what = f"codemark {object_id} updated {state}: {_codemark_words(data)}"
    elif kind == "codemark.deleted":
        what = f"{by} deleted codemark {data.get('id')}" if by else f"codemark {data.get('id')} deleted"
    elif kind == "reply.added":
        what = f"{who} replied on {codemark} ({object_id}): {_first_line(data.get('text', ''))}"
    elif kind == "reply.edited":
        what = f"{who} edited reply {object_id} on {codemark}: {_first_line(data.get('text', ''))}"
    elif kind == "reply.deleted":
        reply = f"reply {object_id} on {codemark}"
        what = f"{by} deleted {reply}" if by else f"{reply} deleted"
    elif kind in ("reaction.added", "reaction.removed"):
        user = emails.get(str(data.get("user_id")), str(data.get("user_id")))
        verb = "reacted" if kind == "reaction.added" else "took back"
        target = (
            f"reply {data['reply_id']}" if data.get("reply_id") else f"codemark {data.get('codemark_id')}"
        )
        what = f"{user} {verb} {data.get('emoji')} on {target}: {reactions_text(data.get('reactions') or [])}"
    elif kind == "location.stored":
        return None  # where clients found code, shared among them: bookkeeping, not news
    elif kind == "member.joined":
        what = f"{data.get('email')} joined the team as {data.get('role')}"
    elif kind == "member.left":
        user = emails.get(str(data.get("user_id")), str(data.get("user_id")))
        removed = changes is not None and "removed" in changes
        what = f"{by or 'an admin'} removed {user} from the team" if removed else f"{user} left the team"
    elif kind == "member.updated":
        email, role = data.get("email"), data.get("role")
        what = f"{by} made {email} {role}" if by else f"{email} is now {role}"
    else:
        what = kind  # a newer server's event: still worth a line
    return f"#{event['seq']} {timestamp(event.get('at'), now)} {what}"


# How each change a server reports reads in a sentence ("ada resolved issue …"); None: not news.
_CHANGE_WORDS: dict[str, str | None] = {
    "resolved": "resolved",
    "reopened": "reopened",
    "archived": "archived",
    "assigned": "assigned",
    "unassigned": "unassigned someone from",
    "edited": "edited",
    "tagged": "retagged",
    "pinned": "pinned",
    "unpinned": "unpinned",
    "related": "related",
    "unrelated": "unrelated",
    "promoted": None,
    "followers": None,
    "references": None,
}


def _joined(words: Sequence[str]) -> str:
    """Return ``a``, ``a and b``, ``a, b and c``."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _author_email(data: Mapping[str, Any]) -> str:
    author = data.get("author")
    return str(author.get("email")) if isinstance(author, dict) else "someone"


def _first_place(data: Mapping[str, Any]) -> str:
    markers = data.get("markers")
    if not isinstance(markers, list) or not markers or not isinstance(markers[0], dict):
        return ""
    m = markers[0]
    return f" at {m.get('path')}:{m.get('start_line')}-{m.get('end_line')}"


def search_line(hit: SearchHit) -> str:
    """Return one line of `kibitz search`: ``ID  [status/type]  summary  (author)`` and where it matched."""
    codemark: Codemark = hit["codemark"]
    line = (
        f"{codemark['id']}  [{codemark['status']}/{codemark['type']}]  "
        f"{summary(codemark.get('title'), codemark['text'])}  ({codemark['author']['email']})"
    )
    replies = [m["id"] for m in hit["matches"] if m["kind"] == "reply"]
    if replies:
        line += f"  in repl{'y' if len(replies) == 1 else 'ies'} {', '.join(replies)}"
    return line


def inbox_line(item: InboxItem, now: dt.datetime | None = None) -> str:
    """Return one line of `kibitz inbox`: ``* kind  codemark  title  (actor, time)``, ``*`` when unread."""
    unread = "*" if item["read_at"] is None else " "
    reply = f" (reply {item['reply_id']})" if item["reply_id"] else ""
    when = timestamp(item["created_at"], now)
    return (
        f"{unread} {item['kind']:<10}  {item['codemark_id']}{reply}  {summary(item['codemark_title'], '')}  "
        f"({item['actor']['email']}, {when})"
    )
