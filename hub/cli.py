"""`laowu-hub`: set up and run county and province hubs.

    laowu-hub init-province --dir P --code 510000000000     root key (P/root.key, to move offline), hub key, province file, hub database
    laowu-hub init --dir C --code 513225000000 --province P/province.laowu   key + enrollment request
    laowu-hub approve --dir P --request C/enroll-request.laowu --out C/certs.laowu
    laowu-hub install --dir C --certs C/certs.laowu
    laowu-hub otp --dir C --place 513225103201 [--role village]   one-time code for online enrollment
    laowu-hub revoke --dir C --key HEX --reason "laptop stolen" [--upstream URL --upstream-key HEX] [--yes]
    laowu-hub review list|keep --dir C [--key K --scope S --upto N]   what revocations held back
    laowu-hub quarantine list|release|decline --dir C [--id ID]       changesets stamped too far ahead
    laowu-hub review deletes --dir C                                  every deleted row, by whom
    laowu-hub rekey --dir C --old HEX --request REQ --out CERTS
    laowu-hub serve --dir C --port 8700 [--upstream URL --upstream-key HEX]
    laowu-hub erase --dir C (--person ROWID | --id-number X | --request ROWID) --reason TEXT
    laowu-hub erase --dir C --list                 erasure requests from villages not yet carried out
    laowu-hub status --dir C
    laowu-hub filing NAME --dir C --scope CODE --year YYYY [--month MM] --out FILE   (hub/cli_filing.py)
    laowu-hub user add --dir C --name zhang --role operator [--scope 513225103000]   console account
    laowu-hub import-bundle --dir C --file /media/usb/to-county.laowu
    laowu-hub conflicts list|show|resolve --dir C …   and   laowu-hub transfer list|approve|refuse|move --dir C …
        (hub/cli_identity.py: duplicate cards and transfers, signed with this hub's key)

A hub's private key stays unencrypted on its server unless LAOWU_PASSPHRASE is set (an empty one is
refused); the province root key is always encrypted (LAOWU_ROOT_PASSPHRASE, else LAOWU_PASSPHRASE).
"""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import secrets
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hub import cli_filing, cli_identity, enroll, review
from hub import config as hubconfig
from node import logs
from node.domain.rules import RULES
from node.files import ProvinceFile, load_chain, load_province, save_chain, save_province, write_atomic
from node.engine.db import HUB_CACHE_MB
from node.engine.store import Store
from node.version import describe
from node.sync.verdict import EXIT_ERROR, EXIT_REFUSED, verdict
from protocol import certs, clock, messages, scope
from protocol.errors import ConfigError, LaowuError
from protocol.keys import KeyPair, short_id

if TYPE_CHECKING:  # the network client (httpx), the web app (starlette) and the filings (xlsxwriter) are
    # imported by the commands that use them: at the top they were a third of every `laowu-hub` start-up
    from node.sync.client import SyncClient

YEAR_MS = 365 * 24 * 3600 * 1000
log = logging.getLogger("laowu.hub")


def _paths(d: str) -> tuple[Path, Path, Path]:
    base = Path(d)
    return base / "hub.key", base / "hub.sqlite", base / "hub.json"


def _db(args: argparse.Namespace) -> str:
    return args.db or str(_paths(args.dir)[1])


def _key(args: argparse.Namespace) -> KeyPair:
    return KeyPair.load(_paths(args.dir)[0], os.environ.get("LAOWU_PASSPHRASE"))


def _open(args: argparse.Namespace) -> Store:
    return Store.open(_db(args), _key(args), rules=RULES, engine_kw={"cache_mb": HUB_CACHE_MB})


def cmd_init_province(args: argparse.Namespace) -> dict[str, object]:
    """The province root key goes to its own file, always encrypted, for the operator to move off the
    machine (a USB stick in a safe); the online province hub serves with a key the root certifies.
    Losing the server then loses a key the root can revoke and replace, not the trust anchor."""
    keyfile, _, _ = _paths(args.dir)
    root_file = Path(args.root_key or Path(args.dir) / "root.key")
    root_pass = os.environ.get("LAOWU_ROOT_PASSPHRASE", os.environ.get("LAOWU_PASSPHRASE"))
    if root_pass is None:
        raise ConfigError("省根密钥必须加密 the province root key is always encrypted: set LAOWU_ROOT_PASSPHRASE "
                          "(or LAOWU_PASSPHRASE)")
    root, hub = KeyPair.generate(), KeyPair.generate()
    root.save(root_file, root_pass)
    hub.save(keyfile, os.environ.get("LAOWU_PASSPHRASE"))
    now = clock.wall_ms()
    root_cert = certs.issue(root, root.public, "province", [args.code], now - 3600_000, now + 30 * YEAR_MS, 1)
    hub_cert = certs.issue(root, hub.public, "province", [args.code], now - 3600_000, now + 10 * YEAR_MS, 2)
    pf = ProvinceFile(root_cert, hub_cert)  # hub_cert: where nodes fall back to
    save_province(Path(args.dir) / "province.laowu", pf)
    Store.create(_db(args), hub, args.code, root.public, [root_cert, hub_cert])
    return {"root": root.public.hex(), "short": root.short, "hub": hub.public.hex(), "hub_short": hub.short,
            "root_key": str(root_file), "province_file": str(Path(args.dir) / "province.laowu")}


def cmd_init(args: argparse.Namespace) -> dict[str, object]:
    keyfile, _, _ = _paths(args.dir)
    pf = load_province(args.province)
    key = KeyPair.generate()
    key.save(keyfile, os.environ.get("LAOWU_PASSPHRASE"))
    Store.create(_db(args), key, args.code, pf.root, [pf.root_cert])
    req = messages.EnrollRequest.make(key, args.code, scope.level(args.code), args.operator, clock.wall_ms())
    out = Path(args.dir) / "enroll-request.laowu"
    write_atomic(out, req.encode())
    return {"author": key.public.hex(), "short": key.short, "request": str(out)}


def cmd_approve(args: argparse.Namespace) -> dict[str, object]:
    store = _open(args)
    req = messages.EnrollRequest.decode(Path(args.request).read_bytes())
    raw = enroll.approve(store, req)
    save_chain(args.out, store.trust.chains({req.pub}))
    cert = certs.decode_certificate(raw)
    return {"issued": cert.describe(), "out": args.out}


def cmd_install(args: argparse.Namespace) -> dict[str, object]:
    store = _open(args)
    for raw in load_chain(args.certs):
        store.add_certificate(raw)
    mine = store.trust.verify_chain(store.author, store.hlc.physical())
    return {"certificate": mine.describe()}


def cmd_otp(args: argparse.Namespace) -> dict[str, object]:
    store = _open(args)
    code = args.value or enroll.new_otp()
    enroll.add_otp(store, code, args.place, args.role or scope.level(args.place), int(args.hours * 3600_000))
    return {"otp": code, "place": args.place, "expires": clock.format_ms(store.hlc.physical() + int(args.hours * 3600_000))}


def _upstream(store: Store, args: argparse.Namespace) -> SyncClient | None:
    """The hub above (from --upstream or the settings file), asked for its heads before a cut."""
    if not getattr(args, "upstream", None):
        return None
    if not getattr(args, "upstream_key", None):
        raise ConfigError("--upstream 需要 --upstream-key / --upstream needs --upstream-key (the province hub's id)")
    from node.sync.client import SyncClient

    return SyncClient(store, args.upstream, bytes.fromhex(args.upstream_key))


def cmd_revoke(args: argparse.Namespace) -> dict[str, object]:
    """Without --yes, only the preview: what the revocation keeps and what it would cut."""
    store = _open(args)
    subject = enroll.find_key(store, args.key)
    upstream = _upstream(store, args)
    try:
        if not args.yes:
            p = enroll.revoke_preview(store, subject, upstream)
            return {"预览 preview": f"撤销 revoke {p.describe}", "上级 upstream": p.upstream,
                    "保留至 kept up to (feed: seq)": p.cutoffs or "无 none", "保留的变更集 changesets kept": p.kept,
                    "保留的证书与撤销 certificates/revocations it signed, kept": p.signed,
                    "将截留待审 held back for review": [f"{sc}#{seq} ({where})" for sc, seq, where in p.cut] or "无 nothing",
                    "下一步 next": "确认撤销请加 --yes / add --yes to revoke"}
        raw = enroll.revoke(store, subject, args.reason, keep_revocations=not args.distrust_revocations, upstream=upstream)
    finally:
        if upstream is not None:
            upstream.close()
    rev = certs.decode_revocation(raw)
    logs.event(log, "revoke", key=short_id(rev.subject), cutoffs=len(rev.cutoffs), reason=args.reason)
    return {"revoked": short_id(rev.subject), "cutoffs": rev.cutoffs, "kept": len(rev.kept)}


def cmd_rekey(args: argparse.Namespace) -> dict[str, object]:
    store = _open(args)
    req = messages.EnrollRequest.decode(Path(args.request).read_bytes())
    upstream = _upstream(store, args)
    try:
        enroll.rekey(store, enroll.find_key(store, args.old), req, upstream=upstream)
    finally:
        if upstream is not None:
            upstream.close()
    save_chain(args.out, store.trust.chains({req.pub}))
    return {"successor": short_id(req.pub), "out": args.out}


def cmd_quarantine(args: argparse.Namespace) -> dict[str, object]:
    """Changesets stamped too far ahead (a wrong laptop clock): which village each blocks, release, decline."""
    store = _open(args)
    items = review.quarantined(store)
    if args.action == "list":
        return {"隔离 quarantined": len(items), "items": _explained(store, items) or "无 nothing"}
    if not args.id:
        raise ConfigError(f"quarantine {args.action} 需要 --id / needs --id (the first characters shown by `list`)")
    found = [q for q in items if q.id.hex().startswith(args.id.lower())]
    if len(found) != 1:
        raise ConfigError(f"--id {args.id}: {'无此隔离记录 no such quarantined changeset' if not found else '不唯一 ambiguous'}")
    q = found[0]
    if args.action == "decline":
        store.decline_quarantine([q.id])
        logs.event(log, "quarantine.decline", place=q.scope, seq=q.seq)
        return {"已拒绝 declined": f"{q.scope} #{q.seq}",
                "下一步 next": f"{q.waiting} later changesets of this village still wait: re-key its laptop "
                               "(laowu-hub rekey) after its clock is fixed"}
    if args.as_stamped:  # its values outrank every later edit until the date they claim
        cap, outcomes = None, store.release_quarantine([q.id])
    else:
        cap, outcomes = review.release_capped(store, q.id)
    refused = review.not_released(store, q.id, outcomes, signed=cap is not None)
    logs.event(log, "quarantine.release", place=q.scope, seq=q.seq, capped=not args.as_stamped,
               outcome=refused.code if refused else "released")
    if refused is not None:
        return _not_released(args, q, refused)
    if cap is None:  # as stamped: no ruling
        return {"已按原时间戳放行 released as stamped": f"{q.scope} #{q.seq}",
                "结果 outcome": [o.get("status") for o in outcomes]}
    return {"已放行 released": f"{q.scope} #{q.seq}, stamps capped at {clock.format_hlc(cap)} on every replica",
            "结果 outcome": [o.get("status") for o in outcomes]}


def _not_released(args: argparse.Namespace, q: review.Quarantined, refused: review.NotReleased) -> dict[str, object]:
    """A release refused (before its ruling was signed, or by the apply): said plainly, with why and
    what to do, and exit 3 as for any refused changeset (node.sync.verdict)."""
    from node.web.messages import refusal

    why = f"{refusal(refused.code)} {refused.code}: {refused.reason}"
    if refused.quarantined:
        then = (f"拒绝放行 decline it: laowu-hub quarantine decline --dir {args.dir} --id {q.id.hex()[:16]}; "
                "该村之后的记录仍会等待,需为该电脑更换密钥 the village's later changesets keep waiting: re-key its laptop")
    else:
        then = "它已不在隔离区 it is no longer quarantined: laowu-hub status"
    print(f"未能放行 release refused: {q.scope} #{q.seq}: {why}\n下一步 next: {then}", file=sys.stderr)
    args.exit_code = EXIT_REFUSED
    return {"未能放行 not released": f"{q.scope} #{q.seq}", "原因 reason": why,
            "放行裁定 ruling": "拒绝前已签署,留在本平台的记录里 signed before the refusal: it stays in this hub's feed"
                               if refused.signed else "未签署 none signed",
            "下一步 next": then}


def _explained(store: Store, items: list[review.Quarantined]) -> list[dict[str, str]]:
    """Per quarantined changeset: its id, then what releasing and declining it would do."""
    out = []
    for q in items:
        c = review.choices(store, q)
        out.append({"id": f"{q.id.hex()[:16]} by {short_id(q.author)}", "release": c.release, "decline": c.decline})
    return out


def cmd_review(args: argparse.Namespace) -> dict[str, object]:
    """What waits for staff: what revocations held back (take some back in with `keep`), the villages
    blocked by a changeset stamped ahead (with what releasing or declining it does), every delete."""
    store = _open(args)
    if args.action == "deletes":
        gone = review.deleted_rows(store)
        return {"已删除记录 rows deleted": len(gone),
                "items": [f"{d.table} {d.row.hex()} deleted by {short_id(d.author)}, stamped "
                          f"{clock.format_hlc(d.hlc)}" for d in gone] or "无 nothing"}
    if args.action == "list":
        items = review.held_back(store)
        early = review.quarantined(store)
        return {"截留待审 held back by revocations": len(items),
                "items": [f"{short_id(h.author)} {h.scope}#{h.seq}: {h.changes} changes, received "
                          f"{clock.format_ms(h.received)}" for h in items] or "无 nothing",
                "时钟超前被隔离 quarantined for a clock ahead (laowu-hub quarantine release|decline --id ID)": len(early),
                "blocked": _explained(store, early) or "无 nothing"}
    if not (args.key and args.scope and args.upto):
        raise ConfigError("review keep 需要 --key --scope --upto / review keep needs --key, --scope and --upto")
    rev = certs.decode_revocation(review.keep_upto(store, enroll.find_key(store, args.key), args.scope, args.upto,
                                                   args.reason))
    logs.event(log, "review.keep", key=short_id(rev.subject), scope=args.scope, upto=args.upto)
    return {"kept up to": rev.cutoffs, "still held back": review.count_held_back(store)}


def cmd_serve(args: argparse.Namespace) -> dict[str, object]:
    from hub.app import Hub
    from hub.server import serve
    from node.sync.client import Background, SyncClient

    store = _open(args)
    store.hlc.max_ahead_ms = int(args.max_ahead_minutes * 60_000)
    relay = None
    if args.upstream:
        relay = Background(SyncClient(store, args.upstream, bytes.fromhex(args.upstream_key), ca_file=args.ca_file), interval=args.relay_interval)
        relay.start()
    try:
        logs.event(log, "serve", place=store.home, host=args.host, port=args.port, upstream=args.upstream,
                   database=store.engine.dialect.name)
        tls = (str(args.tls_cert), str(args.tls_key)) if args.tls_cert else None
        serve(Hub(store, upstream=relay, verify_workers=args.verify_workers), args.host, args.port, tls=tls,
              max_connections=args.max_connections)
    finally:
        if relay:
            relay.close()
    return {}


def cmd_backup(args: argparse.Namespace) -> dict[str, object]:
    """A consistent online copy of a SQLite hub; a PostgreSQL hub is told to use pg_dump."""
    from node.backup import backup
    from node.engine.db import make_engine

    engine = make_engine(_db(args))
    try:
        info = backup(engine, args.out)
    finally:
        engine.dispose()
    return {"backup": str(info.path), "bytes": info.bytes, "feeds": info.feeds, "changesets": info.changesets,
            "taken": clock.format_ms(info.taken_ms)}


def cmd_config_check(args: argparse.Namespace) -> dict[str, object]:
    values, problems = hubconfig.check(args.file)
    if problems:
        raise ConfigError(f"{args.file} 有 {len(problems)} 处问题 has {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    return {"ok": f"{args.file} 没有问题 is valid", **{k: str(v) if v is not None else "-" for k, v in values.items()}}


def cmd_relay(args: argparse.Namespace) -> dict[str, object]:
    from node.sync.client import SyncClient

    store = _open(args)
    report = SyncClient(store, args.upstream, bytes.fromhex(args.upstream_key), ca_file=args.ca_file).sync()
    code, message = verdict(report.counts)
    if code:
        print(f"未完成 unfinished: {message}", file=sys.stderr)
        args.exit_code = code
    return {"relay": report.line(), "outcomes": report.counts}


def cmd_erase(args: argparse.Namespace) -> dict[str, object]:
    """Erase a person (PIPL) from every replica: delete, redact, seal; logged without the values."""
    from node.domain import erase
    from node.cli.view import find_person

    store = _open(args)
    if args.list:
        return {"requests": [erase.describe(r) for r in erase.pending(store)]}
    actor = args.operator or "county"
    if args.request:
        done = erase.approve(store, cli_identity.row_id(args.request), actor=actor)
    else:
        if not args.reason:
            raise ConfigError("请写明删除原因 --reason / give the reason with --reason")
        row = cli_identity.row_id(args.person) if args.person else bytes.fromhex(find_person(store, args.id_number)["id"])
        done = erase.erase_person(store, row, args.reason, actor=actor)
    sealed = store.seal()  # in the log now: served to the next puller and relayed up with the next sync
    if args.vacuum_full:
        from node.engine.redact import forget

        forget(store, full=True)
    return {"erased rows": done.rows, "redacted changesets": done.changesets, "sealed": len(sealed),
            "next": "同步后各副本清除 / every replica forgets at its next sync"}


def cmd_user_add(args: argparse.Namespace) -> dict[str, object]:
    """A console account (`/console/`): scoped to this hub's place unless a place inside it is given."""
    from node.web import accounts

    store = _open(args)
    where = args.scope or store.home
    scope.check_code(where, "scope")
    if not scope.contains(store.home, where):
        raise ConfigError(f"账号范围{where}不在本平台{store.home}之内 / the account's scope {where} is outside this hub's "
                          f"{store.home}")
    password = os.environ.get("LAOWU_USER_PASSWORD") or getpass.getpass("新账号的密码 password: ")
    acct = accounts.create(store.engine, args.name, password, scope=where, role=args.role, display=args.display)
    return {"account": acct.name, "role": acct.role, "scope": acct.scope}


def cmd_import_bundle(args: argparse.Namespace) -> dict[str, object]:
    """A USB bundle brought by a village with no network, imported at the hub; each envelope's outcome."""
    from node.sync.bundles import import_bundle

    summary = import_bundle(_open(args), args.file, passphrase=os.environ.get("LAOWU_BUNDLE_PASSPHRASE"))
    for p in summary.problems:
        print(f"{p.get('status')}: {p.get('code', '')} {p.get('reason', '')}", file=sys.stderr)
    code, message = verdict(summary.counts)
    if code:
        print(f"未完成 unfinished: {message}", file=sys.stderr)
        args.exit_code = code
    return {"envelopes": summary.envelopes, "outcomes": summary.counts, "released": summary.released,
            "certificates": summary.certificates, "revocations": summary.revocations}


def cmd_status(args: argparse.Namespace) -> dict[str, object]:
    st = _open(args).status()
    return {"home": st.home, "author": st.author.hex(), "feeds": st.feeds, "pending": st.pending,
            "quarantined": st.quarantined, "forks": st.forks, "conflicts": st.conflicts}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="laowu-hub", description="Laowu county and province hubs")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--version", action="version", version=describe("laowu-hub"))
    p.add_argument("--verbose", action="store_true", default=None,
                   help="log everything (DIR/logs/laowu-hub.log), also to stderr")
    sub = p.add_subparsers(dest="cmd", required=True)

    def cmd(name: str, fn: object, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help)
        sp.add_argument("--dir", help="the hub's directory (key, database); or hub.dir in --config")
        sp.add_argument("--db", help="SQLAlchemy URL instead of DIR/hub.sqlite (e.g. postgresql://...)")
        sp.add_argument("--config", default=os.environ.get("LAOWU_HUB_CONFIG"),
                        help="a TOML settings file (hub/config.py); LAOWU_HUB_* variables override it, flags override both")
        sp.set_defaults(fn=fn)
        return sp

    sp = cmd("init-province", cmd_init_province, "create the province root key (kept offline) and the province hub")
    sp.add_argument("--code", required=True)
    sp.add_argument("--root-key", help="where to write the encrypted root key (default DIR/root.key); move it off the server")
    sp = cmd("init", cmd_init, "create a county hub key and its enrollment request")
    sp.add_argument("--code", required=True)
    sp.add_argument("--province", required=True, help="the province file")
    sp.add_argument("--operator", default="")
    sp = cmd("approve", cmd_approve, "issue a certificate for an enrollment request file")
    sp.add_argument("--request", required=True)
    sp.add_argument("--out", required=True)
    sp = cmd("install", cmd_install, "install this hub's certificate chain")
    sp.add_argument("--certs", required=True)
    sp = cmd("otp", cmd_otp, "make a one-time code for online enrollment of a place")
    sp.add_argument("--place", required=True)
    sp.add_argument("--role")
    sp.add_argument("--value", help=argparse.SUPPRESS)
    sp.add_argument("--hours", type=float, default=enroll.OTP_TTL_MS / 3600_000, help="how long the code stays valid (24)")
    sp = cmd("revoke", cmd_revoke, "revoke a key, keeping what it wrote up to the heads held here")
    sp.add_argument("--key", required=True, help="the key: its 8-character short id or the 64-hex author id")
    sp.add_argument("--reason", required=True)
    sp.add_argument("--yes", action="store_true", help="revoke; without it only the preview is shown")
    sp.add_argument("--distrust-revocations", action="store_true",
                    help="do not keep the revocations the key signed (a county key gone rogue)")
    sp.add_argument("--upstream", help="sync with this hub (the province) first, so its heads are kept")
    sp.add_argument("--upstream-key", help="the upstream hub's author id (hex)")
    sp = cmd("rekey", cmd_rekey, "successor certificate for a laptop restored from backup")
    sp.add_argument("--old", required=True, help="the old key: short id or hex")
    sp.add_argument("--request", required=True)
    sp.add_argument("--out", required=True)
    sp.add_argument("--upstream", help="sync with this hub (the province) first, so its heads are kept")
    sp.add_argument("--upstream-key", help="the upstream hub's author id (hex)")
    sp = cmd("quarantine", cmd_quarantine, "changesets stamped too far ahead: list, release or decline")
    sp.add_argument("action", choices=["list", "release", "decline"])
    sp.add_argument("--id", help="release/decline: the changeset id (its first characters)")
    sp.add_argument("--as-stamped", action="store_true",
                    help="release without capping its stamps (its values then beat every edit until the date they claim)")
    sp = cmd("review", cmd_review, "changesets revocations held back: list, or keep some (raise the cut-off)")
    sp.add_argument("action", choices=["list", "keep", "deletes"])
    sp.add_argument("--key", help="keep: the revoked key")
    sp.add_argument("--scope", help="keep: the feed's place")
    sp.add_argument("--upto", type=int, help="keep: the last seq to take back in")
    sp.add_argument("--reason", default="reviewed by county staff")
    for name, fn, help in [("serve", cmd_serve, "serve the sync protocol"), ("relay", cmd_relay, "one relay run upstream")]:
        sp = cmd(name, fn, help)
        sp.add_argument("--host", help="default 127.0.0.1")
        sp.add_argument("--port", type=int, help="default 8700")
        sp.add_argument("--upstream", help="the province hub URL (county hubs relay to it)")
        sp.add_argument("--upstream-key", help="the province hub's author id (hex)")
        sp.add_argument("--relay-interval", type=float, help="seconds, default 5")
        sp.add_argument("--ca-file", help="CA certificates to trust for the upstream hub's TLS")
        if name == "serve":  # or [tls] cert/key in the config file, LAOWU_HUB_TLS_CERT/KEY
            sp.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
            sp.add_argument("--tls-key", help="the certificate's private key (PEM)")
            sp.add_argument("--verify-workers", type=int, help="processes verifying pushed signatures beside the "
                            "writer; default 0 (the serving process verifies); about the cores less one on a busy hub")
    sp = cmd("erase", cmd_erase, "erase a person from every replica (PIPL), or carry out a village's request")
    which = sp.add_mutually_exclusive_group(required=True)
    which.add_argument("--person", help="the card's row id (hex)")
    which.add_argument("--id-number", help="the card's ID number (a live card held here)")
    which.add_argument("--request", help="a village's erasure request (row id, see --list)")
    which.add_argument("--list", action="store_true", help="requests not yet carried out")
    sp.add_argument("--reason", help="why (logged; no personal values)")
    sp.add_argument("--operator", help="who, for the audit")
    sp.add_argument("--vacuum-full", action="store_true",
                    help="rewrite the database files afterwards (SQLite VACUUM; PostgreSQL VACUUM FULL, an exclusive lock)")
    cmd("status", cmd_status, "feeds, pending, quarantine, forks, conflicts")
    sp = cmd("backup", cmd_backup, "a consistent copy of a SQLite hub's database while it serves (PostgreSQL: pg_dump)")
    sp.add_argument("--out", required=True)
    config_sub = sub.add_parser("config", help="check a settings file").add_subparsers(dest="action", required=True)
    check = config_sub.add_parser("check", help="validate a TOML settings file and show what it sets")
    check.add_argument("file")
    check.set_defaults(fn=cmd_config_check)
    cli_filing.add(sub, _db)
    sp = cmd("user", cmd_user_add, "console accounts: `user add` creates one (password from LAOWU_USER_PASSWORD or asked)")
    sp.add_argument("action", choices=["add"])
    sp.add_argument("--name", required=True)
    sp.add_argument("--role", default="administrator", choices=["viewer", "operator", "administrator"])
    sp.add_argument("--scope", help="the place the account sees (default: this hub's own place)")
    sp.add_argument("--display", help="the name shown on screen")
    sp = cmd("import-bundle", cmd_import_bundle, "import a USB bundle file at the hub")
    sp.add_argument("--file", required=True)
    cli_identity.register(cmd, _open)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if hasattr(args, "config"):
            hubconfig.apply(args, args.config)
    except LaowuError as exc:
        print(f"错误 error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    serving = args.cmd == "serve"  # a service: its log also goes to stderr (the journal under systemd)
    hub_dir = Path(args.dir) if getattr(args, "dir", None) else None
    log_file = getattr(args, "log_file", None) or (hub_dir / "logs" / "laowu-hub.log" if hub_dir else None)
    logs.setup(log_file if hub_dir and (hub_dir.exists() or args.cmd.startswith("init")) else None,
               verbose=bool(args.verbose), stderr_level=logging.INFO if serving else logging.CRITICAL)
    try:
        out = args.fn(args)
    except LaowuError as exc:
        logs.event(log, "command.failed", logging.ERROR, command=args.cmd, code=exc.code, error=str(exc))
        print(f"错误 error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if out:
        print(json.dumps(out, ensure_ascii=False) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    return int(getattr(args, "exit_code", 0))


if __name__ == "__main__":
    sys.exit(main())
