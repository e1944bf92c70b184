"""What the language server keeps of the markers' places at HEAD and why they moved, and for how long."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

import pytest

from kibitz.client import Marker
from kibitz.locate import HeadPlaces, Placement, Why
from kibitz.lsp._repos import GAVE_UP_SECONDS, KeptHead, KeptWhys


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


def _marker(marker_id: str, commit: str = "a" * 40) -> Marker:
    return cast(Marker, {"id": marker_id, "commit": commit})


def test_whys_are_kept_per_marker_while_head_stays_and_a_cut_short_search_only_a_while(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kept, asked = KeptWhys(), []

    def found(why: Why | None) -> Callable[[], Why | None]:
        def compute() -> Why | None:
            asked.append(why)
            return why

        return compute

    moved = Why("moved", None, "not_found")
    assert kept.why(_marker("m1"), "c0ffee", found(moved)) is moved
    assert kept.why(_marker("m1"), "c0ffee", found(None)) is moved  # kept
    assert kept.why(_marker("m2"), "c0ffee", found(None)) is None  # another marker: its own answer
    assert kept.why(_marker("m1", "b" * 40), "c0ffee", found(None)) is None  # re-recorded: asked again
    assert len(asked) == 3
    assert kept.why(_marker("m1"), "beef", found(None)) is None  # HEAD moved: asked again
    assert kept.why(_marker("m1"), "c0ffee", found(moved)) is moved  # and the old HEAD's answers are gone
    assert len(asked) == 5

    late = Why("changed", None, "time_limit")
    kept.why(_marker("m3"), "c0ffee", found(late))
    kept.why(_marker("m3"), "c0ffee", found(late))
    assert len(asked) == 6
    clock = time.monotonic() + GAVE_UP_SECONDS + 1
    monkeypatch.setattr(time, "monotonic", lambda: clock)
    kept.why(_marker("m3"), "c0ffee", found(late))
    assert len(asked) == 7
