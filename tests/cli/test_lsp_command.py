"""`kibitz lsp` is a command of the CLI, with help for the person who runs it by hand."""

from __future__ import annotations

import subprocess

from tests.server_process import KIBITZ, clean_environment


def test_kibitz_lsp_explains_itself() -> None:
    result = subprocess.run(
        [str(KIBITZ), "lsp", "--help"], capture_output=True, text=True, env=clean_environment(), check=False
    )
    assert result.returncode == 0
    words = " ".join(result.stdout.split())
    assert "language server" in words
    assert "`kibitz login`" in words


def test_kibitz_lsp_writes_nothing_but_the_protocol_on_stdout() -> None:
    # Standard output belongs to the protocol: with nothing asked, nothing is written there, even signed out.
    result = subprocess.run(
        [str(KIBITZ), "lsp"],
        input="",
        capture_output=True,
        text=True,
        env=clean_environment(),
        check=False,
        timeout=60,
    )
    assert result.stdout == ""
