"""Password hashing with argon2id, run off the event loop because it is slow on purpose; strength checks.

Passwords are hashed and checked in Unicode NFC, so the same password typed on two systems that compose
accents differently (macOS input gives NFD for some keyboards) is the same password. Hashes made before that
rule hold the text as it was typed: a login tries the NFC form first and then the text as given, and a match
on the second re-hashes the NFC form (`Passwords.check`), so such accounts keep signing in.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable

from anyio import to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from kibitz.server.errors import ValidationFailed

# zxcvbn refuses longer input; the first 72 characters are what it judges (a weak start is weak).
_STRENGTH_CHARS = 72
_WORDS = re.compile(r"[^\W_]{3,}")
# What a password must keep, in letters, once the person's own words are taken out of it.
_OWN_LETTERS = 6


def normalise_password(password: str) -> str:
    """Return the form of a password that is hashed and checked: Unicode NFC."""
    return unicodedata.normalize("NFC", password)


def context_words(*values: str) -> list[str]:
    """Return what a password must not be built from: the values and their words (3+ letters or digits)."""
    words: list[str] = []
    for value in values:
        if value:
            words.append(value.lower())
            words.extend(word.lower() for word in _WORDS.findall(value))
    return list(dict.fromkeys(words))


def weakness(password: str, min_score: int, context: Iterable[str] = ()) -> str | None:
    """Return why a password is too easy to guess, or None if it is not: zxcvbn's score below `min_score`, or
    (with any score above 0) a password that is little more than the person's own words.

    `context` holds the person's own words (email, handle, name): zxcvbn guesses them first, and a password
    that keeps fewer than `_OWN_LETTERS` letters once they are taken out is refused whatever it scores.
    """
    if min_score <= 0:
        return None
    normal = normalise_password(password)
    words = [word for word in context if len(word) >= 3]
    rest = normal.lower()
    for word in sorted(words, key=len, reverse=True):
        rest = rest.replace(word, "")
    if rest != normal.lower() and sum(c.isalpha() for c in rest) < _OWN_LETTERS:
        return (
            "This password is too easy to guess: it is made of your name, handle or email. "
            "Use a longer passphrase of uncommon words."
        )
    result = zxcvbn(normal[:_STRENGTH_CHARS], user_inputs=words)
    if int(result["score"]) >= min_score:
        return None
    feedback = result.get("feedback") or {}
    hints = [str(feedback.get("warning") or ""), *(str(s) for s in feedback.get("suggestions") or [])]
    said = " ".join(hint for hint in hints if hint) or "Use a longer passphrase of uncommon words."
    return f"This password is too easy to guess. {said}"


def weak_password_error(message: str, field: str) -> ValidationFailed:
    """Return the 422 that refuses a password too easy to guess, naming the body field."""
    return ValidationFailed(message, [{"loc": ["body", field], "msg": message, "type": "password_weak"}])


class Passwords:
    """Hash and verify passwords; one instance per app, built from the settings."""

    def __init__(self, *, fast: bool = False) -> None:
        # The fast profile exists for test suites only: same algorithm, tiny cost.
        self._hasher = (
            PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1) if fast else PasswordHasher()
        )
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """Hash a password (its NFC form) in a worker thread."""
        return await to_thread.run_sync(self._hasher.hash, normalise_password(password))

    async def verify(self, password_hash: str, password: str) -> bool:
        """Tell whether the password matches the hash (NFC first, then as typed for older hashes)."""
        return (await self.check(password_hash, password))[0]

    async def check(self, password_hash: str, password: str) -> tuple[bool, bool]:
        """Tell whether the password matches, and whether the hash should be replaced by one of its NFC form
        (it matched only as typed, a hash from before passwords were normalised)."""

        def match(candidate: str) -> bool:
            try:
                return self._hasher.verify(password_hash, candidate)
            except (VerificationError, InvalidHashError):
                return False

        normal = normalise_password(password)
        if await to_thread.run_sync(match, normal):
            return True, False
        if normal != password and await to_thread.run_sync(match, password):
            return True, True
        return False, False

    async def weakness(self, password: str, min_score: int, context: Iterable[str] = ()) -> str | None:
        """Return why a password is too easy to guess, or None, in a worker thread (scoring takes a while)."""
        words = list(context)
        return await to_thread.run_sync(lambda: weakness(password, min_score, words))

    async def verify_nothing(self, password: str) -> None:
        """Spend the time of a verification, so an unknown email answers as slowly as a wrong password."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy_hash, password)
