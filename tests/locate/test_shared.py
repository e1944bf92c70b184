"""Locations whose path the API refuses stay unshared instead of failing the whole batch."""

from __future__ import annotations

from kibitz.locate._shared import _api_accepts_path


def test_paths_git_allows_but_the_api_refuses() -> None:
    assert _api_accepts_path("src/app.py")
    assert _api_accepts_path("docs/naïve café.md")
    assert not _api_accepts_path("windows\\style.py")
    # A Latin-1 file name, as git's output decodes it with surrogate escapes.
    assert not _api_accepts_path(b"caf\xe9.py".decode("utf-8", "surrogateescape"))
    assert not _api_accepts_path("a/" * 2100)
