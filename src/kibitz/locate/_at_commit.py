"""Compute where markers are at a commit, from the references the local repository can read.

Each marker is relocated from its best readable reference (canonical first). Markers are grouped
by (reference commit, path), so each file pair is read and diffed once, and a file whose blob did
not change is not diffed at all. Files added, renamed or modified by the same diff are offered as
places the block may have moved to. A marker with no readable reference, or one the diff lost
for want of candidates, is searched for by its code: ``git grep`` for its most distinctive lines
picks the files, and the engine looks for the code in them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kibitz.anchoring import Anchor, Location, Range, relocate_many
from kibitz.client import Marker
from kibitz.gitrepo import FileChange, ObjectReader, changes_between, files_containing
from kibitz.locate._blocks import Files, clues, judge
from kibitz.locate._candidates import MAX_CANDIDATE_CHARS, MAX_CANDIDATES, candidate_paths, follow
from kibitz.locate._model import PinnedMarker, Placement
from kibitz.locate._references import Reference, references_of

# How many files found by ``git grep`` are offered when a marker is searched for by its code.
MAX_SEARCHED_FILES = 20


@dataclass(frozen=True, slots=True)
class Located:
    """A computed placement and the code found there (None when deleted)."""

    placement: Placement
    code: str | None


def anchor_of(marker: Marker, reference: Reference) -> Anchor:
    """Return the engine's anchor for a marker relocated from one of its references."""
    where = Range(reference.start_line, reference.end_line)
    if not reference.canonical:
        # Another commit's block may be another version of the code: follow its lines instead.
        return Anchor(where)
    return Anchor(where, marker["code"], marker["context_before"], marker["context_after"])


class _Commit(Files):
    """One commit's files, read through the object reader and remembered for the run."""

    def __init__(self, reader: ObjectReader, commit: str) -> None:
        super().__init__(lambda path: reader.read_text(commit, path))
        self.commit = commit


def locate_at_commit(
    reader: ObjectReader, markers: Sequence[PinnedMarker], commit: str
) -> dict[str, Located]:
    """Return where each marker is at ``commit``, computed from the local repository."""
    target = _Commit(reader, commit)
    groups: dict[tuple[str, str], list[tuple[Marker, Reference]]] = {}
    searched: list[Marker] = []
    blob_ids: dict[tuple[str, str], str | None] = {}
    for pinned in markers:
        reference = _readable_reference(reader, pinned.marker, blob_ids)
        if reference is None:
            searched.append(pinned.marker)
        else:
            groups.setdefault((reference.commit, reference.path), []).append((pinned.marker, reference))

    results: dict[str, Located] = {}
    changes_since: dict[str, list[FileChange]] = {}
    for (ref_commit, ref_path), members in groups.items():
        if ref_commit not in changes_since:
            changes_since[ref_commit] = changes_between(reader.root, ref_commit, commit)
        changes = changes_since[ref_commit]
        lost = _relocate_group(reader, target, ref_commit, ref_path, members, changes, blob_ids, results)
        searched.extend(lost)
    if searched:
        # One git grep for every clue of every marker searched for.
        found = files_containing(reader.root, [c for m in searched for c in clues(m["code"])], commit)
        for marker in searched:
            results[marker["id"]] = _search_by_code(target, marker, found)
    return results


def _readable_reference(
    reader: ObjectReader, marker: Marker, blob_ids: dict[tuple[str, str], str | None]
) -> Reference | None:
    """Return the first reference whose commit and file the local repository has."""
    for reference in references_of(marker):
        key = (reference.commit, reference.path)
        if key not in blob_ids:
            blob_ids[key] = reader.blob_id(reference.commit, reference.path)
        if blob_ids[key] is not None:
            return reference
    return None


def _relocate_group(
    reader: ObjectReader,
    target: _Commit,
    ref_commit: str,
    ref_path: str,
    members: list[tuple[Marker, Reference]],
    changes: list[FileChange],
    blob_ids: dict[tuple[str, str], str | None],
    results: dict[str, Located],
) -> list[Marker]:
    """Relocate every marker read from one file at one commit; return those that got lost."""
    new_path = follow(changes, ref_path)
    same_blob = new_path is not None and blob_ids[(ref_commit, ref_path)] == reader.blob_id(
        target.commit, new_path
    )
    needs_engine: list[tuple[Marker, Reference]] = []
    for marker, reference in members:
        # A provisional marker's range does not hold its code: even an untouched file needs a search.
        if same_blob and new_path is not None and not (reference.canonical and marker["provisional"]):
            unchanged = Location(Range(reference.start_line, reference.end_line), "unchanged", 1.0)
            code = marker["code"] if reference.canonical else None
            results[marker["id"]] = _placed(target, marker, new_path, unchanged, code=code)
        else:
            needs_engine.append((marker, reference))
    if not needs_engine:
        return []
    old_text = reader.read_text(ref_commit, ref_path) or ""
    new_text = target.text(new_path) or ""
    clue_lines = [line for marker, _ in needs_engine for line in clues(marker["code"])]
    paths, capped = _candidates(reader, target, changes, ref_path, new_path, clue_lines)
    texts = [target.text(path) or "" for path in paths]
    anchors = [anchor_of(marker, reference) for marker, reference in needs_engine]
    located = relocate_many(old_text, new_text, anchors, candidates=texts)
    lost = []
    for (marker, _), location in zip(needs_engine, located, strict=True):
        path = new_path if location.candidate is None else paths[location.candidate]
        if location.status == "too_large":
            results[marker["id"]] = Located(Placement.too_large(marker["id"]), None)
        elif location.status == "deleted" and capped:
            lost.append(marker)  # maybe moved into a file the candidates left out: search by code
        elif location.status == "deleted" or path is None:
            results[marker["id"]] = Located(Placement.deleted(marker["id"], location.confidence), None)
        else:
            results[marker["id"]] = _placed(target, marker, path, location)
    return lost


def _candidates(
    reader: ObjectReader,
    target: _Commit,
    changes: list[FileChange],
    near: str,
    exclude: str | None,
    clue_lines: Iterable[str],
) -> tuple[list[str], bool]:
    """Return the changed files to offer as move targets, and whether some had to be left out.

    Past the limit, the files holding one of the blocks' clue lines come first.
    """
    paths, capped = candidate_paths(changes, near, exclude)
    if capped:
        found = files_containing(reader.root, clue_lines, target.commit)
        holding = {path for hits in found.values() for path in hits}
        paths = sorted(paths, key=lambda path: path not in holding)
    return [path for path in paths[:MAX_CANDIDATES] if _is_code(target.text(path))], capped


def _is_code(text: str | None) -> bool:
    """Tell whether a file's text is worth searching: present, not huge, not binary."""
    return text is not None and len(text) <= MAX_CANDIDATE_CHARS and "\0" not in text


def _placed(
    target: _Commit,
    marker: Marker,
    path: str,
    location: Location,
    *,
    code: str | None = None,
    moved: bool = False,
) -> Located:
    """Return the placement of an engine's answer in ``path``, judged against the recorded block."""
    assert location.range is not None
    start, end = location.range.start_line, location.range.end_line
    if code is None:
        code = target.block(path, start, end)
    status = judge(marker, path, start, end, code, moved=moved or location.status == "moved")
    return Located(Placement(marker["id"], path, start, end, status, location.confidence), code)


def _search_by_code(target: _Commit, marker: Marker, found: Mapping[str, set[str]]) -> Located:
    """Return where a marker's code is at the target, from the files holding its clue lines."""
    hits: dict[str, int] = {}
    for clue in clues(marker["code"]):
        for path in found.get(clue, ()):
            hits[path] = hits.get(path, 0) + 1
    ranked = sorted(hits, key=lambda path: (-hits[path], path))
    # The recorded file comes first even without a clue: the code may be edited there.
    if target.text(marker["path"]) is not None:
        ranked = [marker["path"], *(path for path in ranked if path != marker["path"])]
    paths = [path for path in ranked if _is_code(target.text(path))][:MAX_SEARCHED_FILES]
    if not paths:
        return Located(Placement.deleted(marker["id"], 1.0), None)
    anchor = Anchor(
        Range(marker["start_line"], marker["end_line"]),
        marker["code"],
        marker["context_before"],
        marker["context_after"],
    )
    texts = [target.text(path) or "" for path in paths]
    # No old text: the engine looks for the code itself, in the first file and then the others.
    location = relocate_many("", texts[0], [anchor], candidates=texts[1:])[0]
    if location.status == "too_large":
        return Located(Placement.too_large(marker["id"]), None)
    if location.status == "deleted":
        return Located(Placement.deleted(marker["id"], location.confidence), None)
    path = paths[0] if location.candidate is None else paths[location.candidate + 1]
    # Found by its code in another file: a rename or a move, which nothing here tells apart.
    return _placed(target, marker, path, location, moved=path != marker["path"])
