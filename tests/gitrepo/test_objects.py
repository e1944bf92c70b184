"""Blob texts, blob ids and commit existence through the long-lived `git cat-file` processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kibitz.gitrepo import ObjectReader, default_branch_head
from tests.git_helpers import git, make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"src/app.py": "print('hi')\n", "odd name.txt": "spaced\n"})


@pytest.fixture
def reader(repo: Path) -> Iterator[ObjectReader]:
    with ObjectReader(repo) as opened:
        yield opened


def test_reads_texts_and_tells_missing_files(repo: Path, reader: ObjectReader) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    assert reader.read_text(head, "src/app.py") == "print('hi')\n"
    assert reader.read_text(head, "odd name.txt") == "spaced\n"
    assert reader.read_text(head, "missing.py") is None
    # A directory is no file.
    assert reader.read_text(head, "src") is None
    assert reader.blob_id(head, "src") is None


def test_blob_ids_are_gits_and_follow_content(repo: Path, reader: ObjectReader) -> None:
    first = git(repo, "rev-parse", "HEAD").strip()
    (repo / "README").write_text("readme\n", encoding="utf-8")
    git(repo, "add", "README")
    git(repo, "commit", "--quiet", "-m", "readme")
    second = git(repo, "rev-parse", "HEAD").strip()
    assert reader.blob_id(first, "src/app.py") == git(repo, "rev-parse", f"{first}:src/app.py").strip()
    # Same content at two commits: same blob, which is the fast path's whole point.
    assert reader.blob_id(first, "src/app.py") == reader.blob_id(second, "src/app.py")
    assert reader.blob_id(first, "README") is None
    assert reader.blob_id(second, "README") is not None


def test_commit_existence(repo: Path, reader: ObjectReader) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    assert reader.has_commit(head)
    assert not reader.has_commit("0" * 40)
    assert not reader.has_commit("not a commit")
    # A blob id is an object but no commit.
    assert not reader.has_commit(reader.blob_id(head, "src/app.py") or "")


def test_many_reads_through_one_process_and_a_restart_after_close(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    reader = ObjectReader(repo)
    for _ in range(200):
        assert reader.read_text(head, "src/app.py") == "print('hi')\n"
    reader.close()
    # The processes start again on demand.
    assert reader.read_text(head, "odd name.txt") == "spaced\n"
    reader.close()


def test_a_path_with_a_newline_is_read_without_the_batch_protocol(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"line\nbreak.txt": "odd\n"})
    head = git(repo, "rev-parse", "HEAD").strip()
    with ObjectReader(repo) as reader:
        assert reader.read_text(head, "line\nbreak.txt") == "odd\n"
        assert reader.blob_id(head, "line\nbreak.txt") is not None
        assert reader.read_text(head, "no\nsuch") is None


def test_undecodable_bytes_are_replaced(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "x\n"})
    (repo / "latin.txt").write_bytes(b"caf\xe9\n")
    git(repo, "add", "latin.txt")
    git(repo, "commit", "--quiet", "-m", "latin-1")
    with ObjectReader(repo) as reader:
        assert reader.read_text("HEAD", "latin.txt") == "caf\ufffd\n"


def test_default_branch_head(tmp_path: Path) -> None:
    upstream = make_repo(tmp_path / "upstream", {"a.txt": "x\n"})
    upstream_head = git(upstream, "rev-parse", "HEAD").strip()
    assert default_branch_head(upstream) is None
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(upstream), str(clone))
    # A fresh clone records origin/HEAD.
    assert default_branch_head(clone) == upstream_head
    git(clone, "remote", "set-head", "origin", "--delete")
    assert default_branch_head(clone) == upstream_head  # origin/main is the fallback
    (clone / "a.txt").write_text("y\n", encoding="utf-8")
    git(clone, "commit", "--quiet", "-am", "local")
    assert default_branch_head(clone) == upstream_head


def test_texts_by_commit_id_are_kept_and_by_name_are_read_again(repo: Path, reader: ObjectReader) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    first = reader.read_text(head, "src/app.py")
    assert first == "print('hi')\n"
    assert reader.read_text(head, "src/app.py") is first
    (repo / "src" / "app.py").write_text("print('bye')\n", encoding="utf-8")
    git(repo, "commit", "--quiet", "-am", "bye")
    # A name such as HEAD moves with the repository: it is never answered from what was kept.
    assert reader.read_text("HEAD", "src/app.py") == "print('bye')\n"
    assert reader.read_text(head, "src/app.py") == "print('hi')\n"


def test_a_commit_not_here_yet_is_read_once_fetched(repo: Path, reader: ObjectReader, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "--quiet", str(repo), str(other))
    (other / "src" / "app.py").write_text("print('elsewhere')\n", encoding="utf-8")
    git(other, "commit", "--quiet", "-am", "elsewhere")
    commit = git(other, "rev-parse", "HEAD").strip()
    assert reader.read_text(commit, "src/app.py") is None
    git(repo, "fetch", "--quiet", str(other), "HEAD")
    assert reader.read_text(commit, "src/app.py") == "print('elsewhere')\n"
