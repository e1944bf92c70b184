"""What an editor is shown of a codemark: diagnostics, code lenses, hovers and thread objects. Pure.

Everything here is a plain function of a codemark, its replies, where its block is in the document
(a ``Placed``) and who is asking; the server feeds it and sends the answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lsprotocol import types

from kibitz.client import Codemark, Marker, Reaction, Reply
from kibitz.locate import Placement

SOURCE = "kibitz"
SUMMARY_WIDTH = 72
# Open conversations ask for attention; the rest (resolved, and notes to self or links) are hints.
_ATTENTION_TYPES = frozenset({"comment", "question", "issue"})

_UNAVAILABLE_NOTES = {
    "commit_missing": "its commit is not in this clone: fetch it to see the code",
    "uncommitted": "pinned on lines nobody has committed yet",
    "symlink": "its file is a symbolic link: git keeps no lines there",
    "too_large": "the file is too large to follow the edits: shown where it was recorded",
}


@dataclass(frozen=True, slots=True)
class Placed:
    """One block of a codemark in a document: the marker and where it is now (lines 1-based, inclusive).

    ``placement`` is None when the block could not be placed in the text (deleted code, a clone that
    cannot see it, a file too large to follow): the codemark is then listed, not shown in the text.
    """

    codemark: Codemark
    marker: Marker
    placement: Placement | None
    note_reason: str | None = None

    @property
    def lines(self) -> tuple[int, int] | None:
        """Return the first and last line of the block now, or None when it is not placed."""
        p = self.placement
        if p is None or p.start_line is None or p.end_line is None:
            return None
        return p.start_line, p.end_line


def same_threads(one: Sequence[Placed], other: Sequence[Placed]) -> bool:
    """Tell whether two lists of blocks show the same threads: the same codemarks, lines and placements."""
    # A codemark kept is the same object from one keystroke to the next: no need to compare its fields.
    return len(one) == len(other) and all(
        (a.codemark is b.codemark or a.codemark == b.codemark)
        and a.lines == b.lines
        and a.placement == b.placement
        for a, b in zip(one, other, strict=True)
    )


def permalink_url(server_url: str, permalink: str) -> str:
    """Return a codemark's full permalink: the server's URL joined with its ``/c/ID`` path."""
    return server_url.rstrip("/") + "/" + permalink.lstrip("/")


def summary(codemark: Codemark) -> str:
    """Return the title, or else the first non-blank line of the text, shortened to one line."""
    text = codemark["text"]
    line = (codemark.get("title") or "").strip() or next(
        (ln.strip() for ln in text.splitlines() if ln.strip()), ""
    )
    return line if len(line) <= SUMMARY_WIDTH else line[: SUMMARY_WIDTH - 1] + "…"


def _replies_word(count: int) -> str:
    return f"{count} {'reply' if count == 1 else 'replies'}"


def one_line(codemark: Codemark) -> str:
    """Return ``question · open · Why retry twice? — alice · 2 replies``."""
    parts = [codemark["type"], codemark["status"], f"{summary(codemark)} — {codemark['author']['handle']}"]
    if codemark["reply_count"]:
        parts.append(_replies_word(codemark["reply_count"]))
    return " · ".join(parts)


def severity(codemark: Codemark) -> types.DiagnosticSeverity:
    """Return Information for an open conversation, Hint for anything else."""
    if codemark["status"] == "open" and codemark["type"] in _ATTENTION_TYPES:
        return types.DiagnosticSeverity.Information
    return types.DiagnosticSeverity.Hint


def line_range(lines: Sequence[str], start_line: int, end_line: int, units: Any) -> types.Range:
    """Return the LSP range of whole lines ``start_line..end_line`` (1-based) of a document's lines.

    ``units`` counts a line's characters in the client's position encoding (``num_units``); the range
    ends at the end of the last line's text, clamped to the document.
    """
    start, end, width = line_span(lines, start_line, end_line, units)
    return types.Range(types.Position(start, 0), types.Position(end, width))


def line_span(lines: Sequence[str], start_line: int, end_line: int, units: Any) -> tuple[int, int, int]:
    """Return ``line_range`` as numbers: its first and last line (0-based) and the last one's width."""
    last_index = max(len(lines) - 1, 0)
    start = min(max(start_line - 1, 0), last_index)
    end = min(max(end_line - 1, start), last_index)
    end_text = lines[end].rstrip("\r\n") if lines else ""
    # An ASCII character is one unit in every encoding; counting units goes through each character.
    width = len(end_text) if end_text.isascii() else units(end_text)
    return start, end, width


def diagnostic(placed: Placed, server_url: str, where: types.Range) -> types.Diagnostic:
    """Return the diagnostic of a placed codemark's block."""
    codemark = placed.codemark
    return types.Diagnostic(
        range=where,
        message=one_line(codemark),
        severity=severity(codemark),
        source=SOURCE,
        code=codemark["id"],
        code_description=types.CodeDescription(href=permalink_url(server_url, codemark["permalink"])),
    )


def lens(placed: Placed, where: types.Range) -> types.CodeLens:
    """Return the code lens above a placed codemark's block: its line, opening it in the browser."""
    codemark = placed.codemark
    start = types.Range(where.start, where.start)
    title = f"{codemark['type']}: {summary(codemark)} — {codemark['author']['handle']}"
    if codemark["reply_count"]:
        title += f" · {_replies_word(codemark['reply_count'])}"
    return types.CodeLens(
        range=start,
        command=types.Command(
            title=title, command="kibitz.openInBrowser", arguments=[{"id": codemark["id"]}]
        ),
    )


def location(placed: Placed) -> dict[str, str]:
    """Return ``{"status", "note"}``: how the block got where it is, in words."""
    p = placed.placement
    marker = placed.marker
    recorded = f"{marker['path']}:{marker['start_line']}-{marker['end_line']}"
    if placed.note_reason is not None:
        return {"status": "unavailable", "note": _UNAVAILABLE_NOTES.get(placed.note_reason, "")}
    if p is None:
        return {"status": "unavailable", "note": "not located yet"}
    if p.status == "unavailable":
        return {
            "status": "unavailable",
            "note": _UNAVAILABLE_NOTES.get(p.reason or "", "cannot be seen here"),
        }
    if p.status == "too_large":
        return {"status": "too_large", "note": _UNAVAILABLE_NOTES["too_large"]}
    if p.status == "deleted":
        return {"status": "deleted", "note": f"its code is gone (it was at {recorded})"}
    if p.status == "moved" or (p.path is not None and p.path != marker["path"]):
        return {"status": p.status, "note": f"moved from {recorded}"}
    if p.status == "changed":
        return {"status": "changed", "note": "changed since it was written"}
    if p.status == "shifted":
        return {"status": "shifted", "note": f"same code, recorded at {recorded}"}
    return {"status": p.status, "note": ""}


def reactions(summary_of: Sequence[Reaction], me: str | None) -> list[dict[str, Any]]:
    """Return reactions as threads carry them: ``{"emoji", "count", "mine"}``."""
    return [{"emoji": r["emoji"], "count": r["count"], "mine": me in r["users"]} for r in summary_of]


def thread(
    placed: Placed, replies: Sequence[Reply], server_url: str, me: str | None, where: types.Range | None
) -> dict[str, Any]:
    """Return the ``kibitz/threads`` object of a codemark's block in a document."""
    codemark = placed.codemark
    return {
        "id": codemark["id"],
        "permalink": permalink_url(server_url, codemark["permalink"]),
        "type": codemark["type"],
        "status": codemark["status"],
        "title": codemark.get("title") or "",
        "text": codemark["text"],
        "author": codemark["author"]["name"],
        "createdAt": codemark["created_at"],
        "range": None if where is None else range_json(where),
        "location": location(placed),
        "replies": [
            {
                "id": reply["id"],
                "author": reply["author"]["name"],
                "text": reply["text"],
                "createdAt": reply["created_at"],
                "reactions": reactions(reply["reactions"], me),
            }
            for reply in replies
            if not reply["deleted"]
        ],
        "reactions": reactions(codemark["reactions"], me),
        "following": me is not None and me in codemark["followers"],
    }


def range_json(where: types.Range) -> dict[str, Any]:
    """Return an LSP range as JSON."""
    return {
        "start": {"line": where.start.line, "character": where.start.character},
        "end": {"line": where.end.line, "character": where.end.character},
    }


def _quoted(text: str) -> str:
    """Return someone's Markdown with raw HTML neutralised (an editor may render it)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# What can start or end inline markup in the middle of a line (emphasis, code, links, strike-through):
# escaped with a backslash, each shows as itself. The line never starts with someone's text, so the
# punctuation that matters only at a line's start (#, -, 1.) needs none.
_MARKUP = str.maketrans({c: "\\" + c for c in "\\`*_[]~"})


def _literal(text: str) -> str:
    """Return text to show exactly as written: raw HTML neutralised and Markdown's markup escaped."""
    return _quoted(text).translate(_MARKUP)


def _reactions_line(summary_of: Sequence[Reaction]) -> str:
    return "  ".join(f"{r['emoji']} {r['count']}" for r in summary_of)


def hover_markdown(placed: Placed, replies: Sequence[Reply], server_url: str, why: str | None = None) -> str:
    """Return the whole thread of a codemark as Markdown: text, replies, reactions, status, location.

    ``why`` is the line that names the commit that made the block what it is (``kibitz.whynote``).
    """
    codemark = placed.codemark
    author = codemark["author"]
    title = _quoted(summary(codemark))
    where = location(placed)
    lines = [
        f"**{codemark['type']}** · {codemark['status']} · [{title}]"
        f"({permalink_url(server_url, codemark['permalink'])})",
        "",
        f"*{_quoted(author['name'])}* (@{author['handle']}), {codemark['created_at'][:16].replace('T', ' ')}",
        "",
        _quoted(codemark["text"]),
    ]
    if codemark["reactions"]:
        lines += ["", _reactions_line(codemark["reactions"])]
    if where["note"]:
        lines += ["", f"_{where['status']}: {where['note']}_"]
    if why:
        # An author's name and a commit's subject are other people's text, shown as text (not Markdown).
        lines += ["", _literal(why)]
    shown = [reply for reply in replies if not reply["deleted"]]
    if shown:
        lines += ["", "---"]
    for reply in shown:
        when = reply["created_at"][:16].replace("T", " ")
        lines += ["", f"*{_quoted(reply['author']['name'])}*, {when}", "", _quoted(reply["text"])]
        if reply["reactions"]:
            lines += ["", _reactions_line(reply["reactions"])]
    return "\n".join(lines)
