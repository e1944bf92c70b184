"""Helpers of the relocation benchmark's ground-truth tests: inline sources and the cases between two."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from relocbench.truth import Case, Module, PackageIndex, file_cases


def src(text: str) -> str:
    """Return an inline source without its common indentation or leading blank line."""
    return textwrap.dedent(text).lstrip("\n")


def cases_of(
    old_module: Module,
    new_module: Module,
    path: str,
    *,
    new_others: Mapping[str, Module] | None = None,
    old_others: Mapping[str, Module] | None = None,
    changed: frozenset[str] | None = None,
) -> list[Case]:
    """Return the ground truth's cases of one file from its old to its new version.

    The package is that file alone, or with the other files of its new and old versions; `changed` (the new
    version's files added or changed) is every file of the new version unless given.
    """
    old_modules = {path: old_module, **(old_others or {})}
    new_modules = {path: new_module, **(new_others or {})}
    return file_cases(
        old_module,
        new_module,
        path,
        PackageIndex.build(old_modules),
        PackageIndex.build(new_modules),
        new_modules,
        frozenset(new_modules) if changed is None else changed,
    )


def by_label(cases: list[Case], kind: str) -> dict[str, Case]:
    """Return the cases of one kind by their label."""
    return {case.label: case for case in cases if case.kind == kind}
