"""Posted forms in, domain fields out; `InvalidValue` back out as a message beside its field.

Checking stays in the domain (`node.domain.validate`, the `clean_*` functions and `ops`): templates
and handlers never re-validate. This module only turns what a browser posts (strings, checkboxes,
several values of one name) into the Python values the domain's forms take, the same way the CLI
does (`node.cli.view.typed`), and maps an error to the field it names.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from node.cli.view import typed
from node.engine.schema import Record
from protocol.errors import InvalidValue


@dataclass(frozen=True)
class Field:
    """One input as a template draws it: `kind` is text | choice | flag | tags | date | number | textarea."""

    name: str
    label: str
    kind: str = "text"
    choices: tuple[str, ...] = ()
    required: bool = False
    hint: str = ""


@dataclass
class FormState:
    """What a form shows: the values typed (kept on error, nothing is lost) and per-field messages."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def fail(self, exc: InvalidValue) -> FormState:
        self.errors[exc.field] = exc.message
        return self

    @property
    def ok(self) -> bool:
        return not self.errors


def collect(form: FormData, fields: Iterable[Field], model: type[Record] | None = None) -> dict[str, Any]:
    """The fields an operator filled in, typed for the domain; blank inputs are left out."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.kind == "flag":
            raw = form.get(f.name)
            if raw in ("1", "0"):
                out[f.name] = raw == "1"
            continue
        if f.kind == "tags":
            words = [str(w) for w in form.getlist(f.name) if str(w).strip()]
            if len(words) == 1 and model is not None:
                out[f.name] = typed(model, f.name, words[0])
            elif words:
                out[f.name] = words
            continue
        raw = form.get(f.name)
        if isinstance(raw, str) and raw.strip():
            out[f.name] = typed(model, f.name, raw.strip()) if model is not None else raw.strip()
    return out


def typed_values(form: FormData, fields: Iterable[Field]) -> dict[str, Any]:
    """The strings as typed, to show the form again after an error."""
    return {f.name: (form.getlist(f.name) if f.kind == "tags" else form.get(f.name, "")) for f in fields}


def as_inputs(values: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as form inputs: lists joined with 、, booleans as '1'/'0', None as blank."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if isinstance(v, bool):
            out[k] = "1" if v else "0"
        elif isinstance(v, list):
            out[k] = "、".join(str(x) for x in v)
        else:
            out[k] = "" if v is None else str(v)
    return out


def all_errors(check: Callable[[dict[str, Any]], object], fields: Mapping[str, Any], first: InvalidValue
               ) -> dict[str, str]:
    """Every field's message, not only the first: the domain's check stops at the first bad field,
    so it is run again without each field it refused until it passes. `check` is the domain's own
    (pure, it writes nothing), called as for an edit so that a field left out is not "required";
    nothing is validated twice in two places."""
    errors = {first.field: first.message}
    rest = {k: v for k, v in fields.items() if k != first.field}
    for _ in range(len(fields)):
        try:
            check(rest)
            break
        except InvalidValue as exc:
            if exc.field in errors:
                break
            errors[exc.field] = exc.message
            rest.pop(exc.field, None)
    return errors
