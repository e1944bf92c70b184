"""Real git repositories for tests, isolated from the machine's and the user's git configuration."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

# Identity and isolation through the environment: no global config, no signing, no hooks from $HOME.
GIT_ENV: Mapping[str, str] = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return its standard output."""
    result = subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, capture_output=True, text=True, check=True
    )
    return result.stdout


def make_repo(path: Path, files: Mapping[str, str]) -> Path:
    """Create a repository at ``path`` with ``files`` committed in one first commit."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    git(path, "add", "--", *files)
    git(path, "commit", "--quiet", "--message", "first commit")
    return path


def numbered_lines(count: int, prefix: str = "line") -> str:
    """Return ``count`` distinct lines ``line 1`` … ``line N``, each ending with a newline."""
    return "".join(f"{prefix} {number}\n" for number in range(1, count + 1))


def commit_all(repo: Path, message: str) -> str:
    """Commit every change in the working tree and return the new HEAD."""
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", message)
    return git(repo, "rev-parse", "HEAD").strip()


def published_repo(tmp_path: Path, files: Mapping[str, str]) -> tuple[Path, Path]:
    """Return Alice's repository with `files` and the bare repository it pushes to (its origin)."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    repo = make_repo(tmp_path / "alice-repo", files)
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "--quiet", "--set-upstream", "origin", "main")
    git(repo, "remote", "set-head", "origin", "main")
    return repo, origin
