"""The ``kibitz`` command: accounts, teams, and codemarks pinned to lines of a git repository."""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

import click

from kibitz import __version__
from kibitz.cli.account import SERVER_COMMANDS as ERASURE_SERVER_COMMANDS
from kibitz.cli.account import TEAM_COMMANDS as ERASURE_TEAM_COMMANDS
from kibitz.cli.account import account
from kibitz.cli.context import TRUST_META, Trust, id_or_permalink
from kibitz.cli.context import client_for as _client_for
from kibitz.cli.context import current_team as _current_team
from kibitz.cli.context import json_option as _json_option
from kibitz.cli.context import member_ids as _user_ids
from kibitz.cli.context import open_client as _client
from kibitz.cli.context import print_json as _print_json
from kibitz.cli.conversation import COMMANDS as CONVERSATION_COMMANDS
from kibitz.cli.errors import (
    FAILURE,
    NOT_FOUND,
    CliError,
    describe,
    exit_code_for,
    exit_codes_help,
    is_reported,
)
from kibitz.cli.export import COMMANDS as EXPORT_COMMANDS
from kibitz.cli.locating import (
    Current,
    first_shown_marker,
    locate_markers,
    location_json,
    recorded_json,
    target_for,
    with_code,
)
from kibitz.cli.render import codemark_details, listing_line
from kibitz.cli.server_backup import COMMANDS as SERVER_BACKUP_COMMANDS
from kibitz.cli.team_admin import COMMANDS as TEAM_ADMIN_COMMANDS
from kibitz.cli.team_security import COMMANDS as TEAM_SECURITY_COMMANDS
from kibitz.cli.tokens import COMMANDS as TOKEN_COMMANDS
from kibitz.client import (
    CODEMARK_TYPES,
    Codemark,
    ConnectionFailed,
    Credentials,
    CurrentTeam,
    KibitzClient,
    KibitzError,
    LoginResult,
    Marker,
    NotAuthenticated,
    delete_credentials,
    load_credentials,
    load_current_team,
    parse_fingerprint,
    resolve_server,
    resolve_token,
    save_credentials,
    save_current_team,
)
from kibitz.gitrepo import (
    LineRange,
    NotARepository,
    ObjectReader,
    RepoLink,
    find_root,
    has_commits,
    read_link,
    remote_urls,
    root_commits,
    write_link,
)
from kibitz.locate import AtCommit, Target, pin, split_lines
from kibitz.remotes import normalise_remote

DEBUG_ENV = "KIBITZ_DEBUG"


class KibitzGroup(click.Group):
    """The root group: turns every expected failure into ``kibitz: message`` and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, reporting failures without a traceback."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:
            if is_reported(error):
                _fail(ctx, describe(error), exit_code_for(error))
            if isinstance(error, OSError):
                where = f"{error.filename}: " if error.filename else ""
                _fail(ctx, f"{where}{error.strerror or error}", FAILURE)
            if os.environ.get(DEBUG_ENV):
                traceback.print_exc()
            hint = "" if os.environ.get(DEBUG_ENV) else f" (set {DEBUG_ENV}=1 to see the traceback)"
            _fail(ctx, f"internal error: {type(error).__name__}: {error}{hint}", FAILURE)


def _fail(ctx: click.Context, message: str, code: int) -> NoReturn:
    click.echo(f"kibitz: {message}", err=True)
    ctx.exit(code)


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


def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace")


def _read_password(from_stdin: bool, *, confirm: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CliError("no password on standard input")
        return password
    # Prompts go to stderr so that stdout carries only the command's output.
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=confirm, err=True))


def _store_login(server: str, result: LoginResult) -> None:
    """Keep the new token; forget the current team if it belonged to another account or server."""
    server = server.strip().rstrip("/")
    email = result["user"]["email"]
    previous = load_credentials()
    if previous is None or previous.server != server or previous.email.lower() != email.lower():
        save_current_team(None)
    save_credentials(Credentials(server=server, token=result["token"], email=email))


def _check_fingerprint(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Click callback: refuse a malformed fingerprint as a usage error, before anything connects."""
    if not value:
        return None
    try:
        parse_fingerprint(value)
    except KibitzError as error:
        raise click.BadParameter(error.message) from None
    return value


# -- the commands -------------------------------------------------------------------------------


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


_server_option = click.option(
    "--server",
    required=True,
    envvar="KIBITZ_SERVER",
    show_envvar=True,
    metavar="URL",
    help="Server URL, e.g. http://127.0.0.1:8383.",
)
_password_stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of standard input."
)


@cli.command()
@_server_option
@click.option("--email", required=True, help="Your email address (your login).")
@click.option("--name", required=True, help="Your display name.")
@click.option("--handle", help="What teammates type after @ to mention you [default: from your email].")
@_password_stdin_option
def signup(server: str, email: str, name: str, handle: str | None, password_stdin: bool) -> None:
    """Create an account on a server and log in to it.

    Asks for a password (12–128 characters) twice unless --password-stdin is given.
    """
    password = _read_password(password_stdin, confirm=True)
    with _client_for(server) as client:
        user = client.signup(email, name, password, handle=handle)
        result = client.login(email, password)
    _store_login(server, result)
    mention = f" (mention: @{user['handle']})" if user.get("handle") else ""
    click.echo(f"Signed up and logged in as {result['user']['email']}{mention} on {client.server_url}.")


@cli.command()
@_server_option
@click.option("--email", required=True, help="Your email address.")
@_password_stdin_option
def login(server: str, email: str, password_stdin: bool) -> None:
    """Log in to a server and store the API token (in a file only you can read)."""
    password = _read_password(password_stdin, confirm=False)
    with _client_for(server) as client:
        result = client.login(email, password)
    _store_login(server, result)
    click.echo(f"Logged in as {result['user']['email']} on {client.server_url}.")


def _forget_login() -> None:
    delete_credentials()
    save_current_team(None)


@cli.command()
def logout() -> None:
    """Revoke the API token on the server and forget it locally."""
    server, token = resolve_server(), resolve_token()
    if not server or not token:
        delete_credentials()
        click.echo("Not logged in.")
        return
    try:
        with _client_for(server, token) as client:
            client.logout()
    except NotAuthenticated:
        pass  # Already expired or revoked: forgetting it is all that is left to do.
    except ConnectionFailed as error:
        # Forget the token anyway, but say plainly that it still works on the server.
        _forget_login()
        message = f"{describe(error)}; the token was forgotten here but NOT revoked"
        raise CliError(message, exit_code_for(error)) from None
    _forget_login()
    click.echo("Logged out.")


@cli.command()
@_json_option
def whoami(as_json: bool) -> None:
    """Show who you are logged in as, on which server, and your teams."""
    with _client() as client:
        me = client.me()
        server = client.server_url
    current = load_current_team()
    if as_json:
        _print_json(
            {
                "server": server,
                "user": me["user"],
                "teams": me["teams"],
                "current_team": {"id": current.id, "name": current.name} if current else None,
            }
        )
        return
    user = me["user"]
    click.echo(f"{user['name']} <{user['email']}> on {server}")
    for team in me["teams"]:
        marker = "*" if current and current.id == team["id"] else " "
        click.echo(f"{marker} {team['name']}  ({team['role']})")
    if not me["teams"]:
        click.echo("No team yet: `kibitz team create NAME` or `kibitz team join CODE`.")


# -- teams --------------------------------------------------------------------------------------


@cli.group()
def team() -> None:
    """Create, join and choose teams; invite people."""


@team.command("create")
@click.argument("name")
def team_create(name: str) -> None:
    """Create a team (you become its owner) and make it the current team."""
    with _client() as client:
        created = client.create_team(name)
    save_current_team(CurrentTeam(id=created["id"], name=created["name"]))
    click.echo(f"Created team {created['name']} ({created['id']}); it is now your current team.")


@team.command("invite")
@click.option(
    "--role",
    type=click.Choice(["member", "admin"]),
    default="member",
    show_default=True,
    help="Role of whoever joins with the code (only owners invite admins).",
)
@_json_option
def team_invite(role: str, as_json: bool) -> None:
    """Create an invite code for the current team and print it (it is shown only once)."""
    with _client() as client:
        current = _current_team(client)
        invite = client.create_invite(current.id, role)
    if as_json:
        _print_json(invite)
        return
    click.echo(invite["code"])
    click.echo(
        f"Invite to {current.name} as {invite['role']}, valid until {invite['expires_at']}. "
        f"Join with: kibitz team join {invite['code']}",
        err=True,
    )


@team.command("join")
@click.argument("code")
def team_join(code: str) -> None:
    """Join a team with an invite code and make it the current team."""
    with _client() as client:
        joined = client.join_team(code)
    save_current_team(CurrentTeam(id=joined["id"], name=joined["name"]))
    click.echo(f"Joined team {joined['name']} as {joined['role']}; it is now your current team.")


@team.command("members")
@_json_option
def team_members(as_json: bool) -> None:
    """List the members of the current team."""
    with _client() as client:
        members = client.list_members(_current_team(client).id)
    if as_json:
        _print_json(members)
        return
    width = max((len(member["email"]) for member in members), default=0)
    for member in members:
        click.echo(f"{member['email']:<{width}}  {member['role']:<6}  {member['name']}")


@team.command("use")
@click.argument("name")
def team_use(name: str) -> None:
    """Make the team called NAME (or with id NAME) the current team."""
    with _client() as client:
        teams = client.list_teams()
    matches = [t for t in teams if t["name"] == name] or [t for t in teams if t["id"] == name]
    if not matches:
        raise CliError(f"you are in no team named {name!r}", NOT_FOUND)
    if len(matches) > 1:
        ids = ", ".join(t["id"] for t in matches)
        raise CliError(f"several of your teams are named {name!r}; give the id instead ({ids})")
    chosen = matches[0]
    save_current_team(CurrentTeam(id=chosen["id"], name=chosen["name"]))
    click.echo(f"Current team: {chosen['name']} ({chosen['id']}).")


# kibitz team remove|role|transfer (kibitz/cli/team_admin.py)
for _command in TEAM_ADMIN_COMMANDS:
    team.add_command(_command)
# kibitz team allowlist [set|clear] and kibitz team audit (kibitz/cli/team_security.py)
for _command in TEAM_SECURITY_COMMANDS:
    team.add_command(_command)
# kibitz team delete (kibitz/cli/account.py)
for _command in ERASURE_TEAM_COMMANDS:
    team.add_command(_command)


# -- repositories and codemarks -----------------------------------------------------------------


@cli.command()
def init() -> None:
    """Link the git repository around the current directory to the current team.

    The server recognises the repository by its root commits and remote URLs, so every clone,
    fork or mirror of it shares the same codemarks.
    """
    root = find_root(Path.cwd())
    commits = root_commits(root)
    remotes: list[str] = []
    for url in remote_urls(root):
        normalised = normalise_remote(url)
        if normalised and normalised not in remotes:
            remotes.append(normalised)
    if not commits and not remotes:
        raise CliError(f"{root} has no commit and no remote yet: commit something first")
    name = remotes[0].rsplit("/", 1)[-1] if remotes else root.name
    with _client() as client:
        current = _current_team(client)
        repo = client.match_repo(current.id, commits, remotes, name=name[:100] or None)
    write_link(root, RepoLink(team_id=current.id, repo_id=repo["id"]))
    click.echo(f"Linked {root} to repo {repo['name']} ({repo['id']}) in team {current.name}.")


def _parse_target(target: str) -> tuple[str, LineRange]:
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


@cli.command()
@click.argument("target", metavar="PATH:START[-END]")
@click.option("-m", "--message", "text", required=True, metavar="TEXT", help="What you want to say.")
@click.option(
    "--type",
    "kind",
    type=click.Choice(CODEMARK_TYPES),
    default="comment",
    show_default=True,
    help="Kind of codemark.",
)
@click.option("--title", help="A short title.")
@click.option("--assign", multiple=True, metavar="EMAIL", help="Assign a team member (repeatable).")
@click.option("--tag", multiple=True, metavar="TAG", help="Add a tag (repeatable).")
@_json_option
def add(
    target: str,
    text: str,
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
    path_arg, wanted = _parse_target(target)
    root, link = _linked_repo()
    path = _repo_path(path_arg, root, must_exist=True)
    file = root / path
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
    with _client() as client:
        assignees = _user_ids(client, link.team_id, assign) if assign else []
        codemark = client.create_codemark(
            link.team_id, type=kind, text=text, markers=[marker], title=title, assignees=assignees, tags=tag
        )
    if as_json:
        _print_json({"id": codemark["id"], "provisional": provisional})
        return
    click.echo(codemark["id"])
    if provisional:
        click.echo(
            f"{path}:{wanted.start_line}-{wanted.end_line} is not committed yet: the codemark carries the "
            "code and becomes a regular one once a commit holds it.",
            err=True,
        )


def _listing_entry(codemark: Codemark, marker: Marker, current: Current, target: Target) -> dict[str, Any]:
    return {
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


_at_option = click.option(
    "--at",
    "revision",
    metavar="REV",
    help="Locate the code at this commit (a branch, tag or commit id) instead of in the working tree.",
)


@cli.command("ls")
@click.argument("path", required=False)
@click.option(
    "--status",
    type=click.Choice(["open", "resolved", "all"]),
    default="open",
    show_default=True,
    help="Which codemarks to list.",
)
@click.option("--type", "kind", type=click.Choice(CODEMARK_TYPES), help="Only codemarks of this type.")
@_at_option
@_json_option
def ls(path: str | None, status: str, kind: str | None, revision: str | None, as_json: bool) -> None:
    """List the codemarks of this repository, or of one file or directory in it.

    Each is shown where its code is now in your working tree (or at REV with --at), followed by
    how it got there when it is not exactly where it was recorded: shifted (same code, other lines
    or a renamed file), changed (edited), moved (elsewhere in the file or in another file) or
    deleted, with the confidence of that answer. PATH matches where the code is now.
    """
    root, link = _linked_repo()
    target = target_for(root, revision)
    exact_path: str | None = None
    prefix = ""
    if path is not None:
        relative = _repo_path(path, root, must_exist=False)
        if relative and not (root / relative).is_dir():
            exact_path = relative
        elif relative:
            prefix = f"{relative}/"
    with _client() as client:
        codemarks = list(client.iter_codemarks(link.team_id, repo_id=link.repo_id, status=status, type=kind))
        located = locate_markers(client, root, link, codemarks, target)
    entries = []
    for codemark in codemarks:
        marker = first_shown_marker(codemark, located, exact_path, prefix)
        if marker is not None:
            entries.append(_listing_entry(codemark, marker, located[marker["id"]], target))
    if as_json:
        _print_json(entries)
        return
    for entry in entries:
        click.echo(listing_line(entry))
    if not entries:
        click.echo("No codemarks." if status == "all" else f"No {status} codemarks.", err=True)


def _locate_for_show(
    client: KibitzClient, codemark: Codemark, revision: str | None
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
    return locate_markers(client, root, link, [codemark], target, with_code=True), target, codemark


@cli.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
@_at_option
@_json_option
def show(codemark_id: str, revision: str | None, as_json: bool) -> None:
    """Show a codemark: its code as recorded and as it is now, its text and its replies.

    Inside a clone of its repository, each block is located in the working tree (or at REV with
    --at); when the code there differs from the recorded code, a unified diff shows how.
    """
    with _client() as client:
        codemark = client.get_codemark(codemark_id)
        replies = list(client.iter_replies(codemark_id))
        located, target, codemark = _locate_for_show(client, codemark, revision)
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
                }
            )
        _print_json({**codemark, "markers": markers, "replies": replies})
    else:
        click.echo(codemark_details(codemark, replies, located, _describe_target(target, revision)))


def _describe_target(target: Target | None, revision: str | None) -> str:
    if not isinstance(target, AtCommit):
        return "in the working tree"
    if revision and not target.commit.startswith(revision.lower()):
        return f"at {revision} ({target.commit[:12]})"
    return f"at {target.commit[:12]}"


@cli.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
@click.option("-m", "--message", "text", required=True, metavar="TEXT", help="Your answer.")
def reply(codemark_id: str, text: str) -> None:
    """Answer in a codemark's thread and print the reply's id."""
    with _client() as client:
        created = client.add_reply(codemark_id, text)
    click.echo(created["id"])


@cli.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
def resolve(codemark_id: str) -> None:
    """Mark a codemark resolved."""
    with _client() as client:
        client.update_codemark(codemark_id, status="resolved")
    click.echo(f"Resolved {codemark_id}.")


@cli.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
def reopen(codemark_id: str) -> None:
    """Open a resolved codemark again."""
    with _client() as client:
        client.update_codemark(codemark_id, status="open")
    click.echo(f"Reopened {codemark_id}.")


@cli.command()
@click.argument("codemark_id", metavar="ID", callback=id_or_permalink)
def rm(codemark_id: str) -> None:
    """Delete a codemark and its replies."""
    with _client() as client:
        client.delete_codemark(codemark_id)
    click.echo(f"Deleted {codemark_id}.")


# -- running a server ---------------------------------------------------------------------------


@cli.group()
def server() -> None:
    """Run a Kibitz server (configured by KIBITZ_* variables; flags win)."""


_data_dir_option = click.option(
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


@server.command("run")
@click.option("--host", help="Address to listen on [default: 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on [default: 8383].")
@_data_dir_option
@click.option(
    "--tls-cert",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Serve HTTPS and WSS with this PEM certificate (chain) [env: KIBITZ_TLS_CERT].",
)
@click.option(
    "--tls-key",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The certificate's PEM private key [env: KIBITZ_TLS_KEY].",
)
def server_run(
    host: str | None, port: int | None, data_dir: Path | None, tls_cert: Path | None, tls_key: Path | None
) -> None:
    """Serve the API, applying database migrations first.

    Plain HTTP is served only on a loopback address, or with KIBITZ_BEHIND_PROXY=1 and
    KIBITZ_TRUSTED_PROXIES naming the TLS-terminating proxies; anywhere else give --tls-cert and
    --tls-key (`kibitz server gen-cert` makes a self-signed pair for trials).
    """
    # Imported here so that the client commands start without loading the server stack.
    from kibitz.server.runner import serve
    from kibitz.server.tls import TlsSetupError
    from kibitz.settings import Settings

    try:
        settings = Settings.load(host=host, port=port, data_dir=data_dir, tls_cert=tls_cert, tls_key=tls_key)
    except ValueError as error:
        raise CliError(_settings_problem(error)) from None
    try:
        serve(settings)
    except TlsSetupError as error:
        raise CliError(str(error)) from None


@server.command("gen-cert")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for cert.pem and key.pem [default: tls/ in the data directory].",
)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    metavar="NAME",
    help="A host name or IP address clients use to reach the server (repeatable) "
    "[default: localhost, 127.0.0.1, ::1].",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=365,
    show_default=True,
    help="Days the certificate is valid.",
)
@click.option("--force", is_flag=True, help="Replace an existing cert.pem and key.pem.")
@_data_dir_option
def server_gen_cert(
    out_dir: Path | None, hosts: tuple[str, ...], days: int, force: bool, data_dir: Path | None
) -> None:
    """Make a self-signed certificate and key for trials, and print its SHA-256 fingerprint.

    The key file is created readable by you alone (0600). Clients trust the certificate by its
    fingerprint (--cert-sha256 / KIBITZ_CERT_SHA256) or by the certificate itself (--ca-file).
    """
    from kibitz.server.tls import DEFAULT_HOSTS, fingerprint, generate_certificate, write_certificate
    from kibitz.settings import Settings

    if out_dir is None:
        try:
            out_dir = Settings.load(data_dir=data_dir).data_dir / "tls"
        except ValueError as error:
            raise CliError(_settings_problem(error)) from None
    try:
        pair = generate_certificate(hosts or DEFAULT_HOSTS, days)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="'--host'") from None
    try:
        cert_path, key_path = write_certificate(pair, out_dir, overwrite=force)
    except FileExistsError as error:
        raise CliError(str(error)) from None
    digest = fingerprint(pair.cert_pem)
    cert, key = cert_path.resolve(), key_path.resolve()
    click.echo(f"Wrote a self-signed certificate for {', '.join(hosts or DEFAULT_HOSTS)}, valid {days} days:")
    click.echo(f"  certificate: {cert}")
    click.echo(f"  private key: {key}  (mode 0600: keep it secret, never copy it to clients)")
    click.echo(f"SHA-256 fingerprint: {digest}")
    click.echo("\nServe with:")
    click.echo(f"  kibitz server run --host ADDRESS --tls-cert {cert} --tls-key {key}")
    click.echo("Clients trust it by its fingerprint (or set KIBITZ_CERT_SHA256):")
    click.echo(f"  kibitz --cert-sha256 {digest} login --server https://HOST:PORT --email EMAIL")
    click.echo("or by the certificate itself, copied to them (or set KIBITZ_CA_FILE):")
    click.echo(f"  kibitz --ca-file {cert.name} login --server https://HOST:PORT --email EMAIL")


@server.command("migrate")
@_data_dir_option
def server_migrate(data_dir: Path | None) -> None:
    """Bring the database schema up to date, then exit."""
    from kibitz.server.operator.database import migrate
    from kibitz.settings import Settings

    try:
        settings = Settings.load(data_dir=data_dir)
    except ValueError as error:
        raise CliError(_settings_problem(error)) from None
    migrate(settings)
    click.echo("The database is up to date.")


@server.command("rotate-kek")
@click.option(
    "--new-kek-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    metavar="FILE",
    help="Use the key in FILE (base64 of 32 bytes, mode 0600) as the new key-encryption key.",
)
@click.option("--generate", is_flag=True, help="Generate a new random key-encryption key.")
@_data_dir_option
def server_rotate_kek(new_kek_file: Path | None, generate: bool, data_dir: Path | None) -> None:
    """Rewrap every data key in the keystore with a new key-encryption key, then make it the KEK file.

    Safe while servers run and safe to interrupt: the new key waits beside the KEK file (.next) until
    every data key is rewrapped, and running the command again resumes an interrupted rotation.
    """
    from kibitz.server.crypto.kek import kek_file_path, next_kek_path
    from kibitz.server.operator.keys import rotate_kek
    from kibitz.settings import Settings

    try:
        settings = Settings.load(data_dir=data_dir)
    except ValueError as error:
        raise CliError(_settings_problem(error)) from None
    resuming = next_kek_path(kek_file_path(settings)).exists()
    if new_kek_file is not None and generate:
        raise click.UsageError("give --new-kek-file or --generate, not both")
    if new_kek_file is None and not generate and not resuming:
        raise click.UsageError("give --new-kek-file FILE or --generate")
    result = rotate_kek(settings, new_kek_file=new_kek_file)
    if result.resumed:
        click.echo(f"Resumed the interrupted rotation to {result.new_kek}.")
    click.echo(
        f"Rewrapped {result.rewrapped} data keys with the key-encryption key {result.new_kek}; "
        f"{result.old_kek} is no longer used and its file is replaced: {kek_file_path(settings)}"
    )


@server.command("rotate-team-keys")
@click.argument("team_id")
@click.option(
    "--reseal", is_flag=True, help="Also rewrite every sealed value of the team under the new keys."
)
@_json_option
@_data_dir_option
def server_rotate_team_keys(team_id: str, reseal: bool, as_json: bool, data_dir: Path | None) -> None:
    """Give a team's data key and its members' data keys new keys for everything written from now on.

    Older keys stay for reading what they sealed; with --reseal every value sealed with them is rewritten
    under the new keys (safe while servers run: a value edited meanwhile is left as its writer left it).
    """
    import dataclasses

    from kibitz.server.operator.keys import rotate_team_keys
    from kibitz.settings import Settings

    try:
        settings = Settings.load(data_dir=data_dir)
    except ValueError as error:
        raise CliError(_settings_problem(error)) from None
    result = rotate_team_keys(settings, team_id, reseal=reseal)
    if as_json:
        _print_json(dataclasses.asdict(result))
        return
    click.echo(f"Rotated {result.rotated_keys} data keys of team {team_id}.")
    if reseal:
        click.echo(f"Resealed {result.resealed} values under the new keys.")


@server.command("keystore-info")
@_json_option
@_data_dir_option
def server_keystore_info(as_json: bool, data_dir: Path | None) -> None:
    """Show the keystore's key counts and active key-encryption key id (never key material)."""
    import dataclasses

    from kibitz.server.crypto.keystore import keystore_file
    from kibitz.server.operator.keys import keystore_info
    from kibitz.settings import Settings

    try:
        settings = Settings.load(data_dir=data_dir)
    except ValueError as error:
        raise CliError(_settings_problem(error)) from None
    info = keystore_info(settings)
    location = keystore_file(settings)
    if as_json:
        where = str(location) if location else "database server"
        _print_json({"keystore": where, **dataclasses.asdict(info)})
        return
    click.echo(f"keystore: {location or 'KIBITZ_KEYSTORE_URL (database server)'}")
    click.echo(f"active key-encryption key: {info.active_kek}")
    for kek_id, count in sorted(info.keys_by_kek.items()):
        click.echo(f"  data keys wrapped by {kek_id}: {count}")
    for kind, count in sorted(info.active_keys_by_kind.items()):
        click.echo(f"  active {kind} keys: {count}")
    click.echo(f"  retired keys (kept for reading): {info.retired_keys}")
    click.echo(f"  destroyed owners: {info.destroyed_owners}")


@server.group("user")
def server_user() -> None:
    """Disable or enable accounts, or set a password, directly on the configured database (operators)."""


def _set_user_status(email: str, status: str, data_dir: Path | None) -> None:
    from kibitz.server.operator.accounts import set_user_status
    from kibitz.settings import Settings

    try:
        settings = Settings.load(data_dir=data_dir)
    except ValueError as error:
        raise CliError(_settings_problem(error)) from None
    changed, revoked = set_user_status(settings, email, status)
    if not changed:
        click.echo(f"{email} is already {status}.")
    elif status == "disabled":
        click.echo(
            f"Disabled {email}; {revoked} tokens and sessions revoked, open streams close within a second."
        )
    else:
        click.echo(f"Enabled {email}; they can log in again.")


@server_user.command("disable")
@click.argument("email")
@_data_dir_option
def server_user_disable(email: str, data_dir: Path | None) -> None:
    """Disable the account with EMAIL: it cannot log in, and its tokens and sessions are revoked."""
    _set_user_status(email, "disabled", data_dir)


@server_user.command("enable")
@click.argument("email")
@_data_dir_option
def server_user_enable(email: str, data_dir: Path | None) -> None:
    """Enable the account with EMAIL again (its old tokens stay revoked: the person logs in afresh)."""
    _set_user_status(email, "active", data_dir)


@server_user.command("set-password")
@click.argument("email")
@_password_stdin_option
@_data_dir_option
def server_user_set_password(email: str, password_stdin: bool, data_dir: Path | None) -> None:
    """Set the password of the account with EMAIL; an account made by `server import` becomes active.

    Its login sessions end; a disabled account stays disabled. Tell the person the password and ask them
    to change it with `kibitz password`.
    """
    from kibitz.server.operator.accounts import set_password
    from kibitz.settings import Settings

    try:
        settings = Settings.load(data_dir=data_dir)
    except ValueError as error:
        raise CliError(_settings_problem(error)) from None
    password = _read_password(password_stdin, confirm=True)
    activated, ended = set_password(settings, email, password)
    state = "; the imported account is active now" if activated else ""
    click.echo(f"Set the password of {email}{state}; {ended} login sessions ended.")


@server.command("import")
@click.argument("archive", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_data_dir_option
@_json_option
def server_import(archive: Path, data_dir: Path | None, as_json: bool) -> None:
    """Load a team export (`kibitz export --team`) into this server's database, all or nothing.

    The team keeps its ids. Members are matched to existing accounts by email; the others get accounts
    that cannot log in until `kibitz server user set-password EMAIL` gives them a password.
    """
    import dataclasses

    from kibitz.server.operator.database import import_team_file
    from kibitz.settings import Settings

    try:
        settings = Settings.load(data_dir=data_dir)
    except ValueError as error:
        raise CliError(_settings_problem(error)) from None
    summary = import_team_file(settings, archive)
    if as_json:
        _print_json(dataclasses.asdict(summary))
        return
    counts = ", ".join(f"{n} {name}" for name, n in summary.counts.items())
    click.echo(f"Imported team {summary.team_name} ({summary.team_id}): {counts}.")
    for email in summary.matched_accounts:
        click.echo(f"  {email}: existing account")
    for email in summary.created_accounts:
        click.echo(f"  {email}: new account, cannot log in yet: kibitz server user set-password {email}")


# -- backups and restore (kibitz/cli/server_backup.py) ------------------------------------------

for _command in SERVER_BACKUP_COMMANDS:
    server.add_command(_command)

# -- erasure: kibitz account delete, kibitz server erasures (kibitz/cli/account.py) --------------

cli.add_command(account)
for _command in ERASURE_SERVER_COMMANDS:
    server.add_command(_command)

# -- conversations (kibitz/cli/conversation.py) -------------------------------------------------

for _command in CONVERSATION_COMMANDS:
    cli.add_command(_command)

# -- tokens and password (kibitz/cli/tokens.py) -------------------------------------------------

for _command in TOKEN_COMMANDS:
    cli.add_command(_command)

# -- export archives (kibitz/cli/export.py) -----------------------------------------------------

for _command in EXPORT_COMMANDS:
    cli.add_command(_command)


def main() -> None:
    """Run the ``kibitz`` command line."""
    cli(prog_name="kibitz")
