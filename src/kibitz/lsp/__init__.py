"""``kibitz lsp``: a language server that shows the team's codemarks in any LSP editor.

Each open document of a repository linked with ``kibitz init`` gets its codemarks where the code is
now *in the unsaved buffer* (``kibitz.locate`` with the buffer on top of the working tree): as
diagnostics, code lenses and hovers, and as thread objects for rich clients (``kibitz/threads``).
``kibitz.*`` commands add, answer, edit, resolve, react to and follow codemarks. The team's event
stream keeps every open editor up to date; a server that cannot be reached, or a refused token, is
said once and recovered from without a restart. The contract with editor packages is in
docs/editors.md.
"""

from kibitz.lsp._features import COMMANDS, build_server
from kibitz.lsp._server import Trust


def serve(trust: Trust | None = None) -> None:
    """Serve LSP over standard input and output until the client says exit."""
    build_server(trust).start_io()


__all__ = ["COMMANDS", "Trust", "build_server", "serve"]
