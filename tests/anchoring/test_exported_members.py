"""The public surface of kibitz.anchoring is exactly the intended names."""

from __future__ import annotations

import kibitz.anchoring

INTENDED = {
    "ALGORITHM_VERSION",
    "STATUSES",
    "Anchor",
    "Context",
    "Location",
    "Range",
    "Status",
    "relocate",
    "relocate_many",
}


def test_all_is_exactly_the_intended_names() -> None:
    assert set(kibitz.anchoring.__all__) == INTENDED


def test_every_exported_name_exists() -> None:
    for name in kibitz.anchoring.__all__:
        assert hasattr(kibitz.anchoring, name), name


def test_no_other_public_names_leak_from_the_package() -> None:
    public = {
        name
        for name, value in vars(kibitz.anchoring).items()
        if not name.startswith("_") and not isinstance(value, type(kibitz.anchoring))
    }
    assert public == INTENDED


def test_statuses_are_the_documented_six() -> None:
    assert kibitz.anchoring.STATUSES == ("unchanged", "shifted", "changed", "moved", "deleted", "too_large")
