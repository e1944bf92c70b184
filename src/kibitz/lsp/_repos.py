"""The repositories and documents the language server knows, and locating codemarks in unsaved buffers.

The blocking parts (git, the team's shared locations) run in worker threads; they take snapshots of
the codemarks and the buffers, so the event loop alone changes what is kept here.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kibitz.client import Codemark, KibitzClient, KibitzError, Marker
from kibitz.gitrepo import (
    GitDirs,
    GitError,
    NotARepository,
    ObjectReader,
    RepoLink,
    Stamp,
    TreeStatus,
    find_root,
    git_dirs,
    read_link,
    state_stamp,
    tree_status,
)
from kibitz.locate import (
    HeadPlaces,
    InWorkingTree,
    PinnedMarker,
    Placement,
    SharedLocations,
    Why,
    locate_at_head,
    locate_from_head,
    why_in_tree,
    why_moved,
)
from kibitz.lsp._present import Placed
from kibitz.lsp._publication import KeptDiagnostics

logger = logging.getLogger(__name__)

# Past this many characters a buffer is not relocated at every keystroke: its codemarks are listed.
MAX_BUFFER_CHARS = 2_000_000
# After the server failed to answer, how long locating goes on without asking it (a server that does not
# answer at all would otherwise cost every keystroke the client's whole timeout).
QUIET_SECONDS = 5.0
# How long the working tree's state (HEAD, files changed on disk) is kept while HEAD and the index stay:
# a file changed on disk by another program, which neither moves, is noticed within this time.
STATUS_SECONDS = 2.0
# How long a hover may search the history for the commit that made a block what it is: the hover waits for
# it. A search that needs longer is said to have run out of time (and is tried again at a later hover).
HOVER_WHY_SECONDS = 1.0
# Answers that ran out of time may have done so only because the machine was busy: kept this long.
GAVE_UP_SECONDS = 30.0


class KeptLocations(SharedLocations):
    """The team's shared locations, asked once per commit and marker for the session.

    Without it every keystroke would ask the server again for HEAD's locations. A failure to reach the
    server is not a failure to locate: the block is then computed here (and not shared), and the server is
    left alone for a few seconds.
    """

    def __init__(self, client: KibitzClient, team_id: str) -> None:
        super().__init__(client, team_id)
        self._known: dict[tuple[str, str], Placement] = {}
        self._asked: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._quiet_until = 0.0

    def _quiet(self) -> bool:
        return time.monotonic() < self._quiet_until

    def _failed(self, what: str, error: KibitzError) -> None:
        logger.info("%s: %s", what, error)
        self._quiet_until = time.monotonic() + QUIET_SECONDS

    def fetch(self, commit: str, marker_ids: Sequence[str]) -> dict[str, Placement]:
        """Return the locations known at ``commit``, asking the server only about markers not asked yet."""
        with self._lock:
            unasked = [m for m in marker_ids if (commit, m) not in self._asked]
        if unasked and not self._quiet():
            try:
                fetched: dict[str, Placement] | None = super().fetch(commit, unasked)
            except KibitzError as error:
                self._failed("shared locations unavailable", error)
                fetched = None
            if fetched is not None:
                with self._lock:
                    self._asked.update((commit, m) for m in unasked)
                    self._known.update(((commit, key), value) for key, value in fetched.items())
        with self._lock:
            return {m: self._known[(commit, m)] for m in marker_ids if (commit, m) in self._known}

    def store(self, commit: str, placements: Iterable[Placement]) -> None:
        """Share computed locations, and keep them so that the next run computes nothing at that commit."""
        placements = list(placements)
        with self._lock:
            for placement in placements:
                self._known[(commit, placement.marker_id)] = placement
                self._asked.add((commit, placement.marker_id))
        if self._quiet():
            return
        try:
            super().store(commit, placements)
        except KibitzError as error:
            self._failed("could not share locations", error)

    def promote(self, pinned: PinnedMarker, commit: str, placement: Placement) -> None:
        """Promote a provisional marker, unless the server cannot be reached now (a later run will)."""
        if self._quiet():
            return
        try:
            super().promote(pinned, commit, placement)
        except KibitzError as error:
            self._failed("could not promote a marker", error)

    def forget(self, marker_ids: Iterable[str]) -> None:
        """Drop what is kept of markers that changed (references added, promoted)."""
        wanted = set(marker_ids)
        with self._lock:
            self._known = {key: value for key, value in self._known.items() if key[1] not in wanted}
            self._asked = {key for key in self._asked if key[1] not in wanted}


class KeptStatus:
    """The working tree's state, read with git again only when HEAD or the index moved, or it is old.

    Without it every keystroke would start git three times (HEAD, the changed files, the untracked
    ones). Whether HEAD or the index moved is told from their files (``state_stamp``), without git.
    """

    def __init__(self, root: Path, seconds: float = STATUS_SECONDS) -> None:
        self.root = root
        self.seconds = seconds
        self._dirs: GitDirs | None = None
        self._kept: tuple[Stamp, float, TreeStatus] | None = None

    def current(self) -> TreeStatus:
        """Return the state, read again when it may have changed (blocking: may run git)."""
        stamp = self._stamp()
        kept = self._kept
        now = time.monotonic()
        if kept is not None and stamp is not None and kept[0] == stamp and now - kept[1] < self.seconds:
            return kept[2]
        # Stamped before reading: a commit made meanwhile changes the stamp, and is read at the next call.
        status = tree_status(self.root)
        self._kept = (stamp, now, status) if stamp is not None else None
        return status

    def _stamp(self) -> Stamp | None:
        try:
            if self._dirs is None:
                self._dirs = git_dirs(self.root)
        except GitError as error:
            logger.info("git directories of %s unknown, the state is read every time: %s", self.root, error)
            return None
        return state_stamp(self._dirs)


class KeptHead:
    """The markers' places at HEAD, kept while HEAD and the repository's codemarks stay.

    Without it every keystroke would take every codemark of the repository through locating at HEAD
    again (look up HEAD's locations, check and copy them) to relocate the few in the edited buffer.
    """

    # Places the engine gave up on within its CPU budget (``too_large``) may have given up only because the
    # machine was busy at that moment: they are kept a while (``GAVE_UP_SECONDS``), then computed again.
    GAVE_UP_SECONDS = GAVE_UP_SECONDS

    def __init__(self) -> None:
        self._kept: tuple[str | None, int, HeadPlaces, float] | None = None

    def places(self, head: str | None, generation: int, compute: Callable[[], HeadPlaces]) -> HeadPlaces:
        """Return the places at ``head`` of the codemarks of ``generation``, computed when not kept."""
        kept = self._kept
        now = time.monotonic()
        if kept is not None and kept[0] == head and kept[1] == generation and now < kept[3]:
            return kept[2]
        places = compute()
        gave_up = any(p.status == "too_large" for p in places.placements.values())
        self._kept = (head, generation, places, now + self.GAVE_UP_SECONDS if gave_up else math.inf)
        return places


class KeptWhys:
    """The commit that made each block what it is at HEAD, kept per marker and recorded commit.

    Without it every hover on a moved block would walk the history again. What the block is in the buffer
    (edited there or not) is worked out at each hover from this answer; it costs no walk.
    """

    def __init__(self) -> None:
        self._head: str | None = None
        self._kept: dict[tuple[str, str], tuple[Why | None, float]] = {}

    def why(self, marker: Marker, head: str, compute: Callable[[], Why | None]) -> Why | None:
        """Return the marker's answer at ``head``, computed unless kept (one cut short is kept a while).

        Only the current HEAD's answers are kept: a new HEAD forgets the others.
        """
        if head != self._head:
            self._head, self._kept = head, {}
        key = (marker["id"], marker["commit"])
        kept = self._kept.get(key)
        now = time.monotonic()
        if kept is not None and now < kept[1]:
            return kept[0]
        why = compute()
        cut_short = why is not None and why.reason == "time_limit"
        self._kept[key] = (why, now + GAVE_UP_SECONDS if cut_short else math.inf)
        return why


@dataclass
class Repo:
    """A linked repository with open documents: its codemarks as last known (memory only).

    The codemarks change through ``put``, ``remove`` and ``replace``, which count a new ``generation``:
    what is kept about them (their places at HEAD) is then computed again.
    """

    root: Path
    link: RepoLink
    reader: ObjectReader
    shared: KeptLocations
    codemarks: dict[str, Codemark] = field(default_factory=dict)
    loaded: bool = False
    generation: int = 0
    status: KeptStatus = field(init=False)
    # Used by one worker at a time: locating takes the repository's lock.
    head: KeptHead = field(init=False, default_factory=KeptHead)
    whys: KeptWhys = field(init=False, default_factory=KeptWhys)
    _shown: tuple[int, tuple[Codemark, ...]] | None = field(init=False, default=None, repr=False)
    _blocks: tuple[int, tuple[Block, ...]] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.status = KeptStatus(self.root)

    def replace(self, codemarks: Iterable[Codemark]) -> None:
        """Take the repository's codemarks as the server has them now."""
        self.codemarks = {codemark["id"]: codemark for codemark in codemarks}
        self.generation += 1

    def put(self, codemark: Codemark) -> None:
        """Keep one codemark as the server has it now (new or changed)."""
        self.codemarks[codemark["id"]] = codemark
        self.generation += 1

    def remove(self, codemark_id: str) -> bool:
        """Forget a codemark; tell whether it was kept."""
        if self.codemarks.pop(codemark_id, None) is None:
            return False
        self.generation += 1
        return True

    def holds(self, codemark: Codemark) -> bool:
        """Tell whether a codemark has a block in this repository."""
        return codemark["team_id"] == self.link.team_id and any(
            marker["repo_id"] == self.link.repo_id for marker in codemark["markers"]
        )

    def shown(self) -> tuple[Codemark, ...]:
        """Return the codemarks an editor shows: all but archived ones, oldest first."""
        if self._shown is None or self._shown[0] != self.generation:
            kept = [c for c in self.codemarks.values() if c["status"] != "archived"]
            self._shown = (self.generation, tuple(sorted(kept, key=lambda c: (c["created_at"], c["id"]))))
        return self._shown[1]

    def blocks(self) -> tuple[Block, ...]:
        """Return the shown codemarks' blocks in this repository, in order (what ``placed_in`` looks at)."""
        if self._blocks is None or self._blocks[0] != self.generation:
            repo_id = self.link.repo_id
            found = [
                Block(codemark, marker, marker["id"], marker["path"])
                for codemark in self.shown()
                for marker in codemark["markers"]
                if marker["repo_id"] == repo_id
            ]
            self._blocks = (self.generation, tuple(found))
        return self._blocks[1]


@dataclass
class Document:
    """An open document: where it is, the repository it belongs to, and its codemarks as placed last."""

    uri: str
    file: Path | None
    root: Path | None = None
    rel: str | None = None
    repo: Repo | None = None
    # Why the document shows no codemarks (outside git, not linked, binary…), None when it does.
    problem: str | None = None
    placed: list[Placed] = field(default_factory=list)
    # The blocks as the client was last told its threads changed (``kibitz/threadsChanged``).
    told: Sequence[Placed] = ()
    # The parts of its diagnostics kept between publications (made with the protocol's converter).
    diagnostics: KeptDiagnostics | None = field(default=None, repr=False)
    # The last text split into lines: pygls splits the whole text again at every read of ``lines``,
    # which for every codemark of a publication costs more than locating them.
    _split: tuple[str, list[str]] | None = field(default=None, repr=False)

    def lines_of(self, text: str) -> list[str]:
        """Return ``text`` split into lines (ends kept), split once per text of the document."""
        split = self._split
        if split is None or split[0] is not text:
            split = (text, text.splitlines(keepends=True))
            self._split = split
        return split[1]


@dataclass(frozen=True, slots=True)
class Block:
    """A codemark's block in the repository: the codemark, its marker, and the marker's id and path."""

    codemark: Codemark
    marker: Marker
    marker_id: str
    path: str


@dataclass(frozen=True, slots=True)
class Where:
    """Where a file is: its repository's root and link, and its path in it (None outside git)."""

    root: Path | None
    link: RepoLink | None
    rel: str | None


def where_is(file: Path) -> Where:
    """Return the repository around a file, its link and the file's repo path (blocking: runs git)."""
    directory = file.parent
    if not directory.is_dir():
        return Where(None, None, None)
    try:
        root = find_root(directory)
        link = read_link(root)
    except NotARepository:
        return Where(None, None, None)
    except GitError as error:
        logger.info("git failed for %s: %s", file, error)
        return Where(None, None, None)
    try:
        rel = file.resolve().relative_to(root.resolve()).as_posix()
    except (OSError, ValueError):
        return Where(root, link, None)
    return Where(root, link, rel)


def locate_buffers(
    repo: Repo, codemarks: Sequence[Codemark], generation: int, buffers: Mapping[str, str]
) -> dict[str, Placement]:
    """Return where the codemarks' blocks are, by marker id, with the unsaved ``buffers`` on top of the tree.

    ``codemarks`` are the repository's shown codemarks of ``generation``: their places at HEAD are kept
    while HEAD and the generation stay, and only the blocks in files that differ from HEAD (the buffers
    among them) are relocated. Blocking: runs git and may ask the server for HEAD's shared locations (once
    per commit and marker).
    """
    status = repo.status.current()
    head = head_places(repo, codemarks, generation, status)
    if not head.markers:
        return {}
    return locate_from_head(repo.reader, head, InWorkingTree(dict(buffers), status))


def head_places(repo: Repo, codemarks: Sequence[Codemark], generation: int, status: TreeStatus) -> HeadPlaces:
    """Return the places at HEAD of the shown codemarks of ``generation`` (kept while both stay)."""

    def at_head() -> HeadPlaces:
        return locate_at_head(repo.reader, pinned_markers(repo, codemarks), status.head, shared=repo.shared)

    return repo.head.places(status.head, generation, at_head)


def why_in_buffers(
    repo: Repo,
    codemarks: Sequence[Codemark],
    generation: int,
    marker: Marker,
    placement: Placement,
    buffers: Mapping[str, str],
) -> Why | None:
    """Return the commit that made a block what it is where ``placement`` found it among the ``buffers``.

    The commit is searched for at HEAD (for at most ``HOVER_WHY_SECONDS``, kept per marker and HEAD, shared
    with the team); a block the unsaved or uncommitted edits moved or changed has none (``uncommitted``).
    Blocking: runs git and may ask the server.
    """
    if placement.status == "unchanged":
        return None
    status = repo.status.current()
    head = head_places(repo, codemarks, generation, status)
    before = head.placements.get(marker["id"])
    if head.commit is None or before is None:
        return None
    commit = head.commit
    pinned = [p for p in head.markers if p.marker["id"] == marker["id"]]

    def search() -> Why | None:
        found = why_moved(
            repo.reader, pinned, commit, {marker["id"]: before}, seconds=HOVER_WHY_SECONDS, shared=repo.shared
        )
        return found.get(marker["id"])

    at_head = repo.whys.why(marker, commit, search)
    return why_in_tree(repo.reader, commit, before, InWorkingTree(dict(buffers), status), placement, at_head)


def pinned_markers(repo: Repo, codemarks: Sequence[Codemark]) -> list[PinnedMarker]:
    """Return the codemarks' markers in this repository."""
    return [
        PinnedMarker(codemark["id"], marker)
        for codemark in codemarks
        for marker in codemark["markers"]
        if marker["repo_id"] == repo.link.repo_id
    ]


def placed_in(rel: str, blocks: Sequence[Block], placements: Mapping[str, Placement]) -> list[Placed]:
    """Return the blocks of a document: those located in it, and those recorded in it but not placed.

    ``blocks`` are every block of the repository (``Repo.blocks``): at each keystroke all of them are
    looked at, so each holds what is looked at without going through the codemark.
    """
    placed = []
    where = placements.get
    for block in blocks:
        placement = where(block.marker_id)
        if placement is not None and placement.path == rel and placement.start_line is not None:
            placed.append(Placed(block.codemark, block.marker, placement))
        elif block.path == rel and (placement is None or placement.path is None):
            # Deleted, or not visible in this clone: listed, not shown in the text.
            placed.append(Placed(block.codemark, block.marker, placement))
    return placed


def listed_only(rel: str, codemarks: Sequence[Codemark], repo_id: str, reason: str) -> list[Placed]:
    """Return the blocks recorded in a document that is not followed (too large): listed, not placed."""
    return [
        Placed(codemark, marker, None, note_reason=reason)
        for codemark in codemarks
        for marker in codemark["markers"]
        if marker["repo_id"] == repo_id and marker["path"] == rel
    ]
