"""Pin a selection of the working tree to code: the marker a new codemark is created with.

A selection is in working-tree coordinates. Mapped to HEAD through ``git diff -U0 HEAD``, lines
that are all committed give a normal marker at HEAD (with HEAD's code and context). Otherwise the
marker is *provisional*: HEAD's nearest lines, with the code and context as they are on disk, and
a client that later sees a commit holding that code promotes it. When the remote's default branch
is elsewhere and holds the block too, that place is kept as an ``upstream`` reference, so that a
teammate whose clone never had HEAD (it was amended, rebased, never pushed) still finds it.
"""

from __future__ import annotations

from kibitz.anchoring.diff import diff_lines
from kibitz.client import Marker, MarkerReference, NewMarker
from kibitz.gitrepo import (
    Hunk,
    LineRange,
    ObjectReader,
    default_branch_head,
    head_commit,
    hunks_from_head,
    map_range_nearest,
    map_range_through_hunks,
)
from kibitz.locate._at_commit import locate_at_commit
from kibitz.locate._blocks import lines_text, split_lines
from kibitz.locate._model import PinnedMarker
from kibitz.locate._rebuild import context_of

# Below this the default branch's block is too unsure a match to lead a teammate to.
UPSTREAM_CONFIDENCE = 0.8


def pin(reader: ObjectReader, repo_id: str, path: str, selection: LineRange, working_text: str) -> NewMarker:
    """Return the marker for lines ``selection`` of ``path``, whose text on disk is ``working_text``."""
    return _pin(reader, repo_id, path, selection, working_text, buffer=False)


def pin_buffer(
    reader: ObjectReader, repo_id: str, path: str, selection: LineRange, buffer_text: str
) -> NewMarker:
    """Return the marker for lines ``selection`` of an editor's unsaved text ``buffer_text`` of ``path``.

    Like ``pin``, but the lines are mapped to HEAD through a diff of HEAD's text with the buffer, not
    with the file on disk (which the editor may not have saved).
    """
    return _pin(reader, repo_id, path, selection, buffer_text, buffer=True)


def hunks_between(old_text: str, new_text: str) -> list[Hunk]:
    """Return the hunks that turn ``old_text`` into ``new_text``, numbered as ``git diff -U0`` does."""
    hunks = []
    for hunk in diff_lines(split_lines(old_text), split_lines(new_text)).hunks:
        old_count = hunk.old_end - hunk.old_start
        new_count = hunk.new_end - hunk.new_start
        # A side with no lines is numbered by the line before the change, as in a unified diff.
        hunks.append(
            Hunk(
                old_start=hunk.old_start + 1 if old_count else hunk.old_start,
                old_count=old_count,
                new_start=hunk.new_start + 1 if new_count else hunk.new_start,
                new_count=new_count,
            )
        )
    return hunks


def _pin(
    reader: ObjectReader, repo_id: str, path: str, selection: LineRange, working_text: str, *, buffer: bool
) -> NewMarker:
    root = reader.root
    head = head_commit(root)
    head_text = reader.read_text(head, path)
    if head_text is None:
        # Untracked, or added but not committed: nothing at HEAD to point at but the place.
        marker = _provisional(repo_id, path, head, selection, working_text, selection)
    else:
        head_lines = split_lines(head_text)
        hunks = hunks_between(head_text, working_text) if buffer else hunks_from_head(root, path)
        exact = map_range_through_hunks(hunks, selection)
        if exact is not None:
            marker = _at_head(repo_id, path, head, exact, head_lines)
        else:
            nearest = map_range_nearest(hunks, selection, len(head_lines))
            marker = _provisional(repo_id, path, head, nearest, working_text, selection)
    upstream = _upstream_reference(reader, marker)
    if upstream is not None:
        marker["references"] = [upstream]
    return marker


def _at_head(repo_id: str, path: str, head: str, lines_at: LineRange, head_lines: list[str]) -> NewMarker:
    start, end = lines_at.start_line, lines_at.end_line
    before, after = context_of(head_lines, start, end)
    return {
        "repo_id": repo_id,
        "path": path,
        "commit": head,
        "start_line": start,
        "end_line": end,
        "code": lines_text(head_lines[start - 1 : end]),
        "context_before": before,
        "context_after": after,
    }


def _provisional(
    repo_id: str, path: str, head: str, guess: LineRange, working_text: str, selection: LineRange
) -> NewMarker:
    working_lines = split_lines(working_text)
    start, end = selection.start_line, selection.end_line
    before, after = context_of(working_lines, start, end)
    return {
        "repo_id": repo_id,
        "path": path,
        "commit": head,
        "start_line": guess.start_line,
        "end_line": guess.end_line,
        "code": lines_text(working_lines[start - 1 : end]),
        "context_before": before,
        "context_after": after,
        "provisional": True,
    }


def _upstream_reference(reader: ObjectReader, marker: NewMarker) -> MarkerReference | None:
    """Return where the block is at the default branch head, if that is elsewhere and sure enough."""
    upstream = default_branch_head(reader.root)
    if upstream is None or upstream == marker["commit"]:
        return None
    # Not created yet: locate a stand-in with the same fields.
    draft: Marker = {
        "id": "new",
        "references": [],
        **marker,
        "provisional": marker.get("provisional", False),
        "code_free": False,
    }
    placement = locate_at_commit(reader, [PinnedMarker("new", draft)], upstream)["new"].placement
    if placement.path is None or placement.start_line is None or placement.end_line is None:
        return None
    if placement.confidence < UPSTREAM_CONFIDENCE:
        return None
    return {
        "kind": "upstream",
        "commit": upstream,
        "path": placement.path,
        "start_line": placement.start_line,
        "end_line": placement.end_line,
    }
