"""The menu rules: exact hand-checked cases, brute force, an independent MILP, and verify."""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from matcher.rules_check import rule_violations
from tests.helpers import compile_doc, objective, solve_doc
from tests.reference_rules import rules_brute_force, rules_instance, rules_milp
from tests.strategies import rule_problems


def at(hour: int, minute: int = 0, day: int = 1) -> str:
    return f"2026-12-{day:02d}T{hour:02d}:{minute:02d}:00+08:00"


def act(aid: str, start: str, end: str, capacity: int, **extra: Any) -> dict[str, Any]:
    return {"id": aid, "start": start, "end": end, "capacity": capacity, **extra}


def assigned(result: matcher.MatchResult) -> set[tuple[str, str, str | None]]:
    return {(a.volunteer_id, a.activity_id, a.role) for a in result.assignments}


def assert_keeps_rules(result: matcher.MatchResult) -> None:
    roles = result.roles if result.roles is not None else np.full(len(result.edges), -1, dtype=np.int64)
    assert rule_violations(result.problem, result.edges, result.chosen, roles) == []
    check = matcher.verify(result.problem, result)
    assert check.feasible, check.problems
    assert check.ok


SOCIAL = {"name": "社工", "count": 1, "min": 1, "requirements": [{"skill": "社工", "min_level": 1}]}
HELPERS = {"name": "志愿者", "count": 4}


def test_social_worker_leads_the_team() -> None:
    vols = [{"id": "sw"} | {"skills": {"社工": 2}}] + [{"id": f"v{i}"} for i in range(6)]
    acts = [act("visit", at(9), at(11), 5, roles=[SOCIAL, HELPERS])]
    r = matcher.match(vols, acts, {"selection": "open"})
    assert ("sw", "visit", "社工") in assigned(r)
    assert sum(1 for a in r.assignments if a.role == "志愿者") == 4
    assert r.status == "optimal"
    assert r.certificate.kind == "milp"
    assert_keeps_rules(r)


def test_no_social_worker_means_no_visit_and_says_why() -> None:
    vols = [{"id": f"v{i}"} for i in range(5)]
    acts = [act("visit", at(9), at(11), 5, roles=[SOCIAL, HELPERS]), act("clean", at(9), at(11), 2)]
    r = matcher.match(vols, acts, {"selection": "open"})
    # Nobody fits 社工, and a volunteer must fit some role: the helpers fit 志愿者, but the
    # activity cannot run without its 社工.
    assert {a.activity_id for a in r.assignments} == {"clean"}
    assert r.rules is not None
    (idle,) = r.rules.not_staffed
    assert (idle.activity_id, idle.reason, idle.role) == ("visit", "role_short", "社工")
    assert_keeps_rules(r)
    # A helper who asks "why not the visit?" is told the visit does not run, and why.
    (pair,) = [x for x in r.explain_volunteer("v0", ["visit"]).activities if x.activity_id == "visit"]
    assert pair.reason == "not_staffed"
    assert "社工" in pair.message
    assert r.explain_activity("visit").message == idle.message


def test_ratio_one_lead_per_two() -> None:
    lead = {"name": "lead", "count": 2, "requirements": [{"skill": "急救", "min_level": 1}]}
    crew = {"name": "crew", "count": 6}
    vols = [{"id": "L1", "skills": {"急救": 1}}] + [{"id": f"c{i}"} for i in range(6)]
    acts = [act("a", at(9), at(11), 8, roles=[lead, crew], ratios=[{"lead": "lead", "per": 2, "of": "crew"}])]
    r = matcher.match(vols, acts, {"selection": "open"})
    # One lead allows two crew: three places filled, not seven.
    assert r.metrics["places_filled"] == 3
    assert_keeps_rules(r)


def test_course_below_its_minimum_does_not_run() -> None:
    vols = [{"id": f"v{i}"} for i in range(5)]
    acts = [act("firstaid", at(14), at(16), 10, min_volunteers=6, priority=5), act("walk", at(14), at(16), 3)]
    r = matcher.match(vols, acts, {"selection": "open"})
    assert {a.activity_id for a in r.assignments} == {"walk"}
    assert r.rules is not None
    assert [n.reason for n in r.rules.not_staffed] == ["too_few_eligible"]
    more = matcher.match([*vols, {"id": "v5"}], acts, {"selection": "open"})
    assert {a.activity_id for a in more.assignments} == {"firstaid"}
    assert_keeps_rules(more)


def test_weekly_hour_cap() -> None:
    vols = [{"id": "v", "max_activities": 3, "max_hours": 6}]
    acts = [act(f"a{d}", at(9, day=d), at(12, day=d), 1) for d in (1, 2, 3)]
    r = matcher.match(vols, acts, {"selection": "open"})
    assert len(r.assignments) == 2
    assert_keeps_rules(r)
    r = matcher.match([vols[0] | {"max_hours": 9}], acts, {"selection": "open"})
    assert len(r.assignments) == 3


def test_daily_cap_counts_a_night_shift_on_both_days() -> None:
    # 22:00-02:00 is 2 h on the 1st and 2 h on the 2nd (Beijing time); 09:00-11:00 on the 2nd too.
    vols = [{"id": "v", "max_activities": 2, "max_hours_per_day": 3}]
    acts = [act("night", at(22), at(2, day=2), 1), act("morning", at(9, day=2), at(11, day=2), 1)]
    r = matcher.match(vols, acts, {"selection": "open"})
    assert len(r.assignments) == 1
    r = matcher.match([vols[0] | {"max_hours_per_day": 4}], acts, {"selection": "open"})
    assert len(r.assignments) == 2
    # In UTC the night shift falls on one day (14:00-18:00): 4 h > 3.5 h, so it cannot be taken.
    r = matcher.match([vols[0] | {"max_hours_per_day": 3.5}], acts, {"selection": "open", "time_zone": "UTC"})
    assert {a.activity_id for a in r.assignments} == {"morning"}


@pytest.mark.parametrize(("rest", "both"), [(0, True), (30, True), (31, False), (60, False)])
def test_rest_between_assignments(rest: int, both: bool) -> None:
    vols = [{"id": "v", "max_activities": 2}]
    acts = [act("a", at(9), at(11), 1), act("b", at(11, 30), at(13), 1)]
    r = matcher.match(vols, acts, {"selection": "open", "min_rest_minutes": rest})
    assert len(r.assignments) == (2 if both else 1)
    assert_keeps_rules(r)


def test_together_all_or_none() -> None:
    vols = [{"id": "parent"}, {"id": "child"}, {"id": "x"}]
    pol = {"selection": "open", "together": [["parent", "child"]]}
    r = matcher.match(vols, [act("a", at(9), at(11), 2)], pol)
    assert {a.volunteer_id for a in r.assignments} == {"parent", "child"}
    r = matcher.match(vols, [act("a", at(9), at(11), 1)], pol)
    assert {a.volunteer_id for a in r.assignments} == {"x"}
    assert_keeps_rules(r)


def test_apart_never_share() -> None:
    vols = [{"id": "u"}, {"id": "w"}]
    pol = {"selection": "open", "apart": [["u", "w"]]}
    r = matcher.match(vols, [act("a", at(9), at(11), 2)], pol)
    assert len(r.assignments) == 1
    r = matcher.match(vols, [act("a", at(9), at(11), 2), act("b", at(9), at(11), 2)], pol)
    assert len({a.activity_id for a in r.assignments}) == 2


def test_unknown_ids_in_groups_are_input_errors() -> None:
    with pytest.raises(matcher.InputError) as err:
        matcher.match([{"id": "v"}], [], {"together": [["v", "ghost"]]})
    (issue,) = err.value.issues
    assert (issue.record, issue.field, issue.code) == ("policy", "together", "unknown_volunteer")
    assert "ghost" in issue.message


@pytest.mark.parametrize(
    "bad",
    [
        {"roles": [{"name": "a", "count": 1, "min": 2}]},
        {"roles": [{"name": "a", "count": 1}, {"name": "a", "count": 1}]},
        {"roles": [{"name": "a", "count": 1}], "ratios": [{"lead": "a", "per": 1, "of": "b"}]},
        {"min_volunteers": 3},
        {"roles": [{"name": "a", "count": 1}], "min_volunteers": 2},
    ],
)
def test_bad_staffing_rules_are_named(bad: dict[str, Any]) -> None:
    with pytest.raises(matcher.InputError) as err:
        matcher.match([], [act("a1", at(9), at(10), 2, **bad)])
    assert all(i.record_id == "a1" for i in err.value.issues)


@settings(max_examples=150)
@given(rule_problems(max_volunteers=4, max_activities=3))
def test_rules_match_brute_force(doc: dict[str, Any]) -> None:
    keys, *_ = rules_instance(doc)
    if len(keys) > 12:
        return
    result = solve_doc(doc)
    assert result.status == "optimal"
    assert objective(result) == rules_brute_force(doc)
    assert_keeps_rules(result)


@settings(max_examples=60)
@given(rule_problems(max_volunteers=10, max_activities=6))
def test_rules_match_an_independent_milp(doc: dict[str, Any]) -> None:
    result = solve_doc(doc)
    assert objective(result) == rules_milp(doc)
    assert_keeps_rules(result)


@settings(max_examples=25)
@given(rule_problems(max_volunteers=10, max_activities=6), st.randoms(use_true_random=False))
def test_rules_results_do_not_depend_on_record_order(doc: dict[str, Any], rnd: random.Random) -> None:
    shuffled = {**doc, "volunteers": rnd.sample(doc["volunteers"], len(doc["volunteers"]))}
    shuffled["activities"] = rnd.sample(doc["activities"], len(doc["activities"]))
    assert solve_doc(doc).to_json() == solve_doc(shuffled).to_json()


def test_document_carries_roles_and_the_rules_section() -> None:
    vols = [{"id": "sw", "skills": {"社工": 1}}, {"id": "v1"}]
    r = matcher.match(vols, [act("visit", at(9), at(11), 5, roles=[SOCIAL, HELPERS])], {"selection": "open"})
    doc = json.loads(r.to_json())
    assert {(a["volunteer_id"], a["role"]) for a in doc["assignments"]} == {("sw", "社工"), ("v1", "志愿者")}
    assert doc["rules"]["status"] == "optimal"
    assert doc["rules"]["gap"] == 0
    assert doc["status"] == "optimal"


def test_plain_problems_keep_the_flow_path() -> None:
    r = matcher.match([{"id": "v"}], [act("a", at(9), at(10), 1)], {"selection": "open"})
    assert r.rules is None
    assert r.certificate.kind == "lp_dual"
    assert "rules" not in r.to_document()


def test_a_settled_presolve_does_not_return_the_start() -> None:
    # HiGHS 1.16 once returned the starting plan (2 places) with the optimum's value (3) here.
    vols = [
        {"id": "v01", "max_activities": 2},
        {"id": "v02", "max_hours": 1.0, "max_hours_per_day": 1.5},
        {"id": "v03", "max_hours": 1.0, "max_hours_per_day": 1.5},
    ]
    acts = [
        act("a1", at(0, day=7), at(1, day=7), 1),
        act("a2", at(0, day=7), at(2, day=7), 1),
        act("a3", at(0, day=7), at(1, day=7), 1),
    ]
    r = matcher.match(vols, acts, {"selection": "open"})
    assert len(r.assignments) == 3
    assert_keeps_rules(r)


@settings(max_examples=30)
@given(rule_problems(max_volunteers=10, max_activities=6))
def test_the_starting_plan_keeps_every_rule(doc: dict[str, Any]) -> None:
    from matcher.pipeline import flow_input, prepare
    from matcher.solvers import get_backend
    from matcher.solvers.program import tightened
    from matcher.solvers.repair import repair
    from matcher.solvers.rules_model import build_model, component_edges

    p = compile_doc(doc)
    edges, _, objective_ = prepare(p)
    fi = tightened(p, flow_input(p, edges, objective_))
    flow = get_backend(None)[1](fi)
    program = component_edges(p, fi)
    busy = p.act_busy_end[edges.act]
    model = build_model(p, fi, objective_.priority, objective_.cost, busy, program, set())
    start = repair(p, fi, model, busy, flow[program]) > 0.5
    assert model.keeps_rules(start)
    chosen = np.zeros(len(edges), dtype=bool)
    chosen[program] = start[: len(program)]
    chosen[np.setdiff1d(np.arange(len(edges)), program)] = False
    role = np.full(len(edges), -1, dtype=np.int64)
    z = start[model.z_cols]
    role[program[model.z_edge[z]]] = model.z_role[z]
    assert rule_violations(p, edges, chosen, role) == []


def test_a_time_limit_gives_a_valid_plan_and_a_valid_bound() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.generate import FAMILIES, SCALES, add_menu_rules, generate

    doc = generate(SCALES["S"], 3, **{k: v for k, v in FAMILIES["menu_rules"].items() if k != "rules_share"})
    doc = add_menu_rules(doc, 0.3, 3)
    exact = solve_doc(doc)
    assert exact.status == "optimal"
    hurried = solve_doc({**doc, "policy": {**doc["policy"], "time_limit_seconds": 0.001}})
    assert hurried.rules is not None
    assert exact.rules is not None
    assert_keeps_rules(hurried)
    assert hurried.rules.bound >= exact.rules.objective >= hurried.rules.objective
    assert (hurried.status == "optimal") == (hurried.rules.gap == 0)


def test_cli_solves_and_verifies_a_menu_with_rules(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from matcher.cli import main

    doc = {
        "volunteers": [{"id": "sw", "skills": {"社工": 1}}, *({"id": f"v{i}"} for i in range(3))],
        "activities": [act("visit", at(9), at(11), 5, roles=[SOCIAL, HELPERS], min_volunteers=3)],
        "policy": {"selection": "open"},
    }
    path, out = tmp_path / "menu.json", tmp_path / "result.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert main(["solve", str(path), "-o", str(out), "--quiet"]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(a["role"] for a in written["assignments"]) == ["志愿者", "志愿者", "志愿者", "社工"]
    capsys.readouterr()
    assert main(["verify", str(path), str(out)]) == 0
    assert "feasible; optimal per MILP solver" in capsys.readouterr().out
    # A broken role is caught by verify, from the problem alone.
    written["assignments"][0]["role"] = "志愿者" if written["assignments"][0]["role"] == "社工" else "社工"
    out.write_text(json.dumps(written, ensure_ascii=False), encoding="utf-8")
    assert main(["verify", str(path), str(out)]) != 0


@settings(max_examples=40)
@given(rule_problems(max_volunteers=10, max_activities=6))
def test_neighbourhood_search_keeps_the_rules_under_a_valid_bound(doc: dict[str, Any]) -> None:
    import matcher.solvers.program as program

    exact = solve_doc(doc)
    saved = program.WHOLE_PROGRAM_EDGES
    program.WHOLE_PROGRAM_EDGES = 0  # every program is "too large": neighbourhoods only
    try:
        local = solve_doc(doc)
    finally:
        program.WHOLE_PROGRAM_EDGES = saved
    assert_keeps_rules(local)
    if exact.rules is None:
        assert local.rules is None
        return
    assert local.rules is not None
    assert local.rules.bound >= exact.rules.objective >= local.rules.objective
    assert (local.status == "optimal") == (local.rules.objective == local.rules.bound)


def test_tables_carry_the_rules_like_json() -> None:
    vols = [
        {"id": "sw", "skills": {"社会工作": 2}, "max_hours": 6, "max_hours_per_day": 4.5},
        {"id": "v1"},
        {"id": "v2", "max_activities": 2},
    ]
    roles = [
        {"name": "社工", "count": 1, "min": 1, "requirements": [{"skill": "社会工作", "min_level": 2}]},
        {"name": "志愿者", "count": 4},
    ]
    acts = [
        act(
            "visit",
            at(9),
            at(11),
            5,
            roles=roles,
            ratios=[{"lead": "社工", "per": 4, "of": "志愿者"}],
            min_volunteers=2,
        )
    ]
    from matcher.tables import problem_from_tables

    table_problem = problem_from_tables(
        {
            "id": ["sw", "v1", "v2"],
            "skills": ["社会工作:2", "", ""],
            "max_hours": ["6", "", ""],
            "max_hours_per_day": ["4.5", "", ""],
            "max_activities": ["", "", "2"],
        },
        {
            "id": ["visit"],
            "start": [at(9)],
            "end": [at(11)],
            "capacity": ["5"],
            "roles": ["社工:1:1=社会工作:2;志愿者:4"],
            "ratios": ["社工/4/志愿者"],
            "min_volunteers": ["2"],
        },
        {"selection": "open"},
    )
    from_json = matcher.match(vols, acts, {"selection": "open"})
    assert matcher.solve(table_problem).to_json() == from_json.to_json()
    assert assigned(from_json) == {("sw", "visit", "社工"), ("v1", "visit", "志愿者"), ("v2", "visit", "志愿者")}


def test_stdout_stays_pure_json_when_highs_runs(tmp_path: Any) -> None:
    # highspy prints a banner on stdout when a solver object is made; the CLI must not pass it on.
    import subprocess
    import sys

    doc = {
        "volunteers": [{"id": "sw", "skills": {"社工": 1}}, {"id": "v1"}],
        "activities": [act("visit", at(9), at(11), 3, roles=[SOCIAL, HELPERS])],
        "policy": {"selection": "open"},
    }
    path = tmp_path / "menu.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "matcher", "solve", str(path), "--quiet"], check=True, capture_output=True
    ).stdout
    assert json.loads(out)["rules"]["status"] == "optimal"


def test_a_rule_on_a_volunteer_without_pairs_keeps_the_lp_certificate() -> None:
    # No pair touches the rule, so no program runs and the LP-dual certificate must still verify
    # against the problem as written (the tightened capacity of a pair-less node is not used).
    vols = [{"id": "v01", "availability": [], "max_hours": 1.0}, {"id": "v02"}]
    r = matcher.match(vols, [act("a1", at(0, day=7), at(1, day=7), 1)], {"selection": "open"})
    assert r.certificate.kind == "lp_dual"
    assert matcher.verify(r.problem, r).optimal is True


def test_rematch_keeps_the_rules_when_the_lead_declines() -> None:
    vols = [{"id": "sw1", "skills": {"社工": 1}}, {"id": "sw2", "skills": {"社工": 1}}, {"id": "v1"}, {"id": "v2"}]
    acts = [act("visit", at(9), at(11), 3, roles=[SOCIAL, HELPERS])]
    first = matcher.match(vols, acts, {"selection": "open"})
    (lead,) = [a for a in first.assignments if a.role == "社工"]
    again = matcher.rematch(
        vols,
        acts,
        {"selection": "open"},
        first,
        {"declined": [{"volunteer_id": lead.volunteer_id, "activity_id": "visit"}]},
    )
    assert_keeps_rules(again)
    (new_lead,) = [a for a in again.assignments if a.role == "社工"]
    assert new_lead.volunteer_id != lead.volunteer_id
    assert again.rematch is not None
    assert again.metrics["places_filled"] == 3
