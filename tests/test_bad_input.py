"""Every kind of bad input gives a typed InputError naming record id and field, never the value."""

from __future__ import annotations

import json
from typing import Any

import pytest

import matcher
from matcher.errors import InputError

START, END = "2026-12-07T09:00:00+08:00", "2026-12-07T11:00:00+08:00"
SECRET = "13800138000"  # a phone number: must never appear in any message


def base() -> dict[str, Any]:
    return {
        "volunteers": [{"id": "v1", "skills": {"急救": 2}, "location": {"lat": 30.0, "lon": 120.0}}],
        "activities": [{"id": "a1", "start": START, "end": END, "capacity": 2}],
        "policy": {},
    }


def issues_of(doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The issues of ``doc``, which must be the same through the models and the fast path."""
    data = json.dumps(doc, ensure_ascii=False).encode()
    found = []
    for parse in (matcher.parse_document, matcher.parse_problem):
        with pytest.raises(InputError) as info:
            parse(data)
        text = str(info.value) + "".join(str(i) for i in info.value.issues)
        assert SECRET not in text
        found.append([(i.record, i.record_id, i.field, i.code) for i in info.value.issues])
    assert found[0] == found[1]
    return found[0]


def with_volunteer(**fields: Any) -> dict[str, Any]:
    doc = base()
    doc["volunteers"][0].update(fields)
    return doc


def with_activity(**fields: Any) -> dict[str, Any]:
    doc = base()
    doc["activities"][0].update(fields)
    return doc


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        pytest.param(
            with_volunteer(phone=SECRET), ("volunteer", "v1", "phone", "extra_forbidden"), id="unknown-volunteer-field"
        ),
        pytest.param(
            with_activity(capcity=SECRET), ("activity", "a1", "capcity", "extra_forbidden"), id="typo-capcity"
        ),
        pytest.param({**base(), "menu": SECRET}, ("document", "", "menu", "extra_forbidden"), id="unknown-top-level"),
        pytest.param(with_activity(end=START), ("activity", "a1", "end", "value_error"), id="end-equals-start"),
        pytest.param(
            with_activity(end="2026-12-07T08:00:00+08:00"),
            ("activity", "a1", "end", "value_error"),
            id="end-before-start",
        ),
        pytest.param(
            with_activity(start="2026-12-07T09:00:00"),
            ("activity", "a1", "start", "timezone_aware"),
            id="naive-datetime",
        ),
        pytest.param(
            with_activity(start=1765069200), ("activity", "a1", "start", "value_error"), id="number-as-datetime"
        ),
        pytest.param(
            with_volunteer(availability=[{"start": END, "end": START}]),
            ("volunteer", "v1", "availability.0.end", "value_error"),
            id="window-backwards",
        ),
        pytest.param(
            with_volunteer(location={"lat": 91, "lon": 0}),
            ("volunteer", "v1", "location.lat", "less_than_equal"),
            id="lat-range",
        ),
        pytest.param(
            with_volunteer(location={"lat": 0, "lon": -181}),
            ("volunteer", "v1", "location.lon", "greater_than_equal"),
            id="lon-range",
        ),
        pytest.param(
            with_activity(capacity=0), ("activity", "a1", "capacity", "greater_than_equal"), id="capacity-zero"
        ),
        pytest.param(with_activity(capacity="3"), ("activity", "a1", "capacity", "int_type"), id="capacity-string"),
        pytest.param(
            with_volunteer(skills={"急救": 6}), ("volunteer", "v1", "skills.急救", "less_than_equal"), id="level-6"
        ),
        pytest.param(
            with_volunteer(skills={"急救": 0}), ("volunteer", "v1", "skills.急救", "greater_than_equal"), id="level-0"
        ),
        pytest.param(
            with_activity(requirements=[{"skill": "急救", "min_level": 9}]),
            ("activity", "a1", "requirements.0.min_level", "less_than_equal"),
            id="requirement-level",
        ),
        pytest.param(
            with_volunteer(max_travel_km=0), ("volunteer", "v1", "max_travel_km", "greater_than"), id="zero-travel"
        ),
        pytest.param(
            with_volunteer(max_travel_km=-3), ("volunteer", "v1", "max_travel_km", "greater_than"), id="negative-travel"
        ),
        pytest.param(
            {**base(), "policy": {"max_travel_km": 0}},
            ("policy", "", "max_travel_km", "greater_than"),
            id="policy-travel",
        ),
        pytest.param(
            {**base(), "policy": {"selection": "random"}}, ("policy", "", "selection", "literal_error"), id="selection"
        ),
        pytest.param(
            {**base(), "policy": {"strict": True}}, ("policy", "", "strict", "extra_forbidden"), id="policy-field"
        ),
        pytest.param(
            {**base(), "policy": {"weights": {"rank": 50, "unranked": 100}}},
            ("policy", "", "weights", "value_error"),
            id="unranked-too-cheap",
        ),
        pytest.param(
            with_volunteer(max_activities=0),
            ("volunteer", "v1", "max_activities", "greater_than_equal"),
            id="max-activities",
        ),
        pytest.param(
            with_volunteer(preferences=["a1", "a1"]),
            ("volunteer", "v1", "preferences", "value_error"),
            id="ranked-twice",
        ),
        pytest.param(
            with_volunteer(preferences=[[]]), ("volunteer", "v1", "preferences", "value_error"), id="empty-tie-group"
        ),
        pytest.param(with_volunteer(id=""), ("volunteer", "#0", "id", "string_too_short"), id="empty-id"),
    ],
)
def test_bad_record_is_named(doc: dict[str, Any], expected: tuple[str, str, str, str]) -> None:
    assert expected in issues_of(doc)


def test_nan_location_from_python_objects() -> None:
    with pytest.raises(InputError) as info:
        matcher.match([{"id": "v1", "location": {"lat": float("nan"), "lon": 0.0}}], [])
    assert [(i.record_id, i.field) for i in info.value.issues] == [("v1", "location.lat")]


def test_nan_literal_in_json_is_rejected() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        matcher.parse_document(b'{"volunteers": [{"id": "v1", "location": {"lat": NaN, "lon": 0}}], "activities": []}')


def test_duplicate_ids_are_listed_once_each() -> None:
    doc = base()
    doc["volunteers"] *= 2
    doc["activities"] *= 3
    p = matcher.parse_document(json.dumps(doc).encode())
    with pytest.raises(InputError) as info:
        matcher.match_document(p)
    assert [(i.record, i.record_id, i.field, i.code) for i in info.value.issues] == [
        ("volunteer", "v1", "id", "duplicate_id"),
        ("activity", "a1", "id", "duplicate_id"),
    ]


def test_unknown_preference_id() -> None:
    with pytest.raises(InputError) as info:
        matcher.match([{"id": "v1", "preferences": ["a1", ["ghost"]]}], base()["activities"])
    assert [(i.record_id, i.field, i.code) for i in info.value.issues] == [("v1", "preferences", "unknown_activity")]
    assert "ghost" in str(info.value)


def test_not_utf8() -> None:
    with pytest.raises(InputError, match="not valid UTF-8") as info:
        matcher.parse_document('{"volunteers": [], "activities": [{"id": "助老"}]}'.encode("gb18030"))
    assert info.value.issues[0].code == "not_utf8"


def test_not_json() -> None:
    with pytest.raises(InputError, match="not valid JSON at line 1") as info:
        matcher.parse_document(b"volunteers: []")
    assert info.value.issues[0].code == "not_json"


def test_utf8_bom_is_accepted() -> None:
    doc = matcher.parse_document(b"\xef\xbb\xbf" + json.dumps(base()).encode())
    assert [v.id for v in doc.volunteers] == ["v1"]


def test_every_issue_is_reported_not_just_the_first() -> None:
    doc = base()
    doc["volunteers"].append({"id": "v2", "skills": {"急救": 7}, "max_activities": 0})
    doc["activities"][0]["capacity"] = 0
    got = issues_of(doc)
    assert {(r, i, f) for r, i, f, _ in got} == {
        ("volunteer", "v2", "skills.急救"),
        ("volunteer", "v2", "max_activities"),
        ("activity", "a1", "capacity"),
    }


def test_errors_are_value_errors_and_matcher_errors() -> None:
    with pytest.raises(ValueError, match="capacity"):
        matcher.match([], [{"id": "a", "start": START, "end": END, "capacity": 0}])
    assert issubclass(InputError, matcher.MatcherError)


def test_cost_range_is_checked_before_solving() -> None:
    # 1,200 volunteers 18,900 km away at 1e6 per km, priority 1000: far beyond int64.
    far = [{"id": f"v{i}", "location": {"lat": 0.0, "lon": 0.0}} for i in range(1200)]
    acts = [
        {
            "id": "a",
            "start": START,
            "end": END,
            "capacity": 1200,
            "priority": 1000,
            "location": {"lat": 0.0, "lon": 170.0},
        }
    ]
    policy = {"max_travel_km": 20_000, "weights": {"rank": 50_000, "unranked": 1_000_000, "distance": 1_000_000}}
    with pytest.raises(matcher.CostRangeError) as info:
        matcher.match(far, acts, policy)
    assert info.value.issues[0].field == "weights"
