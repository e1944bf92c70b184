"""What the engine leaves behind: nothing for the garbage collector, so a buffer's texts go with the buffer.

An editor relocates at each keystroke; a reference cycle among what the engine builds would keep every
version of the buffer alive until one of the collector's rare full passes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from kibitz.anchoring import Range, relocate_many
from kibitz.anchoring.normalise import prepare
from kibitz.anchoring.relocate import text_pair
from tests.anchoring.test_examples import MODULE


@pytest.fixture
def collector_off() -> Iterator[None]:
    """Start from no garbage, with the collector off until the test collects itself."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_relocating_leaves_no_reference_cycles(collector_off: None) -> None:
    lines = MODULE.splitlines(keepends=True)
    # Lines added above, a block moved to the end, one edited: the diff, the slider, alignment and search.
    new = "# a header\n" + "".join(lines[:10] + lines[14:] + lines[10:14]) + "X = 1\n"
    new = new.replace("self.capacity = 100", "self.capacity = 200")
    anchors = [Range(line, line + 3) for line in range(1, len(lines), 2)]
    found = relocate_many(MODULE, new, anchors, candidates=["def add(self, name, count):\n    pass\n"])
    assert {location.status for location in found} >= {"shifted", "changed", "moved"}
    del found
    text_pair.cache_clear()
    prepare.cache_clear()
    assert gc.collect() == 0
