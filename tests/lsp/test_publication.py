"""A document's diagnostics as JSON from kept parts: what pygls would send for the typed diagnostics."""

from __future__ import annotations

import json
from typing import Any

from lsprotocol import types
from lsprotocol.converters import get_converter

from kibitz.client import Codemark
from kibitz.locate import Placement
from kibitz.lsp._present import Placed, diagnostic, line_range
from kibitz.lsp._publication import KeptDiagnostics
from tests.lsp.test_present import MARKER, _codemark

URI = "file:///home/dev/app%20one.py"
LINES = ["a = 1\n", "def f():\n", "    return 'héllo 🙂'\n", "\n", "b = 2\n"]
# The converter pygls builds its own on (it adds hooks for reading messages only).
CONVERTER = get_converter()


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _placed(codemark: Codemark, lines: tuple[int, int] | None, marker_id: str = "m1") -> Placed:
    if lines is None:
        return Placed(codemark, {**MARKER, "id": marker_id}, Placement.deleted(marker_id, 1.0))
    placement = Placement(marker_id, "old/app.py", lines[0], lines[1], "shifted", 1.0)
    return Placed(codemark, {**MARKER, "id": marker_id}, placement)


def typed(blocks: list[Placed], url: str) -> Any:
    """Return the parameters as pygls sends typed diagnostics (blocks not placed are left out)."""
    diagnostics = [
        diagnostic(block, url, line_range(LINES, block.lines[0], block.lines[1], utf16))
        for block in blocks
        if block.lines is not None
    ]
    return CONVERTER.unstructure(types.PublishDiagnosticsParams(uri=URI, diagnostics=diagnostics))


def test_the_parameters_are_those_of_the_typed_diagnostics() -> None:
    question = _codemark()
    note = _codemark(id="cm2", type="comment", status="resolved", title="", text='Ünïcode — and "quotes"')
    blocks = [
        _placed(question, (2, 3)),  # ends on a line that is not ASCII: counted in the client's units
        _placed(note, (1, 1), "m2"),
        _placed(note, (5, 9), "m3"),  # a second block of the same codemark, clamped to the document
        _placed(question, None, "m4"),  # not placed: listed elsewhere, no diagnostic
    ]
    params = KeptDiagnostics(CONVERTER.unstructure).params(URI, blocks, LINES, utf16, "https://k.example")
    assert params.isascii()
    assert json.loads(params) == typed(blocks, "https://k.example")
    assert json.loads(KeptDiagnostics(CONVERTER.unstructure).params(URI, [], LINES, utf16, "")) == {
        "uri": URI,
        "diagnostics": [],
    }


def test_parts_are_made_again_only_for_a_changed_codemark_or_server() -> None:
    made: list[object] = []

    def plain(value: object) -> Any:
        made.append(value)
        return CONVERTER.unstructure(value)

    kept = KeptDiagnostics(plain)
    question, note = _codemark(), _codemark(id="cm2", title="A note")
    kept.params(
        URI, [_placed(question, (2, 3)), _placed(note, (4, 5), "m2")], LINES, utf16, "https://k.example"
    )
    assert len(made) == 2

    # The blocks moved: the same parts, new ranges.
    moved = [_placed(question, (1, 2)), _placed(note, (3, 5), "m2")]
    params = kept.params(URI, moved, LINES, utf16, "https://k.example")
    assert len(made) == 2
    assert json.loads(params) == typed(moved, "https://k.example")

    # A codemark as the server has it now is a new object: its part is made again.
    resolved = [_placed(_codemark(status="resolved"), (1, 2)), _placed(note, (3, 5), "m2")]
    params = kept.params(URI, resolved, LINES, utf16, "https://k.example")
    assert len(made) == 3
    assert json.loads(params) == typed(resolved, "https://k.example")

    # Another server: permalinks change.
    params = kept.params(URI, resolved, LINES, utf16, "https://other.example")
    assert len(made) == 5
    assert json.loads(params) == typed(resolved, "https://other.example")
