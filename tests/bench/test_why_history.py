"""The why benchmark's generated histories hold what their truth says: each block as recorded, then changed,
moved or deleted by the commit named."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from kibitz.gitrepo import first_parent_walk
from tests.git_helpers import GIT_ENV
from whybench.history import Shape, build


@pytest.fixture(autouse=True)
def _isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)


def _show(root: Path, commit: str, path: str) -> str | None:
    result = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=root, capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def _holder(root: Path, commit: str, code: str) -> str | None:
    """Return the file holding ``code`` (its first line) at ``commit``, if one does."""
    first = code.splitlines()[0]
    found = subprocess.run(
        ["git", "grep", "-l", "-F", first, commit], cwd=root, capture_output=True, text=True
    ).stdout.split()
    return found[0].split(":", 1)[1] if found else None


@pytest.mark.parametrize("merges", [False, True])
def test_the_truth_is_what_the_history_holds(tmp_path: Path, merges: bool) -> None:
    shape = Shape(
        "small", seed=7, commits=300, before=5, other_files=10, target_files=6, markers=12, merges=merges
    )
    generated = build(shape, tmp_path / "repo")
    assert len(generated.markers) == 12
    line = subprocess.run(
        ["git", "rev-list", "--first-parent", "--count", f"{generated.start}..{generated.target}"],
        cwd=tmp_path / "repo",
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(line.stdout) == 300
    root = tmp_path / "repo"
    for marker in generated.markers:
        text = _show(root, marker.commit, marker.path)
        assert text is not None
        recorded = "".join(line + "\n" for line in text.splitlines()[marker.start_line - 1 : marker.end_line])
        assert recorded == marker.code
        truth = generated.truth[marker.marker_id]
        before = f"{truth.commit}^1"
        assert _holder(root, before, marker.code) is not None
        after = _holder(root, truth.commit, marker.code)
        if truth.kind == "deleted":
            assert after is None
        elif truth.kind == "moved":
            assert after not in (None, _holder(root, before, marker.code))
        else:
            holder = _holder(root, before, marker.code)
            assert holder is not None
            assert marker.code.splitlines()[2] not in (_show(root, truth.commit, holder) or "")
        assert (truth.branch_commit is not None) == merges


def test_a_long_walk_is_stopped_at_its_deadline(tmp_path: Path) -> None:
    # Long enough that git cannot walk it in the few milliseconds given: the walk is cut, and says so.
    shape = Shape("long", seed=3, commits=3000, before=0, other_files=5, target_files=2, markers=2, renames=0)
    generated = build(shape, tmp_path / "repo")
    started = time.monotonic()
    walk = first_parent_walk(
        tmp_path / "repo",
        generated.target,
        ["src/part_0.py"],
        stop_at={generated.start},
        deadline=started + 0.003,
    )
    assert walk.timed_out
    assert not walk.complete
    assert generated.start not in walk.seen
    assert time.monotonic() - started < 2.0
    whole = first_parent_walk(
        tmp_path / "repo",
        generated.target,
        ["src/part_0.py"],
        stop_at={generated.start},
        deadline=started + 60,
    )
    assert whole.complete
    assert whole.seen == {generated.start}
