"""Where codemarks' blocks of code are now: client-side orchestration around ``kibitz.anchoring``.

``locate(reader, markers, target)`` answers for a commit or for the working tree (with unsaved
buffers). For a commit it asks the team's shared cache first, relocates the rest from the best
reference the local repository can read (following renames, one diff per file pair, the blob-id
fast path, other changed files as move candidates, a search by code when no reference is
readable), shares what it computed and promotes provisional markers. For the working tree it does
that at HEAD, then relocates only the blocks whose files differ from HEAD — never sharing those.
An editor that locates at every keystroke keeps the first step (``locate_at_head``) while HEAD
stays, and does only the second (``locate_from_head``) each time.

``rebuild_code`` reads a code-free team's marker's code (which the server does not keep) back
from git, from the commit it was recorded at.

``pin`` (``pin_buffer`` for an unsaved editor buffer) turns a selection in the working tree into a
new marker: a normal reference at HEAD when the lines are committed, a provisional one carrying the
code when they are not.

``why_moved`` names, for each block not ``unchanged`` at a commit, the commit that moved, changed,
deleted, shifted or renamed it (``Why``), found by walking the history in between within a time
bound, and shares it with the team; ``why_in_worktree`` carries HEAD's answer over to the working tree.
"""

from kibitz.locate._blocks import split_lines
from kibitz.locate._locate import locate, locate_at_head, locate_from_head, read_block
from kibitz.locate._model import (
    ALGORITHM,
    AtCommit,
    HeadPlaces,
    InWorkingTree,
    PinnedMarker,
    Placement,
    PlacementStatus,
    Reason,
    Target,
    Why,
    WhyAction,
    WhyReason,
)
from kibitz.locate._pin import hunks_between, pin, pin_buffer
from kibitz.locate._rebuild import code_missing, rebuild_code
from kibitz.locate._shared import SharedLocations
from kibitz.locate._why_moved import WHY_SECONDS, why_in_tree, why_in_worktree, why_moved

__all__ = [
    "ALGORITHM",
    "WHY_SECONDS",
    "AtCommit",
    "HeadPlaces",
    "InWorkingTree",
    "PinnedMarker",
    "Placement",
    "PlacementStatus",
    "Reason",
    "SharedLocations",
    "Target",
    "Why",
    "WhyAction",
    "WhyReason",
    "code_missing",
    "hunks_between",
    "locate",
    "locate_at_head",
    "locate_from_head",
    "pin",
    "pin_buffer",
    "read_block",
    "rebuild_code",
    "split_lines",
    "why_in_tree",
    "why_in_worktree",
    "why_moved",
]
