"""The crypto package's public surface is exactly the intended names."""

from __future__ import annotations

import kibitz.server.crypto as crypto


def test_exported_names() -> None:
    assert set(crypto.__all__) == {
        "KeyEncryptionKey",
        "Keystore",
        "KeystoreInfo",
        "LocalKek",
        "OwnerKind",
        "blind_index",
        "index_matches",
        "kek_from_settings",
        "key_id_of",
        "normalise_email",
        "normalise_exact",
        "open_sealed",
        "open_sealed_bytes",
        "seal",
    }
    assert all(hasattr(crypto, name) for name in crypto.__all__)
