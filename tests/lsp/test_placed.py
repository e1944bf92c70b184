"""Which of a repository's blocks a document shows: those placed in it, and those recorded in it but placed
nowhere (listed). Pure: a repository's codemarks and placements as locating gives them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kibitz.client import Codemark, KibitzClient
from kibitz.gitrepo import ObjectReader, RepoLink
from kibitz.locate import Placement
from kibitz.lsp._repos import KeptLocations, Repo, placed_in
from tests.lsp.test_present import MARKER, _codemark


def _marked(number: int, path: str, repo_id: str = "r1", **changes: Any) -> Codemark:
    marker = {**MARKER, "id": f"m{number}", "path": path, "repo_id": repo_id}
    return _codemark(
        id=f"cm{number}", created_at=f"2026-12-06T10:00:0{number}+00:00", markers=[marker], **changes
    )


def _at(number: int, path: str | None, start: int = 3) -> Placement:
    if path is None:
        return Placement.deleted(f"m{number}", 0.9)
    return Placement(f"m{number}", path, start, start + 2, "shifted", 1.0)


def test_a_document_shows_its_placed_blocks_and_lists_those_placed_nowhere(tmp_path: Path) -> None:
    repo = Repo(
        tmp_path,
        RepoLink("t1", "r1"),
        ObjectReader(tmp_path),
        KeptLocations(KibitzClient("http://127.0.0.1", None), "t1"),
    )
    repo.replace(
        [
            _marked(7, "app.py"),  # recorded here, found nowhere at all yet
            _marked(1, "app.py"),  # here
            _marked(2, "lib.py"),  # moved here
            _marked(3, "app.py"),  # deleted: listed
            _marked(4, "app.py"),  # moved away
            _marked(5, "app.py", repo_id="r2"),  # a block of another repository
            _marked(6, "app.py", status="archived"),
        ]
    )
    placements = {
        "m1": _at(1, "app.py"),
        "m2": _at(2, "app.py", 9),
        "m3": _at(3, None),
        "m4": _at(4, "lib.py"),
        "m5": _at(5, "app.py"),
        "m6": _at(6, "app.py"),
    }
    shown = placed_in("app.py", repo.blocks(), placements)
    assert [(p.marker["id"], p.placement) for p in shown] == [
        ("m1", placements["m1"]),
        ("m2", placements["m2"]),
        ("m3", placements["m3"]),
        ("m7", None),
    ]
    assert [p.codemark["id"] for p in shown] == ["cm1", "cm2", "cm3", "cm7"]

    # The blocks follow the codemarks as they change.
    repo.put(_marked(4, "app.py", status="archived"))
    repo.remove("cm1")
    assert [p.marker["id"] for p in placed_in("app.py", repo.blocks(), placements)] == ["m2", "m3", "m7"]
    assert [p.marker["id"] for p in placed_in("lib.py", repo.blocks(), placements)] == []
