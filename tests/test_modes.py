"""The comparison modes: stable matches the `matching` library's hospital-resident solver, has no
blocking pair and is volunteer-optimal (brute force); first come follows the sign-up order."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from matching.games import HospitalResident

import matcher
from matcher.cli import main
from matcher.modes import preference_orders
from matcher.tiebreak import tie_keys
from tests.helpers import compile_doc, pairs
from tests.strategies import problems

DAY = "2026-12-07"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "community_week.json"


def act(aid: str, start: str = "09:00", end: str = "10:00", **extra: Any) -> dict[str, Any]:
    return {"id": aid, "start": f"{DAY}T{start}:00+08:00", "end": f"{DAY}T{end}:00+08:00", "capacity": 1, **extra}


def run(doc: dict[str, Any], mode: str) -> matcher.MatchResult:
    return matcher.match(doc["volunteers"], doc["activities"], doc.get("policy"), mode=mode)  # type: ignore[arg-type]


def library_stable(result: matcher.MatchResult) -> set[tuple[str, str]]:
    """The resident-optimal stable matching from the `matching` library, on the same preferences."""
    p, edges = result.problem, result.edges
    orders = preference_orders(p, edges, result.costs)
    vol_prefs: dict[str, list[str]] = {}
    for e in orders.by_volunteer.tolist():
        vol_prefs.setdefault(p.volunteer_ids[edges.vol[e]], []).append(p.activity_ids[edges.act[e]])
    act_prefs: dict[str, list[str]] = {}
    for e in np.lexsort((orders.act_rank, edges.act)).tolist():
        act_prefs.setdefault(p.activity_ids[edges.act[e]], []).append(p.volunteer_ids[edges.vol[e]])
    if not vol_prefs:
        return set()
    capacities = {a: int(p.act_capacity[p.activity_index[a]]) for a in act_prefs}
    game = HospitalResident.create_from_dictionaries(vol_prefs, act_prefs, capacities)
    solution = game.solve(optimal="resident")
    return {(str(v), str(a)) for a, vs in solution.items() for v in vs}


@settings(max_examples=150)
@given(problems())
def test_stable_mode_equals_the_matching_library_and_has_no_blocking_pair(doc: dict[str, Any]) -> None:
    result = run(doc, "stable")
    assert set(pairs(result)) == library_stable(result)
    assert result.blocking_pairs() == 0
    assert result.metrics["blocking_pairs"] == 0
    report = matcher.verify(result.problem, result)
    assert report.feasible, report.problems
    assert report.optimal is None


@settings(max_examples=100)
@given(problems(max_volunteers=4, max_activities=3))
def test_stable_mode_is_volunteer_optimal_by_brute_force(doc: dict[str, Any]) -> None:
    result = run(doc, "stable")
    p, edges = result.problem, result.edges
    orders = preference_orders(p, edges, result.costs)
    n = len(edges)
    got = {int(edges.vol[e]): int(orders.vol_rank[e]) for e in np.flatnonzero(result.chosen)}
    for mask in range(1 << n):
        chosen = np.array([(mask >> e) & 1 for e in range(n)], dtype=bool)
        load = np.bincount(edges.vol[chosen], minlength=p.n_volunteers)
        filled = np.bincount(edges.act[chosen], minlength=p.n_activities)
        if (load > 1).any() or (filled > p.act_capacity).any():
            continue
        other = matcher.result.build_result(p, edges, result.costs, chosen, "x", result.certificate, {})
        if matcher.modes.blocking_pairs(dataclasses.replace(other, status="stable")) != 0:
            continue
        # Every stable matching is at best as good for each volunteer as deferred acceptance's.
        for e in np.flatnonzero(chosen).tolist():
            v = int(edges.vol[e])
            assert v in got
            assert got[v] <= orders.vol_rank[e]


@settings(max_examples=150)
@given(problems())
def test_preference_orders_are_the_lexicographic_orders(doc: dict[str, Any]) -> None:
    # By (cost, tie key, other side's index) within each volunteer and each activity, as np.lexsort.
    result = matcher.solve(compile_doc(doc))
    p, edges = result.problem, result.edges
    vol, act = edges.vol.astype(np.int64), edges.act.astype(np.int64)
    key = tie_keys(p.volunteer_ids, p.activity_ids, vol, act)
    orders = preference_orders(p, edges, result.costs)
    # Costs too wide for the packed key are ranked first: the same orders.
    wide = preference_orders(p, edges, dataclasses.replace(result.costs, total=result.costs.total * 2**33 - 1))
    assert [wide.by_volunteer.tolist(), wide.vol_rank.tolist(), wide.act_rank.tolist()] == [
        orders.by_volunteer.tolist(),
        orders.vol_rank.tolist(),
        orders.act_rank.tolist(),
    ]
    by_volunteer = np.lexsort((act, key, result.costs.total, vol))
    by_activity = np.lexsort((vol, key, result.costs.total, act))
    assert orders.by_volunteer.tolist() == by_volunteer.tolist()
    for group, order, rank in ((vol, by_volunteer, orders.vol_rank), (act, by_activity, orders.act_rank)):
        expected = np.empty(len(order), dtype=np.int64)
        for g in np.unique(group).tolist():
            mine = order[group[order] == g]
            expected[mine] = np.arange(len(mine))
        assert rank.tolist() == expected.tolist()


def test_first_come_follows_the_sign_up_order() -> None:
    doc = {
        "volunteers": [
            {"id": "early", "signed_up_at": f"{DAY}T07:00:00+08:00", "preferences": ["b", "a"], "max_activities": 2},
            {"id": "late", "signed_up_at": f"{DAY}T08:00:00+08:00", "preferences": ["b"]},
            {"id": "anytime", "preferences": ["a"]},
        ],
        "activities": [act("a"), act("b", "09:30", "10:30"), act("c", "13:00", "14:00")],
    }
    result = run(doc, "first_come")
    # early takes b (first pick) and cannot also take a (overlap), so takes c; late finds b full
    # and takes its best open one, a; anytime comes last and finds a taken.
    assert sorted(pairs(result)) == [("early", "b"), ("early", "c"), ("late", "a")]
    assert result.status == "first_come"
    assert result.certificate.kind == "none"


def test_price_of_stability_and_the_modes_on_the_example(tmp_path: Path) -> None:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    p = matcher.load_problem(EXAMPLE)
    report = matcher.price_of_stability(p)
    assert report["stable"]["blocking_pairs"] == 0
    assert report["stable"]["priority_filled"] <= report["optimal"]["priority_filled"]
    assert report["fill_ratio"] == round(report["stable"]["places_filled"] / report["optimal"]["places_filled"], 6)
    out = tmp_path / "stable.json"
    assert main(["solve", str(EXAMPLE), "--mode", "stable", "-q", "-o", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == run(doc, "stable").to_document()
    assert main(["verify", str(EXAMPLE), str(out)]) == 0
    shuffled = copy.deepcopy(doc)
    shuffled["volunteers"].reverse()
    for mode in ("stable", "first_come"):
        assert run(doc, mode).to_json() == run(shuffled, mode).to_json()


def test_unknown_mode_is_an_input_error() -> None:
    with pytest.raises(matcher.InputError, match="unknown mode"):
        matcher.match([], [], mode="lottery")  # type: ignore[arg-type]


def test_blocking_pairs_of_an_optimal_result_by_hand() -> None:
    # The optimum fills both places; x would rather have a (its first pick) and a prefers x
    # (cheaper), but x sits on b so that y can take a: one blocking pair.
    doc = {
        "volunteers": [{"id": "x", "preferences": ["a", "b"]}, {"id": "y", "preferences": ["a"]}],
        "activities": [act("a"), act("b", "11:00", "12:00")],
        "policy": {"selection": "strict"},
    }
    result = run(doc, "optimal")
    assert sorted(pairs(result)) == [("x", "b"), ("y", "a")]
    assert result.blocking_pairs() == 1
    assert sorted(pairs(run(doc, "stable"))) == [("x", "a")]
