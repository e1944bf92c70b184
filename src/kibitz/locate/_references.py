"""Where a marker's block was recorded: its canonical reference first, then its other references."""

from __future__ import annotations

from dataclasses import dataclass

from kibitz.client import Marker

# Of the extra references, the default branch head is the likeliest to be in a teammate's clone.
_KIND_ORDER = {"upstream": 0, "blame": 1, "other": 2}


@dataclass(frozen=True, slots=True)
class Reference:
    """The block at one commit: ``path`` and lines there.

    Only the canonical reference is known to hold the marker's code (unless the marker is
    provisional); the engine is given that code to check or search for. Another reference is
    relocated by its lines alone, since its block may be an earlier or later version of the code.
    """

    commit: str
    path: str
    start_line: int
    end_line: int
    canonical: bool


def references_of(marker: Marker) -> list[Reference]:
    """Return the places a marker's block was recorded, best first: canonical, upstream, others."""
    found = [
        Reference(marker["commit"], marker["path"], marker["start_line"], marker["end_line"], canonical=True)
    ]
    extra = sorted(marker.get("references", []), key=lambda ref: _KIND_ORDER.get(ref["kind"], 3))
    for ref in extra:
        if ref["commit"] != marker["commit"]:
            found.append(Reference(ref["commit"], ref["path"], ref["start_line"], ref["end_line"], False))
    return found
