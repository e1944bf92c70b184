"""A block this clone cannot see is `unavailable`, with the reason, never `deleted` — in real repositories."""

from __future__ import annotations

import os
from pathlib import Path

from kibitz.gitrepo import ObjectReader, ignored_by, is_shallow
from kibitz.locate import AtCommit, InWorkingTree, locate
from tests.code_samples import APP, RETRY, RETRY_LINES
from tests.git_helpers import git, make_repo
from tests.locate.conftest import commit, pinned


def test_in_a_shallow_clone_a_block_recorded_before_its_cut_is_unavailable(tmp_path: Path) -> None:
    upstream = make_repo(tmp_path / "upstream", {"app.py": APP})
    with ObjectReader(upstream) as reader:
        old = pinned(reader, "app.py", RETRY_LINES)
    # The block is dropped in the next commit: only a clone with the first commit can tell.
    (upstream / "app.py").write_text(APP.replace(RETRY, ""), encoding="utf-8")
    head = commit(upstream, "drop retry")
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{upstream}", str(shallow))
    assert is_shallow(shallow)
    assert not is_shallow(upstream)
    with ObjectReader(shallow) as reader:
        found = locate(reader, [old], AtCommit(head))["m1"]
    assert (found.status, found.reason, found.path) == ("unavailable", "commit_missing", None)
    with ObjectReader(upstream) as reader:
        # Where the first commit is known, the same block is deleted: that is a fact about `head`.
        assert locate(reader, [old], AtCommit(head))["m1"].status == "deleted"


def test_a_block_whose_file_became_a_symlink_is_unavailable(repo: Path, reader: ObjectReader) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    (repo / "app.py").unlink()
    os.symlink("other.py", repo / "app.py")
    head = commit(repo, "link")
    assert reader.is_symlink(head, "app.py")
    assert not reader.is_symlink(head, "other.py")
    found = locate(reader, [marker], AtCommit(head))["m1"]
    assert (found.status, found.reason) == ("unavailable", "symlink")


def test_a_block_whose_file_is_a_symlink_on_disk_only_is_unavailable(
    repo: Path, reader: ObjectReader
) -> None:
    marker = pinned(reader, "app.py", RETRY_LINES)
    (repo / "app.py").unlink()
    os.symlink("other.py", repo / "app.py")
    found = locate(reader, [marker], InWorkingTree())["m1"]
    assert (found.status, found.reason) == ("unavailable", "symlink")
    # Once it is a file again, with the block gone, the block is deleted: that is a fact about the file.
    (repo / "app.py").unlink()
    (repo / "app.py").write_text(APP.replace(RETRY, ""), encoding="utf-8")
    assert locate(reader, [marker], InWorkingTree())["m1"].status == "deleted"


def test_ignored_files_are_told_apart_from_tracked_ones(repo: Path) -> None:
    (repo / ".gitignore").write_text("*.log\nbuild/\n", encoding="utf-8")
    (repo / "debug.log").write_text("x\n", encoding="utf-8")
    assert ignored_by(repo, "debug.log") == ".gitignore:1:*.log"
    assert ignored_by(repo, "build/out.py") == ".gitignore:2:build/"
    assert ignored_by(repo, "app.py") is None
    assert ignored_by(repo, "new.py") is None
    # A tracked file is not ignored, whatever the patterns say.
    (repo / "kept.log").write_text("x\n", encoding="utf-8")
    git(repo, "add", "--force", "kept.log")
    assert ignored_by(repo, "kept.log") is None
