"""The seed indexes: supersets of the eligible pairs, never missing one."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

import matcher.candidates as cand
from matcher import seeds
from matcher.geo import chord_for_km, unit_vectors
from matcher.seeds import _ball_bounds, _TimeSeeds
from tests.helpers import compile_doc
from tests.strategies import problems


@settings(max_examples=200)
@given(st.integers(0, 2**31), st.integers(1, 200), st.integers(1, 40), st.sampled_from([0.0, 0.05, 1.0, 30.0, 5000.0]))
def test_ball_bounds_are_at_least_the_exact_counts(seed: int, n_targets: int, n_centres: int, km: float) -> None:
    rng = np.random.default_rng(seed)
    # A city-sized patch, and a few points anywhere on the globe.
    lat = np.concatenate([31.2 + rng.normal(0, 0.1, n_targets), rng.uniform(-90, 90, 3)])
    lon = np.concatenate([121.5 + rng.normal(0, 0.1, n_targets), rng.uniform(-180, 180, 3)])
    targets = unit_vectors(lat, lon)
    centres = unit_vectors(31.2 + rng.normal(0, 0.1, n_centres), 121.5 + rng.normal(0, 0.1, n_centres))
    radius = chord_for_km(km)
    exact = cKDTree(targets).query_ball_point(centres, radius, return_length=True)
    bounds = _ball_bounds(targets, centres, radius)
    assert (bounds >= exact).all()
    assert (bounds <= len(targets)).all()


@settings(max_examples=300)
@given(problems(max_volunteers=12, max_activities=6))
def test_time_seeds_are_exactly_the_volunteers_free_for_the_activity(doc: dict[str, Any]) -> None:
    p = compile_doc(doc)
    times = _TimeSeeds.build(p)
    everyone = np.arange(p.n_volunteers, dtype=np.int64)
    for a in range(p.n_activities):
        free = times.free(int(p.act_start[a]), int(p.act_end[a]))
        expected = everyone[cand.time_check(p, everyone, np.full(p.n_volunteers, a, dtype=np.int64))]
        assert sorted(free.tolist()) == expected.tolist()
        assert times.bounds(p.act_start[a : a + 1])[0] >= len(free)


@settings(max_examples=300)
@given(problems(max_volunteers=12, max_activities=7), st.sampled_from([1, 2, 3, 16]))
def test_time_runs_hold_everyone_free_for_one_of_their_activities(doc: dict[str, Any], runs: int) -> None:
    p = compile_doc(doc)
    acts = np.argsort(p.act_start, kind="stable").astype(np.int64)
    vols = np.flatnonzero(~p.vol_always_available)
    with patch.object(seeds, "_TIME_RUNS", runs):
        ptr, members, bounds = seeds._time_runs(p, vols, acts)
    assert bounds[0] == 0
    assert bounds[-1] == len(acts)
    assert (np.diff(bounds) > 0).all()
    assert len(ptr) == len(bounds) <= runs + 1
    starts = p.act_start[acts]
    # Equal starts share a run: a cut never falls between two of them.
    assert (starts[bounds[1:-1] - 1] < starts[bounds[1:-1]]).all()
    for k in range(len(bounds) - 1):
        got = members[ptr[k] : ptr[k + 1]]
        assert (np.diff(got) > 0).all()
        for a in acts[bounds[k] : bounds[k + 1]]:
            free = vols[cand.time_check(p, vols, np.full(len(vols), a, dtype=np.int64))]
            assert np.isin(free, got).all()


def test_windows_spanning_every_run_leave_one_run() -> None:
    # Everyone is free all week, so splitting the menu by time would only copy the volunteers.
    week = {"start": "2026-05-04T00:00:00+08:00", "end": "2026-05-11T00:00:00+08:00"}
    doc = {
        "volunteers": [{"id": f"v{i}", "availability": [week]} for i in range(3)],
        "activities": [
            {
                "id": f"a{d}",
                "start": f"2026-05-0{d}T09:00:00+08:00",
                "end": f"2026-05-0{d}T10:00:00+08:00",
                "capacity": 1,
            }
            for d in range(4, 9)
        ],
    }
    p = compile_doc(doc)
    ptr, members, bounds = seeds._time_runs(p, np.arange(3), np.arange(5))
    assert bounds.tolist() == [0, 5]
    assert members.tolist() == [0, 1, 2]
    assert ptr.tolist() == [0, 3]
    # One window per day: each volunteer belongs to the runs of its own day only.
    doc["volunteers"] = [
        {
            "id": f"v{d}",
            "availability": [{"start": f"2026-05-0{d}T08:00:00+08:00", "end": f"2026-05-0{d}T12:00:00+08:00"}],
        }
        for d in range(4, 9)
    ]
    p = compile_doc(doc)
    ptr, members, bounds = seeds._time_runs(p, np.arange(5), np.arange(5))
    assert bounds.tolist() == [0, 1, 2, 3, 4, 5]
    assert members.tolist() == [0, 1, 2, 3, 4]
