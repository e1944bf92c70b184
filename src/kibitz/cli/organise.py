"""Organising codemarks: `assign`, `unassign`, `tag`, `untag`, `pin`, `unpin`, `archive`, `relate`,
`unrelate`, `related` and `history`.

Assignees and tags are sent whole (the API replaces the list), so each command reads the codemark, changes
the list and writes it back; two people changing the same list at the same moment can undo each other.
"""

from __future__ import annotations

from typing import Any

import click

from kibitz.cli.context import (
    Kind,
    id_or_permalink,
    json_option,
    member_ids,
    open_client,
    print_json,
    resolve_codemark_id,
    resolve_id,
)
from kibitz.cli.errors import NOT_FOUND, CliError
from kibitz.cli.render import person, summary
from kibitz.cli.terminal import echo
from kibitz.client import Codemark, KibitzClient, NotFound

_id_argument = click.argument("codemark_id", metavar="ID", callback=id_or_permalink)


def _report(codemark: Codemark, as_json: bool, message: str) -> None:
    if as_json:
        print_json(codemark)
    else:
        echo(message)


def _change_assignees(codemark_id: str, people: tuple[str, ...], *, add: bool) -> Codemark:
    with open_client() as client:
        codemark = client.get_codemark(resolve_codemark_id(client, codemark_id))
        named = member_ids(client, codemark["team_id"], people)
        current = [user["id"] for user in codemark["assignees"]]
        wanted = (
            current + [i for i in named if i not in current]
            if add
            else [i for i in current if i not in named]
        )
        if wanted == current:
            return codemark
        return client.update_codemark(codemark["id"], assignees=wanted)


def _names(codemark: Codemark) -> str:
    return ", ".join(f"@{user['handle']}" for user in codemark["assignees"]) or "nobody"


@click.command()
@_id_argument
@click.argument("people", metavar="WHO...", nargs=-1, required=True)
@json_option
def assign(codemark_id: str, people: tuple[str, ...], as_json: bool) -> None:
    """Assign team members to a codemark: each WHO is a handle (ada or @ada), an email or @me.

    Assignees are told in their inbox and follow the codemark; they may resolve and reopen it.
    """
    codemark = _change_assignees(codemark_id, people, add=True)
    _report(codemark, as_json, f"{codemark['id']} is assigned to {_names(codemark)}.")


@click.command()
@_id_argument
@click.argument("people", metavar="WHO...", nargs=-1, required=True)
@json_option
def unassign(codemark_id: str, people: tuple[str, ...], as_json: bool) -> None:
    """Take team members off a codemark (WHO as for `assign`)."""
    codemark = _change_assignees(codemark_id, people, add=False)
    _report(codemark, as_json, f"{codemark['id']} is assigned to {_names(codemark)}.")


def _change_tags(codemark_id: str, tags: tuple[str, ...], *, add: bool) -> Codemark:
    with open_client() as client:
        codemark = client.get_codemark(resolve_codemark_id(client, codemark_id))
        current = list(codemark["tags"])
        wanted = list(dict.fromkeys(current + list(tags))) if add else [t for t in current if t not in tags]
        if wanted == current:
            return codemark
        return client.update_codemark(codemark["id"], tags=wanted)


def _tags(codemark: Codemark) -> str:
    return ", ".join(codemark["tags"]) or "none"


@click.command()
@_id_argument
@click.argument("tags", metavar="TAG...", nargs=-1, required=True)
@json_option
def tag(codemark_id: str, tags: tuple[str, ...], as_json: bool) -> None:
    """Add tags to a codemark (its author, an admin or an owner)."""
    codemark = _change_tags(codemark_id, tags, add=True)
    _report(codemark, as_json, f"Tags of {codemark['id']}: {_tags(codemark)}.")


@click.command()
@_id_argument
@click.argument("tags", metavar="TAG...", nargs=-1, required=True)
@json_option
def untag(codemark_id: str, tags: tuple[str, ...], as_json: bool) -> None:
    """Remove tags from a codemark (its author, an admin or an owner)."""
    codemark = _change_tags(codemark_id, tags, add=False)
    _report(codemark, as_json, f"Tags of {codemark['id']}: {_tags(codemark)}.")


def _update(codemark_id: str, **changes: Any) -> Codemark:
    with open_client() as client:
        return client.update_codemark(resolve_codemark_id(client, codemark_id), **changes)


@click.command()
@_id_argument
@json_option
def pin(codemark_id: str, as_json: bool) -> None:
    """Pin a codemark, so that it stands out (its author, an admin or an owner)."""
    codemark = _update(codemark_id, pinned=True)
    _report(codemark, as_json, f"Pinned {codemark['id']}.")


@click.command()
@_id_argument
@json_option
def unpin(codemark_id: str, as_json: bool) -> None:
    """Unpin a codemark (its author, an admin or an owner)."""
    codemark = _update(codemark_id, pinned=False)
    _report(codemark, as_json, f"Unpinned {codemark['id']}.")


@click.command()
@_id_argument
@json_option
def archive(codemark_id: str, as_json: bool) -> None:
    """Archive a codemark: `ls` leaves it out (see it with --status archived; `reopen` brings it back)."""
    codemark = _update(codemark_id, status="archived")
    _report(codemark, as_json, f"Archived {codemark['id']}.")


@click.command()
@_id_argument
@click.argument("other_id", metavar="OTHER", callback=id_or_permalink)
@json_option
def relate(codemark_id: str, other_id: str, as_json: bool) -> None:
    """Mark two codemarks of the team as related (any member; both show the relation)."""
    with open_client() as client:
        codemark = client.relate(
            resolve_codemark_id(client, codemark_id), resolve_codemark_id(client, other_id)
        )
    _report(codemark, as_json, f"{codemark['id']} is related to {', '.join(codemark['related'])}.")


@click.command()
@_id_argument
@click.argument("other_id", metavar="OTHER", callback=id_or_permalink)
@json_option
def unrelate(codemark_id: str, other_id: str, as_json: bool) -> None:
    """Remove the relation between two codemarks (any member)."""
    with open_client() as client:
        codemark = client.unrelate(
            resolve_codemark_id(client, codemark_id), resolve_codemark_id(client, other_id)
        )
    others = ", ".join(codemark["related"]) or "no other codemark"
    _report(codemark, as_json, f"{codemark['id']} is related to {others}.")


@click.command()
@_id_argument
@json_option
def related(codemark_id: str, as_json: bool) -> None:
    """List the codemarks related to a codemark: `ID  [status/type]  summary`."""
    with open_client() as client:
        codemark = client.get_codemark(resolve_codemark_id(client, codemark_id))
        others = [client.get_codemark(other) for other in codemark["related"]]
    if as_json:
        print_json(others)
        return
    for other in others:
        echo(f"{other['id']}  [{other['status']}/{other['type']}]  {summary(other['title'], other['text'])}")
    if not others:
        echo(f"No codemark is related to {codemark['id']}.", err=True)


def _history(client: KibitzClient, object_id: str, known: Kind | None) -> tuple[Kind, list[Any]]:
    if known != "replies":
        try:
            return "codemarks", list(client.codemark_history(object_id))
        except NotFound:
            if known == "codemarks":
                raise
    try:
        return "replies", list(client.reply_history(object_id))
    except NotFound:
        raise CliError(
            f"no codemark or reply {object_id} (or it is in a team you are not in)", NOT_FOUND
        ) from None


@click.command()
@click.argument("object_id", metavar="ID", callback=id_or_permalink)
@json_option
def history(object_id: str, as_json: bool) -> None:
    """Show the earlier versions of a codemark's title and text, or of a reply's text, newest first."""
    with open_client() as client:
        known, object_id = resolve_id(client, object_id, ("codemarks", "replies"))
        kind, versions = _history(client, object_id, known)
    if as_json:
        print_json(versions)
        return
    word = "codemark" if kind == "codemarks" else "reply"
    if not versions:
        echo(f"The {word} {object_id} was never edited.", err=True)
        return
    for number, version in enumerate(versions):
        if number:
            echo("")
        editor = f" by {person(version['editor'])}" if "editor" in version else ""
        echo(f"replaced at {version['replaced_at']}{editor}:")
        if version.get("title"):
            echo(f"  title: {version['title']}")
        for line in version["text"].splitlines() or [""]:
            echo(f"  {line}")


COMMANDS: tuple[click.Command, ...] = (
    assign,
    unassign,
    tag,
    untag,
    pin,
    unpin,
    archive,
    relate,
    unrelate,
    related,
    history,
)
