"""The working tree's state as locating needs it (HEAD and the files changed on disk), and a cheap stamp
that tells when HEAD or the index moved without starting git.

Reading the state starts git three times; an editor relocates at every keystroke, so it keeps the state
and reads it again only when the stamp changes (a commit, a checkout, a ``git add``, a reset) or the state
is old. The stamp is the text of ``HEAD`` and of the branch it names, and the index's and packed refs'
file metadata: git rewrites one of them whenever HEAD or the index moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kibitz.gitrepo._changes import FileChange, disk_changes
from kibitz.gitrepo._repo import _git, _text

Stamp = tuple[object, ...]


@dataclass(frozen=True, slots=True)
class TreeStatus:
    """HEAD's commit (None before the first commit) and what differs from it on disk, untracked files
    included (unsaved buffers are not)."""

    head: str | None
    changes: tuple[FileChange, ...]


def tree_status(root: Path) -> TreeStatus:
    """Read HEAD and the changes on disk (runs git)."""
    found = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    head = _text(found).strip() if found.returncode == 0 else None
    return TreeStatus(head or None, tuple(disk_changes(root, head or None)))


@dataclass(frozen=True, slots=True)
class GitDirs:
    """Where a working tree keeps its HEAD and index (``git_dir``) and its branches (``common_dir``)."""

    git_dir: Path
    common_dir: Path


def git_dirs(root: Path) -> GitDirs:
    """Return the git directories of the working tree at ``root`` (runs git)."""
    lines = _text(_git(root, "rev-parse", "--absolute-git-dir", "--git-common-dir")).splitlines()
    git_dir = Path(lines[0])
    return GitDirs(git_dir, (root / lines[1]).resolve() if len(lines) > 1 else git_dir)


def state_stamp(dirs: GitDirs) -> Stamp | None:
    """Return what changes when HEAD, its branch or the index moves; None when that cannot be told."""
    if (dirs.common_dir / "reftable").exists():
        return None  # refs in a binary table: no file to compare
    head = _read(dirs.git_dir / "HEAD")
    if head is None:
        return None
    branch = None
    if head.startswith("ref: "):
        name = head[5:].strip()
        # Per-worktree refs (HEAD's own) live in the worktree's directory, branches in the common one.
        branch = _read(dirs.common_dir / name) or _read(dirs.git_dir / name)
    return (
        head,
        branch,
        _metadata(dirs.common_dir / "packed-refs"),
        _metadata(dirs.git_dir / "index"),
    )


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _metadata(path: Path) -> tuple[int, int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_ino, status.st_size, status.st_mtime_ns
