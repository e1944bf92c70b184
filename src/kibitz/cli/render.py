"""Human-readable output of the CLI (``--json`` output is the API's JSON, not this)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kibitz.client import Codemark, Reply, UserRef

SUMMARY_WIDTH = 72


def summary(title: str | None, text: str) -> str:
    """Return the title, or else the first non-blank line of the text, shortened to fit one line."""
    line = (title or "").strip() or next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= SUMMARY_WIDTH else line[: SUMMARY_WIDTH - 1] + "…"


def person(user: UserRef) -> str:
    """Return ``Name <email>``."""
    return f"{user['name']} <{user['email']}>"


def listing_line(entry: dict[str, Any]) -> str:
    """Return one ``kibitz ls`` line: ``ID  path:start-end  [status/type]  summary  (author)``."""
    location = entry["location"]
    where = f"{location['path']}:{location['start_line']}-{location['end_line']}"
    if location["status"] != "unchanged":
        where += f" ({location['status']})"
    what = f"[{entry['status']}/{entry['type']}]"
    return f"{entry['id']}  {where}  {what}  {summary(entry['title'], entry['text'])}  ({entry['author']})"


def numbered(code: str, first_line: int) -> list[str]:
    """Return the code's lines prefixed with their line numbers, right-aligned."""
    lines = code.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    width = len(str(first_line + max(len(lines) - 1, 0)))
    return [f"{first_line + offset:>{width}} │ {line.rstrip()}" for offset, line in enumerate(lines)]


def codemark_details(codemark: Codemark, replies: Sequence[Reply]) -> str:
    """Return a codemark with its code, text and thread, as ``kibitz show`` prints it."""
    out = [
        f"{codemark['id']}  [{codemark['status']}/{codemark['type']}]  {codemark.get('title') or ''}".rstrip()
    ]
    out.append(f"by {person(codemark['author'])} at {codemark['created_at']}")
    if codemark["assignees"]:
        out.append("assigned to " + ", ".join(person(user) for user in codemark["assignees"]))
    if codemark["tags"]:
        out.append("tags: " + ", ".join(codemark["tags"]))
    for marker in codemark["markers"]:
        out.append("")
        out.append(
            f"{marker['path']}:{marker['start_line']}-{marker['end_line']} at commit {marker['commit'][:12]}"
        )
        out.extend("  " + line for line in numbered(marker["code"], marker["start_line"]))
    out.append("")
    out.extend(codemark["text"].splitlines() or [""])
    if replies:
        out.append("")
        out.append(f"── {len(replies)} {'reply' if len(replies) == 1 else 'replies'} ──")
        for reply in replies:
            out.append(f"{person(reply['author'])} at {reply['created_at']}:")
            out.extend("  " + line for line in reply["text"].splitlines())
    return "\n".join(out)
