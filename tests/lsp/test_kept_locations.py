"""HEAD's shared locations kept for the session: an unreachable server never stops locating."""

from __future__ import annotations

import time

from kibitz.client import KibitzClient
from kibitz.locate import Placement
from kibitz.lsp._repos import KeptLocations
from tests.server_process import free_port


def test_an_unreachable_server_leaves_what_was_computed_here() -> None:
    with KibitzClient(f"http://127.0.0.1:{free_port()}", "kbz_token", timeout=2.0) as client:
        kept = KeptLocations(client, "team")
        assert kept.fetch("c1", ["m1", "m2"]) == {}
        computed = Placement("m1", "app.py", 3, 5, "shifted", 1.0)
        kept.store("c1", [computed])
        started = time.monotonic()
        assert kept.fetch("c1", ["m1", "m2"]) == {"m1": computed}
        # Left alone after a failure: the next keystrokes do not wait for the server again.
        assert time.monotonic() - started < 0.5
        assert kept.fetch("c2", ["m1"]) == {}
        kept.forget(["m1"])
        assert kept.fetch("c1", ["m1"]) == {}
