"""The result's long lists rendered from columns: the same records, the same bytes as the dict route."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import jsontext
from tests.helpers import solve_doc
from tests.strategies import problems, rule_problems


def dict_route(doc: dict[str, Any]) -> tuple[str, str]:
    """The result's JSON text as written, and as encoding its records' ``to_dict()`` gives it."""
    result = solve_doc(doc)
    return result.to_json(), jsontext.dumps(result.to_document())


@settings(max_examples=150)
@given(st.one_of(problems(), rule_problems()))
def test_the_written_text_is_the_records_encoded(doc: dict[str, Any]) -> None:
    written, encoded = dict_route(doc)
    assert written == encoded


def test_awkward_ids_and_every_kind_of_field() -> None:
    # Ids with quotes, backslashes, control characters and non-ASCII text; an online activity
    # (no distance), a ranked and an unranked pick, an open activity and volunteers left out for
    # each reason. (Roles are drawn by the property test above.)
    doc = {
        "volunteers": [
            {"id": 'v"1\\', "location": {"lat": 31.2, "lon": 121.4}, "preferences": ["活动\t2"]},
            {"id": "志愿者\n2", "location": {"lat": 31.2, "lon": 121.41}},
            {"id": "v\u00003", "location": {"lat": 40.0, "lon": 116.0}, "max_travel_km": 1},
            {"id": "v5", "location": {"lat": 40.0, "lon": 116.0}, "max_travel_km": 1, "preferences": ["活动\t2"]},
            {"id": "v4", "availability": [{"start": "2026-05-02T09:00:00+08:00", "end": "2026-05-02T10:00:00+08:00"}]},
        ],
        "activities": [
            {
                "id": "a/1",
                "start": "2026-05-01T09:00:00+08:00",
                "end": "2026-05-01T11:00:00+08:00",
                "capacity": 3,
                "location": {"lat": 31.2, "lon": 121.405},
            },
            {"id": "活动\t2", "start": "2026-05-01T14:00:00+08:00", "end": "2026-05-01T15:00:00+08:00", "capacity": 1},
        ],
    }
    written, encoded = dict_route(doc)
    assert written == encoded
    # Both near volunteers fill a/1 (0.476 km each; neither picked it), v5 takes the online
    # activity it picked, and v\u00003, who can reach only that one, is left out.
    terms = '"distance": 5, "skill_surplus": 0, "reliability": 0, "rating": 0, "recent_service": 0}'
    for line in [
        '{"volunteer_id": "v\\"1\\\\", "activity_id": "a/1", "cost": 505, "cost_terms": {"preference": 500, '
        + terms
        + ', "distance_km": 0.476, "preference_rank": null}',
        '{"volunteer_id": "志愿者\\n2", "activity_id": "a/1", "cost": 505, "cost_terms": {"preference": 500, '
        + terms
        + ', "distance_km": 0.476, "preference_rank": null}',
        '{"volunteer_id": "v5", "activity_id": "活动\\t2", "cost": 0, "cost_terms": {"preference": 0, '
        + terms.replace('"distance": 5', '"distance": 0')
        + ', "distance_km": null, "preference_rank": 1}',
        '{"activity_id": "a/1", "capacity": 3, "filled": 2, "unfilled": 1, "eligible_volunteers": 2}',
        '{"volunteer_id": "v\\u00003", "reason": "places_taken", "eligible_activities": 1}',
        '{"volunteer_id": "v4", "reason": "no_eligible_activity", "eligible_activities": 0}',
    ]:
        assert "\n    " + line + ",\n" in written or "\n    " + line + "\n  ]" in written, line


def test_records_are_built_once_and_match_the_document() -> None:
    doc = {
        "volunteers": [{"id": "v1", "preferences": ["a1"]}, {"id": "v2"}],
        "activities": [
            {"id": "a1", "start": "2026-05-01T09:00:00+08:00", "end": "2026-05-01T10:00:00+08:00", "capacity": 1}
        ],
    }
    result = solve_doc(doc)
    assert result.assignments is result.assignments
    assert [a.to_dict() for a in result.assignments] == result.to_document()["assignments"]
    assert [(a.volunteer_id, a.activity_id, a.distance_km, a.preference_rank) for a in result.assignments] == [
        ("v1", "a1", None, 1)
    ]
    assert [(u.volunteer_id, u.reason, u.eligible_activities) for u in result.unassigned] == [("v2", "places_taken", 1)]
    assert result.unfilled == ()
