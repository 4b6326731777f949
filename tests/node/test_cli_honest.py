"""`laowu-node` tells the truth in plain words: every error in Chinese and English with a non-zero
exit code and no traceback; `--json` keys are stable identifiers, not display labels; times are local."""
from __future__ import annotations

import json
import re
import subprocess
from datetime import date
from pathlib import Path

from test_cli import (BIN, COUNTY, ENV, PROVINCE, VILLAGE, box, ident, laowu, province_file,  # noqa: F401
                      village_copy, village_made)


def run(d: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN), "--dir", str(d), *args], capture_output=True, encoding="utf-8", env=ENV, timeout=60)


def plain(out: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert out.returncode == code, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "Errno" not in out.stderr
    assert out.stderr.startswith("错误 error:")
    assert re.search(r"[\u4e00-\u9fff]", out.stderr) and re.search(r"[a-z]{4,}", out.stderr)  # both languages
    return out.stderr


def test_errors_are_plain_words_with_an_exit_code(province_file: Path, village_made: Path,  # noqa: F811
                                                 tmp_path: Path) -> None:
    said = plain(run(tmp_path / "typo", "init", "--place", VILLAGE, "--province", str(province_file), "--hub",
                     "http://127.0.0.1:9", "--hub-key", "513225-county-key"))
    assert "64" in said and not (tmp_path / "typo" / "config.json").exists()
    node = village_copy(village_made, tmp_path / "v")
    laowu(node, "person", "add", "--id-number", ident(date(1990, 3, 7), 44), "--name", "测试")
    assert "U盘" in plain(run(node, "export-bundle", "--out", str(tmp_path / "no-usb" / "x.laowu")))
    assert "U盘" in plain(run(node, "import-bundle", "--file", str(tmp_path / "no-usb" / "x.laowu")))
    assert "连不上" in plain(run(node, "sync"))  # the county hub's address answers nothing
    assert "没有这个文件" in plain(run(node, "person", "import", "--file", str(tmp_path / "none.csv")))


def test_json_keys_are_stable_identifiers_and_times_are_local(village_made: Path, tmp_path: Path) -> None:  # noqa: F811
    node = village_copy(village_made, tmp_path / "v")
    status = json.loads(laowu(node, "status").stdout)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", k) for k in status), list(status)
    assert status["open_changes"] == 0 and "conflicts" in status
    text = run(node, "status").stdout
    assert "未同步修改 open changes" in text  # the screen keeps its labels
    assert PROVINCE and COUNTY  # the places of the shared fixtures
