"""`kibitz export [--team] [-o FILE] [--json]`: download an export archive (docs/cli.md, "Export")."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from kibitz.cli.context import current_team, open_client, print_json
from kibitz.cli.errors import USAGE, CliError
from kibitz.cli.terminal import echo, echo_json_document


def archive_summary(data: bytes) -> dict[str, Any]:
    """Return what an archive holds: its kind, subject, size and the number of records of each kind. Pure."""
    try:
        body = json.loads(data)
    except ValueError:
        raise CliError("the server's answer is not a JSON archive") from None
    subject = body.get("team", {}).get("id") if body.get("kind") == "team" else body.get("user", {}).get("id")
    return {
        "kind": body.get("kind"),
        "id": subject,
        "version": body.get("version"),
        "bytes": len(data),
        "counts": {name: len(value) for name, value in body.items() if isinstance(value, list)},
    }


def _write(path: Path, data: bytes) -> None:
    """Write the archive readable by its owner alone: it holds personal data and the team's code."""
    temporary = path.with_name(path.name + ".part")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    # Renamed into place only once complete, so an interrupted export never leaves half an archive.
    temporary.replace(path)


@click.command("export")
@click.option("--team", "whole_team", is_flag=True, help="Export the current team (owners only).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Write the archive to FILE (mode 0600) [default: standard output].",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as JSON on standard output (needs -o)."
)
def export(whole_team: bool, output: Path | None, as_json: bool) -> None:
    """Download your data, or with --team the whole current team, as a JSON archive.

    Your own archive holds your profile, memberships, tokens' metadata (never the tokens) and everything you
    wrote. A team archive holds everything but people's bookmarks and inboxes; `kibitz server import` loads
    it into another server. A summary goes to standard error.
    """
    if as_json and output is None:
        raise CliError(
            "--json prints the summary on standard output, so give the archive a file with -o", USAGE
        )
    with open_client() as client:
        if whole_team:
            team = current_team(client)
            data = client.export_team(team.id)
            subject = f"team {team.name} ({team.id})"
        else:
            data = client.export_me()
            subject = "your data"
    summary = archive_summary(data)
    if output is None:
        echo_json_document(data.decode("utf-8", errors="replace"))
    else:
        _write(output, data)
    if as_json:
        print_json({**summary, "file": str(output)})
        return
    counts = ", ".join(f"{n} {name}" for name, n in summary["counts"].items())
    where = f" to {output}" if output is not None else ""
    echo(f"Exported {subject}{where}: {summary['bytes']} bytes; {counts}.", err=True)


COMMANDS = [export]
