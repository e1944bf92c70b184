"""The language server's state and behaviour: the account, open documents, locating, publishing, live events.

Everything that changes what is kept runs on the event loop; git and HTTP run in worker threads
(``asyncio.to_thread``), so that a slow server or a large repository never stops the editor's requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcException
from pygls.lsp.server import LanguageServer

from kibitz import __version__
from kibitz.client import (
    Codemark,
    ConnectionFailed,
    KibitzClient,
    KibitzError,
    Me,
    NotAuthenticated,
    NotFound,
    NotLoggedIn,
    Reply,
    StreamEvent,
    load_current_team,
    resolve_ca_file,
    resolve_cert_sha256,
    resolve_server,
    resolve_token,
)
from kibitz.gitrepo import GitError, ObjectReader
from kibitz.lsp import _present as present
from kibitz.lsp._live import TeamFeed
from kibitz.lsp._protocol import KibitzProtocol
from kibitz.lsp._publication import KeptDiagnostics
from kibitz.lsp._repos import (
    HOVER_WHY_SECONDS,
    MAX_BUFFER_CHARS,
    Document,
    KeptLocations,
    Repo,
    listed_only,
    locate_buffers,
    placed_in,
    where_is,
    why_in_buffers,
)
from kibitz.whynote import why_note

logger = logging.getLogger(__name__)

T = TypeVar("T")
State = Literal["ready", "signed-out", "offline", "error"]
# LSP's "request failed": the request was understood, and Kibitz said no (or could not be reached).
REQUEST_FAILED = -32803
DEFAULT_DEBOUNCE_MS = 150
# How often a server that is offline or signed out tries again (a new login is picked up as well).
RETRY_SECONDS = 1.0
SIGN_IN = "run `kibitz login --server URL --email EMAIL` in a terminal"


class KibitzFailure(JsonRpcException):
    """A command or request that Kibitz refused or could not carry out; the message says why."""

    CODE = REQUEST_FAILED


@dataclass
class Options:
    """What the client said at initialize (``initializationOptions``)."""

    debounce_seconds: float = DEFAULT_DEBOUNCE_MS / 1000
    prompts: bool = False

    @staticmethod
    def of(value: Any) -> Options:
        """Read the options the client sent, ignoring what is not understood."""
        options = Options()
        if isinstance(value, dict):
            debounce = value.get("debounceMs")
            if (
                isinstance(debounce, (int, float))
                and not isinstance(debounce, bool)
                and 0 <= debounce <= 10_000
            ):
                options.debounce_seconds = debounce / 1000
            options.prompts = value.get("prompts") is True
        return options


@dataclass
class Status:
    """What the status bar shows: the state, who and which team, in words."""

    state: State = "signed-out"
    user: str | None = None
    team: str | None = None
    message: str = "starting"

    def as_json(self) -> dict[str, Any]:
        """Return the ``kibitz/status`` notification's parameters."""
        answer: dict[str, Any] = {"state": self.state, "message": self.message}
        if self.user is not None:
            answer["user"] = self.user
        if self.team is not None:
            answer["team"] = self.team
        return answer


@dataclass(frozen=True, slots=True)
class Trust:
    """Which server certificates to trust: as given to `kibitz --ca-file/--cert-sha256 lsp`, else as the
    environment says (``KIBITZ_CA_FILE``, ``KIBITZ_CERT_SHA256``), read when a client is made."""

    given_ca_file: str | None = None
    given_cert_sha256: str | None = None

    def ca_file(self) -> str | None:
        """Return the CA file to verify the server with, if any."""
        return self.given_ca_file or resolve_ca_file()

    def cert_sha256(self) -> str | None:
        """Return the pinned certificate fingerprint, if any."""
        return self.given_cert_sha256 or resolve_cert_sha256()


@dataclass
class _Said:
    """Which one-time messages were shown, so a long outage or a refused token is said once."""

    offline: bool = False
    signed_out: bool = False
    unlinked: set[Path] = field(default_factory=set)


class KibitzLanguageServer(LanguageServer):
    """The Kibitz language server: codemarks of the team in every open document."""

    protocol: KibitzProtocol

    def __init__(self, trust: Trust | None = None) -> None:
        super().__init__("kibitz", __version__, protocol_cls=KibitzProtocol)
        self.trust = trust or Trust()
        self.options = Options()
        self.status = Status()
        self.client: KibitzClient | None = None
        self.me: Me | None = None
        self.documents: dict[str, Document] = {}
        self.repos: dict[Path, Repo] = {}
        self.replies: dict[str, list[Reply]] = {}
        self.feeds: dict[str, TeamFeed] = {}
        self._said = _Said()
        self._pending: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._repo_locks: dict[Path, asyncio.Lock] = {}
        self._changed_codemarks: set[str] = set()
        self._event_flush: asyncio.Task[None] | None = None

    # -- background work ---------------------------------------------------------------------

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` in the background; a failure is logged and stops nothing else."""

        async def guarded() -> None:
            try:
                await work
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("%s failed", name)
                self.log(f"{name} failed; see the language server's log", types.MessageType.Error)

        task = asyncio.get_running_loop().create_task(guarded(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log a message that could not be handled (the client's fault) instead of showing it to the person.

        Requests are answered with an error already; what is left (a body that is not JSON, a notification
        that does not fit its type) concerns the client's developers, not its user.
        """
        if source is FeatureRequestError:
            return  # answered to the client as an error already
        logger.warning("could not handle a message: %s", error)
        with contextlib.suppress(Exception):
            self.log(f"could not handle a message: {error}", types.MessageType.Warning)

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """Write a line to the client's log of this server."""
        self.window_log_message(types.LogMessageParams(type=kind, message=f"kibitz: {message}"))

    def say(self, message: str, kind: types.MessageType) -> None:
        """Show a message to the person (``window/showMessage``)."""
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"Kibitz: {message}"))

    # -- the account and the status --------------------------------------------------------------

    def set_status(self, state: State, message: str) -> None:
        """Change the status, and tell the client when it changed."""
        me = self.me
        try:
            team = load_current_team()
        except KibitzError:
            team = None  # a config file that cannot be read: the team is left out of the status
        team_name = team.name if team is not None else None
        if team_name is None and me is not None and len(me["teams"]) == 1:
            team_name = me["teams"][0]["name"]  # the one team, as the CLI chooses it
        new = Status(
            state,
            user=me["user"]["email"] if me is not None and state == "ready" else None,
            team=team_name if state == "ready" else None,
            message=message,
        )
        if new == self.status:
            return
        self.status = new
        self.protocol.notify("kibitz/status", new.as_json())

    def _client(self) -> KibitzClient:
        """Return a client for the saved server and token, made again when either changed."""
        server = resolve_server()
        token = resolve_token()
        if not server or not token:
            raise NotLoggedIn(f"not signed in: {SIGN_IN}")
        current = self.client
        if current is not None and current.server_url == server.rstrip("/") and current.token == token:
            return current
        client = KibitzClient(
            server, token, timeout=10.0, ca_file=self.trust.ca_file(), cert_sha256=self.trust.cert_sha256()
        )
        self.client = client
        for repo in self.repos.values():
            repo.shared.client = client
        return client

    async def call(self, work: Callable[[KibitzClient], T]) -> T:
        """Run ``work`` with the client in a worker thread; keep the status true to what happened."""
        try:
            client = self._client()
            result = await asyncio.to_thread(work, client)
        except (NotLoggedIn, NotAuthenticated) as error:
            self.signed_out(error)
            raise
        except ConnectionFailed as error:
            self.offline(error)
            raise
        if self.status.state != "ready":
            await self.back_online()
        return result

    def signed_out(self, error: KibitzError) -> None:
        """Say once that the token is missing, expired or revoked, and what to do."""
        if isinstance(error, NotLoggedIn):
            message = f"not signed in: {SIGN_IN}"
        else:
            message = f"the server refused your sign-in (expired or revoked): {SIGN_IN}"
        self.set_status("signed-out", message)
        self.stop_feeds()
        if not self._said.signed_out:
            self._said.signed_out = True
            self.say(message, types.MessageType.Error)

    def offline(self, error: KibitzError) -> None:
        """Say once that the server cannot be reached; the codemarks last known stay shown."""
        if self.status.state == "signed-out" and self._said.signed_out:
            return  # the token is the problem: a refused stream is no outage
        message = f"{error.message}; showing the codemarks last known, retrying"
        self.set_status("offline", message)
        if not self._said.offline:
            self._said.offline = True
            self.say(message, types.MessageType.Warning)

    def failing(self, error: KibitzError) -> None:
        """Say once that Kibitz cannot be used for another reason, and why."""
        was = self.status
        self.set_status("error", error.message)
        if was.state != "error" or was.message != error.message:
            self.say(error.message, types.MessageType.Error)

    async def back_online(self) -> None:
        """Find out who we are, then bring every repository and document up to date."""
        try:
            client = self._client()
            me = await asyncio.to_thread(client.me)
        except (NotLoggedIn, NotAuthenticated) as error:
            self.signed_out(error)
            return
        except ConnectionFailed as error:
            self.offline(error)
            return
        except KibitzError as error:
            # A configuration that cannot be read, a server that answers with errors: said once.
            self.failing(error)
            return
        was = self.status.state
        self.me = me
        self._said.offline = self._said.signed_out = False
        self.set_status("ready", f"signed in to {client.server_url}")
        if was == "ready":
            return
        if was == "offline":
            self.log("the server answers again")
        for feed in self.feeds.values():
            feed.wake()
        for repo in list(self.repos.values()):
            await self.load_codemarks(repo)
        self.follow_teams()
        await self.relocate_all()

    async def keep_trying(self) -> None:
        """While offline or signed out, try again every second (a new `kibitz login` is noticed too)."""
        while True:
            await asyncio.sleep(RETRY_SECONDS)
            if self.status.state in ("offline", "signed-out", "error"):
                with contextlib.suppress(KibitzError):
                    await self.back_online()

    # -- repositories and documents ----------------------------------------------------------------

    async def open_document(self, uri: str) -> None:
        """Find the repository of a newly opened document, load its codemarks and publish them."""
        document = self.documents.get(uri)
        if document is None:
            return
        if document.file is None:
            document.problem = "not a file on this machine"
            return
        where = await asyncio.to_thread(where_is, document.file)
        if where.root is None or where.rel is None:
            document.problem = "not in a git repository"
            self.log(f"{document.file}: not in a git repository, no codemarks")
            return
        if where.link is None:
            document.problem = f"{where.root} is not linked to Kibitz: run `kibitz init` in it"
            if where.root not in self._said.unlinked:
                self._said.unlinked.add(where.root)
                self.say(document.problem, types.MessageType.Info)
            return
        document.root, document.rel = where.root, where.rel
        repo = self.repos.get(where.root)
        if repo is None or repo.link != where.link:
            client = self.client or _offline_client()
            repo = Repo(
                where.root, where.link, ObjectReader(where.root), KeptLocations(client, where.link.team_id)
            )
            self.repos[where.root] = repo
        document.repo = repo
        if not repo.loaded:
            await self.load_codemarks(repo)
            self.follow_teams()
        await self.relocate(uri)

    async def load_codemarks(self, repo: Repo) -> None:
        """Fetch a repository's codemarks; when the server cannot be reached keep those last known."""
        link = repo.link

        def fetch(client: KibitzClient) -> list[Codemark]:
            return list(client.iter_codemarks(link.team_id, repo_id=link.repo_id, status="all"))

        try:
            codemarks = await self.call(fetch)
        except NotFound:
            self.log(f"{repo.root} is linked to a repository or team you cannot see: run `kibitz init`")
            return
        except KibitzError as error:
            self.log(f"codemarks of {repo.root} not loaded: {error.message}")
            return
        repo.replace(codemarks)
        repo.loaded = True

    def close_document(self, uri: str) -> None:
        """Forget a closed document and clear what was shown in it."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        document = self.documents.pop(uri, None)
        if document is not None and document.placed:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def relocate_soon(self, uri: str) -> None:
        """Relocate a document's codemarks once the edits pause (``debounceMs``)."""
        pending = self._pending.pop(uri, None)
        if pending is not None:
            pending.cancel()

        async def later() -> None:
            await asyncio.sleep(self.options.debounce_seconds)
            await self.relocate(uri)

        task = asyncio.get_running_loop().create_task(self._guarded(later(), f"locating in {uri}"))
        self._pending[uri] = task
        task.add_done_callback(
            lambda done: self._pending.pop(uri, None) if self._pending.get(uri) is done else None
        )

    async def _guarded(self, work: Awaitable[None], name: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s failed", name)
            self.log(f"{name} failed; see the language server's log", types.MessageType.Error)

    async def relocate_all(self, roots: set[Path] | None = None) -> None:
        """Relocate and publish every open document (of the given repositories)."""
        for uri, document in list(self.documents.items()):
            if document.repo is not None and (roots is None or document.repo.root in roots):
                await self._guarded(self.relocate(uri), f"locating in {uri}")

    def _buffers(self, repo: Repo) -> dict[str, str]:
        """Return the texts of the repository's open documents, by repo path (small enough to follow)."""
        buffers = {}
        for document in self.documents.values():
            if document.repo is repo and document.rel is not None:
                text = self.workspace.get_text_document(document.uri).source
                if len(text) <= MAX_BUFFER_CHARS and "\0" not in text:
                    buffers[document.rel] = text
        return buffers

    async def relocate(self, uri: str) -> None:
        """Locate the codemarks of one document in its unsaved text and publish them."""
        document = self.documents.get(uri)
        if document is None or document.repo is None or document.rel is None:
            return
        repo, rel = document.repo, document.rel
        text = self.workspace.get_text_document(uri).source
        if "\0" in text:
            document.problem = "binary file: no codemarks"
            document.placed = []
        elif len(text) > MAX_BUFFER_CHARS:
            document.problem = None
            document.placed = listed_only(rel, repo.shown(), repo.link.repo_id, "too_large")
        else:
            document.problem = None
            lock = self._repo_locks.setdefault(repo.root, asyncio.Lock())
            async with lock:
                version = self.workspace.get_text_document(uri).version
                codemarks, generation, blocks = repo.shown(), repo.generation, repo.blocks()
                placements = await asyncio.to_thread(
                    locate_buffers, repo, codemarks, generation, self._buffers(repo)
                )
            if uri not in self.documents or self.workspace.get_text_document(uri).version != version:
                return  # edited meanwhile: the next run publishes
            promoted = repo.shared.promoted
            if promoted:
                self._apply_promotions(repo)
            document.placed = placed_in(rel, blocks, placements)
        self.publish(document)

    async def why_of(self, document: Document, placed: present.Placed) -> str | None:
        """Return the line that names the commit that made a placed block what it is (None: nothing to say).

        Searched for in a worker thread under the repository's lock, as locating is; kept per marker and HEAD.
        """
        repo, placement = document.repo, placed.placement
        if repo is None or placement is None or placement.status == "unchanged":
            return None
        lock = self._repo_locks.setdefault(repo.root, asyncio.Lock())
        async with lock:
            codemarks, generation = repo.shown(), repo.generation
            try:
                why = await asyncio.to_thread(
                    why_in_buffers, repo, codemarks, generation, placed.marker, placement, self._buffers(repo)
                )
            except GitError as error:
                logger.info("why %s moved is not known: %s", placed.marker["id"], error)
                return None
        return why_note(why, placed.marker["commit"], HOVER_WHY_SECONDS)

    def _apply_promotions(self, repo: Repo) -> None:
        """Take in the markers a run promoted (the server has them at a commit now)."""
        promoted, repo.shared.promoted = repo.shared.promoted, {}
        for codemark in list(repo.codemarks.values()):
            if any(marker["id"] in promoted for marker in codemark["markers"]):
                markers = [promoted.get(marker["id"], marker) for marker in codemark["markers"]]
                repo.put({**codemark, "markers": markers})

    def range_of(self, document: Document, placed: present.Placed) -> types.Range | None:
        """Return where a placed block is in the document's text, in the client's units."""
        lines = placed.lines
        if lines is None:
            return None
        text_document = self.workspace.get_text_document(document.uri)
        return present.line_range(
            document.lines_of(text_document.source),
            lines[0],
            lines[1],
            text_document.position_codec.client_num_units,
        )

    def server_url(self) -> str:
        """Return the URL permalinks are joined with."""
        return self.client.server_url if self.client is not None else (resolve_server() or "")

    def publish(self, document: Document) -> None:
        """Send a document's diagnostics; tell rich clients and lenses when its threads changed."""
        text_document = self.workspace.get_text_document(document.uri)
        if document.diagnostics is None:
            document.diagnostics = KeptDiagnostics(self.protocol.plain)
        params = document.diagnostics.params(
            document.uri,
            document.placed,
            document.lines_of(text_document.source),
            text_document.position_codec.client_num_units,
            self.server_url(),
        )
        self.protocol.notify_json(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, params)
        if not present.same_threads(document.placed, document.told):
            document.told = document.placed
            self.protocol.notify("kibitz/threadsChanged", {"uri": document.uri})
            self.refresh_lenses()

    def refresh_lenses(self) -> None:
        """Ask the client to ask for code lenses again, if it can."""
        workspace = self.client_capabilities.workspace
        lens = workspace.code_lens if workspace is not None else None
        if lens is not None and lens.refresh_support:
            self.workspace_code_lens_refresh(None)

    async def replies_of(self, codemark_id: str) -> list[Reply]:
        """Return a codemark's replies (kept until an event says they changed)."""
        kept = self.replies.get(codemark_id)
        if kept is not None:
            return kept
        try:
            replies = await self.call(lambda client: list(client.iter_replies(codemark_id)))
        except KibitzError:
            return []
        self.replies[codemark_id] = replies
        return replies

    # -- codemarks changed here or by others --------------------------------------------------------

    def take_codemark(self, codemark: Codemark) -> set[Path]:
        """Keep a codemark as the server has it now; return the roots of the repositories it is in."""
        roots = set()
        for repo in self.repos.values():
            had = codemark["id"] in repo.codemarks
            if repo.holds(codemark):
                old = repo.codemarks.get(codemark["id"])
                if old is not None and old["markers"] != codemark["markers"]:
                    repo.shared.forget(marker["id"] for marker in old["markers"])
                repo.put(codemark)
                roots.add(repo.root)
            elif had:
                repo.remove(codemark["id"])
                roots.add(repo.root)
        return roots

    def drop_codemark(self, codemark_id: str) -> set[Path]:
        """Forget a deleted codemark; return the roots of the repositories it was in."""
        self.replies.pop(codemark_id, None)
        roots = set()
        for repo in self.repos.values():
            if repo.remove(codemark_id):
                roots.add(repo.root)
        return roots

    async def refetch(self, codemark_ids: set[str]) -> None:
        """Fetch codemarks again (after a change here or an event), then republish where they are."""
        roots: set[Path] = set()
        for codemark_id in codemark_ids:
            self.replies.pop(codemark_id, None)
            try:
                codemark = await self.call(getter(codemark_id))
            except NotFound:
                roots |= self.drop_codemark(codemark_id)
                continue
            except KibitzError as error:
                self.log(f"codemark {codemark_id} not refreshed: {error.message}")
                continue
            roots |= self.take_codemark(codemark)
        for document in self.documents.values():
            if any(p.codemark["id"] in codemark_ids for p in document.placed):
                # Replies or reactions may have changed without the codemark's own fields: tell anyway.
                document.told = ()
        if roots:
            await self.relocate_all(roots)

    def follow_teams(self) -> None:
        """Follow the event stream of every team with an open, linked repository."""
        if self.status.state != "ready" or self.client is None or not self.client.token:
            return
        wanted = {repo.link.team_id for repo in self.repos.values()}
        for team_id in wanted:
            feed = self.feeds.get(team_id)
            if feed is not None and feed.token == self.client.token:
                continue
            if feed is not None:
                feed.stop()
            self.feeds[team_id] = TeamFeed(
                asyncio.get_running_loop(),
                self.client.server_url,
                self.client.token,
                team_id,
                on_event=self.on_event,
                on_trouble=self.on_stream_trouble,
                on_final=self.on_stream_refused,
                on_subscribed=self.on_subscribed,
                ca_file=self.trust.ca_file(),
                cert_sha256=self.trust.cert_sha256(),
            ).start()

    def stop_feeds(self) -> None:
        """Stop following every team (signed out: the token no longer works)."""
        for feed in self.feeds.values():
            feed.stop()
        self.feeds.clear()

    def on_event(self, event: StreamEvent) -> None:
        """Take in one event of a team's log (on the event loop)."""
        kind = event["type"]
        data = event.get("data") or {}
        if kind in ("codemark.created", "codemark.updated") and isinstance(data.get("id"), str):
            self._changed_codemarks.add(data["id"])
        elif kind == "codemark.deleted" and isinstance(data.get("id"), str):
            roots = self.drop_codemark(data["id"])
            if roots:
                self.spawn(self.relocate_all(roots), "showing a deleted codemark")
            return
        elif kind.startswith(("reply.", "reaction.")):
            codemark_id = data.get("codemark_id")
            if isinstance(codemark_id, str):
                self._changed_codemarks.add(codemark_id)
        else:
            return
        if self._event_flush is None or self._event_flush.done():
            self._event_flush = asyncio.get_running_loop().create_task(self._flush_events())

    async def _flush_events(self) -> None:
        """Refetch the codemarks events named, a few events at a time (a reply brings two)."""
        await asyncio.sleep(0.02)
        while self._changed_codemarks:
            changed, self._changed_codemarks = self._changed_codemarks, set()
            await self._guarded(self.refetch(changed), "taking in the team's changes")

    def on_subscribed(self, team_id: str) -> None:
        """The stream follows a team (again): read its codemarks, which may have changed before that."""
        self.spawn(self._reload_team(team_id), "reading the team's codemarks")

    async def _reload_team(self, team_id: str) -> None:
        if self.status.state != "ready":
            await self.back_online()
        repos = [repo for repo in self.repos.values() if repo.link.team_id == team_id]
        for repo in repos:
            await self.load_codemarks(repo)
        await self.relocate_all({repo.root for repo in repos})

    def on_stream_trouble(self, message: str) -> None:
        """The stream lost the server: the status says so until it is back."""
        self.log(message, types.MessageType.Warning)
        if "reconnecting" in message and self.status.state == "ready":
            self.offline(ConnectionFailed(f"lost the connection to {self.server_url()}"))

    def on_stream_refused(self, error: KibitzError) -> None:
        """The stream was refused for good (a revoked token, a removed member)."""
        if isinstance(error, NotAuthenticated):
            self.signed_out(error)
        else:
            self.log(f"the team's changes are not followed: {error.message}", types.MessageType.Warning)

    # -- looking things up for requests ----------------------------------------------------------------

    def document(self, uri: str) -> Document:
        """Return an open document, or fail with a readable message."""
        document = self.documents.get(uri)
        if document is None:
            raise KibitzFailure(f"{uri} is not open")
        return document

    def placed_at(self, document: Document, line: int) -> list[present.Placed]:
        """Return the placed blocks of a document whose lines hold ``line`` (0-based)."""
        found = []
        for placed in document.placed:
            lines = placed.lines
            if lines is not None and lines[0] - 1 <= line <= lines[1] - 1:
                found.append(placed)
        return found

    def codemark(self, codemark_id: str) -> Codemark | None:
        """Return a codemark as last known, from any open repository."""
        for repo in self.repos.values():
            if codemark_id in repo.codemarks:
                return repo.codemarks[codemark_id]
        return None

    async def kibitz(self, work: Callable[[KibitzClient], T]) -> T:
        """Run a request to Kibitz for a command; its failure becomes an LSP error with a readable message."""
        try:
            return await self.call(work)
        except KibitzError as error:
            raise KibitzFailure(error.message) from error

    def my_id(self) -> str | None:
        """Return the signed-in user's id, when known."""
        return self.me["user"]["id"] if self.me is not None else None


def file_of(uri: str) -> Path | None:
    """Return the local file a ``file:`` URI names, or None for any other URI."""
    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    return Path(unquote(parts.path))


def _offline_client() -> KibitzClient:
    """Return a placeholder client for a repository opened before any server was reached.

    It has no token, so it sends nothing: asking it for shared locations fails at once, and locating goes
    on with what the clone has. It is replaced as soon as a client for the saved server is made.
    """
    return KibitzClient("http://127.0.0.1", None)


def thread_json(
    ls: KibitzLanguageServer, document: Document, placed: present.Placed, replies: list[Reply]
) -> dict[str, Any]:
    """Return the ``kibitz/threads`` object of one block."""
    return present.thread(placed, replies, ls.server_url(), ls.my_id(), ls.range_of(document, placed))


def codemark_ids(placed: list[present.Placed]) -> list[str]:
    """Return the distinct codemark ids of blocks, in order."""
    return list(dict.fromkeys(p.codemark["id"] for p in placed))


def getter(codemark_id: str) -> Callable[[KibitzClient], Codemark]:
    """Return the work of fetching one codemark."""
    return lambda client: client.get_codemark(codemark_id)
