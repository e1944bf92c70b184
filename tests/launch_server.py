"""Serve Kibitz with settings built in code: what `kibitz server run` does, plus the test-only switches.

Run by tests/server_process.py as a child process, never by hand:

    python tests/launch_server.py SETTINGS_JSON

SETTINGS_JSON holds keyword arguments of `Settings.load` (host, port, data_dir, and the switches no
environment may set: `fast_password_hashing`, `encrypt_at_rest`); every other setting comes from the
`KIBITZ_*` variables, as for `kibitz server run`. Only the standard library and the installed package are
imported, so the file runs from any directory.
"""

from __future__ import annotations

import json
import sys

from kibitz.server.runner import serve
from kibitz.settings import Settings


def main(argv: list[str]) -> None:
    """Build the settings from the JSON argument and the environment, and serve until terminated."""
    serve(Settings.load(**json.loads(argv[0])))


if __name__ == "__main__":
    main(sys.argv[1:])
