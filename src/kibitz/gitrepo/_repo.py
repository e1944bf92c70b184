"""The client's view of a local git repository, through the ``git`` command (never a shell)."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kibitz.gitrepo._hunks import Hunk, parse_hunks

_TEAM_KEY = "kibitz.team"
_REPO_KEY = "kibitz.repo"


class GitError(Exception):
    """A git command failed, or git is not installed."""


class NotARepository(GitError):
    """The directory is not inside a git working tree."""


class GitTimeout(GitError):
    """A git command did not finish in the time it was given, and was stopped."""


@dataclass(frozen=True, slots=True)
class RepoLink:
    """The Kibitz team and repo a local repository is linked to (stored in its local git config)."""

    team_id: str
    repo_id: str


def git_environment() -> dict[str, str]:
    """Return the environment every git process of ours runs with."""
    env = dict(os.environ)
    # Never block on a credential prompt or a pager, and keep paths unquoted in any output.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_PAGER"] = "cat"
    # File names are names, not globs: "a*.py" must not select other files.
    env["GIT_LITERAL_PATHSPECS"] = "1"
    return env


def git_command(*args: str) -> list[str]:
    """Return the argument vector of a git command, with the options every call of ours needs."""
    return ["git", "-c", "core.quotepath=off", *args]


def _git(
    cwd: Path,
    *args: str,
    check: bool = True,
    stdin: bytes | None = None,
    literal: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run git in ``cwd`` and return the finished process; raise GitError on failure if ``check``.

    ``literal=False`` is for the few commands that refuse literal pathspecs (``check-ignore``). Past
    ``timeout`` seconds git is stopped and GitTimeout raised.
    """
    env = git_environment()
    if not literal:
        env["GIT_LITERAL_PATHSPECS"] = "0"
    try:
        result = subprocess.run(
            git_command(*args),
            cwd=cwd,
            env=env,
            input=stdin,
            capture_output=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitTimeout(f"git {args[0]} did not finish within {timeout:.3g} s") from exc
    except FileNotFoundError as exc:
        raise GitError("git is not installed (or not on PATH)") from exc
    except NotADirectoryError as exc:
        raise GitError(f"{cwd} is not a directory") from exc
    if check and result.returncode != 0:
        message = result.stderr.decode("utf-8", "replace").strip() or f"git {args[0]} failed"
        raise GitError(message)
    return result


def _git_until(
    cwd: Path, deadline: float, *args: str, check: bool = False
) -> subprocess.CompletedProcess[bytes]:
    """Run git as ``_git`` does, stopped at ``deadline`` (``time.monotonic()``) with GitTimeout."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise GitTimeout(f"git {args[0]} was given no time")
    return _git(cwd, *args, check=check, timeout=remaining)


def _text(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stdout.decode("utf-8", "replace")


def find_root(start: Path) -> Path:
    """Return the top directory of the working tree that contains ``start``."""
    result = _git(start, "rev-parse", "--show-toplevel", check=False)
    if result.returncode != 0:
        raise NotARepository(f"{start} is not inside a git repository")
    return Path(_text(result).strip())


def has_commits(root: Path) -> bool:
    """Tell whether HEAD points at a commit (false in a fresh repository)."""
    return _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).returncode == 0


def head_commit(root: Path) -> str:
    """Return the full id of the commit HEAD points at."""
    if not has_commits(root):
        raise GitError("the repository has no commits yet")
    return _text(_git(root, "rev-parse", "--verify", "HEAD^{commit}")).strip()


def root_commits(root: Path) -> list[str]:
    """Return the ids of the commits without parents reachable from HEAD (none before a first commit)."""
    if not has_commits(root):
        return []
    return _text(_git(root, "rev-list", "--max-parents=0", "HEAD")).split()


def remote_urls(root: Path) -> list[str]:
    """Return the distinct fetch and push URLs of every remote, as configured (not normalised)."""
    urls: list[str] = []
    for line in _text(_git(root, "remote", "-v")).splitlines():
        # Each line is "<name>\t<url> (fetch)" or "... (push)".
        parts = line.split("\t", 1)
        if len(parts) != 2:
            continue
        url = parts[1].rsplit(" (", 1)[0].strip()
        if url and url not in urls:
            urls.append(url)
    return urls


def hunks_from_head(root: Path, path: str) -> list[Hunk]:
    """Return the hunks that turn ``path`` at HEAD into the file on disk (``git diff -U0 HEAD``)."""
    diff = _git(root, "diff", "--no-color", "--no-ext-diff", "--no-textconv", "-U0", "HEAD", "--", path)
    return parse_hunks(_text(diff))


def ignored_by(root: Path, path: str) -> str | None:
    """Return the rule that makes git ignore ``path`` (``.gitignore:3:*.log``), or None if it is not ignored.

    A tracked file is never ignored, whatever the patterns say.
    """
    result = _git(
        root,
        "check-ignore",
        "--verbose",
        "-z",
        "--stdin",
        check=False,
        stdin=path.encode("utf-8", "surrogateescape") + b"\0",
        literal=False,
    )
    # Exit 1: not ignored; 128: an error (a path outside the repository, say), which is not "ignored".
    if result.returncode != 0:
        return None
    source, line, pattern, *_ = [*_text(result).split("\0"), "", "", ""]
    return f"{source}:{line}:{pattern}" if source else "an ignore rule"


def is_shallow(root: Path) -> bool:
    """Tell whether the repository is a shallow clone (its oldest commits are cut off)."""
    return _text(_git(root, "rev-parse", "--is-shallow-repository")).strip() == "true"


def read_link(root: Path) -> RepoLink | None:
    """Return the Kibitz link stored in the repository's local git config, if any."""
    team_id = _config_get(root, _TEAM_KEY)
    repo_id = _config_get(root, _REPO_KEY)
    if not team_id or not repo_id:
        return None
    return RepoLink(team_id=team_id, repo_id=repo_id)


def write_link(root: Path, link: RepoLink) -> None:
    """Store the Kibitz link in the repository's local git config."""
    _git(root, "config", "--local", _TEAM_KEY, link.team_id)
    _git(root, "config", "--local", _REPO_KEY, link.repo_id)


def _config_get(root: Path, key: str) -> str | None:
    result = _git(root, "config", "--local", "--get", key, check=False)
    # Exit code 1 means "no such key"; anything else is a real failure worth reporting.
    if result.returncode == 1:
        return None
    if result.returncode != 0:
        raise GitError(result.stderr.decode("utf-8", "replace").strip())
    return _text(result).strip() or None


# Where a clone keeps the remote's default branch: origin/HEAD when the clone recorded it, else the
# two usual names.
_DEFAULT_BRANCH_REFS = ("refs/remotes/origin/HEAD", "refs/remotes/origin/main", "refs/remotes/origin/master")


def default_branch_head(root: Path) -> str | None:
    """Return the commit at the head of the remote's default branch, or None if none is known."""
    for ref in _DEFAULT_BRANCH_REFS:
        result = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        if result.returncode == 0:
            return _text(result).strip()
    return None


def resolve_commit(root: Path, revision: str) -> str:
    """Return the full id of the commit a revision (``HEAD~2``, a branch, a tag, a short id) names."""
    if revision.startswith("-"):
        raise GitError(f"{revision!r} is not a revision")
    result = _git(
        root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}", check=False
    )
    if result.returncode != 0:
        raise GitError(f"{revision!r} names no commit in {root}")
    return _text(result).strip()
