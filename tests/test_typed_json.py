"""The typed JSON decoder: taken for plain documents, and never judging differently from the models.

``tests/test_inputs.py`` holds every path to the models' outcome, odd values included; these
tests make sure the typed decoder is really the one reading plain documents there, and that it
steps aside for whatever it does not judge itself.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings

import matcher
from matcher.columns import Columns
from matcher.fastpath import _Times
from matcher.models import MAX_PREFERENCE_GROUPS
from matcher.typed_json import VOLUNTEER_FIELDS, decode_document, volunteer_columns
from tests.strategies import problems
from tests.test_inputs import FULL_ACTIVITY, FULL_VOLUNTEER, assert_same_problem, judged, via_models


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def typed_reads(data: bytes) -> bool:
    """Whether the typed decoder, not the per-record path, reads this document's volunteers."""
    typed = decode_document(data)
    return typed is not None and volunteer_columns(Columns(), typed.volunteers, _Times().micros)


def plain(volunteer: dict[str, Any] | None = None) -> dict[str, Any]:
    second = {**FULL_ACTIVITY, "id": "a2"}
    return {"volunteers": [volunteer or copy.deepcopy(FULL_VOLUNTEER)], "activities": [FULL_ACTIVITY, second]}


def test_the_decoder_knows_every_volunteer_field() -> None:
    assert set(matcher.Volunteer.model_fields) == VOLUNTEER_FIELDS


@settings(max_examples=300)
@given(problems())
def test_plain_documents_are_read_typed_and_give_the_models_problem(doc: dict[str, Any]) -> None:
    for volunteer in doc["volunteers"]:
        volunteer.pop("history", None)  # the one field the decoder always leaves to the models
    data = encode(doc)
    assert typed_reads(data)
    assert_same_problem(matcher.parse_problem(data), via_models(doc))


def test_a_bom_is_read_typed() -> None:
    data = encode(plain())
    assert typed_reads(b"\xef\xbb\xbf" + data)
    assert_same_problem(matcher.parse_problem(b"\xef\xbb\xbf" + data), matcher.parse_problem(data))


def test_every_field_the_decoder_reads_is_read_typed() -> None:
    full = {
        **FULL_VOLUNTEER,
        "signed_up_at": "2026-11-01T08:00+08:00",
        "organizations": ["社区", "红十字"],
        "max_hours": 12.5,
        "max_hours_per_day": 4,
    }
    doc = plain(full)
    assert typed_reads(encode(doc))
    assert isinstance(judged(doc), matcher.Problem)


ODD = [
    ("history", [{"day": "2026-11-01", "attended": True}]),  # valid, but left to the models
    ("max_activities", 2.0),
    ("max_activities", True),
    ("skills", None),
    ("preferences", ["a1", ["a1"]]),
    ("preferences", [["a1"], []]),
    ("preferences", [f"a{k}" for k in range(MAX_PREFERENCE_GROUPS + 1)]),
    ("organizations", ["社区", "社区"]),
    ("signed_up_at", "2026-W44-7T08:00+08:00"),
    ("signed_up_at", "2026-11-01T08:00"),
    ("availability", [{"start": "2026-12-07T12:00+08:00", "end": "2026-12-07T12:00+08:00"}]),
    ("availability", [{"start": "2026-12-07T08:00+08:00", "end": "2026-12-07 12:00+08:00"}]),
    ("location", {"lat": 30.0, "lon": 120.0, "alt": 5}),
    ("phone", "13800000000"),
]


@pytest.mark.parametrize(("field", "value"), ODD, ids=[f"{f}={v!r}" for f, v in ODD])
def test_odd_volunteers_are_left_to_the_per_record_path(field: str, value: Any) -> None:
    doc = plain({**FULL_VOLUNTEER, field: value})
    assert not typed_reads(encode(doc))
    judged(doc)  # and the per-record path then judges them as the models do


@pytest.mark.parametrize(
    "data",
    [
        b'{"volunteers": [], "activities": {}}',
        b'{"volunteers": [], "activities": [], "extra": 1}',
        b'{"volunteers": [{"id": "v1", "max_travel_km": NaN}], "activities": []}',
        b'{"volunteers": [{"id": "v1", "max_travel_km": 1e999}], "activities": []}',
        b'{"volunteers": [{"id": "\\ud800"}], "activities": []}',
        b"\xff\xfe",
    ],
)
def test_odd_documents_are_left_to_the_per_record_path(data: bytes) -> None:
    assert decode_document(data) is None


def test_a_repeated_key_means_its_last_value_on_both_paths() -> None:
    # Python's json keeps the last of repeated keys; the decoder must read such a document alike.
    data = (
        b'{"volunteers": [{"id": "v1", "max_activities": 3, "max_activities": 2,'
        b' "location": {"lat": 1, "lon": 2, "lat": 3}}], "activities": [], "activities": []}'
    )
    assert typed_reads(data)
    p = matcher.parse_problem(data)
    assert p.vol_max_activities.tolist() == [2]
    assert p.vol_lat.tolist() == [3.0]
