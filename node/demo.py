"""`make demo`: two replicas edit one worker's card offline, swap signed changesets, converge,
and refuse a forged changeset. Everything real but the network: keys, certificates, merges.
"""
from __future__ import annotations

from conflict.orset import add_op, remove_op
from conflict.registry import Registry
from node.replica import Replica
from node.sandbox import Sandbox
from protocol import clock
from protocol.changeset import Change, Value, seal
from protocol.keys import KeyPair

PROVINCE, COUNTY, VILLAGE = "510000000000", "513225000000", "513225103201"


def show(title: str, r: Replica, row: bytes) -> None:
    values = r.values().get(("person", row)) or {}
    print(f"  {title:<22} " + "  ".join(f"{k}={v!s}" for k, v in values.items()))


def main() -> None:
    box = Sandbox.create(PROVINCE)
    county = box.enroll(COUNTY, "county", PROVINCE)
    village = box.enroll(VILLAGE, "village", COUNTY)
    registry = Registry()
    registry.declare_set("person", "skills")
    # The village laptop's CMOS battery is dead: its wall clock says 2001.
    laptop = Replica(village.key, VILLAGE, box.trust(), registry, wall=lambda: 978_307_200_000 + clock.wall_ms() % 1000)
    hub = Replica(county.key, COUNTY, box.trust(), registry)
    laptop.hlc.correct(hub.hlc.physical())  # learned at the last contact with the county hub

    print("1. 村服务站登记一人一卡 — the village registers a worker")
    row = bytes.fromhex("00" * 8) + b"demo-row"
    card: dict[str, Value] = {"name": "王秀英", "phone": "13812345678", "monthly_pay": 3800}
    for field, value in card.items():
        laptop.write("person", row, field, value)
    laptop.write("person", row, "skills", add_op("家政服务"))
    first = laptop.commit()
    assert first is not None
    print(f"   changeset seq {first.seq}, {len(first.envelope)} bytes, signed by {village.key.short}")
    print(f"   county accepts it: {hub.receive(first.envelope).status}")

    print("2. The network is down. Both sides edit the same card offline:")
    laptop.write("person", row, "phone", "13987654321")
    laptop.write("person", row, "skills", add_op("育婴员"))
    hub.write("person", row, "monthly_pay", 4200)
    hub.write("person", row, "skills", remove_op(hub.rows[("person", row)].fields.get("skills"), "家政服务"))
    a, b = laptop.commit(), hub.commit()
    assert a is not None and b is not None
    show("village sees:", laptop, row)
    show("county sees:", hub, row)

    print("3. The link is back: each side sends what the other lacks (by version vector).")
    for env in hub.missing_for(laptop.vector(), VILLAGE):
        print(f"   county → village: {laptop.receive(env).status}")
    for env in laptop.missing_for(hub.vector(), COUNTY):
        print(f"   village → county: {hub.receive(env).status}")
    show("village sees:", laptop, row)
    show("county sees:", hub, row)
    same = laptop.values() == hub.values()
    print(f"   converged: {'yes' if same else 'NO'}")

    print("4. Replays and forgeries are refused:")
    print(f"   the same changeset again: {hub.receive(a.envelope).status}")
    tampered = a.envelope.replace("13987654321".encode(), "13987654329".encode())
    out = hub.receive(tampered)
    print(f"   one digit of the phone changed in transit: {out.status} ({out.code})")
    thief = KeyPair.generate()
    forged = seal(thief, VILLAGE, 1, None, [Change("person", row, "monthly_pay", 99999, hub.hlc.now())])
    out = hub.receive(forged.envelope)
    print(f"   signed by an unenrolled key: {out.status} ({out.code})")
    sibling = box.enroll("513225103202", "village", COUNTY)
    hub.trust.add_certificate(sibling.cert)
    spoof = seal(sibling.key, VILLAGE, 1, None, [Change("person", row, "monthly_pay", 1, hub.hlc.now())])
    out = hub.receive(spoof.envelope)
    print(f"   a sibling village writing this village: {out.status} ({out.code})")
    show("county still sees:", hub, row)
    if not same:
        raise SystemExit("demo failed: replicas did not converge")


if __name__ == "__main__":
    main()
