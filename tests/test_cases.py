"""Small hand-checked cases with exact expected assignments and costs (default weights:
rank 20 per tie group, unranked 500, distance 10 per km, skill surplus 3 per level)."""

from __future__ import annotations

from typing import Any

import pytest

import matcher
from tests.helpers import assert_certified, objective, pairs, solve_doc
from tests.reference import brute_force_optimum, milp_optimum

DAY = "2026-12-07"


def t(hhmm: str) -> str:
    return f"{DAY}T{hhmm}:00+08:00"


def act(aid: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"id": aid, "start": t(start), "end": t(end), "capacity": 1, **extra}


def test_touching_windows_merge_but_a_gap_does_not() -> None:
    doc = {
        "volunteers": [
            {
                "id": "touching",
                "availability": [{"start": t("09:00"), "end": t("10:00")}, {"start": t("10:00"), "end": t("12:00")}],
            },
            {
                "id": "gap",
                "availability": [{"start": t("09:00"), "end": t("10:00")}, {"start": t("10:01"), "end": t("12:00")}],
            },
        ],
        "activities": [act("a", "09:30", "11:30", capacity=2)],
    }
    result = solve_doc(doc)
    assert pairs(result) == [("touching", "a")]
    assert [(u.volunteer_id, u.reason) for u in result.unassigned] == [("gap", "no_eligible_activity")]


def test_availability_in_another_offset_is_the_same_instant() -> None:
    # 01:00Z-04:00Z is 09:00-12:00 in UTC+8.
    doc = {
        "volunteers": [{"id": "v", "availability": [{"start": f"{DAY}T01:00:00Z", "end": f"{DAY}T04:00:00Z"}]}],
        "activities": [act("a", "09:00", "12:00")],
    }
    assert pairs(solve_doc(doc)) == [("v", "a")]


def test_tie_group_shares_a_rank() -> None:
    doc = {
        "volunteers": [{"id": "v", "preferences": [["a", "b"], "c"], "max_activities": 3}],
        "activities": [
            act("a", "09:00", "10:00"),
            act("b", "10:00", "11:00"),
            act("c", "11:00", "12:00"),
            act("d", "13:00", "14:00"),
        ],
        "policy": {"selection": "prefer"},
    }
    costs = {a.activity_id: (a.cost, a.preference_rank) for a in solve_doc(doc).assignments}
    assert costs == {"a": (0, 1), "b": (0, 1), "c": (20, 2)}


def test_strict_selection_only_assigns_ranked_activities() -> None:
    doc = {
        "volunteers": [{"id": "v1", "preferences": ["b"]}, {"id": "v2"}],
        "activities": [act("a", "09:00", "10:00"), act("b", "09:00", "10:00")],
        "policy": {"selection": "strict"},
    }
    result = solve_doc(doc)
    assert pairs(result) == [("v1", "b")]
    assert [u.activity_id for u in result.unfilled] == ["a"]


def test_open_selection_ignores_preferences() -> None:
    doc = {
        "volunteers": [{"id": "v", "preferences": ["b"], "skills": {"护理": 3}}],
        "activities": [
            act("a", "09:00", "10:00", requirements=[{"skill": "护理", "min_level": 3}]),
            act("b", "09:00", "10:00"),
        ],
        "policy": {"selection": "open"},
    }
    result = solve_doc(doc)
    # Both cost 0 under "open" (no surplus on a, nothing on b); the tie goes to the lower id.
    assert objective(result) == (1, 0)


def test_priority_beats_cost() -> None:
    doc = {
        "volunteers": [{"id": "v", "location": {"lat": 30.0, "lon": 120.0}, "preferences": ["near"]}],
        "activities": [
            act("far", "09:00", "10:00", priority=2, location={"lat": 30.05, "lon": 120.0}),
            act("near", "11:00", "12:00", priority=1, location={"lat": 30.0, "lon": 120.0}),
        ],
    }
    result = solve_doc(doc)
    assert pairs(result) == [("v", "far")]
    # 5.56 km away: 500 (unranked) + round(5560 m * 10 / 1000) = 556.
    assert result.assignments[0].cost_terms == {
        "preference": 500,
        "distance": 56,
        "skill_surplus": 0,
        "reliability": 0,
        "rating": 0,
        "recent_service": 0,
    }
    assert objective(result) == (2, 556)


def test_overlapping_activities_are_never_combined() -> None:
    doc = {
        "volunteers": [{"id": "v", "max_activities": 3, "preferences": ["a", "b", "c"]}],
        "activities": [act("a", "09:00", "11:00"), act("b", "10:00", "12:00"), act("c", "11:00", "12:00")],
    }
    result = solve_doc(doc)
    # a and c touch (11:00) and may be combined; b overlaps both.
    assert pairs(result) == [("v", "a"), ("v", "c")]
    assert objective(result) == (2, 0 + 40)
    # The LP with the volunteer's clique rows is integral here, so its duals prove optimality.
    doc = result.to_document()
    assert doc["certificate"]["kind"] == "lp_dual"
    # Weights (scale 121): a 121, b 101, c 81; primal a + c = 202. Dual: the clique {a, b} at 101
    # plus slacks z_a = 20 and z_c = 81 is 202 as well.
    assert doc["certificate"]["cliques"] == [{"volunteer_id": "v", "activity_ids": ["a", "b"], "price": 101}]
    assert doc["certificate"]["dual_objective"] == 202
    assert matcher.verify(result.problem, doc).optimal is True
    # Without the clique prices the flow prices alone cannot close the gap.
    doc["certificate"]["cliques"] = []
    assert matcher.verify(result.problem, doc).optimal is False
    # A "clique" of activities that do not all overlap is not a valid constraint: rejected.
    doc["certificate"]["cliques"] = [{"volunteer_id": "v", "activity_ids": ["a", "c"], "price": 10**9}]
    report = matcher.verify(result.problem, doc)
    assert report.optimal is False
    assert any("do not all overlap" in line for line in report.problems)


def test_overlap_forces_a_cheaper_global_rearrangement() -> None:
    # x (two places) would take both a and b in the flow relaxation; they overlap, so the exact
    # optimum gives b to y even though y ranks it last.
    doc = {
        "volunteers": [
            {"id": "x", "max_activities": 2, "preferences": ["a", "b"]},
            {"id": "y", "preferences": ["c", "b"]},
        ],
        "activities": [act("a", "09:00", "11:00"), act("b", "10:00", "12:00"), act("c", "13:00", "14:00", capacity=1)],
    }
    result = solve_doc(doc)
    assert pairs(result) == [("x", "a"), ("x", "c"), ("y", "b")]
    assert objective(result) == (3, 0 + 500 + 20)


def test_capacity_keeps_the_cheapest_volunteers() -> None:
    loc = {"lat": 30.0, "lon": 120.0}
    doc = {
        "volunteers": [
            {"id": "v1", "location": {"lat": 30.01, "lon": 120.0}},
            {"id": "v2", "location": {"lat": 30.03, "lon": 120.0}},
            {"id": "v3", "location": {"lat": 30.02, "lon": 120.0}},
        ],
        "activities": [act("a", "09:00", "10:00", capacity=2, location=loc)],
    }
    result = solve_doc(doc)
    assert pairs(result) == [("v1", "a"), ("v3", "a")]
    assert [(u.volunteer_id, u.reason) for u in result.unassigned] == [("v2", "places_taken")]


def test_online_activity_needs_no_location_but_in_person_does() -> None:
    doc = {
        "volunteers": [{"id": "nowhere", "max_activities": 2}],
        "activities": [
            act("online", "09:00", "10:00"),
            act("hall", "11:00", "12:00", location={"lat": 30.0, "lon": 120.0}),
        ],
    }
    result = solve_doc(doc)
    assert pairs(result) == [("nowhere", "online")]
    assert result.assignments[0].distance_km is None


def test_personal_travel_limit_is_tighter_than_policy() -> None:
    here = {"lat": 30.0, "lon": 120.0}
    four_km = {"lat": 30.036, "lon": 120.0}
    doc = {
        "volunteers": [
            {"id": "homebody", "location": here, "max_travel_km": 3},
            {"id": "traveller", "location": here},
        ],
        "activities": [act("a", "09:00", "10:00", capacity=2, location=four_km)],
    }
    assert pairs(solve_doc(doc)) == [("traveller", "a")]


def test_skill_surplus_saves_the_expert() -> None:
    need = [{"skill": "急救", "min_level": 2}]
    doc = {
        "volunteers": [
            {"id": "expert", "skills": {"急救": 5}},
            {"id": "learner", "skills": {"急救": 2}},
            {"id": "none"},
        ],
        "activities": [act("a", "09:00", "10:00", requirements=need)],
    }
    result = solve_doc(doc)
    assert pairs(result) == [("learner", "a")]
    assert result.assignments[0].cost == 500
    reasons = {u.volunteer_id: u.reason for u in result.unassigned}
    assert reasons == {"expert": "places_taken", "none": "no_eligible_activity"}


def test_exact_document_of_a_small_case() -> None:
    doc = {
        "volunteers": [
            {"id": "张三", "skills": {"急救": 3}, "preferences": ["义诊"], "location": {"lat": 30.0, "lon": 120.0}},
            {"id": "李四", "location": {"lat": 30.0, "lon": 120.0}},
        ],
        "activities": [
            act(
                "义诊",
                "09:00",
                "11:00",
                requirements=[{"skill": "急救", "min_level": 2}],
                location={"lat": 30.0, "lon": 120.01},
            )
        ],
    }
    result = solve_doc(doc).to_document()
    assert result["assignments"] == [
        {
            "volunteer_id": "张三",
            "activity_id": "义诊",
            "cost": 13,
            "cost_terms": {
                "preference": 0,
                "distance": 10,
                "skill_surplus": 3,
                "reliability": 0,
                "rating": 0,
                "recent_service": 0,
            },
            "distance_km": 0.963,
            "preference_rank": 1,
        }
    ]
    assert result["unfilled"] == []
    assert result["unassigned"] == [
        {"volunteer_id": "李四", "reason": "no_eligible_activity", "eligible_activities": 0}
    ]
    assert result["objective"] == {"priority_filled": 1, "total_cost": 13}
    assert result["status"] == "optimal"
    assert result["metrics"]["first_choice_share"] == 1.0
    assert result["certificate"]["kind"] == "lp_dual"


def test_empty_pool_is_a_valid_empty_result() -> None:
    result = matcher.match([], [act("a", "09:00", "10:00")])
    assert result.assignments == ()
    assert [u.to_dict() for u in result.unfilled] == [
        {"activity_id": "a", "capacity": 1, "filled": 0, "unfilled": 1, "eligible_volunteers": 0}
    ]
    assert matcher.verify(result.problem, result).ok


@pytest.mark.parametrize("backend", sorted(matcher.BACKENDS))
def test_every_backend_solves_the_overlap_case(backend: str) -> None:
    doc = {
        "volunteers": [{"id": "v", "max_activities": 3, "preferences": ["a", "b", "c"]}],
        "activities": [act("a", "09:00", "11:00"), act("b", "10:00", "12:00"), act("c", "11:00", "12:00")],
    }
    assert pairs(solve_doc(doc, backend=backend)) == [("v", "a"), ("v", "c")]


def test_unknown_backend_is_a_clear_error() -> None:
    with pytest.raises(matcher.UnknownBackendError, match="choose one of"):
        matcher.match([], [], backend="gurobi")


def test_fractional_clique_lp_falls_back_to_branch_and_bound() -> None:
    # Found by random search: here the LP with clique rows is fractional, so the exact answer
    # needs branch and bound and the certificate says so.
    doc = {
        "volunteers": [
            {"id": "v0", "max_activities": 2},
            {"id": "v1", "max_activities": 3, "preferences": ["a4", "a2", "a1", "a3"]},
            {"id": "v2", "max_activities": 3, "preferences": ["a4", "a3", "a0", "a2", "a1"]},
        ],
        "activities": [
            act("a0", "09:00", "12:00", priority=3),
            act("a1", "10:00", "11:00", priority=1),
            act("a2", "11:00", "14:00", capacity=2, priority=1),
            act("a3", "11:00", "13:00", priority=3),
            act("a4", "13:00", "14:00", capacity=2, priority=3),
        ],
    }
    result = solve_doc(doc)
    assert result.certificate.kind == "milp"
    assert objective(result) == brute_force_optimum(doc) == milp_optimum(doc)
    report = matcher.verify(result.problem, result)
    assert report.feasible
    assert report.optimal is None


def test_load_weight_spreads_work_exactly() -> None:
    # star (all skills level 1, cost 0) could take both shifts; plus (level 2, surplus cost 3 each)
    # is the alternative. The second assignment of star costs `load` extra: 2 < 3 keeps star on
    # both, 5 > 3 moves one shift to plus.
    doc = {
        "volunteers": [
            {"id": "star", "skills": {"急救": 1}, "max_activities": 2},
            {"id": "plus", "skills": {"急救": 2}},
        ],
        "activities": [
            act("early", "09:00", "10:00", requirements=[{"skill": "急救", "min_level": 1}]),
            act("late", "11:00", "12:00", requirements=[{"skill": "急救", "min_level": 1}]),
        ],
        "policy": {"selection": "open", "weights": {"load": 2}},
    }
    result = solve_doc(doc)
    assert pairs(result) == [("star", "early"), ("star", "late")]
    assert (result.objective.total_cost, result.objective.load_cost) == (2, 2)
    assert result.to_document()["objective"] == {"priority_filled": 2, "total_cost": 2, "load_cost": 2}
    doc["policy"]["weights"]["load"] = 5
    result = solve_doc(doc)
    assert sorted(v for v, _ in pairs(result)) == ["plus", "star"]
    assert (result.objective.total_cost, result.objective.load_cost) == (3, 0)
    for backend in ("ortools", "highs", "networkx"):
        assert objective(solve_doc(doc, backend)) == (2, 3) == brute_force_optimum(doc) == milp_optimum(doc)
        assert_certified(solve_doc(doc, backend))


def test_members_only_admits_members_of_a_listed_organisation() -> None:
    doc = {
        "volunteers": [
            {"id": "member", "organizations": ["团委", "红十字会"]},
            {"id": "outsider", "organizations": ["社工站"], "preferences": ["drill"]},
            {"id": "nobody", "preferences": ["drill"]},
        ],
        "activities": [act("drill", "09:00", "10:00", capacity=3, members_only=["红十字会", "急救协会"])],
    }
    result = solve_doc(doc)
    assert pairs(result) == [("member", "drill")]
    (why,) = result.explain_volunteer("outsider").activities
    (failure,) = why.failures
    assert failure.rule == "membership"
    assert failure.message == "only members of 急救协会, 红十字会 may take part, and you belong to none of them"
    assert failure.facts == {"members_only": ["急救协会", "红十字会"], "your_organizations": ["社工站"]}
    with pytest.raises(matcher.InputError, match="listed more than once"):
        solve_doc({"volunteers": [{"id": "v", "organizations": ["a", "a"]}], "activities": []})
