"""Hub settings files and the node's settings in the platform's place (issue 14 item 5)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hub import config

BIN = Path(sys.executable).parent
KEY = "ab" * 32


def check(path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "laowu-hub"), "config", "check", str(path)], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


def test_a_good_file_checks_out_and_says_what_it_sets(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text(f'[hub]\ndir = "county"\nport = 8800\n[upstream]\nurl = "https://p.example"\n'
                                       f'key = "{KEY}"\n[limits]\nmax_ahead_minutes = 5\n')
    out = check(tmp_path / "hub.toml")
    assert out.returncode == 0, out.stderr
    assert "port: 8800" in out.stdout and f"dir: {tmp_path / 'county'}" in out.stdout
    assert "max_ahead_minutes: 5.0" in out.stdout and "host: 127.0.0.1" in out.stdout


def test_every_mistake_is_named_in_chinese_and_english_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text('[hub]\ndir = "county"\nport = "eighty"\nhots = "x"\n[upstream]\n'
                                       'url = "province.example"\nkey = "12"\n[tls]\ncert = "nope.crt"\n')
    out = check(tmp_path / "hub.toml")
    assert out.returncode == 2 and out.stdout == ""
    for said in ("hub.port: 端口应为整数", "must be a whole number, got 'eighty'", "hub.hots: 不认识的设置 / unknown setting",
                 "upstream.key: 应为64位十六进制", "must start with http:// or https://", "tls: cert 和 key 须同时设置",
                 "tls.cert: 找不到文件"):
        assert said in out.stderr, said
    broken = tmp_path / "broken.toml"
    broken.write_text("[hub\n")
    out = check(broken)
    assert out.returncode == 2 and "不是有效的 TOML 文件 / not valid TOML" in out.stderr


def test_the_environment_overrides_the_file_and_is_checked_too(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text('[hub]\ndir = "/srv/county"\nport = 8800\n')
    values, problems = config.read(tmp_path / "hub.toml", {"LAOWU_HUB_PORT": "9900", "LAOWU_HUB_VERBOSE": "yes"})
    assert problems == [] and values["port"] == 9900 and values["verbose"] is True and values["dir"] == Path("/srv/county")
    _, problems = config.read(tmp_path / "hub.toml", {"LAOWU_HUB_PORT": "99999"})
    assert problems == ["hub.port: 端口应在 1–65535 之间 / must be between 1 and 65535, got 99999"]


def test_the_node_finds_its_directory_from_its_settings_file(tmp_path: Path) -> None:
    """No --dir: the settings file in the platform's place (here LAOWU_NODE_CONFIG) names the node directory."""
    (tmp_path / "node.toml").write_text(f'[node]\ndir = "{tmp_path / "elsewhere"}"\n')
    env = {k: v for k, v in os.environ.items() if k != "LAOWU_HOME"}
    env["LAOWU_NODE_CONFIG"] = str(tmp_path / "node.toml")
    out = subprocess.run([str(BIN / "laowu-node"), "status"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 2 and f"{tmp_path / 'elsewhere'} is not a Laowu node" in out.stderr
    (tmp_path / "node.toml").write_text('[node]\ndri = "x"\n')
    out = subprocess.run([str(BIN / "laowu-node"), "status"], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 2 and "不认识的设置 dri / unknown settings" in out.stderr


def test_the_shipped_example_and_the_systemd_unit_agree_with_what_the_tests_serve() -> None:
    """deploy/hub.toml checks out, and the unit runs `laowu-hub serve --config FILE`: the command line
    tests/hub/test_operations.py serves with."""
    root = Path(__file__).resolve().parents[2]
    out = check(root / "deploy" / "hub.toml")
    assert out.returncode == 0, out.stderr
    unit = (root / "deploy" / "laowu-hub.service").read_text()
    start = [line.split("=", 1)[1].split() for line in unit.splitlines() if line.startswith("ExecStart=")]
    assert len(start) == 1 and start[0][0].endswith("/laowu-hub") and start[0][1:] == ["serve", "--config", "/etc/laowu/hub.toml"]


def test_the_systemd_unit_runs_the_hub_on_china_time_whatever_the_server_s_zone() -> None:
    """The unit's TZ overrides a server kept on UTC: the hub's own time formatting
    (node.web.messages.local_time) and today's date (`date.fromtimestamp`, as `date.today()`) read
    China Standard Time, where the server's zone would put 16:00 UTC on the previous day."""
    root = Path(__file__).resolve().parents[2]
    unit = (root / "deploy" / "laowu-hub.service").read_text()
    tz = [line.split("=", 2)[2] for line in unit.splitlines() if line.startswith("Environment=TZ=")]
    assert len(tz) == 1
    code = ("from node.web.messages import local_time; import datetime; "
            "print(local_time(60_000), datetime.date.fromtimestamp(16 * 3600))")

    def shown(zone: str) -> list[str]:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=root,
                             env={**os.environ, "TZ": zone})
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    assert shown("UTC") == ["1970-01-01", "00:01", "1970-01-01"]
    assert shown(tz[0]) == ["1970-01-01", "08:01", "1970-01-02"]
