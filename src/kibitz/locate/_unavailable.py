"""Tell a block that is gone from one this clone cannot see.

"Not found" at a commit means deleted only when this clone could have found it. It could not when none
of the commits the block was recorded at is here (a branch not fetched, a shallow clone), when the block
was pinned in a file nobody committed (untracked or ignored on its author's machine), or when its file is
a symbolic link (git keeps the link's target, not the lines it shows). Such a block is ``unavailable``,
with the reason, and the team is never told it is deleted.
"""

from __future__ import annotations

from pathlib import Path

from kibitz.client import Marker
from kibitz.gitrepo import ObjectReader
from kibitz.locate._model import Placement, Reason
from kibitz.locate._references import references_of


def unavailable_reason(reader: ObjectReader, marker: Marker, commit: str) -> Reason | None:
    """Return why a marker's block not found at ``commit`` may only be unseen here, or None if it is gone."""
    references = references_of(marker)
    present = [reference for reference in references if reader.has_commit(reference.commit)]
    if not present:
        return "commit_missing"
    if reader.is_symlink(commit, marker["path"]) or any(
        reader.is_symlink(reference.commit, reference.path) for reference in present
    ):
        return "symlink"
    if marker["provisional"]:
        # Pinned on uncommitted lines and found in no commit here: still only on its author's disk.
        return "uncommitted"
    return None


def explain(reader: ObjectReader, marker: Marker, commit: str, placement: Placement) -> Placement:
    """Return the placement, made ``unavailable`` when a block reported deleted may only be unseen here."""
    if placement.status != "deleted":
        return placement
    reason = unavailable_reason(reader, marker, commit)
    if reason is None:
        return placement
    return Placement.unavailable(placement.marker_id, reason, placement.source)


def explain_on_disk(root: Path, marker: Marker, placement: Placement) -> Placement:
    """Return a working-tree placement, made ``unavailable`` when a deleted block's file is a symlink."""
    if placement.status != "deleted" or not (root / marker["path"]).is_symlink():
        return placement
    return Placement.unavailable(placement.marker_id, "symlink", placement.source)
