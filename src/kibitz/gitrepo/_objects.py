"""Read many git objects through two long-lived ``git cat-file`` processes.

Locating codemarks reads a blob or asks for a blob id per file and per commit, often hundreds of
times in one command. Starting ``git`` costs about 1.8 ms each time; asking a running
``git cat-file --batch`` costs about 0.15 ms (docs/architecture.md has the measurement). The
processes start on first use and stop on ``close()``.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
from collections import OrderedDict
from pathlib import Path
from types import TracebackType
from typing import IO

from kibitz.gitrepo._history import CommitInfo, parse_commit
from kibitz.gitrepo._repo import GitError, _git, git_command, git_environment

# git's mode of a symbolic link; a link's target is at most this long on the systems git runs on.
SYMLINK_MODE = b"120000 "
MAX_LINK_CHARS = 4096
# Texts kept by commit id and path: an editor relocates against HEAD's text of a file at every keystroke.
KEPT_TEXTS = 16
# A full object id names one content for good; a branch name or ``HEAD`` may name another tomorrow.
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


class _BatchProcess:
    """One ``git cat-file --batch`` or ``--batch-check`` process, asked one object name at a time."""

    def __init__(self, root: Path, mode: str) -> None:
        self._root = root
        self._mode = mode
        self._process: subprocess.Popen[bytes] | None = None

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        if self._process is None:
            try:
                self._process = subprocess.Popen(
                    git_command("cat-file", self._mode),
                    cwd=self._root,
                    env=git_environment(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except FileNotFoundError as exc:
                raise GitError("git is not installed (or not on PATH)") from exc
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        return stdin, stdout

    def ask(self, name: str) -> tuple[str, str, bytes | None] | None:
        """Return ``(object id, type, content or None)`` for an object name, or None if there is none."""
        stdin, stdout = self._pipes()
        try:
            stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
            stdin.flush()
            header = stdout.readline()
        except (BrokenPipeError, OSError) as exc:
            self.close()
            raise GitError(f"git cat-file {self._mode} stopped: {exc}") from exc
        if not header:
            self.close()
            raise GitError(f"git cat-file {self._mode} stopped unexpectedly")
        # "<oid> <type> <size>" for an object; "<name> missing" or "<name> ambiguous" otherwise.
        parts = header.rstrip(b"\n").rsplit(b" ", 2)
        if len(parts) != 3 or not parts[2].isdigit():
            return None
        object_id, kind, size = parts[0].decode("ascii"), parts[1].decode("ascii"), int(parts[2])
        content = None
        if self._mode == "--batch":
            # The content is followed by one newline that is not part of it.
            content = stdout.read(size + 1)[:size]
        return object_id, kind, content

    def close(self) -> None:
        """Stop the process, if it runs."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            # Closing stdin ends the process; if it is gone already, wait() below reaps it.
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


class ObjectReader:
    """Blob texts, blob ids and commit existence for one repository, from long-lived git processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._contents = _BatchProcess(root, "--batch")
        self._checks = _BatchProcess(root, "--batch-check")
        # The language server may ask from several threads; each question is one write and one read.
        self._lock = threading.Lock()
        self._texts: OrderedDict[tuple[str, str], str] = OrderedDict()

    def close(self) -> None:
        """Stop the git processes."""
        with self._lock:
            self._contents.close()
            self._checks.close()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _check(self, name: str) -> tuple[str, str] | None:
        if "\n" in name:
            # The batch protocol is one name per line; such a name cannot be asked there.
            result = _git(self.root, "rev-parse", "--verify", "--quiet", name, check=False)
            if result.returncode != 0:
                return None
            object_id = result.stdout.decode("ascii").strip()
            kind = _git(self.root, "cat-file", "-t", object_id).stdout.decode("ascii").strip()
            return object_id, kind
        with self._lock:
            answer = self._checks.ask(name)
        return None if answer is None else (answer[0], answer[1])

    def has_commit(self, commit: str) -> bool:
        """Tell whether ``commit`` exists in the local repository."""
        return self._check(f"{commit}^{{commit}}") is not None

    def blob_id(self, commit: str, path: str) -> str | None:
        """Return the id of the blob at ``path`` in ``commit``, or None if there is no such file."""
        answer = self._check(f"{commit}:{path}")
        return answer[0] if answer is not None and answer[1] == "blob" else None

    def commit_info(self, commit: str) -> CommitInfo | None:
        """Return who made ``commit``, when and its subject; None if there is no such commit here."""
        if "\n" in commit:
            return None
        with self._lock:
            answer = self._contents.ask(f"{commit}^{{commit}}")
        if answer is None or answer[1] != "commit" or answer[2] is None:
            return None
        return parse_commit(answer[0], answer[2])

    def is_symlink(self, commit: str, path: str) -> bool:
        """Tell whether ``path`` at ``commit`` is a symbolic link (git keeps its target, not lines)."""
        text = self.read_text(commit, path)
        # A link's blob is its target: one short line without a newline. Only such a blob is worth
        # the cost of asking git for the file's mode.
        if text is None or "\n" in text or len(text) > MAX_LINK_CHARS:
            return False
        listed = _git(self.root, "ls-tree", "-z", "--end-of-options", commit, "--", path, check=False)
        return listed.returncode == 0 and listed.stdout.startswith(SYMLINK_MODE)

    def read_text(self, commit: str, path: str) -> str | None:
        """Return the text of ``path`` at ``commit`` (undecodable bytes replaced), or None if absent.

        The last few texts read by full commit id are kept: they cannot change.
        """
        key = (commit, path)
        kept = _OBJECT_ID.fullmatch(commit) is not None
        if kept:
            with self._lock:
                if key in self._texts:
                    self._texts.move_to_end(key)
                    return self._texts[key]
        text = self._read_text(commit, path)
        # Absent is not kept: the commit may be fetched later.
        if kept and text is not None:
            with self._lock:
                self._texts[key] = text
                while len(self._texts) > KEPT_TEXTS:
                    self._texts.popitem(last=False)
        return text

    def _read_text(self, commit: str, path: str) -> str | None:
        name = f"{commit}:{path}"
        if "\n" in name:
            result = _git(self.root, "cat-file", "blob", name, check=False)
            return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None
        with self._lock:
            answer = self._contents.ask(name)
        if answer is None or answer[1] != "blob" or answer[2] is None:
            return None
        return answer[2].decode("utf-8", "replace")
