"""`laowu-node`: the village operator's command line.

    laowu-node init --place 513225103201 --province province.laowu --hub URL --hub-key HEX
    laowu-node enroll --otp 12345678          online, with the code the county gave by phone
    laowu-node install-certs --certs FILE     offline: the county approved the request file
    laowu-node bootstrap                      a new node starts from a hub-made snapshot of its place
    laowu-node sync                           one exchange with the hub, with progress
    laowu-node status                         open changes, last sync, pending, conflicts
    laowu-node export-bundle --out FILE / import-bundle --file FILE     USB stick, no network

Domain commands (person, broker, job, placement, followup, return) are added by
`node.cli.domain`. The key file is encrypted under LAOWU_PASSPHRASE (asked for when unset).
Output is readable Chinese for the operator; `--json` is for scripts.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from node import backup as backups
from node.engine import db, synclog
from node import logs, settings
from node.files import load_chain, load_province, write_atomic
from node.nodedir import Node, bundle_passphrase, db_key, passphrase  # noqa: F401  (re-exported)
from node.engine.store import Store
from node.version import describe
from node.sync.verdict import EXIT_ERROR, EXIT_WAITING, verdict
from node.web.messages import local_time
from protocol import clock, codec, messages, scope
from protocol.errors import ConfigError, InvalidValue, LaowuError
from protocol.keys import KeyPair, short_id

Handler = Callable[[argparse.Namespace, "Node"], Any]
EXIT_INTERNAL = 1  # a bug of ours (2: bad input or setup, 3: refused, 4: waiting)
log = logging.getLogger("laowu.node")


@dataclass
class Unfinished:
    """A command's output when not everything it carried landed: printed, then `message` on stderr
    and exit `code` (node.verdict: 3 refused, 4 waiting)."""

    out: dict[str, Any]
    code: int
    message: str


def finished(out: dict[str, Any], counts: dict[str, int]) -> dict[str, Any] | Unfinished:
    code, message = verdict(counts)
    return Unfinished(out, code, message) if code else out


_SHORT = re.compile(r"^[a-z2-7]{8}$")


def _hub_key(text: str) -> str:
    """The county hub's key as typed at `init`: 64 hex characters, or the 8-character short id the
    county reads out on the phone (resolved from the certificates once enrolled)."""
    t = text.strip().lower()
    if _SHORT.match(t):
        return "short:" + t
    from node.sync.hubs import hex_key

    return hex_key(t, "county hub key").hex()


def _resolve_hub_key(node: Node, store: Store) -> None:
    """A short id given at `init` becomes the full key of the certificate it names."""
    cfg = node.config()
    given = str(cfg.get("hub_key", ""))
    if not given.startswith("short:"):
        return

    found = [s for s in store.trust.certs if short_id(s) == given[6:]]
    if len(found) != 1:
        raise ConfigError(f"证书里没有简码为{given[6:]}的县级平台密钥,请向县里核对 / no certificate here has the short "
                          f"id {given[6:]}: check the county hub's key with the county")
    node.save_config({**cfg, "hub_key": found[0].hex()})


def hubs_key(cfg: dict[str, Any]) -> bytes:
    from node.sync.hubs import hex_key

    return hex_key(str(cfg.get("hub_key", "")), "county hub key")


def cmd_init(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    if node.configfile.exists():
        raise ConfigError(f"{node.dir} already holds a node")
    scope.check_code(args.place, "place")
    pf = load_province(args.province)
    hub_key = _hub_key(args.hub_key)
    key = KeyPair.generate()
    key.save(node.keyfile, passphrase())
    Store.create(node.dbfile, key, args.place, pf.root, [pf.root_cert],
                 engine_kw={"db_key": db_key(key)}).close()
    role = scope.level(args.place)
    req = messages.EnrollRequest.make(key, args.place, role, args.operator, clock.wall_ms())
    write_atomic(node.dir / "enroll-request.laowu", req.encode())
    node.save_config({"place": args.place, "role": role, "hub": args.hub, "hub_key": hub_key,
                      "operator": args.operator, "province_hub": args.province_hub or "",
                      "province_hub_key": (pf.hub_key or pf.root).hex(), "ca_file": args.ca_file})
    return {"节点 node": key.short, "地点 place": args.place, "申请文件 request": str(node.dir / "enroll-request.laowu")}


def cmd_enroll(args: argparse.Namespace, node: Node) -> dict[str, Any] | Unfinished:
    import httpx  # imported here: the network is for enrolling and syncing, not every command

    cfg = node.config()
    key = node.key()
    req = messages.EnrollRequest.make(key, cfg["place"], cfg["role"], cfg.get("operator", ""), clock.wall_ms(), args.otp)
    from node.sync.client import tls_context

    sent = req.encode()
    try:
        resp = httpx.post(cfg["hub"].rstrip("/") + "/v1/enroll", content=sent, verify=tls_context(cfg.get("ca_file")),
                          headers={"content-type": messages.CONTENT_TYPE}, timeout=30)
    except httpx.HTTPError as exc:
        raise ConfigError(f"无法连接枢纽 cannot reach the hub {cfg['hub']}: {exc}") from exc
    messages.verify_answer(bytes.fromhex(cfg["hub_key"]), resp.headers.get(messages.SIG_HEADER), "/v1/enroll", sent,
                           resp.status_code, resp.content)
    body = codec.unpack(resp.content, max_bytes=1 << 20, what="enroll answer")
    if resp.status_code == 401 and body.get("error") == "enroll-waiting":
        # Asked without a one-time code: queued at the county, which is what the operator wanted.
        return Unfinished({"登记申请 request": "已提交,等待县里批准 sent, waiting for the county's approval",
                           "密钥编号 key id": short_id(key.public)}, EXIT_WAITING, str(body.get("reason", "")))
    if resp.status_code != 200:
        raise ConfigError(f"enrollment refused: {body.get('error')}: {body.get('reason')}")
    store = node.store()
    for raw in body["certs"]:
        store.add_certificate(raw)
    _resolve_hub_key(node, store)
    cert = store.trust.verify_chain(store.author, store.hlc.physical())
    logs.event(log, "enroll", place=cfg["place"], role=cert.role, hub=cfg["hub"])
    return {"证书 certificate": cert.describe()}


def cmd_install_certs(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    store = node.store()
    for raw in load_chain(args.certs):
        store.add_certificate(raw)
    _resolve_hub_key(node, store)
    return {"证书 certificate": store.trust.verify_chain(store.author, store.hlc.physical()).describe()}


def cmd_sync(args: argparse.Namespace, node: Node) -> dict[str, Any] | Unfinished:
    """The county hub, then the province hub when the county's cannot be reached (`node.sync.hubs`)."""
    from node.sync import hubs
    from node.sync.client import SyncClient

    cfg = node.config()
    store = node.store()

    def progress(stage: str, done: int, _total: int) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r  {'接收' if stage == 'pull' else '发送'} {stage}: {done}", end="", file=sys.stderr)

    run = hubs.sync(store, hubs.addresses(store, cfg, args.hub), progress,
                    make=lambda st, url, key: SyncClient(st, url, key, ca_file=cfg.get("ca_file")))
    if run.report is None or run.hub is None:
        raise run.failures[-1][1]
    report = run.report
    out: dict[str, Any] = {"同步 sync": report.line(), "平台 hub": f"{run.hub.name} {run.hub.url}",
                           "发送 pushed": report.pushed, "接收 pulled": report.pulled,
                           "拒绝 refused": [f"{r.get('code')}: {r.get('reason')}" for r in report.refused],
                           "结果 outcomes": report.counts}
    if run.failures:
        out["连不上 unreachable"] = [f"{h.name} {h.url}: {exc}" for h, exc in run.failures]
    if report.restored_feeds or backups.restored_since(store.engine) is not None:
        out["恢复 restored"] = (
            f"本机数据是从备份恢复的:已从平台取回备份之后本机写的记录({report.restored_feeds} 个记录流),"
            "之后的新记录接着写,不会分叉 / this laptop was restored from a backup: what it wrote after the backup "
            f"came back from the hub ({report.restored_feeds} feed(s)) and new records continue its feed, no fork")
        backups.synced_after_restore(store.engine)
    return finished(out, report.counts)


def cmd_backup(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    node.config()  # a node directory, not any folder
    store = node.store()
    files = {name: (node.dir / name).read_bytes() for name in ("node.key", "config.json") if (node.dir / name).exists()}
    encrypted = not db.is_plaintext(node.dbfile)
    info = backups.backup(store.engine, args.out, files=files, db_key=db_key(store.key) if encrypted and store.key else None)
    return {"备份 backup": str(info.path), "字节 bytes": info.bytes, "记录流 feeds": info.feeds,
            "变更集 changesets": info.changesets, "时间 taken": local_time(info.taken_ms),
            "说明 note": "备份文件含本机密钥(已用口令加密)和配置,请存放在安全处 / the file holds this node's key "
                       "(encrypted under the passphrase) and config: keep it somewhere safe"}


def cmd_restore(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    node.dir.mkdir(parents=True, exist_ok=True)
    carried = backups.read_files(args.file)
    if not node.keyfile.exists() and "node.key" in carried:  # a new laptop: the backup brings its key
        write_atomic(node.keyfile, carried["node.key"], 0o600)
    key = node.key()
    files, kept = backups.install(args.file, node.dbfile, expect_author=key.public, db_key=db_key(key))
    if not node.configfile.exists() and "config.json" in files:
        write_atomic(node.configfile, files["config.json"])
    store = node.store()  # upgrades a backup made by an earlier release
    st = store.status()
    return {"恢复 restored": f"{args.file} → {node.dbfile}",
            "备份时间 taken": local_time(backups.restored_since(store.engine) or 0),
            "原数据库 previous database": str(kept) if kept else "无 none",
            "未同步修改 open changes": st.open_changes,
            "下一步 next": "请先联网同步(laowu-node sync):本机会先从平台取回备份之后写的记录,再接着写,不会产生分叉 / "
                         "sync first (laowu-node sync): this laptop first fetches back from the hub what it wrote "
                         "after the backup, then continues its feed without forking it"}


def cmd_bootstrap(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    from node.sync.bootstrap import bootstrap
    from node.sync.client import SyncClient

    cfg = node.config()
    client = SyncClient(node.store(), args.hub or cfg["hub"], hubs_key(cfg), ca_file=cfg.get("ca_file"))
    try:
        rep = bootstrap(client, node.dbfile)
    finally:
        client.close()
    return {"起步 bootstrap": f"{rep.envelopes} changesets verified, {rep.bytes} bytes, {rep.seconds:.1f}s",
            "游标 cursor": rep.cursor}


def cmd_status(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    cfg = node.config()
    store = node.store()
    st = store.status()
    last = synclog.last_sync(store, cfg["hub"])
    return {
        "地点 place": st.home, "节点 node": store.key.short if store.key else "",
        "数据库加密 encrypted": "否 no: run `laowu-node encrypt-db`" if db.is_plaintext(node.dbfile) else "是 yes",
        "未同步修改 open changes": st.open_changes, "等待前序 pending": st.pending,
        "隔离 quarantined": st.quarantined, "分叉 forks": st.forks, "待处理冲突 conflicts": st.conflicts,
        "上次同步 last sync": local_time(last) if last else "从未 never",
    }


def cmd_encrypt_db(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    """Encrypt a database made before 0.2.0 in place under this node's key."""
    key = node.key()
    if not db.is_plaintext(node.dbfile):
        return {"数据库加密 encrypted": "已加密 already encrypted"}
    db.encrypt_in_place(node.dbfile, db_key(key))
    node.store().close()  # opens with the key: proves the result
    return {"数据库加密 encrypted": "是 yes", "文件 file": str(node.dbfile)}


def cmd_export_bundle(args: argparse.Namespace, node: Node) -> dict[str, Any]:
    from node.sync.bundles import export_bundle

    store = node.store()
    if backups.restored_since(store.engine) is not None:
        raise ConfigError("本机刚从备份恢复,请先联网同步一次再导出:否则会与备份之后写的记录冲突(分叉)/ this laptop was "
                          "restored from a backup: sync with the hub once before exporting a bundle, or its new "
                          "records would fork its feed")
    folder = Path(args.out).resolve().parent
    if not folder.is_dir():
        raise ConfigError(f"没有这个文件夹:{folder}(U盘插好了吗?)/ no such folder: {folder} (is the USB stick "
                          "plugged in and mounted?)")
    store.seal()
    count = export_bundle(store, args.out, passphrase=bundle_passphrase())
    return {"文件 file": args.out, "记录 envelopes": count, "字节 bytes": Path(args.out).stat().st_size}


def cmd_import_bundle(args: argparse.Namespace, node: Node) -> dict[str, Any] | Unfinished:
    from node.sync.bundles import import_bundle

    if not Path(args.file).is_file():
        raise ConfigError(f"没有这个文件:{args.file}(U盘插好了吗?文件名对吗?)/ no such file: {args.file} (is the USB "
                          "stick plugged in, is the name right?)")
    from node.web.messages import refusal

    s = import_bundle(node.store(), args.file, passphrase=bundle_passphrase())
    return finished({"记录 envelopes": s.envelopes, "导入 imported": s.counts, "补全 released": s.released,
                     "证书 certificates": s.certificates, "吊销 revocations": s.revocations, "说明 notes": s.notes,
                     "未导入 not accepted": [f"{o.get('status')}: {refusal(o.get('code'), o.get('reason'))}"
                                           for o in s.problems]},
                    s.counts)


def parser(prefs: dict[str, Any] | None = None) -> argparse.ArgumentParser:
    """`prefs`: the [node] table of the settings file (`node.settings`), which gives the defaults."""
    prefs = prefs or {}
    p = argparse.ArgumentParser(prog="laowu-node", description="Laowu village node")
    p.add_argument("--dir", default=settings.default_dir(prefs),
                   help=f"node directory (default from LAOWU_HOME or {settings.settings_file()})")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--version", action="version", version=describe("laowu-node"))
    p.add_argument("--verbose", action="store_true", default=settings.default_verbose(prefs),
                   help="log everything, also to stderr (DIR/logs/laowu-node.log)")
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name: str, fn: Handler, help: str, parent: Any = sub) -> argparse.ArgumentParser:
        sp = parent.add_parser(name, help=help)
        sp.set_defaults(fn=fn)
        return sp

    sp = add("init", cmd_init, "create this node's key and database")
    sp.add_argument("--place", required=True, help="12-digit village (or township) code")
    sp.add_argument("--province", required=True, help="the province file")
    sp.add_argument("--hub", required=True, help="the county hub URL")
    sp.add_argument("--hub-key", required=True, help="the county hub's author id (hex)")
    sp.add_argument("--operator", default="", help="who operates this node")
    sp.add_argument("--province-hub", help="the province hub URL, used when the county hub cannot be reached")
    sp.add_argument("--ca-file", help="CA certificate(s) that sign the hub's TLS certificate (a self-signed county hub)")
    add("enroll-request", lambda a, n: {"申请文件 request": str(n.dir / "enroll-request.laowu")},
        "where the enrollment request file for the county is")
    sp = add("enroll", cmd_enroll, "enroll online with the county's one-time code (without one: ask the county "
                                   "to approve it in its console, then run enroll again)")
    sp.add_argument("--otp", default="")
    sp = add("install-certs", cmd_install_certs, "install the certificate file the county approved")
    sp.add_argument("--certs", required=True)
    sp = add("sync", cmd_sync, "sync with the hub now")
    sp.add_argument("--hub", help="another hub (e.g. the province when the county is down)")
    sp = add("bootstrap", cmd_bootstrap, "start this new node from a hub-made snapshot of its place")
    sp.add_argument("--hub", help="another hub than the configured one")
    add("status", cmd_status, "what is waiting, last sync, conflicts")
    add("encrypt-db", cmd_encrypt_db, "encrypt a database made before 0.2.0 in place")
    sp = add("export-bundle", cmd_export_bundle, "write a bundle file for a USB stick")
    sp.add_argument("--out", required=True)
    sp = add("backup", cmd_backup, "a consistent copy of this node's database (with its key and config), while in use")
    sp.add_argument("--out", required=True)
    sp = add("restore", cmd_restore, "put a backup in place (the current database is kept aside); sync next")
    sp.add_argument("--file", required=True)
    sp = add("import-bundle", cmd_import_bundle, "import a bundle file")
    sp.add_argument("--file", required=True)
    try:
        from node.cli.domain import add_domain_commands
    except ModuleNotFoundError as exc:  # only a missing module: a broken one must fail loudly
        if exc.name != "node.cli.domain":
            raise
    else:
        add_domain_commands(sub, add)
    return p


_LABEL = re.compile(r"^[^\x00-\x7f]+ ([A-Za-z][A-Za-z0-9 _\-]*)$")


def json_keys(out: Any) -> Any:
    """Output for `--json`: the display label "未同步修改 open changes" becomes the stable key
    "open_changes" at every depth; plain keys (field names, statuses) stay as they are."""
    if isinstance(out, dict):
        return {_key(k): json_keys(v) for k, v in out.items()}
    if isinstance(out, list):
        return [json_keys(v) for v in out]
    return out


def _key(k: Any) -> Any:
    m = _LABEL.match(k) if isinstance(k, str) else None
    return re.sub(r"[\s\-]+", "_", m.group(1).strip()).lower() if m else k


def render(out: Any) -> str:
    if isinstance(out, dict):
        return "\n".join(f"{k}: {render(v) if isinstance(v, (dict, list)) else v}" for k, v in out.items())
    if isinstance(out, list):
        return "\n".join(render(x) if isinstance(x, (dict, list)) else str(x) for x in out) or "(无 none)"
    return str(out)


def main(argv: list[str] | None = None) -> int:
    try:
        prefs = settings.load()
    except ConfigError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    args = parser(prefs).parse_args(argv)
    node = Node(Path(args.dir))
    command = " ".join(str(x) for x in (args.cmd, getattr(args, "action", None)) if x)  # never the arguments: they hold ID numbers
    logs.setup(node.dir / "logs" / "laowu-node.log" if node.dir.exists() or args.cmd == "init" else None,
               verbose=args.verbose, stderr_level=logging.CRITICAL)  # the CLI itself tells the operator
    started = time.monotonic()
    try:
        out = args.fn(args, node)
    except LaowuError as exc:
        # What an operator typed may be personal data: for a refused value only its field is logged.
        why = {"field": exc.field} if isinstance(exc, InvalidValue) else {"error": str(exc)}
        logs.event(log, "command.failed", logging.ERROR, command=command, code=exc.code, **why)
        print(f"错误 error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # a full disk, a read-only stick, a missing folder: the operator can act on it
        logs.event(log, "command.failed", logging.ERROR, command=command, code="os", error=str(exc))
        print(f"错误 error: 文件或磁盘出错 / file or disk error: {exc.strerror or exc}"
              f"{' — ' + str(exc.filename) if exc.filename else ''}", file=sys.stderr)
        return EXIT_ERROR
    except Exception:  # a bug of ours: the traceback goes to the log, never to the operator's screen
        log.exception("command %s failed", command)
        print(f"错误 error: 程序内部出错,本次操作没有完成,已有数据不受影响;请把日志 {node.dir / 'logs'} 交给县里 / "
              "internal error: the command did not finish, nothing stored was harmed; send the log folder to the "
              "county", file=sys.stderr)
        return EXIT_INTERNAL
    code = 0
    if isinstance(out, Unfinished):
        print(f"未完成 unfinished: {out.message}", file=sys.stderr)
        code = out.code
        out = out.out
    logs.event(log, "command", command=command, exit=code, seconds=round(time.monotonic() - started, 3))
    if out is not None:
        print(json.dumps(json_keys(out), ensure_ascii=False, default=str) if args.json else render(out))
    return code


if __name__ == "__main__":
    sys.exit(main())
