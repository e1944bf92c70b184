"""How people get into accounts an import created: an operator sets their password.

An imported account has no usable password and the status `imported`, so nobody can log in to it, and there
is no mail-based reset to hand out. `kibitz server user set-password EMAIL` (on the server's database, like
`kibitz server user disable`) sets a password and makes an imported account active; the operator passes
that password to its owner, who changes it with `kibitz password`. It also serves as an operator's password
reset for any account: the account's login sessions end, a disabled account stays disabled.
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import update

from kibitz.server.audit.service import record_audit
from kibitz.server.auth.models import ApiToken
from kibitz.server.auth.passwords import Passwords
from kibitz.server.auth.service import find_user_by_email
from kibitz.server.db import utcnow
from kibitz.server.errors import NotFound, ValidationFailed
from kibitz.server.export.importer import IMPORTED_STATUS
from kibitz.server.unit_of_work import UnitOfWork
from kibitz.validation import Password

_PASSWORD = TypeAdapter(Password)


def check_password(password: str) -> str:
    """Return the password if the API would accept it at signup; ValidationFailed says why not."""
    try:
        return _PASSWORD.validate_python(password)
    except ValidationError as error:
        raise ValidationFailed(
            "The password is not acceptable: " + error.errors(include_input=False)[0]["msg"] + "."
        ) from None


async def set_password(
    session: UnitOfWork, passwords: Passwords, email: str, password: str
) -> tuple[bool, int]:
    """Set an account's password (an operator's act); return whether it was activated and sessions ended."""
    user = await find_user_by_email(session, email)
    if user is None:
        raise NotFound("No account has this email address.")
    user.password_hash = await passwords.hash(check_password(password))
    activated = user.status == IMPORTED_STATUS
    if activated:
        user.status = "active"
    ended = await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.kind == "session", ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    sessions_ended = int(getattr(ended, "rowcount", 0) or 0)
    record_audit(
        session,
        "password.changed",
        target_id=user.id,
        by="operator",
        activated=activated,
        sessions_ended=sessions_ended,
    )
    await session.flush()
    return activated, sessions_ended
