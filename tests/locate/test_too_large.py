"""A block the engine gives up on is `too_large`, with no place, and never shared: in real repositories."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from kibitz.client import KibitzClient
from kibitz.gitrepo import LineRange, ObjectReader
from kibitz.locate import AtCommit, InWorkingTree, Placement, SharedLocations, locate
from kibitz.server.locations.schemas import LocationsIn
from tests.git_helpers import make_repo
from tests.locate.conftest import commit, pinned

# A generated table whose lines all repeat with a short period: every run of lines occurs hundreds of
# times, so once it is edited at both ends no diff can tell which copy of the middle went where.
ROWS = [f"    0x{i % 4:02x}, 0x00, 0x00, 0x00," for i in range(3000)]
TABLE = "TABLE = [\n" + "\n".join(ROWS) + "\n]\n"
EDITED = TABLE.replace("TABLE = [\n", "TABLE = [\n    0xff, 0xff,\n").replace("0x00,\n]", "0xee,\n]")


def test_a_block_in_a_table_no_diff_can_match_is_too_large_not_guessed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"table.py": TABLE})
    with ObjectReader(repo) as reader:
        marker = pinned(reader, "table.py", LineRange(1500, 1502))
        near_the_top = pinned(reader, "table.py", LineRange(1, 1), "m2")
        (repo / "table.py").write_text(EDITED, encoding="utf-8")
        edited = commit(repo, "regenerate the table")

        found = locate(reader, [marker, near_the_top], AtCommit(edited))
        assert found["m1"] == Placement("m1", None, None, None, "too_large", 0.0)
        # What the diff can match is still answered.
        assert (found["m2"].path, found["m2"].start_line, found["m2"].status) == ("table.py", 1, "unchanged")

        # The same in the working tree: HEAD has the table as recorded, the disk the regenerated one.
        (repo / "table.py").write_text(TABLE, encoding="utf-8")
        commit(repo, "back to the first table")
        (repo / "table.py").write_text(EDITED, encoding="utf-8")
        assert locate(reader, [marker], InWorkingTree())["m1"].status == "too_large"


def test_too_large_is_never_shared() -> None:
    sent: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"stored": 1})

    client = KibitzClient("http://127.0.0.1:9", "token", transport=httpx.MockTransport(server))
    shared = SharedLocations(client, "team1")
    shared.store(
        "a" * 40,
        [
            Placement("m1", "app.py", 3, 5, "shifted", 1.0),
            Placement.too_large("m2"),
            Placement.unavailable("m3", "commit_missing"),
        ],
    )
    assert len(sent) == 1
    body = LocationsIn.model_validate(json.loads(sent[0].content))
    assert [location.marker_id for location in body.locations] == ["m1"]


def test_only_the_block_given_up_on_is_too_large(tmp_path: Path) -> None:
    code = "def f():\n    return 1\n"
    repo = make_repo(tmp_path / "repo", {"table.py": TABLE, "app.py": code})
    with ObjectReader(repo) as reader:
        in_table = pinned(reader, "table.py", LineRange(1500, 1500))
        in_app = pinned(reader, "app.py", LineRange(1, 2), "m2")
        (repo / "table.py").write_text(EDITED, encoding="utf-8")
        (repo / "app.py").write_text("import os\n\n" + code, encoding="utf-8")
        edited = commit(repo, "both files")
        found = locate(reader, [in_table, in_app], AtCommit(edited))
    assert found["m1"].status == "too_large"
    assert (found["m2"].path, found["m2"].start_line, found["m2"].status) == ("app.py", 3, "shifted")
