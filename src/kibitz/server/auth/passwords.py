"""Password hashing with argon2id, run off the event loop because it is slow on purpose."""

from __future__ import annotations

import secrets

from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hash and verify passwords; one instance per app, built from the settings."""

    def __init__(self, *, fast: bool = False) -> None:
        # The fast profile exists for test suites only: same algorithm, tiny cost.
        self._hasher = (
            PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
        )
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """Hash a password in a worker thread."""
        return await to_thread.run_sync(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether the password matches the hash, in a worker thread."""

        def check() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await to_thread.run_sync(check)

    async def verify_nothing(self, password: str) -> None:
        """Spend the time of a verification, so an unknown email answers as slowly as a wrong password."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy_hash, password)
