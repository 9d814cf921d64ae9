"""Explanations: the rules' verdicts agree with the engine, the facts are exact, the suggested
changes work, the "how much better" figure is the true exchange cost, and no one else is named."""

from __future__ import annotations

import copy
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

import matcher
from matcher.diagnose import RULES, diagnose
from matcher.pipeline import combined_objective, flow_input
from matcher.solvers import get_backend
from tests.helpers import compile_doc, solve_doc
from tests.strategies import problems

DAY = "2026-12-07"


def t(hhmm: str) -> str:
    return f"{DAY}T{hhmm}:00+08:00"


def online(aid: str, **extra: Any) -> dict[str, Any]:
    return {"id": aid, "start": t("09:00"), "end": t("11:00"), "capacity": 1, **extra}


def first_aid(level: int) -> list[dict[str, Any]]:
    return [{"skill": "急救", "min_level": level}]


OPEN = {"selection": "open"}


def test_places_taken_by_a_better_match_with_the_exact_margin() -> None:
    # Online, open selection: the only cost is 3 per surplus skill level. x costs 9, y costs 12.
    doc = {
        "volunteers": [{"id": "x", "skills": {"急救": 4}}, {"id": "y", "skills": {"急救": 5}}],
        "activities": [online("a", requirements=first_aid(1))],
        "policy": OPEN,
    }
    result = solve_doc(doc)
    why = result.explain_volunteer("y").activities
    assert len(why) == 1
    (pair,) = why
    assert (pair.outcome, pair.reason, pair.cost, pair.improvement_needed, pair.improvement_exact) == (
        "not_assigned",
        "places_taken",
        12,
        3,
        True,
    )
    assert pair.places == {"capacity": 1, "filled": 1, "better_match": 1, "equal_match": 0, "worse_match": 0}
    assert pair.message == (
        "all places are taken (1): 1 by a better match, 0 by an equal one, 0 by volunteers the best overall plan "
        "needed there; your match cost (12) would need to be more than 3 points lower"
    )


def test_a_margin_no_cost_can_close_is_said_so() -> None:
    # x costs 0, y costs 9: even a perfect y only ties, and ties go to the tie-break.
    doc = {
        "volunteers": [{"id": "x", "skills": {"急救": 1}}, {"id": "y", "skills": {"急救": 4}}],
        "activities": [online("a", requirements=first_aid(1))],
        "policy": OPEN,
    }
    (pair,) = solve_doc(doc).explain_volunteer("y").activities
    assert pair.improvement_needed == 9
    assert pair.message.endswith("no lower match cost alone would be enough")


def test_a_tie_is_reported_as_a_tie() -> None:
    doc = {
        "volunteers": [{"id": "x", "skills": {"急救": 2}}, {"id": "y", "skills": {"急救": 2}}],
        "activities": [online("a", requirements=first_aid(1))],
        "policy": OPEN,
    }
    result = solve_doc(doc)
    loser = next(u.volunteer_id for u in result.unassigned)
    (pair,) = result.explain_volunteer(loser).activities
    assert pair.improvement_needed == 0
    assert pair.places is not None
    assert pair.places["equal_match"] == 1
    assert pair.message.endswith("it was a tie, settled by the documented tie-break")


def test_used_elsewhere_names_only_the_volunteers_own_assignment() -> None:
    doc = {
        "volunteers": [{"id": "v"}],
        "activities": [online("high", priority=2), online("low", start=t("13:00"), end=t("14:00"))],
        "policy": OPEN,
    }
    result = solve_doc(doc)
    why = result.explain_volunteer("v", ["low"])
    assert why.assigned == ("high",)
    assert why.message == "assigned to high"
    low = next(a for a in why.activities if a.activity_id == "low")
    assert (low.outcome, low.reason) == ("not_assigned", "used_elsewhere")
    assert low.message.startswith("your limit of 1 activity went to high")


def test_failed_rules_carry_facts_and_the_smallest_change() -> None:
    doc = {
        "volunteers": [
            {
                "id": "v",
                "skills": {"急救": 2},
                "availability": [{"start": t("08:00"), "end": t("10:00")}],
                "preferences": ["b"],
            }
        ],
        "activities": [
            online("a", requirements=[{"skill": "急救", "min_level": 3}, {"skill": "驾驶", "min_level": 1}]),
            online("b", start=t("20:00"), end=t("21:00")),
        ],
        "policy": {"selection": "strict"},
    }
    why = solve_doc(doc).explain_volunteer("v", ["a"])
    a = next(x for x in why.activities if x.activity_id == "a")
    assert [f.rule for f in a.failures] == ["skills", "time", "selection"]
    skills, time, selection = a.failures
    assert skills.message == "requires 急救 level 3, you have 2; requires 驾驶 level 1, you do not have it"
    assert skills.change == {"kind": "raise_skills", "skills": {"急救": 3, "驾驶": 1}}
    # 10:00-11:00 +08:00 is the uncovered hour.
    assert time.change == {
        "kind": "add_availability",
        "windows": [{"start": f"{DAY}T02:00:00Z", "end": f"{DAY}T03:00:00Z"}],
    }
    assert selection.change == {"kind": "rank_activity"}
    b = next(x for x in why.activities if x.activity_id == "b")
    assert (b.preference_rank, [f.rule for f in b.failures]) == (1, ["time"])


def test_travel_names_whose_limit_binds() -> None:
    here = {"lat": 30.0, "lon": 120.0}
    far = {"lat": 30.1, "lon": 120.0}  # 11.12 km north
    doc = {
        "volunteers": [
            {"id": "mine", "location": here, "max_travel_km": 5.0},
            {"id": "policy", "location": here},
            {"id": "nowhere"},
        ],
        "activities": [online("a", location=far)],
        "policy": {"max_travel_km": 10.0, "selection": "open"},
    }
    result = solve_doc(doc)
    (mine,) = result.explain_volunteer("mine", ["a"]).activities[0].failures
    assert mine.facts == {"distance_km": 11.12, "limit_km": 5.0, "limit_set_by": "volunteer"}
    assert mine.change is None  # beyond the policy's 10 km, so nothing the volunteer changes helps
    (policy,) = result.explain_volunteer("policy", ["a"]).activities[0].failures
    assert policy.message == "11.12 km away, limit 10.0 km (the policy's)"
    (nowhere,) = result.explain_volunteer("nowhere", ["a"]).activities[0].failures
    assert nowhere.change == {"kind": "add_location", "within_km": 10.0}


def test_a_raised_travel_limit_is_the_smallest_that_works() -> None:
    here, far = {"lat": 30.0, "lon": 120.0}, {"lat": 30.05, "lon": 120.0}
    doc = {
        "volunteers": [{"id": "v", "location": here, "max_travel_km": 2.0}],
        "activities": [online("a", location=far)],
        "policy": OPEN,
    }
    (failure,) = solve_doc(doc).explain_volunteer("v").activities[0].failures
    assert failure.change is not None
    to_km = failure.change["to_km"]
    for limit, eligible in ((to_km, True), (to_km - 0.001, False)):
        changed = copy.deepcopy(doc)
        changed["volunteers"][0]["max_travel_km"] = limit
        assert len(solve_doc(changed).assignments) == int(eligible)


def test_unknown_ids_are_input_errors() -> None:
    result = solve_doc({"volunteers": [{"id": "v"}], "activities": [online("a")]})
    with pytest.raises(matcher.InputError, match="no volunteer with this id"):
        result.explain_volunteer("nobody")
    with pytest.raises(matcher.InputError, match="no activity with this id"):
        result.explain_volunteer("v", ["nothing"])
    with pytest.raises(matcher.InputError, match="no activity with this id"):
        result.explain_activity("nothing")


def test_funnel_on_a_hand_checked_activity() -> None:
    here = {"lat": 30.0, "lon": 120.0}
    doc = {
        "volunteers": [
            {"id": "far", "location": {"lat": 31.0, "lon": 120.0}, "skills": {"急救": 3}},
            {"id": "unskilled", "location": here},
            {"id": "busy", "location": here, "skills": {"急救": 3}, "availability": []},
            {"id": "taken", "location": here, "skills": {"急救": 3}},
            {"id": "ok", "location": here, "skills": {"急救": 3}},
        ],
        "activities": [
            online("a", location=here, capacity=3, requirements=first_aid(2)),
            online("first", location=here, requirements=first_aid(1), priority=5),
        ],
        "policy": OPEN,
    }
    result = solve_doc(doc)
    funnel = result.explain_activity("a")
    assert [(s.step, s.volunteers) for s in funnel.funnel] == [
        ("all", 5),
        ("travel", 4),
        ("skills", 3),
        ("time", 2),
        ("selection", 2),
        ("membership", 2),
        ("free", 1),
        ("assigned", 1),
    ]
    assert (
        funnel.message
        == "2 of 3 places open: 1 volunteer eligible and free; the largest drop is 'within travel range' (-1)"
    )


def _apply(vol: dict[str, Any], act: dict[str, Any], change: dict[str, Any]) -> None:
    kind = change["kind"]
    if kind == "raise_skills":
        vol["skills"] = {**vol.get("skills", {}), **change["skills"]}
    elif kind == "add_availability":
        vol["availability"] = [*vol["availability"], *change["windows"]]
    elif kind == "raise_travel_limit":
        vol["max_travel_km"] = change["to_km"]
    elif kind == "add_location":
        vol["location"] = act["location"]
    elif kind == "join_organization":
        vol["organizations"] = [*(vol.get("organizations") or []), change["any_of"][0]]
    else:
        vol["preferences"] = [*(vol.get("preferences") or []), act["id"]]


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (_strings(k) + _strings(v))]
    if isinstance(node, list | tuple):
        return [s for x in node for s in _strings(x)]
    return []


@settings(max_examples=120)
@given(problems())
def test_rule_verdicts_agree_with_the_candidate_edges(doc: dict[str, Any]) -> None:
    p = compile_doc(doc)
    vol, act = (g.ravel().astype(np.int64) for g in np.meshgrid(np.arange(p.n_volunteers), np.arange(p.n_activities)))
    d = diagnose(p, vol, act)
    edges = matcher.candidate_edges(p)
    assert set(zip(vol[d.eligible].tolist(), act[d.eligible].tolist(), strict=True)) == set(
        zip(edges.vol.tolist(), edges.act.tolist(), strict=True)
    )


@settings(max_examples=80)
@given(problems())
def test_explanations_match_the_result_and_name_no_one_else(doc: dict[str, Any]) -> None:
    result = solve_doc(doc)
    p, edges = result.problem, result.edges
    chosen = set(zip(edges.vol[result.chosen].tolist(), edges.act[result.chosen].tolist(), strict=True))
    eligible = set(zip(edges.vol.tolist(), edges.act.tolist(), strict=True))
    everyone = set(p.volunteer_ids)
    for v, vid in enumerate(p.volunteer_ids):
        why = result.explain_volunteer(vid, list(p.activity_ids))
        assert len(why.activities) == p.n_activities
        for pair in why.activities:
            key = (v, p.activity_index[pair.activity_id])
            expected = "assigned" if key in chosen else "not_assigned" if key in eligible else "not_eligible"
            assert pair.outcome == expected
            assert (pair.outcome == "not_eligible") == bool(pair.failures)
            assert {f.rule for f in pair.failures} <= set(RULES)
        text = json.dumps(why.to_dict(), ensure_ascii=False)
        assert not any(other in s for s in _strings(why.to_dict()) for other in everyone - {vid}), text
    for a, aid in enumerate(p.activity_ids):
        steps = [s.volunteers for s in result.explain_activity(aid).funnel]
        assert steps == sorted(steps, reverse=True)
        assert steps[5] == int((edges.act == a).sum())
        assert steps[-1] == sum(1 for _, b in chosen if b == a)


@settings(max_examples=80)
@given(problems())
def test_the_suggested_changes_make_the_pair_eligible(doc: dict[str, Any]) -> None:
    result = solve_doc(doc)
    acts = {a["id"]: a for a in doc["activities"]}
    for vol in doc["volunteers"]:
        for pair in result.explain_volunteer(vol["id"], list(acts)).activities:
            changes = [f.change for f in pair.failures]
            if not changes or any(c is None for c in changes) or len(vol.get("preferences") or []) >= 20:
                continue
            changed = copy.deepcopy(doc)
            target = next(v for v in changed["volunteers"] if v["id"] == vol["id"])
            for change in changes:
                assert change is not None
                _apply(target, acts[pair.activity_id], change)
            p = compile_doc(changed)
            d = diagnose(p, np.array([p.volunteer_index[vol["id"]]]), np.array([p.activity_index[pair.activity_id]]))
            assert d.eligible[0], (pair.activity_id, changes)


@settings(max_examples=150)
@given(problems())
def test_improvement_needed_is_the_exact_exchange_cost(doc: dict[str, Any]) -> None:
    for vol in doc["volunteers"]:
        vol["max_activities"] = 1
    result = solve_doc(doc)
    p, edges = result.problem, result.edges
    fi = flow_input(p, edges, combined_objective(p, edges, result.costs))
    best = int(fi.weight[result.chosen].sum())
    big = int(np.abs(fi.weight).sum()) + 1
    _, backend = get_backend("ortools")
    for vid in p.volunteer_ids:
        for pair in result.explain_volunteer(vid).activities:
            if pair.outcome != "not_assigned":
                continue
            assert pair.improvement_exact is True
            assert pair.improvement_needed is not None
            e = int(
                np.flatnonzero(
                    (edges.vol == p.volunteer_index[vid]) & (edges.act == p.activity_index[pair.activity_id])
                )[0]
            )
            forced = fi.weight.copy()
            forced[e] += big
            pick = backend(matcher.solvers.FlowInput(fi.left_cap, fi.right_cap, fi.tail, fi.head, forced))
            assert pick[e]
            assert best - (int(forced[pick].sum()) - big) == pair.improvement_needed
