"""What locating takes and gives: markers, targets and placements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from kibitz.anchoring import ALGORITHM_VERSION, Status
from kibitz.client import Marker
from kibitz.gitrepo import CommitInfo, TreeStatus

# Bump when this package may place a marker differently for the same inputs (which references it
# reads, how statuses are judged): a cached location is shared per algorithm name, so the name
# covers the engine and the orchestration around it.
# 2: a block this clone cannot see is `unavailable` and never shared (clients before it shared such
# guesses as `deleted`, which this version no longer reads).
LOCATE_VERSION = 2
ALGORITHM = f"{ALGORITHM_VERSION}.{LOCATE_VERSION}"

Source = Literal["shared", "computed"]
# A block this clone cannot see is not a block that is gone: its own status, never shared with the team.
PlacementStatus = Status | Literal["unavailable"]
# Why a block is unavailable: none of its commits was fetched into this clone; it was pinned in a file
# nobody committed (untracked or ignored); its file is a symbolic link, whose lines git does not keep.
Reason = Literal["commit_missing", "uncommitted", "symlink"]


@dataclass(frozen=True, slots=True)
class PinnedMarker:
    """A marker together with the codemark it belongs to (needed to promote it)."""

    codemark_id: str
    marker: Marker


@dataclass(frozen=True, slots=True)
class AtCommit:
    """Locate at a commit: the result is the same for everybody and may be shared."""

    commit: str


@dataclass(frozen=True, slots=True)
class InWorkingTree:
    """Locate in the files on disk, with unsaved editor ``buffers`` (repo path → text) on top.

    ``status`` is HEAD and the changes on disk as read lately (an editor keeps it between keystrokes);
    None reads them now.
    """

    buffers: Mapping[str, str] = field(default_factory=dict)
    status: TreeStatus | None = None


Target = AtCommit | InWorkingTree


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a marker's block is in a target; ``path`` and lines are None unless it was found.

    ``status`` compares the block found with the one recorded: ``unchanged`` (same code, same
    place), ``shifted`` (same code, other lines or a renamed file), ``changed`` (edited in place),
    ``moved`` (found away from its place, maybe in another file) or ``deleted``. ``unavailable``
    says this clone cannot tell (``reason`` says why); ``too_large`` that the engine gave up on the
    file (too large, or its changes too tangled to follow in time) rather than guess. Neither is
    ever shared. ``source`` says whether the answer came from the team's shared cache or was
    computed here.
    """

    marker_id: str
    path: str | None
    start_line: int | None
    end_line: int | None
    status: PlacementStatus
    confidence: float
    source: Source = "computed"
    reason: Reason | None = None

    @staticmethod
    def deleted(marker_id: str, confidence: float, source: Source = "computed") -> Placement:
        """Return the placement of a block that is nowhere to be found."""
        return Placement(marker_id, None, None, None, "deleted", confidence, source)

    @staticmethod
    def too_large(marker_id: str) -> Placement:
        """Return the placement of a block the engine gave up on: no place rather than a guess."""
        return Placement(marker_id, None, None, None, "too_large", 0.0)

    @staticmethod
    def unavailable(marker_id: str, reason: Reason, source: Source = "computed") -> Placement:
        """Return the placement of a block this clone cannot see, for ``reason``."""
        return Placement(marker_id, None, None, None, "unavailable", 0.0, source, reason)


@dataclass(frozen=True, slots=True)
class HeadPlaces:
    """Where markers are at HEAD: what every relocation in the working tree starts from.

    It depends only on the commit and the markers (with their code read back from git for a code-free
    team), so a caller that locates again and again while HEAD stays (an editor, at each keystroke) keeps
    it. ``placements`` has every marker (``deleted`` when HEAD holds no block of it), ``by_path`` the
    markers placed in each file of HEAD, and ``unsure`` those whose block at HEAD is not their code (gone,
    edited, or a guess for a provisional marker): the ones looked for by their code in the files the user
    changed.
    """

    commit: str | None
    markers: tuple[PinnedMarker, ...]
    placements: Mapping[str, Placement]
    by_path: Mapping[str, tuple[PinnedMarker, ...]]
    unsure: tuple[PinnedMarker, ...]


# What the commit that made a block what it is did to it.
WhyAction = Literal["moved", "changed", "deleted", "shifted", "renamed"]
# Why no commit is named: the search ran out of time; the recorded commit is not in this clone, or not in
# the target's history (another branch, a rewritten one); no commit between them made the difference;
# the block is unavailable here; the difference is in files not committed yet (the working tree).
WhyReason = Literal[
    "time_limit", "commit_missing", "not_in_history", "not_found", "unavailable", "uncommitted"
]


@dataclass(frozen=True, slots=True)
class Why:
    """The commit that made a block what it is at a target (``commit``), or why none is named (``reason``).

    ``action`` is what that commit did: ``moved``, ``changed``, ``deleted``, ``shifted`` (lines added or
    removed above it) or ``renamed`` (its file); None for an ``unavailable`` block. ``source`` says
    whether the commit came from the team's shared cache or was searched for here.
    """

    action: WhyAction | None
    commit: CommitInfo | None
    reason: WhyReason | None = None
    source: Source = "computed"

    @staticmethod
    def missing(action: WhyAction | None, reason: WhyReason) -> Why:
        """Return the answer that names no commit, for ``reason``."""
        return Why(action, None, reason)
