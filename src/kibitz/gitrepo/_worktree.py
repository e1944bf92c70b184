"""The working tree as a target: files on disk, overridden by unsaved editor buffers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class WorkingTree:
    """The texts of a repository's working tree, with unsaved ``buffers`` (repo path → text) on top."""

    def __init__(self, root: Path, buffers: Mapping[str, str] | None = None) -> None:
        self.root = root
        self.buffers: Mapping[str, str] = dict(buffers or {})
        self._resolved_root = root.resolve()

    def read_text(self, path: str) -> str | None:
        """Return the text of the file at ``path`` as the user sees it, or None if there is none."""
        if path in self.buffers:
            return self.buffers[path]
        file = self.root / path
        try:
            # Paths come from the server: a symlink in the repository must not lead reading elsewhere.
            file.resolve().relative_to(self._resolved_root)
            data = file.read_bytes()
        except (OSError, ValueError):
            return None
        return data.decode("utf-8", "replace")
