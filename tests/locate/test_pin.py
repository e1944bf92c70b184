"""New markers from working-tree selections: at HEAD when committed, provisional when not, upstream kept."""

from __future__ import annotations

from pathlib import Path

from kibitz.gitrepo import LineRange, ObjectReader, hunks_from_head
from kibitz.locate import hunks_between, pin, pin_buffer
from tests.code_samples import APP, RETRY
from tests.git_helpers import git, make_repo
from tests.locate.conftest import commit


def _pin(reader: ObjectReader, path: str, start: int, end: int) -> dict[str, object]:
    text = (reader.root / path).read_text(encoding="utf-8")
    return dict(pin(reader, "r1", path, LineRange(start, end), text))


def test_committed_lines_are_recorded_at_head(repo: Path, reader: ObjectReader) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    marker = _pin(reader, "app.py", 8, 14)
    assert marker == {
        "repo_id": "r1",
        "path": "app.py",
        "commit": head,
        "start_line": 8,
        "end_line": 14,
        "code": RETRY,
        "context_before": "    return value + 1\n\n\n",
        "context_after": "\n\ndef main(argv):\n",
    }


def test_uncommitted_changes_elsewhere_only_shift_the_lines(repo: Path, reader: ObjectReader) -> None:
    (repo / "app.py").write_text(
        "# new\n# lines\n" + APP.replace("import os", "import sys"), encoding="utf-8"
    )
    marker = _pin(reader, "app.py", 10, 16)
    assert (marker["start_line"], marker["end_line"], marker["code"]) == (8, 14, RETRY)
    assert "provisional" not in marker


def test_uncommitted_lines_make_a_provisional_marker(repo: Path, reader: ObjectReader) -> None:
    edited = APP.replace("attempts=3", "attempts=5")
    (repo / "app.py").write_text(edited, encoding="utf-8")
    marker = _pin(reader, "app.py", 8, 9)
    assert marker["provisional"] is True
    assert marker["commit"] == git(repo, "rev-parse", "HEAD").strip()
    # HEAD's lines that the edit replaced, with the code as it is on disk.
    assert (marker["start_line"], marker["end_line"]) == (8, 9)
    assert marker["code"] == "def retry(call, attempts=5):\n    for attempt in range(attempts):\n"
    assert marker["context_before"] == "    return value + 1\n\n\n"


def test_an_untracked_file_makes_a_provisional_marker(repo: Path, reader: ObjectReader) -> None:
    (repo / "draft.py").write_text("a = 1\nb = 2\nc = 3\n", encoding="utf-8")
    marker = _pin(reader, "draft.py", 2, 3)
    assert (marker["path"], marker["start_line"], marker["end_line"]) == ("draft.py", 2, 3)
    assert (marker["code"], marker["context_before"], marker["provisional"]) == (
        "b = 2\nc = 3\n",
        "a = 1\n",
        True,
    )


def test_the_default_branch_head_becomes_an_upstream_reference(tmp_path: Path) -> None:
    upstream = make_repo(tmp_path / "upstream", {"app.py": APP})
    base = git(upstream, "rev-parse", "HEAD").strip()
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(upstream), str(clone))
    with ObjectReader(clone) as reader:
        # At the default branch head itself, there is nothing to add.
        assert "references" not in _pin(reader, "app.py", 8, 14)
        (clone / "app.py").write_text("# local header\n" + APP, encoding="utf-8")
        commit(clone, "local work, not pushed")
        marker = _pin(reader, "app.py", 9, 15)
        assert marker["start_line"] == 9
        assert marker["references"] == [
            {"kind": "upstream", "commit": base, "path": "app.py", "start_line": 8, "end_line": 14}
        ]
        # A block that does not exist upstream gets no reference.
        (clone / "new.py").write_text(
            "def brand_new_function(argument):\n    return argument\n", encoding="utf-8"
        )
        commit(clone, "new file")
        assert "references" not in _pin(reader, "new.py", 1, 2)


def test_an_unsaved_buffer_is_pinned_by_its_own_text_not_the_file_on_disk(
    repo: Path, reader: ObjectReader
) -> None:
    buffer = "# new\n# lines\n" + APP.replace("attempts=3", "attempts=5")
    head = git(repo, "rev-parse", "HEAD").strip()
    # The file on disk is as committed: only the buffer says where the lines are now.
    shifted = dict(pin_buffer(reader, "r1", "app.py", LineRange(12, 16), buffer))
    assert (shifted["commit"], shifted["start_line"], shifted["end_line"]) == (head, 10, 14)
    assert "provisional" not in shifted
    edited = dict(pin_buffer(reader, "r1", "app.py", LineRange(10, 11), buffer))
    assert edited["provisional"] is True
    assert edited["code"] == "def retry(call, attempts=5):\n    for attempt in range(attempts):\n"


def test_hunks_between_texts_number_lines_as_git_does(repo: Path) -> None:
    edited = "# top\n" + APP.replace("import os", "import sys").replace("attempts=3", "attempts=5")
    edited = edited.replace("    return value + 1\n", "")
    (repo / "app.py").write_text(edited, encoding="utf-8")
    assert hunks_between(APP, edited) == hunks_from_head(repo, "app.py")
