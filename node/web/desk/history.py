"""A card's history: who changed what, when — from the merge state and the access log.

The merge state keeps, for every field, the stamp and the key of the write that holds it now
(and for skills and certificates, of every element added or removed), so the history shows the
latest change of each field by any replica (this computer, the county's correction, a township),
in local time. The access log adds who on this computer saved or viewed the card. Values of
personal fields are masked here as everywhere else.
"""
from __future__ import annotations

from typing import Any

from conflict.lww import LwwState
from conflict.orset import SetState
from conflict.row import SALT
from node.web import audit, messages
from node.web.desk.state import Desk
from node.web.masking import MASK, SENSITIVE, mask_id_number
from protocol.clock import physical_ms


def _shown(field: str, value: Any) -> str:
    if field == "id_number":
        return mask_id_number(str(value)) or ""
    if field in SENSITIVE:
        return MASK
    if field == "birth_date" and isinstance(value, str):
        return value[:4]
    return messages.yes_no(value) if isinstance(value, bool) else ("" if value is None else str(value))


def history(desk: Desk, row: str, table: str = "person") -> list[dict[str, Any]]:
    """Entries newest first: {at (ms), who, what}."""
    out: list[dict[str, Any]] = []
    state = desk.store.row_state(table, bytes.fromhex(row))
    for field, st in (state.fields.items() if state else ()):
        if field in ("scope", SALT):  # where it is, and the salt no one reads (node.redact.salted)
            continue
        label = messages.LABELS.get(field, field)
        if isinstance(st, LwwState):
            out.append({"at": physical_ms(st.hlc), "who": desk.actor_name(st.author),
                        "what": f"{label}:{_shown(field, st.value)}"})
        elif isinstance(st, SetState):
            for items, how in ((st.adds, "增加"), (st.removed, "增加(后已删除)")):
                for elem, (hlc, author) in items:
                    out.append({"at": physical_ms(hlc), "who": desk.actor_name(author), "what": f"{label}{how}:{elem}"})
    entries, _ = audit.entries(desk.store.engine, row=row, limit=100)
    out += [{"at": e.at, "who": f"账号 {e.actor}", "what": f"{e.action_name}:{e.detail}"} for e in entries]
    out.sort(key=lambda e: e["at"], reverse=True)
    return out
