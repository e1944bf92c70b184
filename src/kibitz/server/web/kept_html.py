"""Rendered Markdown and highlighted code, kept in memory per stored text until that text changes.

Rendering a thread's texts from Markdown (and cleaning them) and highlighting a block of code cost most of a
codemark page, and between two visits nothing of it has usually changed. Each result is kept by the sealer
(`Sealer.remember_derived`) under the rule of every opened value: its version is a digest of the stored
cell(s) it was made from (a new text is a new cell), it is served only while the keys those cells were
sealed with still open them, and it is dropped with the opened values after an erasure. The markup kept is
the same `markdown_html` / `highlighted_code` return, so escaping and sanitising are unchanged.

Whole fragments of a page (a reply's item in a thread) are kept the same way, by `kept_fragment`: the
version is a digest of everything the fragment is rendered from (the stored cells, the names, the
reactions, what differs for the viewer), and what differs between two showings of the same fragment is
left as holes, filled on every page by `fill`: the viewer's CSRF token and the relative times ("5 minutes
ago").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence

from markupsafe import Markup, escape

from kibitz.server.crypto.sealer import Sealer
from kibitz.server.web.render import highlighted_code, markdown_html, relative_time, time_open_tag

# What an entry costs besides its markup (the key, the version, the bookkeeping), for the sealer's budget.
_OVERHEAD = 200


def _digest(*parts: str) -> bytes:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part.encode()
        # Each part's length first: no two different lists of parts hash the same bytes.
        hasher.update(len(data).to_bytes(8, "big"))
        hasher.update(data)
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


class _CsrfHole:
    """Where a kept fragment takes the viewer's CSRF token."""

    def __repr__(self) -> str:
        return "CSRF_HOLE"


CSRF_HOLE = _CsrfHole()
# A kept fragment: markup, with holes for the CSRF token and for the relative time of each datetime.
Fragment = tuple[str | dt.datetime | _CsrfHole, ...]

# Holes are marked in the rendered markup by a string no text can hold: NUL characters (which the Markdown
# renderer and the text validators never let through) around a secret drawn when the process starts.
_NONCE = secrets.token_hex(16)
_HOLE = re.compile(f"\x00{_NONCE}:(c|t[0-9]+)\x00")


class Holes:
    """The holes of one fragment being rendered: its template puts `csrf` and `time(...)` where they go."""

    csrf = Markup(f"\x00{_NONCE}:c\x00")  # noqa: S704 - a marker of ours, replaced before anything is sent

    def __init__(self) -> None:
        self._times: list[dt.datetime] = []

    def time(self, when: dt.datetime) -> Markup:
        """Return a `<time>` element whose relative time is a hole (see render.time_tag)."""
        self._times.append(when)
        hole = f"\x00{_NONCE}:t{len(self._times) - 1}\x00"
        return Markup(f"{time_open_tag(when)}{hole}</time>")  # noqa: S704 - escaped by time_open_tag

    def fragment(self, html: str) -> Fragment:
        """Return rendered markup as a fragment: its text cut at the holes, the holes in between."""
        parts: list[str | dt.datetime | _CsrfHole] = []
        for i, part in enumerate(_HOLE.split(html)):
            if i % 2 == 0:
                if part:
                    parts.append(part)
            elif part == "c":
                parts.append(CSRF_HOLE)
            else:
                parts.append(self._times[int(part[1:])])
        return tuple(parts)


def fill(fragments: Iterable[Fragment], csrf: str, now: dt.datetime) -> Markup:
    """Return fragments as one piece of markup, with the viewer's CSRF token and the times as of `now`."""
    token = str(escape(csrf))
    out: list[str] = []
    for fragment in fragments:
        for part in fragment:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dt.datetime):
                out.append(str(escape(relative_time(part, now))))
            else:
                out.append(token)
    return Markup("".join(out))  # noqa: S704 - kept markup was escaped when rendered; the holes are escaped here


async def kept_fragment(
    sealer: Sealer,
    name: Hashable,
    inputs: Sequence[str],
    stored: Sequence[str],
    render: Callable[[Holes], Awaitable[str]],
) -> Fragment:
    """Return the fragment `render` makes, kept under `name` while `inputs` and the stored cells hold.

    `inputs` must name everything the fragment is rendered from (a stored cell stands for its text) and
    `stored` the sealed cells among them: the fragment is served only while their keys still open them.
    """
    version = _digest(*inputs)
    kept = await sealer.derived(name, version)
    if isinstance(kept, tuple):
        return kept
    holes = Holes()
    fragment = holes.fragment(await render(holes))
    size = 2 * sum(len(p) for p in fragment if isinstance(p, str)) + _OVERHEAD
    sealer.remember_derived(name, version, stored, fragment, size)
    return fragment
