"""The server process: what it does before it serves."""

from __future__ import annotations

import gc
import weakref

from kibitz.server.runner import freeze_what_startup_made


class _Node:
    def __init__(self) -> None:
        self.me = self


def test_the_objects_startup_made_are_left_out_of_garbage_collection() -> None:
    before = gc.get_freeze_count()
    garbage = weakref.ref(_Node())  # a cycle nobody holds: only a collection frees it
    try:
        freeze_what_startup_made()
        assert gc.get_freeze_count() > before
        assert garbage() is None  # collected before the freeze, not kept for ever
        assert gc.is_tracked([])  # what the server makes afterwards is collected as usual
    finally:
        gc.unfreeze()
