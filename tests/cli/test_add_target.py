"""Parsing `kibitz add`'s PATH:START[-END] argument."""

from __future__ import annotations

import click
import pytest

from kibitz.cli.codemarks import parse_target
from kibitz.gitrepo import LineRange


@pytest.mark.parametrize(
    ("target", "path", "lines"),
    [
        ("src/app.py:3-5", "src/app.py", LineRange(3, 5)),
        ("src/app.py:7", "src/app.py", LineRange(7, 7)),
        ("odd:name.py:2-2", "odd:name.py", LineRange(2, 2)),
    ],
)
def test_valid_targets(target: str, path: str, lines: LineRange) -> None:
    assert parse_target(target) == (path, lines)


@pytest.mark.parametrize(
    "target", ["app.py", "app.py:", ":3", "app.py:0", "app.py:5-3", "app.py:a-b", "app.py:3-", "app.py:-3"]
)
def test_invalid_targets_are_usage_errors(target: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_target(target)
