"""Which commit made a block what it is now: the pure part of the search (no git, no I/O).

The search walks the target's first-parent line back to the commit the codemark was recorded at (gitrepo's
``first_parent_walk``); ``Chain`` indexes what that walk saw, by file. A block can only change where one of
its files changes, so a marker's ``Timeline`` follows its files by name along the chain — the recorded file
forward from the recorded commit, the file the block is in now backward from the target, each through its
renames — and lists the commits that touched them.

At each of those commits the block has a ``State`` (found with the engine, from the recorded block, exactly
as ``locate`` would find it there). ``already_so`` tells whether a state already shows what the target shows:

| at the target | the block is "already so" at a commit where it is                 | the commit named  |
|---------------|-------------------------------------------------------------------|-------------------|
| ``deleted``   | nowhere                                                           | the deletion      |
| ``moved``     | moved, into the same file (renames aside)                         | the move          |
| ``changed``   | changed, in the same file, with the same code as now              | the last edit     |
| ``shifted``   | at the same lines, in a file of the same name, with the same code | the last shift    |

``find_boundary`` gallops from the newest of those commits back, then bisects, for the first commit from
which the block is already so: the commit that made it so. A block that went back and forth (edited, then
edited back) gets one of its turning points, the newest the gallop meets, in a logarithmic number of steps.
"""

from __future__ import annotations

import bisect
from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass

from kibitz.client import Marker
from kibitz.gitrepo import ChainCommit, FileChange
from kibitz.locate._model import Placement, PlacementStatus, WhyAction


@dataclass(frozen=True, slots=True)
class State:
    """Where a block is at one commit, relative to the recorded block.

    ``identity`` says which of the marker's followed files holds it (0 is the recorded file), so that a
    file renamed in between is still the same file; ``keys`` are its lines' comparison keys.
    """

    status: PlacementStatus
    identity: int | None
    path: str | None
    start_line: int | None
    end_line: int | None
    keys: tuple[str, ...]


def already_so(now: State, then: State) -> bool:
    """Tell whether the block at a commit (``then``) already shows what it shows at the target (``now``)."""
    if now.status == "deleted":
        return then.status == "deleted"
    if then.status != now.status or then.identity != now.identity:
        return False
    if now.status == "moved":
        return True
    if now.status == "changed":
        return then.keys == now.keys
    # shifted (and anything else): same lines of the same file under the same name, same code.
    return (then.path, then.start_line, then.end_line, then.keys) == (
        now.path,
        now.start_line,
        now.end_line,
        now.keys,
    )


# A deleted block's recorded code found elsewhere proves it is not gone only if it is too long to be a
# commonplace (``return None``): shorter code is left to the engine, which weighs its context too.
MIN_PROOF_CHARS = 40
# What `str.split` splits on below U+0080, but the line break.
_ASCII_SPACES = b" \t\r\x0b\x0c\x1c\x1d\x1e\x1f"


def keyed(text: str) -> str:
    """Return a text as its lines' comparison keys, each between newlines: where blocks are looked for.

    The same keys as ``line_key`` line by line, made for the whole text at once (a file is keyed at many
    commits): an ASCII text, as most source files are, by deleting its whitespace bytes in one call.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii():
        # Most source files: deleting bytes is about twenty times faster than any per-line work.
        keys = text.encode("ascii").translate(None, _ASCII_SPACES).decode("ascii")
    else:
        keys = "\n".join(["".join(line.split()) for line in text.split("\n")])
    return "\n" + keys + ("\n" if not text.endswith("\n") else "")


def _joined(keys: Sequence[str]) -> str:
    return "\n" + "\n".join(keys) + "\n"


def surely_not_so(now: State, recorded: Sequence[str], files: Sequence[str | None]) -> bool:
    """Tell from the followed files alone (``keyed`` texts, None where absent) that the block at that commit
    cannot already show what it shows at the target — without the engine. False means: ask the engine."""
    identity = now.identity
    if now.status in ("changed", "shifted") and identity is not None and identity < len(files):
        # Its code now must be there, line for line.
        text = files[identity]
        return text is None or _joined(now.keys) not in text
    proof = sum(len(key) for key in recorded) >= MIN_PROOF_CHARS
    if now.status == "moved" and identity is not None and identity < len(files):
        if files[identity] is None:
            return True
        # Moved to another file, but its recorded code still in its own file, line for line: not moved yet.
        return identity != 0 and proof and files[0] is not None and _joined(recorded) in files[0]
    if now.status == "deleted" and proof:
        # Its recorded code still there, line for line: not deleted yet.
        return any(text is not None and _joined(recorded) in text for text in files)
    return False


def surely_so(now: State, recorded: Sequence[str], files: Sequence[str | None]) -> bool:
    """Tell from the followed files alone (``keyed`` texts) that the block at that commit already shows what
    it shows at the target: its recorded code is gone (edited: from everywhere; moved to another file: from
    its own file), and its code now is there line for line, in the file it is in now (the engine would find
    that exact copy). False means: ask the engine."""
    identity = now.identity
    if now.status not in ("moved", "changed") or identity is None or identity >= len(files):
        return False
    if sum(len(key) for key in recorded) < MIN_PROOF_CHARS:
        return False
    there = files[identity]
    if now.status == "moved":
        # Gone from its own file; a move carries the recorded code along.
        source = files[0]
        gone = identity != 0 and (source is None or _joined(recorded) not in source)
    else:
        gone = not any(text is not None and _joined(recorded) in text for text in files)
    return gone and there is not None and _joined(now.keys) in there


def action_of(marker: Marker, placement: Placement) -> WhyAction | None:
    """Return what the commit being looked for did to a block placed so (None: nothing to explain)."""
    status = placement.status
    if status in ("unchanged", "unavailable"):
        return None
    if status == "shifted" and placement.path != marker["path"]:
        same_lines = (placement.start_line, placement.end_line) == (marker["start_line"], marker["end_line"])
        if same_lines:
            return "renamed"
    if status == "moved" or status == "changed" or status == "deleted" or status == "shifted":
        return status
    return None


def find_boundary(count: int) -> Generator[int, bool, int]:
    """Find the commit that made the block what it is now, among ``count`` commits that touched its files.

    Positions run from 0 (the oldest) to ``count - 1`` (the newest, where the block is as it is now); before
    0 it is as recorded. Yields the positions to test and is sent whether the block is already so there;
    returns the first position from which it is. Gallops back from the newest (1, 2, 4, … commits), then
    bisects the last gap: the turning point nearest to the target costs a logarithmic number of tests.
    """
    known_so = count - 1
    not_yet = -1
    step = 1
    while known_so - not_yet > 1:
        probe = max(known_so - step, not_yet + 1)
        if (yield probe):
            known_so = probe
            step *= 2
        else:
            not_yet = probe
            break
    while known_so - not_yet > 1:
        middle = (known_so + not_yet) // 2
        if (yield middle):
            known_so = middle
        else:
            not_yet = middle
    return known_so


class Chain:
    """A first-parent line, oldest commit first, with the changes each commit made to the walked files.

    Its last commit is ``target`` (added when the walk did not list it: it changed none of the files);
    ``paths`` are the files the walk looked at.
    """

    def __init__(self, newest_first: Sequence[ChainCommit], target: str, paths: Iterable[str] = ()) -> None:
        self.paths = frozenset(paths)
        if not newest_first or newest_first[0].commit != target:
            newest_first = [ChainCommit(target, (), 0, ()), *newest_first]
        self.commits = [commit.commit for commit in reversed(newest_first)]
        self.position = {commit: index for index, commit in enumerate(self.commits)}
        self.events: dict[str, list[tuple[int, FileChange]]] = {}
        for index, commit in enumerate(reversed(newest_first)):
            for change in commit.changes:
                for path in {change.old_path, change.new_path}:
                    if path is not None:
                        self.events.setdefault(path, []).append((index, change))
        self.commit_of = {commit.commit: commit for commit in newest_first}

    def __len__(self) -> int:
        return len(self.commits)

    def events_of(self, path: str, after: int, until: int) -> list[tuple[int, FileChange]]:
        """Return the changes to ``path`` made by the commits at positions ``after`` < p ≤ ``until``."""
        found = self.events.get(path, [])
        low = bisect.bisect_right(found, after, key=lambda event: event[0])
        high = bisect.bisect_right(found, until, key=lambda event: event[0])
        return found[low:high]


@dataclass(frozen=True, slots=True)
class Question:
    """A change git reported as a deletion or an addition that may be half of a rename outside the walked
    files: ask what ``commit`` (at ``position``) did with ``path``."""

    position: int
    path: str


@dataclass(frozen=True, slots=True)
class Names:
    """The names one file had along the chain: from each position on (after that commit), its name."""

    starts: tuple[int, ...]
    names: tuple[str | None, ...]

    def at(self, position: int) -> str | None:
        """Return the file's name after the commit at ``position``."""
        index = bisect.bisect_right(self.starts, position) - 1
        return self.names[max(index, 0)]

    def spans(self, last: int) -> Iterable[tuple[str, int, int]]:
        """Yield ``(name, after, until)``: the name the file had at positions ``after`` < p ≤ ``until``."""
        bounds = [*self.starts[1:], last]
        for start, name, end in zip(self.starts, self.names, bounds, strict=True):
            if name is not None:
                # The commit that gave the file this name changed it too: count it under the old name as well.
                yield name, start - 1, end


def follow_forward(
    chain: Chain, name: str, start: int, last: int, settled: set[tuple[int, str]]
) -> tuple[Names, Question | None]:
    """Return the names a file called ``name`` after ``start`` has until ``last``, following renames.

    A deletion not in ``settled`` may be a rename to a file the walk did not look at: it is returned as a
    question, and the names stop there.
    """
    starts: list[int] = [start]
    names: list[str | None] = [name]
    current: str | None = name
    last_name = name
    position = start
    while position < last:
        path = current if current is not None else last_name
        event = _next_event(chain, path, position, last, current)
        if event is None:
            break
        position, change = event
        if current is None:
            # Deleted before: a file added again under its name is the same file back.
            current = last_name
        elif change.kind == "renamed":
            current = last_name = change.new_path or last_name
        elif (position, current) not in settled:
            return Names(tuple(starts), tuple(names)), Question(position, current)
        else:
            current = None
        starts.append(position)
        names.append(current)
    return Names(tuple(starts), tuple(names)), None


def _next_event(
    chain: Chain, path: str, after: int, last: int, current: str | None
) -> tuple[int, FileChange] | None:
    """Return the next change that renames or deletes the file ``path`` (or adds it back when gone)."""
    for position, change in chain.events_of(path, after, last):
        if current is None:
            if change.kind in ("added", "renamed", "copied") and change.new_path == path:
                return position, change
        elif change.old_path == path and change.kind in ("renamed", "deleted"):
            return position, change
    return None


def follow_backward(
    chain: Chain, name: str, last: int, first: int, settled: set[tuple[int, str]]
) -> tuple[Names, Question | None]:
    """Return the names the file called ``name`` at ``last`` had back to ``first``, following renames.

    An addition not in ``settled`` may be a rename from a file the walk did not look at: it is returned
    as a question. Before an addition (or a copy) the file is taken as absent.
    """
    changes: list[tuple[int, str | None]] = []
    current: str | None = name
    position = last
    question = None
    while current is not None and position > first:
        event = _previous_event(chain, current, first, position)
        if event is None:
            break
        found_at, change = event
        if change.kind == "renamed" and change.old_path is not None:
            current = change.old_path
        else:
            if change.kind == "added" and (found_at, current) not in settled:
                question = Question(found_at, current)
            current = None
        changes.append((found_at - 1, current))
        position = found_at - 1
    return _backward_names(first, name, changes), question


def _previous_event(chain: Chain, path: str, first: int, until: int) -> tuple[int, FileChange] | None:
    """Return the latest change at or before ``until`` that gave the file its name ``path``."""
    for position, change in reversed(chain.events_of(path, first, until)):
        if change.new_path == path and change.kind in ("added", "renamed", "copied"):
            return position, change
    return None


def _backward_names(first: int, name: str, changes: list[tuple[int, str | None]]) -> Names:
    """Turn names found walking back (``(up to position, name before)``, newest first) into ``Names``."""
    starts = [first]
    names: list[str | None] = []
    # Walking back, each change says: up to this position the file had the other name.
    ordered = list(reversed(changes))
    earlier = [name_before for _, name_before in ordered]
    names.append(earlier[0] if earlier else name)
    for index, (up_to, _) in enumerate(ordered):
        starts.append(up_to + 1)
        names.append(earlier[index + 1] if index + 1 < len(earlier) else name)
    return Names(tuple(starts), tuple(names))


def touching(chain: Chain, files: Sequence[Names], after: int, last: int) -> list[int]:
    """Return the positions (``after`` < p ≤ ``last``) of the commits that changed one of the files."""
    found: set[int] = set()
    for names in files:
        for name, low, high in names.spans(last):
            for position, _ in chain.events_of(name, max(low, after), min(high, last)):
                found.add(position)
    return sorted(found)
