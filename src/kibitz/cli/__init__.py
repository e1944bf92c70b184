"""The ``kibitz`` command line (entry point: ``kibitz.cli.main:main``)."""
