"""Helpers of the relocation benchmark's ground-truth tests: inline sources and the cases between two."""

from __future__ import annotations

import textwrap

from relocbench.truth import Case, Module, PackageIndex, file_cases


def src(text: str) -> str:
    """Return an inline source without its common indentation or leading blank line."""
    return textwrap.dedent(text).lstrip("\n")


def cases_of(old_module: Module, new_module: Module, path: str) -> list[Case]:
    """Return the ground truth's cases of one file from its old to its new version (a package of one file)."""
    return file_cases(
        old_module,
        new_module,
        path,
        PackageIndex.build({path: old_module}),
        PackageIndex.build({path: new_module}),
        {path: new_module},
        frozenset({path}),
    )


def by_label(cases: list[Case], kind: str) -> dict[str, Case]:
    """Return the cases of one kind by their label."""
    return {case.label: case for case in cases if case.kind == kind}
