"""Serve Kibitz as tests/launch_server.py does, except that every codemark id begins with SHARED_PREFIX.

Ids are random, so two that begin alike are too rare to wait for; this server makes them certain, so that
the CLI's answer to an ambiguous short id can be tested against a real server process. Run by
tests/e2e/test_cli_workflow.py as a child process, never by hand.
"""

from __future__ import annotations

import json
import sys

from kibitz.ids import new_id
from kibitz.server.codemarks import service
from kibitz.server.runner import serve
from kibitz.settings import Settings

SHARED_PREFIX = "zzzz"


def _shared_prefix_id() -> str:
    return SHARED_PREFIX + new_id()[len(SHARED_PREFIX) :]


def main(argv: list[str]) -> None:
    """Build the settings from the JSON argument, make codemark ids share a prefix, and serve."""
    service.new_id = _shared_prefix_id  # type: ignore[attr-defined]
    serve(Settings.load(**json.loads(argv[0])))


if __name__ == "__main__":
    main(sys.argv[1:])
