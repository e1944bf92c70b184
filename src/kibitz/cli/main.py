"""The ``kibitz`` command: the root group, its global options and the one place failures are reported.

The commands live in the modules beside this one, one per command group; this module only assembles them.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

from kibitz import __version__
from kibitz.cli import account, codemarks, conversation, export, lsp, organise, repos, server, team, tokens
from kibitz.cli.context import TRUST_META, Trust, lost_membership
from kibitz.cli.errors import FAILURE, describe, exit_code_for, exit_codes_help, is_reported
from kibitz.cli.terminal import echo, silence_stdout
from kibitz.client import Forbidden, KibitzError, NotFound, parse_fingerprint

DEBUG_ENV = "KIBITZ_DEBUG"


class KibitzGroup(click.Group):
    """The root group: turns every expected failure into ``kibitz: message`` and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, reporting failures without a traceback."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            _reader_gone(ctx)
        except Exception as error:
            if is_reported(error):
                lost = lost_membership() if isinstance(error, (NotFound, Forbidden)) else None
                _fail(ctx, lost or describe(error), exit_code_for(error))
            if isinstance(error, OSError):
                where = f"{error.filename}: " if error.filename else ""
                _fail(ctx, f"{where}{error.strerror or error}", FAILURE)
            if os.environ.get(DEBUG_ENV):
                traceback.print_exc()
            hint = "" if os.environ.get(DEBUG_ENV) else f" (set {DEBUG_ENV}=1 to see the traceback)"
            _fail(ctx, f"internal error: {type(error).__name__}: {error}{hint}", FAILURE)


def _reader_gone(ctx: click.Context) -> NoReturn:
    """Stop quietly when whoever reads the output has gone (`kibitz ls | head -1`)."""
    # What is left in Python's buffer would fail again at exit, with a message: send it nowhere instead.
    silence_stdout()
    ctx.exit(FAILURE)


def _fail(ctx: click.Context, message: str, code: int) -> NoReturn:
    echo(f"kibitz: {message}", err=True)
    ctx.exit(code)


def _check_fingerprint(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: refuse a malformed fingerprint as a usage error, before anything connects."""
    if not value:
        return None
    try:
        parse_fingerprint(value)
    except KibitzError as error:
        raise click.BadParameter(error.message) from None
    return value


@click.group(
    cls=KibitzGroup, epilog=exit_codes_help(), context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, "--version", prog_name="kibitz", message="%(prog)s %(version)s")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="KIBITZ_CA_FILE",
    show_envvar=True,
    help="Verify the server's certificate with the CA certificate(s) in this PEM file.",
)
@click.option(
    "--cert-sha256",
    envvar="KIBITZ_CERT_SHA256",
    show_envvar=True,
    metavar="FINGERPRINT",
    callback=_check_fingerprint,
    help="Trust only the server certificate with this SHA-256 fingerprint (for self-signed servers).",
)
@click.pass_context
def cli(ctx: click.Context, ca_file: Path | None, cert_sha256: str | None) -> None:
    """Kibitz: code discussions pinned to lines of code.

    \b
    Start with:
      kibitz signup --server URL --email EMAIL --name NAME
      kibitz team create NAME          (or: kibitz team join CODE)
      kibitz init                      (inside a git repository)
      kibitz add src/app.py:10-14 -m "Why is this retried twice?"
      kibitz ls

    Configuration lives in $KIBITZ_CONFIG_DIR (default: your user config directory);
    KIBITZ_SERVER and KIBITZ_TOKEN override the stored server and token.
    --ca-file and --cert-sha256 go before the command: kibitz --ca-file ca.pem whoami.
    """
    ctx.meta[TRUST_META] = Trust(ca_file=ca_file, cert_sha256=cert_sha256)


for _command in (
    *account.COMMANDS,
    *team.COMMANDS,
    *codemarks.COMMANDS,
    *repos.COMMANDS,
    *conversation.COMMANDS,
    *organise.COMMANDS,
    *tokens.COMMANDS,
    *export.COMMANDS,
    *server.COMMANDS,
    *lsp.COMMANDS,
):
    cli.add_command(_command)


def main() -> None:
    """Run the ``kibitz`` command line."""
    cli(prog_name="kibitz")
