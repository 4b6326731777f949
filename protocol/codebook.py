"""Table and field numbers for changeset bodies v2 (docs/wire-format.md): the one place they are declared.

A v2 body names a table or field by a small integer instead of its name when this codebook numbers
it, which saves ~17 of v1's 58 bytes per field change. The numbers are part of the wire contract, so
they live in `protocol/` (which imports nothing of `node/`); `tests/protocol/test_codebook.py` checks
that every replicated table and field of `node.engine.schema` has one, so a new field cannot be forgotten.

Append-only: a schema version that adds tables or fields appends one generation below and never edits
an earlier one. A table's number is its order of first appearance over all generations (from 1), a
field's number its order within its table (from 1); field 0 of every table is the row delete `"*"`.
A name a codebook does not number travels as its string (tests' tables, a field added without a
number): v2 can say everything v1 can.

A body written with a newer schema may carry numbers this build has never seen; it decodes with
placeholder names (`"#7"`) and is held as a changeset of a newer schema, never dropped, until an
upgrade brings the generation that names them (docs/wire-format.md "Unknown numbers").
"""
from __future__ import annotations

from dataclasses import dataclass

DELETE_CODE = 0
PLACEHOLDER = "#"  # decoded names of numbers from a newer schema start with it; no literal name may

# (schema version, {table: fields added in that version}), oldest first. Append only.
GENERATIONS: tuple[tuple[int, dict[str, tuple[str, ...]]], ...] = (
    (2, {
        "person": ("scope", "id_number", "name", "sex", "birth_date", "phone", "education", "skills",
                   "certificates", "health", "household_address", "household_size", "household_income",
                   "poverty_status", "two_after", "employment", "region_class", "employer", "position",
                   "monthly_pay", "satisfaction", "willing_to_migrate", "intended_region", "intended_industry",
                   "intended_pay", "updated_on", "closed_on", "closed_reason", "successor", "copied",
                   "needs_correction"),
        "broker": ("scope", "id_number", "name", "sex", "birth_date", "phone", "hukou", "background", "person",
                   "stage", "applied_on", "recommended_on", "reviewed_on", "exam_passed_on", "certificate_no",
                   "certified_on", "noticed_on", "filed_on", "rejected_on", "rejected_reason", "revoked_on",
                   "revoked_reason"),
        "broker_review": ("scope", "broker", "year", "transfers", "outcome", "reviewed_on"),
        "broker_login": ("scope", "broker", "day"),
        "broker_training": ("scope", "broker", "course", "kind", "provider", "start_date", "days"),
        "employer": ("scope", "uscc", "name", "region", "industry", "address", "contact_name", "contact_phone"),
        "job_posting": ("scope", "employer", "title", "positions", "pay_low", "pay_high", "region_class", "industry",
                        "gig", "posted_on", "valid_until", "requirements", "contact_phone", "closed"),
        "employment_check": ("scope", "person", "month", "status", "checked_by", "method", "checked_on", "note"),
        "service_order": ("scope", "kind", "title", "items", "pay_per_item", "due_on", "stage", "broker",
                          "completed_items", "posted_on", "accepted_on", "completed_on", "paid_on", "cancelled_on",
                          "cancelled_reason", "note"),
        "transfer_request": ("scope", "person", "id_number", "to_place", "reason", "requested_on", "stage",
                             "decided_on", "refusal", "new_card"),
        "placement": ("scope", "person", "origin", "broker", "employer", "employer_name", "position", "start_date",
                      "contract_months", "social_insurance", "region_class", "monthly_pay", "stage", "planned_on",
                      "signed_on", "started_on", "stable_on", "ended_on", "end_reason", "revoked_on",
                      "revoked_reason", "labor_contract", "fare_yuan", "fare_receipt"),
        "follow_up": ("scope", "placement", "person", "origin", "visited_on", "method", "still_employed",
                      "monthly_pay", "satisfaction", "issues", "note"),
        "return_registration": ("scope", "person", "origin", "returned_on", "reason", "holiday", "going_out_again",
                                "leaving_on", "needs", "note"),
        "service_station": ("scope", "name", "staff", "area_m2", "has_screen", "grade", "opened_on", "phone"),
        "service_log": ("scope", "station", "service", "person", "served_on", "result", "note"),
        "training_need": ("scope", "person", "origin", "course", "mode", "registered_on", "note", "met"),
        "training_record": ("scope", "person", "origin", "course", "provider", "start_date", "days",
                            "certificate_obtained", "certificate_name", "subsidy_class"),
        "village_profile": ("scope", "name", "registered_population", "resident_population", "households",
                            "labor_force", "updated_on"),
        "wage_arrears": ("scope", "person", "claimant", "employer", "employer_name", "amount_yuan", "months",
                         "broker", "reported_on", "status", "handled_by", "resolved_on", "note"),
        # engine records that travel as changes (node/domain/erase.py, protocol/redaction.py)
        "lw_erase_request": ("scope", "rows", "reason", "actor"),
        "lw_redaction": ("record",),
    }),
)


@dataclass(frozen=True)
class Codebook:
    """Names ↔ numbers, each with the schema version that brought it."""

    tables: dict[str, tuple[int, int]]  # table → (code, since)
    table_names: dict[int, str]
    fields: dict[str, dict[str, tuple[int, int]]]  # table → field → (code, since)
    field_names: dict[str, dict[int, str]]
    schema: int  # the newest generation this build knows

    def table_code(self, table: str, schema: int) -> int | None:
        """The number `table` must travel as in a body of `schema`, or None (it travels as its name)."""
        got = self.tables.get(table)
        return got[0] if got is not None and got[1] <= schema else None

    def field_code(self, table: str, field: str, schema: int) -> int | None:
        got = self.fields.get(table, {}).get(field)
        return got[0] if got is not None and got[1] <= schema else None


def _build() -> Codebook:
    tables: dict[str, tuple[int, int]] = {}
    fields: dict[str, dict[str, tuple[int, int]]] = {}
    newest = 0
    for since, added in GENERATIONS:
        if since <= newest:
            raise ValueError("codebook generations go up one schema at a time")
        newest = since
        for table, names in added.items():
            tables.setdefault(table, (len(tables) + 1, since))
            mine = fields.setdefault(table, {})
            for name in names:
                if name in mine or name == "*":
                    raise ValueError(f"codebook: {table}.{name} is numbered twice")
                mine[name] = (len(mine) + 1, since)
    return Codebook(
        tables=tables,
        table_names={code: name for name, (code, _) in tables.items()},
        fields=fields,
        field_names={tb: {code: name for name, (code, _) in fs.items()} for tb, fs in fields.items()},
        schema=newest,
    )


CODEBOOK = _build()
