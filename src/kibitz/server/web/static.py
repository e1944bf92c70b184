"""The pages' own assets (stylesheets and our one script), served from memory under `/static/<name>`.

Only the files named here exist, so no path from a request reaches the file system. Each address carries
a digest of the content (`?v=`), so browsers may keep a file for a year and still get a changed one at once.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from kibitz.server.errors import NotFound
from kibitz.server.web.render import code_css

STATIC = Path(__file__).parent / "static"
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    """One served file: its bytes, media type and content digest."""

    body: bytes
    media_type: str
    digest: str


@functools.cache
def assets() -> dict[str, Asset]:
    """Return the served files by name (read once per process)."""
    files = {path.name: path.read_bytes() for path in STATIC.iterdir() if path.suffix in _TYPES}
    # The palette of highlighted code comes from Pygments' own styles.
    files["code.css"] = code_css().encode()
    return {
        name: Asset(body, _TYPES[Path(name).suffix], hashlib.sha256(body).hexdigest()[:16])
        for name, body in files.items()
    }


def static_url(name: str) -> str:
    """Return the address of a served file, with its digest."""
    return f"/static/{name}?v={assets()[name].digest}"


@router.get("/static/{name}")
async def static_file(name: str) -> Response:
    """Serve one of the pages' assets."""
    asset = assets().get(name)
    if asset is None:
        raise NotFound("No such file.")
    return Response(
        asset.body,
        media_type=asset.media_type,
        headers={"cache-control": "public, max-age=31536000, immutable", "etag": f'"{asset.digest}"'},
    )
