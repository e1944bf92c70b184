"""Where the CLI shows codemarks: their markers located in the working tree or at a commit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kibitz.client import Codemark, KibitzClient, Marker
from kibitz.gitrepo import ObjectReader, RepoLink, resolve_commit
from kibitz.locate import (
    AtCommit,
    InWorkingTree,
    PinnedMarker,
    Placement,
    SharedLocations,
    Target,
    code_missing,
    locate,
    read_block,
    rebuild_code,
)


@dataclass(frozen=True, slots=True)
class Current:
    """Where a marker's block is now, and the code there (None when it is deleted)."""

    placement: Placement
    code: str | None


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
) -> dict[str, Current]:
    """Return, by marker id, where the markers of the linked repo are in ``target``."""
    pinned = [
        PinnedMarker(codemark["id"], marker)
        for codemark in codemarks
        for marker in codemark["markers"]
        if marker["repo_id"] == link.repo_id
    ]
    if not pinned:
        return {}
    with ObjectReader(root) as reader:
        placements = locate(reader, pinned, target, shared=SharedLocations(client, link.team_id))
        return {
            marker_id: Current(placement, read_block(reader, target, placement) if with_code else None)
            for marker_id, placement in placements.items()
        }


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
        "confidence": placement.confidence,
        # The commit the codemark was recorded at (scripts relied on it before locations existed).
        "commit": marker["commit"],
        "at": target.commit if isinstance(target, AtCommit) else None,
        "source": placement.source,
    }


def recorded_json(marker: Marker) -> dict[str, Any]:
    """Return where a marker was recorded, as ``--json`` prints it."""
    return {
        "path": marker["path"],
        "commit": marker["commit"],
        "start_line": marker["start_line"],
        "end_line": marker["end_line"],
        "provisional": marker["provisional"],
    }


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
