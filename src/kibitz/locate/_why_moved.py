"""Name the commit that moved, changed or deleted each block: git and the engine around the pure search.

For every marker not ``unchanged`` at a commit, the team's shared cache is asked first (a commit another
clone found for the same marker at the same target). The rest are searched for along the target's
first-parent line (``first_parent_walk``), limited to their files: a walk per recorded commit over the
commits after it when the markers were recorded at one or two commits, else one walk of the line back to the
oldest. Each marker's files are followed through renames (``_why``), and its block is found at a logarithmic
number of the commits that touched them — by their lines alone where that is enough, else with the engine,
from the recorded block, as ``locate`` would find it there. What is found is shared with the team.

A rename to or from a file the walk did not look at shows as a deletion or an addition: that commit's own
changes are read, and the walk is done again with the other name. A block found deleted by a commit that
moved it to another file is followed there. Everything stops at the deadline; markers left are
``time_limit``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from kibitz.anchoring import relocate_many
from kibitz.client import Marker
from kibitz.gitrepo import (
    ChainCommit,
    CommitInfo,
    FileChange,
    GitTimeout,
    ObjectReader,
    Walk,
    changes_between,
    commit_changes,
    first_parent_walk,
    is_ancestor,
)
from kibitz.locate._at_commit import anchor_of
from kibitz.locate._blocks import block_of, code_keys, judge
from kibitz.locate._candidates import MAX_CANDIDATE_CHARS, MAX_CANDIDATES
from kibitz.locate._locate import read_block
from kibitz.locate._model import AtCommit, InWorkingTree, PinnedMarker, Placement, Why, WhyAction
from kibitz.locate._rebuild import code_missing, rebuild_code
from kibitz.locate._references import Reference
from kibitz.locate._shared import SharedLocations
from kibitz.locate._why import (
    Chain,
    Names,
    Question,
    State,
    action_of,
    already_so,
    find_boundary,
    follow_backward,
    follow_forward,
    keyed,
    surely_not_so,
    surely_so,
    touching,
)

# How long one call may search, all markers together, unless told otherwise.
WHY_SECONDS = 5.0
# The walk stops at a commit committed this long before the oldest recorded commit: on a first-parent line
# commits come after their parents, so only clocks a day wrong would hide a recorded commit beyond it.
DATE_SLACK = 86_400
# Walks done again to follow renames to files the first walk did not look at, or a block moved away.
MAX_ROUNDS = 3
# Markers recorded at this many commits or fewer get a walk of their own per commit, over only the commits
# after it that touched their files (which git's changed-path filters find fastest); more share one walk of
# the line, which lists every commit to recognise theirs and cannot use those filters.
OWN_WALKS = 2

# Which side of a commit a file added to the walks matters on.
_Side = Literal["newer", "older"]

_DELETED = State("deleted", None, None, None, None, ())


@dataclass(slots=True)
class _Task:
    """One marker to explain, and what the search learned about it."""

    marker: Marker
    placement: Placement
    action: WhyAction
    recorded: CommitInfo
    # Files the block was found moved to by a commit (commit id, path): followed from there on.
    moved_to: list[tuple[str, str]] = field(default_factory=list)


def why_moved(
    reader: ObjectReader,
    markers: Sequence[PinnedMarker],
    commit: str,
    placements: Mapping[str, Placement],
    *,
    seconds: float = WHY_SECONDS,
    shared: SharedLocations | None = None,
) -> dict[str, Why | None]:
    """Return, by marker id, the commit that made each block what it is at ``commit`` (None if unchanged).

    ``placements`` are the markers' places at ``commit`` (as ``locate`` answers for it). The search takes at
    most ``seconds`` for all markers together; those it could not finish are ``time_limit``. With ``shared``,
    commits the team already found are taken from its cache and those found here are shared.
    """
    deadline = time.monotonic() + seconds
    results: dict[str, Why | None] = {}
    tasks: list[_Task] = []
    blind: set[str] = set()
    for pinned in markers:
        marker = rebuild_code(reader, pinned.marker)
        placement = placements.get(marker["id"])
        if placement is None:
            continue
        if code_missing(marker):
            blind.add(marker["id"])
        action = action_of(marker, placement)
        if placement.status == "unavailable":
            results[marker["id"]] = Why.missing(None, "unavailable")
        elif action is None:
            results[marker["id"]] = None
        else:
            recorded = reader.commit_info(marker["commit"])
            if recorded is None:
                results[marker["id"]] = Why.missing(action, "commit_missing")
            elif recorded.commit == commit:
                results[marker["id"]] = Why.missing(action, "not_found")
            else:
                tasks.append(_Task(marker, placement, action, recorded))
    if shared is not None and tasks:
        known = shared.why_commits(commit, [task.marker["id"] for task in tasks])
        searched = []
        for task in tasks:
            info = reader.commit_info(known[task.marker["id"]]) if task.marker["id"] in known else None
            if info is None:
                searched.append(task)
            else:
                results[task.marker["id"]] = Why(task.action, info, source="shared")
        tasks = searched
    found = _Search(reader, commit, deadline).run(tasks) if tasks else {}
    results.update(found)
    if shared is not None:
        by_id = {task.marker["id"]: task for task in tasks}
        shared.store_whys(
            commit,
            [
                (by_id[marker_id].placement, why.commit.commit)
                for marker_id, why in found.items()
                if why is not None and why.commit is not None and marker_id not in blind
            ],
        )
    return results


def why_in_tree(
    reader: ObjectReader,
    head: str,
    at_head: Placement,
    tree: InWorkingTree,
    in_tree: Placement,
    why_at_head: Why | None,
) -> Why | None:
    """Return ``why_in_worktree`` for a block, telling whether the uncommitted edits changed it in place.

    ``head`` is HEAD's commit, ``at_head`` the block's place there and ``in_tree`` its place in ``tree``;
    the block is read at both (blocking: may read git objects and files).
    """
    edited = at_head.path == in_tree.path and read_block(reader, AtCommit(head), at_head) != read_block(
        reader, tree, in_tree
    )
    return why_in_worktree(at_head, in_tree, why_at_head, edited=edited)


def why_in_worktree(
    at_head: Placement, in_tree: Placement, why_at_head: Why | None, *, edited: bool = False
) -> Why | None:
    """Return the why of a block in the working tree, from its place and why at HEAD.

    A block the uncommitted edits did not touch is explained by HEAD's answer; one they moved, shifted,
    deleted or (``edited``) changed has no commit to name (``uncommitted``).
    """
    if in_tree.status == "unchanged":
        return None
    same = (in_tree.path, in_tree.start_line, in_tree.end_line, in_tree.status) == (
        at_head.path,
        at_head.start_line,
        at_head.end_line,
        at_head.status,
    )
    if same and not edited:
        return why_at_head
    if in_tree.status == "unavailable":
        return Why.missing(None, "unavailable")
    return Why.missing(_tree_action(in_tree), "uncommitted")


def _tree_action(placement: Placement) -> WhyAction:
    status = placement.status
    if status == "moved" or status == "changed" or status == "deleted":
        return status
    return "shifted"


class _Search:
    """The walks and probes of one call: one target, one deadline."""

    def __init__(self, reader: ObjectReader, target: str, deadline: float) -> None:
        self.reader = reader
        self.target = target
        self.deadline = deadline
        # (commit, path) whose deletion or addition was checked: not a rename to or from another file.
        self.settled: set[tuple[str, str]] = set()
        self.extra_paths: set[str] = set()
        # Each file added to the walks, by the commit that made it matter and on which side of it: a file a
        # block moved to, or a walked file was renamed to, matters after that commit ("newer"); a file a
        # walked file was renamed from, before it ("older").
        self.reach: list[tuple[str, _Side]] = []
        # Each commit's own changes, read once for every question about it.
        self.changes: dict[str, list[FileChange]] = {}

    def run(self, tasks: Sequence[_Task]) -> dict[str, Why | None]:
        """Explain every task, within the deadline."""
        results: dict[str, Why | None] = {}
        # Out of time in a git command: what was found stands, the rest is `time_limit`.
        with contextlib.suppress(GitTimeout):
            self._run(tasks, results)
        for task in tasks:
            results.setdefault(task.marker["id"], Why.missing(task.action, "time_limit"))
        return results

    def _run(self, tasks: Sequence[_Task], results: dict[str, Why | None]) -> None:
        by_recorded: dict[str, list[_Task]] = {}
        for task in tasks:
            by_recorded.setdefault(task.recorded.commit, []).append(task)
        if len(by_recorded) <= OWN_WALKS:
            for recorded, group in by_recorded.items():
                self._since(recorded, group, results)
            return
        on_line = list(tasks)
        for round_number in range(MAX_ROUNDS + 1):
            final = round_number == MAX_ROUNDS
            walk, paths = self._walk(on_line)
            chain = Chain(walk.commits, self.target, paths)
            pending: list[_Task] = []
            off_line: dict[str, list[_Task]] = {}
            for task in on_line:
                recorded = task.recorded.commit
                if recorded not in walk.seen:
                    if walk.timed_out:
                        results[task.marker["id"]] = Why.missing(task.action, "time_limit")
                    else:
                        off_line.setdefault(recorded, []).append(task)
                    continue
                if self._explain(chain, chain.position[recorded], recorded, task, results, final=final):
                    pending.append(task)
            for recorded, group in off_line.items():
                self._since(recorded, group, results)
            if not pending:
                return
            on_line = pending

    def _walk(
        self,
        tasks: Sequence[_Task],
        since: str | None = None,
        *,
        ancestry: bool = False,
        target: str | None = None,
    ) -> tuple[Walk, list[str]]:
        """Walk the target's line (or ``target``'s) back to the tasks' recorded commits (or to ``since``),
        over their files."""
        paths = sorted({path for task in tasks for path in _paths(task)} | self.extra_paths)
        oldest = min(task.recorded.committed for task in tasks)
        return first_parent_walk(
            self.reader.root,
            target or self.target,
            paths,
            stop_at={task.recorded.commit for task in tasks} if since is None else (),
            not_before=oldest - DATE_SLACK if since is None else None,
            since=since,
            ancestry=ancestry,
            deadline=self.deadline,
        ), paths

    def _since(self, recorded: str, group: list[_Task], results: dict[str, Why | None]) -> None:
        """Explain markers recorded at one commit, over the commits after it that touched their files.

        A walk done again for files found on one side of some commits (where blocks moved to, the other
        names of renamed files) covers only that side: the commits on the other side are the last walk's.
        """
        self._renamed_since(recorded, group)
        ancestry = True
        since, until = recorded, None
        kept: tuple[ChainCommit, ...] = ()
        for round_number in range(MAX_ROUNDS + 1):
            walk, paths = self._walk(group, since=since, ancestry=ancestry, target=until)
            if since == recorded and until is None and ancestry and not walk.commits and not walk.timed_out:
                # Nothing after it on the line: it is not on it, or nothing touched the files.
                if not is_ancestor(self.reader.root, recorded, self.target, deadline=self.deadline):
                    for task in group:
                        results[task.marker["id"]] = Why.missing(task.action, "not_in_history")
                    return
                # Merged from a branch: the line's commits that do not contain it, the merge among them.
                ancestry = False
                walk, paths = self._walk(group, since=recorded)
            if walk.timed_out:
                return
            # Newest first: the last walk's commits after `until`, this walk's, the last's before `since`.
            commits = (kept + walk.commits) if until is not None else (walk.commits + kept)
            chain = Chain(commits, self.target, paths)
            final = round_number == MAX_ROUNDS
            reached = len(self.reach)
            group = [task for task in group if self._explain(chain, -1, recorded, task, results, final=final)]
            if not group:
                return
            since, until, kept = recorded, None, ()
            sides = {side for _commit, side in self.reach[reached:]}
            positions = [chain.position[commit] for commit, _side in self.reach[reached:]]
            if sides == {"newer"} and min(positions) > 0:
                cut = min(positions)
                since = f"{chain.commits[cut]}^"
                kept = tuple(commit for commit in commits if chain.position[commit.commit] < cut)
            elif sides == {"older"} and max(positions) < len(chain) - 1:
                cut = max(positions)
                until = chain.commits[cut]
                kept = tuple(commit for commit in commits if chain.position[commit.commit] > cut)

    def _renamed_since(self, recorded: str, group: Sequence[_Task]) -> None:
        """Walk at once the other names of the tasks' files that were renamed between ``recorded`` and the
        target, as one comparison of the two commits pairs them: no walk done again to find them.

        Asked only when a file is missing at one of the two commits. A file renamed and much changed, or
        renamed twice, may not pair; the walk then finds the rename as before.
        """
        paths = {path for task in group for path in _paths(task)}
        # Texts, not ids: the search reads them anyway, from the same git process.
        read = self.reader.read_text
        missing = {path for path in paths if read(recorded, path) is None or read(self.target, path) is None}
        if not missing:
            return
        for change in changes_between(self.reader.root, recorded, self.target, deadline=self.deadline):
            if change.kind != "renamed" or change.old_path is None or change.new_path is None:
                continue
            if change.old_path in missing:
                self.extra_paths.add(change.new_path)
            if change.new_path in missing:
                self.extra_paths.add(change.old_path)

    def _explain(
        self,
        chain: Chain,
        start: int,
        recorded: str,
        task: _Task,
        results: dict[str, Why | None],
        *,
        final: bool,
    ) -> bool:
        """Explain one task over a chain; return True when it needs another walk (new names to look at)."""
        marker = task.marker
        last = len(chain) - 1
        while True:
            settled = {(chain.position[c], path) for c, path in self.settled if c in chain.position}
            files, questions = _files(chain, task, start, last, settled)
            if not questions or final:
                break
            if self._resolve(chain, questions):
                return True  # renamed to or from a file this walk did not look at: walk again
        probe = _Prober(self.reader, chain, start, recorded, marker, files)
        now = probe.state(last)
        positions = touching(chain, files, start, last)
        if now.status == "unchanged" or not positions:
            results[marker["id"]] = Why.missing(task.action, "not_found")
            return False
        search = find_boundary(len(positions))
        try:
            index = next(search)
            while True:
                if time.monotonic() > self.deadline:
                    results[marker["id"]] = Why.missing(task.action, "time_limit")
                    return False
                index = search.send(probe.already_so(now, positions[index]))
        except StopIteration as stop:
            found: int = stop.value
        position = positions[found]
        if found == 0 and already_so(now, probe.state(start)):
            # Already so where it was recorded (a provisional block's guessed lines): no commit did it.
            results[marker["id"]] = Why.missing(task.action, "not_found")
            return False
        commit = chain.commits[position]
        if now.status == "deleted" and not final and len(task.moved_to) < MAX_ROUNDS:
            moved_to = self._moved_away(chain, position, probe)
            if moved_to is not None:
                task.moved_to.append((commit, moved_to))
                self.extra_paths.add(moved_to)
                self.reach.append((commit, "newer"))
                return True
        info = self.reader.commit_info(commit)
        results[marker["id"]] = Why(task.action, info) if info else Why.missing(task.action, "not_found")
        return False

    def _resolve(self, chain: Chain, questions: Sequence[Question]) -> bool:
        """Learn whether each deletion or addition asked about is half of a rename; tell whether one was.

        A rename's other name is walked next (the walk then pairs the two, and the question does not come
        back); a plain deletion or addition is settled, and so is a rename the walk saw both names of.
        """
        renamed = False
        for question in questions:
            commit = chain.commits[question.position]
            found = self._other_name(chain, commit, question.path)
            if found is None or found[0] in chain.paths:
                self.settled.add((commit, question.path))
            else:
                other, side = found
                self.extra_paths.add(other)
                self.reach.append((commit, side))
                renamed = True
        return renamed

    def _changes_of(self, chain: Chain, commit: str) -> list[FileChange]:
        """Return every change a commit of the chain made (against its first parent), read once."""
        if commit not in self.changes:
            found = commit_changes(self.reader.root, chain.commit_of[commit], deadline=self.deadline)
            self.changes[commit] = found
        return self.changes[commit]

    def _other_name(self, chain: Chain, commit: str, path: str) -> tuple[str, _Side] | None:
        """Return the other name of ``path`` if ``commit`` renamed it, and the side of the commit it is
        on ("newer": ``path`` was renamed to it; "older": renamed from it), else None."""
        for change in self._changes_of(chain, commit):
            if change.kind == "renamed" and change.old_path == path and change.new_path is not None:
                return change.new_path, "newer"
            if change.kind == "renamed" and change.new_path == path and change.old_path is not None:
                return change.old_path, "older"
        return None

    def _moved_away(self, chain: Chain, position: int, probe: _Prober) -> str | None:
        """Return the file a block reported deleted by the commit at ``position`` went to instead, if any."""
        commit = chain.commits[position]
        followed = {names.at(position) for names in probe.files}
        paths = [
            change.new_path
            for change in self._changes_of(chain, commit)
            if change.new_path is not None and change.kind != "deleted" and change.new_path not in followed
        ][:MAX_CANDIDATES]
        return probe.found_in(position, paths)


def _paths(task: _Task) -> set[str]:
    """Return the files a marker's search walks: where it was recorded, where it is, where it went."""
    paths = {task.marker["path"]}
    if task.placement.path is not None:
        paths.add(task.placement.path)
    paths.update(path for _, path in task.moved_to)
    return paths


def _files(
    chain: Chain, task: _Task, start: int, last: int, settled: set[tuple[int, str]]
) -> tuple[list[Names], list[Question]]:
    """Return the files a marker's block may be in along the chain, and the renames still to ask about."""
    source, question = follow_forward(chain, task.marker["path"], start, last, settled)
    files, questions = [source], [question]
    here = task.placement.path
    if here is not None and source.at(last) != here:
        destination, question = follow_backward(chain, here, last, start, settled)
        files.append(destination)
        questions.append(question)
    for commit, path in task.moved_to:
        if commit in chain.position:
            moved, question = follow_forward(chain, path, chain.position[commit], last, settled)
            files.append(moved)
            questions.append(question)
    return files, [question for question in questions if question is not None]


class _Prober:
    """Find a marker's block at the commits of a chain, from the recorded block, as ``locate`` would."""

    def __init__(
        self,
        reader: ObjectReader,
        chain: Chain,
        start: int,
        recorded: str,
        marker: Marker,
        files: Sequence[Names],
    ) -> None:
        self.reader = reader
        self.chain = chain
        self.start = start
        self.recorded = recorded
        self.marker = marker
        self.files = list(files)
        reference = Reference(recorded, marker["path"], marker["start_line"], marker["end_line"], True)
        self.anchor = anchor_of(marker, reference)
        self.old_text = reader.read_text(recorded, marker["path"]) or ""
        self._states: dict[tuple[tuple[str | None, str | None], ...], State] = {}
        self._keyed: dict[str, str] = {}
        self._recorded = code_keys(marker["code"])

    def already_so(self, now: State, position: int) -> bool:
        """Tell whether the block after the commit at ``position`` already shows what it shows ``now``.

        Most commits before the one looked for are told apart by their files' lines alone; only the
        others are located with the engine.
        """
        names = [names.at(position) for names in self.files]
        texts = self._texts(position, names)
        keyed_texts = [None if text is None else self._keyed_text(text) for text in texts]
        if surely_not_so(now, self._recorded, keyed_texts):
            return False
        if surely_so(now, self._recorded, keyed_texts):
            return True
        return already_so(now, self.state(position))

    def _keyed_text(self, text: str) -> str:
        if text not in self._keyed:
            self._keyed[text] = keyed(text)
        return self._keyed[text]

    def _commit(self, position: int) -> str:
        return self.recorded if position <= self.start else self.chain.commits[position]

    def _texts(self, position: int, names: Sequence[str | None]) -> list[str | None]:
        commit = self._commit(position)
        return [None if name is None else self.reader.read_text(commit, name) for name in names]

    def state(self, position: int) -> State:
        """Return where the block is after the commit at ``position`` (``start``: as recorded)."""
        names = [names.at(position) for names in self.files]
        texts = self._texts(position, names)
        key = tuple(zip(names, texts, strict=True))
        if key not in self._states:
            self._states[key] = self._locate(names, texts)
        return self._states[key]

    def _locate(self, names: Sequence[str | None], texts: Sequence[str | None]) -> State:
        others = [index for index in range(1, len(texts)) if _is_code(texts[index])]
        location = relocate_many(
            self.old_text, texts[0] or "", [self.anchor], candidates=[texts[i] or "" for i in others]
        )[0]
        if location.status == "deleted" or location.range is None:
            return _DELETED
        identity = 0 if location.candidate is None else others[location.candidate]
        path, text = names[identity], texts[identity]
        if path is None or text is None:
            return _DELETED
        start, end = location.range.start_line, location.range.end_line
        code = block_of(text, start, end)
        status = judge(self.marker, path, start, end, code, moved=location.status == "moved")
        return State(status, identity, path, start, end, code_keys(code))

    def found_in(self, position: int, paths: Sequence[str]) -> str | None:
        """Return which of ``paths`` holds the block after the commit at ``position``, if one does."""
        texts = [text for text in self._texts(position, paths)]
        kept = [index for index, text in enumerate(texts) if _is_code(text)]
        if not kept:
            return None
        location = relocate_many("", "", [self.anchor], candidates=[texts[i] or "" for i in kept])[0]
        if location.status == "deleted" or location.candidate is None:
            return None
        return paths[kept[location.candidate]]


def _is_code(text: str | None) -> bool:
    """Tell whether a file's text is worth searching: present, not huge, not binary."""
    return text is not None and len(text) <= MAX_CANDIDATE_CHARS and "\0" not in text
