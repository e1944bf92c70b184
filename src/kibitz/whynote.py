"""The line that says which commit made a block what it is, or why none is named. Pure.

The CLI (`kibitz show`, `kibitz ls --why`) prints it and the language server puts it in a codemark's hover.
Names and subjects in it are other people's text: each caller escapes it for where it goes.
"""

from __future__ import annotations

from kibitz.locate import Why
from kibitz.times import timestamp


def why_note(why: Why | None, recorded_commit: str, seconds: float, more_time: str = "") -> str | None:
    """Return the line for a block's ``why`` (None when there is nothing to say: unchanged or unavailable).

    ``seconds`` is how long the search was allowed; ``more_time`` tells how to allow more, where one can.
    """
    if why is None or why.reason == "unavailable":
        return None
    action = why.action or "changed"
    info = why.commit
    if info is not None:
        merge = " (a merge)" if info.is_merge else ""
        return f"{action} by {info.commit[:12]}{merge} {info.author}, {timestamp(info.date)}: {info.subject}"
    recorded = recorded_commit[:12]
    limit = f"the commit was not found within {seconds:g} s" + (f" ({more_time})" if more_time else "")
    reason = {
        "time_limit": limit,
        "commit_missing": f"no history to search: commit {recorded} is not in this clone",
        "not_in_history": f"no commit to name: commit {recorded} is not in this history (another branch?)",
        "not_found": f"no single commit since {recorded} did it",
    }
    if why.reason == "uncommitted":
        return f"{action} by uncommitted edits"
    return f"{action}: {reason.get(why.reason or '', 'no commit found')}"
