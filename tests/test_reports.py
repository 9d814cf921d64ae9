"""Service hours, the fairness report and recommendations: exact on hand cases, complete and
correctly ordered against brute force on random ones."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from matcher.cli import main
from matcher.report import gini
from matcher.solvers.overlap import clashes_with_chosen, free_edges
from tests.helpers import solve_doc
from tests.strategies import problems

DAY = "2026-12-07"


def t(hhmm: str) -> str:
    return f"{DAY}T{hhmm}:00+08:00"


def act(aid: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"id": aid, "start": t(start), "end": t(end), "capacity": 1, **extra}


DOC: dict[str, Any] = {
    "volunteers": [
        {"id": "busy", "max_activities": 2, "preferences": ["morning", "afternoon"]},
        {"id": "idle", "availability": []},
        {"id": "spare", "availability": [{"start": t("08:00"), "end": t("11:00")}]},
    ],
    "activities": [
        act("morning", "09:00", "10:30", organization="红十字会"),
        act("afternoon", "13:00", "14:00", organization="红十字会"),
        act("evening", "19:00", "20:00", capacity=2),
    ],
    "policy": {"selection": "prefer"},
}


def test_service_hours_and_the_hours_csv(tmp_path: Path) -> None:
    result = solve_doc(DOC)
    hours = {h.volunteer_id: (h.activities, h.hours) for h in result.service_hours()}
    # Filling places comes first: spare (free only in the morning) takes the morning, so busy takes
    # the afternoon (their second pick) and the evening (1 h each).
    assert hours == {"busy": (2, 2.0), "spare": (1, 1.5)}
    problem = tmp_path / "p.json"
    problem.write_text(json.dumps(DOC), encoding="utf-8")
    out = tmp_path / "hours.csv"
    assert main(["solve", str(problem), "--format", "hours", "-q", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == "volunteer_id,activities,hours\nbusy,2,2.0\nspare,1,1.5\n"


def test_fairness_report_on_the_hand_case() -> None:
    report = solve_doc(DOC).fairness_report()
    # idle is never available, so not willing; loads 2 and 1: Gini = |2 - 1| * 2 / (2 * 2 * 3).
    assert report.willing_volunteers == 2
    assert report.willing_never_assigned == 0
    assert report.willing_never_assigned_share == 0.0
    assert report.gini_assignments == 0.166667
    assert report.gini_hours == round(0.5 * 2 / (2 * 2 * 3.5), 6)
    assert report.fill_by_organization == {
        "": {"places": 2, "filled": 1, "fill_rate": 0.5},
        "红十字会": {"places": 2, "filled": 2, "fill_rate": 1.0},
    }


@given(st.lists(st.integers(0, 20), min_size=1, max_size=12))
def test_gini_equals_the_mean_absolute_difference_formula(values: list[int]) -> None:
    x = np.array(values, dtype=np.float64)
    total = x.sum()
    expected = 0.0 if total == 0 else sum(abs(a - b) for a, b in itertools.product(x, x)) / (2 * len(x) * total)
    assert gini(x) == pytest.approx(expected, abs=1e-6)


def test_unknown_ids_in_recommendations() -> None:
    result = solve_doc(DOC)
    with pytest.raises(matcher.InputError, match="no volunteer"):
        result.recommend_activities("nobody")
    with pytest.raises(matcher.InputError, match="no activity"):
        result.recommend_volunteers("nothing")


def _clash(p: matcher.Problem, a: int, b: int) -> bool:
    return bool(p.act_start[a] < p.act_end[b] and p.act_start[b] < p.act_end[a])


@settings(max_examples=120)
@given(problems(), st.integers(1, 4))
def test_recommendations_are_exactly_the_open_eligible_pairs_best_first(doc: dict[str, Any], k: int) -> None:
    result = solve_doc(doc)
    p, edges = result.problem, result.edges
    cost = {
        (int(v), int(a)): int(c)
        for v, a, c in zip(edges.vol.tolist(), edges.act.tolist(), result.costs.total.tolist(), strict=True)
    }
    chosen = {(int(v), int(a)) for v, a in zip(edges.vol[result.chosen], edges.act[result.chosen], strict=True)}
    load = {v: sum(1 for w, _ in chosen if w == v) for v in range(p.n_volunteers)}
    filled = {a: sum(1 for _, b in chosen if b == a) for a in range(p.n_activities)}
    own = {v: [b for w, b in chosen if w == v] for v in range(p.n_volunteers)}
    for v, vid in enumerate(p.volunteer_ids):
        expected = sorted(
            (c, p.activity_ids[a])
            for (w, a), c in cost.items()
            if w == v
            and (v, a) not in chosen
            and filled[a] < p.act_capacity[a]
            and not any(_clash(p, a, b) for b in own[v])
        )
        got = [(r.cost, r.id) for r in result.recommend_activities(vid, k)]
        assert got == [(c, a) for c, a in sorted(expected, key=lambda x: (x[0], p.activity_index[x[1]]))][:k]
    for a, aid in enumerate(p.activity_ids):
        expected_v = sorted(
            (c, v)
            for (v, b), c in cost.items()
            if b == a
            and (v, a) not in chosen
            and load[v] < p.vol_max_activities[v]
            and not any(_clash(p, a, x) for x in own[v])
        )
        got_v = [(r.cost, p.volunteer_index[r.id]) for r in result.recommend_volunteers(aid, k)]
        assert got_v == expected_v[:k]


_EDGE = st.tuples(st.integers(0, 4), st.integers(0, 20), st.integers(1, 6), st.booleans())


@settings(max_examples=300)
@given(st.lists(_EDGE, max_size=30))
def test_clashes_with_chosen_is_a_pairwise_overlap_check(rows: list[tuple[int, int, int, bool]]) -> None:
    # Edges grouped by volunteer; each (start, length) interval against every chosen one of the same volunteer.
    rows = sorted(rows, key=lambda r: r[0])
    vol = np.array([r[0] for r in rows], dtype=np.int32)
    start = np.array([r[1] for r in rows], dtype=np.int64)
    end = start + np.array([r[2] for r in rows], dtype=np.int64)
    chosen = np.array([r[3] for r in rows], dtype=bool)
    expected = [
        any(chosen[h] and vol[h] == vol[e] and start[h] < end[e] and start[e] < end[h] for h in range(len(rows)))
        for e in range(len(rows))
    ]
    assert clashes_with_chosen(vol, start, end, chosen).tolist() == expected
    assert clashes_with_chosen(vol.astype(np.int64), start, end, chosen).tolist() == expected
    # Per activity: edge k's activity is 5 - k % 5's times (shared by several edges); room per volunteer.
    act = (5 - np.arange(len(rows)) % 5).astype(np.int32)
    act_start, act_end = np.arange(6, dtype=np.int64) * 3, np.arange(6, dtype=np.int64) * 3 + 4
    most = np.array([0, 1, 2, 1, 3], dtype=np.int64)
    held = np.bincount(vol[chosen], minlength=5)
    clash = [
        any(
            chosen[h]
            and vol[h] == vol[e]
            and act_start[act[h]] < act_end[act[e]]
            and act_start[act[e]] < act_end[act[h]]
            for h in range(len(rows))
        )
        for e in range(len(rows))
    ]
    free = [not chosen[e] and not clash[e] and held[vol[e]] < most[vol[e]] for e in range(len(rows))]
    got_clash, got_free = free_edges(vol, act, act_start, act_end, chosen, most)
    assert (got_clash.tolist(), got_free.tolist()) == (clash, free)
