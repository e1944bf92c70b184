"""Rendered Markdown and highlighted code, kept in memory per stored text until that text changes.

Rendering a thread's texts from Markdown (and cleaning them) and highlighting a block of code cost most of a
codemark page, and between two visits nothing of it has usually changed. Each result is kept by the sealer
(`Sealer.remember_derived`) under the rule of every opened value: its version is a digest of the stored
cell(s) it was made from (a new text is a new cell), it is served only while the keys those cells were
sealed with still open them, and it is dropped with the opened values after an erasure. The markup kept is
the same `markdown_html` / `highlighted_code` return, so escaping and sanitising are unchanged.
"""

from __future__ import annotations

import hashlib

from markupsafe import Markup

from kibitz.server.crypto.sealer import Sealer
from kibitz.server.web.render import highlighted_code, markdown_html

# What an entry costs besides its markup (the key, the version, the bookkeeping), for the sealer's budget.
_OVERHEAD = 200


def _digest(*parts: str) -> bytes:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(part.encode())
        hasher.update(b"\x00")
    return hasher.digest()


async def kept_markdown(sealer: Sealer, kind: str, object_id: str, stored: str, text: str) -> Markup:
    """Return `markdown_html(text)` for the text stored as the cell `stored` of object `kind`/`object_id`."""
    name = ("markdown", kind, object_id)
    version = _digest(stored)
    kept = await sealer.derived(name, version)
    if isinstance(kept, Markup):
        return kept
    html = markdown_html(text)
    sealer.remember_derived(name, version, [stored], html, 2 * len(html) + _OVERHEAD)
    return html


async def kept_code(
    sealer: Sealer, marker_id: str, stored: tuple[str, str], code: str, path: str, start_line: int
) -> Markup:
    """Return `highlighted_code(code, path, start_line)` for a marker whose stored (code, path) cells are
    `stored`."""
    name = ("highlighted", marker_id)
    version = _digest(*stored, str(start_line))
    kept = await sealer.derived(name, version)
    if isinstance(kept, Markup):
        return kept
    html = highlighted_code(code, path, start_line)
    sealer.remember_derived(name, version, list(stored), html, 2 * len(html) + _OVERHEAD)
    return html
