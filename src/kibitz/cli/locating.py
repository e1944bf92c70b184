"""Where the CLI shows codemarks: their markers located in the working tree or at a commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kibitz.client import Codemark, KibitzClient, Marker
from kibitz.gitrepo import ObjectReader, RepoLink, resolve_commit, tree_status
from kibitz.locate import (
    AtCommit,
    InWorkingTree,
    PinnedMarker,
    Placement,
    SharedLocations,
    Target,
    Why,
    code_missing,
    locate,
    locate_at_head,
    locate_from_head,
    read_block,
    rebuild_code,
    why_in_tree,
    why_moved,
)


@dataclass(frozen=True, slots=True)
class Current:
    """Where a marker's block is now, and the code there (None when it is deleted).

    ``promoted`` is the marker as the server has it after this run promoted it (its code is committed
    now): what is shown from then on, not the provisional marker the run started with. ``why`` is the
    commit that made the block what it is (None when it is unchanged, or when nobody asked).
    """

    placement: Placement
    code: str | None
    promoted: Marker | None = None
    why: Why | None = None


def target_for(root: Path, revision: str | None) -> Target:
    """Return the commit ``revision`` names, or the working tree when there is none."""
    return AtCommit(resolve_commit(root, revision)) if revision else InWorkingTree()


def locate_markers(
    client: KibitzClient,
    root: Path,
    link: RepoLink,
    codemarks: Iterable[Codemark],
    target: Target,
    *,
    with_code: bool = False,
    why_seconds: float | None = None,
) -> dict[str, Current]:
    """Return, by marker id, where the markers of the linked repo are in ``target``.

    With ``why_seconds``, also the commit that made each block what it is, searched for that long at most.
    """
    pinned = [
        PinnedMarker(codemark["id"], marker)
        for codemark in codemarks
        for marker in codemark["markers"]
        if marker["repo_id"] == link.repo_id
    ]
    if not pinned:
        return {}
    shared = SharedLocations(client, link.team_id)
    with ObjectReader(root) as reader:
        whys: dict[str, Why | None] = {}
        if why_seconds is None:
            placements = locate(reader, pinned, target, shared=shared)
        else:
            placements, whys = _located_with_why(reader, pinned, target, shared, why_seconds)
        return {
            marker_id: Current(
                placement,
                read_block(reader, target, placement) if with_code else None,
                shared.promoted.get(marker_id),
                whys.get(marker_id),
            )
            for marker_id, placement in placements.items()
        }


def _located_with_why(
    reader: ObjectReader, pinned: list[PinnedMarker], target: Target, shared: SharedLocations, seconds: float
) -> tuple[dict[str, Placement], dict[str, Why | None]]:
    """Return where the markers are in ``target`` and the commit that made each block what it is there.

    In the working tree the commit is searched for at HEAD, whose placements ``locate`` computes anyway.
    """
    if isinstance(target, AtCommit):
        placements = locate(reader, pinned, target, shared=shared)
        return placements, why_moved(
            reader, pinned, target.commit, placements, seconds=seconds, shared=shared
        )
    status = target.status or tree_status(reader.root)
    head = locate_at_head(reader, pinned, status.head, shared=shared)
    placements = locate_from_head(reader, head, InWorkingTree(target.buffers, status))
    if head.commit is None:
        return placements, {}
    at_head = why_moved(reader, pinned, head.commit, head.placements, seconds=seconds, shared=shared)
    tree = InWorkingTree(target.buffers, status)
    whys: dict[str, Why | None] = {}
    for marker_id, placement in placements.items():
        before = head.placements.get(marker_id)
        if before is not None:
            whys[marker_id] = why_in_tree(
                reader, head.commit, before, tree, placement, at_head.get(marker_id)
            )
    return placements, whys


def with_promoted(codemark: Codemark, located: Mapping[str, Current]) -> Codemark:
    """Return the codemark with the markers this run promoted as the server has them now."""
    markers = [
        promoted if (promoted := _promoted(located, marker["id"])) is not None else marker
        for marker in codemark["markers"]
    ]
    return {**codemark, "markers": markers}


def _promoted(located: Mapping[str, Current], marker_id: str) -> Marker | None:
    current = located.get(marker_id)
    return None if current is None else current.promoted


def promotion_note(codemark_id: str, marker: Marker) -> str:
    """Return the line that tells a provisional block was promoted: its code is committed, here."""
    return (
        f"{codemark_id}: its code is committed now; recorded at "
        f"{marker['path']}:{marker['start_line']}-{marker['end_line']} at commit {marker['commit'][:12]}"
    )


def with_code(root: Path, link: RepoLink, codemark: Codemark) -> Codemark:
    """Return the codemark with its code-free markers' code (of the linked repo) read from this clone."""
    if not any(code_missing(m) and m["repo_id"] == link.repo_id for m in codemark["markers"]):
        return codemark
    with ObjectReader(root) as reader:
        markers = [
            rebuild_code(reader, marker) if marker["repo_id"] == link.repo_id else marker
            for marker in codemark["markers"]
        ]
    return {**codemark, "markers": markers}


def location_json(marker: Marker, placement: Placement, target: Target) -> dict[str, Any]:
    """Return a marker's location as ``--json`` prints it."""
    return {
        "path": placement.path,
        "start_line": placement.start_line,
        "end_line": placement.end_line,
        "status": placement.status,
        # Why an `unavailable` block cannot be seen in this clone (None for every other status).
        "reason": placement.reason,
        "confidence": placement.confidence,
        # The commit the codemark was recorded at (scripts relied on it before locations existed).
        "commit": marker["commit"],
        "at": target.commit if isinstance(target, AtCommit) else None,
        "source": placement.source,
    }


def why_json(why: Why | None) -> dict[str, Any] | None:
    """Return the commit that made a block what it is, as ``--json`` prints it (None when unchanged)."""
    if why is None:
        return None
    info = why.commit
    return {
        "action": why.action,
        "commit": info.commit if info else None,
        "author": info.author if info else None,
        "date": info.date.isoformat() if info else None,
        "subject": info.subject if info else None,
        "merge": info.is_merge if info else None,
        # Why no commit is named (None when one is).
        "reason": why.reason,
        "source": why.source,
    }


# What `why_note` says when the search ran out of time: how to give it more.
MORE_WHY_TIME = "--why-seconds gives more time"


def recorded_json(marker: Marker) -> dict[str, Any]:
    """Return where a marker was recorded, as ``--json`` prints it."""
    return {
        "path": marker["path"],
        "commit": marker["commit"],
        "start_line": marker["start_line"],
        "end_line": marker["end_line"],
        "provisional": marker["provisional"],
    }


def path_scope(root: Path, relative: str) -> tuple[str | None, str]:
    """Return (exact file, directory prefix) for a repo path as `ls PATH` filters by it ("" is everything)."""
    if relative and not (root / relative).is_dir():
        return relative, ""
    return None, f"{relative}/" if relative else ""


def shown_under(
    client: KibitzClient, root: Path, link: RepoLink, codemarks: list[Codemark], relative: str
) -> list[Codemark]:
    """Return the codemarks with a block under a file or directory where the code is now (working tree)."""
    exact_path, prefix = path_scope(root, relative)
    located = locate_markers(client, root, link, codemarks, InWorkingTree())
    return [c for c in codemarks if first_shown_marker(c, located, exact_path, prefix) is not None]


def first_shown_marker(
    codemark: Codemark, located: Mapping[str, Current], exact_path: str | None, prefix: str
) -> Marker | None:
    """Return the first located marker of a codemark under the path filter (by where it is now)."""
    for marker in codemark["markers"]:
        current = located.get(marker["id"])
        if current is None:
            continue
        # A deleted block is listed under the file it was recorded in.
        path = current.placement.path or marker["path"]
        if path == exact_path if exact_path is not None else path.startswith(prefix):
            return marker
    return None


# What an `unavailable` block's reason means, and what to do about it.
_UNAVAILABLE = {
    "commit_missing": (
        "commit {commit} not in this clone — fetch",
        "Its commit {commit} is not in this clone: `git fetch` the branch that has it (or, in a shallow "
        "clone, `git fetch --unshallow`), then look again.",
    ),
    "uncommitted": (
        "not committed yet — only on its author's disk",
        "It was pinned on lines nobody has committed (an untracked or ignored file): it shows once its "
        "author commits and pushes them.",
    ),
    "symlink": (
        "its file is a symbolic link — git keeps no lines there",
        "Its file is a symbolic link: git keeps only where the link points, so there are no lines to "
        "follow. Pin the file the link points to instead.",
    ),
}


# What a `too_large` block means (the engine gave up on its file rather than guess), and what to do.
TOO_LARGE_NOTE = "too large to follow — shown where it was recorded"
TOO_LARGE_ADVICE = (
    "Kibitz gave up on this file rather than guess: it is too large, or changed too much, to follow "
    "within a second. `git log -L {start},{end}:{path}` follows the recorded lines by hand."
)


def unavailable_note(reason: str | None, commit: str) -> str:
    """Return the short note ``ls`` prints for a block this clone cannot see."""
    return _UNAVAILABLE.get(reason or "", ("not available in this clone", ""))[0].format(commit=commit[:12])


def unavailable_advice(reason: str | None, commit: str) -> str:
    """Return what to do about a block this clone cannot see, as a sentence."""
    return _UNAVAILABLE.get(reason or "", ("", ""))[1].format(commit=commit[:12])
