"""Find a block of code that left its place: exactly first, then fuzzily, never by a blind scan.

The block (the *probe*) is looked for in a target text among the lines a caller allows — in the
same file, the lines the diff reports as added, since a line the diff matched already belongs to
some other old line. The exact search looks up the probe's rarest line in the target's line index
and checks the whole block at each hit. The fuzzy search collects *seeds*: target lines equal to
one of the probe's most distinctive lines, or (when those are rare) lines sharing its rarest words
and alike enough; each seed proposes where the block starts, and only the windows around the best
proposals are aligned line by line. The cost therefore grows with the number of plausible places,
not with the size of the file.

A candidate is scored by its content (the share of the probe's information found, weighted by how
alike each line is) blended with its context (the lines captured around the block, found around
the candidate), so that a lone ``def __init__(self):`` needs its surroundings to be believed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .align import align_block
from .budget import CLOCK_EVERY, check, spend
from .names import declared_name
from .normalise import MAX_COMPARED_CHARS, WORD, PreparedText, key_info, open_brackets
from .similarity import blend, line_similarity

# How many target lines around a candidate are read to recognise each side of its context.
CONTEXT_WINDOW = 6
# A line occurring more often than this in the target is no clue to where a block went.
MAX_SEED_HITS = 40
# How many of the probe's most distinctive lines propose places, and how many places are tried.
SEED_LINES = 8
MAX_WINDOWS = 8
# A fuzzy seed line must be at least this alike to the probe line it stands for.
SEED_SIMILARITY = 0.6
# Words shorter than this are too common in code to find lines by.
MIN_WORD = 3
# Lines with less information than this (short or repeated ones) propose no places.
MIN_SEED_INFO = 0.2
# A place is aligned only if its proposing lines carry this share of the block's information, or
# this much information in absolute terms (one long unique line), whichever is less.
MIN_VOTE_SHARE = 0.25
MIN_VOTE = 0.6
# Exact copies beyond this many (a lone ``return None`` in a 50,000-line file) are first ranked by
# the context lines found verbatim around them, and only the best ones are scored in full.
MAX_SCORED_COPIES = 16


@dataclass(frozen=True, slots=True)
class Probe:
    """What is known about a block: its lines, their information, and the lines around it."""

    code: PreparedText
    infos: tuple[float, ...]
    before: PreparedText
    after: PreparedText
    # The block is a header with its whole indented suite (a complete def or class).
    suite: bool = False
    # The block is one bracketed construct, opened on its first line and closed on its last.
    braced: bool = False

    @property
    def info(self) -> float:
        """Return the total information of the block's lines."""
        return sum(self.infos)


@dataclass(frozen=True, slots=True)
class Match:
    """A place in a target text (0-based lines ``start..end``) that looks like the probe."""

    start: int
    end: int
    content: float
    context: float
    score: float
    exact: bool


class Allowed:
    """The lines of a target a match may be seeded on: all of them, or a given (sorted) few."""

    __slots__ = ("_set", "_word_index", "lines")

    def __init__(self, lines: Sequence[int] | None = None) -> None:
        self.lines = lines
        self._set = None if lines is None else frozenset(lines)
        self._word_index: dict[str, list[int]] | None = None

    def __call__(self, position: int) -> bool:
        return self._set is None or position in self._set

    def word_index(self, target: PreparedText) -> dict[str, list[int]]:
        """Return the allowed lines of ``target`` on which each word occurs (built once)."""
        if self.lines is None:
            return target.word_index
        if self._word_index is None:
            index: dict[str, list[int]] = {}
            lines, findall = target.lines, WORD.findall
            for count, position in enumerate(self.lines):
                if not count % WORD_INDEX_LINES:
                    # Up to a whole rewritten file's worth of lines: the budget is looked at as it grows.
                    check()
                line = lines[position]
                # ``target.words`` without its cache for the common line without a comment: up to a
                # whole file's lines pass here once, and most are never compared afterwards.
                words = target.words(position) if "#" in line else set(findall(line[:MAX_COMPARED_CHARS]))
                for word in words:
                    found = index.get(word)
                    if found is None:
                        index[word] = [position]
                    else:
                        found.append(position)
            self._word_index = index
        return self._word_index


# Lines added to a word index between two looks at the budget (a few milliseconds' work).
WORD_INDEX_LINES = CLOCK_EVERY // 4

EVERYWHERE = Allowed()
# Below this many allowed lines, similar lines are found by comparing with each of them rather
# than through the target's word index (which costs a pass over the whole target to build).
SCAN_LIMIT = 64


def find_block(
    probe: PreparedText, infos: tuple[float, ...], target: PreparedText, allowed: Allowed
) -> list[int]:
    """Return the 0-based start lines where ``probe``'s keys occur exactly in ``target``."""
    keys = probe.keys
    size = len(keys)
    informative = [r for r in range(size) if infos[r] > 0]
    if not informative or size > len(target):
        return []
    index = target.index
    seed = min(informative, key=lambda r: (len(index.get(keys[r], ())), -infos[r]))
    hits = []
    for position in index.get(keys[seed], ()):
        start = position - seed
        if start < 0 or start + size > len(target) or not allowed(position):
            continue
        if target.keys[start : start + size] == keys:
            hits.append(start)
    return hits


def search(probe: Probe, target: PreparedText, allowed: Allowed, *, fuzzy: bool = True) -> list[Match]:
    """Return the places in ``target`` that look like ``probe``, best first (only copies if not fuzzy)."""
    code = probe.code
    if not len(code) or probe.info <= 0:
        return []
    starts = find_block(code, probe.infos, target, allowed)
    if len(starts) > MAX_SCORED_COPIES:
        starts = _likeliest_copies(probe, target, starts)
    matches = [score_place(probe, target, start, start + len(code) - 1, 1.0, exact=True) for start in starts]
    if not matches and fuzzy:
        matches = _fuzzy(probe, target, allowed)
    matches.sort(key=lambda match: match.score, reverse=True)
    return matches


def _likeliest_copies(probe: Probe, target: PreparedText, starts: list[int]) -> list[int]:
    """Return the MAX_SCORED_COPIES copies with the most context lines found verbatim around them.

    Ties keep the order of the file, so the answer does not depend on anything but the texts.
    """
    spend(len(starts) * 2 * CONTEXT_WINDOW)
    shared = verbatim_context(probe)
    return sorted(starts, key=lambda start: -shared(target, start))[:MAX_SCORED_COPIES]


def verbatim_context(probe: Probe) -> Callable[[PreparedText, int], int]:
    """Return how many of the probe's context lines a target has verbatim around a copy at a start line."""
    before = {key for key in probe.before.keys if key}
    after = {key for key in probe.after.keys if key}
    size = len(probe.code)

    def shared(target: PreparedText, start: int) -> int:
        above = {target.keys[j] for j in _nearby(target, start, -1)}
        below = {target.keys[j] for j in _nearby(target, start + size - 1, 1)}
        return len(before & above) + len(after & below)

    return shared


def _fuzzy(probe: Probe, target: PreparedText, allowed: Allowed) -> list[Match]:
    """Return candidate places proposed by seed lines, each aligned and scored."""
    code = probe.code
    size = len(code)
    ranked = sorted((r for r in range(size) if probe.infos[r] > 0), key=lambda r: -probe.infos[r])
    # Weak lines propose no places, unless the block has nothing better (a lone common header).
    ranked = [r for r in ranked if probe.infos[r] >= MIN_SEED_INFO] or ranked[:1]
    votes: dict[int, float] = {}
    for r in ranked[:SEED_LINES]:
        hits = target.index.get(code.keys[r], ())
        if len(hits) > MAX_SEED_HITS:
            continue
        for position in hits:
            if allowed(position):
                votes[position - r] = votes.get(position - r, 0.0) + probe.infos[r]
    # A place proposed by a single weak line is not worth aligning a block for; nor is one that
    # a better proposal's window already covers.
    enough = min(MIN_VOTE_SHARE * probe.info, MIN_VOTE)
    if not votes or max(votes.values()) < enough:
        # No distinctive line survived verbatim (those left are common ones, like a body repeated in
        # sibling methods): look for lines that are merely alike as well.
        for r in ranked[:3]:
            for position in _similar_lines(code, r, target, allowed):
                similarity = line_similarity(code, r, target, position)
                votes[position - r] = votes.get(position - r, 0.0) + probe.infos[r] * similarity
    slack = max(4, size // 2)
    offsets: list[int] = []
    for offset in sorted(votes, key=lambda offset: -votes[offset]):
        if votes[offset] < enough or len(offsets) == MAX_WINDOWS:
            break
        if all(abs(offset - taken) > slack // 2 for taken in offsets):
            offsets.append(offset)
    matches: dict[tuple[int, int], Match] = {}
    for offset in offsets:
        low = max(offset - slack, 0)
        high = min(offset + size + slack, len(target))
        if low >= high:
            continue
        check()
        pairs = align_block(code, target, low, high)
        if not pairs:
            continue
        found = sum(probe.infos[i] * similarity for i, (_, similarity) in pairs.items())
        columns = [j for j, _ in pairs.values()]
        start, end = min(columns), max(columns)
        # A balanced block found on a line that now opens brackets (a signature rewrapped) ends
        # where they close.
        wrapped = target.logical(end)
        if wrapped is not None and open_brackets(code.code(len(code) - 1)) <= 0:
            end = wrapped[0]
        if (start, end) not in matches:
            matches[start, end] = score_place(probe, target, start, end, found / probe.info, exact=False)
    return list(matches.values())


def _similar_lines(code: PreparedText, r: int, target: PreparedText, allowed: Allowed) -> list[int]:
    """Return allowed target lines alike enough to probe line ``r`` to propose a place.

    A line that declares the same name as a header is one, however its parameters changed.
    """
    words = [word for word in code.words(r) if len(word) >= MIN_WORD]
    name = declared_name(code.lines[r])
    hits: set[int] = set()
    if allowed.lines is not None and len(allowed.lines) <= SCAN_LIMIT:
        found: Iterable[int] = allowed.lines
    elif allowed.lines is None:
        # A whole other file: look up only the two longest (likely rarest) words, line by line, and the name
        # the line declares (a header whose parameter types all changed keeps only its name).
        # Ties go by the words themselves: a set's order changes from one process to the next, and the
        # answer must not (clients share what they compute).
        looked_up = sorted(words, key=lambda word: (-len(word), word))[:2]
        if name is not None and name not in looked_up:
            looked_up.append(name)
        for word in looked_up:
            hits.update(target.lines_with(word, MAX_SEED_HITS * 4) or ())
        found = sorted(hits)
    else:
        index = allowed.word_index(target)
        present = [word for word in words if word in index]
        for word in sorted(present, key=lambda word: (len(index[word]), word))[:2]:
            positions = index.get(word, [])
            if len(positions) > MAX_SEED_HITS * 4:
                break
            hits.update(positions)
        found = sorted(hits)
    return [
        p
        for p in found
        if line_similarity(code, r, target, p) >= SEED_SIMILARITY
        or (name is not None and declared_name(target.lines[p]) == name)
    ]


def context_score(probe: Probe, target: PreparedText, start: int, end: int) -> float | None:
    """Return how well the probe's surroundings are found around target lines ``start..end``."""
    total = weight = 0.0
    for side, lines in ((probe.before, _nearby(target, start, -1)), (probe.after, _nearby(target, end, 1))):
        informative = [i for i in range(len(side)) if side.keys[i]]
        if not informative:
            continue
        present = {target.keys[j] for j in lines}
        for i in informative:
            line_weight = key_info(side.keys[i], 1)
            if side.keys[i] in present:
                best = 1.0
            else:
                best = max((line_similarity(side, i, target, j) for j in lines), default=0.0)
            total += line_weight * best
            weight += line_weight
    if weight == 0:
        return None
    return total / weight


def _nearby(target: PreparedText, edge: int, step: int) -> list[int]:
    """Return up to CONTEXT_WINDOW non-blank target lines beyond ``edge`` in direction ``step``."""
    found: list[int] = []
    position = edge + step
    while 0 <= position < len(target) and len(found) < CONTEXT_WINDOW:
        if target.keys[position]:
            found.append(position)
        position += step
    return found


def score_place(
    probe: Probe, target: PreparedText, start: int, end: int, content: float, *, exact: bool
) -> Match:
    """Return the probe scored as found at target lines ``start..end`` with the given content."""
    context = context_score(probe, target, start, end)
    if context is None:
        score = content
        context = 0.0
    else:
        score = blend(content, context, probe.info)
    return Match(start, end, content, context, score, exact)
