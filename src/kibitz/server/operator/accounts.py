"""Accounts, changed by an operator: `kibitz server user disable|enable|set-password EMAIL`."""

from __future__ import annotations

from kibitz.server.auth import tokens
from kibitz.server.auth.models import User
from kibitz.server.auth.passwords import Passwords
from kibitz.server.auth.service import find_user_by_email
from kibitz.server.errors import NotFound
from kibitz.server.export import accounts
from kibitz.server.operator._running import in_transaction
from kibitz.server.unit_of_work import UnitOfWork
from kibitz.settings import Settings


async def _account(session: UnitOfWork, email: str) -> User:
    user = await find_user_by_email(session, email)
    if user is None:
        # The operator typed the email: say which one matched nothing.
        raise NotFound(f"no account has the email {email!r}")
    return user


def set_user_status(settings: Settings, email: str, status: str) -> tuple[bool, int]:
    """Disable or enable an account; return whether its status changed and how many tokens were revoked."""

    async def work(session: UnitOfWork) -> tuple[bool, int]:
        changed = (await _account(session, email)).status != status
        _user, revoked = await tokens.set_user_status(session, email, status)
        return changed, len(revoked)

    return in_transaction(settings, work, migrate=False)


def set_password(settings: Settings, email: str, password: str) -> tuple[bool, int]:
    """Set an account's password; return whether an imported account became active and sessions ended."""

    async def work(session: UnitOfWork) -> tuple[bool, int]:
        await _account(session, email)
        passwords = Passwords(fast=settings.fast_password_hashing)
        return await accounts.set_password(session, passwords, email, password)

    return in_transaction(settings, work, migrate=False)
