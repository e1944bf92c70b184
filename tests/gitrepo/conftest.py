"""Keep the git layer under test away from the machine's and the user's git configuration."""

from __future__ import annotations

import pytest

from tests.git_helpers import GIT_ENV


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
