"""Fast validation: plain records (parsed JSON, table rows) straight into columns, no model per record.

Building one pydantic object per record costs about 90 µs; at 10^6 volunteers that alone is
minutes. This module checks each plain record with a few type and range tests written for the
common, valid case and appends it to :class:`~matcher.problem.Columns` directly.

The fast checks are deliberately *at least as strict* as the models: anything unusual (an
unknown field, a number where a string belongs, a datetime in a rarer ISO-8601 spelling) is not
judged here but handed to the pydantic models, which either accept it (and it joins the columns
through the same code as :func:`~matcher.problem.compile_problem`) or reject it with their usual
issue. So the contract has one definition, the models, and errors read the same on every path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from matcher.columns import NO_SIGNUP, Columns, to_micros
from matcher.errors import InputError, InputIssue
from matcher.gcpause import gc_paused
from matcher.models import MAX_PREFERENCE_GROUPS, Activity, Policy, Volunteer
from matcher.problem import Problem, assemble, compile_problem
from matcher.records import _issues_from, _list_adapter, coerce_policy, parse_document, read_bytes, read_json
from matcher.typed_json import decode_document, volunteer_columns

__all__ = ["compile_records", "load_problem", "parse_problem"]

# The ISO-8601 spelling platforms send; rarer ones (week dates, basic format) go to the models.
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})\Z")
_VOLUNTEER_FIELDS = frozenset(Volunteer.model_fields)
_ACTIVITY_FIELDS = frozenset(Activity.model_fields)
_WINDOW_FIELDS = frozenset({"start", "end"})
_LOCATION_FIELDS = frozenset({"lat", "lon"})
_REQUIREMENT_FIELDS = frozenset({"skill", "min_level"})


class _Times:
    """ISO-8601 strings to epoch microseconds, memoised: a menu repeats the same few hundred times."""

    def __init__(self) -> None:
        self._seen: dict[str, int | None] = {}

    def micros(self, value: Any) -> int | None:
        if type(value) is not str:
            return None
        if value in self._seen:
            return self._seen[value]
        result = None
        if _INSTANT.match(value):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is not None:
                result = to_micros(moment)
        self._seen[value] = result
        return result


def _is_int(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def _is_float(value: Any, low: float, high: float) -> bool:
    return type(value) in (int, float) and math.isfinite(value) and low <= value <= high


def _is_id(value: Any) -> bool:
    return type(value) is str and value != ""


class _NotPlainError(Exception):
    """Raised by the fast checks for anything they leave to the models."""


def _location(value: Any) -> tuple[float, float] | None:
    """(lat, lon), or None when absent."""
    if value is None:
        return None
    if type(value) is not dict or value.keys() != _LOCATION_FIELDS:
        raise _NotPlainError
    lat, lon = value["lat"], value["lon"]
    if _is_float(lat, -90, 90) and _is_float(lon, -180, 180):
        return float(lat), float(lon)
    raise _NotPlainError


def _window(value: Any, times: _Times) -> tuple[int, int] | None:
    if type(value) is not dict or value.keys() != _WINDOW_FIELDS:
        return None
    start, end = times.micros(value["start"]), times.micros(value["end"])
    if start is None or end is None or end <= start:
        return None
    return start, end


def _preference_groups(value: Any) -> list[list[str]] | None:
    if type(value) is not list or len(value) > MAX_PREFERENCE_GROUPS:
        return None
    groups: list[list[str]] = []
    seen: set[str] = set()
    for group in value:
        members = [group] if type(group) is str else group
        if type(members) is not list or not members:
            return None
        for member in members:
            if not _is_id(member) or member in seen:
                return None
            seen.add(member)
        groups.append(members)
    return groups


def _distinct_ids(value: Any, *, empty_ok: bool) -> list[str] | None:
    """A plain list of distinct ids (absent/null counts as empty); None when the model must judge."""
    if value is None:
        return []
    if type(value) is not list or not all(_is_id(x) for x in value) or len(set(value)) != len(value):
        return None
    if not value and not empty_ok:
        return None
    return value


def _add_volunteer(c: Columns, r: Any, times: _Times) -> bool:
    """Append ``r`` if it plainly meets the contract; False (nothing appended) leaves it to the models."""
    if type(r) is not dict or not r.keys() <= _VOLUNTEER_FIELDS or not _is_id(r.get("id")):
        return False
    if r.get("history") is not None:
        return False  # rare and nested: the model checks and records it
    orgs = _distinct_ids(r.get("organizations"), empty_ok=True)
    if orgs is None:
        return False
    signup = r.get("signed_up_at")
    signup_micros = times.micros(signup) if signup is not None else NO_SIGNUP
    if signup_micros is None:
        return False
    skills = r.get("skills", {})
    if type(skills) is not dict or not all(_is_id(k) and _is_int(v, 1, 5) for k, v in skills.items()):
        return False
    location = _location(r.get("location"))
    travel = r.get("max_travel_km")
    most = r.get("max_activities", 1)
    if not (travel is None or (_is_float(travel, 0, 20_000) and travel > 0)):
        return False
    if not _is_int(most, 1, 1000):
        return False
    hours, per_day = r.get("max_hours"), r.get("max_hours_per_day")
    if not (hours is None or (_is_float(hours, 0, 100_000) and hours > 0)):
        return False
    if not (per_day is None or (_is_float(per_day, 0, 24) and per_day > 0)):
        return False
    availability = r.get("availability")
    windows: list[tuple[int, int]] = []
    if availability is not None:
        if type(availability) is not list:
            return False
        for item in availability:
            window = _window(item, times)
            if window is None:
                return False
            windows.append(window)
    prefs = r.get("preferences")
    groups = [] if prefs is None else _preference_groups(prefs)
    if groups is None:
        return False

    i = len(c.vol_ids)
    c.vol_ids.append(r["id"])
    c.vol_lat.append(location[0] if location else math.nan)
    c.vol_lon.append(location[1] if location else math.nan)
    c.vol_travel.append(float(travel) if travel is not None else math.inf)
    c.vol_max_activities.append(most)
    c.vol_always.append(availability is None)
    c.vol_signup.append(signup_micros)
    c.vol_max_hours.append(float(hours) if hours is not None else math.inf)
    c.vol_max_hours_day.append(float(per_day) if per_day is not None else math.inf)
    for org in orgs:
        c.org_owner.append(i)
        c.org_name.append(org)
    c.vol_groups.append(len(groups))
    for name, level in skills.items():
        c.skill_owner.append(i)
        c.skill_name.append(name)
        c.skill_level.append(level)
    for start, end in windows:
        c.win_owner.append(i)
        c.win_start.append(start)
        c.win_end.append(end)
    for rank, group in enumerate(groups):
        for aid in group:
            c.pref_owner.append(i)
            c.pref_act.append(aid)
            c.pref_rank.append(rank)
    return True


def _requirements(value: Any) -> list[tuple[str, int]] | None:
    if type(value) is not list:
        return None
    out: list[tuple[str, int]] = []
    for item in value:
        if type(item) is not dict or not item.keys() <= _REQUIREMENT_FIELDS:
            return None
        skill, level = item.get("skill"), item.get("min_level", 1)
        if not _is_id(skill) or not _is_int(level, 1, 5):
            return None
        out.append((str(skill), int(level)))
    if len({skill for skill, _ in out}) != len(out):
        return None
    return out


def _add_activity(c: Columns, r: Any, times: _Times) -> bool:
    """Append ``r`` if it plainly meets the contract; False (nothing appended) leaves it to the models."""
    if type(r) is not dict or not r.keys() <= _ACTIVITY_FIELDS or not _is_id(r.get("id")):
        return False
    if r.get("roles") is not None or r.get("ratios") is not None:
        return False  # nested and rarer: the model checks and records them
    if any(r.get(key) is not None and type(r[key]) is not str for key in ("title", "organization", "category")):
        return False
    start, end = times.micros(r.get("start")), times.micros(r.get("end"))
    if start is None or end is None or end <= start:
        return False
    location = _location(r.get("location"))
    requirements = _requirements(r.get("requirements", []))
    capacity: Any = r.get("capacity")
    priority: Any = r.get("priority", 1)
    if requirements is None or not _is_int(capacity, 1, 100_000) or not _is_int(priority, 1, 1000):
        return False
    members = _distinct_ids(r.get("members_only"), empty_ok=False)
    least: Any = r.get("min_volunteers", 0)
    if members is None or not _is_int(least, 0, capacity):
        return False

    j = len(c.act_ids)
    c.act_ids.append(r["id"])
    c.act_start.append(start)
    c.act_end.append(end)
    c.act_lat.append(location[0] if location else math.nan)
    c.act_lon.append(location[1] if location else math.nan)
    c.act_capacity.append(capacity)
    c.act_priority.append(priority)
    c.act_organization.append(r.get("organization"))
    c.act_members_only.append(r.get("members_only") is not None)
    c.act_min_volunteers.append(least)
    for org in members:
        c.member_owner.append(j)
        c.member_name.append(org)
    for skill, level in requirements:
        c.req_owner.append(j)
        c.req_name.append(skill)
        c.req_level.append(level)
    return True


def _judge_by_model(
    model: type[BaseModel], top: str, position: int, raw: Any, row_base: int | None
) -> tuple[BaseModel | None, list[InputIssue]]:
    try:
        return _list_adapter(model).validate_python([raw])[0], []
    except ValidationError as exc:
        issues = _issues_from(exc, [raw], top)
        row = position + row_base if row_base is not None else None
        fallback = f"#{position}"
        return None, [
            replace(issue, record_id=fallback if issue.record_id == "#0" else issue.record_id, row=row)
            for issue in issues
        ]


_KINDS: dict[str, tuple[Any, type[BaseModel], str]] = {
    "volunteer": (_add_volunteer, Volunteer, "volunteers"),
    "activity": (_add_activity, Activity, "activities"),
}


def _fill(columns: Columns, times: _Times, kind: str, records: Sequence[Any], row_base: int | None) -> list[InputIssue]:
    """Append every valid record of one kind to ``columns``; the issues of the others."""
    add, model, top = _KINDS[kind]
    issues: list[InputIssue] = []
    for position, raw in enumerate(records):
        try:
            if add(columns, raw, times):
                continue
        except _NotPlainError:
            pass
        validated, found = _judge_by_model(model, top, position, raw, row_base)
        issues += found
        if isinstance(validated, Volunteer):
            columns.add_volunteer(validated)
        elif isinstance(validated, Activity):
            columns.add_activity(validated)
        elif not found:  # pragma: no cover - a model returned neither a record nor an error
            issues.append(InputIssue(kind, f"#{position}", "", "could not be validated", "invalid"))
    return issues


@gc_paused()
def compile_records(
    volunteers: Sequence[Any], activities: Sequence[Any], policy: Policy, *, row_base: int | None = None
) -> Problem:
    """Validate plain records (the JSON contract's dicts) and compile them into a :class:`Problem`.

    Gives exactly the problem that :func:`~matcher.records.coerce_volunteers` and
    :func:`~matcher.problem.compile_problem` would, much faster. ``row_base``, when given, is the
    row number of the first record, and issues then carry ``row`` (for tables). Raises
    :class:`~matcher.errors.InputError` listing every problem.

    >>> p = compile_records([{"id": "v1", "skills": {"急救": 2}}], [], Policy())
    >>> p.volunteer_ids, p.skill_names
    (('v1',), ('急救',))
    """
    columns, times = Columns(), _Times()
    issues = _fill(columns, times, "volunteer", volunteers, row_base)
    issues += _fill(columns, times, "activity", activities, row_base)
    if issues:
        raise InputError(issues)
    return assemble(columns, policy)


_DOCUMENT_FIELDS = frozenset({"volunteers", "activities", "policy"})


@gc_paused()
def parse_problem(data: bytes) -> Problem:
    """Parse, validate and compile a JSON problem document, without a model per record.

    The fast equivalent of :func:`~matcher.records.parse_document` followed by
    :func:`~matcher.problem.compile_problem`: same problem, same issues.

    >>> parse_problem(b'{"volunteers": [{"id": "v1"}], "activities": []}').volunteer_ids
    ('v1',)
    """
    typed = decode_document(data)
    if typed is not None:
        columns, times = Columns(), _Times()
        if volunteer_columns(columns, typed.volunteers, times.micros):
            issues = _fill(columns, times, "activity", typed.activities, None)
            if issues:
                raise InputError(issues)
            return assemble(columns, coerce_policy(typed.policy))
    raw = read_json(data)
    plain = (
        type(raw) is dict
        and raw.keys() <= _DOCUMENT_FIELDS
        and type(raw.get("volunteers")) is list
        and type(raw.get("activities")) is list
    )
    if not plain:
        doc = parse_document(data)  # raises the models' issues; a valid odd document compiles below
        return compile_problem(doc.volunteers, doc.activities, doc.policy)
    return compile_records(raw["volunteers"], raw["activities"], coerce_policy(raw.get("policy")))


def load_problem(path: str | Path) -> Problem:
    """Read a JSON problem document file into a :class:`Problem`; see :func:`parse_problem`."""
    return parse_problem(read_bytes(path))
