"""Reading records: bytes or Python objects in, validated models out, every problem as an InputIssue.

Validation happens once, here, for the whole batch (one ``TypeAdapter`` call), and pydantic's
errors are translated into :class:`~matcher.errors.InputIssue` objects that name the record id and
the field but never the offending value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from matcher.errors import InputError, InputIssue
from matcher.models import Activity, Policy, ProblemDocument, Volunteer

__all__ = [
    "coerce_activities",
    "coerce_policy",
    "coerce_volunteers",
    "load_document",
    "parse_document",
    "read_bytes",
    "read_json",
]

_RECORD_KIND = {"volunteers": "volunteer", "activities": "activity", "policy": "policy"}

M = TypeVar("M", bound=BaseModel)


@cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def _record_id(raw: Any, position: int) -> str:
    if isinstance(raw, Mapping):
        rid = raw.get("id")
        if isinstance(rid, str) and rid:
            return rid
    return f"#{position}"


def _message(error: Mapping[str, Any]) -> str:
    msg = str(error.get("msg", "invalid value"))
    # Our own validators raise ValueError; pydantic prefixes those with "Value error, ".
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def _issues_from(exc: ValidationError, raw: Any, top: str | None) -> list[InputIssue]:
    """Translate a ValidationError; ``top`` is the record list name when ``raw`` is one list."""
    issues = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        loc = list(err["loc"])
        if top is not None:
            loc = [top, *loc]
        record, record_id, rest = "document", "", loc
        if loc and loc[0] in _RECORD_KIND:
            record = _RECORD_KIND[str(loc[0])]
            if record == "policy":
                rest = loc[1:]
            elif len(loc) >= 2 and isinstance(loc[1], int):
                records = raw if top is not None else (raw or {}).get(loc[0])
                item = records[loc[1]] if isinstance(records, Sequence) and loc[1] < len(records) else None
                record_id = _record_id(item, loc[1])
                rest = loc[2:]
            else:
                rest = loc
        field = ".".join(str(part) for part in rest)
        issues.append(InputIssue(record, record_id, field, _message(err), str(err["type"])))
    return issues


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number in strict JSON")


def parse_document(data: bytes) -> ProblemDocument:
    """Parse and validate a problem document from raw bytes (UTF-8, optional BOM).

    Raises :class:`~matcher.errors.InputError` for bytes that are not UTF-8, text that is not
    JSON (``NaN`` and ``Infinity`` included) and every contract violation.

    >>> doc = parse_document(b'{"volunteers": [], "activities": []}')
    >>> doc.policy.selection
    'prefer'
    """
    raw = read_json(data)
    try:
        return ProblemDocument.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_issues_from(exc, raw, None)) from None


def read_json(data: bytes) -> Any:
    """Decode strict JSON from UTF-8 bytes (optional BOM), with errors as :class:`~matcher.errors.InputError`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError.single(
            "document", "", "", f"the file is not valid UTF-8 (bad byte at offset {exc.start})", "not_utf8"
        ) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise InputError.single("document", "", "", f"not valid JSON{where}: {reason}", "not_json") from None


def read_bytes(path: str | Path) -> bytes:
    """A file's bytes, with an unreadable file as :class:`~matcher.errors.InputError`."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InputError.single("document", "", "", f"cannot read file: {exc.strerror}", "unreadable") from None


def load_document(path: str | Path) -> ProblemDocument:
    """Read and validate a problem document file; see :func:`parse_document`."""
    return parse_document(read_bytes(path))


def _coerce_list(items: Iterable[Any], model: type[M], top: str) -> list[M]:
    items = list(items)
    if all(isinstance(item, model) for item in items):
        return items
    raw = [item.model_dump() if isinstance(item, BaseModel) else item for item in items]
    try:
        return _list_adapter(model).validate_python(raw)
    except ValidationError as exc:
        raise InputError(_issues_from(exc, raw, top)) from None


def coerce_volunteers(items: Iterable[Volunteer | Mapping[str, Any]]) -> list[Volunteer]:
    """Validate volunteers given as models or plain mappings, in one batch."""
    return _coerce_list(items, Volunteer, "volunteers")


def coerce_activities(items: Iterable[Activity | Mapping[str, Any]]) -> list[Activity]:
    """Validate activities given as models or plain mappings, in one batch."""
    return _coerce_list(items, Activity, "activities")


def coerce_policy(policy: Policy | Mapping[str, Any] | None) -> Policy:
    """Validate a policy; ``None`` gives the default policy."""
    if policy is None:
        return Policy()
    if isinstance(policy, Policy):
        return policy
    try:
        return Policy.model_validate(policy)
    except ValidationError as exc:
        raise InputError(_issues_from(exc, policy, "policy")) from None
