"""Human-readable output of the CLI (``--json`` output is the API's JSON, not this)."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from kibitz.cli.locating import (
    MORE_WHY_TIME,
    TOO_LARGE_ADVICE,
    TOO_LARGE_NOTE,
    Current,
    unavailable_advice,
    unavailable_note,
)
from kibitz.client import Codemark, Erasure, Marker, Reaction, Reply, UserRef
from kibitz.locate import WHY_SECONDS, code_missing
from kibitz.times import timestamp
from kibitz.whynote import why_note

SUMMARY_WIDTH = 72
NO_CODE = "code not stored on the server (code-free team) and not in this clone"


def summary(title: str | None, text: str) -> str:
    """Return the title, or else the first non-blank line of the text, shortened to fit one line."""
    line = (title or "").strip() or next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= SUMMARY_WIDTH else line[: SUMMARY_WIDTH - 1] + "…"


def person(user: UserRef) -> str:
    """Return ``Name <email>``."""
    return f"{user['name']} <{user['email']}>"


def permalink_url(server_url: str, permalink: str) -> str:
    """Return a codemark's full permalink: the server's URL joined with its ``/c/ID`` path."""
    return server_url.rstrip("/") + "/" + permalink.lstrip("/")


def reactions_line(reactions: Sequence[Reaction]) -> str:
    """Return ``👍 2  🎉 1``, or an empty string when there is none."""
    return "  ".join(f"{r['emoji']} {r['count']}" for r in reactions)


def percent(confidence: float) -> str:
    """Return a confidence as a whole percentage, never rounding a doubt up to 100 %."""
    whole = int(confidence * 100)
    return f"{whole}%"


def how_found(status: str, confidence: float) -> str:
    """Return `` (status, NN%)``, or nothing for a block found unchanged and certain."""
    if status == "unchanged" and confidence >= 1.0:
        return ""
    return f" ({status}, {percent(confidence)})"


def listing_line(entry: dict[str, Any]) -> str:
    """Return one ``kibitz ls`` line: ``ID  path:start-end  [status/type]  summary  (author)``."""
    return "  ".join(listing_cells(entry))


def listing_cells(entry: dict[str, Any]) -> list[str]:
    """Return the columns of one ``kibitz ls`` line: ID, place, ``[status/type]``, summary, ``(author)``."""
    location = entry["location"]
    if location["path"] is None:
        # Deleted, unavailable or too large: say where it was recorded, not where it is.
        recorded = entry["recorded"]
        where = f"{recorded['path']}:{recorded['start_line']}-{recorded['end_line']}"
    else:
        where = f"{location['path']}:{location['start_line']}-{location['end_line']}"
    if location["status"] == "unavailable":
        where += f" ({unavailable_note(location.get('reason'), entry['recorded']['commit'])})"
    elif location["status"] == "too_large":
        where += f" ({TOO_LARGE_NOTE})"
    else:
        where += how_found(location["status"], location["confidence"])
    what = f"[{entry['status']}/{entry['type']}]"
    return [entry["id"], where, what, summary(entry["title"], entry["text"]), f"({entry['author']})"]


def numbered(code: str, first_line: int) -> list[str]:
    """Return the code's lines prefixed with their line numbers, right-aligned."""
    lines = code.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    width = len(str(first_line + max(len(lines) - 1, 0)))
    return [f"{first_line + offset:>{width}} │ {line.rstrip()}" for offset, line in enumerate(lines)]


def code_diff(recorded: str, current: str) -> list[str]:
    """Return a unified diff from the recorded code to the current code (empty if they are equal)."""
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            recorded.splitlines(keepends=True),
            current.splitlines(keepends=True),
            "recorded",
            "now",
            n=2,
        )
    ]


def _current_block(marker: Marker, current: Current, where: str, why_seconds: float) -> list[str]:
    """Return the lines that say where a marker's block is now, which commit made it so, and how its code
    changed."""
    placement = current.placement
    if placement.status == "unavailable":
        return [
            f"now: {unavailable_note(placement.reason, marker['commit'])} {where}",
            "  " + unavailable_advice(placement.reason, marker["commit"]),
        ]
    if placement.status == "too_large":
        advice = TOO_LARGE_ADVICE.format(
            start=marker["start_line"], end=marker["end_line"], path=marker["path"]
        )
        return [f"now: not followed {where} (too large)", "  " + advice]
    found = how_found(placement.status, placement.confidence) or " (unchanged)"
    why = why_note(current.why, marker["commit"], why_seconds, MORE_WHY_TIME)
    if placement.path is None or placement.start_line is None:
        return [f"now: not found {where}{found}", *([why] if why else [])]
    out = [f"now at {placement.path}:{placement.start_line}-{placement.end_line} {where}{found}"]
    if why:
        out.append(why)
    if current.code is not None and code_missing(marker):
        # Nothing recorded to compare with: the code as it is now is all there is to show.
        out.extend("  " + line for line in numbered(current.code, placement.start_line))
    elif current.code is not None and current.code != marker["code"]:
        out.extend("  " + line for line in numbered(current.code, placement.start_line))
        out.extend("  " + line for line in code_diff(marker["code"], current.code))
    return out


def codemark_details(
    codemark: Codemark,
    replies: Sequence[Reply],
    located: Mapping[str, Current],
    where: str,
    server_url: str = "",
    now: dt.datetime | None = None,
    why_seconds: float = WHY_SECONDS,
) -> str:
    """Return a codemark with its code (recorded and now), text and thread, as ``kibitz show`` prints it."""
    out = [
        f"{codemark['id']}  [{codemark['status']}/{codemark['type']}]  {codemark.get('title') or ''}".rstrip()
    ]
    if server_url and codemark.get("permalink"):
        out.append(permalink_url(server_url, codemark["permalink"]))
    edited = ", edited" if codemark.get("edited") else ""
    out.append(f"by {person(codemark['author'])}, {timestamp(codemark['created_at'], now)}{edited}")
    if codemark["assignees"]:
        out.append("assigned to " + ", ".join(person(user) for user in codemark["assignees"]))
    if codemark["tags"]:
        out.append("tags: " + ", ".join(codemark["tags"]))
    for marker in codemark["markers"]:
        out.append("")
        provisional = " (provisional: not committed then)" if marker["provisional"] else ""
        out.append(
            f"{marker['path']}:{marker['start_line']}-{marker['end_line']} "
            f"at commit {marker['commit'][:12]}{provisional}"
        )
        if code_missing(marker):
            out.append(f"  ({NO_CODE})")
        else:
            out.extend("  " + line for line in numbered(marker["code"], marker["start_line"]))
        current = located.get(marker["id"])
        if current is not None:
            out.extend(_current_block(marker, current, where, why_seconds))
    out.append("")
    out.extend(codemark["text"].splitlines() or [""])
    if codemark.get("reactions"):
        out.append("")
        out.append("reactions: " + reactions_line(codemark["reactions"]))
    if replies:
        out.append("")
        out.append(f"── {len(replies)} {'reply' if len(replies) == 1 else 'replies'} ──")
        for reply in replies:
            edited = ", edited" if reply.get("edited") and not reply.get("deleted") else ""
            out.append(f"{person(reply['author'])}, {timestamp(reply['created_at'], now)}{edited}:")
            if reply.get("deleted"):
                out.append("  (deleted)")
            out.extend("  " + line for line in reply["text"].splitlines())
            if reply.get("reactions"):
                out.append("  " + reactions_line(reply["reactions"]))
    return "\n".join(out)


def erasure_state(erasure: Erasure) -> str:
    """Return where an erasure stands: done (and when), or pending (and until when at the latest)."""
    if erasure["status"] == "done":
        return f"erasure {erasure['id']} is done ({timestamp(erasure['completed_at'])})"
    return (
        f"erasure {erasure['id']} is pending: the keys are destroyed within a minute "
        f"(at the latest by {timestamp(erasure['due_at'])})"
    )
