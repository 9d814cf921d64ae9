"""The seed indexes: supersets of the eligible pairs, never missing one."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

import matcher.candidates as cand
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
