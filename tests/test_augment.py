"""The shortest-augmenting-path backend: exact, self-certifying, and handing over what it cannot do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher.solvers.augment as augment
import matcher.sparsify as sparsify
from matcher.certificate import check_duals
from matcher.solvers import DEFAULT_BACKEND, FlowInput
from matcher.solvers.augment import Augmenter, DegenerateError, applies, augment_with_duals, solve_augment
from matcher.solvers.networkx_backend import solve_networkx
from matcher.solvers.ortools_backend import solve_ortools
from matcher.sparsify import solve_sparsified
from tests.test_sparsify import flow_inputs, total


def one_each(fi: FlowInput) -> FlowInput:
    """``fi`` with every volunteer taking at most one activity."""
    return FlowInput(np.minimum(fi.left_cap, 1), fi.right_cap, fi.tail, fi.head, fi.weight)


def some_closed(fi: FlowInput) -> FlowInput:
    """``fi`` with every third activity and volunteer given no capacity (rules can close them)."""
    right, left = fi.right_cap.copy(), fi.left_cap.copy()
    right[2::3], left[2::3] = 0, 0
    return FlowInput(left, right, fi.tail, fi.head, fi.weight)


@settings(max_examples=1000)
@given(flow_inputs(), st.booleans())
def test_augmenting_paths_are_optimal_and_their_duals_prove_it(fi: FlowInput, closed: bool) -> None:
    fi = some_closed(one_each(fi)) if closed else one_each(fi)
    chosen, u, y = augment_with_duals(fi)
    assert total(fi, chosen) == total(fi, solve_networkx(fi))
    assert (np.bincount(fi.tail[chosen], minlength=len(fi.left_cap)) <= fi.left_cap).all()
    assert (np.bincount(fi.head[chosen], minlength=len(fi.right_cap)) <= fi.right_cap).all()
    assert check_duals(fi, chosen, u, y).proves_optimal


@settings(max_examples=300)
@given(flow_inputs())
def test_networks_it_cannot_solve_go_to_ortools(fi: FlowInput) -> None:
    # Volunteers taking several activities (or load steps) are not rows of an assignment.
    assert applies(fi) == bool((fi.left_cap <= 1).all())
    assert total(fi, solve_augment(fi)) == total(fi, solve_networkx(fi))
    if not applies(fi):
        with pytest.raises(ValueError, match="at most one activity"):
            augment_with_duals(fi)


@settings(max_examples=300)
@given(flow_inputs(), st.integers(0, 2))
def test_sparsified_rounds_take_the_duals_from_the_augmenting_paths(fi: FlowInput, per_act: int) -> None:
    fi = one_each(fi)
    out = solve_sparsified(fi, solve_augment, per_activity=per_act)
    assert total(fi, out.chosen) == total(fi, solve_networkx(fi))
    assert check_duals(fi, out.chosen, out.u, out.y).proves_optimal


def test_a_hand_checked_menu() -> None:
    # Activity 0 has one place, activity 1 two. Volunteer 0 is the best for both; giving activity
    # 0 to volunteer 1 (7) and activity 1 to volunteers 0 and 2 (9 + 4) beats 10 + 4 + nothing.
    fi = FlowInput(
        left_cap=np.array([1, 1, 1]),
        right_cap=np.array([1, 2]),
        tail=np.array([0, 0, 1, 2]),
        head=np.array([0, 1, 0, 1]),
        weight=np.array([10, 9, 7, 4]),
    )
    chosen, u, y = augment_with_duals(fi)
    assert chosen.tolist() == [False, True, True, True]
    assert total(fi, chosen) == 20
    # Prices: activity 0 is worth 7 (what volunteer 1 brings), so volunteer 0 earns 10 - 7 = 3.
    assert check_duals(fi, chosen, u, y).proves_optimal
    assert int(u.sum() + (y * fi.right_cap).sum()) == 20


def test_it_is_the_default_backend() -> None:
    assert DEFAULT_BACKEND == "augment"


@settings(max_examples=500)
@given(flow_inputs(), st.booleans(), st.data())
def test_resumed_solves_stay_optimal_as_edges_are_added(fi: FlowInput, closed: bool, data: st.DataObject) -> None:
    # Each edge joins at a drawn round; every resumed solve must be optimal, and proven so, on
    # exactly the edges it has been given so far.
    fi = some_closed(one_each(fi)) if closed else one_each(fi)
    joins = np.array(data.draw(st.lists(st.integers(0, 3), min_size=len(fi.tail), max_size=len(fi.tail))))
    resumed = Augmenter(fi)
    for round_ in range(4):
        keep = joins <= round_
        chosen, u, y = resumed.solve(keep)
        sub = FlowInput(fi.left_cap, fi.right_cap, fi.tail[keep], fi.head[keep], fi.weight[keep])
        assert not chosen[~keep].any()
        assert total(sub, chosen[keep]) == total(sub, solve_networkx(sub))
        assert check_duals(sub, chosen[keep], u, y).proves_optimal
    with pytest.raises(ValueError, match="only add edges"):
        resumed.solve(np.zeros(len(fi.tail), dtype=bool))


def test_a_freed_volunteer_is_repriced_by_moving_another_place() -> None:
    # Round 1: volunteer 0 takes A (10) and volunteer 1 takes B (4), so volunteer 0 is priced
    # (it is worth more than B's 9 to A). Round 2 brings volunteer 2 for A (20): A's place moves
    # to it, and volunteer 0, left free but priced, must take B from volunteer 1 (9 > 4) rather
    # than stay out: 20 + 9.
    fi = FlowInput(
        left_cap=np.array([1, 1, 1]),
        right_cap=np.array([1, 1]),
        tail=np.array([0, 0, 1, 2]),
        head=np.array([0, 1, 1, 0]),
        weight=np.array([10, 9, 4, 20]),
    )
    resumed = Augmenter(fi)
    chosen, u, y = resumed.solve(np.array([True, True, True, False]))
    assert chosen.tolist() == [True, False, True, False]
    assert u[0] > 0
    chosen, u, y = resumed.solve(np.ones(4, dtype=bool))
    assert chosen.tolist() == [False, True, False, True]
    assert check_duals(fi, chosen, u, y).proves_optimal
    assert u[1] == 0  # left out, so priced 0


@contextmanager
def budget(per_edge: int) -> Iterator[list[int]]:
    """Set the searches' budget; yields the sizes of the networks then handed to OR-Tools."""
    handed: list[int] = []

    def spy(fi: FlowInput) -> np.ndarray:
        handed.append(len(fi.tail))
        return solve_ortools(fi)

    with (
        mock.patch.object(augment, "WORK_PER_EDGE", per_edge),
        mock.patch.object(augment, "solve_ortools", spy),
        mock.patch.object(sparsify, "solve_ortools", spy),
    ):
        yield handed


def hand_checked() -> FlowInput:
    return FlowInput(
        left_cap=np.array([1, 1, 1]),
        right_cap=np.array([1, 2]),
        tail=np.array([0, 0, 1, 2]),
        head=np.array([0, 1, 0, 1]),
        weight=np.array([10, 9, 7, 4]),
    )


def test_searches_over_budget_hand_the_network_to_cost_scaling() -> None:
    fi = hand_checked()
    with budget(0) as handed:
        # A budget of nothing admits one place's insertion; the second finds it spent.
        resumed = Augmenter(fi)
        with pytest.raises(DegenerateError):
            resumed.solve()
        with pytest.raises(ValueError, match="cannot be resumed"):
            resumed.solve()
        assert handed == []
        assert solve_augment(fi).tolist() == [False, True, True, True]
        assert handed == [4]
    with budget(augment.WORK_PER_EDGE) as handed:
        assert solve_augment(fi).tolist() == [False, True, True, True]
        assert handed == []


@settings(max_examples=300)
@given(flow_inputs(), st.sampled_from([0, 1, 2, 5]), st.integers(0, 2))
def test_sparsified_rounds_stay_exact_when_the_searches_give_way(fi: FlowInput, per_edge: int, per_act: int) -> None:
    # Whichever round the budget runs out in (the first, a resumed one, or none), the rest is
    # solved by cost scaling: the same optimum, proven on the full graph.
    fi = one_each(fi)
    with budget(per_edge) as handed:
        out = solve_sparsified(fi, solve_augment, per_activity=per_act)
        direct = solve_augment(fi)
    assert total(fi, out.chosen) == total(fi, direct) == total(fi, solve_networkx(fi))
    if per_edge == 0 and (fi.right_cap * (np.bincount(fi.head, minlength=len(fi.right_cap)) > 0)).sum() >= 2:
        assert handed  # two places to insert: the direct solve ran out after the first
    assert check_duals(fi, out.chosen, out.u, out.y).proves_optimal


def test_tied_networks_go_to_cost_scaling_without_a_search() -> None:
    # Two activities of one place, three volunteers each, every edge of an activity alike: each
    # place has more equally best volunteers than places, the case where searches sweep ties.
    fi = FlowInput(
        left_cap=np.ones(4, dtype=np.int64),
        right_cap=np.array([1, 1]),
        tail=np.array([0, 1, 2, 1, 2, 3]),
        head=np.array([0, 0, 0, 1, 1, 1]),
        weight=np.array([5, 5, 5, 7, 7, 7]),
    )
    assert sparsify.tied(fi, np.ones(6, dtype=bool))
    searched: list[int] = []
    original = Augmenter.solve

    def spy(self: Augmenter, keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        searched.append(len(self.fi.tail))
        return original(self, keep)

    with budget(augment.WORK_PER_EDGE) as handed, mock.patch.object(Augmenter, "solve", spy):
        out = solve_sparsified(fi, solve_augment, per_activity=8)
        assert (searched, handed) == ([], [6])
        assert total(fi, out.chosen) == 12
        assert check_duals(fi, out.chosen, out.u, out.y).proves_optimal
        # Distinct weights at one of the two: half the edges tied, still cost scaling; at both, searches.
        distinct = FlowInput(fi.left_cap, fi.right_cap, fi.tail, fi.head, np.array([5, 5, 5, 7, 8, 9]))
        assert sparsify.tied(distinct, np.ones(6, dtype=bool))
        apart = FlowInput(fi.left_cap, fi.right_cap, fi.tail, fi.head, np.array([4, 5, 6, 7, 8, 9]))
        assert not sparsify.tied(apart, np.ones(6, dtype=bool))
        out = solve_sparsified(apart, solve_augment, per_activity=8)
        assert (searched, handed) == ([6], [6])
        assert total(apart, out.chosen) == 15


def test_ties_no_more_than_places_are_not_contested() -> None:
    # Each activity's best edges all fit into its places: any insertion takes one at once.
    fi = FlowInput(
        left_cap=np.ones(4, dtype=np.int64),
        right_cap=np.array([2, 2]),
        tail=np.array([0, 1, 2, 3]),
        head=np.array([0, 0, 1, 1]),
        weight=np.array([5, 5, 7, 7]),
    )
    assert not sparsify.tied(fi, np.ones(4, dtype=bool))
    assert sparsify.tied(FlowInput(fi.left_cap, np.array([1, 1]), fi.tail, fi.head, fi.weight), np.ones(4, dtype=bool))
    assert not sparsify.tied(fi, np.zeros(4, dtype=bool))
