"""A document's diagnostics as JSON, made at each keystroke from parts kept between keystrokes.

An edit moves blocks; it rarely changes a codemark. So each codemark's diagnostic is converted to JSON
once, without its range, and kept while the codemark and the server's URL stay; a publication joins those
parts with the ranges of the moment. Building a few hundred typed diagnostics again at each keystroke, only
for the protocol to convert them back to JSON, took longer than locating the codemarks, and left thousands
of objects at each keystroke for the garbage collector.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from lsprotocol import types

from kibitz.client import Codemark
from kibitz.lsp import _present as present

# The range a diagnostic is converted with before its range is left out (any range would do).
_NO_RANGE = types.Range(types.Position(0, 0), types.Position(0, 0))


class KeptDiagnostics:
    """The diagnostics of one document: each codemark's as JSON but for its range, kept while it stays.

    ``plain`` turns a protocol object into the JSON values the protocol sends for it.
    """

    def __init__(self, plain: Callable[[Any], Any]) -> None:
        self._plain = plain
        # Codemark id -> (the codemark as last shown, the server's URL, its diagnostic's JSON members but
        # the range). A codemark that changed is a new object: kept parts are matched by identity.
        self._kept: dict[str, tuple[Codemark, str, str]] = {}

    def params(
        self, uri: str, placed: Sequence[present.Placed], lines: Sequence[str], units: Any, server_url: str
    ) -> str:
        """Return the JSON of ``textDocument/publishDiagnostics``'s parameters for the placed blocks.

        ``lines`` are the document's lines and ``units`` counts characters in the client's encoding, as
        for ``present.line_range``. Parts of codemarks no longer in the document are dropped.
        """
        kept, self._kept = self._kept, {}
        diagnostics = []
        for block in placed:
            span = block.lines
            if span is None:
                continue
            codemark = block.codemark
            codemark_id = codemark["id"]
            part = kept.get(codemark_id) or self._kept.get(codemark_id)
            if part is None or part[0] is not codemark or part[1] != server_url:
                part = (codemark, server_url, self._members(block, server_url))
            self._kept[codemark_id] = part
            start, end, width = present.line_span(lines, span[0], span[1], units)
            diagnostics.append(
                f'{{"range": {{"start": {{"line": {start}, "character": 0}}, '
                f'"end": {{"line": {end}, "character": {width}}}}}{part[2]}}}'
            )
        return f'{{"uri": {json.dumps(uri)}, "diagnostics": [{", ".join(diagnostics)}]}}'

    def _members(self, block: present.Placed, server_url: str) -> str:
        """Return the JSON members of a block's diagnostic but its range, each preceded by a comma."""
        members = self._plain(present.diagnostic(block, server_url, _NO_RANGE))
        del members["range"]
        inside = json.dumps(members)[1:-1]
        return f", {inside}" if inside else ""
