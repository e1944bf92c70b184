"""`kibitz lsp`: the language server for editors, over standard input and output."""

from __future__ import annotations

import logging
import os

import click

from kibitz.cli.context import trust
from kibitz.cli.terminal import stderr_log_handler

DEBUG_ENV = "KIBITZ_DEBUG"


@click.command()
def lsp() -> None:
    """Run the Kibitz language server on standard input and output (for editors, not people).

    An editor starts it and speaks the Language Server Protocol to it: each file of a repository
    linked with `kibitz init` shows its codemarks where the code is now, even before you save, with
    their threads on hover; commands add, answer and resolve them. It uses the server and the
    account of `kibitz login` and the team of `kibitz team use`. Set KIBITZ_DEBUG=1 for a detailed
    log on standard error. docs/editors.md says how to set up each editor.
    """
    # Imported here: every other command starts faster without pygls.
    from kibitz.lsp import Trust, serve

    chosen = trust()

    level = logging.DEBUG if os.environ.get(DEBUG_ENV) else logging.WARNING
    # Standard output carries the protocol: every log line goes to standard error.
    handler = stderr_log_handler("kibitz lsp %(levelname)s %(name)s: %(message)s")
    logging.basicConfig(level=level, handlers=[handler])
    serve(Trust(str(chosen.ca_file) if chosen.ca_file else None, chosen.cert_sha256))


COMMANDS: tuple[click.Command, ...] = (lsp,)
