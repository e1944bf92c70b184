"""The operator commands that change something print one JSON document with --json."""

from __future__ import annotations

import json
from pathlib import Path

from tests.server.crypto.test_rotate_kek_cli import operator


def test_migrate_gen_cert_and_rotate_kek_print_json(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert json.loads(operator("migrate", "--json", data_dir=data).stdout) == {"up_to_date": True}

    made = json.loads(operator("gen-cert", "--host", "kibitz.test", "--json", data_dir=data).stdout)
    assert made["hosts"] == ["kibitz.test"]
    assert made["days"] == 365
    assert len(made["sha256"].replace(":", "")) == 64
    assert Path(made["certificate"]).is_file()
    assert Path(made["key"]).stat().st_mode & 0o777 == 0o600

    before = json.loads(operator("keystore-info", "--json", data_dir=data).stdout)
    rotated = json.loads(operator("rotate-kek", "--generate", "--json", data_dir=data).stdout)
    assert rotated["resumed"] is False
    assert rotated["new_kek"] != rotated["old_kek"]
    assert rotated["old_kek"] == before["active_kek"]
    assert rotated["rewrapped"] >= 0
    assert Path(rotated["kek_file"]).is_file()
    after = json.loads(operator("keystore-info", "--json", data_dir=data).stdout)
    assert after["active_kek"] == rotated["new_kek"]
