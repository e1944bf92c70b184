"""The editor benchmark's workload: files cut to size, blocks on code, and edits that only move blocks."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from editorbench.workload import Buffer, cut_files, next_edit, pick_blocks, source_files


def _write(root: Path, name: str, lines: int, prefix: str) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(f"{prefix}_{n} = {n}\n" if n % 7 else "\n" for n in range(lines)), encoding="utf-8"
    )
    return path


def test_files_are_cut_to_size_from_the_sources_leaving_tests_out(tmp_path: Path) -> None:
    _write(tmp_path, "big.py", 250, "big")
    _write(tmp_path, "pkg/small.py", 120, "small")
    _write(tmp_path, "test/test_big.py", 5000, "test")
    sources = source_files(tmp_path)
    assert [path.name for path in sources] == ["big.py", "small.py"]
    texts = cut_files(sources, 3, lines=100)
    assert [len(text.splitlines()) for text in texts] == [100, 100, 100]
    assert texts[2].startswith("big_200")
    assert texts[2].endswith("small_48 = 48\n\n")
    with pytest.raises(ValueError, match="fewer than 4 × 100 lines"):
        cut_files(sources, 4, lines=100)


def test_edits_between_blocks_move_blocks_and_never_change_them() -> None:
    text = "".join(f"line {n}\n" if n % 5 else "\n" for n in range(1, 601))
    rng = random.Random(3)
    blocks = pick_blocks(text, 40, rng)
    original = text.splitlines(keepends=True)
    assert len(blocks) == 40
    assert all(1 <= last - first + 1 <= 20 and original[first - 1].strip() for first, last in blocks)

    buffer = Buffer.of(text)
    deleted = 0
    for _ in range(150):
        before = [buffer.where(block) for block in blocks]
        edit = next_edit(buffer, blocks, rng)
        buffer.apply(edit)
        deleted += edit.insert is None
        after = [buffer.where(block) for block in blocks]
        assert before != after, edit
        for (first, last), (now_first, now_last) in zip(blocks, after, strict=True):
            assert buffer.lines[now_first - 1 : now_last] == original[first - 1 : last]
    assert 0 < deleted < 150
    assert buffer.text.count("checked by hand") == 150 - 2 * deleted
