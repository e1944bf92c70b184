"""The LSP methods and ``kibitz.*`` commands the server answers (docs/editors.md lists them for users)."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from kibitz.client import Codemark, KibitzClient, Reaction
from kibitz.gitrepo import LineRange, has_commits, ignored_by
from kibitz.locate import pin_buffer
from kibitz.lsp import _present as present
from kibitz.lsp._arguments import (
    BadArguments,
    codemark_type,
    flag,
    selected_lines,
    text_field,
    the_object,
)
from kibitz.lsp._repos import Document, Repo
from kibitz.lsp._server import (
    KibitzFailure,
    KibitzLanguageServer,
    Options,
    Trust,
    codemark_ids,
    file_of,
    getter,
    thread_json,
)

COMMANDS = (
    "kibitz.add",
    "kibitz.reply",
    "kibitz.edit",
    "kibitz.resolve",
    "kibitz.reopen",
    "kibitz.react",
    "kibitz.follow",
    "kibitz.openInBrowser",
)
# What a client that cannot ask for text is told instead of a command that would fail.
NEEDS_TEXT = "needs text: use the Kibitz extension of your editor, or `kibitz {what}` in a terminal"


def build_server(trust: Trust | None = None) -> KibitzLanguageServer:
    """Return the language server with every method and command registered."""
    server = KibitzLanguageServer(trust)
    _register_documents(server)
    _register_views(server)
    _register_actions(server)
    _register_commands(server)
    return server


def _register_documents(server: KibitzLanguageServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: KibitzLanguageServer, params: types.InitializeParams) -> None:
        ls.options = Options.of(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: KibitzLanguageServer, params: types.InitializedParams) -> None:
        # The first status says how the first attempt went: no "offline" before anything was tried.
        await ls.back_online()
        ls.spawn(ls.keep_trying(), "reconnecting")

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: KibitzLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.documents[uri] = Document(uri, file_of(uri))
        ls.spawn(ls.open_document(uri), f"opening {uri}")

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: KibitzLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        if params.text_document.uri in ls.documents:
            ls.relocate_soon(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: KibitzLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
        # Saving changes nothing the buffer did not say already; a commit may have moved HEAD, though, and
        # a repository may have been linked (`kibitz init`) since the file was opened.
        document = ls.documents.get(params.text_document.uri)
        if document is not None and document.repo is None:
            ls.spawn(ls.open_document(document.uri), f"opening {document.uri}")
        elif document is not None:
            ls.relocate_soon(document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: KibitzLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.close_document(params.text_document.uri)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: KibitzLanguageServer, params: None) -> None:
        ls.stop_feeds()
        for repo in ls.repos.values():
            repo.reader.close()


def _register_views(server: KibitzLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    def code_lens(ls: KibitzLanguageServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        document = ls.documents.get(params.text_document.uri)
        if document is None:
            return []
        lenses = []
        for placed in document.placed:
            where = ls.range_of(document, placed)
            if where is not None:
                lenses.append(present.lens(placed, where))
        return lenses

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: KibitzLanguageServer, params: types.HoverParams) -> types.Hover | None:
        document = ls.documents.get(params.text_document.uri)
        if document is None:
            return None
        here = ls.placed_at(document, params.position.line)
        if not here:
            return None
        parts = []
        for placed in here:
            replies = await ls.replies_of(placed.codemark["id"])
            why = await ls.why_of(document, placed)
            parts.append(present.hover_markdown(placed, replies, ls.server_url(), why))
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts))
        )

    @server.feature("kibitz/threads")
    async def threads(ls: KibitzLanguageServer, params: Any) -> dict[str, Any]:
        uri = params.get("uri") if isinstance(params, dict) else getattr(params, "uri", None)
        if not isinstance(uri, str):
            raise JsonRpcInvalidParams('kibitz/threads takes {"uri": "..."}')
        document = ls.documents.get(uri)
        if document is None:
            return {"threads": []}
        replies = await asyncio.gather(*(ls.replies_of(cid) for cid in codemark_ids(document.placed)))
        by_id = dict(zip(codemark_ids(document.placed), replies, strict=True))
        return {"threads": [thread_json(ls, document, p, by_id[p.codemark["id"]]) for p in document.placed]}


def _action(title: str, command: str, argument: dict[str, Any]) -> types.CodeAction:
    """Return a code action carrying a command."""
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.Empty,
        command=types.Command(title=title, command=command, arguments=[argument]),
    )


def _cannot(ls: KibitzLanguageServer, title: str, reason: str) -> types.CodeAction:
    """Return an action that says why it cannot run here: disabled with the reason, or the reason in its title
    for a client that does not show disabled actions (choosing it then does nothing)."""
    text_document = ls.client_capabilities.text_document
    code_action = text_document.code_action if text_document is not None else None
    if code_action is not None and code_action.disabled_support:
        return types.CodeAction(
            title=title, kind=types.CodeActionKind.Empty, disabled=types.CodeActionDisabled(reason=reason)
        )
    return types.CodeAction(title=f"{title} ({reason})", kind=types.CodeActionKind.Empty)


def _register_actions(server: KibitzLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION)
    def code_action(ls: KibitzLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        document = ls.documents.get(params.text_document.uri)
        if document is None or document.repo is None:
            return []
        prompts = ls.options.prompts
        actions = []
        selection = params.range
        if selection.start != selection.end:
            last = selection.end.line + (0 if selection.end.character == 0 else 1)
            lines = f"{selection.start.line + 1}-{max(last, selection.start.line + 1)}"
            for kind in ("comment", "question", "issue", "bookmark"):
                argument = {"uri": document.uri, "range": present.range_json(selection), "type": kind}
                title = f"Kibitz: add a {kind} on lines {lines}"
                actions.append(
                    _action(title, "kibitz.add", argument)
                    if prompts
                    else _cannot(ls, title, NEEDS_TEXT.format(what="add"))
                )
        for placed in ls.placed_at(document, selection.start.line):
            codemark = placed.codemark
            cid = codemark["id"]
            name = f"{codemark['type']} “{present.summary(codemark)}”"
            reply_title = f"Kibitz: reply to {name}"
            actions.append(
                _action(reply_title, "kibitz.reply", {"id": cid})
                if prompts
                else _cannot(ls, reply_title, NEEDS_TEXT.format(what="reply"))
            )
            if codemark["status"] == "open":
                actions.append(_action(f"Kibitz: resolve {name}", "kibitz.resolve", {"id": cid}))
            else:
                actions.append(_action(f"Kibitz: reopen {name}", "kibitz.reopen", {"id": cid}))
            actions.append(_action(f"Kibitz: react 👍 to {name}", "kibitz.react", {"id": cid, "emoji": "👍"}))
            following = ls.my_id() in codemark["followers"]
            actions.append(
                _action(
                    f"Kibitz: {'stop following' if following else 'follow'} {name}",
                    "kibitz.follow",
                    {"id": cid, "follow": not following},
                )
            )
            actions.append(
                _action(f"Kibitz: open {name} in the browser", "kibitz.openInBrowser", {"id": cid})
            )
        return actions


def _codemark_id(command: str, value: dict[str, Any]) -> str:
    found = text_field(command, value, "id")
    assert found is not None
    return found.strip()


async def _changed(ls: KibitzLanguageServer, codemark_id: str) -> None:
    """Show a change made here at once, without waiting for the stream's event."""
    ls.replies.pop(codemark_id, None)
    await ls.refetch({codemark_id})


def _register_commands(server: KibitzLanguageServer) -> None:
    @server.command("kibitz.add")
    async def add(ls: KibitzLanguageServer, *arguments: Any) -> dict[str, Any]:
        value = _checked("kibitz.add", arguments)
        uri = text_field("kibitz.add", value, "uri")
        assert uri is not None
        document = ls.documents.get(uri)
        if document is None:
            raise KibitzFailure(f"{uri} is not open in the editor")
        repo = _repo_of(document)
        text_document = ls.workspace.get_text_document(uri)
        buffer = text_document.source
        try:
            kind = codemark_type("kibitz.add", value)
            title = text_field("kibitz.add", value, "title", required=False)
            body = text_field("kibitz.add", value, "text")
            lines = selected_lines("kibitz.add", value, len(text_document.lines))
        except BadArguments as error:
            raise JsonRpcInvalidParams(str(error)) from None
        assert body is not None
        if "\0" in buffer:
            raise KibitzFailure(f"{document.rel} looks binary; codemarks pin lines of text")
        rel = document.rel
        assert rel is not None
        marker = await asyncio.to_thread(_pin, repo, rel, LineRange(lines.start_line, lines.end_line), buffer)
        team_id = repo.link.team_id
        codemark = await ls.kibitz(
            lambda client: client.create_codemark(
                team_id, type=kind, text=body, markers=[marker], title=title
            )
        )
        ls.take_codemark(codemark)
        await ls.relocate_all({repo.root})
        return {
            "id": codemark["id"],
            "permalink": present.permalink_url(ls.server_url(), codemark["permalink"]),
        }

    @server.command("kibitz.reply")
    async def reply(ls: KibitzLanguageServer, *arguments: Any) -> dict[str, Any]:
        value = _checked("kibitz.reply", arguments)
        codemark_id, text = _id_and_text("kibitz.reply", value)
        created = await ls.kibitz(lambda client: client.add_reply(codemark_id, text))
        await _changed(ls, codemark_id)
        return {"id": created["id"]}

    @server.command("kibitz.edit")
    async def edit(ls: KibitzLanguageServer, *arguments: Any) -> dict[str, Any]:
        value = _checked("kibitz.edit", arguments)
        codemark_id = _codemark_id("kibitz.edit", value)
        try:
            changes = {
                name: found
                for name in ("title", "text")
                if (found := text_field("kibitz.edit", value, name, required=False)) is not None
            }
        except BadArguments as error:
            raise JsonRpcInvalidParams(str(error)) from None
        if not changes:
            raise JsonRpcInvalidParams("kibitz.edit needs 'title' or 'text'")
        codemark = await ls.kibitz(lambda client: client.update_codemark(codemark_id, **changes))
        await _took(ls, codemark)
        return {"id": codemark["id"]}

    async def set_status(
        ls: KibitzLanguageServer, command: str, arguments: Any, status: str
    ) -> dict[str, Any]:
        codemark_id = _codemark_id(command, _checked(command, arguments))
        codemark = await ls.kibitz(lambda client: client.update_codemark(codemark_id, status=status))
        await _took(ls, codemark)
        return {"id": codemark["id"], "status": codemark["status"]}

    @server.command("kibitz.resolve")
    async def resolve(ls: KibitzLanguageServer, *arguments: Any) -> dict[str, Any]:
        return await set_status(ls, "kibitz.resolve", arguments, "resolved")

    @server.command("kibitz.reopen")
    async def reopen(ls: KibitzLanguageServer, *arguments: Any) -> dict[str, Any]:
        return await set_status(ls, "kibitz.reopen", arguments, "open")

    @server.command("kibitz.react")
    async def react(ls: KibitzLanguageServer, *arguments: Any) -> dict[str, Any]:
        value = _checked("kibitz.react", arguments)
        try:
            emoji = text_field("kibitz.react", value, "emoji")
            remove = flag("kibitz.react", value, "remove", False)
            reply_id = text_field("kibitz.react", value, "replyId", required=False)
            codemark_id = None if reply_id is not None else text_field("kibitz.react", value, "id")
        except BadArguments as error:
            raise JsonRpcInvalidParams(str(error)) from None
        assert emoji is not None
        kind: Any = "replies" if reply_id is not None else "codemarks"
        target = reply_id if reply_id is not None else codemark_id
        assert target is not None

        def put(client: KibitzClient) -> list[Reaction]:
            return client.unreact(kind, target, emoji) if remove else client.react(kind, target, emoji)

        summary = await ls.kibitz(put)
        owner = codemark_id if codemark_id is not None else _owner_of_reply(ls, target)
        if owner is not None:
            await _changed(ls, owner)
        return {"reactions": present.reactions(summary, ls.my_id())}

    @server.command("kibitz.follow")
    async def follow(ls: KibitzLanguageServer, *arguments: Any) -> dict[str, Any]:
        value = _checked("kibitz.follow", arguments)
        codemark_id = _codemark_id("kibitz.follow", value)
        try:
            wanted = flag("kibitz.follow", value, "follow", True)
        except BadArguments as error:
            raise JsonRpcInvalidParams(str(error)) from None
        codemark = await ls.kibitz(
            lambda client: client.follow(codemark_id) if wanted else client.unfollow(codemark_id)
        )
        await _took(ls, codemark)
        return {"id": codemark["id"], "following": ls.my_id() in codemark["followers"]}

    @server.command("kibitz.openInBrowser")
    async def open_in_browser(ls: KibitzLanguageServer, *arguments: Any) -> dict[str, Any]:
        codemark_id = _codemark_id("kibitz.openInBrowser", _checked("kibitz.openInBrowser", arguments))
        known = ls.codemark(codemark_id)
        codemark = known if known is not None else await ls.kibitz(getter(codemark_id))
        address = present.permalink_url(ls.server_url(), codemark["permalink"])
        window = ls.client_capabilities.window
        if window is not None and window.show_document is not None and window.show_document.support:
            ls.window_show_document(types.ShowDocumentParams(uri=address, external=True))
        return {"permalink": address}


def _checked(command: str, arguments: Any) -> dict[str, Any]:
    try:
        return the_object(command, list(arguments))
    except BadArguments as error:
        raise JsonRpcInvalidParams(str(error)) from None


def _id_and_text(command: str, value: dict[str, Any]) -> tuple[str, str]:
    try:
        codemark_id = text_field(command, value, "id")
        text = text_field(command, value, "text")
    except BadArguments as error:
        raise JsonRpcInvalidParams(str(error)) from None
    assert codemark_id is not None
    assert text is not None
    return codemark_id.strip(), text


async def _took(ls: KibitzLanguageServer, codemark: Codemark) -> None:
    """Show a codemark as a command here left it."""
    roots = ls.take_codemark(codemark)
    if roots:
        await ls.relocate_all(roots)


def _owner_of_reply(ls: KibitzLanguageServer, reply_id: str) -> str | None:
    for codemark_id, replies in ls.replies.items():
        if any(reply["id"] == reply_id for reply in replies):
            return codemark_id
    return None


def _repo_of(document: Document) -> Repo:
    """Return the linked repository of a document, or say why a codemark cannot be added there."""
    if document.repo is None or document.rel is None:
        raise KibitzFailure(
            f"{document.file or document.uri}: {document.problem or 'not in a linked git repository yet'}"
        )
    return document.repo


def _pin(repo: Repo, rel: str, lines: LineRange, buffer: str) -> Any:
    """Return the new marker for lines of a buffer; refuse files teammates could never see (blocking)."""
    root = repo.root
    if not has_commits(root):
        raise KibitzFailure(f"{root} has no commits yet: a codemark is recorded at a commit, so commit first")
    if (root / rel).is_symlink():
        raise KibitzFailure(f"{rel} is a symbolic link: pin the file it points to instead")
    rule = ignored_by(root, rel)
    if rule is not None:
        raise KibitzFailure(
            f"{rel} is ignored by git ({rule}): it is never committed, so teammates could never see a "
            "codemark there"
        )
    return pin_buffer(repo.reader, repo.link.repo_id, rel, lines, buffer)
