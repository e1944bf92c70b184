"""Kibitz: self-hosted code discussions that stay attached to the code."""

__version__ = "0.1.0"
