"""`make run` installs what the server needs alone; `make test` adds the dev tools and the extension."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _planned(target: str, venv: Path, *options: str) -> list[str]:
    """Return the commands `make TARGET` would run on a fresh virtual environment (`make -n`)."""
    result = subprocess.run(
        ["make", "-n", *options, target, f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()


def _installs(commands: list[str]) -> list[str]:
    return [
        line.split("pip install --quiet", 1)[1].strip()
        for line in commands
        if "pip install --quiet -e" in line
    ]


def test_make_run_installs_only_the_runtime(tmp_path: Path) -> None:
    commands = _planned("run", tmp_path / "venv")
    assert _installs(commands) == ["-e ."]
    assert any("kibitz server run" in line for line in commands)


def test_make_test_adds_the_development_tools(tmp_path: Path) -> None:
    for target in ("pytest", "lint", "typecheck"):
        assert _installs(_planned(target, tmp_path / "venv")) == ["-e .", "-e '.[dev]'"]


def test_make_test_builds_the_vscode_extension(tmp_path: Path) -> None:
    assert "cd editors/vscode && npm run --silent check" in _planned("test", tmp_path / "venv")


def test_make_editors_installs_from_the_lock_file(tmp_path: Path) -> None:
    # -W: as if the lock file had just changed, which is the state of a fresh clone.
    lock = "editors/vscode/package-lock.json"
    commands = _planned("editors", tmp_path / "venv", "-W", lock)
    assert "cd editors/vscode && npm ci --no-fund --no-audit" in commands
    assert _installs(commands) == []


def test_make_pytest_installs_axe_core_from_its_lock_file(tmp_path: Path) -> None:
    # The browser tests' accessibility checker comes pinned from tests/web/axe, never "latest".
    lock = "tests/web/axe/package-lock.json"
    commands = _planned("pytest", tmp_path / "venv", "-W", lock)
    install = "cd tests/web/axe && npm ci --no-fund --no-audit"
    assert install in commands
    assert commands.index(install) < next(i for i, line in enumerate(commands) if "pytest -q" in line)


def test_the_lock_files_name_no_registry() -> None:
    # `npm ci` fetches from whichever registry the machine's npm uses; the repository names none.
    for package in ("editors/vscode", "tests/web/axe"):
        lock = (ROOT / package / "package-lock.json").read_text(encoding="utf-8")
        assert '"resolved"' not in lock, package
        assert "omit-lockfile-registry-resolved=true" in (ROOT / package / ".npmrc").read_text()
