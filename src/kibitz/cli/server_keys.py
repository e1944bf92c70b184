"""The keys: `kibitz server rotate-kek`, `rotate-team-keys` and `keystore-info`."""

from __future__ import annotations

from pathlib import Path

import click

from kibitz.cli.context import ambiguous, json_option, print_json
from kibitz.cli.server_settings import data_dir_option, load_settings
from kibitz.cli.terminal import echo
from kibitz.ids import is_id, is_id_prefix


@click.command("rotate-kek")
@click.option(
    "--new-kek-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="FILE",
    help="Use the key in FILE (base64 of 32 bytes, mode 0600) as the new key-encryption key.",
)
@click.option("--generate", is_flag=True, help="Generate a new random key-encryption key.")
@json_option
@data_dir_option
def server_rotate_kek(
    new_kek_file: Path | None, generate: bool, as_json: bool, data_dir: Path | None
) -> None:
    """Rewrap every data key in the keystore with a new key-encryption key, then make it the KEK file.

    Safe while servers run and safe to interrupt: the new key waits beside the KEK file (.next) until
    every data key is rewrapped, and running the command again resumes an interrupted rotation.
    """
    from kibitz.server.crypto.kek import kek_file_path, next_kek_path
    from kibitz.server.operator.keys import rotate_kek

    settings = load_settings(data_dir=data_dir)
    resuming = next_kek_path(kek_file_path(settings)).exists()
    if new_kek_file is not None and generate:
        raise click.UsageError("give --new-kek-file or --generate, not both")
    if new_kek_file is None and not generate and not resuming:
        raise click.UsageError("give --new-kek-file FILE or --generate")
    result = rotate_kek(settings, new_kek_file=new_kek_file)
    if as_json:
        print_json(
            {
                "new_kek": result.new_kek,
                "old_kek": result.old_kek,
                "rewrapped": result.rewrapped,
                "resumed": result.resumed,
                "kek_file": str(kek_file_path(settings)),
            }
        )
        return
    if result.resumed:
        echo(f"Resumed the interrupted rotation to {result.new_kek}.")
    echo(
        f"Rewrapped {result.rewrapped} data keys with the key-encryption key {result.new_kek}; "
        f"{result.old_kek} is no longer used and its file is replaced: {kek_file_path(settings)}"
    )


@click.command("rotate-team-keys")
@click.argument("team_id")
@click.option(
    "--reseal", is_flag=True, help="Also rewrite every sealed value of the team under the new keys."
)
@json_option
@data_dir_option
def server_rotate_team_keys(team_id: str, reseal: bool, as_json: bool, data_dir: Path | None) -> None:
    """Give a team's data key and its members' data keys new keys for everything written from now on.

    Older keys stay for reading what they sealed; with --reseal every value sealed with them is rewritten
    under the new keys (safe while servers run: a value edited meanwhile is left as its writer left it).
    """
    import dataclasses

    from kibitz.server.operator.keys import rotate_team_keys, team_ids_beginning

    settings = load_settings(data_dir=data_dir)
    team_id = team_id.strip().lower()
    if not is_id(team_id) and is_id_prefix(team_id):
        # The first characters of a team's id, as other commands take them.
        found = team_ids_beginning(settings, team_id)
        if len(found) > 1:
            raise ambiguous(team_id, found)
        team_id = found[0] if found else team_id
    result = rotate_team_keys(settings, team_id, reseal=reseal)
    if as_json:
        print_json(dataclasses.asdict(result))
        return
    echo(f"Rotated {result.rotated_keys} data keys of team {team_id}.")
    if reseal:
        echo(f"Resealed {result.resealed} values under the new keys.")


@click.command("keystore-info")
@json_option
@data_dir_option
def server_keystore_info(as_json: bool, data_dir: Path | None) -> None:
    """Show the keystore's key counts and active key-encryption key id (never key material)."""
    import dataclasses

    from kibitz.server.crypto.keystore import keystore_file
    from kibitz.server.operator.keys import keystore_info

    settings = load_settings(data_dir=data_dir)
    info = keystore_info(settings)
    location = keystore_file(settings)
    if as_json:
        where = str(location) if location else "database server"
        print_json({"keystore": where, **dataclasses.asdict(info)})
        return
    echo(f"keystore: {location or 'KIBITZ_KEYSTORE_URL (database server)'}")
    echo(f"active key-encryption key: {info.active_kek}")
    for kek_id, count in sorted(info.keys_by_kek.items()):
        echo(f"  data keys wrapped by {kek_id}: {count}")
    for kind, count in sorted(info.active_keys_by_kind.items()):
        echo(f"  active {kind} keys: {count}")
    echo(f"  retired keys (kept for reading): {info.retired_keys}")
    echo(f"  destroyed owners: {info.destroyed_owners}")


COMMANDS: tuple[click.Command, ...] = (server_rotate_kek, server_rotate_team_keys, server_keystore_info)
