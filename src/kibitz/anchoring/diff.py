"""A histogram line diff (the algorithm of jgit and ``git diff --histogram``), written for the engine.

For a region of the old and new texts it finds the longest run of equal lines that contains the
*rarest* line the two sides share, keeps it, and recurses on the parts before and after it. Rare
lines are the ones a human would line up first (a ``def`` with its name, not a blank line or a
closing bracket), so moved and duplicated boilerplate does not drag the alignment around the way
a plain longest-common-subsequence does. Equal prefixes and suffixes are peeled off first, which
makes the common case (a few edits in a long file) nearly linear. Regions whose shared lines are
all very common fall back to ``difflib`` without its auto-junk heuristic, which would otherwise
silently ignore frequent lines.

Two kinds of input need more than that. In a very large region (a 50,000-line file edited all
over) picking one run at a time can cost a pass over the region per run; there the lines that
occur exactly once on each side and keep their order (patience diff's anchors) are matched first,
and the histogram works on the small regions between them. A large region whose every line is
common (a generated table, data) is too large for ``difflib``: there runs of consecutive lines
(shingles), which are far rarer than single lines, are diffed instead. A region that still cannot
be matched is left *unresolved*: the engine then gives up on blocks in it rather than guess.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Protocol

from .budget import CLOCK_EVERY, afford, spend

# Lines occurring more often than this in a region are too common to anchor on (jgit's limit).
MAX_CHAIN = 64
# difflib is quadratic at worst; past this many line pairs a region stays unmatched instead.
MAX_FALLBACK_CELLS = 4_000_000
# What difflib takes per line pair at worst (measured on regions of a few common lines), to know
# before starting it whether it would end past the budget's deadline.
FALLBACK_SECONDS_PER_CELL = 5e-8
# A region with more lines than this on one side is first cut at its unique lines kept in order.
LARGE_REGION = 5_000
# Lines per shingle when a large region's lines are all common: long enough to be rare in data.
SHINGLE = 8


@dataclass(frozen=True, slots=True)
class Hunk:
    """Old lines ``old_start:old_end`` became new lines ``new_start:new_end`` (0-based, exclusive)."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int


class LineDiff:
    """A one-to-one, order-preserving matching of equal lines between two key sequences."""

    __slots__ = ("_hunk_starts", "hunks", "new_to_old", "old_to_new", "unmatched_before", "unresolved")

    def __init__(
        self, old_to_new: list[int], new_to_old: list[int], unresolved: Sequence[range] = ()
    ) -> None:
        self.old_to_new = old_to_new
        self.new_to_old = new_to_old
        # Old lines of regions that share lines with the new text but were too large to match.
        self.unresolved = tuple(unresolved)
        self.hunks = _hunks(old_to_new, new_to_old)
        self._hunk_starts = [hunk.old_start for hunk in self.hunks]
        # unmatched_before[i] is the number of old lines before line i that have no match (-1).
        self.unmatched_before = list(accumulate(map((-1).__eq__, old_to_new), initial=0))

    def hunk_at(self, old_line: int) -> Hunk | None:
        """Return the hunk that replaced or deleted old line ``old_line`` (0-based), if any."""
        index = bisect.bisect_right(self._hunk_starts, old_line) - 1
        if index >= 0:
            hunk = self.hunks[index]
            if hunk.old_start <= old_line < hunk.old_end:
                return hunk
        return None

    def hunks_between(self, first_old: int, last_old: int) -> list[Hunk]:
        """Return the hunks whose old side starts within ``first_old..last_old`` (inclusive)."""
        low = bisect.bisect_left(self._hunk_starts, first_old)
        high = bisect.bisect_right(self._hunk_starts, last_old)
        return self.hunks[low:high]

    def unresolved_in(self, first_old: int, last_old: int) -> bool:
        """Return True if any of old lines ``first_old..last_old`` is in a region left unmatched."""
        return any(span.start <= last_old and first_old < span.stop for span in self.unresolved)

    def intact(self, first_old: int, last_old: int) -> bool:
        """Return True if old lines ``first_old..last_old`` all survive, adjacent and in order."""
        if self.unmatched_before[last_old + 1] != self.unmatched_before[first_old]:
            return False
        # Matches are strictly increasing, so equal spans mean nothing was inserted in between.
        return self.old_to_new[last_old] - self.old_to_new[first_old] == last_old - first_old


def diff_lines(
    old: Sequence[str], new: Sequence[str], where: Mapping[str, int | list[int]] | None = None
) -> LineDiff:
    """Match equal lines of ``old`` and ``new`` with the histogram algorithm.

    ``where`` is where each old line occurs, as ``positions(old)`` gives it (or with a list for every
    line): given by a caller who diffs the same old lines again and again, computed here otherwise.
    """
    old_to_new, new_to_old, unresolved = _diff(
        old, new, positions(old) if where is None else where, shingle=True
    )
    return LineDiff(old_to_new, new_to_old, unresolved)


def _diff(
    old: Sequence[str], new: Sequence[str], where: Mapping[str, int | list[int]], *, shingle: bool
) -> tuple[list[int], list[int], list[range]]:
    """Return the matching of ``diff_lines`` as two maps, and the old lines left unresolved."""
    old_to_new = [-1] * len(old)
    new_to_old = [-1] * len(new)
    unresolved: list[range] = []
    # An explicit stack: a recursion would overflow on long files with many small edits.
    stack = [(0, len(old), 0, len(new))]
    # Work is counted here and handed to the budget in batches: most regions are a few lines.
    work = 0
    while stack:
        a0, a1, b0, b1 = stack.pop()
        work += a1 - a0 + b1 - b0
        if work >= CLOCK_EVERY:
            spend(work)
            work = 0
        while a0 < a1 and b0 < b1 and old[a0] == new[b0]:
            old_to_new[a0] = b0
            new_to_old[b0] = a0
            a0 += 1
            b0 += 1
        while a0 < a1 and b0 < b1 and old[a1 - 1] == new[b1 - 1]:
            a1 -= 1
            b1 -= 1
            old_to_new[a1] = b1
            new_to_old[b1] = a1
        if a0 == a1 or b0 == b1:
            continue
        pairs: list[tuple[int, int]] = []
        if max(a1 - a0, b1 - b0) > LARGE_REGION:
            pairs = _unique_pairs(old, new, a0, a1, b0, b1)
        if not pairs:
            found, shared = _rarest_run(old, new, where, a0, a1, b0, b1)
            if found is not None:
                start_old, start_new, length = found
                pairs = [(start_old + offset, start_new + offset) for offset in range(length)]
            elif not shared:
                continue  # nothing in common: simply all changed
            elif (a1 - a0) * (b1 - b0) <= MAX_FALLBACK_CELLS:
                _fallback(old, new, a0, a1, b0, b1, old_to_new, new_to_old)
                continue
            else:
                pairs = _shingle_pairs(old, new, a0, a1, b0, b1) if shingle else []
                if not pairs:
                    unresolved.append(range(a0, a1))
                    continue
        # Match the pairs (in order on both sides) and diff the regions between them.
        previous_old, previous_new = a0, b0
        for i, j in pairs:
            old_to_new[i] = j
            new_to_old[j] = i
            if i > previous_old or j > previous_new:
                stack.append((previous_old, i, previous_new, j))
            previous_old, previous_new = i + 1, j + 1
        stack.append((previous_old, a1, previous_new, b1))
    return old_to_new, new_to_old, unresolved


def _unique_pairs(
    old: Sequence[str], new: Sequence[str], a0: int, a1: int, b0: int, b1: int
) -> list[tuple[int, int]]:
    """Return the lines occurring once on each side of a region, the longest run of them kept in order.

    Patience diff's anchors: the longest increasing subsequence (by new position) of the pairs of
    lines unique on both sides, found by patience sorting.
    """
    counts: dict[str, int] = {}
    for position in range(a0, a1):
        counts[old[position]] = counts.get(old[position], 0) + 1
    in_new: dict[str, int] = {}
    for position in range(b0, b1):
        key = new[position]
        if counts.get(key) == 1:
            in_new[key] = -1 if key in in_new else position
    candidates = [
        (i, in_new[old[i]]) for i in range(a0, a1) if counts[old[i]] == 1 and in_new.get(old[i], -1) >= 0
    ]
    # tails[k]: the index in candidates of the smallest new line ending an increasing run of k + 1.
    tails: list[int] = []
    tail_lines: list[int] = []
    before: list[int] = []
    for index, (_, j) in enumerate(candidates):
        k = bisect.bisect_left(tail_lines, j)
        before.append(tails[k - 1] if k else -1)
        if k == len(tails):
            tails.append(index)
            tail_lines.append(j)
        else:
            tails[k] = index
            tail_lines[k] = j
    pairs = []
    index = tails[-1] if tails else -1
    while index >= 0:
        pairs.append(candidates[index])
        index = before[index]
    pairs.reverse()
    return pairs


def _shingle_pairs(
    old: Sequence[str], new: Sequence[str], a0: int, a1: int, b0: int, b1: int
) -> list[tuple[int, int]]:
    """Return line pairs of a large region of common lines, matched by runs of SHINGLE lines.

    Each line stands for the run of lines it starts; runs are diffed like lines (but not shingled
    again), and every matched run matches its lines, kept one-to-one and in order.
    """
    if a1 - a0 < SHINGLE or b1 - b0 < SHINGLE:
        return []
    olds = ["\n".join(old[i : i + SHINGLE]) for i in range(a0, a1 - SHINGLE + 1)]
    news = ["\n".join(new[j : j + SHINGLE]) for j in range(b0, b1 - SHINGLE + 1)]
    runs, _, _ = _diff(olds, news, positions(olds), shingle=False)
    pairs: list[tuple[int, int]] = []
    last_old = last_new = -1
    for s, t in enumerate(runs):
        if t < 0:
            continue
        for offset in range(SHINGLE):
            i, j = a0 + s + offset, b0 + t + offset
            if i > last_old and j > last_new:
                pairs.append((i, j))
                last_old, last_new = i, j
    return pairs


def positions(lines: Sequence[str]) -> dict[str, int | list[int]]:
    """Return where each line occurs: its position if once, else the list of its positions in order.

    Most lines occur once; a list for each would be thousands of objects at each diff for the garbage
    collector to track (an editor diffs at every keystroke).
    """
    where: dict[str, int | list[int]] = {}
    for position, line in enumerate(lines):
        seen = where.get(line)
        if seen is None:
            where[line] = position
        elif isinstance(seen, int):
            where[line] = [seen, position]
        else:
            seen.append(position)
    return where


def _within(seen: int | list[int], a0: int, a1: int) -> tuple[int, int]:
    """Return the slice of a line's positions (as ``positions`` gives them) that fall in ``a0:a1``."""
    if isinstance(seen, int):
        return (0, 1) if a0 <= seen < a1 else (0, 0)
    return bisect.bisect_left(seen, a0), bisect.bisect_left(seen, a1)


def _rarest_run(
    old: Sequence[str],
    new: Sequence[str],
    where: Mapping[str, int | list[int]],
    a0: int,
    a1: int,
    b0: int,
    b1: int,
) -> tuple[tuple[int, int, int] | None, bool]:
    """Return ``(old_start, new_start, length)`` of the longest equal run around the rarest line.

    Also return whether the two sides share any line at all (if not, there is nothing to match).

    ``where`` is ``positions(old)``: a line's occurrences in the region are those within ``a0:a1``, found
    by bisection, so that the old lines are indexed once per diff rather than once per region.
    """
    best: tuple[int, int, int] | None = None
    best_length = 0
    best_count = MAX_CHAIN + 1
    shared = False
    j = b0
    while j < b1:
        seen = where.get(new[j])
        if seen is None:
            j += 1
            continue
        low, high = _within(seen, a0, a1)
        count = high - low
        if count == 0 or count > best_count:
            shared = shared or count > 0
            j += 1
            continue
        shared = True
        next_j = j + 1
        for i in (seen,) if isinstance(seen, int) else seen[low:high]:
            rarity = count
            start_a, start_b = i, j
            while start_a > a0 and start_b > b0 and old[start_a - 1] == new[start_b - 1]:
                start_a -= 1
                start_b -= 1
                if rarity > 1:
                    rarity = min(rarity, _count(where[old[start_a]], a0, a1))
            end_a, end_b = i + 1, j + 1
            while end_a < a1 and end_b < b1 and old[end_a] == new[end_b]:
                if rarity > 1:
                    rarity = min(rarity, _count(where[old[end_a]], a0, a1))
                end_a += 1
                end_b += 1
            next_j = max(next_j, end_b)
            if end_a - start_a > best_length or rarity < best_count:
                best = (start_a, start_b, end_a - start_a)
                best_length = end_a - start_a
                best_count = rarity
        j = next_j
    return best, shared


def _count(seen: int | list[int], a0: int, a1: int) -> int:
    """Return how many of a line's positions (as ``positions`` gives them) fall in ``a0:a1``."""
    low, high = _within(seen, a0, a1)
    return high - low


def _fallback(
    old: Sequence[str],
    new: Sequence[str],
    a0: int,
    a1: int,
    b0: int,
    b1: int,
    old_to_new: list[int],
    new_to_old: list[int],
) -> None:
    """Match a region whose shared lines are all common (small enough for ``difflib``)."""
    cells = (a1 - a0) * (b1 - b0)
    if cells > CLOCK_EVERY:
        afford(cells * FALLBACK_SECONDS_PER_CELL)
    matcher = difflib.SequenceMatcher(None, old[a0:a1], new[b0:b1], autojunk=False)
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            old_to_new[a0 + block.a + offset] = b0 + block.b + offset
            new_to_old[b0 + block.b + offset] = a0 + block.a + offset


def _hunks(old_to_new: list[int], new_to_old: list[int]) -> list[Hunk]:
    """Return the maximal runs of unmatched lines, as hunks in order."""
    hunks = []
    i = j = 0
    n, m = len(old_to_new), len(new_to_old)
    while i < n or j < m:
        if i < n and j < m and old_to_new[i] == j:
            i += 1
            j += 1
            continue
        start_i, start_j = i, j
        while i < n and old_to_new[i] < 0:
            i += 1
        while j < m and new_to_old[j] < 0:
            j += 1
        hunks.append(Hunk(start_i, i, start_j, j))
    return hunks


# Git's indent heuristic (xdiff/xdiffi.c): where an inserted or deleted block could equally be
# placed a few lines higher or lower (it starts and ends with the same line), put it where its
# edges fall on blank lines and shallow indentation, as a human would cut the text. Without it an
# insertion that ends with ``return x`` just above an old ``return x`` steals that line's match.
_MAX_SLIDE = 100
_MAX_BLANKS = 20
_START_OF_FILE_PENALTY = 1
_END_OF_FILE_PENALTY = 21
_TOTAL_BLANK_WEIGHT = -30
_POST_BLANK_WEIGHT = 6
_RELATIVE_INDENT_PENALTY = -4
_RELATIVE_INDENT_WITH_BLANK_PENALTY = 10
_RELATIVE_OUTDENT_PENALTY = 24
_RELATIVE_OUTDENT_WITH_BLANK_PENALTY = 17
_RELATIVE_DEDENT_PENALTY = 23
_RELATIVE_DEDENT_WITH_BLANK_PENALTY = 17
_INDENT_WEIGHT = 60


class Indentation(Protocol):
    """Each line's indentation, -1 for a blank line."""

    def __len__(self) -> int: ...

    def __getitem__(self, position: int) -> int: ...


def slide_hunks(
    matching: LineDiff,
    old_keys: Sequence[str],
    new_keys: Sequence[str],
    old_indents: Indentation,
    new_indents: Indentation,
) -> LineDiff:
    """Return ``matching`` with each pure insertion and deletion moved to its most natural place.

    ``*_indents`` give each line's indentation, or -1 for a blank line.
    """
    old_to_new, new_to_old = list(matching.old_to_new), list(matching.new_to_old)
    moved = False
    for hunk in matching.hunks:
        if hunk.old_start == hunk.old_end:
            moved |= _slide(new_to_old, old_to_new, new_keys, new_indents, hunk.new_start, hunk.new_end)
        elif hunk.new_start == hunk.new_end:
            moved |= _slide(old_to_new, new_to_old, old_keys, old_indents, hunk.old_start, hunk.old_end)
    return LineDiff(old_to_new, new_to_old, matching.unresolved) if moved else matching


def _slide(
    side: list[int], other: list[int], keys: Sequence[str], indents: Indentation, start: int, end: int
) -> bool:
    """Slide the unmatched run ``start:end`` of one side to its best place; True if it moved.

    Sliding down by one line re-matches the counterpart of line ``end`` to the equal line
    ``start``; sliding up does the reverse. A slide never crosses another unmatched line.
    """
    up = 0
    while (
        up < _MAX_SLIDE
        and start - up - 1 >= 0
        and side[start - up - 1] >= 0
        and keys[start - up - 1] == keys[end - up - 1]
    ):
        up += 1
    down = 0
    while (
        down < _MAX_SLIDE
        and end + down < len(side)
        and side[end + down] >= 0
        and keys[end + down] == keys[start + down]
    ):
        down += 1
    if not up and not down:
        return False
    best_shift, best = 0, (0, 0)
    for shift in range(-up, down + 1):
        score = _add_split(indents, end + shift, _add_split(indents, start + shift, (0, 0)))
        # Later (lower) places win ties, as in git.
        if shift == -up or _compare(score, best) <= 0:
            best_shift, best = shift, score
    for k in range(best_shift):
        counterpart = side[end + k]
        side[start + k], side[end + k] = counterpart, -1
        other[counterpart] = start + k
    for k in range(-best_shift):
        counterpart = side[start - 1 - k]
        side[end - 1 - k], side[start - 1 - k] = counterpart, -1
        other[counterpart] = end - 1 - k
    return best_shift != 0


def _add_split(indents: Indentation, split: int, score: tuple[int, int]) -> tuple[int, int]:
    """Return ``(effective indent, penalty)`` plus the cost of cutting the text before ``split``."""
    size = len(indents)
    end_of_file = split >= size
    indent = -1 if end_of_file else indents[split]
    pre_blank, pre_indent = 0, -1
    for position in range(split - 1, -1, -1):
        pre_indent = indents[position]
        if pre_indent != -1:
            break
        pre_blank += 1
        if pre_blank == _MAX_BLANKS:
            pre_indent = 0
            break
    post_blank, post_indent = 0, -1
    for position in range(split + 1, size):
        post_indent = indents[position]
        if post_indent != -1:
            break
        post_blank += 1
        if post_blank == _MAX_BLANKS:
            post_indent = 0
            break

    effective, penalty = score
    if pre_indent == -1 and pre_blank == 0:
        penalty += _START_OF_FILE_PENALTY
    if end_of_file:
        penalty += _END_OF_FILE_PENALTY
    post_blank = 1 + post_blank if indent == -1 else 0
    total_blank = pre_blank + post_blank
    penalty += _TOTAL_BLANK_WEIGHT * total_blank + _POST_BLANK_WEIGHT * post_blank
    if indent == -1:
        indent = post_indent
    blanks = total_blank != 0
    effective += indent
    if indent == -1 or pre_indent == -1 or indent == pre_indent:
        pass
    elif indent > pre_indent:
        penalty += _RELATIVE_INDENT_WITH_BLANK_PENALTY if blanks else _RELATIVE_INDENT_PENALTY
    elif post_indent != -1 and post_indent > indent:
        penalty += _RELATIVE_OUTDENT_WITH_BLANK_PENALTY if blanks else _RELATIVE_OUTDENT_PENALTY
    else:
        penalty += _RELATIVE_DEDENT_WITH_BLANK_PENALTY if blanks else _RELATIVE_DEDENT_PENALTY
    return effective, penalty


def _compare(first: tuple[int, int], second: tuple[int, int]) -> int:
    """Return <0, 0 or >0 as the split score ``first`` is better than, as good as or worse than ``second``."""
    indent = (first[0] > second[0]) - (first[0] < second[0])
    return _INDENT_WEIGHT * indent + first[1] - second[1]
