"""What an editor is shown of a codemark, and how command arguments are read: pure functions, no process."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types

from kibitz.client import Codemark, Marker, Reply
from kibitz.locate import Placement
from kibitz.lsp._arguments import (
    BadArguments,
    Lines,
    codemark_type,
    flag,
    selected_lines,
    text_field,
    the_object,
)
from kibitz.lsp._present import (
    Placed,
    diagnostic,
    hover_markdown,
    lens,
    line_range,
    location,
    one_line,
    same_threads,
    severity,
    thread,
)

ALICE = {"id": "u1", "email": "alice@example.com", "name": "Alice", "handle": "alice"}
BOB = {"id": "u2", "email": "bob@example.com", "name": "Bob", "handle": "bob"}
MARKER: Marker = {
    "id": "m1",
    "repo_id": "r1",
    "path": "old/app.py",
    "commit": "c" * 40,
    "start_line": 10,
    "end_line": 14,
    "code": "x\n",
    "context_before": "",
    "context_after": "",
    "references": [],
    "provisional": False,
    "code_free": False,
}


def _codemark(**changes: Any) -> Codemark:
    codemark: dict[str, Any] = {
        "id": "cm1",
        "team_id": "t1",
        "type": "question",
        "status": "open",
        "title": "Why retry twice?",
        "text": "It looks <b>odd</b>.",
        "author": ALICE,
        "assignees": [],
        "tags": [],
        "markers": [MARKER],
        "reply_count": 2,
        "created_at": "2026-12-06T10:00:00+00:00",
        "updated_at": "2026-12-06T10:00:00+00:00",
        "pinned": False,
        "permalink": "/c/cm1",
        "mentions": [],
        "reactions": [{"emoji": "👍", "count": 2, "users": ["u1", "u2"]}],
        "followers": ["u1"],
        "related": [],
    }
    codemark.update(changes)
    return codemark  # type: ignore[return-value]


def _reply(reply_id: str, text: str, *, deleted: bool = False) -> Reply:
    return {
        "id": reply_id,
        "codemark_id": "cm1",
        "author": BOB,  # type: ignore[typeddict-item]
        "text": text,
        "created_at": "2026-12-06T11:00:00+00:00",
        "updated_at": "2026-12-06T11:00:00+00:00",
        "deleted": deleted,
        "edited": False,
        "mentions": [],
        "reactions": [],
    }


def _placed(status: str = "unchanged", path: str = "old/app.py", lines: tuple[int, int] = (10, 14)) -> Placed:
    placement = Placement("m1", path, lines[0], lines[1], status, 1.0)  # type: ignore[arg-type]
    return Placed(_codemark(), MARKER, placement)


def test_the_one_line_message_and_severity() -> None:
    assert one_line(_codemark()) == "question · open · Why retry twice? — alice · 2 replies"
    assert one_line(_codemark(reply_count=0, title="")) == "question · open · It looks <b>odd</b>. — alice"
    assert severity(_codemark()) == types.DiagnosticSeverity.Information
    assert severity(_codemark(status="resolved")) == types.DiagnosticSeverity.Hint
    assert severity(_codemark(type="bookmark")) == types.DiagnosticSeverity.Hint


def test_a_range_covers_whole_lines_in_the_clients_units() -> None:
    lines = ["a\n", "héllo 🙂\n", "c"]
    utf16 = line_range(lines, 1, 2, lambda text: len(text.encode("utf-16-le")) // 2)
    assert utf16 == types.Range(types.Position(0, 0), types.Position(1, 8))
    utf8 = line_range(["naïve = 1\n", "plain = 2\n"], 1, 2, lambda text: len(text.encode("utf-8")))
    assert utf8.end == types.Position(1, 9)  # ASCII: as many units as characters, in any encoding
    assert line_range(["naïve = 1\n"], 1, 1, lambda text: len(text.encode("utf-8"))).end.character == 10
    # Clamped to the document when the block ends past it.
    assert line_range(lines, 3, 9, len) == types.Range(types.Position(2, 0), types.Position(2, 1))


def test_the_diagnostic_and_the_lens_name_the_codemark() -> None:
    where = types.Range(types.Position(9, 0), types.Position(13, 3))
    found = diagnostic(_placed(), "https://kibitz.example", where)
    assert (found.code, found.source) == ("cm1", "kibitz")
    assert found.code_description == types.CodeDescription(href="https://kibitz.example/c/cm1")
    shown = lens(_placed(), where)
    assert shown.range == types.Range(types.Position(9, 0), types.Position(9, 0))
    assert shown.command is not None
    assert (shown.command.command, shown.command.arguments) == ("kibitz.openInBrowser", [{"id": "cm1"}])


def test_threads_are_the_same_while_codemarks_lines_and_placements_are() -> None:
    shown = [_placed(), _placed("shifted", lines=(20, 24))]
    assert same_threads(shown, [_placed(), _placed("shifted", lines=(20, 24))])
    assert same_threads([], ())
    assert not same_threads(shown, shown[:1])
    assert not same_threads(shown, [_placed(), _placed("shifted", lines=(21, 25))])
    assert not same_threads(shown, [_placed(), _placed("changed", lines=(20, 24))])
    renamed = Placed(_codemark(title="Why retry thrice?"), MARKER, shown[1].placement)
    assert not same_threads(shown, [shown[0], renamed])


@pytest.mark.parametrize(
    ("placed", "expected"),
    [
        (_placed(), {"status": "unchanged", "note": ""}),
        (_placed("changed"), {"status": "changed", "note": "changed since it was written"}),
        (_placed("moved", "new/app.py", (3, 7)), {"status": "moved", "note": "moved from old/app.py:10-14"}),
        (_placed("shifted", "new/app.py"), {"status": "shifted", "note": "moved from old/app.py:10-14"}),
        (
            Placed(_codemark(), MARKER, Placement.deleted("m1", 0.9)),
            {"status": "deleted", "note": "its code is gone (it was at old/app.py:10-14)"},
        ),
        (
            Placed(_codemark(), MARKER, Placement.unavailable("m1", "commit_missing")),
            {"status": "unavailable", "note": "its commit is not in this clone: fetch it to see the code"},
        ),
        (
            Placed(_codemark(), MARKER, Placement.too_large("m1")),
            {
                "status": "too_large",
                "note": "the file is too large to follow the edits: shown where it was recorded",
            },
        ),
    ],
)
def test_the_location_says_where_the_code_went(placed: Placed, expected: dict[str, str]) -> None:
    assert location(placed) == expected


def test_a_thread_carries_replies_reactions_and_following() -> None:
    where = types.Range(types.Position(9, 0), types.Position(13, 3))
    replies = [_reply("r1", "Because."), _reply("r2", "", deleted=True)]
    shown = thread(_placed(), replies, "https://k.example/", "u2", where)
    assert shown["permalink"] == "https://k.example/c/cm1"
    assert shown["range"] == {"start": {"line": 9, "character": 0}, "end": {"line": 13, "character": 3}}
    assert [(r["author"], r["text"]) for r in shown["replies"]] == [("Bob", "Because.")]
    assert shown["reactions"] == [{"emoji": "👍", "count": 2, "mine": True}]
    assert shown["following"] is False
    assert thread(_placed(), [], "https://k.example", "u1", None)["following"] is True


def test_the_hover_is_the_whole_thread_with_raw_html_neutralised() -> None:
    shown = hover_markdown(_placed("changed"), [_reply("r1", "Because <script>.")], "https://k.example")
    assert "[Why retry twice?](https://k.example/c/cm1)" in shown
    assert "It looks &lt;b&gt;odd&lt;/b&gt;." in shown
    assert "Because &lt;script&gt;." in shown
    assert "changed since it was written" in shown
    assert "*Bob*, 2026-12-06 11:00" in shown
    assert "changed by" not in shown  # no line for a commit unless one was named


def test_the_hover_names_the_commit_as_plain_text() -> None:
    why = "moved by 1a2b3c4d5e6f Eve_*x*, 2026-12-06 11:00 UTC (just now): Use `<b>` [here](http://evil)"
    shown = hover_markdown(_placed("moved"), [], "https://k.example", why)
    assert (
        "moved by 1a2b3c4d5e6f Eve\\_\\*x\\*, 2026-12-06 11:00 UTC (just now): "
        "Use \\`&lt;b&gt;\\` \\[here\\](http://evil)"
    ) in shown.splitlines()


def test_command_arguments_are_checked_with_readable_messages() -> None:
    assert the_object("kibitz.reply", [{"id": "x"}]) == {"id": "x"}
    with pytest.raises(BadArguments, match="one object argument"):
        the_object("kibitz.reply", ["x", "y"])
    assert text_field("c", {"title": None}, "title", required=False) is None
    with pytest.raises(BadArguments, match="must be a string"):
        text_field("c", {"text": 3}, "text")
    assert flag("c", {}, "follow", True) is True
    with pytest.raises(BadArguments, match="true or false"):
        flag("c", {"follow": 1}, "follow", True)
    assert codemark_type("c", {}) == "comment"
    with pytest.raises(BadArguments, match="must be one of"):
        codemark_type("c", {"type": "rant"})


@pytest.mark.parametrize(
    ("start", "end", "lines"),
    [
        ((0, 0), (0, 5), Lines(1, 1)),
        ((2, 3), (4, 0), Lines(3, 4)),  # ends at the start of line 5: line 5 is not selected
        ((2, 0), (2, 0), Lines(3, 3)),  # an empty selection is its line
        ((1, 4), (3, 1), Lines(2, 4)),
    ],
)
def test_a_selection_becomes_whole_lines(start: tuple[int, int], end: tuple[int, int], lines: Lines) -> None:
    value = {
        "range": {
            "start": {"line": start[0], "character": start[1]},
            "end": {"line": end[0], "character": end[1]},
        }
    }
    assert selected_lines("kibitz.add", value, 10) == lines


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ({}, "needs 'range'"),
        ({"range": {"start": {"line": -1, "character": 0}, "end": {"line": 0, "character": 0}}}, "0 or more"),
        (
            {"range": {"start": {"line": 3, "character": 0}, "end": {"line": 1, "character": 0}}},
            "ends before",
        ),
        (
            {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 10, "character": 2}}},
            "has 10 lines",
        ),
        ({"range": {"start": "top", "end": {"line": 0, "character": 0}}}, "range.start"),
    ],
)
def test_a_bad_selection_is_refused(value: dict[str, Any], words: str) -> None:
    with pytest.raises(BadArguments, match=words):
        selected_lines("kibitz.add", value, 10)
