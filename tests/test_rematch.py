"""Re-matching: pins kept, fewest changes (exact, against brute force), certified, and clear errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import matcher
from matcher.cli import main
from tests.helpers import assert_certified, objective, pairs, solve_doc
from tests.reference import _feasible, load_cost, reference_edges
from tests.strategies import problems

DAY = "2026-12-07"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "community_week.json"


def t(hhmm: str) -> str:
    return f"{DAY}T{hhmm}:00+08:00"


def act(aid: str, start: str = "09:00", end: str = "11:00", **extra: Any) -> dict[str, Any]:
    return {"id": aid, "start": t(start), "end": t(end), "capacity": 1, **extra}


def again(doc: dict[str, Any], previous: Any, changes: Any = None, **kw: Any) -> matcher.MatchResult:
    return matcher.rematch(doc["volunteers"], doc["activities"], doc.get("policy"), previous, changes, **kw)


def changed_pool(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    vols, acts = matcher.rematching.apply_changes(
        doc["volunteers"], doc["activities"], matcher.rematching.coerce_changes(changes)
    )
    dump = [
        x.model_dump(mode="json", exclude_none=True) if isinstance(x, matcher.Volunteer | matcher.Activity) else x
        for x in vols + acts
    ]
    return {"volunteers": dump[: len(vols)], "activities": dump[len(vols) :], "policy": doc.get("policy") or {}}


def brute_force(
    doc: dict[str, Any],
    previous: set[tuple[str, str]],
    pins: set[tuple[str, str]],
    declined: set[tuple[str, str]],
    weight: int | None,
) -> tuple[int, int, int] | None:
    """(priority filled, changes, cost) of the re-match optimum by enumerating edge subsets; None if
    no subset holds every pin."""
    edges = {k: sum(v.values()) for k, v in reference_edges(doc).items() if k not in declined}
    keys = sorted(edges)
    assert len(keys) <= 14
    prio = {a["id"]: a.get("priority", 1) for a in doc["activities"]}
    best: tuple[int, ...] | None = None
    answer: tuple[int, int, int] | None = None
    for mask in range(1 << len(keys)):
        chosen = [keys[i] for i in range(len(keys)) if mask >> i & 1]
        if not pins <= set(chosen) or not _feasible(doc, chosen):
            continue
        p = sum(prio[a] for _, a in chosen)
        c = sum(edges[k] for k in chosen) + load_cost(doc, chosen)
        changes = len(previous ^ set(chosen))
        key = (p, -changes, -c) if weight is None else (p, -(c + weight * changes), 0)
        if best is None or key > best:
            best, answer = key, (p, changes, c)
    return answer


def test_a_decline_moves_as_few_people_as_possible() -> None:
    # After x declines a, a fresh solve would move y from b to a (y's first choice); the re-match
    # leaves y and z where they are: one change (x out) instead of three.
    doc = {
        "volunteers": [
            {"id": "x", "preferences": ["a"]},
            {"id": "y", "preferences": ["a", "b"]},
            {"id": "z", "preferences": [["c"], ["a", "b"]]},
        ],
        "activities": [act("a"), act("b"), act("c", "13:00", "14:00")],
        "policy": {"selection": "strict"},
    }
    first = solve_doc(doc)
    assert pairs(first) == [("x", "a"), ("y", "b"), ("z", "c")]
    declined = {"declined": [{"volunteer_id": "x", "activity_id": "a"}]}
    result = again(doc, first, declined)
    assert pairs(result) == [("y", "b"), ("z", "c")]
    assert result.rematch is not None
    assert (result.rematch.changes, result.rematch.forced_out, result.rematch.kept) == (1, 1, 2)
    fresh = changed_pool(doc, {})
    fresh["volunteers"] = [v for v in fresh["volunteers"] if v["id"] != "x"]
    assert pairs(solve_doc(fresh)) == [("y", "a"), ("z", "c")]


def test_nothing_changed_keeps_everything() -> None:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    first = solve_doc(doc)
    pins = [{"volunteer_id": a.volunteer_id, "activity_id": a.activity_id} for a in first.assignments[::7]]
    result = again(doc, first, {"accepted": pins})
    assert pairs(result) == pairs(first)
    assert objective(result) == objective(first)
    assert result.rematch is not None
    assert (result.rematch.changes, result.rematch.kept) == (0, len(first.assignments))
    assert matcher.verify(result.problem, result).optimal is not False


@st.composite
def dense_pools(draw: st.DrawFn) -> dict[str, Any]:
    """Four volunteers and three activities where nearly every pair is eligible (at most 12 edges),
    with costs that differ, so that fewest-changes and cheapest disagree often."""
    slots = [("09:00", "10:00"), ("09:30", "11:00"), ("13:00", "14:00")]
    acts = []
    for aid in ("a1", "a2", "a3"):
        start, end = draw(st.sampled_from(slots))
        acts.append(act(aid, start, end, capacity=draw(st.integers(1, 2)), priority=draw(st.integers(1, 2))))
    vols = []
    for vid in ("v1", "v2", "v3", "v4"):
        vol: dict[str, Any] = {
            "id": vid,
            "location": {"lat": 30.0 + draw(st.integers(0, 20)) / 1000, "lon": 120.0},
            "skills": {"急救": draw(st.integers(1, 5))},
            "max_activities": draw(st.integers(1, 2)),
        }
        picks = draw(st.permutations(["a1", "a2", "a3"]))[: draw(st.integers(0, 3))]
        if picks:
            vol["preferences"] = list(picks)
        vols.append(vol)
    for a in acts:
        a["location"] = {"lat": 30.01, "lon": 120.0}
        if draw(st.booleans()):
            a["requirements"] = [{"skill": "急救", "min_level": 1}]
    weights = {"load": draw(st.sampled_from([0, 0, 30]))}
    return {
        "volunteers": vols,
        "activities": acts,
        "policy": {"selection": "prefer", "max_travel_km": 25.0, "weights": weights},
    }


@st.composite
def rematch_cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[str, str]], dict[str, Any], int | None]:
    """A pool, a previous assignment (the optimum, or any set of eligible pairs, which a re-match
    must also accept), and changes: declines, pins, a cancellation, a capacity edit."""
    doc = draw(st.one_of(dense_pools(), problems(max_volunteers=4, max_activities=3)))
    eligible = sorted(reference_edges(doc))
    assume(eligible)
    if draw(st.booleans()):
        chosen = pairs(solve_doc(doc))
    else:
        chosen = draw(st.lists(st.sampled_from(eligible), unique=True, min_size=1, max_size=5))
    changes: dict[str, Any] = {}
    if chosen:
        out = draw(st.lists(st.sampled_from(chosen), unique=True, max_size=2))
        pin = [x for x in chosen if x not in out and draw(st.booleans())]
        changes["declined"] = [{"volunteer_id": v, "activity_id": a} for v, a in out]
        changes["accepted"] = [{"volunteer_id": v, "activity_id": a} for v, a in pin]
    act_ids = [a["id"] for a in doc["activities"]]
    if len(act_ids) > 1 and draw(st.booleans()):
        changes["cancelled_activities"] = [draw(st.sampled_from(act_ids))]
        changes["accepted"] = [
            x for x in changes.get("accepted", []) if x["activity_id"] not in changes["cancelled_activities"]
        ]
    if draw(st.booleans()):
        changes["capacities"] = {draw(st.sampled_from(act_ids)): draw(st.integers(1, 3))}
    weight = draw(st.sampled_from([None, None, 0, 50, 1000]))
    return doc, chosen, changes, weight


@settings(max_examples=150)
@given(rematch_cases(), st.sampled_from([None, True]))
def test_rematch_is_the_lexicographic_optimum_by_brute_force(
    case: tuple[dict[str, Any], list[tuple[str, str]], dict[str, Any], int | None], staged: bool | None
) -> None:
    # staged: every level solved on the optimal face of the one before (matcher.lexicographic).
    doc, chosen, changes, weight = case
    pool = changed_pool(doc, changes)
    assume(len(reference_edges(pool)) <= 14)
    previous = set(chosen)
    before = {"assignments": [{"volunteer_id": v, "activity_id": a} for v, a in chosen]}
    pins = {(x["volunteer_id"], x["activity_id"]) for x in changes.get("accepted", [])}
    declined = {(x["volunteer_id"], x["activity_id"]) for x in changes.get("declined", [])}
    expected = brute_force(pool, previous, pins, declined, weight)
    if expected is None:
        # Pins that can no longer all be held (a capacity cut below them) are refused, by field.
        with pytest.raises(matcher.InputError) as info:
            again(doc, before, changes, disruption_weight=weight, lexicographic=staged)
        assert {i.field for i in info.value.issues} == {"accepted"}
        return
    result = again(doc, before, changes, disruption_weight=weight, lexicographic=staged)
    assert bool(result.certificate.levels) is bool(staged)
    assert result.rematch is not None
    got = (result.objective.priority_filled, result.rematch.changes, result.objective.total_cost)
    if weight is None:
        assert got == expected
    else:
        assert (got[0], got[2] + weight * got[1]) == (expected[0], expected[2] + weight * expected[1])
    assert pins <= set(pairs(result))
    assert not declined & set(pairs(result))
    report = matcher.verify(result.problem, result.to_document())
    assert report.feasible, report.problems
    assert report.optimal is not False, report.problems


def test_verify_catches_a_dropped_pin() -> None:
    doc = {"volunteers": [{"id": "v"}, {"id": "w"}], "activities": [act("a")]}
    first = solve_doc(doc)
    who = first.assignments[0].volunteer_id
    result = again(doc, first, {"accepted": [{"volunteer_id": who, "activity_id": "a"}]})
    tampered = result.to_document()
    other = "w" if who == "v" else "v"
    tampered["assignments"][0]["volunteer_id"] = other
    report = matcher.verify(result.problem, tampered)
    assert "an accepted (pinned) assignment was not kept" in report.problems


def test_bad_changes_name_the_record_and_field() -> None:
    doc = {
        "volunteers": [{"id": "v", "max_activities": 2}, {"id": "w"}],
        "activities": [act("a"), act("b", "10:00", "12:00")],
    }
    first = solve_doc(doc)
    cases = [
        ({"cancelled_activities": ["zz"]}, ("changes", "zz", "cancelled_activities")),
        ({"removed_volunteers": ["nobody"]}, ("changes", "nobody", "removed_volunteers")),
        ({"capacities": {"a": 0}}, ("changes", "", "capacities.a")),
        (
            {"accepted": [{"volunteer_id": "v", "activity_id": "a"}, {"volunteer_id": "v", "activity_id": "b"}]},
            ("changes", "v", "accepted"),
        ),
        (
            {
                "accepted": [{"volunteer_id": "v", "activity_id": "a"}],
                "capacities": {},
                "declined": [{"volunteer_id": "v", "activity_id": "a"}],
            },
            ("changes", "v", "accepted"),
        ),
        ({"volunteers": [{"id": "n", "max_activities": 0}]}, ("volunteer", "n", "max_activities")),
    ]
    for changes, (record, record_id, field) in cases:
        with pytest.raises(matcher.InputError) as info:
            again(doc, first, changes)
        assert (info.value.issues[0].record, info.value.issues[0].record_id, info.value.issues[0].field) == (
            record,
            record_id,
            field,
        ), changes


def test_cancelled_activities_leave_the_preferences() -> None:
    doc = {
        "volunteers": [{"id": "v", "preferences": [["gone", "b"], "c"]}],
        "activities": [act("gone"), act("b", "13:00", "14:00"), act("c", "15:00", "16:00")],
    }
    result = again(doc, solve_doc(doc), {"cancelled_activities": ["gone"]})
    assert result.problem.activity_ids == ("b", "c")
    assert [a.preference_rank for a in result.assignments] == [1]


@settings(max_examples=80)
@given(problems(), st.integers(1, 4))
def test_waitlists_list_free_backups_first_then_movable_ones(doc: dict[str, Any], k: int) -> None:
    result = solve_doc(doc)
    p, edges = result.problem, result.edges
    for aid in p.activity_ids:
        backups = result.waitlist(aid, k)
        free = [r for r in backups if r.kind == "free"]
        assert [(r.id, r.cost) for r in free] == [(r.id, r.cost) for r in result.recommend_volunteers(aid, k)]
        assert [r.kind for r in backups] == sorted(r.kind for r in backups)  # "free" < "movable"
        a = p.activity_index[aid]
        on_it = {p.volunteer_ids[v] for v in edges.vol[result.chosen & (edges.act == a)].tolist()}
        eligible = {p.volunteer_ids[v] for v in edges.vol[edges.act == a].tolist()}
        assert {r.id for r in backups} <= eligible - on_it
        assert len({r.id for r in backups}) == len(backups)
        movable = [(r.cost, r.id) for r in backups if r.kind == "movable"]
        assert movable == sorted(movable, key=lambda x: (x[0], p.volunteer_index[x[1]]))
        assert len(backups) == min(k, len(eligible - on_it))


def test_cli_rematch_and_verify_with_changes(tmp_path: Path) -> None:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    first, second = tmp_path / "r1.json", tmp_path / "r2.json"
    assert main(["solve", str(problem), "-q", "-o", str(first)]) == 0
    previous = json.loads(first.read_text(encoding="utf-8"))
    head = previous["assignments"][0]
    changes = {
        "declined": [{"volunteer_id": head["volunteer_id"], "activity_id": head["activity_id"]}],
        "cancelled_activities": ["A001"],
    }
    changes_path = tmp_path / "changes.json"
    changes_path.write_text(json.dumps(changes), encoding="utf-8")
    args = [
        "rematch",
        str(problem),
        "--previous",
        str(first),
        "--changes",
        str(changes_path),
        "-o",
        str(second),
        "--waitlist",
        "2",
    ]
    assert main(args) == 0
    written = json.loads(second.read_text(encoding="utf-8"))
    assert written == again(doc, previous, changes).to_document(waitlist=2)
    assert main(["verify", str(problem), str(second), "--changes", str(changes_path)]) == 0
    assert main(["verify", str(problem), str(second)]) == 1


def test_rematch_is_independent_of_record_order() -> None:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    first = solve_doc(doc)
    changes = {
        "declined": [{"volunteer_id": a.volunteer_id, "activity_id": a.activity_id} for a in first.assignments[:5]]
    }
    shuffled = copy.deepcopy(doc)
    shuffled["volunteers"].reverse()
    shuffled["activities"] = shuffled["activities"][1::2] + shuffled["activities"][::2]
    assert again(doc, first, changes).to_json() == again(shuffled, first, changes).to_json()


def test_disruption_weight_trades_changes_for_cost() -> None:
    # y would be a much better fit for a; with fewest-changes-first x stays, with a small weight y moves in.
    doc = {
        "volunteers": [{"id": "x", "skills": {"急救": 5}}, {"id": "y", "skills": {"急救": 1}}],
        "activities": [act("a", requirements=[{"skill": "急救", "min_level": 1}])],
        "policy": {"selection": "open"},
    }
    previous = {"assignments": [{"volunteer_id": "x", "activity_id": "a"}]}
    assert pairs(again(doc, previous)) == [("x", "a")]
    assert pairs(again(doc, previous, disruption_weight=1)) == [("y", "a")]
    assert pairs(again(doc, previous, disruption_weight=7)) == [("x", "a")]
    for weight in (None, 1, 7):
        assert_certified(again(doc, previous, disruption_weight=weight))


def test_explanations_of_a_rematch_give_no_cost_margin() -> None:
    # A re-match also weighs changed assignments, so a margin in cost points would mislead.
    doc = {"volunteers": [{"id": "v"}, {"id": "w"}], "activities": [act("a")], "policy": {"selection": "open"}}
    first = solve_doc(doc)
    result = again(doc, first)
    loser = next(u.volunteer_id for u in result.unassigned)
    (pair,) = result.explain_volunteer(loser).activities
    assert pair.outcome == "not_assigned"
    assert pair.improvement_needed is None
    (fresh,) = first.explain_volunteer(loser).activities
    assert fresh.improvement_needed == 0
