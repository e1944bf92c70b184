"""A real `kibitz lsp` process driven over stdio by pytest-lsp's client, against a real Kibitz server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, Union

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.conftest import Person
from tests.git_helpers import GIT_ENV
from tests.server_process import KIBITZ, clean_environment

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


def lsp_environment(person: Person) -> dict[str, str]:
    """Return the environment of a `kibitz lsp` run by ``person``."""
    return {**clean_environment(), **GIT_ENV, "KIBITZ_CONFIG_DIR": str(person.config_dir)}


async def start_editor(
    person: Person, root: Path, *, prompts: bool = True, capabilities: types.ClientCapabilities = CAPABILITIES
) -> Editor:
    """Start `kibitz lsp` as ``person`` and initialize it for a workspace at ``root``."""
    config = ClientServerConfig(server_command=[str(KIBITZ), "lsp"], server_env=lsp_environment(person))
    client = await config.start()
    assert isinstance(client, LanguageClient)
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
    """`kibitz lsp` spoken to byte by byte, for messages no LSP client library would send."""

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
