"""`make demo`: a province hub, a county hub and two village nodes as real processes on loopback.

Generated villagers are registered offline in two villages, synced up through the county to the
province, edited on both sides of a network cut, synced again; then a sibling village's read and a
forged push are refused. Every step runs the real CLIs (`laowu-hub`, `laowu-node`) in subprocesses.
"""
from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from hub.server import free_port
from node.domain.generate import people
from protocol import clock, codec, messages
from protocol.changeset import Change, seal
from protocol.keys import KeyPair

PROVINCE, COUNTY = "510000000000", "513225000000"
VILLAGES = {"513225103201": ("新民村", 30), "513225103202": ("红岩村", 20)}
PASS = "demo-passphrase"
BIN = Path(sys.executable).parent


def say(text: str) -> None:
    print(f"\n\033[1m{text}\033[0m", flush=True)


def run(*argv: str, env: dict[str, str]) -> Any:
    out = subprocess.run([*argv[:1], "--json", *argv[1:]], capture_output=True, text=True, env=env, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"demo failed at: {' '.join(argv)}\n{out.stderr}")
    return json.loads(out.stdout) if out.stdout.strip() else {}


def hub(*args: str, env: dict[str, str]) -> Any:
    return run(str(BIN / "laowu-hub"), *args, env=env)


def node(d: Path, *args: str, env: dict[str, str]) -> Any:
    return run(str(BIN / "laowu-node"), "--dir", str(d), *args, env=env)


class Server:
    def __init__(self, d: Path, port: int, env: dict[str, str], upstream: tuple[str, str] | None = None) -> None:
        argv = [str(BIN / "laowu-hub"), "serve", "--dir", str(d), "--port", str(port)]
        if upstream:
            argv += ["--upstream", upstream[0], "--upstream-key", upstream[1], "--relay-interval", "1"]
        self.d, self.argv, self.env, self.port = d, argv, env, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        with open(self.d / "serve.log", "ab") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60  # a loaded laptop (or CI box) can take 20 s to import and open the store
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SystemExit(f"hub at {self.url} did not start; see {self.d / 'serve.log'}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def people_csv(path: Path, place: str, village: str, n: int, seed: int) -> list[dict[str, Any]]:
    rows = people(random.Random(seed), place, village, n, county="九寨沟县", township="漳扎镇", today=date(2026, 11, 1))
    fields = ["id_number", "name", "phone", "education", "health", "household_address", "poverty_status", "monthly_pay"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k) if r.get(k) is not None else "" for k in fields})
    return [dict(r) for r in rows]


def persons_at(db: Path, key: KeyPair | None = None) -> dict[str, dict[str, Any]]:
    """Cards as a database holds them; a village's is encrypted under its key (node.cli.db_key)."""
    from node.cli.main import db_key
    from node.engine.db import connect_raw

    con = connect_raw(db, db_key(key) if key else None)
    try:
        cur = con.execute("SELECT * FROM person")
        names = [d[0] for d in cur.description]
        return {row[names.index("id_number")]: dict(zip(names, row)) for row in cur.fetchall()}
    finally:
        con.close()


def count(db: Path, table: str) -> int:
    import sqlite3

    with sqlite3.connect(db) as c:
        return int(c.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def filings(work: Path, prov: Path, village: Path, people_a: list[dict[str, Any]], env: dict[str, str]) -> None:
    """Village A files a broker and the broker's placements of this year; the province writes every filing."""
    say("8. 报表 — village A's broker places people; the province files every table (hub/filings/)")
    year = date.today().year
    broker, placed = people_a[-1], people_a[:6]
    node(village, "broker", "apply", "--id-number", broker["id_number"], "--name", broker["name"], "--phone",
         broker["phone"], "--already-filed", "--date", f"{year - 3}-03-01", env=env)
    for i, p in enumerate(placed):
        node(village, "placement", "add", "--id-number", p["id_number"], "--broker-id-number", broker["id_number"],
             "--employer", "东莞鑫达电子有限公司", "--start", f"{year}-0{1 + i}-10", "--contract-months", "12",
             "--social-insurance", "--region-class", "省外", "--fare-yuan", "520", "--fare-receipt", f"R{i}",
             "--stage", "start", "--date", f"{year}-0{1 + i}-10", env=env)
    node(village, "followup", "add", "--id-number", placed[0]["id_number"], "--method", "电话", "--still-employed",
         env=env)
    poor = next((p for p in people_a if p.get("poverty_status") in ("脱贫人口", "防止返贫监测对象")), None)
    if poor is not None:
        node(village, "monitor", "add", "--id-number", poor["id_number"], "--month", date.today().isoformat()[:7],
             "--status", "已就业", "--by", broker["name"], "--method", "电话", env=env)
    node(village, "arrears", "add", "--claimant", placed[1]["name"], "--employer", "某建筑劳务公司", "--amount", "8000",
         "--months", "2", "--broker-id-number", broker["id_number"], env=env)
    node(village, "broker-training", "add", "--id-number", broker["id_number"], "--course", "劳务经纪人政策培训",
         "--days", "2", "--date", f"{year}-04-01", env=env)
    node(village, "return", "add", "--id-number", placed[2]["id_number"], "--reason", "节日探亲", "--holiday", "国庆节",
         "--date", f"{year}-10-01", env=env)
    print(f"   {broker['name']} (filed) placed {len(placed)} people this year; village A syncs")
    node(village, "sync", env=env)
    deadline = time.monotonic() + 30
    while count(prov / "hub.sqlite", "placement") < len(placed) and time.monotonic() < deadline:
        time.sleep(0.3)
    out = work / "filings"
    got = hub("filing", "all", "--dir", str(prov), "--year", str(year), "--out", str(out), "--unit", "四川省农民工办",
              env=env)
    one = hub("filing", "annex3", "--dir", str(prov), "--year", str(year), "--out", str(out / "附件3.xlsx"), env=env)
    print(f"   {got['写出 written']} files written by `laowu-hub filing all`; one table alone: "
          f"`laowu-hub filing annex3 --dir {prov} --year {year} --out …` → {one['文件 file']}")
    print(f"   报表目录 filings folder: {out}")


DESK_USER, DESK_PASSWORD = "demo", "demo-desk-2026"


def desk(village: Path, env: dict[str, str], servers: list[Server]) -> None:
    """Leave the village desk running on village A's node (hubs too, so "sync now" works) until Ctrl+C;
    LAOWU_DEMO_EXIT=1 stops here instead, for scripted runs."""
    say("10. 村级工作台 — the village desk, in a browser")
    node(village, "user", "add", "--name", DESK_USER, "--display", "演示经办员", "--role", "administrator",
         env={**env, "LAOWU_DESK_PASSWORD": DESK_PASSWORD})
    port = free_port()
    log = open(village / "desk.log", "ab")
    proc = subprocess.Popen([str(BIN / "laowu-node"), "--dir", str(village), "desk", "--port", str(port), "--no-browser"],
                            env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "login", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise SystemExit(f"the desk did not start; see {village / 'desk.log'}")
    print(f"   村级劳务工作台 desk: {url}")
    print(f"   账号 account: {DESK_USER}   密码 password: {DESK_PASSWORD}")
    if os.environ.get("LAOWU_DEMO_EXIT"):
        proc.kill()
        return
    print("   (Ctrl+C 退出 to stop the desk and the hubs)", flush=True)
    try:
        while proc.poll() is None and all(s.proc is None or s.proc.poll() is None for s in servers[-1:]):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        proc.terminate()
        proc.wait(timeout=10)


CONSOLE_USER, CONSOLE_PASSWORD = "county", "demo-county-2026"


def console(work: Path, county: Path, c_srv: Server, dirs: dict[str, Path], people_a: list[dict[str, Any]],
            root: dict[str, Any], c: dict[str, Any], env: dict[str, str]) -> None:
    """The county console at /console on the county hub: a demo account, conflicts waiting to be resolved
    (a person registered in two villages, a broker filed in two villages), an online enrollment waiting
    for approval, filings."""
    broker, twice = people_a[-1], people_a[1]
    say("9. 县级管理台 — the county console, in a browser")
    hub("user", "add", "--dir", str(county), "--name", CONSOLE_USER, "--display", "县劳务办演示", "--role", "administrator",
        env={**env, "LAOWU_USER_PASSWORD": CONSOLE_PASSWORD})
    b_dir = dirs["513225103202"]
    node(b_dir, "broker", "apply", "--id-number", broker["id_number"], "--name", broker["name"], "--phone", "13700001234",
         "--already-filed", "--date", f"{date.today().year - 2}-05-01", env=env)
    node(b_dir, "person", "add", "--id-number", twice["id_number"], "--name", twice["name"], "--phone", "13700005678",
         "--education", twice.get("education") or "初中", env=env)
    node(b_dir, "sync", env=env)
    deadline = time.monotonic() + 20
    while count(county / "hub.sqlite", "lw_conflict") < 2 and time.monotonic() < deadline:
        time.sleep(0.3)
    print(f"   village B registers {twice['name']} (already on a card in village A) and files {broker['name']} as its "
          f"broker too, offline: {count(county / 'hub.sqlite', 'lw_conflict')} conflicts queued at the county")
    newcomer = work / "513225104201"
    node(newcomer, "init", "--place", "513225104201", "--province", root["province_file"], "--hub", c_srv.url,
         "--hub-key", c["author"], "--operator", "永丰村服务站", env=env)
    asked = subprocess.run([str(BIN / "laowu-node"), "--dir", str(newcomer), "enroll"], capture_output=True, text=True,
                           env=env)
    print(f"   a new village laptop asks to enroll without a code: {asked.stderr.strip().splitlines()[-1][:100]}")
    print(f"   县级管理台 console: {c_srv.url}/console/")
    print(f"   账号 account: {CONSOLE_USER}   密码 password: {CONSOLE_PASSWORD}")
    print("   waiting there: 2 conflicts (冲突处理: merge the two cards), 1 enrollment request (登记与密钥), filings "
          "(报表下载)")


def main() -> None:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="laowu-demo-"))
    env = {**os.environ, "LAOWU_PASSPHRASE": PASS, "PYTHONUNBUFFERED": "1"}
    servers: list[Server] = []
    try:
        say("1. 省级根密钥与县级枢纽 — province root key, county hub enrolled by file")
        prov, county = work / "province", work / "county"
        root = hub("init-province", "--dir", str(prov), "--code", PROVINCE, env=env)
        print(f"   province root key {root['short']}; province file {root['province_file']}")
        c = hub("init", "--dir", str(county), "--code", COUNTY, "--province", root["province_file"], env=env)
        issued = hub("approve", "--dir", str(prov), "--request", c["request"], "--out", str(county / "certs.laowu"), env=env)
        hub("install", "--dir", str(county), "--certs", str(county / "certs.laowu"), env=env)
        print(f"   {issued['issued']}")
        p_srv = Server(prov, free_port(), env).start()
        c_srv = Server(county, free_port(), env, (p_srv.url, root["hub"])).start()
        servers += [p_srv, c_srv]
        print(f"   province hub {p_srv.url}, county hub {c_srv.url} (relaying up every second)")

        say("2. 村节点上线,县里电话给一次性码 — two villages enroll online with one-time codes")
        dirs: dict[str, Path] = {}
        for place, (name, _) in VILLAGES.items():
            d = dirs[place] = work / place
            n = node(d, "init", "--place", place, "--province", root["province_file"], "--hub", c_srv.url,
                     "--hub-key", c["author"], "--operator", f"{name}服务站",
                     "--province-hub", p_srv.url, env=env)
            otp = hub("otp", "--dir", str(county), "--place", place, env=env)["otp"]
            cert = node(d, "enroll", "--otp", otp, env=env)
            print(f"   {name} {place}: key {n['node']}, {cert['certificate']}")

        say("3. 一村一册:离线登记 — each village registers its generated villagers offline")
        registered: dict[str, list[dict[str, Any]]] = {}
        for i, (place, (name, n)) in enumerate(VILLAGES.items()):
            csvfile = work / f"{place}.csv"
            registered[place] = people_csv(csvfile, place, name, n, seed=i + 1)
            out = node(dirs[place], "person", "import", "--csv", str(csvfile), env=env)
            print(f"   {name}: {out['imported']} cards registered from {csvfile.name}, {out['refused']} refused")
        sample = registered["513225103201"][0]
        listing = node(dirs["513225103201"], "person", "list", env=env)
        first = listing[0] if isinstance(listing, list) and listing else {}
        print(f"   a list shows ID numbers masked: {first.get('id_number', first)}")

        say("4. 同步:村 → 县 → 省 — sync up through the county to the province")
        for place, d in dirs.items():
            print(f"   {VILLAGES[place][0]}: {node(d, 'sync', env=env)['sync']}")
        expected = sum(n for _, n in VILLAGES.values())
        deadline = time.monotonic() + 20
        while len(persons_at(prov / "hub.sqlite")) < expected and time.monotonic() < deadline:
            time.sleep(0.3)
        print(f"   county holds {len(persons_at(county / 'hub.sqlite'))} people, "
              f"province holds {len(persons_at(prov / 'hub.sqlite'))} (expected {expected})")

        say("5. 断网 — the county hub goes down; both sides keep working offline")
        c_srv.kill()
        a_dir, b_dir = dirs["513225103201"], dirs["513225103202"]
        node(a_dir, "person", "edit", "--id-number", sample["id_number"], "--set", "phone=13990001111",
             "--set", "monthly_pay=5200", env=env)
        failed = subprocess.run([str(BIN / "laowu-node"), "--dir", str(a_dir), "sync"], capture_output=True, text=True, env=env)
        print(f"   village A edits {sample['name']}'s card; sync fails cleanly: {failed.stderr.strip()[:90]}…")
        status = node(a_dir, "status", env=env)
        print(f"   village A status: {status['open_changes']} open changes kept locally")
        walk_in = people(random.Random(99), "513225103202", "红岩村", 1, county="九寨沟县", township="漳扎镇",
                         today=date(2026, 11, 1))[0]
        node(b_dir, "person", "add", "--id-number", walk_in["id_number"], "--name", walk_in["name"],
             "--phone", walk_in["phone"], "--education", walk_in["education"], env=env)
        print(f"   village B registers a walk-in, {walk_in['name']}, offline too")

        say("6. 恢复 — the county hub is back: sync, relay, converge")
        c_srv = Server(county, c_srv.port, env, (p_srv.url, root["hub"])).start()
        servers.append(c_srv)
        for place, d in dirs.items():
            print(f"   {VILLAGES[place][0]}: {node(d, 'sync', env=env)['sync']}")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            at_prov = persons_at(prov / "hub.sqlite")
            if at_prov.get(sample["id_number"], {}).get("phone") == "13990001111" and walk_in["id_number"] in at_prov:
                break
            time.sleep(0.3)
        a_rows, p_rows = persons_at(a_dir / "node.sqlite", KeyPair.load(a_dir / "node.key", PASS)), persons_at(prov / "hub.sqlite")
        same = all(p_rows.get(k) == v for k, v in a_rows.items())
        print(f"   province sees phone {p_rows[sample['id_number']]['phone']}, pay {p_rows[sample['id_number']]['monthly_pay']}; "
              f"village B's walk-in there: {'yes' if walk_in['id_number'] in p_rows else 'NO'}")
        print(f"   village A's {len(a_rows)} cards identical at the province: {'yes' if same else 'NO'}")
        b_rows = persons_at(b_dir / "node.sqlite", KeyPair.load(b_dir / "node.key", PASS))
        print(f"   village B holds {len(b_rows)} cards, none of village A's: "
              f"{'yes' if not set(b_rows) & set(a_rows) else 'NO'}")

        say("7. 越权与伪造 — a sibling village's read and a forged push are refused")
        b_key = KeyPair.load(b_dir / "node.key", PASS)
        hello = messages.Hello.make(b_key, bytes.fromhex(c["author"]), "513225103201", [], 0, clock.wall_ms(), os.urandom(16))
        r = httpx.post(c_srv.url + "/v1/hello", content=hello.encode())
        print(f"   village B asks to read village A's feed: HTTP {r.status_code} {codec.unpack(r.content, max_bytes=1 << 16, what='e')['error']}")
        thief = KeyPair.generate()
        forged = seal(thief, "513225103201", 1, None, [Change("person", os.urandom(16), "name", "冒名", clock.wall_ms() << 16)])
        a_key = KeyPair.load(a_dir / "node.key", PASS)
        hello = messages.Hello.make(a_key, bytes.fromhex(c["author"]), "513225103201", [], 0, clock.wall_ms(), os.urandom(16))
        token = messages.Welcome.decode(httpx.post(c_srv.url + "/v1/hello", content=hello.encode()).content).token
        push = messages.Push(token, [forged.envelope], [], [])
        res = messages.PushResult.decode(httpx.post(c_srv.url + "/v1/push", content=push.encode()).content).results[0]
        print(f"   a changeset signed by an unenrolled key: {res['status']} ({res['code']})")
        if not same or walk_in["id_number"] not in p_rows:
            raise SystemExit("demo failed: the province does not match the villages")
        filings(work, prov, a_dir, registered["513225103201"], env)
        console(work, county, c_srv, dirs, registered["513225103201"], root, c, env)
        say(f"完成 done in {time.monotonic() - started:.1f}s — files in {work}; 报表 filings in {work / 'filings'}")
        desk(a_dir, env, servers)
    finally:
        for s in servers:
            s.kill()


if __name__ == "__main__":
    main()
