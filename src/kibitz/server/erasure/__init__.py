"""Erasure of a person or a team: destroyed keys, hard-deleted rows, and a ledger of what was erased."""
