"""The engine's vocabulary: a range of lines, where it went, and what the caller knows about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple, get_args

# Bump whenever any input may produce a different Location: the server caches locations per
# (marker, commit, algorithm version), so a stale cache must never outlive a change of behaviour.
# 2: ``too_large`` instead of a guess in regions the diff cannot match; large regions are cut at
# their unique lines, and regions of common lines matched by runs of lines.
# 3: a place whose first line declares another name than the block's first line does is not taken
# unless the bodies under the two are alike, nor a statement's line for a line that opens a braced block,
# and one that declares the same name scores more (``names``); a block that was one bracketed construct
# ends where its own brackets close (``shape``); a block whose distinctive lines all changed is also looked
# for by lines alike to them when only common lines proposed places (``moves``).
# 4: several places found in a text are judged, and of them one in the same enclosing definition ranks
# higher (``names.same_scope``); a short block is aligned in a window by its best pairs overall (``align``);
# copies in other files are kept beside the fuzzy matches (``relocate``); a bracketed construct may open its
# body below a header of balanced lines (``shape``); a place that declares the block's name in the same
# enclosing definition scores more, one on a line that neither declares nor mentions it is not taken
# (``names``), and a match that took in the header above starts at the block's own (``relocate``); a
# window's lines are paired by likeness weighted by what each says, lines of brackets alone
# inside a block are not paired first (``align``); a C function's header at the top level declares its
# name (``names``); a line declaring a header's name is a seed for it however alike (``moves``); a searched
# place that began at a statement like the header starts at the header just above; a place ranked up
# but below ACCEPT no longer hides one above it (``relocate``); a block opened at the top level by a head
# alone (a CSS rule's selectors) is named by it (``names``); the words that look for similar lines are
# chosen among those present, in an order that does not depend on the process (``moves``).
ALGORITHM_VERSION = 4

# ``too_large``: the engine gave up (a text too large, a region it cannot match, or its time budget
# spent) and says so instead of guessing.
Status = Literal["unchanged", "shifted", "changed", "moved", "deleted", "too_large"]
STATUSES: tuple[Status, ...] = get_args(Status)


@dataclass(frozen=True, slots=True)
class Range:
    """Lines ``start_line`` to ``end_line`` of a text, 1-based and inclusive."""

    start_line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class Location:
    """Where a range went in the new text, how it got there, and how sure the engine is.

    ``range`` is None exactly when ``status`` is ``deleted`` or ``too_large``. For ``deleted``,
    ``last_range`` is the place in the new text where the code used to be (for showing an orphan
    near its old home), never a claim that the code is there; ``too_large`` (the engine gave up)
    has neither. ``candidate`` is the index into ``candidates`` when the code moved into
    another file, and None when it is in the new text itself.
    """

    range: Range | None
    status: Status
    confidence: float
    candidate: int | None = None
    last_range: Range | None = None


class Context(NamedTuple):
    """A few lines captured just before and just after the selected code."""

    before: str = ""
    after: str = ""


@dataclass(frozen=True, slots=True)
class Anchor:
    """One range to relocate, with the code and context captured when it was created, if known."""

    range: Range
    code: str | None = None
    context_before: str | None = None
    context_after: str | None = None
