"""The why-it-moved benchmark's generated histories (see bench/why.py)."""
