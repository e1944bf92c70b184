"""What the `kibitz server` commands share: the --data-dir option, and the settings loaded with it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kibitz.cli.errors import CliError

if TYPE_CHECKING:
    from kibitz.settings import Settings

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the SQLite database and keys [default: your user data directory].",
)


def _settings_problem(error: ValueError) -> str:
    """Word a settings validation error on one line, naming the variable or flag at fault."""
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return f"invalid settings: {error}"
    problems = []
    for problem in errors():
        field = ".".join(str(part) for part in problem.get("loc", ()))
        problems.append(f"{field} (KIBITZ_{field.upper()}): {problem.get('msg', 'invalid')}")
    return "invalid settings: " + "; ".join(problems)


def load_settings(**flags: Any) -> Settings:
    """Return the server's settings: its `KIBITZ_*` variables, with the flags given (not None) winning."""
    # Imported here so that the client commands start without loading the server's settings.
    from kibitz.settings import Settings

    try:
        return Settings.load(**flags)
    except ValueError as error:
        raise CliError(_settings_problem(error)) from None
