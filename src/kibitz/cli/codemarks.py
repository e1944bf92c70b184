"""Codemarks: `kibitz init` links a clone; `add`, `ls`, `show`, `reply`, `resolve`, `reopen`, `rm`."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import click

from kibitz.cli.context import (
    check_message_sources,
    current_team,
    id_or_permalink,
    json_option,
    member_ids,
    message_options,
    open_client,
    print_json,
    read_message,
    resolve_codemark_id,
    yes_option,
)
from kibitz.cli.errors import CliError
from kibitz.cli.locating import (
    MORE_WHY_TIME,
    Current,
    first_shown_marker,
    locate_markers,
    location_json,
    path_scope,
    promotion_note,
    recorded_json,
    target_for,
    why_json,
    with_code,
    with_promoted,
)
from kibitz.cli.output import aligned, on_terminal, paint, status_colour
from kibitz.cli.output import show as show_text
from kibitz.cli.render import codemark_details, listing_cells, listing_line, permalink_url
from kibitz.cli.repos import find_repo, repo_names
from kibitz.cli.terminal import confirm, echo, printable
from kibitz.client import CODEMARK_TYPES, Codemark, CurrentTeam, KibitzClient, Marker, Repo
from kibitz.gitrepo import (
    LineRange,
    NotARepository,
    ObjectReader,
    RepoLink,
    find_root,
    has_commits,
    ignored_by,
    is_shallow,
    read_link,
    remote_urls,
    root_commits,
    write_link,
)
from kibitz.locate import WHY_SECONDS, AtCommit, Target, pin, split_lines
from kibitz.remotes import normalise_remote
from kibitz.whynote import why_note


def _linked_repo() -> tuple[Path, RepoLink]:
    """Return the root of the git repository around the cwd and its Kibitz link."""
    root = find_root(Path.cwd())
    link = read_link(root)
    if link is None:
        raise CliError(f"{root} is not linked to Kibitz yet: run `kibitz init` in it first")
    return root, link


def _repo_path(path: str, root: Path, *, must_exist: bool) -> str:
    """Return ``path`` (relative to the cwd, else to the repo root) as a ``/``-separated repo path."""
    candidates = [Path.cwd() / path, root / path]
    chosen = next((candidate for candidate in candidates if candidate.exists()), None)
    if chosen is None:
        if must_exist:
            raise CliError(f"{path}: no such file")
        chosen = candidates[0]
    # Resolve the directory but not the file name, so a tracked symlink keeps its own path.
    absolute = (
        chosen.parent.resolve() / chosen.name if chosen.name not in ("", ".", "..") else chosen.resolve()
    )
    try:
        relative = absolute.relative_to(root.resolve())
    except ValueError:
        raise CliError(f"{path} is outside the repository {root}") from None
    return relative.as_posix() if relative.parts else ""


def _refuse_unseen(root: Path, path: str, wanted: LineRange) -> None:
    """Refuse to pin a file teammates could never see the lines of: a symbolic link, an ignored file."""
    file = root / path
    lines = f"{wanted.start_line}-{wanted.end_line}"
    if file.is_symlink():
        target = os.readlink(file)
        try:
            inside = file.resolve().relative_to(root.resolve()).as_posix()
        except (OSError, ValueError):
            inside = None
        instead = f"Pin {inside}:{lines} instead." if inside else "Pin the file it points to instead."
        raise CliError(
            f"{path} is a symbolic link to {target}: git keeps only where it points, not the lines you "
            f"see through it, so a codemark there could never be found. {instead}"
        )
    rule = ignored_by(root, path)
    if rule is not None:
        raise CliError(
            f"{path} is ignored by git ({rule}): it is never committed, so teammates could never see a "
            f"codemark there. Commit it first (`git add --force {path}`), or pin a committed file."
        )


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace")


@click.command()
@click.option(
    "--repo",
    "repo_name",
    metavar="NAME",
    help="Link to this repository of the team (its name or id), whatever its commits and remotes say.",
)
@click.option(
    "--new", "create", is_flag=True, help="Register it as a new repository although the team has others."
)
@json_option
def init(repo_name: str | None, create: bool, as_json: bool) -> None:
    """Link the git repository around the current directory to the current team.

    The server recognises the repository by its root commits and remote URLs, so every clone,
    fork or mirror of it shares the same codemarks. A clone that matches none of the team's
    repositories is refused: link it with --repo NAME (`kibitz repo list` shows them), or register
    it with --new. A shallow clone is recognised by its remotes only (its oldest commit is not the
    repository's first).
    """
    root = find_root(Path.cwd())
    shallow = is_shallow(root)
    # A shallow clone's "root" is where its history was cut: it names no repository, and must not be
    # learned as one's first commit.
    commits = [] if shallow else root_commits(root)
    remotes: list[str] = []
    for url in remote_urls(root):
        normalised = normalise_remote(url)
        if normalised and normalised not in remotes:
            remotes.append(normalised)
    name = remotes[0].rsplit("/", 1)[-1] if remotes else root.name
    with open_client() as client:
        current = current_team(client)
        if repo_name is not None:
            repo = find_repo(client, current.id, repo_name, current.name)
        else:
            matched = _matching_repo(client, current, root, commits, remotes, shallow=shallow, create=create)
            repo = matched or client.match_repo(current.id, commits, remotes, name=name[:100] or None)
    write_link(root, RepoLink(team_id=current.id, repo_id=repo["id"]))
    if as_json:
        print_json({"root": str(root), "team_id": current.id, "repo": repo, "shallow": shallow})
        return
    echo(f"Linked {root} to repo {repo['name']} ({repo['id']}) in team {current.name}.")
    if shallow:
        echo(
            "This is a shallow clone: codemarks recorded at commits older than its history show as "
            "`commit not in this clone`; `git fetch --unshallow` fetches them.",
            err=True,
        )


def _matching_repo(
    client: KibitzClient,
    team: CurrentTeam,
    root: Path,
    commits: list[str],
    remotes: list[str],
    *,
    shallow: bool,
    create: bool,
) -> Repo | None:
    """Return the team's repo this clone is, by the server's match; None when a new one is to be made.

    Refused when nothing matches and the team has repos already, unless ``create``: a clone that
    silently became a second repository would split the team's codemarks.
    """
    known = client.list_repos(team.id)
    same = [
        repo
        for repo in known
        if set(repo["root_commits"]) & set(commits) or set(repo["remotes"]) & set(remotes)
    ]
    if same:
        # The server's match learns this clone's new identities (another remote, say) as well.
        return client.match_repo(team.id, commits, remotes)
    if shallow and not remotes:
        raise CliError(
            f"{root} is a shallow clone without a remote: nothing recognises which repository it is. Run "
            "`git fetch --unshallow` and `kibitz init` again, or link it with `kibitz init --repo NAME` "
            f"(team {team.name} has: {repo_names(known)})."
        )
    if not commits and not remotes:
        raise CliError(f"{root} has no commit and no remote yet: commit something first")
    if not known or create:
        return None
    if shallow:
        raise CliError(
            f"{root} is a shallow clone: its oldest commit is not the repository's first, so only its "
            f"remotes can recognise it, and they match none of team {team.name}'s repositories "
            f"({repo_names(known)}). Run `git fetch --unshallow` and `kibitz init` again, or link it with "
            "`kibitz init --repo NAME`."
        )
    raise CliError(
        f"{root} matches none of team {team.name}'s repositories ({repo_names(known)}) by its first commit "
        "or its remotes. If it is a clone of one of them (history rewritten, another remote), run "
        "`kibitz init --repo NAME`; if it is a new repository, run `kibitz init --new`."
    )


def parse_target(target: str) -> tuple[str, LineRange]:
    """Split ``PATH:START[-END]`` into the path and the line range."""
    path, colon, lines = target.rpartition(":")
    start_text, dash, end_text = lines.partition("-")
    try:
        start = int(start_text)
        end = int(end_text) if dash else start
    except ValueError:
        start = end = 0
    if not colon or not path or start < 1 or end < start:
        raise click.BadParameter(
            f"{target!r} is not PATH:START or PATH:START-END with 1 ≤ START ≤ END",
            param_hint="PATH:START[-END]",
        )
    return path, LineRange(start, end)


@click.command()
@click.argument("target", metavar="PATH:START[-END]")
@message_options("what you want to say")
@click.option(
    "--type",
    "kind",
    type=click.Choice(CODEMARK_TYPES),
    default="comment",
    show_default=True,
    help="Kind of codemark.",
)
@click.option("--title", help="A short title.")
@click.option(
    "--assign",
    multiple=True,
    metavar="WHO",
    help="Assign a team member: a handle, an email or @me (repeatable).",
)
@click.option("--tag", multiple=True, metavar="TAG", help="Add a tag (repeatable).")
@json_option
def add(
    target: str,
    text: str | None,
    body_file: str | None,
    kind: str,
    title: str | None,
    assign: tuple[str, ...],
    tag: tuple[str, ...],
    as_json: bool,
) -> None:
    """Pin a codemark to lines START to END of PATH and print its id.

    PATH is relative to the current directory or to the repository root; the lines are those of
    the file as it is on disk. Lines committed at HEAD are recorded there; lines with uncommitted
    changes (or in an untracked file) make a provisional codemark that carries the code and is
    promoted once someone runs `kibitz ls` on a commit that holds it.
    """
    check_message_sources(text, body_file)
    path_arg, wanted = parse_target(target)
    root, link = _linked_repo()
    path = _repo_path(path_arg, root, must_exist=True)
    file = root / path
    _refuse_unseen(root, path, wanted)
    if not file.is_file():
        raise CliError(f"{path_arg} is not a file")
    working_text = _read_text(file)
    if "\x00" in working_text:
        raise CliError(f"{path} looks binary; codemarks pin lines of text")
    line_count = len(split_lines(working_text))
    if wanted.end_line > line_count:
        raise CliError(
            f"{path} has {line_count} lines; {wanted.start_line}-{wanted.end_line} is past its end"
        )
    if not has_commits(root):
        raise CliError(f"{root} has no commits yet: a codemark is recorded at a commit, so commit first")
    with ObjectReader(root) as reader:
        marker = pin(reader, link.repo_id, path, wanted, working_text)
    provisional = marker.get("provisional", False)
    # Asked last, once everything else is known good: nothing written in the editor is lost to a typo.
    text = read_message(text, body_file)
    with open_client() as client:
        assignees = member_ids(client, link.team_id, assign) if assign else []
        codemark = client.create_codemark(
            link.team_id, type=kind, text=text, markers=[marker], title=title, assignees=assignees, tags=tag
        )
    address = permalink_url(client.server_url, codemark["permalink"])
    if as_json:
        print_json({**codemark, "provisional": provisional, "permalink": address})
        return
    # The id alone on stdout, for scripts (`id=$(kibitz add ...)`); the address for people on stderr.
    echo(codemark["id"])
    echo(address, err=True)
    if provisional:
        echo(
            f"{path}:{wanted.start_line}-{wanted.end_line} is not committed yet: the codemark carries the "
            "code and becomes a regular one once a commit holds it.",
            err=True,
        )


def _listing_entry(
    codemark: Codemark, marker: Marker, current: Current, target: Target, *, why: bool
) -> dict[str, Any]:
    entry = {
        "id": codemark["id"],
        "type": codemark["type"],
        "status": codemark["status"],
        "title": codemark.get("title") or "",
        "text": codemark["text"],
        "author": codemark["author"]["email"],
        "assignees": [user["email"] for user in codemark["assignees"]],
        "tags": codemark["tags"],
        "reply_count": codemark["reply_count"],
        "created_at": codemark["created_at"],
        "updated_at": codemark["updated_at"],
        "location": location_json(marker, current.placement, target),
        "recorded": recorded_json(marker),
    }
    if why:
        entry["why"] = why_json(current.why)
    return entry


_at_option = click.option(
    "--at",
    "revision",
    metavar="REV",
    help="Locate the code at this commit (a branch, tag or commit id) instead of in the working tree.",
)
_why_seconds_option = click.option(
    "--why-seconds",
    type=click.FloatRange(min=0),
    default=WHY_SECONDS,
    show_default=True,
    metavar="SECONDS",
    help="Search the history for the commits that moved the code for at most this long.",
)


@click.command("ls")
@click.argument("path", required=False)
@click.option(
    "--status",
    type=click.Choice(["open", "resolved", "archived", "all"]),
    default="open",
    show_default=True,
    help="Which codemarks to list.",
)
@click.option("--type", "kind", type=click.Choice(CODEMARK_TYPES), help="Only codemarks of this type.")
@click.option("--author", metavar="WHO", help="Only codemarks written by this member (handle, email or @me).")
@click.option(
    "--assignee", metavar="WHO", help="Only codemarks assigned to this member (handle, email or @me)."
)
@click.option("--tag", metavar="TAG", help="Only codemarks with this tag.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N codemarks, newest first.")
@_at_option
@click.option(
    "--why", "why", is_flag=True, help="Name the commit that moved, changed or deleted each one's code."
)
@_why_seconds_option
@json_option
def ls(
    path: str | None,
    status: str,
    kind: str | None,
    author: str | None,
    assignee: str | None,
    tag: str | None,
    limit: int | None,
    revision: str | None,
    why: bool,
    why_seconds: float,
    as_json: bool,
) -> None:
    """List the codemarks of this repository, or of one file or directory in it.

    Each is shown where its code is now in your working tree (or at REV with --at), followed by
    how it got there when it is not exactly where it was recorded: shifted (same code, other lines
    or a renamed file), changed (edited), moved (elsewhere in the file or in another file) or
    deleted, with the confidence of that answer. PATH matches where the code is now. With --why,
    a line under each names the commit that did it (its id, author, date and subject).
    """
    root, link = _linked_repo()
    target = target_for(root, revision)
    exact_path, prefix = path_scope(root, _repo_path(path, root, must_exist=False) if path else "")
    with open_client() as client:
        author_id = member_ids(client, link.team_id, (author,))[0] if author else None
        assignee_id = member_ids(client, link.team_id, (assignee,))[0] if assignee else None
        codemarks = client.iter_codemarks(
            link.team_id,
            repo_id=link.repo_id,
            status=status,
            type=kind,
            author=author_id,
            assignee=assignee_id,
            tag=tag,
        )
        # Without a path every codemark listed is shown, so only the first N need locating.
        wanted = list(itertools.islice(codemarks, limit if path is None else None))
        located = locate_markers(client, root, link, wanted, target, why_seconds=why_seconds if why else None)
    entries = []
    # The line under each entry that names the commit that made its code what it is (with --why).
    notes: list[str | None] = []
    promoted: list[str] = []
    for codemark in wanted:
        marker = first_shown_marker(codemark, located, exact_path, prefix)
        if marker is not None:
            current = located[marker["id"]]
            if current.promoted is not None:
                # Promoted by this very run: show where it is recorded now, not where it was pinned.
                marker = current.promoted
                promoted.append(promotion_note(codemark["id"], marker))
            entries.append(_listing_entry(codemark, marker, current, target, why=why))
            note = why_note(current.why, marker["commit"], why_seconds, MORE_WHY_TIME) if why else None
            notes.append(None if note is None else "    " + note)
    entries, notes = entries[:limit], notes[:limit]
    if as_json:
        print_json(entries)
        return
    if on_terminal():
        lines = aligned([_painted(entry) for entry in entries])
        # Escaped like the cells: the names and subjects of commits are other people's text.
        shown = [
            part
            for line, note in zip(lines, notes, strict=True)
            for part in (line, None if note is None else printable(note))
            if part is not None
        ]
        show_text("\n".join(shown), printable_already=True)
    else:
        for entry, note in zip(entries, notes, strict=True):
            echo(listing_line(entry))
            if note is not None:
                echo(note)
    for note in promoted:
        echo(note, err=True)
    if not entries:
        echo("No codemarks." if status == "all" else f"No {status} codemarks.", err=True)


def _painted(entry: dict[str, Any]) -> list[str]:
    """Return the cells of a listing line, coloured when colour is wanted."""
    # Escaped before painting: our own colour codes must survive, those in anyone's text must not.
    cells = [printable(cell) for cell in listing_cells(entry)]
    cells[0] = paint(cells[0], "yellow")
    cells[2] = paint(cells[2], status_colour(entry["status"]))
    cells[4] = paint(cells[4], dim=True)
    return cells


def _locate_for_show(
    client: KibitzClient, codemark: Codemark, revision: str | None, why_seconds: float
) -> tuple[dict[str, Current], Target | None, Codemark]:
    """Return where the codemark's markers are, when run in a clone linked to their repo.

    The codemark comes back with the code a code-free team's server does not keep, read from the clone.
    """
    try:
        root = find_root(Path.cwd())
    except NotARepository:
        if revision:
            raise
        return {}, None, codemark
    link = read_link(root)
    if link is None or link.team_id != codemark["team_id"]:
        if revision:
            raise CliError(f"{root} is not linked to this codemark's team: run `kibitz init` in it first")
        return {}, None, codemark
    target = target_for(root, revision)
    codemark = with_code(root, link, codemark)
    located = locate_markers(client, root, link, [codemark], target, with_code=True, why_seconds=why_seconds)
    return located, target, with_promoted(codemark, located)


@click.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
@_at_option
@_why_seconds_option
@json_option
def show(codemark_id: str, revision: str | None, why_seconds: float, as_json: bool) -> None:
    """Show a codemark: its code as recorded and as it is now, its text and its replies.

    Inside a clone of its repository, each block is located in the working tree (or at REV with
    --at), with the commit that moved, changed or deleted it; when the code there differs from the
    recorded code, a unified diff shows how.
    """
    with open_client() as client:
        codemark_id = resolve_codemark_id(client, codemark_id)
        codemark = client.get_codemark(codemark_id)
        replies = list(client.iter_replies(codemark_id))
        located, target, codemark = _locate_for_show(client, codemark, revision, why_seconds)
    if as_json:
        markers = []
        for marker in codemark["markers"]:
            current = located.get(marker["id"])
            markers.append(
                {
                    **marker,
                    "location": location_json(marker, current.placement, target)
                    if current is not None and target is not None
                    else None,
                    "current_code": current.code if current is not None else None,
                    # The commit that made the block what it is (null: unchanged, or not located here).
                    "why": why_json(current.why) if current is not None else None,
                }
            )
        print_json({**codemark, "markers": markers, "replies": replies})
    else:
        show_text(
            codemark_details(
                codemark,
                replies,
                located,
                _describe_target(target, revision),
                client.server_url,
                why_seconds=why_seconds,
            )
        )


def _describe_target(target: Target | None, revision: str | None) -> str:
    if not isinstance(target, AtCommit):
        return "in the working tree"
    if revision and not target.commit.startswith(revision.lower()):
        return f"at {revision} ({target.commit[:12]})"
    return f"at {target.commit[:12]}"


@click.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
@message_options("your answer")
@json_option
def reply(codemark_id: str, text: str | None, body_file: str | None, as_json: bool) -> None:
    """Answer in a codemark's thread and print the reply's id."""
    with open_client() as client:
        codemark_id = resolve_codemark_id(client, codemark_id)
        body = read_message(text, body_file, what="answer")
        created = client.add_reply(codemark_id, body)
    if as_json:
        print_json(created)
        return
    echo(created["id"])


def _set_status(codemark_id: str, status: str) -> Codemark:
    with open_client() as client:
        codemark_id = resolve_codemark_id(client, codemark_id)
        return client.update_codemark(codemark_id, status=status)


@click.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
@json_option
def resolve(codemark_id: str, as_json: bool) -> None:
    """Mark a codemark resolved (its author, an assignee, an admin or an owner)."""
    codemark = _set_status(codemark_id, "resolved")
    if as_json:
        print_json(codemark)
        return
    echo(f"Resolved {codemark['id']}.")


@click.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
@json_option
def reopen(codemark_id: str, as_json: bool) -> None:
    """Open a resolved or archived codemark again (its author, an assignee, an admin or an owner)."""
    codemark = _set_status(codemark_id, "open")
    if as_json:
        print_json(codemark)
        return
    echo(f"Reopened {codemark['id']}.")


@click.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
@yes_option
@json_option
def rm(codemark_id: str, yes: bool, as_json: bool) -> None:
    """Delete a codemark and its replies, for good, after asking (--yes does not ask)."""
    with open_client() as client:
        codemark_id = resolve_codemark_id(client, codemark_id)
        if not yes:
            codemark = client.get_codemark(codemark_id)
            replies = codemark["reply_count"]
            thread = f" and its {replies} {'reply' if replies == 1 else 'replies'}" if replies else ""
            # Asked on stderr: stdout carries only the command's output. Declining (or no terminal and no
            # answer on standard input) exits 1 and deletes nothing.
            confirm(f"Delete codemark {codemark_id}{thread} for good?", abort=True)
        client.delete_codemark(codemark_id)
    if as_json:
        print_json({"id": codemark_id, "deleted": True})
        return
    echo(f"Deleted {codemark_id}.")


COMMANDS: tuple[click.Command, ...] = (init, add, ls, show, reply, resolve, reopen, rm)
