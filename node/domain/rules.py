"""Semantic rules: what merging cannot settle, queued for county staff (DESIGN §6).

The data converges by the field policies regardless; these rules look at merged rows and report
disagreements a person must resolve. Stores run them on every row that changed, local or remote,
so each replica that holds both sides of a conflict queues it, under the same key (derived from
the kind and the rows). A detail names both rows in row-id order, so it reads the same wherever
it is found.

1. `PlacementOverlap`: one person placed by two different brokers for overlapping periods
   ([start, start + contract) cut short by an end date). Usually two brokers both claiming the
   same person (and the 300-yuan subsidy); sometimes a real job change entered with a wrong date.
2. `BrokerTwice`: one ID number with two standing broker applications or filings: in two villages
   (a broker is filed where they live and serve), or twice in one village (entered on two
   machines). Rejected and revoked applications stand for nothing and conflict with nothing.
3. `DuplicateId`: one ID number on two active person cards (一人一卡 broken): two villages
   registered the same person offline, or a corrected ID number collides with another card. Both
   cards stay intact; a county or township resolves it (`node.domain.identity`): transfer, merge or
   "different people". Closed cards and cards flagged for correction conflict with nothing, so the
   conflict closes itself on every replica once the resolution arrives.

The same checks serve the local write API (`ops.py`), which refuses to create such a conflict on
one machine; the rules catch what two machines create offline.
"""
from __future__ import annotations

from conflict.semantic import RowValues, RowView, Rule, SemanticConflict
from node.domain import broker, placement
from node.domain.person import TRANSFERRED, digest


def _pair(row: bytes, other: bytes) -> tuple[bytes, bytes]:
    return (row, other) if row <= other else (other, row)


def _s(value: object) -> str:
    return value.hex() if isinstance(value, bytes) else str(value)


class PlacementOverlap:
    kind = "placement-overlap"
    tables: tuple[str, ...] = ("placement",)

    def check(self, table: str, row: bytes, values: RowValues, view: RowView) -> list[SemanticConflict]:
        if values.get("stage") == "revoked" or not values.get("broker") or not values.get("person"):
            return []
        out = []
        for other, ov in view.find("placement", person=values["person"]):
            if other == row or ov.get("stage") == "revoked" or not ov.get("broker"):
                continue
            if ov["broker"] != values["broker"] and placement.overlaps(values, ov):
                (ra, a), (rb, b) = sorted(((row, values), (other, ov)), key=lambda x: x[0])
                out.append(SemanticConflict(self.kind, "placement", _pair(row, other),
                    f"同一人员由两名经纪人同时安置:经纪人{_s(a['broker'])[:8]}自{_s(a['start_date'])}起,"
                    f"经纪人{_s(b['broker'])[:8]}自{_s(b['start_date'])}起,时间重叠 / one person placed by "
                    f"two brokers for overlapping periods: placement {ra.hex()[:8]} from "
                    f"{_s(a['start_date'])}, placement {rb.hex()[:8]} from {_s(b['start_date'])}"))
        return out


class BrokerTwice:
    kind = "broker-twice"
    tables: tuple[str, ...] = ("broker",)

    def check(self, table: str, row: bytes, values: RowValues, view: RowView) -> list[SemanticConflict]:
        if values.get("stage") not in broker.ACTIVE or not values.get("id_number"):
            return []
        out = []
        for other, ov in view.find("broker", id_number=values["id_number"]):
            if other == row or ov.get("stage") not in broker.ACTIVE:
                continue
            (ra, a), (rb, b) = sorted(((row, values), (other, ov)), key=lambda x: x[0])
            sa, sb = _s(a["scope"]), _s(b["scope"])
            where = (f"在两个村备案:{sa}与{sb} / filed in two villages, {sa} and {sb}" if sa != sb else
                     f"在{sa}重复登记 / entered twice in village {sa}")
            out.append(SemanticConflict(self.kind, "broker", _pair(row, other),
                f"同一经纪人(身份证号{_s(values['id_number'])[:6]}…)有两条有效记录,{where} "
                f"(records {ra.hex()[:8]}, {rb.hex()[:8]})"))
        return out


def active_card(values: RowValues) -> bool:
    """A card that counts: not closed (transferred, duplicate, merged) and not flagged as holding
    someone else's ID number (a county's "different people" resolution)."""
    return not values.get("closed_on") and not values.get("needs_correction")


class DuplicateId:
    kind = "duplicate-id"
    tables: tuple[str, ...] = ("person",)

    def check(self, table: str, row: bytes, values: RowValues, view: RowView) -> list[SemanticConflict]:
        if not values.get("id_number") or not active_card(values):
            return []
        out = []
        for other, ov in view.find("person", id_number=values["id_number"]):
            if other == row or not active_card(ov):
                continue
            (ra, a), (rb, b) = sorted(((row, values), (other, ov)), key=lambda x: x[0])
            out.append(SemanticConflict(self.kind, "person", _pair(row, other),
                f"同一身份证号({_s(values['id_number'])[:6]}…)有两张有效的卡:{_s(a.get('scope'))}的{ra.hex()[-6:]}"
                f"与{_s(b.get('scope'))}的{rb.hex()[-6:]},请县乡工作人员处理(迁移、合并或确认不是同一人) / one ID "
                f"number on two active cards, {ra.hex()[-6:]} in {_s(a.get('scope'))} and {rb.hex()[-6:]} in "
                f"{_s(b.get('scope'))}: a county or township resolves it (transfer, merge, different people)"))
        return out


class TransferEdit:
    """A transferred card edited after the transfer copied it (its village was offline): the edits are
    on the old card; the county copies them on (`identity.follow`) or lets the new card stand."""

    kind = "transfer-edit"
    tables: tuple[str, ...] = ("person",)

    def check(self, table: str, row: bytes, values: RowValues, view: RowView) -> list[SemanticConflict]:
        successor, copied = values.get("successor"), values.get("copied")
        if values.get("closed_reason") != TRANSFERRED or not isinstance(successor, str) or not copied:
            return []
        if digest(values, successor) == copied:
            return []
        return [SemanticConflict(self.kind, "person", _pair(row, bytes.fromhex(successor)),
            f"迁出后原村又修改了此卡({_s(values.get('scope'))}的{row.hex()[-6:]} → {successor[-6:]}),请县级决定"
            f"是否转入新卡 / the card {row.hex()[-6:]} in {_s(values.get('scope'))} was edited after its transfer "
            f"to {successor[-6:]}: the county copies the edits on (follow) or keeps the new card (keep)")]


RULES: list[Rule] = [PlacementOverlap(), BrokerTwice(), DuplicateId(), TransferEdit()]
