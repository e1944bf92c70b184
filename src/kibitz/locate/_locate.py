"""Locate markers in a target: the team's cache first, then the local repository."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kibitz.gitrepo import FileChange, ObjectReader, WorkingTree, tree_status, with_buffers
from kibitz.locate._at_commit import Located, locate_at_commit
from kibitz.locate._blocks import block_of, split_lines
from kibitz.locate._in_worktree import locate_in_worktree, places_at_head
from kibitz.locate._model import AtCommit, HeadPlaces, InWorkingTree, PinnedMarker, Placement, Target
from kibitz.locate._rebuild import code_missing, rebuild_code
from kibitz.locate._shared import SharedLocations
from kibitz.locate._unavailable import explain, explain_on_disk


def locate(
    reader: ObjectReader,
    markers: Sequence[PinnedMarker],
    target: Target,
    *,
    shared: SharedLocations | None = None,
) -> dict[str, Placement]:
    """Return where each marker's block is in ``target``, by marker id.

    At a commit, locations the team already shares are taken as they are; the rest are computed,
    shared, and provisional markers whose code the commit holds are promoted. In the working tree
    the same is done at HEAD first, and only blocks in files that differ from HEAD are relocated
    again; those results stay on this machine.

    A code-free team's markers come without code: it is read from the local repository first
    (``rebuild_code``). One whose code no local commit holds is located like a marker recorded at
    an unknown commit, and what is computed for it is not shared (a teammate may know better).
    """
    if isinstance(target, AtCommit):
        markers = [_with_code(reader, pinned) for pinned in markers]
        return _at_commit(reader, markers, target.commit, shared)
    status = target.status or tree_status(reader.root)
    head = locate_at_head(reader, markers, status.head, shared=shared)
    return locate_from_head(reader, head, InWorkingTree(target.buffers, status))


def locate_at_head(
    reader: ObjectReader,
    markers: Sequence[PinnedMarker],
    head: str | None,
    *,
    shared: SharedLocations | None = None,
) -> HeadPlaces:
    """Return where each marker is at ``head`` (None: a repository without commits), as ``locate`` finds it.

    What the working tree is located from: keep it while HEAD and the markers stay, and pass it to
    ``locate_from_head`` at each change of the working tree or the buffers.
    """
    markers = [_with_code(reader, pinned) for pinned in markers]
    at_head = _at_commit(reader, markers, head, shared) if head else {}
    return places_at_head(reader, head, markers, at_head)


def locate_from_head(reader: ObjectReader, head: HeadPlaces, target: InWorkingTree) -> dict[str, Placement]:
    """Return where each marker of ``head`` is in the working tree with its unsaved buffers, by marker id.

    ``head`` must be of the working tree's HEAD (``target.status.head``, read now when None): only the
    blocks in files that differ from it are relocated again.
    """
    root = reader.root
    status = target.status or tree_status(root)
    buffers = _edited_buffers(reader, head.commit, status.changes, target.buffers)
    changes = with_buffers(root, status.changes, buffers)
    tree = WorkingTree(root, buffers)
    placed = locate_in_worktree(reader, tree, head, changes)
    deleted = [key for key, placement in placed.items() if placement.status == "deleted"]
    if deleted:
        by_id = {pinned.marker["id"]: pinned.marker for pinned in head.markers}
        # A file replaced on disk by a link (not committed yet) holds no lines git would follow either.
        for key in deleted:
            placed[key] = explain_on_disk(root, by_id[key], placed[key])
    return placed


def _edited_buffers(
    reader: ObjectReader, head: str | None, on_disk: Sequence[FileChange], buffers: Mapping[str, str]
) -> dict[str, str]:
    """Return the buffers that make a difference: those of files changed on disk, or unlike HEAD's text.

    A buffer opened on a file that neither the user nor the disk changed is HEAD's file: its blocks are
    where they are at HEAD, and relocating them at every keystroke in another file would be wasted.
    """
    changed = {path for change in on_disk for path in (change.old_path, change.new_path) if path is not None}
    return {
        path: text
        for path, text in buffers.items()
        if path in changed or head is None or reader.read_text(head, path) != text
    }


def _at_commit(
    reader: ObjectReader, markers: Sequence[PinnedMarker], commit: str, shared: SharedLocations | None
) -> dict[str, Placement]:
    """Return the placements at a commit: shared ones, and the rest computed (and then shared).

    A block reported deleted that this clone may only be unable to see is ``unavailable`` instead, and
    is not shared: a teammate whose clone can see it knows better.
    """
    by_id = {pinned.marker["id"]: pinned.marker for pinned in markers}
    known = shared.fetch(commit, list(by_id)) if shared else {}
    missing = [pinned for pinned in markers if pinned.marker["id"] not in known]
    computed = locate_at_commit(reader, missing, commit) if missing else {}
    placements = {
        marker_id: explain(reader, by_id[marker_id], commit, placement)
        for marker_id, placement in [
            *known.items(),
            *((marker_id, located.placement) for marker_id, located in computed.items()),
        ]
    }
    if shared is not None and computed:
        blind = {pinned.marker["id"] for pinned in missing if code_missing(pinned.marker)}
        shared.store(commit, [placements[key] for key in computed if key not in blind])
        for pinned in missing:
            located = computed[pinned.marker["id"]]
            # A code-free marker's code was read from another commit, maybe another version: no promotion.
            if (
                pinned.marker["provisional"]
                and not pinned.marker.get("code_free")
                and _holds_code(located, pinned.marker["code"])
            ):
                shared.promote(pinned, commit, located.placement)
    return placements


def _with_code(reader: ObjectReader, pinned: PinnedMarker) -> PinnedMarker:
    """Return the pinned marker with its code read from git when the server kept none."""
    marker = rebuild_code(reader, pinned.marker)
    return pinned if marker is pinned.marker else PinnedMarker(pinned.codemark_id, marker)


def _holds_code(located: Located, code: str) -> bool:
    """Tell whether a placement holds exactly the given code (line endings aside)."""
    return located.code is not None and split_lines(located.code) == split_lines(code)


def read_block(reader: ObjectReader, target: Target, placement: Placement) -> str | None:
    """Return the code at a placement in the target (None when the block is deleted)."""
    if placement.path is None or placement.start_line is None or placement.end_line is None:
        return None
    if isinstance(target, AtCommit):
        text = reader.read_text(target.commit, placement.path)
    else:
        text = WorkingTree(reader.root, target.buffers).read_text(placement.path)
    return None if text is None else block_of(text, placement.start_line, placement.end_line)
