"""Personal information on screen and in exports (PIPL; DESIGN §9).

ID numbers, health and income are masked by default. The masked ID number keeps the 6-digit
region and the last 4 characters (`513225********1234`): enough to tell two people of one village
apart, not enough to recover the number. The birth date is cut to the year, since it would
otherwise give back the 8 masked digits. Showing a card whole is a deliberate act by a named
operator and is written to the audit log (`lw_audit`) every time.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from node.domain.person import Person
from node.engine.store import Store

MASK = "***"
SENSITIVE = ("health", "household_income", "monthly_pay", "intended_pay")  # shown as MASK


def mask_id_number(number: str | None) -> str | None:
    """'513225199001011234' → '513225********1234'; anything not 18 characters is masked whole."""
    if number is None:
        return None
    if len(number) != 18:
        return "*" * len(number)
    return number[:6] + "*" * 8 + number[-4:]


def mask_phone(number: str | None) -> str | None:
    """'13812345678' → '138****5678': the carrier prefix and last four, as banks print them."""
    if number is None:
        return None
    return number[:3] + "****" + number[-4:] if len(number) == 11 else "*" * len(number)


def mask_person(values: Mapping[str, Any]) -> dict[str, Any]:
    """A card as lists and exports show it by default."""
    out = dict(values)
    if "id_number" in out:
        out["id_number"] = mask_id_number(out["id_number"])
    if isinstance(out.get("birth_date"), str):
        out["birth_date"] = out["birth_date"][:4]
    for k in SENSITIVE:
        if out.get(k) is not None:
            out[k] = MASK
    return out


def show_person(store: Store, row: bytes, actor: str, full: bool = False) -> dict[str, Any] | None:
    """One person's card, masked unless `full`; a full view is logged with who asked for it."""
    tbl: Any = Person.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        found = conn.execute(select(tbl).where(tbl.c.id == row.hex())).first()
    if found is None:
        return None
    values = dict(found._mapping)
    if not full:
        return mask_person(values)
    store.audit(actor, "view-full", "person", row.hex(),
                "显示完整个人信息 / full view: id_number, birth_date, " + ", ".join(SENSITIVE))
    return values
