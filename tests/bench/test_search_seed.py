"""The search benchmark's bulk seeder writes what the services write: sealed cells, keyed words and paths."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

import search
from kibitz.server.codemarks.service import CodemarkFilter
from kibitz.server.crypto.sealer import is_sealed
from kibitz.server.offline import opened
from kibitz.server.search import service
from kibitz.settings import Settings

SEALED_COLUMNS = {
    "codemark": ("title", "text"),
    "marker": ("path", "code", "context_before", "context_after"),
    "reply": ("text",),
    "user_account": ("email", "name", "handle"),
    "repo": ("name",),
    "repo_remote": ("url",),
}


def _settings(data_dir: Path) -> Settings:
    return Settings.load(data_dir=data_dir, database_url="", encrypt_at_rest=True, fast_password_hashing=True)


async def test_bulk_seed_is_sealed_keyed_and_searchable(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    seeded = await search.seed(settings, search.Params(codemarks=120, replies=240, seed=3), is_sqlite=True)
    assert seeded.verified_samples == 24
    assert seeded.sealing_seconds > 0

    with closing(sqlite3.connect(tmp_path / "kibitz.db")) as db:
        for table, columns in SEALED_COLUMNS.items():
            for column in columns:
                values = [v for (v,) in db.execute(f"SELECT {column} FROM {table}")]  # noqa: S608
                assert values, (table, column)
                plain = [v for v in values if v and not is_sealed(v)]
                assert plain == [], f"{table}.{column} holds plaintext"
        tokens = [t for (t,) in db.execute("SELECT DISTINCT token FROM search_token")]
        paths = [p for (p,) in db.execute("SELECT DISTINCT path_index FROM marker")]
    assert tokens
    assert all(re.fullmatch("[0-9a-f]{64}", t) for t in tokens)
    assert paths
    assert all(re.fullmatch("[0-9a-f]{64}", p) for p in paths)
    # The frequencies the queries are chosen from come back as words, not as their keyed forms.
    assert "the" in seeded.document_frequency
    assert set(seeded.document_frequency).isdisjoint(tokens)

    word = max(seeded.document_frequency, key=lambda w: seeded.document_frequency[w])
    path = seeded.paths[0]
    async with opened(settings, migrate=False) as database, database.sessions() as session:
        hits, _cursor = await service.search(
            session, seeded.user_ids[0], seeded.team_id, word, CodemarkFilter(), None, None, 50, None
        )
        assert len(hits) == min(50, seeded.document_frequency[word])
        on_path, _cursor = await service.search(
            session, seeded.user_ids[0], seeded.team_id, word, CodemarkFilter(path=path), None, None, 50, None
        )
    assert on_path
    assert all(any(m.path == path for m in hit.codemark.markers) for hit in on_path)


@pytest.mark.parametrize(("broken", "said"), [("path", "differ"), ("member_cell", "holds plaintext")])
async def test_bulk_rows_unlike_the_services_stop_the_seeding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str, said: str
) -> None:
    async def wrong_path(self: search.Sealing, team_id: str, path: str) -> str:
        return "0" * 64

    async def plaintext(self: search.Sealing, team_id: str, author_id: str, value: str, *_cell: Any) -> str:
        return value

    monkeypatch.setattr(search.Sealing, broken, wrong_path if broken == "path" else plaintext)
    params = search.Params(codemarks=100, replies=0, seed=1)
    with pytest.raises(search.SeedingError, match=said):
        await search.seed(_settings(tmp_path), params, is_sqlite=True)
