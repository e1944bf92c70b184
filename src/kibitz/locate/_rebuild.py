"""Code a code-free team's server does not keep: read back from the local repository.

A code-free team's server stores a marker's place (commit, path, lines) but not its code or context; it
answers ``code_free`` with empty code. The block is what ``pin`` took at that commit, so the clone that
has the commit has the code: the same lines, and the same context lines around them, as when the
codemark was created. A clone without the commit tries the marker's other references (another commit
holding the block, e.g. the default branch head). A clone with none of them cannot tell the code; the
marker stays without it, and is located as any marker whose recorded commit is unknown here.

A provisional marker's lines at its commit are only a guess (its code was uncommitted then), so its code
is never read there, only from a reference.
"""

from __future__ import annotations

from kibitz.client import Marker
from kibitz.gitrepo import ObjectReader
from kibitz.locate._blocks import block_in, lines_text, split_lines
from kibitz.locate._references import Reference, references_of

# As many context lines as `pin` records around a block.
CONTEXT_LINES = 3


def code_missing(marker: Marker) -> bool:
    """Tell whether the server sent a marker without its code (a code-free team's marker)."""
    return bool(marker.get("code_free")) and not marker["code"]


def context_of(lines: list[str], start_line: int, end_line: int) -> tuple[str, str]:
    """Return the context recorded around lines ``start_line``–``end_line``: up to 3 lines each side."""
    before = lines_text(lines[max(start_line - 1 - CONTEXT_LINES, 0) : max(start_line - 1, 0)])
    after = lines_text(lines[end_line : end_line + CONTEXT_LINES])
    return before, after


def rebuilt_from(reader: ObjectReader, marker: Marker) -> Reference | None:
    """Return the reference whose block the local repository can give a code-free marker, if any."""
    for reference in references_of(marker):
        if reference.canonical and marker["provisional"]:
            continue
        if reader.blob_id(reference.commit, reference.path) is not None:
            return reference
    return None


def rebuild_code(reader: ObjectReader, marker: Marker) -> Marker:
    """Return the marker with its code and context read from git when the server kept none.

    A marker that has its code, or whose block no commit here holds, is returned as it is.
    """
    if not code_missing(marker):
        return marker
    reference = rebuilt_from(reader, marker)
    if reference is None:
        return marker
    lines = split_lines(reader.read_text(reference.commit, reference.path) or "")
    code = block_in(lines, reference.start_line, reference.end_line)
    if not code:
        return marker
    before, after = context_of(lines, reference.start_line, reference.end_line)
    return {**marker, "code": code, "context_before": before, "context_after": after}
