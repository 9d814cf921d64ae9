"""The deterministic tie-break: one answer per problem, whatever the path to the optimum."""

from __future__ import annotations

import itertools
import json
import zlib
from dataclasses import replace
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from matcher.certificate import flow_duals
from matcher.solvers import FlowInput
from matcher.solvers.networkx_backend import solve_networkx
from matcher.solvers.ortools_backend import solve_ortools
from matcher.tiebreak import _classify, canonical_selection, tie_keys
from tests.helpers import compile_doc
from tests.strategies import problems
from tests.test_augment import budget
from tests.test_sparsify import flow_inputs


def _keys(fi: FlowInput) -> np.ndarray:
    ids_v = [f"v{i}" for i in range(len(fi.left_cap))]
    ids_a = [f"a{j}" for j in range(len(fi.right_cap))]
    return tie_keys(ids_v, ids_a, fi.tail, fi.head)


def _brute_force(fi: FlowInput, keys: np.ndarray) -> tuple[int, int]:
    """(best weight, least key sum among the best), by enumerating every edge subset."""
    best = (0, 0)
    for picks in itertools.product([False, True], repeat=len(fi.tail)):
        chosen = np.array(picks, dtype=bool)
        if (np.bincount(fi.tail[chosen], minlength=len(fi.left_cap)) > fi.left_cap).any():
            continue
        if (np.bincount(fi.head[chosen], minlength=len(fi.right_cap)) > fi.right_cap).any():
            continue
        score = (int(fi.weight[chosen].sum()), -int(keys[chosen].sum()))
        best = max(best, score)
    return best[0], -best[1]


@settings(max_examples=300)
@given(flow_inputs().filter(lambda fi: len(fi.tail) <= 10))
def test_tie_break_is_the_least_key_optimum(fi: FlowInput) -> None:
    keys = _keys(fi)
    chosen = solve_ortools(fi)
    u, y = flow_duals(fi, chosen)
    canonical = canonical_selection(fi, u, y, lambda e: keys[e])
    assert (int(fi.weight[canonical].sum()), int(keys[canonical].sum())) == _brute_force(fi, keys)


@settings(max_examples=300)
@given(flow_inputs())
def test_tie_break_ignores_which_optimum_and_duals_it_starts_from(fi: FlowInput) -> None:
    keys = _keys(fi)
    picks = []
    for solve in (solve_ortools, solve_networkx):
        chosen = solve(fi)
        for compiled in (True, False):
            u, y = flow_duals(fi, chosen, compiled=compiled)
            picks.append(canonical_selection(fi, u, y, lambda e: keys[e]).tolist())
    assert all(p == picks[0] for p in picks)


def _one_place_each(fi: FlowInput) -> FlowInput:
    return replace(fi, left_cap=np.minimum(fi.left_cap, 1))


@settings(max_examples=300)
@given(flow_inputs().map(_one_place_each), st.booleans())
def test_both_least_key_paths_choose_the_same(fi: FlowInput, sparsified: bool) -> None:
    # One place per volunteer goes to the augmenting-path solver (sparsified when large); the
    # min-cost flow path must pick the very same selection, and it must be the brute-force one.
    keys = _keys(fi)
    u, y = flow_duals(fi, solve_ortools(fi))
    with mock.patch("matcher.sparsify.SPARSIFY_MIN_EDGES", 1 if sparsified else 10**9):
        by_augment = canonical_selection(fi, u, y, lambda e: keys[e])
    with mock.patch("matcher.tiebreak._AUGMENT_WEIGHT_LIMIT", 0):
        by_flow = canonical_selection(fi, u, y, lambda e: keys[e])
    assert by_augment.tolist() == by_flow.tolist()
    if len(fi.tail) <= 10:
        assert (int(fi.weight[by_augment].sum()), int(keys[by_augment].sum())) == _brute_force(fi, keys)


def test_duals_that_are_not_optimal_are_refused() -> None:
    fi = FlowInput(np.array([1, 1]), np.array([1]), np.array([0, 1]), np.array([0, 0]), np.array([5, 5]))
    keys = _keys(fi)
    # Both edges would be forced into a single place.
    with pytest.raises(matcher.SolverError, match="not optimal"):
        canonical_selection(fi, np.array([0, 0]), np.array([0]), lambda e: keys[e])
    # A priced place that nothing can fill.
    with pytest.raises(matcher.SolverError, match="not optimal"):
        canonical_selection(fi, np.array([9, 9]), np.array([1]), lambda e: keys[e])


def test_tie_keys_follow_ids_not_positions() -> None:
    a = tie_keys(["v1", "v2"], ["a1"], np.array([0, 1]), np.array([0, 0]))
    b = tie_keys(["v0", "v2", "v1"], ["a0", "a1"], np.array([2, 1]), np.array([1, 1]))
    assert a.tolist() == b.tolist()
    assert ((a >= 0) & (a < 2**31)).all()


def _document(result: matcher.MatchResult) -> dict[str, Any]:
    doc = json.loads(result.to_json())
    doc["certificate"].pop("backend", None)
    doc.pop("backend", None)
    return doc


@settings(max_examples=300)
@given(problems())
def test_one_document_whichever_backend_and_sparsification(doc: dict[str, Any]) -> None:
    p = compile_doc(doc)
    reference = _document(matcher.solve(p, sparsify=False))
    for backend, sparsify in [("ortools", True), ("networkx", False), ("highs", True)]:
        assert _document(matcher.solve(p, backend=backend, sparsify=sparsify)) == reference


@settings(max_examples=100)
@given(problems())
def test_one_document_when_the_searches_give_way_to_cost_scaling(doc: dict[str, Any]) -> None:
    p = compile_doc(doc)
    reference = _document(matcher.solve(p, sparsify=False))
    with budget(0):
        for sparsify in (False, True):
            assert _document(matcher.solve(p, sparsify=sparsify)) == reference


@settings(max_examples=200)
@given(flow_inputs())
def test_edges_classified_as_by_their_reduced_cost(fi: FlowInput) -> None:
    chosen = solve_ortools(fi)
    u, y = flow_duals(fi, chosen)
    reduced = fi.weight - u[fi.tail] - y[fi.head]
    forced, tight = _classify(fi, u, y)
    assert forced.tolist() == (reduced > 0).tolist()
    assert tight.tolist() == np.flatnonzero(reduced == 0).tolist()


def _reference_key(volunteer: str, activity: str) -> int:
    """The documented key, in plain Python integers: splitmix64 of the two crc32s, top 31 bits."""
    mask = 2**64 - 1
    x = zlib.crc32(volunteer.encode()) << 32 | zlib.crc32(activity.encode())
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
    return (x ^ (x >> 31)) >> 33


@settings(max_examples=200)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=6, unique=True), st.data())
def test_tie_keys_are_the_documented_hash(ids: list[str], data: st.DataObject) -> None:
    # Ids of any script (the compiled CRC reads UTF-8 bytes) and of any length, empty included.
    activities = [*ids[::-1], ""]
    n = data.draw(st.integers(0, 20))
    vol = np.array(data.draw(st.lists(st.integers(0, len(ids) - 1), min_size=n, max_size=n)), dtype=np.int64)
    act = np.array(data.draw(st.lists(st.integers(0, len(activities) - 1), min_size=n, max_size=n)), dtype=np.int32)
    expected = [_reference_key(ids[v], activities[a]) for v, a in zip(vol.tolist(), act.tolist(), strict=True)]
    assert tie_keys(ids, activities, vol, act).tolist() == expected
