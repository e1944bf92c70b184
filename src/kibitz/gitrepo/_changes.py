"""Which files changed between two commits, or between a commit and the working tree.

Renames are detected by git (``-M``, similarity ≥ 50 %), so a codemark follows its file to the new
name. Every other file that was added, renamed or modified is a place a block may have moved to,
which the relocation engine is offered as a candidate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kibitz.gitrepo._repo import _git, _git_until

ChangeKind = Literal["added", "modified", "deleted", "renamed", "copied"]

_KIND_BY_LETTER: dict[str, ChangeKind] = {
    "A": "added",
    "M": "modified",
    "T": "modified",  # a type change (file ↔ symlink) is a new content at the same path
    "U": "modified",  # unmerged: the working tree holds something new at that path
    "D": "deleted",
    "R": "renamed",
    "C": "copied",
}


@dataclass(frozen=True, slots=True)
class FileChange:
    """One changed file: ``old_path`` (None if added) became ``new_path`` (None if deleted)."""

    kind: ChangeKind
    old_path: str | None
    new_path: str | None


def parse_name_status(raw: bytes) -> list[FileChange]:
    """Parse the output of ``git diff --name-status -z`` (renames and copies carry two paths)."""
    fields = raw.decode("utf-8", "surrogateescape").split("\0")
    changes: list[FileChange] = []
    index = 0
    while index < len(fields) and fields[index]:
        letter = fields[index][0]
        kind = _KIND_BY_LETTER.get(letter)
        if letter in "RC":
            old_path, new_path = fields[index + 1], fields[index + 2]
            index += 3
        else:
            old_path = new_path = fields[index + 1]
            index += 2
        if kind is None:
            continue  # "X" (unknown) and future letters carry no content we could follow
        changes.append(
            FileChange(
                kind=kind,
                old_path=None if kind == "added" else old_path,
                new_path=None if kind == "deleted" else new_path,
            )
        )
    return changes


def _name_status(root: Path, *revisions: str, deadline: float | None = None) -> list[FileChange]:
    args = ("diff", "--name-status", "-z", "-M", "--no-ext-diff", "--ignore-submodules", *revisions, "--")
    result = _git(root, *args) if deadline is None else _git_until(root, deadline, *args, check=True)
    return parse_name_status(result.stdout)


def changes_between(
    root: Path, old_commit: str, new_commit: str, *, deadline: float | None = None
) -> list[FileChange]:
    """Return the files that changed from ``old_commit`` to ``new_commit``, renames paired.

    With a ``deadline`` (``time.monotonic()``), git is stopped there and GitTimeout raised.
    """
    if old_commit == new_commit:
        return []
    return _name_status(root, old_commit, new_commit, deadline=deadline)


def untracked_files(root: Path) -> list[str]:
    """Return the repo paths of files that are neither tracked nor ignored."""
    return _nul_separated(_git(root, "ls-files", "--others", "--exclude-standard", "-z").stdout)


def _nul_separated(raw: bytes) -> list[str]:
    return [path for path in raw.decode("utf-8", "surrogateescape").split("\0") if path]


def working_tree_changes(
    root: Path, base_commit: str | None, buffers: Mapping[str, str] | None = None
) -> list[FileChange]:
    """Return what differs from ``base_commit`` in the working tree, untracked files and ``buffers``.

    ``buffers`` maps repo paths to unsaved editor texts; each counts as a change of its path.
    Without a base commit (a repository before its first commit) every file is new.
    """
    return with_buffers(root, disk_changes(root, base_commit), buffers)


def disk_changes(root: Path, base_commit: str | None) -> list[FileChange]:
    """Return what differs from ``base_commit`` in the files on disk, untracked files included."""
    if base_commit is None:
        listed = _git(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z").stdout
        return [FileChange("added", None, path) for path in _nul_separated(listed)]
    # "git diff COMMIT" compares the commit with the files on disk (staged or not).
    changes = _name_status(root, base_commit)
    changes.extend(FileChange("added", None, path) for path in untracked_files(root))
    return changes


def with_buffers(
    root: Path, on_disk: Sequence[FileChange], buffers: Mapping[str, str] | None
) -> list[FileChange]:
    """Return the changes on disk with each unsaved buffer counted as a change of its path."""
    changes = list(on_disk)
    touched = {change.new_path for change in changes if change.new_path is not None}
    for path in buffers or {}:
        if path in touched:
            continue
        deleted = [c for c in changes if c.kind == "deleted" and c.old_path == path]
        if deleted:
            # A buffer still showing a file deleted on disk: the file is there after all.
            changes.remove(deleted[0])
            changes.append(FileChange("modified", path, path))
        elif (root / path).is_file():
            # On disk, not untracked and not changed: a clean tracked file the buffer modifies.
            changes.append(FileChange("modified", path, path))
        else:
            changes.append(FileChange("added", None, path))
    return changes
