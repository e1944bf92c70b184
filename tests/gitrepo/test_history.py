"""The first-parent walk over some files, read as it comes and stopped in time, and commits' authors."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from kibitz.gitrepo import (
    ChainCommit,
    FileChange,
    GitTimeout,
    HistoryParser,
    ObjectReader,
    Walk,
    commit_changes,
    first_parent_walk,
    is_ancestor,
    parse_commit,
)
from tests.git_helpers import commit_all, git, make_repo, numbered_lines


def later() -> float:
    """Return a deadline no walk here reaches (taken when the test runs, not when it is collected)."""
    return time.monotonic() + 600


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"app.py": numbered_lines(20), "other.py": "x = 0\n"})


def _head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def _history(repo: Path) -> dict[str, str]:
    """Make a small history on main with a merged branch; return its commits by name."""
    names = {"first": _head(repo)}
    (repo / "other.py").write_text("x = 1\n", encoding="utf-8")
    names["other"] = commit_all(repo, "other")
    git(repo, "switch", "--quiet", "-c", "side")
    (repo / "app.py").write_text(numbered_lines(20).replace("line 5\n", "line five\n"), encoding="utf-8")
    names["side"] = commit_all(repo, "side edit")
    git(repo, "switch", "--quiet", "main")
    (repo / "other.py").write_text("x = 2\n", encoding="utf-8")
    names["main"] = commit_all(repo, "main edit")
    git(repo, "merge", "--quiet", "--no-edit", "side")
    names["merge"] = _head(repo)
    git(repo, "mv", "app.py", "core.py")
    names["rename"] = commit_all(repo, "rename")
    return names


def by_id(walk: Walk) -> dict[str, ChainCommit]:
    return {commit.commit: commit for commit in walk.commits}


def test_commit_info_names_the_author_date_and_subject() -> None:
    raw = (
        b"tree " + b"a" * 40 + b"\nparent " + b"b" * 40 + b"\nparent " + b"c" * 40 + b"\n"
        b"author Ada Lovelace <ada@example.com> 1700000000 +0130\n"
        b"committer Bo <bo@example.com> 1700000900 -0700\n"
        b"gpgsig -----BEGIN PGP SIGNATURE-----\n \n -----END PGP SIGNATURE-----\n"
        b"\nSplit the parser\ninto two modules\n\nThe body.\n"
    )
    info = parse_commit("d" * 40, raw)
    assert info is not None
    assert (info.author, info.email, info.subject) == (
        "Ada Lovelace",
        "ada@example.com",
        "Split the parser into two modules",
    )
    assert info.date == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    assert info.date.utcoffset() == dt.timedelta(hours=1, minutes=30)
    assert info.committed == 1700000900
    assert info.parents == ("b" * 40, "c" * 40)
    assert info.is_merge
    assert parse_commit("d" * 40, b"tree " + b"a" * 40 + b"\n\nno author\n") is None


def test_the_reader_reads_a_commit_and_not_a_missing_one(repo: Path) -> None:
    head = _head(repo)
    with ObjectReader(repo) as reader:
        info = reader.commit_info(head)
        assert info is not None
        assert (info.commit, info.author, info.subject, info.parents) == (
            head,
            "Test Author",
            "first commit",
            (),
        )
        assert reader.commit_info("0" * 40) is None
        # A file is not a commit.
        assert reader.commit_info(f"{head}:app.py") is None


def test_the_walk_lists_the_first_parent_line_with_changes_to_the_files(repo: Path) -> None:
    names = _history(repo)
    walk = first_parent_walk(
        repo, names["rename"], ["app.py", "core.py"], stop_at={names["first"]}, deadline=later()
    )
    assert walk.complete
    assert not walk.timed_out
    assert walk.seen == {names["first"]}
    walked = by_id(walk)
    # The branch's own commit is not on the line: its change arrives with the merge, against main. The
    # commits that changed neither file are left out, but for those asked about.
    assert [commit.commit for commit in walk.commits] == [
        names[name] for name in ("rename", "merge", "first")
    ]
    assert walked[names["rename"]].changes == (FileChange("renamed", "app.py", "core.py"),)
    assert walked[names["merge"]].changes == (FileChange("modified", "app.py", "app.py"),)
    assert walked[names["merge"]].parents == (names["main"], names["side"])
    assert walked[names["first"]].parents == ()


def test_the_walk_stops_where_it_is_told(repo: Path) -> None:
    names = _history(repo)
    walk = first_parent_walk(repo, names["rename"], ["app.py"], stop_at={names["main"]}, deadline=later())
    assert [commit.commit for commit in walk.commits][-1] == names["main"]
    assert walk.complete
    assert by_id(walk)[names["main"]].changes == ()
    since = first_parent_walk(repo, names["rename"], ["app.py"], since=names["side"], deadline=later())
    # What of the line the side commit does not contain (main's own commit changed nothing asked about).
    assert [commit.commit for commit in since.commits] == [names["rename"], names["merge"]]
    # The first commit is always kept: it is where the walk started.
    quiet = first_parent_walk(repo, names["main"], ["app.py"], stop_at={names["first"]}, deadline=later())
    assert [commit.commit for commit in quiet.commits] == [names["main"], names["first"]]
    main = first_parent_walk(repo, names["merge"], ["app.py"], not_before=10**10, deadline=later())
    assert [commit.commit for commit in main.commits] == [names["merge"]]


def test_a_walk_out_of_time_says_so(repo: Path) -> None:
    names = _history(repo)
    walk = first_parent_walk(
        repo, names["rename"], ["app.py"], stop_at={names["first"]}, deadline=time.monotonic()
    )
    assert walk.timed_out
    assert not walk.complete
    assert walk.commits == ()
    with pytest.raises(GitTimeout):
        is_ancestor(repo, names["first"], names["rename"], deadline=time.monotonic() - 1)


def test_ancestors_and_a_commits_own_changes(repo: Path) -> None:
    names = _history(repo)
    assert is_ancestor(repo, names["side"], names["rename"], deadline=later())
    assert not is_ancestor(repo, names["main"], names["side"], deadline=later())
    nothing = ["nothing.py"]
    walk = first_parent_walk(repo, names["rename"], nothing, stop_at={names["first"]}, deadline=later())
    rename, first = walk.commits[0], walk.commits[-1]
    assert commit_changes(repo, rename, deadline=later()) == [FileChange("renamed", "app.py", "core.py")]
    assert sorted(commit_changes(repo, first, deadline=later()), key=repr) == [
        FileChange("added", None, "app.py"),
        FileChange("added", None, "other.py"),
    ]


def test_the_parser_reads_output_in_any_pieces(repo: Path) -> None:
    names = _history(repo)
    raw = git(
        repo,
        "log",
        "--first-parent",
        "--sparse",
        "-m",
        "-M",
        "--name-status",
        "-z",
        "--format=%x00%H %P %ct",
        names["rename"],
        "--",
        "app.py",
        "core.py",
    ).encode()
    whole = HistoryParser()
    expected = whole.feed(raw) + whole.finish()
    assert len(expected) == 3
    for size in (1, 7, 41):
        parser = HistoryParser()
        parsed = []
        for start in range(0, len(raw), size):
            parsed.extend(parser.feed(raw[start : start + size]))
        assert parsed + parser.finish() == expected
