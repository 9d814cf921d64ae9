"""Typed JSON decoding of problem documents: the volunteers array straight into columns.

``json.loads`` builds a dict per volunteer which :mod:`matcher.fastpath` then walks field by
field in Python, about 20 µs a volunteer. Here msgspec decodes the volunteers into slotted
structs, checking JSON types, ranges, empty ids and unknown fields in C while it parses, and
the structs flatten into :class:`~matcher.columns.Columns` with comprehensions; the few checks
a type cannot express (timestamps, window order, distinct ids) follow in one pass.

Like the fast path this is *at least as strict as the models*: a document with anything it
refuses — a rarer ISO-8601 spelling, a history, a wrong type anywhere — is not judged here but
read again by the fast path, which hands odd records to the models and reports their issues.
So errors read the same on every path and a valid document gives the same problem.
Activities and the policy are few; they are cut out of the document unparsed and go through
the fast path's own per-record code.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter
from typing import Annotated, Any

import msgspec
import numpy as np
from msgspec import Meta, Struct

from matcher.columns import NO_SIGNUP, Columns
from matcher.models import MAX_PREFERENCE_GROUPS

__all__ = ["VOLUNTEER_FIELDS", "Document", "decode_document", "volunteer_columns"]

_Id = Annotated[str, Meta(min_length=1)]
_BOM = b"\xef\xbb\xbf"


class _Location(Struct, forbid_unknown_fields=True, gc=False):
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]


class _Window(Struct, forbid_unknown_fields=True, gc=False):
    start: str
    end: str


# gc=False: these hold only strings, numbers and the leaf structs above, so they can never be
# part of a reference cycle, and the collector need not track a million of them.
class _Volunteer(Struct, forbid_unknown_fields=True, gc=False):
    id: _Id
    skills: dict[_Id, Annotated[int, Meta(ge=1, le=5)]] = {}
    availability: list[_Window] | None = None
    location: _Location | None = None
    max_travel_km: Annotated[float, Meta(gt=0, le=20_000)] | None = None
    max_activities: Annotated[int, Meta(ge=1, le=1000)] = 1
    preferences: (
        Annotated[list[_Id | Annotated[list[_Id], Meta(min_length=1)]], Meta(max_length=MAX_PREFERENCE_GROUPS)] | None
    ) = None
    history: None = None  # rare and nested: documents with one take the per-record path
    signed_up_at: str | None = None
    organizations: list[_Id] | None = None
    max_hours: Annotated[float, Meta(gt=0, le=100_000)] | None = None
    max_hours_per_day: Annotated[float, Meta(gt=0, le=24)] | None = None


#: The volunteer fields the typed decoder knows; a test holds them equal to the model's.
VOLUNTEER_FIELDS = frozenset(_Volunteer.__struct_fields__)


@dataclass(frozen=True)
class Document:
    """A problem document as decoded here: typed volunteers, the rest as parsed JSON."""

    volunteers: list[_Volunteer]
    activities: list[Any]
    policy: Any = None


class _Raw(Struct, forbid_unknown_fields=True, gc=False):
    volunteers: list[_Volunteer]
    activities: msgspec.Raw
    policy: msgspec.Raw = msgspec.Raw(b"null")


_DECODER = msgspec.json.Decoder(_Raw)


def decode_document(data: bytes) -> Document | None:
    """Decode a UTF-8 problem document whose volunteers all plainly meet the contract; else None.

    Activities and the policy are re-read with :func:`json.loads` from their own bytes, so they
    are exactly what the per-record path would see. None means "read it the per-record way".

    >>> doc = decode_document(b'{"volunteers": [{"id": "v1"}], "activities": []}')
    >>> doc.volunteers[0].id, doc.activities, doc.policy
    ('v1', [], None)
    >>> decode_document(b'{"volunteers": [{"id": ""}], "activities": []}') is None
    True
    """
    try:
        raw = _DECODER.decode(data[len(_BOM) :] if data.startswith(_BOM) else data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    # The Raw slices are valid JSON (msgspec parsed them), with no NaN or Infinity tokens.
    activities = json.loads(bytes(raw.activities))
    if type(activities) is not list:
        return None
    return Document(raw.volunteers, activities, json.loads(bytes(raw.policy)))


def _field(vols: list[_Volunteer], name: str) -> list[Any]:
    return list(map(attrgetter(name), vols))


def _or(values: list[Any], default: float) -> list[Any]:
    return [default if x is None else x for x in values]


def _owners(counts: list[int]) -> list[int]:
    """Owner position of each nested item, given the items per owner."""
    owners: list[int] = np.repeat(np.arange(len(counts), dtype=np.int64), counts).tolist()
    return owners


def _micros_of(texts: list[str], micros: Callable[[str], int | None]) -> list[int] | None:
    """Epoch microseconds of each timestamp text, or None if one does not parse."""
    table = {t: micros(t) for t in set(texts)}
    if None in table.values():
        return None
    return list(map(table.__getitem__, texts))  # type: ignore[arg-type]


def _preference_columns(groups_of: list[Any]) -> tuple[list[int], list[str], list[int]] | None:
    """(owner, activity id, rank) of every pick; None if a volunteer names an activity twice."""
    given = [g for g in groups_of if g]
    flat = list(chain.from_iterable(given))
    if all(type(g) is str for g in flat):  # no ties: one pick per rank, the common case
        if not all(len(set(g)) == len(g) for g in given if len(g) > 1):
            return None
        counts = [0 if g is None else len(g) for g in groups_of]
        first = np.repeat(np.cumsum(counts) - counts, counts)
        ranks: list[int] = (np.arange(len(flat), dtype=np.int64) - first).tolist()
        return _owners(counts), flat, ranks
    owners: list[int] = []
    picks: list[str] = []
    ranks = []
    for i, groups in enumerate(groups_of):
        for k, g in enumerate(groups or ()):
            members = [g] if type(g) is str else g
            owners += [i] * len(members)
            picks += members
            ranks += [k] * len(members)
    if len(set(zip(owners, picks, strict=True))) != len(picks):
        return None
    return owners, picks, ranks


def volunteer_columns(c: Columns, vols: list[_Volunteer], micros: Callable[[str], int | None]) -> bool:
    """Append decoded volunteers to empty volunteer columns; False (columns untouched) if one is odd.

    ``micros(text)`` gives a timestamp's epoch microseconds or None (the fast path's memoised
    reader). Checks what the types cannot: timestamps, window order, distinct ids in a list.
    """
    orgs = _field(vols, "organizations")
    if not all(len(set(o)) == len(o) for o in orgs if o):
        return False
    groups_of = _field(vols, "preferences")
    prefs = _preference_columns(groups_of)
    avail = _field(vols, "availability")
    windows = list(chain.from_iterable(a for a in avail if a))
    starts = _micros_of(list(map(attrgetter("start"), windows)), micros)
    ends = _micros_of(list(map(attrgetter("end"), windows)), micros)
    signed_up = _field(vols, "signed_up_at")
    signed = [s for s in signed_up if s is not None]
    signups = _micros_of(signed, micros)
    if prefs is None or starts is None or ends is None or signups is None:
        return False
    if any(map(operator.ge, starts, ends)):
        return False

    locations = _field(vols, "location")
    skills = _field(vols, "skills")
    c.vol_ids += _field(vols, "id")
    c.vol_lat += [math.nan if loc is None else loc.lat for loc in locations]
    c.vol_lon += [math.nan if loc is None else loc.lon for loc in locations]
    c.vol_travel += _or(_field(vols, "max_travel_km"), math.inf)
    c.vol_max_activities += _field(vols, "max_activities")
    c.vol_always += [a is None for a in avail]
    signup_of = dict(zip(signed, signups, strict=True))
    c.vol_signup += [NO_SIGNUP if s is None else signup_of[s] for s in signed_up]
    c.vol_max_hours += _or(_field(vols, "max_hours"), math.inf)
    c.vol_max_hours_day += _or(_field(vols, "max_hours_per_day"), math.inf)
    c.org_owner += _owners([0 if o is None else len(o) for o in orgs])
    c.org_name += chain.from_iterable(o for o in orgs if o)
    c.vol_groups += [0 if g is None else len(g) for g in groups_of]
    c.skill_owner += _owners(list(map(len, skills)))
    c.skill_name += chain.from_iterable(skills)
    c.skill_level += chain.from_iterable(map(dict.values, skills))
    c.win_owner += _owners([0 if a is None else len(a) for a in avail])
    c.win_start += starts
    c.win_end += ends
    c.pref_owner += prefs[0]
    c.pref_act += prefs[1]
    c.pref_rank += prefs[2]
    return True
