"""Certified sparsification and the compiled dual kernel: same objective, certificate over the full graph."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from matcher.certificate import check_duals, flow_duals, residual_arcs
from matcher.solvers import FlowInput, get_backend
from matcher.solvers._kernels import label_correcting
from matcher.solvers.networkx_backend import solve_networkx
from matcher.solvers.ortools_backend import solve_ortools
from matcher.solvers.pricing import best_within, violations, worst_violators
from matcher.solvers.residual import reversed_residual
from matcher.solvers.shortest_paths import ShortestPaths
from matcher.sparsify import best_edges, most_violated, solve_flow, solve_sparsified
from tests.helpers import assert_certified, compile_doc, objective
from tests.reference import milp_optimum
from tests.strategies import dense_overlap_problems, problems


@st.composite
def flow_inputs(draw: st.DrawFn) -> FlowInput:
    n_left = draw(st.integers(1, 12))
    n_right = draw(st.integers(1, 8))
    pairs = draw(st.sets(st.tuples(st.integers(0, n_left - 1), st.integers(0, n_right - 1)), min_size=1, max_size=60))
    tail, head = (np.array(side, dtype=np.int64) for side in zip(*sorted(pairs), strict=True))
    # A narrow weight range makes ties, and with them many optimal solutions, common.
    top = draw(st.sampled_from([3, 50, 10**9]))
    weight = np.array(draw(st.lists(st.integers(1, top), min_size=len(tail), max_size=len(tail))), dtype=np.int64)
    left = np.array(draw(st.lists(st.integers(1, 3), min_size=n_left, max_size=n_left)), dtype=np.int64)
    right = np.array(draw(st.lists(st.integers(1, 4), min_size=n_right, max_size=n_right)), dtype=np.int64)
    return FlowInput(left, right, tail, head, weight)


def total(fi: FlowInput, chosen: np.ndarray) -> int:
    return int(fi.weight[chosen].sum())


@settings(max_examples=500)
@given(flow_inputs(), st.integers(0, 2), st.integers(0, 2), st.integers(0, 2), st.integers(0, 1))
def test_sparsified_solve_is_optimal_and_certified_on_the_full_graph(
    fi: FlowInput, per_vol: int, per_act: int, admit_act: int, admit_vol: int
) -> None:
    reference = solve_networkx(fi)
    out = solve_sparsified(
        fi,
        solve_ortools,
        per_volunteer=per_vol,
        per_activity=per_act,
        admit_per_activity=admit_act,
        admit_per_volunteer=admit_vol,
    )
    assert total(fi, out.chosen) == total(fi, reference)
    check = check_duals(fi, out.chosen, out.u, out.y)
    assert check.proves_optimal
    assert out.edges_solved <= len(fi.tail)


@settings(max_examples=300)
@given(flow_inputs())
def test_compiled_and_flow_duals_both_prove_the_optimum(fi: FlowInput) -> None:
    chosen = solve_ortools(fi)
    for compiled in (True, False):
        u, y = flow_duals(fi, chosen, compiled=compiled)
        assert check_duals(fi, chosen, u, y).proves_optimal


@settings(max_examples=300)
@given(flow_inputs(), st.data())
def test_duals_computed_within_a_subset_are_the_whole_networks(fi: FlowInput, data: st.DataObject) -> None:
    # A subset that leaves out edges some shortest path needs must grow until it has them.
    chosen = solve_ortools(fi)
    within = np.array(data.draw(st.lists(st.booleans(), min_size=len(fi.tail), max_size=len(fi.tail))), dtype=bool)
    whole = flow_duals(fi, chosen)
    for compiled in (True, False):
        part = flow_duals(fi, chosen, compiled=compiled, within=within)
        assert part[0].tolist() == whole[0].tolist()
        assert part[1].tolist() == whole[1].tolist()


@settings(max_examples=200)
@given(flow_inputs())
def test_compiled_duals_reject_a_suboptimal_flow(fi: FlowInput) -> None:
    chosen = solve_ortools(fi)
    if not chosen.any():
        return
    worse = chosen.copy()
    worse[np.flatnonzero(worse)[0]] = False
    with pytest.raises(matcher.SolverError, match="not optimal"):
        flow_duals(fi, worse, compiled=True)


def test_label_correcting_distances_and_negative_cycle() -> None:
    tails, heads = np.array([0, 0, 1, 2]), np.array([1, 2, 3, 3])
    dist = label_correcting(tails, heads, np.array([4, 1, -6, 2]), 4)
    assert dist is not None
    assert dist.tolist() == [0, 0, 0, -6]
    assert label_correcting(np.array([0, 1, 2]), np.array([1, 2, 0]), np.array([1, 1, -3]), 3) is None
    assert label_correcting(np.array([0, 1, 2]), np.array([1, 2, 0]), np.array([1, 1, -2]), 3) is not None


@settings(max_examples=300)
@given(flow_inputs(), st.data())
def test_shortest_paths_equal_label_correcting_on_residual_networks(fi: FlowInput, data: st.DataObject) -> None:
    tails, heads, costs, n_nodes = residual_arcs(fi, solve_ortools(fi))
    source = data.draw(st.integers(0, n_nodes - 1))
    targets = np.array(data.draw(st.lists(st.integers(0, n_nodes - 1), max_size=6)), dtype=np.int64)
    expected = label_correcting(tails, heads, costs, n_nodes, source=source)
    assert expected is not None
    # No hubs; the residual network's source and sink (as the explanations use it); any nodes.
    drawn = data.draw(st.lists(st.integers(0, n_nodes - 1), max_size=4))
    for hubs in ([], [n_nodes - 2, n_nodes - 1], drawn):
        search = ShortestPaths.build(tails, heads, costs, n_nodes, hubs=hubs)
        assert search is not None  # the residual network of an optimum has no negative cycle
        assert search.distances(source, targets).tolist() == expected[targets].tolist(), hubs


@settings(max_examples=300)
@given(flow_inputs(), st.data())
def test_the_reversed_residual_csr_holds_every_residual_arc_reversed(fi: FlowInput, data: st.DataObject) -> None:
    # Any selection (overfull ones too) and convex load: the two builders must list the same arcs.
    chosen = np.array(data.draw(st.lists(st.booleans(), min_size=len(fi.tail), max_size=len(fi.tail))), dtype=bool)
    if data.draw(st.booleans()):
        step = np.array(data.draw(st.lists(st.integers(0, 9), min_size=len(fi.left_cap), max_size=len(fi.left_cap))))
        fi = FlowInput(fi.left_cap, fi.right_cap, fi.tail, fi.head, fi.weight, step.astype(np.int64))
    tails, heads, costs, n_nodes = residual_arcs(fi, chosen)
    ptr, head, cost = reversed_residual(fi, chosen)
    assert len(ptr) == n_nodes + 1
    owner = np.repeat(np.arange(n_nodes), np.diff(ptr))
    got = sorted(zip(owner.tolist(), head.tolist(), cost.tolist(), strict=True))
    assert got == sorted(zip(heads.tolist(), tails.tolist(), costs.tolist(), strict=True))
    # And the explanations' search structure on it gives the same distances as on the listed arcs.
    if chosen.any() and label_correcting(heads, tails, costs, n_nodes) is not None:
        ours = ShortestPaths.from_csr(ptr, head, cost, hubs=[n_nodes - 2, n_nodes - 1])
        theirs = ShortestPaths.build(heads, tails, costs, n_nodes)
        assert ours is not None
        assert theirs is not None
        everyone = np.arange(n_nodes, dtype=np.int64)
        for source in range(n_nodes):
            assert ours.distances(source, everyone).tolist() == theirs.distances(source, everyone).tolist()


def test_a_hub_stops_a_search_only_when_nothing_nearer_is_left() -> None:
    # 0 -> hub 1 -> 3 costs 5; 0 -> 2 -> 3 costs 4, and 2 is popped at 4, one below the hub's offer.
    tails, heads, costs = np.array([0, 1, 0, 2]), np.array([1, 3, 2, 3]), np.array([0, 5, 4, 0])
    search = ShortestPaths.build(tails, heads, costs, 4, hubs=[1])
    assert search is not None
    assert search.distances(0, np.array([3])).tolist() == [4]
    assert search.distances(0, np.array([3, 1])).tolist() == [4, 0]
    # Through the hub when that is shorter: 1 -> 3 at 3.
    search = ShortestPaths.build(tails, heads, np.array([0, 3, 4, 0]), 4, hubs=[1])
    assert search is not None
    assert search.distances(0, np.array([3])).tolist() == [3]


@settings(max_examples=300)
@given(st.data())
def test_shortest_paths_through_hubs_on_any_network(data: st.DataObject) -> None:
    # Negative arcs, unreachable nodes, hubs anywhere (the source among them, or a target).
    n = data.draw(st.integers(1, 10))
    arcs = data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(-4, 9)), max_size=30))
    tails, heads, costs = (np.array([arc[k] for arc in arcs], dtype=np.int64) for k in range(3))
    hubs = data.draw(st.lists(st.integers(0, n - 1), max_size=n))
    search = ShortestPaths.build(tails, heads, costs, n, hubs=hubs)
    if search is None:
        assert label_correcting(tails, heads, costs, n) is None
        return
    targets = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=6)), dtype=np.int64)
    # Every source: a hub reached at a positive (reduced) distance is rarer than one reached at 0.
    for source in range(n):
        expected = label_correcting(tails, heads, costs, n, source=source)
        assert expected is not None
        for wanted in (targets, np.arange(n, dtype=np.int64)):
            assert search.distances(source, wanted).tolist() == expected[wanted].tolist()


def two_activities(weight: list[int]) -> FlowInput:
    """Three volunteers; activity 0 (one place) has three candidates, activity 1 (two places) two."""
    return FlowInput(
        left_cap=np.array([1, 1, 1]),
        right_cap=np.array([1, 2]),
        tail=np.array([0, 0, 1, 2, 2]),
        head=np.array([0, 1, 0, 0, 1]),
        weight=np.array(weight),
    )


def test_best_edges_keeps_each_activitys_best_per_place() -> None:
    # Activity 0 has one place and three candidates; activity 1 has two places and two candidates.
    fi = two_activities([5, 1, 9, 5, 3])
    assert best_edges(fi, 0, 1).tolist() == [False, True, True, False, True]
    # Ties (weight 5 twice) go to the earlier edge in canonical order.
    assert best_edges(fi, 0, 2).tolist() == [True, True, True, False, True]
    assert best_edges(fi, 1, 0).tolist() == [True, False, True, True, False]


def test_a_round_admits_each_nodes_worst_violators_per_unit_of_capacity() -> None:
    # Activity 0 (one place) has three violators, activity 1 (two places) two; volunteer 0 has two.
    fi = two_activities([5, 6, 9, 5, 3])
    u, y = np.zeros(3, dtype=np.int64), np.array([1, 0], dtype=np.int64)
    violated, gain = violations(fi.tail, fi.head, fi.weight, np.zeros(5, dtype=bool), u, y)
    assert violated.tolist() == [0, 1, 2, 3, 4]
    # Activity 0 admits its worst (edge 2, gain 8); activity 1 both of its own (edges 1, 4); each
    # volunteer its worst (edges 1, 2, 3: volunteer 2's gains tie at 4 and 3, so edge 3).
    assert most_violated(fi, violated, gain, 1, 1).tolist() == [1, 2, 3, 4]
    # One side only: the activities' worst (2; 1 and 4), or the volunteers' worst (1, 2, 3).
    assert most_violated(fi, violated, gain, 1, 0).tolist() == [1, 2, 4]
    assert most_violated(fi, violated, gain, 0, 1).tolist() == [1, 2, 3]
    assert most_violated(fi, violated, gain, 0, 0).tolist() == [0, 1, 2, 3, 4]
    # Two per place: activity 0 takes edges 2 and (tie at gain 4, earlier edge first) 0.
    assert most_violated(fi, violated, gain, 2, 1).tolist() == [0, 1, 2, 3, 4]


def test_small_problems_are_not_sparsified_unless_asked() -> None:
    fi = FlowInput(np.array([1]), np.array([1]), np.array([0]), np.array([0]), np.array([7]))
    assert solve_flow(fi, solve_ortools).rounds == 0
    forced = solve_flow(fi, solve_ortools, sparsify=True)
    assert forced.rounds == 1
    assert forced.chosen.tolist() == [True]


@settings(max_examples=300)
@given(problems())
def test_pipeline_with_and_without_sparsification_agree(doc: dict[str, Any]) -> None:
    p = compile_doc(doc)
    plain = matcher.solve(p, sparsify=False)
    sparse = matcher.solve(p, sparsify=True)
    assert objective(sparse) == objective(plain)
    assert_certified(sparse)


@settings(max_examples=300)
@given(dense_overlap_problems())
def test_sparsified_solve_keeps_the_no_overlap_optimum(doc: dict[str, Any]) -> None:
    p = compile_doc(doc)
    sparse = matcher.solve(p, sparsify=True)
    assert objective(sparse) == milp_optimum(doc)
    assert_certified(sparse)


@settings(max_examples=300)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(-3, 3)), max_size=80),
    st.lists(st.integers(-1, 6), min_size=5, max_size=5),
)
def test_best_within_is_each_groups_top_by_value_then_index(items: list[tuple[int, int]], limit: list[int]) -> None:
    group = np.array([g for g, _ in items], dtype=np.int64)
    value = np.array([v for _, v in items], dtype=np.int64)
    # Reference: sort by (group, value descending, index) and keep each group's first limit.
    order = np.lexsort((np.arange(len(items)), -value, group))
    expected = np.zeros(len(items), dtype=bool)
    for pos, i in enumerate(order.tolist()):
        first = int(np.searchsorted(group[order], group[i]))
        expected[i] = pos - first < limit[group[i]]
    assert best_within(group, value, np.array(limit, dtype=np.int64)).tolist() == expected.tolist()


@settings(max_examples=300)
@given(flow_inputs(), st.integers(0, 2), st.integers(1, 3), st.data())
def test_the_one_pass_admission_equals_pricing_then_selection(
    fi: FlowInput, per_act: int, workers: int, data: st.DataObject
) -> None:
    # Small prices and weights make many violators with equal excess, so ties are exercised.
    n_edges, n_left, n_right = len(fi.tail), len(fi.left_cap), len(fi.right_cap)
    # Few places make the shares' picks overlap on an activity, which the re-selection must settle.
    caps = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n_right, max_size=n_right)), dtype=np.int64)
    fi = FlowInput(fi.left_cap, caps, fi.tail, fi.head, fi.weight)
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=n_edges, max_size=n_edges)), dtype=bool)
    u = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n_left, max_size=n_left)), dtype=np.int64)
    y = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n_right, max_size=n_right)), dtype=np.int64)
    weight = fi.weight % 9
    violated, gain = violations(fi.tail, fi.head, weight, keep, u, y)
    # Several workers price shares of the edges and select again from their picks: the same edges.
    admitted, n_violated = worst_violators(fi.tail, fi.head, weight, keep, u, y, per_act * fi.right_cap, workers)
    assert n_violated == len(violated)
    expected = most_violated(fi, violated, gain, per_act, 0) if per_act else violated[:0]
    assert admitted.tolist() == expected.tolist()


@pytest.mark.parametrize("backend", ["augment", "ortools"])
def test_an_activity_without_places_is_priced_over_all_its_edges(backend: str) -> None:
    # Activity 0 has no places (rules can close one); none of its edges is kept, so priced by its
    # kept edges alone its edge stayed violated every round until max_rounds forced a full solve.
    fi = FlowInput(np.array([1, 1]), np.array([0, 1]), np.array([0, 1]), np.array([0, 1]), np.array([5, 7]))
    out = solve_sparsified(fi, get_backend(backend)[1])
    assert out.rounds == 1
    assert out.chosen.tolist() == [False, True]
    assert out.y[0] >= 5
    assert check_duals(fi, out.chosen, out.u, out.y).proves_optimal
