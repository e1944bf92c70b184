"""Line up the lines of two small regions by similarity, LHDiff-style, keeping their order.

Inside a hunk the diff only says "these old lines became those new lines". To follow one line
through the hunk we score every old/new pair: content and context similarity blended by how
distinctive the old line is (see ``similarity``), plus a small prior for pairs at the same relative
position, and keep pairs above a threshold. LHDiff then takes each line's best candidate; we take
the best *order-preserving* set of pairs (a weighted longest common subsequence), so that the first
and last lines of a block can never cross. Hunks too large for that fall back to the best candidate
of each line that is actually asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .budget import check, spend
from .diff import diff_lines
from .normalise import MAX_WRAP, PreparedText, key_info, open_brackets
from .similarity import blend, context_similarity, joined_similarity, line_similarity

# A pair must be at least this alike in content: context alone never makes two lines the same.
CONTENT_MIN = 0.4
# A pair must score at least this (content and context blended) to be aligned.
PAIR_THRESHOLD = 0.5
# The most that position alone adds to a pair's score: enough to break ties, never to decide.
POSITION_PRIOR = 0.05
# Above this many pairs a hunk is aligned line by line instead of as a whole...
MAX_DP_CELLS = 1_600
# ... each line among this many new lines on either side of its proportional place.
LARGE_HUNK_WINDOW = 40
# Lines a fuzzy block match must share at least this much to be paired.
BLOCK_LINE_MIN = 0.5
# A block this small against its window (lines times lines) is aligned by the best pairs overall, not by a
# diff first: of a short block's lines, the one left verbatim is often one that every sibling has
# (``is_immutable(self)`` under each method), and a diff pairs it with the window's first copy, which
# leaves the edited header nothing to pair with.
SMALL_BLOCK_CELLS = 64
# What a line made only of these says is where a construct ends, not which one.
_BRACKETS = "{}()[];,"
# Far smaller than any difference of similarity: decides between equal pairings only.
TIE_BREAK = 1e-9

Pairs = dict[int, tuple[int, float]]
# An old line's counterpart in a hunk: first and last new line (a line may have been split), and
# the content similarity of those lines joined.
Spans = dict[int, tuple[int, int, float]]
# Growing a counterpart by one more line must improve the similarity by at least this much.
SPLIT_GAIN = 0.02
# ... but a line that opens a bracket is taken in front of its continuation if it costs no more.
WRAP_TOLERANCE = 0.05


def best_monotone_pairs(
    rows: Sequence[int], columns: Sequence[int], score: Callable[[int, int], float]
) -> Pairs:
    """Return the order-preserving pairs of rows and columns with the largest total score.

    ``score`` returns 0 for pairs that must not be aligned. The result maps a row to its column and
    the pair's score.
    """
    width = len(columns)
    scores = [[score(row, column) for column in columns] for row in rows]
    table = [[0.0] * (width + 1) for _ in range(len(rows) + 1)]
    for x in range(1, len(rows) + 1):
        row_scores, previous, current = scores[x - 1], table[x - 1], table[x]
        for y in range(1, width + 1):
            best = previous[y] if previous[y] >= current[y - 1] else current[y - 1]
            pair = row_scores[y - 1]
            if pair > 0 and previous[y - 1] + pair > best:
                best = previous[y - 1] + pair
            current[y] = best
    pairs: Pairs = {}
    x, y = len(rows), width
    while x > 0 and y > 0:
        pair = scores[x - 1][y - 1]
        if pair > 0 and table[x][y] == table[x - 1][y - 1] + pair:
            pairs[rows[x - 1]] = (columns[y - 1], pair)
            x -= 1
            y -= 1
        elif table[x][y] == table[x - 1][y]:
            x -= 1
        else:
            y -= 1
    return pairs


def hunk_pair_score(
    old: PreparedText, new: PreparedText, old_span: range, new_span: range
) -> Callable[[int, int], float]:
    """Return the LHDiff pair score for lines of one hunk (0 for pairs below the threshold)."""
    old_size = max(len(old_span) - 1, 1)
    new_size = max(len(new_span) - 1, 1)

    def score(i: int, j: int) -> float:
        content = line_similarity(old, i, new, j)
        if content < CONTENT_MIN:
            return 0.0
        context = context_similarity(old, i, new, j)
        offset = abs((i - old_span.start) / old_size - (j - new_span.start) / new_size)
        value = blend(content, context, old.info(i)) + POSITION_PRIOR * (1 - min(offset, 1.0))
        return value if value >= PAIR_THRESHOLD else 0.0

    return score


def hunk_is_small(old_span: range, new_span: range) -> bool:
    """Return True if a hunk is small enough to be aligned as a whole."""
    return len(old_span) * len(new_span) <= MAX_DP_CELLS


def align_hunk(
    old: PreparedText, new: PreparedText, old_span: range, new_span: range, wanted: Sequence[int]
) -> Spans:
    """Return the new lines (and pair score) of old lines of a hunk that have a good counterpart."""
    score = hunk_pair_score(old, new, old_span, new_span)
    if hunk_is_small(old_span, new_span):
        # Up to MAX_DP_CELLS line comparisons, each costing microseconds: look at the budget first.
        check()
        pairs = best_monotone_pairs(old_span, new_span, score)
    else:
        # Too large to align as a whole: each line asked about looks for its counterpart near its
        # proportional place only, so a rewritten file costs a window per line, not a file.
        pairs = {}
        ratio = len(new_span) / len(old_span) if old_span else 0.0
        for i in wanted:
            spend(2 * LARGE_HUNK_WINDOW)
            middle = new_span.start + int((i - old_span.start) * ratio)
            window = range(
                max(middle - LARGE_HUNK_WINDOW, new_span.start),
                min(middle + LARGE_HUNK_WINDOW, new_span.stop),
            )
            best_j, best = -1, 0.0
            for j in window:
                value = score(i, j)
                if value > best:
                    best_j, best = j, value
            if best_j >= 0:
                pairs[i] = (best_j, best)
    return _with_wraps(old, new, pairs, old_span, new_span)


def _with_wraps(
    old: PreparedText, new: PreparedText, pairs: Pairs, old_span: range, new_span: range
) -> Spans:
    """Grow each pair over unpaired neighbouring lines, on either side, while that makes it more alike.

    A long line wrapped over several (a signature reformatted one argument per line) is followed
    as a whole, and its first line is where the anchor starts; several lines joined into one all
    lead to it. A neighbour before the pair joins it only if it leaves a bracket open (it starts a
    construct the pair continues), and then even at a small cost in similarity.
    """
    taken = {j for j, _ in pairs.values()}
    paired = set(pairs)
    spans: Spans = {}
    for i, (j, _) in sorted(pairs.items()):
        if i in spans:
            continue
        lines, targets = range(i, i + 1), range(j, j + 1)
        best = line_similarity(old, i, new, j)
        while best < 1.0 and len(lines) + len(targets) < MAX_WRAP:
            grown = False
            for side, text, span, used in ((1, new, new_span, taken), (0, old, old_span, paired)):
                current = targets if side else lines
                for candidate in (
                    range(current.start - 1, current.stop),
                    range(current.start, current.stop + 1),
                ):
                    added = candidate.start if candidate.start < current.start else candidate.stop - 1
                    if added not in span or added in used or not text.keys[added]:
                        continue
                    opens = added < current.start and open_brackets(text.keys[added]) > 0
                    if added < current.start and not opens:
                        continue
                    if side:
                        similarity = joined_similarity(old, lines, new, candidate)
                    else:
                        similarity = joined_similarity(old, candidate, new, targets)
                    if similarity >= best + (-WRAP_TOLERANCE if opens else SPLIT_GAIN):
                        best, grown = max(best, similarity), True
                        if side:
                            targets = candidate
                        else:
                            lines = candidate
                        used.add(added)
                        break
                if grown:
                    break
            if not grown:
                break
        # A wrapped call or signature ends where its brackets close, however little its closing
        # line (a lone ``)``) adds to the similarity.
        high = targets.stop - 1
        depth = open_brackets("".join(new.keys[targets.start : high + 1]))
        while (
            depth > 0 and high + 1 in new_span and high + 1 not in taken and high - targets.start < MAX_WRAP
        ):
            high += 1
            depth += open_brackets(new.keys[high])
        for line in lines:
            spans[line] = (targets.start, high, best)
    return spans


def align_block(probe: PreparedText, target: PreparedText, low: int, high: int) -> Pairs:
    """Pair the lines of ``probe`` with lines ``low:high`` of ``target``: equal lines, then alike ones."""
    if len(probe) * (high - low) <= SMALL_BLOCK_CELLS:
        return _align_small_block(probe, target, low, high)
    window = target.keys[low:high]
    # A line of brackets alone (``}``, ``})``) inside a block is everywhere: matched first, it would pin the
    # block to the first one in the window and leave its header nothing to pair with. Such lines are paired
    # with the rest, by likeness, between the lines that say something. The block's own first and last
    # lines still pin it (a CSS rule's closing brace).
    last = len(probe) - 1
    keys = [
        key if key.strip(_BRACKETS) or row in (0, last) else f"\0{row}" for row, key in enumerate(probe.keys)
    ]
    matching = diff_lines(keys, window)
    pairs: Pairs = {i: (low + j, 1.0) for i, j in enumerate(matching.old_to_new) if j >= 0 and probe.keys[i]}
    score = _block_pair_score(probe, target)
    weighted = _weighted(probe, score)
    for hunk in matching.hunks:
        rows = range(hunk.old_start, hunk.old_end)
        columns = range(low + hunk.new_start, low + hunk.new_end)
        if not rows or not columns:
            continue
        if len(rows) * len(columns) > MAX_DP_CELLS:
            continue
        found = best_monotone_pairs(rows, columns, weighted)
        pairs.update((i, (j, score(i, j))) for i, (j, _) in found.items())
    return pairs


def _align_small_block(probe: PreparedText, target: PreparedText, low: int, high: int) -> Pairs:
    """Pair a short block's lines with lines ``low:high`` of ``target`` by the best pairs overall."""
    score = _block_pair_score(probe, target)
    weighted = _weighted(probe, score)

    def earliest(i: int, j: int) -> float:
        # Of equally good pairings the earliest lines, as the diff would take them: a block stays
        # together rather than reaching for a later copy of its common line.
        value = weighted(i, j)
        return value - (j - low) * TIE_BREAK if value > 0 else 0.0

    rows = [i for i in range(len(probe)) if probe.keys[i]]
    pairs = best_monotone_pairs(rows, range(low, high), earliest)
    return {i: (j, score(i, j)) for i, (j, _) in pairs.items()}


def _block_pair_score(probe: PreparedText, target: PreparedText) -> Callable[[int, int], float]:
    """Return how alike a probe line and a target line are (0 below BLOCK_LINE_MIN)."""

    def score(i: int, j: int) -> float:
        value = line_similarity(probe, i, target, j)
        return value if value >= BLOCK_LINE_MIN else 0.0

    return score


def _weighted(probe: PreparedText, score: Callable[[int, int], float]) -> Callable[[int, int], float]:
    """Return ``score`` weighted by how much a probe line says: a header pair outweighs a ``}`` pair."""
    weights = [key_info(key, 1) for key in probe.keys]

    def weighted(i: int, j: int) -> float:
        return score(i, j) * weights[i]

    return weighted
