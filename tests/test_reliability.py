"""History (评单): scores by hand, the cost terms' effect, the exact fill probability, overbooking."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from matcher.reliability import at_least_probability, volunteer_scores
from tests.helpers import compile_doc, pairs, solve_doc
from tests.strategies import problems, service

DAY = "2026-12-07"


def act(aid: str, start: str = "09:00", end: str = "10:00", **extra: Any) -> dict[str, Any]:
    return {"id": aid, "start": f"{DAY}T{start}:00+08:00", "end": f"{DAY}T{end}:00+08:00", "capacity": 1, **extra}


@given(st.lists(st.floats(0.0, 1.0), max_size=8), st.integers(-1, 9))
def test_fill_probability_is_exact_against_enumeration(show: list[float], k: int) -> None:
    expected = 0.0
    for outcome in itertools.product([0, 1], repeat=len(show)):
        if sum(outcome) >= k:
            expected += float(np.prod([q if o else 1 - q for q, o in zip(show, outcome, strict=True)]))
    assert at_least_probability(np.array(show), k) == pytest.approx(expected, abs=1e-12)


def test_scores_by_hand() -> None:
    doc = {
        "volunteers": [
            {"id": "new"},
            {"id": "missed", "history": [{"date": DAY, "outcome": "no_show"}]},
            {"id": "starred", "history": [{"date": DAY, "outcome": "attended", "rating": 5}]},
            # Exactly one half-life old (180 days before 2026-12-07): counts half.
            {"id": "old", "history": [{"date": "2026-06-10", "outcome": "no_show"}]},
        ],
        "activities": [act("a")],
    }
    scores = volunteer_scores(compile_doc(doc))
    # Volunteers are numbered by id: missed, new, old, starred.
    assert scores.show_micro.tolist() == [666_667, 800_000, 727_273, 833_333]
    assert scores.rating_micro.tolist() == [4_000_000, 4_000_000, 4_000_000, 4_333_333]
    assert scores.recent.tolist() == [1, 0, 0, 1]
    assert scores.as_of_day == 20_794  # 2026-12-07, the earliest activity start (UTC)


def test_reliability_weight_prefers_those_who_come() -> None:
    flaky = [{"date": DAY, "outcome": "no_show"}] * 2
    doc = {
        "volunteers": [{"id": "a-flaky", "history": flaky}, {"id": "b-steady"}],
        "activities": [act("x")],
        "policy": {"selection": "open", "weights": {"reliability": 300}},
    }
    result = solve_doc(doc)
    assert pairs(result) == [("b-steady", "x")]
    # Newcomer: risk 0.2 -> 60 points; two fresh no-shows: p = 4 / 7, risk 3/7 -> 129 points.
    assert result.assignments[0].cost_terms["reliability"] == 60
    assert matcher.verify(result.problem, result).ok
    flaky_only = copy.deepcopy(doc)
    flaky_only["volunteers"] = flaky_only["volunteers"][:1]
    assert solve_doc(flaky_only).assignments[0].cost_terms["reliability"] == 129


def test_recent_service_spreads_opportunities() -> None:
    busy = [{"date": "2026-12-01", "outcome": "attended"}, {"date": "2026-11-20", "outcome": "attended"}]
    doc = {
        "volunteers": [{"id": "a-busy", "history": busy}, {"id": "b-rested"}],
        "activities": [act("x")],
        "policy": {"selection": "open", "weights": {"recent_service": 10}},
    }
    assert pairs(solve_doc(doc)) == [("b-rested", "x")]
    alone = copy.deepcopy(doc)
    alone["volunteers"] = alone["volunteers"][:1]
    # 28 days back from 2026-12-07: both services; 10 days: only 12-01; from 2027-01-30: none.
    for recent_days, as_of, points in ((28, None, 20), (10, None, 10), (28, "2027-01-30", 0)):
        alone["policy"]["recent_days"] = recent_days
        alone["policy"]["as_of"] = as_of
        assert solve_doc(alone).assignments[0].cost_terms["recent_service"] == points


def test_bad_history_names_the_field() -> None:
    cases = [
        ({"date": "2026-10-01T09:00Z", "outcome": "attended"}, "history.0.date"),
        ({"date": "2026-10-01", "outcome": "no_show", "rating": 4}, "history.0"),
        ({"date": "2026-10-01", "outcome": "late"}, "history.0.outcome"),
        ({"date": "2026-10-01", "outcome": "attended", "rating": 6}, "history.0.rating"),
    ]
    for entry, field in cases:
        with pytest.raises(matcher.InputError) as info:
            matcher.match([{"id": "v", "history": [entry]}], [act("a")])
        (issue,) = info.value.issues
        assert (issue.record, issue.record_id, issue.field) == ("volunteer", "v", field)


@st.composite
def overbook_cases(draw: st.DrawFn) -> dict[str, Any]:
    doc = draw(problems(max_volunteers=8, max_activities=4))
    for vol in doc["volunteers"]:
        vol["history"] = draw(st.lists(service(), max_size=5))
    doc["policy"]["target_fill_probability"] = draw(st.sampled_from([0.5, 0.9, 0.99]))
    doc["policy"]["max_overbook"] = draw(st.integers(0, 3))
    return doc


@settings(max_examples=120)
@given(overbook_cases())
def test_standbys_never_displace_a_real_place_and_fit_every_rule(doc: dict[str, Any]) -> None:
    result = solve_doc(doc)
    plain = copy.deepcopy(doc)
    del plain["policy"]["target_fill_probability"]
    assert pairs(result) == pairs(solve_doc(plain))
    plan = result.overbooking
    assert plan is not None
    p, edges = result.problem, result.edges
    eligible = set(zip(edges.vol.tolist(), edges.act.tolist(), strict=True))
    held: dict[int, list[int]] = {}
    for x in result.assignments:
        held.setdefault(p.volunteer_index[x.volunteer_id], []).append(p.activity_index[x.activity_id])
    for x in plan.activities:
        a = p.activity_index[x.activity_id]
        assert x.fill_probability_before < plan.target
        assert x.fill_probability >= x.fill_probability_before
        assert len(x.standby) <= plan.max_overbook
        for vid in x.standby:
            v = p.volunteer_index[vid]
            assert (v, a) in eligible
            assert a not in held.get(v, [])
            held.setdefault(v, []).append(a)
    for v, acts in held.items():
        assert len(acts) <= p.vol_max_activities[v]
        for a, b in itertools.combinations(acts, 2):
            assert not (p.act_start[a] < p.act_end[b] and p.act_start[b] < p.act_end[a])
