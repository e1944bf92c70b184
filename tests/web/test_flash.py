"""Show-once values sealed for one browser session and one purpose, for a few minutes."""

from __future__ import annotations

import datetime as dt

import pytest

from kibitz.server.web.flash import FLASH_LIFETIME, open_flash, seal_flash

NOW = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
SESSION = "session-token-of-this-browser"
VALUE = {"code": "secret-invite-code", "role": "member"}


def test_the_session_opens_its_value_for_its_purpose() -> None:
    sealed = seal_flash(SESSION, "invite", VALUE, NOW)
    assert "secret" not in sealed
    assert open_flash(SESSION, "invite", sealed, NOW + FLASH_LIFETIME) == VALUE
    assert seal_flash(SESSION, "invite", VALUE, NOW) != sealed  # a fresh nonce each time


@pytest.mark.parametrize(
    ("session", "purpose", "later"),
    [
        ("another session", "invite", dt.timedelta(0)),
        (SESSION, "token", dt.timedelta(0)),
        (SESSION, "invite", FLASH_LIFETIME + dt.timedelta(seconds=1)),
    ],
)
def test_another_session_purpose_or_a_late_look_gets_nothing(
    session: str, purpose: str, later: dt.timedelta
) -> None:
    sealed = seal_flash(SESSION, "invite", VALUE, NOW)
    assert open_flash(session, purpose, sealed, NOW + later) is None


@pytest.mark.parametrize("sealed", ["", "not base64 !", "AAAA", "A" * 200])
def test_garbage_and_tampered_values_are_nothing(sealed: str) -> None:
    assert open_flash(SESSION, "invite", sealed, NOW) is None
    good = seal_flash(SESSION, "invite", VALUE, NOW)
    flipped = good[:20] + ("A" if good[20] != "A" else "B") + good[21:]
    assert open_flash(SESSION, "invite", flipped, NOW) is None
