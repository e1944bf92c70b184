"""A real `kibitz lsp` process driven over stdio by pytest-lsp's client, against a real Kibitz server.

The process is forked from the test process's warm parent (tests/warm_start.py) when warm starts are on, with
pipes for its standard streams, and exec'ed otherwise; the client speaks to it the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, Union

import pytest
from lsprotocol import types
from pygls.io_ import run_async
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import forward_stderr, register_lsp_features

from tests import warm_start
from tests.e2e.conftest import Person, setup_team
from tests.git_helpers import GIT_ENV, published_repo
from tests.server_process import KIBITZ, ServerProcess, clean_environment, kibitz_server

T = TypeVar("T")
WAIT_SECONDS = 15.0

# What a rich client (the VS Code extension, the Neovim plugin) says it can do.
CAPABILITIES = types.ClientCapabilities(
    workspace=types.WorkspaceClientCapabilities(
        code_lens=types.CodeLensWorkspaceClientCapabilities(refresh_support=True),
        apply_edit=False,
    ),
    window=types.WindowClientCapabilities(show_document=types.ShowDocumentClientCapabilities(support=True)),
    text_document=types.TextDocumentClientCapabilities(
        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(code_description_support=True),
        code_action=types.CodeActionClientCapabilities(disabled_support=True),
    ),
)


@dataclass
class Editor:
    """An LSP client with a Kibitz user's configuration, and what the server told it."""

    client: LanguageClient
    statuses: list[dict[str, Any]] = field(default_factory=list)
    threads_changed: list[str] = field(default_factory=list)
    lens_refreshes: int = 0
    versions: dict[str, int] = field(default_factory=dict)

    def open(self, file: Path, text: str | None = None) -> str:
        """Open a file (with ``text`` instead of what is on disk, unsaved); return its URI."""
        uri = file.as_uri()
        self.versions[uri] = 1
        content = file.read_text(encoding="utf-8") if text is None else text
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=content)
            )
        )
        return uri

    def change(self, uri: str, text: str) -> None:
        """Replace the whole text of an open document, without saving it."""
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    def close(self, uri: str) -> None:
        """Close a document."""
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        """Return the diagnostics last published for a document."""
        return list(self.client.diagnostics.get(uri, []))

    def lines(self, uri: str) -> list[tuple[int, int]]:
        """Return the (first, last) 0-based lines of the document's diagnostics, in order."""
        return sorted((d.range.start.line, d.range.end.line) for d in self.diagnostics(uri))

    async def threads(self, uri: str) -> list[dict[str, Any]]:
        """Ask for the document's threads (``kibitz/threads``)."""
        # pytest-lsp's protocol methods are not annotated.
        protocol: Any = self.client.protocol
        answer = plain(await protocol.send_request_async("kibitz/threads", {"uri": uri}))
        threads: list[dict[str, Any]] = answer["threads"]
        return threads

    async def command(self, name: str, argument: Any) -> Any:
        """Run a ``kibitz.*`` command with its one argument and return its result."""
        return plain(
            await self.client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=name, arguments=[argument])
            )
        )


def plain(value: Any) -> Any:
    """Return a custom message's value as JSON types (pygls hands them over as named tuples)."""
    if hasattr(value, "_asdict"):
        return {key: plain(item) for key, item in value._asdict().items()}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


async def wait_until(check: Callable[[], T], *, seconds: float = WAIT_SECONDS, what: str = "") -> T:
    """Return ``check()`` once it is truthy, polling; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting {seconds:g} s for {what or check}")
        await asyncio.sleep(0.02)


async def threads_when(
    editor: Editor, uri: str, check: Callable[[list[dict[str, Any]]], bool], what: str = ""
) -> list[dict[str, Any]]:
    """Return the document's threads once ``check`` holds for them; fail after a while."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        threads = await editor.threads(uri)
        if check(threads):
            return threads
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for threads with {what or check}: {threads}")
        await asyncio.sleep(0.02)


@dataclass
class Team:
    """A Kibitz server process, Alice and Bob in team Acme, Alice's linked repository and its origin."""

    server: ServerProcess
    alice: Person
    bob: Person
    home: Path
    repo: Path
    origin: Path

    @property
    def url(self) -> str:
        """Return the server's URL."""
        return self.server.url


@contextmanager
def team_of_two(home: Path, files: Mapping[str, str]) -> Iterator[Team]:
    """Serve a fresh data directory in ``home`` and sign Alice and Bob up to team Acme; publish Alice's
    repository of ``files`` and link it; stop the server at the end (a test may stop and start it)."""
    server = kibitz_server(
        home / "server.log",
        settings={"data_dir": home / "server-data"},
        # Everyone signs in from 127.0.0.1: lift the per-address login throttle.
        env={"KIBITZ_LOGIN_RATE_LIMIT": "1000/minute"},
    )
    with server:
        alice = Person("alice@example.com", "Alice", home / "alice-config")
        bob = Person("bob@example.com", "Bob", home / "bob-config")
        setup_team(server.url, home, alice, bob)
        repo, origin = published_repo(home, files)
        alice.run("init", cwd=repo)
        yield Team(server, alice, bob, home, repo, origin)


@pytest.fixture(scope="module")
async def editor(world: Team) -> AsyncIterator[Editor]:
    """Alice's editor on her repository, shared by a module's tests (the module's ``world``)."""
    started = await start_editor(world.alice, world.repo)
    yield started
    await stop_editor(started)


def lsp_environment(person: Person) -> dict[str, str]:
    """Return the environment of a `kibitz lsp` run by ``person``."""
    return {**clean_environment(), **GIT_ENV, "KIBITZ_CONFIG_DIR": str(person.config_dir)}


class _WarmServer:
    """A `kibitz lsp` forked from the warm parent, as pygls' client handles its server process: its pid,
    standard streams, exit code, `wait`, `terminate` and `kill`."""

    def __init__(
        self,
        child: warm_start.WarmProcess,
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
    ) -> None:
        self.pid = child.pid
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self._child = child
        # The one waiter on the child's end: the client waits on it in several places at once.
        self._ended = asyncio.ensure_future(child.wait_async())
        # The output pipes close at their end of file; the input pipe once the child is gone.
        self._ended.add_done_callback(lambda _: stdin.close())

    @property
    def returncode(self) -> int | None:
        """Return the exit code, or None while the child runs."""
        return self._child.returncode

    async def wait(self) -> int:
        """Wait for the child to end and return its exit code."""
        return await asyncio.shield(self._ended)

    def send_signal(self, number: int) -> None:
        """Send a signal to the child, unless it has ended."""
        if not self._ended.done():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, number)

    def terminate(self) -> None:
        """Send SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL."""
        self.send_signal(signal.SIGKILL)

    @classmethod
    async def start(cls, args: list[str], env: dict[str, str]) -> _WarmServer:
        """Fork `kibitz ARGS` from the warm parent with pipes for its standard streams."""
        loop = asyncio.get_running_loop()
        child_in, to_child = os.pipe()
        from_child, child_out = os.pipe()
        errors, child_err = os.pipe()
        try:
            child = warm_start.start(
                warm_start.KIBITZ_MAIN, args, env=env, stdin=child_in, stdout=child_out, stderr=child_err
            )
        except BaseException:
            for fd in (to_child, from_child, errors):
                os.close(fd)
            raise
        finally:
            # The child has its own copies: its output ends when it does.
            for fd in (child_in, child_out, child_err):
                os.close(fd)
        stdout, stderr = await _reader(from_child), await _reader(errors)
        transport, protocol = await loop.connect_write_pipe(
            lambda: asyncio.streams.FlowControlMixin(loop), os.fdopen(to_child, "wb", 0)
        )
        return cls(child, asyncio.StreamWriter(transport, protocol, None, loop), stdout, stderr)


async def _reader(fd: int) -> asyncio.StreamReader:
    """Return a stream reading the pipe ``fd`` on the running loop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(loop=loop)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", 0))
    return reader


class _Client(LanguageClient):
    """pytest-lsp's client, whose server is forked from the warm parent or exec'ed."""

    def __init__(self, *, warm: bool) -> None:
        super().__init__(converter_factory=default_converter)
        self.warm = warm

    async def start_io(self, cmd: str, *args: str, env: dict[str, str] | None = None) -> None:
        """Start `kibitz ARGS` (``cmd`` is the console script) and speak to it over its standard streams."""
        if not self.warm:
            await super().start_io(cmd, *args, env=env)
            return
        assert cmd == str(KIBITZ), cmd
        server = await _WarmServer.start(list(args), env or {})
        # What pygls' and pytest-lsp's `start_io` do with an exec'ed server's pipes, on the warm child's.
        self.protocol.set_writer(server.stdin)
        connection = asyncio.create_task(
            run_async(
                stop_event=self._stop_event,
                reader=server.stdout,
                protocol=self.protocol,
                logger=logging.getLogger("pygls.client"),
                error_handler=self.report_server_error,
            )
        )
        # pygls' methods are not annotated.
        untyped: Any = self
        notify_exit = asyncio.create_task(untyped._server_exit())
        untyped._server = server
        self._async_tasks.extend([connection, notify_exit])
        self._stderr_forwarder = asyncio.create_task(forward_stderr(untyped._server))


async def start_client(env: dict[str, str], *, warm: bool | None = None) -> LanguageClient:
    """Start `kibitz lsp` with exactly this environment and return a client connected to it; the server is
    forked from the warm parent if ``warm`` (by default, when warm starts are on), else exec'ed."""

    def make_client() -> LanguageClient:
        # With pytest-lsp's handlers, as its `make_test_lsp_client` builds its client.
        client = _Client(warm=warm_start.enabled() if warm is None else warm)
        register_lsp_features(client)
        return client

    config = ClientServerConfig(
        server_command=[str(KIBITZ), "lsp"], server_env=env, client_factory=make_client
    )
    client = await config.start()
    assert isinstance(client, LanguageClient)
    return client


async def start_editor(
    person: Person, root: Path, *, prompts: bool = True, capabilities: types.ClientCapabilities = CAPABILITIES
) -> Editor:
    """Start `kibitz lsp` as ``person`` and initialize it for a workspace at ``root``."""
    client = await start_client(lsp_environment(person))
    editor = Editor(client)
    # pygls' client decorators are not annotated.
    untyped: Any = client

    def status(params: Any) -> None:
        editor.statuses.append(plain(params))

    def threads_changed(params: Any) -> None:
        editor.threads_changed.append(plain(params)["uri"])

    def lens_refresh(params: None) -> None:
        editor.lens_refreshes += 1

    _read_code_actions_as_sent(client)
    untyped.feature("kibitz/status")(status)
    untyped.feature("kibitz/threadsChanged")(threads_changed)
    untyped.feature(types.WORKSPACE_CODE_LENS_REFRESH)(lens_refresh)

    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities,
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options={"debounceMs": 30, "prompts": prompts},
        )
    )
    return editor


def _read_code_actions_as_sent(client: LanguageClient) -> None:
    """Make the client read a code action carrying a command as a code action, not as a Command.

    lsprotocol takes anything with a ``command`` field for a Command; a code action's ``command`` is an
    object, a Command's a string (which is how VS Code tells them apart).
    """
    protocol: Any = client.protocol
    converter = protocol._converter

    def command_or_action(value: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(value.get("command"), str):
            return converter.structure(value, types.Command)  # type: ignore[no-any-return]
        return converter.structure(value, types.CodeAction)  # type: ignore[no-any-return]

    converter.register_structure_hook(Union[types.Command, types.CodeAction], command_or_action)  # noqa: UP007


async def stop_editor(editor: Editor) -> None:
    """Shut the language server down as an editor does, and check it exited cleanly."""
    await editor.client.shutdown_session()
    untyped: Any = editor.client
    await untyped.stop()


def status_of(editor: Editor) -> str | None:
    """Return the state of the last ``kibitz/status`` notification."""
    return editor.statuses[-1]["state"] if editor.statuses else None


class RawLsp:
    """`kibitz lsp` spoken to byte by byte, for messages no LSP client library would send.

    Exec'ed, always: the console script's own start, as an editor makes it.
    """

    def __init__(self, env: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            [str(KIBITZ), "lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._answers: dict[int, dict[str, Any]] = {}

    def __enter__(self) -> RawLsp:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._process.kill()
        self._process.wait(timeout=WAIT_SECONDS)
        for pipe in (self._process.stdin, self._process.stdout):
            if pipe is not None:
                pipe.close()

    def send_bytes(self, body: bytes) -> None:
        """Send one framed message with this body."""
        assert self._process.stdin is not None
        self._process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self._process.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        """Send one JSON-RPC message."""
        self.send_bytes(json.dumps(message).encode())

    def answer(self, request_id: int) -> dict[str, Any]:
        """Return the answer to a request, reading (and keeping) the messages before it."""
        stdout = self._process.stdout
        assert stdout is not None
        while request_id not in self._answers:
            length = 0
            while (header := stdout.readline()) not in (b"\r\n", b""):
                if header.lower().startswith(b"content-length:"):
                    length = int(header.split(b":")[1])
            assert length, "the language server closed its output"
            message = json.loads(stdout.read(length))
            if "id" in message and "method" not in message:
                self._answers[message["id"]] = message
        return self._answers.pop(request_id)
