"""What every answer of the relocation engine must look like, whatever the input."""

from __future__ import annotations

from kibitz.anchoring import STATUSES, Location
from kibitz.anchoring.normalise import split_lines


def check_location(location: Location, new_text: str, candidates: tuple[str, ...] = ()) -> None:
    """Assert that a location is well-formed and within the text it points into."""
    assert location.status in STATUSES
    assert 0.0 <= location.confidence <= 1.0
    if location.status == "too_large":
        assert location.range is None
        assert location.last_range is None
        assert location.candidate is None
        return
    if location.status == "deleted":
        assert location.range is None
        assert location.candidate is None
        if location.last_range is not None:
            assert 1 <= location.last_range.start_line <= location.last_range.end_line
            assert location.last_range.end_line <= len(split_lines(new_text))
        return
    assert location.range is not None
    text = new_text if location.candidate is None else candidates[location.candidate]
    assert 1 <= location.range.start_line <= location.range.end_line <= len(split_lines(text))
