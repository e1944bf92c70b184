"""Who may create an account on this server: the operator's sign-up mode and email domains (pure checks).

`KIBITZ_SIGNUP_MODE` is `open` (anyone who reaches the server), `invite` (only with a team's invite code,
which the new account joins at once) or `closed` (nobody: existing accounts only).
`KIBITZ_SIGNUP_EMAIL_DOMAINS` limits sign-ups to addresses at those domains and their subdomains, whatever
the mode; `KIBITZ_INTERNAL_EMAIL_DOMAINS` names the internal, special-use domains (`.local`, `.home.arpa`,
...) this server accepts at all.
"""

from __future__ import annotations

from kibitz.server.errors import Forbidden, ValidationFailed
from kibitz.settings import Settings
from kibitz.validation import INTERNAL_SUFFIXES, domain_within, email_domain


def _bad_email(message: str) -> ValidationFailed:
    return ValidationFailed(message, [{"loc": ["body", "email"], "msg": message, "type": "email_refused"}])


def check_signup(settings: Settings, email: str, *, invited: bool) -> None:
    """Raise Forbidden if the server takes no sign-up of this kind, ValidationFailed if it takes none from
    this address's domain; return if the sign-up may go on."""
    mode = settings.signup_mode
    if mode == "closed":
        raise Forbidden(
            "This server does not take new sign-ups; ask its operator for an account.", {"signup": "closed"}
        )
    if mode == "invite" and not invited:
        raise Forbidden(
            "This server takes new accounts by invitation only: sign up with a team's invite code "
            "(`invite` in the request, `kibitz signup --invite CODE`).",
            {"signup": "invite"},
        )
    domain = email_domain(email)
    special = domain_within(domain, INTERNAL_SUFFIXES)
    if special is not None and domain_within(domain, settings.internal_domains()) is None:
        raise _bad_email(
            f"Addresses at .{special} domains are not accepted on this server (an operator can allow "
            "internal domains with KIBITZ_INTERNAL_EMAIL_DOMAINS)."
        )
    allowed = settings.signup_domains()
    if allowed and domain_within(domain, allowed) is None:
        raise _bad_email(f"This server takes sign-ups only from addresses at {', '.join(allowed)}.")
