"""Carry placements at HEAD over to the working tree and unsaved buffers.

A file the user did not touch is the same as at HEAD, so a placement at HEAD in such a file is
final, and placements at HEAD can come from the team's cache. Only the blocks in files that differ
from HEAD are relocated again, from HEAD's text to the file as the user sees it, with the other
changed and untracked files as places the block may have moved to. A block gone at HEAD is looked
for by its code in those files: it may exist only on disk (a provisional marker) or be back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kibitz.anchoring import Anchor, Location, Range, relocate_many
from kibitz.client import Marker
from kibitz.gitrepo import FileChange, ObjectReader, WorkingTree, files_containing
from kibitz.locate._blocks import Files, clues, code_keys, judge_keyed
from kibitz.locate._candidates import MAX_CANDIDATE_CHARS, MAX_CANDIDATES, candidate_paths, follow
from kibitz.locate._model import HeadPlaces, PinnedMarker, Placement


class _Tree(Files):
    """The working tree's files, read and split once for the run."""

    def __init__(self, tree: WorkingTree) -> None:
        super().__init__(tree.read_text)
        self.root = tree.root
        self.buffers = tree.buffers


@dataclass(frozen=True, slots=True)
class _Step:
    """A block relocated in the working tree: where, and with what the engine said.

    ``path`` is None when the engine gave up (``too_large``).
    """

    path: str | None
    location: Location


def places_at_head(
    reader: ObjectReader, head: str | None, markers: Sequence[PinnedMarker], at_head: Mapping[str, Placement]
) -> HeadPlaces:
    """Return the markers' places at ``head``, arranged for relocating them in the working tree."""
    files = Files(lambda path: reader.read_text(head, path) if head else None)
    placements: dict[str, Placement] = {}
    by_path: dict[str, list[PinnedMarker]] = {}
    unsure: list[PinnedMarker] = []
    for pinned in markers:
        marker = pinned.marker
        placement = at_head.get(marker["id"]) or Placement.deleted(marker["id"], 1.0)
        placements[marker["id"]] = placement
        if placement.path is not None:
            by_path.setdefault(placement.path, []).append(pinned)
        if not _holds_code(files, marker, placement):
            unsure.append(pinned)
    return HeadPlaces(
        head,
        tuple(markers),
        placements,
        {path: tuple(members) for path, members in by_path.items()},
        tuple(unsure),
    )


def locate_in_worktree(
    reader: ObjectReader, working_tree: WorkingTree, head: HeadPlaces, changes: Sequence[FileChange]
) -> dict[str, Placement]:
    """Return where each marker is in the working tree, given where it is at HEAD.

    ``changes`` are the working tree's differences from HEAD (with untracked files and buffers). Only the
    blocks in files that differ from HEAD are relocated: the others are where they are at HEAD.
    """
    tree = _Tree(working_tree)
    dirty = {change.old_path for change in changes if change.old_path is not None}
    results = dict(head.placements)
    relocated: list[PinnedMarker] = []
    for head_path, members in head.by_path.items():
        if head_path not in dirty:
            continue
        old_text = (reader.read_text(head.commit, head_path) if head.commit else None) or ""
        new_path = follow(changes, head_path)
        placements = [head.placements[pinned.marker["id"]] for pinned in members]
        anchors = [Range(p.start_line or 1, p.end_line or 1) for p in placements]
        codes = [pinned.marker["code"] for pinned in members]
        steps = _relocate(tree, changes, old_text, head_path, new_path, anchors, codes)
        for pinned, placement, step in zip(members, placements, steps, strict=True):
            results[pinned.marker["id"]] = _compose(tree, pinned.marker, placement, step)
        relocated.extend(members)
    if any(change.new_path is not None for change in changes):
        # A block that is not as recorded (gone, edited, or a guess for a provisional marker) may
        # be, exactly, in a file the user changed: its code found as it is wins over a likeness.
        # Outside the changed files the working tree is HEAD, whose unsure blocks are known already.
        unsure = {p.marker["id"] for p in head.unsure if head.placements[p.marker["id"]].path not in dirty}
        unsure.update(
            p.marker["id"] for p in relocated if not _holds_code(tree, p.marker, results[p.marker["id"]])
        )
        # A block the engine gave up on is not looked for by its code either: in what defeated the
        # diff (a table of repeated rows) its code has many copies, and picking one would be a guess.
        unsure.difference_update(key for key, placement in results.items() if placement.status == "too_large")
        if unsure:
            searched = [p.marker for p in head.markers if p.marker["id"] in unsure]
            for marker, found in _search_by_code(tree, changes, searched):
                if _holds_code(tree, marker, found):
                    results[marker["id"]] = found
    return results


def _holds_code(files: Files, marker: Marker, placement: Placement) -> bool:
    """Tell whether a placement in the files holds the marker's code (whitespace aside)."""
    if placement.path is None or placement.start_line is None or placement.end_line is None:
        return False
    if placement.status in ("unchanged", "shifted"):
        return True
    found = files.block_keys(placement.path, placement.start_line, placement.end_line)
    return found == code_keys(marker["code"])


def _relocate(
    tree: _Tree,
    changes: Sequence[FileChange],
    old_text: str,
    near: str,
    new_path: str | None,
    anchors: Sequence[Range | Anchor],
    codes: Sequence[str],
) -> list[_Step | None]:
    """Relocate anchors from ``old_text`` to ``new_path`` in the tree; None where they are gone."""
    paths = _candidates(tree, changes, near, new_path, codes)
    texts = [tree.text(path) or "" for path in paths]
    new_text = (tree.text(new_path) if new_path else None) or ""
    steps: list[_Step | None] = []
    for location in relocate_many(old_text, new_text, anchors, candidates=texts):
        path = new_path if location.candidate is None else paths[location.candidate]
        if location.status == "too_large":
            steps.append(_Step(None, location))
        else:
            steps.append(None if location.status == "deleted" or path is None else _Step(path, location))
    return steps


def _candidates(
    tree: _Tree, changes: Sequence[FileChange], near: str, exclude: str | None, codes: Sequence[str]
) -> list[str]:
    """Return the changed and untracked files to offer as move targets, those holding a clue first."""
    paths, capped = candidate_paths(changes, near, exclude)
    if capped:
        # Picked only when needed: for every block of a file at each keystroke they cost more than the rest.
        clue_lines = [line for code in codes for line in clues(code)]
        # Untracked files can be many (an unignored build directory); read the likely ones only.
        found = files_containing(tree.root, clue_lines)
        holding = {path for hits in found.values() for path in hits}
        holding.update(path for path, text in tree.buffers.items() if any(c in text for c in clue_lines))
        paths = sorted(paths, key=lambda path: path not in holding)
    kept = []
    for path in paths[:MAX_CANDIDATES]:
        text = tree.text(path)
        if text is not None and len(text) <= MAX_CANDIDATE_CHARS and "\0" not in text:
            kept.append(path)
    return kept


def _compose(tree: _Tree, marker: Marker, at_head: Placement, step: _Step | None) -> Placement:
    """Return the working-tree placement of a block placed at HEAD and relocated once more."""
    if step is None:
        return Placement.deleted(marker["id"], at_head.confidence)
    if step.path is None:
        return Placement.too_large(marker["id"])
    moved = at_head.status == "moved" or step.location.status == "moved"
    # Two uncertain steps are less certain than either.
    return _placed(tree, marker, step, moved, at_head.confidence * step.location.confidence)


def _search_by_code(
    tree: _Tree, changes: Sequence[FileChange], markers: Sequence[Marker]
) -> list[tuple[Marker, Placement]]:
    """Return where blocks' code is in the changed files, for those found."""
    touched = {change.new_path for change in changes if change.new_path is not None}
    by_path: dict[str, list[Marker]] = {}
    for marker in markers:
        by_path.setdefault(marker["path"], []).append(marker)
    found = []
    for path, group in by_path.items():
        anchors = [
            Anchor(Range(m["start_line"], m["end_line"]), m["code"], m["context_before"], m["context_after"])
            for m in group
        ]
        first = path if path in touched else None
        # No old text: the engine looks for the code itself, in the recorded file and the changed ones.
        steps = _relocate(tree, changes, "", path, first, anchors, [m["code"] for m in group])
        for marker, step in zip(group, steps, strict=True):
            if step is not None and step.path is not None:
                moved = step.location.status == "moved" or step.path != marker["path"]
                found.append((marker, _placed(tree, marker, step, moved, step.location.confidence)))
    return found


def _placed(tree: _Tree, marker: Marker, step: _Step, moved: bool, confidence: float) -> Placement:
    """Return the placement of a block found in the tree, judged against the recorded block."""
    assert step.path is not None
    assert step.location.range is not None
    start, end = step.location.range.start_line, step.location.range.end_line
    keys = tree.block_keys(step.path, start, end)
    status = judge_keyed(marker, step.path, start, end, keys, moved=moved)
    return Placement(marker["id"], step.path, start, end, status, round(confidence, 4))
