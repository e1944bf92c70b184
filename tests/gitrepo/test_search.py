"""Files found by a line of their content, at a commit and in the working tree."""

from __future__ import annotations

from pathlib import Path

from kibitz.gitrepo import files_containing
from tests.git_helpers import git, make_repo


def test_at_a_commit_each_needle_gets_its_files(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "a.py": "def alpha():\n    return compute_alpha(x)\n",
            "dir/b.py": "    return compute_alpha(x)\nbeta = 2\n",
            "c.py": "nothing here\n",
        },
    )
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / "c.py").write_text("beta = 2\n", encoding="utf-8")  # not committed: not seen at HEAD
    found = files_containing(repo, ["return compute_alpha(x)", "beta = 2", "absent line", ""], head)
    assert found == {
        "return compute_alpha(x)": {"a.py", "dir/b.py"},
        "beta = 2": {"dir/b.py"},
        "absent line": set(),
    }


def test_in_the_working_tree_untracked_files_count_and_ignored_ones_do_not(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n", ".gitignore": "*.log\n"})
    (repo / "draft.py").write_text("the needle\n", encoding="utf-8")
    (repo / "out.log").write_text("the needle\n", encoding="utf-8")
    (repo / "a.py").write_text("the needle, edited in\n", encoding="utf-8")
    assert files_containing(repo, ["the needle"]) == {"the needle": {"draft.py", "a.py"}}


def test_overlapping_needles_both_find_the_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "value = compute(value)\n"})
    found = files_containing(repo, ["compute(value)", "value = compute(value)"], "HEAD")
    assert found == {"compute(value)": {"a.py"}, "value = compute(value)": {"a.py"}}


def test_regex_characters_are_plain_text(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "if (a[0] + b.c) * 2:\n", "b.py": "if a0 + bxc * 2:\n"})
    assert files_containing(repo, ["(a[0] + b.c) * 2"], "HEAD") == {"(a[0] + b.c) * 2": {"a.py"}}
