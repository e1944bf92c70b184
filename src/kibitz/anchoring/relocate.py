"""Relocate ranges of an old text in a new text: the engine's entry points.

For each text pair the engine prepares both texts (lines, whitespace-free keys) and diffs them
once (histogram diff, then git's indent heuristic to place ambiguous insertions); every range is
then answered from that diff, cheapest evidence first:

1. **Identical text** — the range is ``unchanged``.
2. **Intact** — every line of the range survived the diff, adjacent and in order: the range moves
   by the number of lines added or removed above it (``shifted``, or ``unchanged`` in place).
3. **In place** — some lines of the range sit in changed hunks. Start and end are mapped through
   the surviving lines and, inside hunks, through the LHDiff-style alignment of ``align`` (which
   also follows a line wrapped over several, or several joined into one); hunks wholly inside the
   range count as part of it. The block is then fitted to the code's structure: a header with its
   indented suite keeps the deeper lines added right after it (a function whose body grew at the
   end) and stops before a definition added at its own depth (a function split in two), a balanced
   statement ends where its brackets close, and a block that was one bracketed construct (a function
   in a brace language, a CSS rule) ends where the brackets opened on its first line close — in place
   and wherever it moved to. The result is ``changed`` if enough of the
   block's information is still there, or its first line is.
4. **Moved** — otherwise the block is searched for by its code (``moves``), first among the lines
   the diff reports as added in the new text, then in each of the ``candidates`` (other files,
   e.g. added or renamed in the same commit). A good enough match elsewhere is ``moved``.
5. **Deleted** — nothing scores above the acceptance threshold: ``range`` is None and
   ``last_range`` says where the code used to be. A place whose first line declares another name than
   the block's first line does (``def dump`` for ``def htmlsafe_dump``) does not count unless the bodies
   under the two are alike, as after a rename, nor one that ends a statement for a block whose first
   line opens a braced block; one that declares the same name scores a little more (``names``).

The engine gives up, with the status ``too_large``, rather than guess or take long: on a text
larger than MAX_TEXT_CHARS, on a block in a region the diff could not match (see ``diff``), and on
every block still needing more than the diff once the call's budget of CPU time is spent (see
``budget``).

Every candidate is scored the same way (content blended with context, weighted by how distinctive
the code is), so an in-place edit, a move and a deletion compete on one scale and a weak match
comes back with a low confidence or as ``deleted`` instead of being snapped to a nearby line.

The ``code`` and ``context`` a caller passes matter when the range does not hold that code in the
old text (a stale or provisional reference): the code is then looked for in the old text (the range
is repaired, and the result is at least ``shifted``), or else directly in the new text and the
candidates, with the captured context telling copies apart. Answers are cached per text pair, so
asking again about the same ranges of the same texts costs almost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from .align import Spans, align_hunk, hunk_is_small
from .budget import SECONDS, OutOfTime, check, limited, spend
from .candidates import CandidateTexts
from .diff import Hunk, LineDiff, diff_lines, slide_hunks
from .location import Anchor, Context, Location, Range, Status
from .moves import (
    EVERYWHERE,
    Allowed,
    Match,
    Probe,
    context_score,
    find_block,
    score_place,
    search,
)
from .names import declared_name, same_definition, same_scope
from .normalise import CONTEXT_LINES, PreparedText, key_info, prepare
from .shape import (
    braced_end,
    close_brackets,
    fit_suite,
    is_suite,
    is_whole_braced,
    is_whole_suite,
    shape_suite,
)
from .similarity import blend, context_similarity

# A candidate location must score at least this to be reported rather than ``deleted``.
ACCEPT = 0.5
# An in-place result this good is final: no move search.
CONFIDENT = 0.8
# A place whose first line declares the same name as the block's first line is that much likelier.
NAME_BONUS = 0.05
# A place that declares the block's name in the same enclosing definition (the same method of the same
# class) is the same definition by its qualified name, however much of its body was rewritten.
QUALIFIED_BONUS = 0.15
# A place in the same enclosing definition as the block ranks that much higher among the places found; it
# does not make a place good enough to be an answer (``ACCEPT``) on its own.
SCOPE_BONUS = 0.05
# How far above a place that cannot be the block its own header is looked for.
HEADER_REACH = 3
# How many places found in one text are judged by their names and scope: the best one by content and
# context alone may be a namesake's or a look-alike's in another class.
PLACES_PER_TEXT = 3
# Ties between staying in place and moving go to staying in place, and to the same file.
IN_PLACE_BONUS = 0.05
OTHER_FILE_PENALTY = 0.05
# Lines at each end of a block that are followed through hunks too large to align as a whole.
EDGE_LINES = 3
# A text (old, new or candidate) larger than this is not read: blocks in it are ``too_large``, and a
# candidate that large is not searched. Preparing and diffing a text this size takes a fraction of
# the budget; the locating client does not offer larger candidates anyway.
MAX_TEXT_CHARS = 8_000_000
# The answer when the engine gives up: no place, rather than a guessed one.
GAVE_UP = Location(None, "too_large", 0.0)


class TextPair:
    """An old and a new text, prepared and diffed once, with hunk alignments computed on demand."""

    __slots__ = ("_added", "_aligned", "diff", "identical", "new", "old", "results")

    def __init__(self, old_text: str, new_text: str) -> None:
        self.old: PreparedText = prepare(old_text)
        self.new: PreparedText = prepare(new_text)
        self.identical = old_text == new_text
        # The old text is often diffed again (HEAD's, against each version of a buffer): its index is kept.
        matching = diff_lines(self.old.keys, self.new.keys, self.old.index)
        if matching.hunks:
            old, new = self.old, self.new
            matching = slide_hunks(matching, old.keys, new.keys, old.indents, new.indents)
        self.diff: LineDiff = matching
        self._aligned: dict[tuple[Hunk, int], Spans] = {}
        self._added: Allowed | None = None
        self.results: dict[tuple[int, int], Location] = {}

    @property
    def added(self) -> Allowed:
        """Return the new lines the diff matched to no old line: where moved code can have gone."""
        if self._added is None:
            self._added = Allowed([j for j, i in enumerate(self.diff.new_to_old) if i < 0])
        return self._added

    def aligned(self, hunk: Hunk, line: int) -> tuple[int, int, float] | None:
        """Return the new lines that old ``line`` of ``hunk`` aligns with and how alike they are."""
        old_span = range(hunk.old_start, hunk.old_end)
        new_span = range(hunk.new_start, hunk.new_end)
        if not new_span:
            return None
        # A small hunk is aligned as a whole, once; a large one only for the lines asked about.
        key = (hunk, -1) if hunk_is_small(old_span, new_span) else (hunk, line)
        pairs = self._aligned.get(key)
        if pairs is None:
            pairs = self._aligned[key] = align_hunk(self.old, self.new, old_span, new_span, (line,))
        return pairs.get(line)


@lru_cache(maxsize=32)
def text_pair(old_text: str, new_text: str) -> TextPair:
    """Return the prepared and diffed pair of texts, reusing it when the same pair comes again."""
    return TextPair(old_text, new_text)


def relocate(
    old_text: str,
    new_text: str,
    range: Range,
    *,
    code: str | None = None,
    context: Context | tuple[str, str] | None = None,
    candidates: Sequence[str] = (),
    budget: float | None = SECONDS,
) -> Location:
    """Return where the lines ``range`` of ``old_text`` are in ``new_text`` (or in a candidate)."""
    before, after = (None, None) if context is None else (context[0], context[1])
    anchor = Anchor(range, code=code, context_before=before, context_after=after)
    return relocate_many(old_text, new_text, [anchor], candidates=candidates, budget=budget)[0]


def relocate_many(
    old_text: str,
    new_text: str,
    anchors: Iterable[Range | Anchor],
    *,
    candidates: Sequence[str] = (),
    budget: float | None = SECONDS,
) -> list[Location]:
    """Return the locations of many ranges of ``old_text`` in ``new_text``, diffing the pair once.

    ``budget`` is the CPU time (seconds, None for no limit) the call may take; blocks still needing
    work once it is spent are ``too_large``.
    """
    items = [item if isinstance(item, Anchor) else Anchor(item) for item in anchors]
    if max(len(old_text), len(new_text)) > MAX_TEXT_CHARS:
        return [GAVE_UP] * len(items)
    results = []
    with limited(budget):
        try:
            pair = text_pair(old_text, new_text)
        except OutOfTime:
            return [GAVE_UP] * len(items)
        others = CandidateTexts([text if len(text) <= MAX_TEXT_CHARS else "" for text in candidates])
        for anchor in items:
            try:
                results.append(relocate_anchor(pair, anchor, others))
            except OutOfTime:
                results.append(GAVE_UP)
            except Exception:  # pragma: no cover - the engine promises never to raise on any text
                results.append(Location(None, "deleted", 0.0))
    return results


@dataclass(frozen=True, slots=True)
class _Found:
    """A scored answer before it becomes a Location."""

    start: int
    end: int
    status: Status
    score: float
    candidate: int | None = None
    # Added to the score when places compete, not when one is judged good enough (SCOPE_BONUS).
    rank_bonus: float = 0.0


def relocate_anchor(pair: TextPair, anchor: Anchor, candidates: CandidateTexts) -> Location:
    """Return the location of one anchor over a prepared text pair."""
    old = pair.old
    span = _clamp(anchor.range, len(old))
    code = None if anchor.code is None else PreparedText(anchor.code)
    if code is not None and len(code) and (span is None or old.keys[span[0] : span[1] + 1] != code.keys):
        # The caller's reference is stale (or provisional): the range does not hold the code.
        repaired = _nearest(find_block(code, _infos(code, old), old, EVERYWHERE), span)
        if repaired is None:
            return _relocate_code(pair, anchor, code, span, candidates)
        span = (repaired, repaired + len(code) - 1)
    if span is None:
        return Location(None, "deleted", 0.0)
    start, end = span
    if len(candidates):
        result = _relocate_span(pair, start, end, candidates)
    else:
        # The same block over the same pair always gets the same answer: remember it, so that
        # showing the same codemarks again (another request, another editor view) costs nothing.
        cached = pair.results.get(span)
        if cached is None:
            cached = pair.results[span] = _relocate_span(pair, start, end, candidates)
        result = cached
    moved_by_repair = (start + 1, end + 1) != (anchor.range.start_line, anchor.range.end_line)
    if result.status == "unchanged" and moved_by_repair:
        return Location(result.range, "shifted", result.confidence)
    return result


def _relocate_span(pair: TextPair, start: int, end: int, candidates: CandidateTexts) -> Location:
    """Return the location of old lines ``start..end`` (0-based, valid) in the new text."""
    diff, new = pair.diff, pair.new
    if pair.identical:
        return Location(Range(start + 1, end + 1), "unchanged", 1.0)
    if diff.intact(start, end):
        new_start = diff.old_to_new[start]
        new_end = new_start + end - start
        following = new_end + 1
        while following < len(new) and not new.keys[following]:
            following += 1
        if following < len(new) and diff.new_to_old[following] < 0:
            grown = fit_suite(pair.old, new, diff.new_to_old, start, end, new_start, new_end)
            if grown > new_end:
                return Location(Range(new_start + 1, grown + 1), "changed", 1.0)
        status: Status = "unchanged" if new_start == start else "shifted"
        return Location(Range(new_start + 1, new_end + 1), status, 1.0)
    if diff.unresolved_in(start, end):
        # The diff could not match this part of the file: any place found for it would be a guess.
        return GAVE_UP

    check()
    probe = _probe_from_old(pair.old, start, end)
    place = _place(diff, start, end, len(new))
    in_place = _map_in_place(pair, start, end, probe)
    # Mapped through the diff, the place is where the block's lines went, header or not: it is not moved
    # to a header nearby (a place searched for is), so that a search can still find the block there.
    if (
        in_place is not None
        and _judged(pair, start, in_place, candidates, probe.braced, own_header=False) is None
    ):
        in_place = None
    if in_place is not None and in_place.score >= CONFIDENT:
        return _location(in_place)
    found = [
        judged
        for item in _search_moves(pair, probe, place, candidates, in_place)
        if (judged := _judged(pair, start, item, candidates, probe.braced)) is not None
    ]
    return _decide(found, place, len(new))


def _judged(
    pair: TextPair,
    start: int,
    found: _Found,
    candidates: CandidateTexts,
    braced: bool,
    *,
    own_header: bool = True,
) -> _Found | None:
    """Return a place found for the block at old line ``start`` as its names judge it (``names``).

    None if it cannot be the block; scored up by NAME_BONUS if its first line declares the block's name,
    ranked up by SCOPE_BONUS if it is in the same enclosing definition. A place that cannot be the block
    is moved to the block's own header nearby if ``own_header`` and there is one (``_own_header``);
    ``braced``: the block was one bracketed construct (``shape.is_whole_braced``), so it ends at its brace.
    """
    text = pair.new if found.candidate is None else candidates[found.candidate]
    name = declared_name(pair.old.lines[start])
    if not same_definition(pair.old, start, text, found.start):
        moved = _own_header(text, name, found) if own_header else None
        if moved is None:
            return None
        found = replace(moved, end=braced_end(text, moved.start, moved.end)) if braced else moved
    scoped = same_scope(pair.old, start, text, found.start)
    if scoped:
        found = replace(found, rank_bonus=SCOPE_BONUS)
    if name is None or found.start >= len(text) or declared_name(text.lines[found.start]) != name:
        return found
    return replace(found, score=found.score + NAME_BONUS + (QUALIFIED_BONUS if scoped else 0.0))


def _own_header(text: PreparedText, name: str | None, found: _Found) -> _Found | None:
    """Return a place that cannot be the block moved to the block's own header nearby, if there is one.

    A match that took in the header of the definition above it (two signatures alike) may hold the block's
    own header further in; one that began at a statement like the header (``BorrowedGreenlet
    self(_self);`` for ``green_is_gc(BorrowedGreenlet self)``) may have it just above.
    """
    header = _declaring(text, name, found.start + 1, found.end)
    if header is not None:
        return replace(found, start=header)
    header = _declaring(text, name, max(found.start - HEADER_REACH, 0), found.start - 1)
    if header is not None:
        return replace(found, start=header, end=found.end - (found.start - header))
    return None


def _declaring(text: PreparedText, name: str | None, low: int, high: int) -> int | None:
    """Return the first line of ``low..high`` in ``text`` that declares ``name``, if any."""
    if name is None:
        return None
    for position in range(low, min(high, len(text) - 1) + 1):
        if declared_name(text.lines[position]) == name:
            return position
    return None


def _relocate_code(
    pair: TextPair,
    anchor: Anchor,
    code: PreparedText,
    span: tuple[int, int] | None,
    candidates: CandidateTexts,
) -> Location:
    """Return where ``code`` is in the new text when the old text does not contain it."""
    check()
    new = pair.new
    before = anchor.context_before or ""
    after = anchor.context_after or ""
    probe = Probe(code, _infos(code, code), _tail(PreparedText(before), -1), _tail(PreparedText(after), 1))
    place = _place(pair.diff, span[0], span[1], len(new)) if span is not None else (0, len(new) - 1)
    found = []
    for match in search(probe, new, EVERYWHERE)[:1]:
        # Found where the reference range maps to: the code is where the caller thought it was.
        overlaps = match.start <= place[1] and place[0] <= match.end
        status: Status = ("shifted" if match.exact else "changed") if overlaps else "moved"
        found.append(_Found(match.start, match.end, status, match.score))
    found.extend(_search_candidates(probe, candidates))
    return _decide(found, place, len(new))


def _map_in_place(pair: TextPair, start: int, end: int, probe: Probe) -> _Found | None:
    """Map a block through the diff and the hunk alignments; None if none of it is left."""
    old, new, diff = pair.old, pair.new, pair.diff
    spend(end - start + 1)
    low = high = -1
    total = kept = 0.0
    lines = kept_lines = 0
    first_score = 0.0
    aligned_hunks: set[Hunk] = set()
    for line in range(start, end + 1):
        info = old.info(line)
        total += info
        lines += 1
        target = last_target = diff.old_to_new[line]
        similarity = 1.0
        if target < 0:
            hunk = diff.hunk_at(line)
            if hunk is None or not _worth_aligning(hunk, line, start, end):
                continue
            aligned = pair.aligned(hunk, line)
            if aligned is None:
                continue
            target, last_target, similarity = aligned
            aligned_hunks.add(hunk)
        if line == start:
            first_score = blend(similarity, context_similarity(old, line, new, target), info)
        kept += info * similarity
        kept_lines += 1
        low = target if low < 0 else min(low, target)
        high = max(high, last_target)
    for hunk in diff.hunks_between(start, end):
        inserted_before_block = hunk.old_start == hunk.old_end == start
        if hunk.old_end - 1 > end or inserted_before_block or hunk.new_start == hunk.new_end:
            continue
        if hunk in aligned_hunks:
            continue
        low = hunk.new_start if low < 0 else min(low, hunk.new_start)
        high = max(high, hunk.new_end - 1)
    if low < 0:
        return None
    high = fit_suite(old, new, diff.new_to_old, start, end, low, high)
    high = close_brackets(old, new, start, end, low, high)
    if is_whole_braced(old, start, end):
        high = braced_end(new, low, high)
    content = kept / total if total > 0 else kept_lines / lines
    context = context_score(probe, new, low, high)
    score = content if context is None else blend(content, context, total)
    score = max(score, first_score)
    return _Found(low, high, "changed", score)


def _worth_aligning(hunk: Hunk, line: int, start: int, end: int) -> bool:
    """Return True unless ``line`` is deep inside a block and in a hunk too large to align whole.

    The ends of a block decide where it is; its interior only adds to the confidence. In a
    rewritten file every line would cost a window of comparisons, so there only the first and last
    few lines of a block are followed.
    """
    if hunk_is_small(range(hunk.old_start, hunk.old_end), range(hunk.new_start, hunk.new_end)):
        return True
    return line - start < EDGE_LINES or end - line < EDGE_LINES


def _search_moves(
    pair: TextPair,
    probe: Probe,
    place: tuple[int, int],
    candidates: CandidateTexts,
    in_place: _Found | None,
) -> list[_Found]:
    """Return where else the block might be: among the new file's added lines, then in candidates."""
    found = []
    for match in search(probe, pair.new, pair.added)[:PLACES_PER_TEXT]:
        inside = place[0] <= match.start and match.end <= place[1]
        if inside and in_place is not None:
            continue
        status: Status = "changed" if inside else "moved"
        end = _shaped(probe, pair.new, match.start, match.end)
        found.append(_Found(match.start, end, status, match.score))
    if in_place is not None:
        found.append(in_place)
    if max((item.score for item in found), default=0.0) < CONFIDENT:
        found.extend(_search_candidates(probe, candidates))
    return found


def _search_candidates(probe: Probe, candidates: CandidateTexts) -> list[_Found]:
    """Return the best matches of the block in each candidate text that has some.

    Exact copies are looked for in every candidate first; only if none is convincing are the likeliest
    candidates searched fuzzily too, and the copies found stay in the running (the likeliest by their
    words need not be the files the copies are in).
    """
    found = _candidate_matches(probe, candidates, fuzzy=False)
    if not any(item.score >= CONFIDENT for item in found):
        found.extend(_candidate_matches(probe, candidates, fuzzy=True))
    return found


def _candidate_matches(probe: Probe, candidates: CandidateTexts, *, fuzzy: bool) -> list[_Found]:
    """Return the best matches of the block in each candidate text, exact only unless ``fuzzy``."""
    best: dict[int, list[Match]] = {}
    if fuzzy:
        for index in candidates.likely(probe):
            matches = search(probe, candidates[index], EVERYWHERE)
            if matches:
                best[index] = matches[:PLACES_PER_TEXT]
    else:
        size = len(probe.code)
        for index, start in candidates.copies(probe):
            match = score_place(probe, candidates[index], start, start + size - 1, 1.0, exact=True)
            best.setdefault(index, []).append(match)
    found = []
    for index, matches in best.items():
        matches.sort(key=lambda match: match.score, reverse=True)
        for match in matches[:PLACES_PER_TEXT]:
            end = _shaped(probe, candidates[index], match.start, match.end)
            found.append(_Found(match.start, end, "moved", match.score - OTHER_FILE_PENALTY, index))
    return found


def _shaped(probe: Probe, target: PreparedText, start: int, end: int) -> int:
    """Return the end of a match of the whole block found at ``start..end``, fitted to the code there."""
    if probe.suite:
        return shape_suite(target, start, end)
    if probe.braced:
        return braced_end(target, start, end)
    return end


def _decide(found: list[_Found], place: tuple[int, int], new_size: int) -> Location:
    """Return the best-ranked answer good enough to be one, or ``deleted`` if none is.

    The bonuses that only rank (staying in place, the same enclosing definition) never let a place below
    ACCEPT hide one above it.
    """
    best = max((item for item in found if item.score >= ACCEPT), key=_rank, default=None)
    if best is None:
        closest = max((item.score for item in found), default=0.0)
        return Location(None, "deleted", _unit(1.0 - closest), last_range=_last_range(place, new_size))
    return _location(best)


def _rank(found: _Found) -> float:
    """Return the score a candidate answer competes with."""
    return found.score + found.rank_bonus + (IN_PLACE_BONUS if found.status == "changed" else 0.0)


def _location(found: _Found) -> Location:
    """Return the Location of a scored answer."""
    return Location(Range(found.start + 1, found.end + 1), found.status, _unit(found.score), found.candidate)


def _place(diff: LineDiff, start: int, end: int, new_size: int) -> tuple[int, int]:
    """Return the new lines between the survivors just before and just after old ``start..end``."""
    # Unmatched old lines form hunks, and the lines just outside a hunk are matched.
    before = start - 1
    if before >= 0 and diff.old_to_new[before] < 0:
        hunk = diff.hunk_at(before)
        before = hunk.old_start - 1 if hunk is not None else -1
    after = end + 1
    if after < len(diff.old_to_new) and diff.old_to_new[after] < 0:
        hunk = diff.hunk_at(after)
        after = hunk.old_end if hunk is not None else len(diff.old_to_new)
    low = diff.old_to_new[before] + 1 if before >= 0 else 0
    high = diff.old_to_new[after] - 1 if after < len(diff.old_to_new) else new_size - 1
    return low, high


def _last_range(place: tuple[int, int], new_size: int) -> Range | None:
    """Return the place where deleted code used to be, as a range within the new text."""
    if new_size == 0:
        return None
    low = min(max(place[0], 0), new_size - 1)
    high = min(max(place[1], low), new_size - 1)
    return Range(low + 1, high + 1)


def _probe_from_old(old: PreparedText, start: int, end: int) -> Probe:
    """Return the probe of old lines ``start..end``: their keys, information and surroundings."""
    code = PreparedText.from_lines(old.lines[start : end + 1], old.keys[start : end + 1])
    infos = tuple(old.info(line) for line in range(start, end + 1))
    before = _surrounding(old, start, -1)
    after = _surrounding(old, end, 1)
    suite = is_suite(old, start, end) and is_whole_suite(old, start, end)
    return Probe(code, infos, before, after, suite, is_whole_braced(old, start, end))


def _surrounding(text: PreparedText, edge: int, step: int) -> PreparedText:
    """Return the nearest non-blank lines beyond ``edge`` (in reading order) as a prepared text."""
    found: list[int] = []
    position = edge + step
    while 0 <= position < len(text) and len(found) < CONTEXT_LINES:
        if text.keys[position]:
            found.append(position)
        position += step
    if step < 0:
        found.reverse()
    return PreparedText.from_lines([text.lines[i] for i in found], [text.keys[i] for i in found])


def _tail(text: PreparedText, step: int) -> PreparedText:
    """Return the CONTEXT_LINES non-blank lines of a captured context nearest to the code."""
    lines = [line for line, key in zip(text.lines, text.keys, strict=True) if key]
    lines = lines[-CONTEXT_LINES:] if step < 0 else lines[:CONTEXT_LINES]
    return PreparedText("\n".join(lines))


def _infos(code: PreparedText, reference: PreparedText) -> tuple[float, ...]:
    """Return the information of each line of ``code``, rarity judged within ``reference``."""
    return tuple(key_info(key, reference.count(key)) for key in code.keys)


def _nearest(starts: list[int], span: tuple[int, int] | None) -> int | None:
    """Return the start closest to the given span's start (the first one if there is no span)."""
    if not starts:
        return None
    if span is None:
        return starts[0]
    return min(starts, key=lambda start: abs(start - span[0]))


def _clamp(range: Range, size: int) -> tuple[int, int] | None:
    """Return a range as valid 0-based inclusive lines of a text of ``size`` lines, or None."""
    start, end = range.start_line, range.end_line
    if start > end:
        start, end = end, start
    start, end = max(start, 1), min(end, size)
    if start > end:
        return None
    return start - 1, end - 1


def _unit(value: float) -> float:
    """Return ``value`` clamped to 0–1 and rounded for stable output."""
    return round(min(max(value, 0.0), 1.0), 4)
