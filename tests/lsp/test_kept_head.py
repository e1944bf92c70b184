"""What the language server keeps of the markers' places at HEAD, and for how long."""

from __future__ import annotations

import pytest

from kibitz.locate import HeadPlaces, Placement
from kibitz.lsp._repos import KeptHead


def _places(*placements: Placement) -> HeadPlaces:
    return HeadPlaces("c0ffee", (), {p.marker_id: p for p in placements}, {}, ())


def test_places_are_kept_while_head_and_the_codemarks_stay() -> None:
    kept, computed = KeptHead(), []

    def compute() -> HeadPlaces:
        computed.append(1)
        return _places(Placement("m1", "a.py", 3, 5, "unchanged", 1.0))

    first = kept.places("c0ffee", 1, compute)
    assert kept.places("c0ffee", 1, compute) is first
    assert len(computed) == 1
    kept.places("beef", 1, compute)  # HEAD moved
    kept.places("beef", 2, compute)  # a codemark changed
    assert len(computed) == 3


def test_places_the_engine_gave_up_on_are_computed_again_later(monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine gives up within a CPU budget, which a busy moment can exhaust: that answer must not stay
    # for as long as HEAD does.
    kept, computed = KeptHead(), []

    def compute() -> HeadPlaces:
        computed.append(1)
        return _places(Placement.too_large("m1"))

    kept.places("c0ffee", 1, compute)
    kept.places("c0ffee", 1, compute)
    assert len(computed) == 1  # kept for a while: a file too large stays so at every keystroke
    monkeypatch.setattr(KeptHead, "GAVE_UP_SECONDS", 0.0)
    again = KeptHead()
    again.places("c0ffee", 1, compute)
    again.places("c0ffee", 1, compute)
    assert len(computed) == 3
