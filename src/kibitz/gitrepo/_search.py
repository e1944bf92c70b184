"""Find files by a line of their content with ``git grep``, at a commit or in the working tree.

When no commit a codemark refers to is in the local repository (a rebased-away branch, a shallow
clone), its code is all there is: the files that contain its most distinctive line are where to
look for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kibitz.gitrepo._repo import GitError, _git


def files_containing(root: Path, needles: Iterable[str], commit: str | None = None) -> dict[str, set[str]]:
    """Return, for each needle (a fixed string on one line), the paths of text files containing it.

    At ``commit`` when given, else in the working tree (tracked and untracked, not ignored, files).
    """
    wanted = sorted({needle for needle in needles if needle and "\n" not in needle and "\0" not in needle})
    found: dict[str, set[str]] = {needle: set() for needle in wanted}
    if not wanted:
        return found
    # -o prints each match, which for a fixed string is the needle itself: one run answers for all
    # needles. Patterns come on stdin, so their number is not limited by the command line.
    args = ["grep", "--null", "--only-matching", "--fixed-strings", "-I", "--no-color", "-f", "-"]
    args += [commit] if commit else ["--untracked"]
    overrides = ["-c", "grep.lineNumber=false", "-c", "grep.column=false", "-c", "grep.fullName=false"]
    result = _git(root, *overrides, *args, check=False, stdin="\n".join(wanted).encode("utf-8") + b"\n")
    # Exit 1 means "no match"; anything above is an error.
    if result.returncode > 1:
        raise GitError(result.stderr.decode("utf-8", "replace").strip() or "git grep failed")
    # Where needles overlap, -o prints only the longest match at a place; the shorter needle is in
    # that file too.
    inside = {needle: [other for other in wanted if other in needle] for needle in wanted}
    prefix = f"{commit}:" if commit else ""
    for line in result.stdout.decode("utf-8", "surrogateescape").split("\n"):
        name, separator, match = line.partition("\0")
        for needle in inside.get(match, ()) if separator else ():
            found[needle].add(name.removeprefix(prefix))
    return found
