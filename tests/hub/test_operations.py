"""Running a hub for years (issue 14): logs, /v1/health, /metrics, on real processes.

A county hub made by release 0.1.0 (its fixture, upgraded on open) is served by `laowu-hub serve` as
a real process, relaying to an upstream that is down; its 0.1.0 village registers a person and syncs
through `laowu-node` as a real process. Then the logs, the health answer and the metrics are read.
"""
from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from hubkit import hello_body, post, serving

from hub.server import free_port
from node import migrations
from node.domain.generate import people
from node.engine.schema import SCHEMA_VERSION
from node.version import release
from protocol import codec, messages
from protocol.keys import KeyPair

RELEASE = Path(__file__).resolve().parents[1] / "fixtures" / "releases" / "0.1.0"
FACTS = json.loads((RELEASE / "fixture.json").read_text())
BIN = Path(sys.executable).parent


@dataclass
class Site:
    county: Path
    village: Path
    url: str
    env: dict[str, str]
    walk_in: dict[str, Any]
    sync: subprocess.CompletedProcess[str]

    def lines(self, path: Path) -> list[dict[str, Any]]:
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _fixture_people() -> list[dict[str, Any]]:
    return [dict(p) for p in people(random.Random(1), FACTS["village"], "新民村", FACTS["people"], county="九寨沟县",
                                    township="漳扎镇", today=date(2026, 11, 1))]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("ops")
    county, village = tmp / "county", tmp / "village"
    shutil.copytree(RELEASE / "county", county)
    shutil.copytree(RELEASE / "village", village)
    env = {**os.environ, "LAOWU_PASSPHRASE": FACTS["passphrase"]}
    port, dead = free_port(), free_port()
    # Served from a settings file, as under systemd; the environment overrides the file's port.
    (tmp / "hub.toml").write_text(f"""[hub]\ndir = "county"\nport = {free_port()}\n[upstream]\n"""
                                  f"""url = "http://127.0.0.1:{dead}"\nkey = "{FACTS['root']}"\nrelay_interval = 0.5\n""")
    with serving([str(BIN / "laowu-hub"), "serve", "--config", str(tmp / "hub.toml")], port, tmp / "serve.out",
                 {**env, "LAOWU_HUB_PORT": str(port)}) as url:
        cfg = json.loads((village / "config.json").read_text())
        cfg["hub"] = url
        (village / "config.json").write_text(json.dumps(cfg, ensure_ascii=False))
        walk_in = people(random.Random(42), FACTS["village"], "新民村", 1, county="九寨沟县", township="漳扎镇",
                         today=date(2026, 11, 1))[0]
        node = [str(BIN / "laowu-node"), "--dir", str(village)]
        add = subprocess.run([*node, "person", "add", "--id-number", walk_in["id_number"], "--name", walk_in["name"],
                              "--phone", walk_in["phone"]], env=env, capture_output=True, text=True, timeout=120)
        assert add.returncode == 0, add.stderr
        sync = subprocess.run([*node, "sync"], env=env, capture_output=True, text=True, timeout=120)
        assert sync.returncode == 0, sync.stderr
        # A stranger's hello: refused, and the refusal logged with its reason.
        thief = KeyPair.generate()
        hub_key = bytes.fromhex(FACTS["county_author"])
        assert post(url, "/v1/hello", hello_body(thief, hub_key, FACTS["village"], [])).status_code == 403
        yield Site(county, village, url, env, dict(walk_in), sync)


def test_a_sync_is_logged_on_both_sides_with_its_outcome(site: Site) -> None:
    node_log = site.lines(site.village / "logs" / "laowu-node.log")
    syncs = [x for x in node_log if x["event"] == "sync"]
    assert syncs and syncs[-1]["pushed"] == 1 and syncs[-1]["hub"] == site.url
    assert any(x["event"] == "database.upgraded" and x["was"] == "0001_baseline_0_1_0" for x in node_log)
    assert [x["command"] for x in node_log if x["event"] == "command"] == ["person add", "sync"]
    hub_log = site.lines(site.county / "logs" / "laowu-hub.log")
    pushes = [x for x in hub_log if x["event"] == "push"]
    # A new hub address starts the push cursor over: the three 0.1.0 changesets go again, as duplicates.
    assert pushes and pushes[-1]["outcomes"] == {"accepted": 1, "duplicate": 3} and pushes[-1]["place"] == FACTS["village"]
    refused = [x for x in hub_log if x["event"] == "request.refused"]
    assert refused and refused[-1]["status"] == 403 and refused[-1]["code"] == "unknown-author"
    assert any(x["event"] == "sync.failed" for x in hub_log), "the relay to a dead upstream is logged"
    assert not [x for x in hub_log if x["logger"].startswith(("httpx", "uvicorn.access"))], "HTTP chatter is quiet"


def test_no_log_holds_a_name_an_id_number_or_a_phone(site: Site) -> None:
    text = "".join(p.read_text(encoding="utf-8") for d in (site.village, site.county) for p in (d / "logs").glob("*.log*"))
    assert text
    persons = [site.walk_in, *_fixture_people()]
    for p in persons:
        for value in (p["name"], p["id_number"], p["phone"], p["id_number"][-4:] + '"'):
            assert value not in text
    assert not re.search(r"(?<!\d)\d{17}[\dXx](?!\d)", text)


def test_health_answers_readable_json_and_the_node_its_clock(site: Site) -> None:
    resp = httpx.get(site.url + "/v1/health", timeout=10)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert body["status"] == "ok" and body["version"] == release() and body["schema"] == SCHEMA_VERSION
    assert body["database"] == {"ok": True, "backend": "sqlite", "revision": migrations.heads()[0]}
    assert body["queues"] == {"pending": 0, "quarantined": 0, "forks": 0, "conflicts": 0, "feeds": 1}
    assert body["home"] == FACTS["county"] and isinstance(body["clock_offset_ms"], int)
    assert abs(body["time_ms"] - time.time() * 1000) < 60_000
    assert body["upstream"]["reachable"] is False and body["upstream"]["failures"] >= 1
    assert FACTS["village"] in body["last_contact"]
    # What a 0.1.0 node sends (content-type on every request) and what a 0.2.0 node sends (accept).
    for headers in ({"content-type": messages.CONTENT_TYPE}, {"accept": messages.CONTENT_TYPE}):
        clock = httpx.get(site.url + "/v1/health", headers=headers, timeout=10)
        answer = codec.unpack(clock.content, max_bytes=1 << 16, what="health")
        assert answer["home"] == FACTS["county"] and abs(answer["time"] - time.time() * 1000) < 60_000


def test_metrics_count_ingest_refusals_queues_and_last_contact(site: Site) -> None:
    text = httpx.get(site.url + "/metrics", timeout=10).text
    assert 'laowu_changesets_total{status="accepted"} 1.0' in text
    assert 'laowu_changesets_total{status="duplicate"} 3.0' in text
    assert 'laowu_refusals_total{code="unknown-author"} 1.0' in text
    assert re.search(r'laowu_last_contact_timestamp_seconds\{place="%s"\} \d' % FACTS["village"], text)
    for queue in ("laowu_pending 0.0", "laowu_quarantined 0.0", "laowu_forks 0.0", "laowu_conflicts 0.0"):
        assert queue in text
    assert f'laowu_build_info{{database="{migrations.heads()[0]}",schema="{SCHEMA_VERSION}",version="{release()}"}} 1.0' in text
