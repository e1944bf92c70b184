"""Encryption at rest: sealing values, blind indexes, the key-encryption key and the keystore."""

from kibitz.server.crypto.blind_index import blind_index, index_matches, normalise_email, normalise_exact
from kibitz.server.crypto.envelope import key_id_of, open_sealed, open_sealed_bytes, seal
from kibitz.server.crypto.kek import KeyEncryptionKey, LocalKek, kek_from_settings
from kibitz.server.crypto.keystore import Keystore, KeystoreInfo, OwnerKind

__all__ = [
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
]
