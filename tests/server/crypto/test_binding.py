"""A database from before the keystore binding is bound to the keystore holding its keys, and no other."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, text

from kibitz.server.crypto.keystore import DATABASE_ID, Keystore, OwnerKind, keystore_meta
from kibitz.server.errors import KeystoreMismatch
from kibitz.settings import Settings
from tests.server.conftest import PASSWORD, started


async def _forget_the_binding(settings: Settings) -> None:
    """Make the pair look as before the binding existed: no row in the database, no id in the keystore."""
    async with started(settings) as app:
        async with app.state.kibitz.sessionmaker() as session:
            await session.execute(text("DELETE FROM keystore_binding"))
            await session.commit()
        keystore = app.state.kibitz.sealer.keystore
        async with keystore.engine.begin() as connection:
            await connection.execute(delete(keystore_meta).where(keystore_meta.c.name == DATABASE_ID))


async def _bound_ids(settings: Settings) -> tuple[str, str]:
    async with started(settings) as app:
        async with app.state.kibitz.sessionmaker() as session:
            row = (await session.execute(text("SELECT database_id, keystore_id FROM keystore_binding"))).one()
        keystore_id, database_id = await app.state.kibitz.sealer.keystore.identity()
    assert database_id == row.database_id
    assert keystore_id == row.keystore_id
    return str(row.database_id), str(row.keystore_id)


async def test_a_database_from_before_the_binding_is_bound_to_its_own_keystore_only(
    settings: Settings, tmp_path: Path
) -> None:
    async with started(settings) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kibitz.test") as http:
            body = {"email": "ada@example.com", "name": "Ada", "password": PASSWORD}
            assert (await http.post("/api/v1/auth/signup", json=body)).status_code == 201
    first = await _bound_ids(settings)

    # Its own keystore, unbound: adopted, and the ids stay what they were for the keystore.
    await _forget_the_binding(settings)
    database_id, keystore_id = await _bound_ids(settings)
    assert keystore_id == first[1]

    # Another keystore (same KEK, keys of its own, never bound): refused, for it has none of the keys.
    await _forget_the_binding(settings)
    other = Settings.load(data_dir=tmp_path / "other", kek_file=settings.data_dir / "kek.key")
    keystore = await Keystore.open(other)
    await keystore.data_key(OwnerKind.USER, "someone")
    await keystore.close()
    kept = tmp_path / "kept-keystore.db"
    shutil.move(settings.data_dir / "keystore.db", kept)
    shutil.copyfile(tmp_path / "other" / "keystore.db", settings.data_dir / "keystore.db")
    with pytest.raises(KeystoreMismatch, match="holds none of the keys"):
        async with started(settings):
            pass
    assert database_id.startswith("db-")
