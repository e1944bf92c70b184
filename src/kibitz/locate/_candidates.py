"""Which other files a block may have moved to: the ones a diff added, renamed or modified."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from kibitz.gitrepo import FileChange

# The engine reads every candidate it is offered when a block left its place. Past this many files
# the diff is a large refactoring, and a search by the block's own lines (``git grep``) finds
# the few files worth reading more cheaply than reading them all.
MAX_CANDIDATES = 40
# Larger files are generated or data, not the code people discuss.
MAX_CANDIDATE_CHARS = 2_000_000

_KIND_RANK = {"added": 0, "renamed": 1, "copied": 2, "modified": 3}


def follow(changes: Iterable[FileChange], path: str) -> str | None:
    """Return the name ``path`` has after the changes (itself if untouched), or None if deleted."""
    for change in changes:
        if change.old_path == path and change.kind in ("renamed", "deleted"):
            return change.new_path
    return path


def candidate_paths(changes: Iterable[FileChange], near: str, exclude: str | None) -> tuple[list[str], bool]:
    """Return the changed files a block from ``near`` may have moved to, and whether some were left out.

    Files added come first (code moved out of a file goes to a new one more often than not),
    then renamed, copied and modified ones; within each, those in the same directory first.
    """
    directory = posixpath.dirname(near)
    ranked = sorted(
        {
            (_KIND_RANK[change.kind], posixpath.dirname(change.new_path) != directory, change.new_path)
            for change in changes
            if change.new_path is not None and change.new_path != exclude and change.kind in _KIND_RANK
        }
    )
    paths = [path for _, _, path in ranked]
    return paths[:MAX_CANDIDATES], len(paths) > MAX_CANDIDATES
