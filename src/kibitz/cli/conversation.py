"""Conversation commands: react, edit, search, inbox, follow, unfollow, and the live feed `watch`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from kibitz.cli.context import (
    Kind,
    current_team,
    id_or_permalink,
    json_option,
    member_ids,
    message_options,
    open_client,
    print_json,
    read_message,
    resolve_codemark_id,
    resolve_id,
    trust,
)
from kibitz.cli.conversation_text import (
    emoji_for,
    event_line,
    inbox_line,
    parse_when,
    reactions_text,
    search_line,
)
from kibitz.cli.errors import NOT_FOUND, CliError
from kibitz.cli.locating import shown_under
from kibitz.cli.output import show as show_text
from kibitz.cli.terminal import echo, json_text
from kibitz.client import (
    CODEMARK_TYPES,
    EventStream,
    InboxItem,
    KibitzClient,
    NotFound,
    SearchHit,
    load_position,
    save_position,
)
from kibitz.gitrepo import GitError, RepoLink, find_root, read_link

T = TypeVar("T")
BOTH: tuple[Kind, Kind] = ("codemarks", "replies")


def _codemark_or_reply(object_id: str, act: Callable[[Kind], T], kind: Kind | None = None) -> tuple[Kind, T]:
    """Act on the codemark with this id, or else on the reply with it; exit 4 if there is neither.

    ``kind`` says which it is when that is known already (an id found by its first characters).
    """
    if kind is not None:
        return kind, act(kind)
    try:
        return "codemarks", act("codemarks")
    except NotFound:
        pass
    try:
        return "replies", act("replies")
    except NotFound:
        raise CliError(
            f"no codemark or reply {object_id} (or it is in a team you are not in)", NOT_FOUND
        ) from None


@click.command()
@click.argument("object_id", metavar="ID", callback=id_or_permalink)
@click.argument("emoji")
@click.option("--remove", is_flag=True, help="Take your reaction back.")
@json_option
def react(object_id: str, emoji: str, remove: bool, as_json: bool) -> None:
    """Put an emoji on a codemark or a reply (ID is either, or a permalink).

    EMOJI is the emoji itself or one of the names +1, -1, laugh, hooray, confused, heart, rocket,
    eyes, check, x, pray, thinking, fire, 100 (also as :name:). Reacting twice changes nothing.
    """
    symbol = emoji_for(emoji)
    with open_client() as client:
        known, object_id = resolve_id(client, object_id, BOTH)
        method = client.unreact if remove else client.react
        kind, reactions = _codemark_or_reply(object_id, lambda kind: method(kind, object_id, symbol), known)
    if as_json:
        print_json(reactions)
        return
    target = "codemark" if kind == "codemarks" else "reply"
    verb = "Took back" if remove else "Reacted"
    echo(f"{verb} {symbol} on {target} {object_id}: {reactions_text(reactions)}")


@click.command()
@click.argument("object_id", metavar="ID", callback=id_or_permalink)
@message_options("the new text")
@click.option("--title", help="The new title (codemarks only).")
@json_option
def edit(object_id: str, text: str | None, body_file: str | None, title: str | None, as_json: bool) -> None:
    """Change the text of a codemark or a reply (ID is either), or a codemark's title.

    With neither -m, --body-file nor --title, $VISUAL or $EDITOR opens on the current text (a reply's
    starts empty). The previous version stays in the history (`kibitz history ID`). Only a reply's
    author may edit it; a codemark may be edited by its author, an admin or an owner.
    """
    with open_client() as client:
        known, object_id = resolve_id(client, object_id, BOTH)
        new_text: str | None = None
        if text is not None or body_file is not None:
            new_text = read_message(text, body_file, what="new text")
        elif title is None:
            known, current = _current_text(client, object_id, known)
            new_text = read_message(None, None, what="new text", initial=current)
            if new_text == current.rstrip():
                raise CliError("the text is unchanged: nothing was sent")
        if title is not None:
            if known == "replies":
                raise CliError(f"{object_id} is a reply: replies have no title", NOT_FOUND)
            changes = {"title": title} if new_text is None else {"title": title, "text": new_text}
            try:
                updated: Any = client.update_codemark(object_id, **changes)
            except NotFound:
                raise CliError(f"no codemark {object_id} (replies have no title)", NOT_FOUND) from None
            kind = "codemark"
        else:
            assert new_text is not None
            body = new_text
            found, updated = _codemark_or_reply(
                object_id,
                lambda kind: (
                    client.update_codemark(object_id, text=body)
                    if kind == "codemarks"
                    else client.update_reply(object_id, body)
                ),
                known,
            )
            kind = "codemark" if found == "codemarks" else "reply"
    if as_json:
        print_json(updated)
    else:
        echo(f"Edited {kind} {object_id}.")


def _current_text(client: KibitzClient, object_id: str, known: Kind | None) -> tuple[Kind, str]:
    """Return whether the id is a codemark's or a reply's, and a codemark's text (a reply's is not served)."""
    if known != "replies":
        try:
            return "codemarks", client.get_codemark(object_id)["text"]
        except NotFound:
            if known == "codemarks":
                raise
    return "replies", ""


@click.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
@json_option
def follow(codemark_id: str, as_json: bool) -> None:
    """Follow a codemark: its replies come to your inbox."""
    with open_client() as client:
        codemark = client.follow(resolve_codemark_id(client, codemark_id))
    if as_json:
        print_json(codemark)
        return
    echo(f"Following {codemark['id']}: its replies will reach your inbox.")


@click.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
@json_option
def unfollow(codemark_id: str, as_json: bool) -> None:
    """Stop following a codemark (mentions and assignments still reach you)."""
    with open_client() as client:
        codemark = client.unfollow(resolve_codemark_id(client, codemark_id))
    if as_json:
        print_json(codemark)
        return
    echo(f"No longer following {codemark['id']}.")


@dataclass(frozen=True, slots=True)
class _Scope:
    """Where `search` looks: the team, the repo and path, and the linked clone that places the path."""

    team_id: str | None = None
    repo_id: str | None = None
    path: str | None = None
    root: Path | None = None
    link: RepoLink | None = None

    def in_clone(self) -> tuple[Path, RepoLink, str] | None:
        """Return the clone's root and link and the repo path, when PATH is placed by a linked clone."""
        if self.root is None or self.link is None or self.path is None:
            return None
        return self.root, self.link, self.path


def _search_scope(path: str | None) -> _Scope:
    """Return the team, repo and repo path from the linked clone around the cwd, if there is one."""
    try:
        root = find_root(Path.cwd())
    except (GitError, OSError):
        return _Scope(path=path)
    link = read_link(root)
    if link is None:
        return _Scope(path=path)
    if path is None:
        return _Scope(team_id=link.team_id)
    # Inside a clone, PATH is relative to where you are, like every path you type there.
    absolute = (Path.cwd() / path).resolve()
    try:
        relative = absolute.relative_to(root.resolve()).as_posix()
    except ValueError:
        return _Scope(link.team_id, link.repo_id, path)
    return _Scope(link.team_id, link.repo_id, "" if relative == "." else relative, root, link)


@click.command()
@click.argument("query")
@click.option(
    "--status",
    type=click.Choice(["open", "resolved", "archived", "all"]),
    default="all",
    show_default=True,
    help="Only codemarks with this status.",
)
@click.option("--type", "kind", type=click.Choice(CODEMARK_TYPES), help="Only codemarks of this type.")
@click.option("--author", metavar="WHO", help="Only codemarks written by this member (handle, email or @me).")
@click.option(
    "--assignee", metavar="WHO", help="Only codemarks assigned to this member (handle, email or @me)."
)
@click.option("--tag", help="Only codemarks with this tag.")
@click.option(
    "--path",
    metavar="PATH",
    help="Only codemarks with a block in this file or directory (in a clone: where the code is now).",
)
@click.option(
    "--since", metavar="WHEN", help="Created at or after WHEN: 2026-01-31, 2026-01-31T14:00, 7d, 36h, 2w."
)
@click.option("--until", metavar="WHEN", help="Created before WHEN (same forms).")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="At most this many."
)
@json_option
def search(
    query: str,
    status: str,
    kind: str | None,
    author: str | None,
    assignee: str | None,
    tag: str | None,
    path: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Find codemarks whose title, text or replies hold every word of QUERY, newest first.

    Words match whole words and the parts of identifiers: `fetch` finds fetchUrl and fetch_url.
    Inside a clone linked with `kibitz init` it searches that clone's team, and PATH is relative to
    the current directory, limits the search to that repository and matches where the code is now
    (as `kibitz ls PATH` does); elsewhere it searches the current team and PATH is the file a block
    was recorded in, relative to the repository root.
    """
    now = dt.datetime.now(dt.UTC)
    try:
        since_at = parse_when(since, now) if since else None
        until_at = parse_when(until, now) if until else None
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    scope = _search_scope(path)
    # In a linked clone, PATH is where the code is now, as `kibitz ls PATH` sees it: the server, which
    # knows only where blocks were recorded, searches the repo, and the clone keeps the hits under PATH.
    here = scope.in_clone()
    hits: list[SearchHit] = []
    with open_client() as client:
        team_id = scope.team_id or current_team(client).id
        author_id = member_ids(client, team_id, (author,))[0] if author else None
        assignee_id = member_ids(client, team_id, (assignee,))[0] if assignee else None
        cursor: str | None = None
        while len(hits) < limit:
            page = client.search(
                team_id,
                query,
                status=status,
                type=kind,
                author=author_id,
                assignee=assignee_id,
                tag=tag,
                repo_id=scope.repo_id,
                path=None if here is not None else scope.path,
                since=since_at,
                until=until_at,
                limit=200 if here is not None else min(200, limit - len(hits)),
                cursor=cursor,
            )
            found = page["items"]
            if here:
                root, link, under = here
                kept = shown_under(client, root, link, [hit["codemark"] for hit in found], under)
                ids = {codemark["id"] for codemark in kept}
                found = [hit for hit in found if hit["codemark"]["id"] in ids]
            hits += found
            cursor = page["next_cursor"]
            if cursor is None:
                break
    hits = hits[:limit]
    if as_json:
        print_json(hits)
        return
    if hits:
        show_text("\n".join(search_line(hit) for hit in hits))
    else:
        echo("Nothing found.", err=True)


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Show read items too, not only unread ones.")
@click.option("--read", "mark_read", is_flag=True, help="Mark the items shown read.")
@click.option(
    "--limit", type=click.IntRange(1, 1000), default=50, show_default=True, help="At most this many."
)
@json_option
def inbox(show_all: bool, mark_read: bool, limit: int, as_json: bool) -> None:
    """Show your unread mentions, assignments and replies on codemarks you follow, newest first.

    Lines of unread items start with `*`. With --read the items shown are marked read, so the next
    `kibitz inbox` shows only what arrived since.
    """
    items: list[InboxItem] = []
    with open_client() as client:
        team = current_team(client)
        cursor: str | None = None
        while len(items) < limit:
            page = client.inbox(
                team.id, unread=not show_all, limit=min(200, limit - len(items)), cursor=cursor
            )
            unread = page["unread"]
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        newly_read = [item["id"] for item in items if item["read_at"] is None]
        if mark_read and newly_read:
            unread -= client.mark_inbox_read(team.id, newly_read)
    if as_json:
        print_json({"items": items, "unread": unread})
        return
    for item in items:
        echo(inbox_line(item))
    if mark_read and newly_read:
        echo(f"Marked {len(newly_read)} read; {unread} unread left.", err=True)
    elif not items:
        echo("Nothing unread." if not show_all else "Your inbox is empty.", err=True)
    else:
        echo(f"{unread} unread.", err=True)


@click.command()
@click.option(
    "--after",
    type=click.IntRange(min=0),
    metavar="SEQ",
    help="Start after event SEQ (0: the team's whole log) instead of where the last watch stopped.",
)
@json_option
def watch(after: int | None, as_json: bool) -> None:
    """Print the current team's events as they happen, until interrupted.

    Each event is printed once, in order: when the connection drops, watch reconnects (waiting a
    little longer after each failure) and resumes after the last event it printed, and it checks the
    numbering so that nothing is missed. It remembers that place after each event, so the next watch
    continues there (one killed between printing an event and remembering it prints that event again).
    With --json each event is one JSON object per line (docs/realtime.md).
    """
    with open_client() as client:
        team = current_team(client)
        email = client.me()["user"]["email"]
        emails = {member["user_id"]: member["email"] for member in client.list_members(team.id)}
        server, token = client.server_url, client.token
    assert token is not None  # open_client requires one
    start = after if after is not None else load_position(server, email, team.id)
    chosen = trust()
    stream = EventStream(
        server,
        token,
        team.id,
        start,
        on_status=lambda message: _note(message),
        ca_file=chosen.ca_file,
        cert_sha256=chosen.cert_sha256,
    )
    try:
        for event in stream:
            _show(event, emails, as_json)
            save_position(server, email, team.id, event["seq"])
    except KeyboardInterrupt:
        return


def _note(message: str) -> None:
    echo(f"kibitz: {message}", err=True)


def _show(event: Any, emails: dict[str, str], as_json: bool) -> None:
    """Print one event (nothing for a skipped one), keeping the email of new members for later lines."""
    if event["type"] == "member.joined":
        data = event.get("data") or {}
        emails[str(data.get("user_id"))] = str(data.get("email"))
    if event["type"] == "skipped":
        return
    if as_json:
        echo(json_text(event, indent=None, compact=True))
    else:
        line = event_line(event, emails)
        if line is not None:
            echo(line)


COMMANDS: tuple[click.Command, ...] = (react, edit, search, inbox, follow, unfollow, watch)
