"""Personal data as screens show it by default (PIPL): the domain's masking plus a phone's.

The ID number and the sensitive fields are masked by `node.domain.privacy` (one rule for the CLI
and the screens). Phones are shown whole to the village that holds them (brokers call people), but
masked in the console's cross-village lists with `mask_phone`.
"""
from __future__ import annotations

from node.domain.privacy import MASK, SENSITIVE, mask_id_number, mask_person

__all__ = ["MASK", "SENSITIVE", "mask_id_number", "mask_person", "mask_phone", "FULL_FIELDS"]

FULL_FIELDS = "id_number, birth_date, " + ", ".join(SENSITIVE)


def mask_phone(phone: str | None) -> str | None:
    """'13800138000' → '138****8000'."""
    if not phone:
        return phone
    return phone[:3] + "****" + phone[-4:] if len(phone) == 11 else "*" * len(phone)
