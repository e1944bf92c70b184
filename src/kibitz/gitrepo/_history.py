"""The first-parent line of a commit, as far as some files are concerned, and who made each commit.

Finding the commit that changed a block of code starts with the commits that changed its file. ``git log
--first-parent`` over those files lists them, newest first, each with its changes to the files (renames paired
among them). From one recorded commit, ``--ancestry-path RECORDED..TARGET`` lists only the commits after it,
and git skips the others by the commit-graph's changed-path filters when there are some. From many,
``--sparse`` lists every commit of the line (the others with no changes), so that each recorded commit is
recognised where it is, and the walk stops as soon as every one of them is seen: that output is read as it
comes (``git log`` without a negative revision prints from the first commit on). Either is stopped at a
deadline, so a long history costs at most the time it is given. ``HistoryParser`` turns the output into
``ChainCommit``s; it does no I/O.

Walking a line costs git about 5–10 µs a commit without a commit-graph file and a tenth of that with one
(``git commit-graph write --reachable --changed-paths``, or ``git maintenance``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kibitz.gitrepo._changes import FileChange, changes_between, parse_name_status
from kibitz.gitrepo._repo import GitError, _git_until, git_command, git_environment

# One line per commit: "<id> <parent ids> <committer time>" (``%P`` is empty for a root commit).
_FORMAT = "--format=%x00%H %P %ct"
_COMMIT_ID = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")
_CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class ChainCommit:
    """One commit of a first-parent line: its id, its parents, when it was committed (Unix seconds), and
    its changes (against its first parent) to the files the walk asked about."""

    commit: str
    parents: tuple[str, ...]
    committed: int
    changes: tuple[FileChange, ...]


@dataclass(frozen=True, slots=True)
class Walk:
    """The commits a walk kept, newest first, and why it stopped.

    Kept are the first commit (the walk's start), the commits that changed one of the files, and those of
    ``stop_at``: the others changed nothing that was asked about. ``seen`` are the commits of ``stop_at``
    met on the line.
    ``complete`` is true when the walk reached its end: every ``stop_at`` seen, a commit older than
    ``not_before``, or the first commit. ``timed_out`` is true when the deadline stopped it first.
    """

    commits: tuple[ChainCommit, ...]
    seen: frozenset[str]
    complete: bool
    timed_out: bool


@dataclass(frozen=True, slots=True)
class CommitInfo:
    """Who made a commit, when (the author's date, with the author's offset), its subject line, its parents
    and when it was committed (Unix seconds)."""

    commit: str
    author: str
    email: str
    date: dt.datetime
    subject: str
    parents: tuple[str, ...]
    committed: int

    @property
    def is_merge(self) -> bool:
        """Tell whether the commit merges branches (it has more than one parent)."""
        return len(self.parents) > 1


class HistoryParser:
    """Parse the output of the history walk's ``git log``, fed in pieces as it arrives. Pure.

    Each commit is ``\\0<id> <parents> <time>\\0`` followed by its changes (``\\n<status>\\0<path>\\0…``,
    none for most commits), so two NULs in a row always separate two commits: one split finds them all.
    Only the commits that changed a file, the first one (the walk's start) and those in ``keep`` are
    returned; the others cost a look for a NUL, since a walk of 10,000 commits is mostly those.
    """

    def __init__(self, keep: Collection[str] = ()) -> None:
        self._rest = b""
        self._first = True
        self._keep = {commit.encode() for commit in keep}
        self.read = 0
        self.last_committed: int | None = None

    def feed(self, data: bytes) -> list[ChainCommit]:
        """Take more output; return the commits it completed that are kept, newest first."""
        records = (self._rest + data).split(b"\0\0")
        # The last record may still grow (and a commit's changes may still come after its header).
        self._rest = records.pop()
        return self._parse(records)

    def finish(self) -> list[ChainCommit]:
        """Return the commits left once the output ended."""
        record, self._rest = self._rest.rstrip(b"\0"), b""
        return self._parse([record] if record else [])

    def _parse(self, records: list[bytes]) -> list[ChainCommit]:
        if not records:
            return []
        if self._first:
            records[0] = records[0].lstrip(b"\0")
        # Commits asked for by id are looked for in the whole piece at once, not record by record.
        joined = b"\0\0".join(records) if self._keep else b""
        wanted = {commit for commit in self._keep if joined.find(commit + b" ") >= 0}
        kept: list[ChainCommit] = []
        for record in records:
            if self._first or b"\0" in record or (wanted and record.split(b" ", 1)[0] in wanted):
                self._first = False
                commit = _record(record)
                if commit is not None:
                    kept.append(commit)
        self.read += len(records)
        self.last_committed = _committed(records[-1])
        return kept


def _record(record: bytes) -> ChainCommit | None:
    """Return the commit one record of the walk's output describes (None for what is no commit)."""
    header, _, changes = record.partition(b"\0")
    fields = header.split(b" ")
    if len(fields) < 2 or not _COMMIT_ID.fullmatch(fields[0]):
        return None
    parents = tuple(parent.decode() for parent in fields[1:-1] if parent)
    found = tuple(parse_name_status(changes.lstrip(b"\n") + b"\0")) if changes else ()
    return ChainCommit(fields[0].decode(), parents, int(fields[-1]), found)


def _committed(record: bytes) -> int | None:
    """Return the committer time in a record's header."""
    last = record.partition(b"\0")[0].rpartition(b" ")[2]
    return int(last) if last.lstrip(b"-").isdigit() else None


def first_parent_walk(
    root: Path,
    target: str,
    paths: Sequence[str],
    *,
    stop_at: Collection[str] = (),
    not_before: int | None = None,
    since: str | None = None,
    ancestry: bool = False,
    deadline: float,
) -> Walk:
    """Return ``target``'s first-parent line, newest first, with each commit's changes to ``paths``.

    Of the commits that changed none of ``paths``, only ``target`` and those of ``stop_at`` are kept.

    The walk stops once every commit of ``stop_at`` is seen, at the first commit committed before
    ``not_before`` (Unix seconds), at the first commit, or at ``deadline`` (``time.monotonic()``).
    A merge's changes are those against its first parent; renames are paired among ``paths``.

    With ``since``, only the commits that are not ``since`` or one of its ancestors are walked, and only
    those that changed one of ``paths`` are listed (the target too only then). git reads the whole range
    before it prints anything, but skips the commits that left ``paths`` alone by their commit-graph's
    changed-path filters when the repository has them. ``ancestry`` keeps only the descendants of
    ``since``: nothing when ``since`` is not on the target's first-parent line.
    """
    wanted = set(stop_at)
    if since is None:
        # Every commit of the line, so that the commits of `stop_at` are recognised wherever they are.
        options, revisions = ["--sparse"], [target]
    else:
        options, revisions = (["--ancestry-path"] if ancestry else []), [target, f"^{since}"]
    args = ["log", "--first-parent", "-m", "-M", "--name-status", "-z", "--no-ext-diff", "--no-textconv"]
    args += ["--no-color", _FORMAT, *options, "--end-of-options", *revisions, "--", *paths]
    commits: list[ChainCommit] = []
    seen: set[str] = set()
    ended = False
    parser = HistoryParser(keep=wanted)

    def take(found: list[ChainCommit]) -> bool:
        """Keep commits; tell whether the walk has gone far enough."""
        commits.extend(found)
        seen.update(commit.commit for commit in found if commit.commit in wanted)
        if wanted and seen == wanted:
            return True
        # Checked once a piece: the few commits read past the limit are older than any asked about.
        last = parser.last_committed
        return not_before is not None and last is not None and last < not_before

    with _Streamed(root, args, deadline) as stream:
        for chunk in stream.chunks():
            if take(parser.feed(chunk)):
                ended = True
                break
        else:
            stream.check()
            # A walk the deadline stopped may have cut its last commit short: that one is left out.
            if not stream.timed_out:
                take(parser.finish())
                ended = True
        timed_out = stream.timed_out and not ended
    return Walk(tuple(commits), frozenset(seen), ended, timed_out)


class _Streamed:
    """A git command whose output is read as it comes, stopped at a deadline or when the reader is done."""

    def __init__(self, root: Path, args: Sequence[str], deadline: float) -> None:
        self._root = root
        self._args = list(args)
        self._deadline = deadline
        self.timed_out = False
        self._process: subprocess.Popen[bytes] | None = None
        self._timer: threading.Timer | None = None

    def __enter__(self) -> _Streamed:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            self.timed_out = True
            return self
        try:
            self._process = subprocess.Popen(
                git_command(*self._args),
                cwd=self._root,
                # Written in full buffers, not flushed after each commit: far fewer, larger reads.
                env={**git_environment(), "GIT_FLUSH": "0"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except FileNotFoundError as exc:
            raise GitError("git is not installed (or not on PATH)") from exc
        self._timer = threading.Timer(remaining, self._expire)
        self._timer.daemon = True
        self._timer.start()
        return self

    def _expire(self) -> None:
        self.timed_out = True
        if self._process is not None:
            self._process.kill()

    def chunks(self) -> Iterator[bytes]:
        """Yield the output as it arrives, until it ends or the deadline stops the command."""
        if self._process is None or self._process.stdout is None:
            return
        # Unbuffered reads return what the pipe holds, so each piece is parsed as soon as git writes it.
        fd = self._process.stdout.fileno()
        while chunk := os.read(fd, _CHUNK):
            yield chunk

    def check(self) -> None:
        """Raise GitError if the command failed (not if the deadline stopped it)."""
        if self._process is None:
            return
        self._process.wait()
        if self.timed_out or self._process.returncode == 0:
            return
        stderr = self._process.stderr.read() if self._process.stderr is not None else b""
        raise GitError(stderr.decode("utf-8", "replace").strip() or "git log failed")

    def __exit__(self, *_: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def is_ancestor(root: Path, ancestor: str, descendant: str, *, deadline: float) -> bool:
    """Tell whether ``ancestor`` is ``descendant`` or one of its ancestors (GitTimeout past ``deadline``)."""
    result = _git_until(root, deadline, "merge-base", "--is-ancestor", ancestor, descendant)
    if result.returncode > 1:
        raise GitError(result.stderr.decode("utf-8", "replace").strip() or "git merge-base failed")
    return result.returncode == 0


def commit_changes(root: Path, commit: ChainCommit, *, deadline: float) -> list[FileChange]:
    """Return every file a commit changed against its first parent (renames paired), whatever the paths."""
    if commit.parents:
        return changes_between(root, commit.parents[0], commit.commit, deadline=deadline)
    args = ["diff-tree", "--root", "-r", "--name-status", "-z", "--no-commit-id", commit.commit, "--"]
    result = _git_until(root, deadline, *args)
    if result.returncode != 0:
        raise GitError(result.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed")
    return parse_name_status(result.stdout)


def parse_commit(commit: str, raw: bytes) -> CommitInfo | None:
    """Return who made a commit, when and its subject, from the commit object's text; None if malformed.

    The subject is the message's first paragraph on one line, as ``git log --format=%s`` shows it.
    """
    head, _, message = raw.partition(b"\n\n")
    parents: list[str] = []
    author = None
    committed = 0
    for line in head.split(b"\n"):
        if line.startswith(b"parent "):
            parents.append(line[7:].decode("ascii", "replace").strip())
        elif line.startswith(b"author ") and author is None:
            author = line[7:]
        elif line.startswith(b"committer "):
            stamp = re.search(rb"> (-?\d+) [+-]\d{4}$", line)
            committed = int(stamp.group(1)) if stamp else 0
    if author is None:
        return None
    match = re.fullmatch(rb"(.*?) ?<([^>]*)> (-?\d+) ([+-])(\d\d)(\d\d)", author.strip())
    if match is None:
        return None
    name, email, seconds, sign, hours, minutes = match.groups()
    offset = dt.timedelta(hours=int(hours), minutes=int(minutes)) * (-1 if sign == b"-" else 1)
    try:
        date = dt.datetime.fromtimestamp(int(seconds), dt.timezone(offset))
    except (OverflowError, OSError, ValueError):
        return None
    paragraph = message.split(b"\n\n", 1)[0]
    subject = " ".join(line.strip() for line in paragraph.decode("utf-8", "replace").splitlines()).strip()
    return CommitInfo(
        commit=commit,
        author=name.decode("utf-8", "replace"),
        email=email.decode("utf-8", "replace"),
        date=date,
        subject=subject,
        parents=tuple(parents),
        committed=committed,
    )
