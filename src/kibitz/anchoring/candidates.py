"""Other files a block may have moved into: prepared lazily, searched through shared indexes.

A caller offers the texts of files that appeared or changed in the same commit (a module split in
two, a file renamed and edited). Dozens of them may come with one file pair, so nothing is done to
a candidate until some block has to be looked for there, and then as little as possible: exact
copies are found through one index of every candidate's lines, and only the few candidates that
share a block's rarer words are searched fuzzily.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

from .budget import spend
from .moves import CONTEXT_WINDOW, MIN_WORD, Probe, verbatim_context
from .normalise import WORD, PreparedText, prepare

# How many candidate files are searched fuzzily (those sharing most of a block's words), and how
# many of the block's lines make up its vocabulary for choosing them.
FUZZY_CANDIDATES = 4
MAX_VOCABULARY_LINES = 30
# Of more exact copies of a block than this in the candidates, only this many are scored: those with the
# most context lines found verbatim around them (``pub fn new(`` is in every file, but ``impl Dict {``
# above it only in one).
MAX_COPIES = 50
# A block whose rarest line occurs more often than this in the candidates is not looked for there: its
# copies would cost more to rank than they can tell.
MAX_RANKED_COPIES = 1_000
# Reading this many characters of a candidate costs about as much as looking at one line.
CHARS_PER_UNIT = 32


class CandidateTexts:
    """Other files' texts, prepared only if some block has to be looked for in them."""

    def __init__(self, texts: Sequence[str]) -> None:
        self._texts = list(texts)
        self._prepared: dict[int, PreparedText] = {}
        self._vocabularies: dict[int, frozenset[str]] = {}
        # How many lines of all candidates have each key, and each candidate's keys: counted in C, which
        # costs a fraction of an index of every line's position that most calls never look at.
        self._counts: Counter[str] | None = None
        self._keys: list[frozenset[str]] = []

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, index: int) -> PreparedText:
        found = self._prepared.get(index)
        if found is None:
            spend(len(self._texts[index]) // CHARS_PER_UNIT)
            found = self._prepared[index] = prepare(self._texts[index])
        return found

    def copies(self, probe: Probe) -> list[tuple[int, int]]:
        """Return ``(candidate, start line)`` of every exact copy of the block in the candidates.

        One count of every candidate's lines answers all blocks: the block's rarest line is chosen
        once over all files, and looked for only in the files that have it.
        """
        counts = self._counts
        if counts is None:
            counts, has_keys = Counter[str](), []
            for index in range(len(self)):
                spend(len(self[index]))
                counts.update(self[index].keys)
                has_keys.append(frozenset(self[index].keys))
            # Kept only once complete: the budget may run out half way.
            self._counts, self._keys = counts, has_keys
        keys = probe.code.keys
        informative = [r for r in range(len(keys)) if probe.infos[r] > 0]
        if not informative:
            return []
        seed = min(informative, key=lambda r: (counts[keys[r]], -probe.infos[r]))
        if counts[keys[seed]] > MAX_RANKED_COPIES:
            # Every line of the block is commonplace there: a copy would prove nothing.
            return []
        found = []
        for index, has in enumerate(self._keys):
            if keys[seed] in has:
                text = self[index].keys
                for position in _positions(text, keys[seed]):
                    start = position - seed
                    if start >= 0 and text[start : start + len(keys)] == keys:
                        found.append((index, start))
        if len(found) > MAX_COPIES:
            spend(len(found) * 2 * CONTEXT_WINDOW)
            # Sorted is stable: ties keep the candidates' order, so the answer depends on the texts only.
            shared = verbatim_context(probe)
            found = sorted(found, key=lambda place: -shared(self[place[0]], place[1]))
            found = found[:MAX_COPIES]
        return found

    def likely(self, probe: Probe) -> list[int]:
        """Return the few candidates sharing most of the block's words, the likeliest first.

        A fuzzy search costs an alignment per proposed place; among dozens of files (a package
        split into modules) only those that share the block's vocabulary are worth it.
        """
        code, after = probe.code, probe.after
        vocabulary = frozenset().union(
            *(code.words(i) for i in range(min(len(code), MAX_VOCABULARY_LINES))),
            *(after.words(i) for i in range(len(after))),
        )
        vocabulary = frozenset(word for word in vocabulary if len(word) >= MIN_WORD)
        found_in = {index: vocabulary & self._vocabulary(index) for index in range(len(self))}
        # A word every candidate has (``self``, ``return``) says nothing; a rare one says much.
        spread: dict[str, int] = {}
        for words in found_in.values():
            for word in words:
                spread[word] = spread.get(word, 0) + 1
        shares = []
        for index, words in found_in.items():
            shared = sum(len(word) / spread[word] for word in words)
            if shared:
                shares.append((shared, index))
        shares.sort(key=lambda share: (-share[0], share[1]))
        return [index for _, index in shares[:FUZZY_CANDIDATES]]

    def _vocabulary(self, index: int) -> frozenset[str]:
        """Return every word of a candidate (one pass over its text)."""
        found = self._vocabularies.get(index)
        if found is None:
            spend(len(self._texts[index]) // CHARS_PER_UNIT)
            found = self._vocabularies[index] = vocabulary(self._texts[index])
        return found


# Every ASCII character that is not a word character (``\w``), as a space.
_NOT_WORD = str.maketrans({chr(c): " " for c in range(128) if not (chr(c).isalnum() or chr(c) == "_")})


def vocabulary(text: str) -> frozenset[str]:
    """Return the words of a text, as ``WORD.findall`` finds them, a few times faster.

    In ASCII a word character is a letter, a digit or ``_``: the words are what remains between the
    other characters once they are spaces. Only a piece holding other characters (``café``, ``x→y``)
    needs the regular expression, as a space is never a word character.
    """
    pieces = text.translate(_NOT_WORD).split()
    if text.isascii():
        return frozenset(pieces)
    return frozenset(
        word for piece in pieces for word in ((piece,) if piece.isascii() else WORD.findall(piece))
    )


def _positions(keys: list[str], key: str) -> Iterator[int]:
    """Yield the positions of ``key`` in ``keys``, in order (``list.index`` looks in C)."""
    position = -1
    while True:
        try:
            position = keys.index(key, position + 1)
        except ValueError:
            return
        yield position
