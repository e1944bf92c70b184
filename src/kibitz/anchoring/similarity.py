"""How alike two lines, two neighbourhoods and two blocks are, on a 0–1 scale.

Content is compared on the whitespace-free keys by the Dice coefficient of their character pairs
(cheap set intersections in C, tolerant of a renamed variable or an added argument), averaged with
the Dice coefficient of their words weighted by length (so that two lines differing in their one
long identifier are not taken for each other); exact lines score 1. Neighbourhoods (context) are
compared by the Dice coefficient of their words, as LHDiff compares the lines around a line. The
two are blended with weights that depend on how distinctive the content is: a long unique line
speaks for itself, while ``def __init__(self):`` or ``return None`` says almost nothing and must be
recognised by what surrounds it.
"""

from __future__ import annotations

from .normalise import PreparedText, bigrams

# LHDiff's split between content and context for a single, fully distinctive line.
CONTENT_WEIGHT = 0.6
# The information at which content weighs CONTENT_WEIGHT; more makes context matter less and less.
INFO_HALF = (1 - CONTENT_WEIGHT) / CONTENT_WEIGHT


def dice(first: frozenset[str], second: frozenset[str]) -> float:
    """Return the Dice coefficient of two sets (two empty sets are not alike)."""
    total = len(first) + len(second)
    if not total:
        return 0.0
    return 2 * len(first & second) / total


def line_similarity(old: PreparedText, i: int, new: PreparedText, j: int) -> float:
    """Return how alike old line ``i`` and new line ``j`` are by content (1 for equal keys).

    A line that opens a bracket is also compared as the whole logical line it starts, so that a
    signature wrapped over several lines is still like its one-line former self.
    """
    key = old.keys[i]
    other = new.keys[j]
    if key == other:
        return 1.0
    if not key or not other:
        return 0.0
    # The hottest function of the engine: each line's facts come in one cached lookup.
    old_pairs, old_words, old_logical = old.features(i)
    new_pairs, new_words, new_logical = new.features(j)
    similarity = _alike(key, old_pairs, old_words, other, new_pairs, new_words)
    if old_logical is None and new_logical is None:
        return similarity
    if old_logical is None:
        old_logical = (i, old_pairs, old_words, old.head(i))
    if new_logical is None:
        new_logical = (j, new_pairs, new_words, new.head(j))
    # Only the same construct (the same words before its first bracket: ``def name``, ``x = f``)
    # may be recognised by its whole logical line: two signatures share many parameter names.
    if old_logical[3] == new_logical[3]:
        whole = _alike(None, old_logical[1], old_logical[2], None, new_logical[1], new_logical[2])
        similarity = max(similarity, whole)
    return similarity


def _alike(
    key: str | None,
    pairs: frozenset[str],
    words: frozenset[str],
    other: str | None,
    other_pairs: frozenset[str],
    other_words: frozenset[str],
) -> float:
    """Return the content similarity of two (logical) lines from their pairs and words."""
    if key is not None and other is not None:
        # Dice of pair sets can exceed this length bound only for keys of similar lengths: a quick
        # upper bound avoids comparing hopeless pairs.
        shorter, longer = len(key), len(other)
        if shorter > longer:
            shorter, longer = longer, shorter
        if 2 * shorter / (shorter + longer) < 0.3:
            return 0.0
    return (dice(pairs, other_pairs) + word_dice(words, other_words)) / 2


def joined_similarity(old: PreparedText, old_lines: range, new: PreparedText, new_lines: range) -> float:
    """Return how alike some consecutive old lines and some consecutive new lines are, each joined."""
    if len(old_lines) == 1 and len(new_lines) == 1:
        return line_similarity(old, old_lines[0], new, new_lines[0])
    if "".join(old.keys[old_lines.start : old_lines.stop]) == "".join(
        new.keys[new_lines.start : new_lines.stop]
    ):
        return 1.0
    key = "".join(old.code(i) for i in old_lines)
    other = "".join(new.code(j) for j in new_lines)
    old_words = frozenset().union(*(old.words(i) for i in old_lines))
    new_words = frozenset().union(*(new.words(j) for j in new_lines))
    return (dice(bigrams(key), bigrams(other)) + word_dice(old_words, new_words)) / 2


def word_dice(first: frozenset[str], second: frozenset[str]) -> float:
    """Return how alike the words of an old line and a new line are, each weighted by its length.

    Character pairs alone find ``def function_207(value):`` and ``def function_195(value):`` very
    alike; the words, long identifiers weighing most, say that they name different things.
    """
    size = sum(map(len, first))
    total = size + sum(map(len, second))
    if not total or not size:
        return 0.0
    common = sum(map(len, first & second))
    # Half Dice, half containment of the old words in the new line: a signature that gained
    # parameters keeps all of its words and should stay recognisable however many it gained.
    return (2 * common / total + common / size) / 2


def context_similarity(old: PreparedText, i: int, new: PreparedText, j: int) -> float:
    """Return how alike the neighbourhoods of old line ``i`` and new line ``j`` are."""
    return dice(old.context_words(i), new.context_words(j))


def content_weight(info: float) -> float:
    """Return the share of content (vs context) in a match score, given the content's information."""
    return info / (info + INFO_HALF) if info > 0 else 0.0


def blend(content: float, context: float, info: float) -> float:
    """Return the match score of a candidate from its content and context similarity."""
    weight = content_weight(info)
    return weight * content + (1 - weight) * context
