"""The binding of a database to its keystore: a server never runs on a keystore that is not its database's.

A sealed value opens only with the key that sealed it, and blind indexes (emails, handles) are digests under
index keys. A server started on another keystore than its database's — `keystore.db` deleted or replaced, a
second process with its own keystore — would open nothing, make fresh keys, and compute different indexes, so
an existing email or handle would no longer be found and a second account could take it. So each side
records the other: the database holds one `keystore_binding` row (its own id and its keystore's id), the
keystore its own id and its database's id in `keystore_meta`. On every start both must name each other; a
new database and a new keystore are bound together on their first start. A database from before the binding
is bound to a keystore that holds the keys of its sealed values, and refused with any other.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from kibitz.ids import new_id
from kibitz.server.auth.models import User
from kibitz.server.crypto.envelope import PREFIX, key_id_of
from kibitz.server.crypto.keystore import Keystore
from kibitz.server.crypto.models import KeystoreBinding
from kibitz.server.db import utcnow
from kibitz.server.errors import KeystoreMismatch

# Sealed emails whose keys are looked for in a keystore offered to a database from before the binding.
_SAMPLES = 50
_ADVICE = (
    "starting would make fresh keys that open nothing and let a second account take an existing email; "
    "configure the database's own keystore (KIBITZ_KEYSTORE_URL, or keystore.db in the data directory), "
    "or restore the database and its keystore together from one backup (kibitz server restore)"
)


async def bind(engine: AsyncEngine, keystore: Keystore, *, keystore_name: str) -> str:
    """Check that the database and the keystore belong together, binding a new pair; return the database id.

    Raises KeystoreMismatch, naming `keystore_name` and both ids, when they do not.
    """
    keystore_id, keystore_database = await keystore.identity()
    binding = await _binding(engine)
    if binding is None:
        if keystore_database is not None:
            raise KeystoreMismatch(
                f"the keystore {keystore_name} ({keystore_id}) belongs to the database {keystore_database}, "
                f"not to this one, which has never been bound to a keystore; {_ADVICE}"
            )
        samples = await _sealed_key_ids(engine)
        if samples and not await keystore.holds_any(samples):
            raise KeystoreMismatch(
                f"the keystore {keystore_name} ({keystore_id}) holds none of the keys this database's values "
                f"are sealed with; {_ADVICE}"
            )
        await _bind_once(engine, keystore_id)
        binding = await _binding(engine)
        assert binding is not None
    database_id, bound_keystore = binding
    if bound_keystore != keystore_id:
        state = "a new, empty one" if not await keystore.holds_keys() else "another database's"
        raise KeystoreMismatch(
            f"the keystore {keystore_name} is {keystore_id}, {state}, but this database ({database_id}) "
            f"belongs to the keystore {bound_keystore}; {_ADVICE}"
        )
    if keystore_database is None:
        keystore_database = await keystore.claim(database_id)
    if keystore_database != database_id:
        raise KeystoreMismatch(
            f"the keystore {keystore_name} ({keystore_id}) belongs to the database {keystore_database}, "
            f"not to this one ({database_id}); {_ADVICE}"
        )
    return database_id


async def refuse_missing_keystore(engine: AsyncEngine, keystore_name: str) -> None:
    """Raise KeystoreMismatch if the database is bound to a keystore (called when the keystore is missing).

    Checked before a missing keystore file is made afresh, so a refused start leaves no empty keystore (nor
    a new KEK) behind for the database's own to be mistaken for.
    """
    binding = await _binding(engine)
    if binding is not None:
        database_id, bound_keystore = binding
        raise KeystoreMismatch(
            f"the keystore {keystore_name} is missing, but this database ({database_id}) belongs to the "
            f"keystore {bound_keystore}; {_ADVICE}"
        )


async def _binding(engine: AsyncEngine) -> tuple[str, str] | None:
    async with engine.connect() as connection:
        row = (
            await connection.execute(select(KeystoreBinding.database_id, KeystoreBinding.keystore_id))
        ).first()
    return None if row is None else (str(row.database_id), str(row.keystore_id))


async def _bind_once(engine: AsyncEngine, keystore_id: str) -> None:
    """Write the binding row unless a process starting at the same moment wrote it first."""
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(KeystoreBinding).values(
                    slot=1, database_id="db-" + new_id(), keystore_id=keystore_id, bound_at=utcnow()
                )
            )
    except IntegrityError:
        pass  # the other process's row stands, and is checked like any other


async def _sealed_key_ids(engine: AsyncEngine) -> list[str]:
    """Return the key ids of a few sealed emails (people's profiles are sealed first in every database)."""
    async with engine.connect() as connection:
        emails = await connection.scalars(
            select(User.email).where(User.email.startswith(PREFIX, autoescape=True)).limit(_SAMPLES)
        )
        return sorted({key_id_of(email) for email in emails})
