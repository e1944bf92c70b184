"""Real repositories for locating tests, isolated from the machine's and the user's git configuration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kibitz.client import Marker, NewMarker
from kibitz.gitrepo import LineRange, ObjectReader
from kibitz.locate import PinnedMarker, pin
from tests.code_samples import APP
from tests.git_helpers import GIT_ENV, git, make_repo


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"app.py": APP, "other.py": "x = 1\n"})


@pytest.fixture
def reader(repo: Path) -> Iterator[ObjectReader]:
    with ObjectReader(repo) as opened:
        yield opened


def commit(repo: Path, message: str) -> str:
    """Commit everything in the working tree and return the new commit id."""
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", message)
    return git(repo, "rev-parse", "HEAD").strip()


def as_stored(new: NewMarker, marker_id: str = "m1") -> Marker:
    """Return the marker as the API would answer it once created."""
    return {
        "id": marker_id,
        **new,
        "provisional": new.get("provisional", False),
        "references": new.get("references", []),
        "code_free": False,
    }


def pinned(reader: ObjectReader, path: str, lines: LineRange, marker_id: str = "m1") -> PinnedMarker:
    """Pin lines of a file as it is on disk, as `kibitz add` does."""
    text = (reader.root / path).read_text(encoding="utf-8")
    return PinnedMarker("c-" + marker_id, as_stored(pin(reader, "r1", path, lines, text), marker_id))
