"""Turn a text into lines the engine can compare: one pass, cached, shared by every anchor.

Line endings (CRLF, CR) and a leading BOM are normalised first, so a Windows checkout of a file
equals its LF blob. Lines are then compared by a *key* with all whitespace removed: re-indenting
a block (wrapping it in a class, black reformatting ``a=b`` into ``a = b``) is not a change of
content. Everything else the engine needs about a line (its tokens, how distinctive it is, its
neighbourhood) is computed lazily, because most anchors only ever need the keys.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from functools import lru_cache

_BOM = "\ufeff"
# Whitespace other than the line feed, removed from the whole text in one pass (much faster than
# splitting and joining each line): a translation table for ASCII text, a regex for the rest.
_INNER_SPACE = re.compile(r"[^\S\n]+")
_ASCII_SPACE = str.maketrans("", "", " \t\x0b\x0c\r\x1c\x1d\x1e\x1f")
WORD = re.compile(r"\w+")

# A line of this many non-blank characters counts as fully distinctive; shorter ones less so.
FULL_INFO_CHARS = 32
# How many non-blank lines on each side make up a line's neighbourhood.
CONTEXT_LINES = 4
# The most lines a wrapped line (a call or signature split over several) is followed over.
MAX_WRAP = 40
# Only this much of a line is read to judge its likeness: a minified megabyte-long line must not
# cost a megabyte of set operations per comparison.
MAX_COMPARED_CHARS = 2_000


# A logical line: its last line, character pairs and words, and the words before its first bracket
# (what it is: ``def name``, ``self.call``), or None for a line complete by itself.
Logical = tuple[int, frozenset[str], frozenset[str], frozenset[str]] | None
_HEAD = re.compile(r"[(\[{]")


def normalise_newlines(text: str) -> str:
    """Return ``text`` without a leading BOM and with every CRLF or CR turned into LF."""
    if text.startswith(_BOM):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def split_lines(text: str) -> list[str]:
    """Split ``text`` into lines the way git counts them (a final newline ends, not adds, a line)."""
    text = normalise_newlines(text)
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def line_key(line: str) -> str:
    """Return the comparison key of one line: the line with all whitespace removed."""
    return "".join(line.split())


def bigrams(key: str) -> frozenset[str]:
    """Return the set of adjacent character pairs of a key (a one-character key is its own pair)."""
    key = key[:MAX_COMPARED_CHARS]
    if len(key) < 2:
        return frozenset((key,)) if key else frozenset()
    return frozenset(map(str.__add__, key, key[1:]))


def words(line: str) -> frozenset[str]:
    """Return the identifiers, keywords and numbers of a line."""
    return frozenset(WORD.findall(line[:MAX_COMPARED_CHARS]))


def without_comment(line: str) -> str:
    """Return ``line`` without a trailing ``#`` comment, unless that would leave nothing.

    Likeness is judged on code: a ``# type: ignore`` or ``# noqa`` added to a line does not make it
    another line. A ``#`` inside a string literal is not a comment.
    """
    if "#" not in line:
        return line
    quote = ""
    escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#":
            code = line[:index]
            return code if code.strip() else line
    return line


def open_brackets(key: str) -> int:
    """Return how many more brackets ``key`` opens than it closes (strings are not special-cased)."""
    return sum(map(key.count, "([{")) - sum(map(key.count, ")]}"))


class PreparedText:
    """A text split into lines with comparison keys; richer per-line facts are computed on demand."""

    __slots__ = (
        "_balances",
        "_bigrams",
        "_code",
        "_context",
        "_enclosing",
        "_features",
        "_head",
        "_indents",
        "_index",
        "_info",
        "_joined",
        "_lines_with",
        "_logical",
        "_starts",
        "_word_index",
        "_words",
        "keys",
        "lines",
    )

    def __init__(self, text: str) -> None:
        text = normalise_newlines(text)
        self.lines: list[str] = text.split("\n") if text else []
        self.keys: list[str] = _without_spaces(text).split("\n") if text else []
        if self.lines and self.lines[-1] == "":
            # A final newline ends the last line rather than starting an empty one, as in git.
            self.lines.pop()
            self.keys.pop()
        self._index: dict[str, list[int]] | None = None
        self._word_index: dict[str, list[int]] | None = None
        self._indents: Indents | None = None
        self._bigrams: dict[int, frozenset[str]] = {}
        self._code: dict[int, str] = {}
        self._head: dict[int, frozenset[str]] = {}
        self._info: dict[int, float] = {}
        self._lines_with: dict[str, list[int] | None] = {}
        self._joined: str | None = None
        self._starts: list[int] = []
        self._logical: dict[int, Logical] = {}
        self._words: dict[int, frozenset[str]] = {}
        self._context: dict[int, frozenset[str]] = {}
        self._enclosing: dict[int, int] = {}
        self._features: dict[int, tuple[frozenset[str], frozenset[str], Logical]] = {}
        self._balances: list[int | None] | None = None

    @classmethod
    def from_lines(cls, lines: list[str], keys: list[str]) -> PreparedText:
        """Return a prepared text made of lines already split and keyed (a slice of another)."""
        prepared = cls("")
        prepared.lines = lines
        prepared.keys = keys
        return prepared

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def index(self) -> dict[str, list[int]]:
        """Map each key to the 0-based positions of its lines, in order."""
        if self._index is None:
            index: dict[str, list[int]] = {}
            for position, key in enumerate(self.keys):
                found = index.get(key)
                if found is None:
                    index[key] = [position]
                else:
                    found.append(position)
            self._index = index
        return self._index

    @property
    def word_index(self) -> dict[str, list[int]]:
        """Map each word to the 0-based positions of the lines it occurs on, in order."""
        if self._word_index is None:
            index: dict[str, list[int]] = {}
            findall = WORD.findall
            for position, line in enumerate(self.lines):
                for word in set(findall(line[:MAX_COMPARED_CHARS])):
                    found = index.get(word)
                    if found is None:
                        index[word] = [position]
                    else:
                        found.append(position)
            self._word_index = index
        return self._word_index

    def count(self, key: str) -> int:
        """Return how many lines of this text have ``key``."""
        found = self.index.get(key)
        return 0 if found is None else len(found)

    def info(self, position: int) -> float:
        """Return how much a line says about where it is: long and rare lines say most, blanks nothing."""
        found = self._info.get(position)
        if found is None:
            key = self.keys[position]
            found = self._info[position] = key_info(key, self.count(key))
        return found

    def lines_with(self, word: str, limit: int) -> list[int] | None:
        """Return the lines on which ``word`` occurs, or None if on more than ``limit`` of them.

        Found with ``str.find`` over the whole text, cached per word: much cheaper than an index of
        every word when only a block's rarest words are ever looked up.
        """
        if word in self._lines_with:
            return self._lines_with[word]
        if self._joined is None:
            self._joined = "\n".join(self.lines)
            self._starts = [0, *itertools.accumulate(len(line) + 1 for line in self.lines)]
        text, starts = self._joined, self._starts
        found: list[int] | None = []
        at = text.find(word)
        while at >= 0 and found is not None:
            line = bisect.bisect_right(starts, at) - 1
            if (not found or found[-1] != line) and word in self.words(line):
                found.append(line)
                if len(found) > limit:
                    found = None
            at = text.find(word, at + len(word))
        self._lines_with[word] = found
        return found

    def code(self, position: int) -> str:
        """Return a line's key without its trailing comment (cached)."""
        found = self._code.get(position)
        if found is None:
            found = self._code[position] = line_key(without_comment(self.lines[position]))
        return found

    def bigrams(self, position: int) -> frozenset[str]:
        """Return the character pairs of a line's code (cached)."""
        found = self._bigrams.get(position)
        if found is None:
            found = self._bigrams[position] = bigrams(self.code(position))
        return found

    def features(self, position: int) -> tuple[frozenset[str], frozenset[str], Logical]:
        """Return a line's character pairs, words and logical line, as ``line_similarity`` needs them."""
        found = self._features.get(position)
        if found is None:
            found = self._features[position] = (
                self.bigrams(position),
                self.words(position),
                self.logical(position),
            )
        return found

    def words(self, position: int) -> frozenset[str]:
        """Return the words of a line's code (cached)."""
        found = self._words.get(position)
        if found is None:
            line = self.lines[position]
            found = self._words[position] = words(without_comment(line) if "#" in line else line)
        return found

    def head(self, position: int) -> frozenset[str]:
        """Return the words of a line before its first bracket (cached)."""
        found = self._head.get(position)
        if found is None:
            found = self._head[position] = words(_HEAD.split(self.lines[position], maxsplit=1)[0])
        return found

    def logical(self, position: int) -> Logical:
        """Return the logical line starting here (None if the line is complete by itself).

        A line that opens brackets it does not close continues on the following lines until they
        are closed (at most MAX_WRAP lines; otherwise the line stands alone).
        """
        if position in self._logical:
            return self._logical[position]
        found: Logical = None
        code = self.code(position)
        depth = open_brackets(code)
        end = position
        while depth > 0 and end + 1 < len(self.keys) and end - position < MAX_WRAP:
            end += 1
            depth += open_brackets(self.code(end))
        if end > position and depth == 0:
            span = range(position, end + 1)
            joined = bigrams("".join(self.code(line) for line in span))
            found = (
                end,
                joined,
                frozenset().union(*(self.words(line) for line in span)),
                self.head(position),
            )
        self._logical[position] = found
        return found

    def context_words(self, position: int) -> frozenset[str]:
        """Return the words of the nearest non-blank lines above and below a line (cached)."""
        found = self._context.get(position)
        if found is None:
            collected: set[str] = set()
            for step in (-1, 1):
                taken = 0
                other = position + step
                while 0 <= other < len(self.keys) and taken < CONTEXT_LINES:
                    if self.keys[other]:
                        collected |= self.words(other)
                        taken += 1
                    other += step
            found = self._context[position] = frozenset(collected)
        return found

    def enclosing(self, position: int) -> int:
        """Return the nearest non-blank line above a line that is indented less (its header), or -1.

        Walks up by the headers already found: the lines between a line and its own header are all
        indented at least as deep as it, so none of them can be the header of a line less deep. Lines
        passed at the same depth share the header found.
        """
        found = self._enclosing.get(position)
        if found is not None:
            return found
        indents = self.indents
        depth = indents[position]
        siblings = [position]
        other = position - 1 if depth > 0 else -1
        while other >= 0:
            width = indents[other]
            if width >= 0:
                if width < depth:
                    break
                if width == depth:
                    siblings.append(other)
                known = self._enclosing.get(other)
                if known is not None:
                    other = known
                    continue
            other -= 1
        for line in siblings:
            self._enclosing[line] = other
        return other

    @property
    def indents(self) -> Indents:
        """Return the lines' indentations, -1 for blank lines (for the diff's slider heuristic)."""
        if self._indents is None:
            self._indents = Indents(self.lines, self.keys)
        return self._indents

    def balance(self, position: int) -> int:
        """Return how many more brackets a line's key opens than it closes."""
        # Cached: a block's lines are asked about again for every block around them.
        balances = self._balances
        if balances is None:
            balances = self._balances = [None] * len(self.keys)
        found = balances[position]
        if found is None:
            found = balances[position] = open_brackets(self.keys[position])
        return found

    def indent(self, position: int) -> int:
        """Return the width of a line's leading whitespace (a tab counts as 8)."""
        return _indent_width(self.lines[position])


def _indent_width(line: str) -> int:
    """Return the width of a line's leading whitespace (a tab counts as 8)."""
    stripped = line.lstrip()
    return len(line[: len(line) - len(stripped)].expandtabs(8))


class Indents:
    """Each line's indentation (-1 for a blank line), computed only for the lines asked about.

    It holds the text's lines, not the text: a text holding its indents and held by them would be a cycle,
    left for the garbage collector's rare full passes to free, with all its lines.
    """

    __slots__ = ("_found", "_keys", "_lines")

    def __init__(self, lines: list[str], keys: list[str]) -> None:
        self._lines = lines
        self._keys = keys
        self._found: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, position: int) -> int:
        found = self._found.get(position)
        if found is None:
            found = self._found[position] = (
                _indent_width(self._lines[position]) if self._keys[position] else -1
            )
        return found


def _without_spaces(text: str) -> str:
    """Return ``text`` with every whitespace character but the line feed removed."""
    return text.translate(_ASCII_SPACE) if text.isascii() else _INNER_SPACE.sub("", text)


def key_info(key: str, count: int) -> float:
    """Return the information of a line with ``key`` that occurs ``count`` times in its text."""
    if not key:
        return 0.0
    return min(len(key), FULL_INFO_CHARS) / FULL_INFO_CHARS / math.sqrt(max(count, 1))


@lru_cache(maxsize=64)
def prepare(text: str) -> PreparedText:
    """Return the prepared form of ``text``, reusing it when the same text comes again."""
    return PreparedText(text)
