"""The LP-dual certificate: it proves optimal solutions and exposes suboptimal ones."""

from __future__ import annotations

from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import matcher
from matcher.certificate import _exact_sum, check_duals, flow_duals
from matcher.pipeline import flow_input
from matcher.result import build_result
from matcher.solvers import FlowInput
from matcher.solvers.ortools_backend import solve_ortools
from tests.helpers import solve_doc
from tests.strategies import problems
from tests.test_sparsify import flow_inputs


@settings(max_examples=300)
@given(problems())
def test_dropping_any_assignment_is_caught(doc: dict[str, Any]) -> None:
    result = solve_doc(doc)
    assume(result.certificate.kind == "lp_dual" and len(result.assignments) > 0)
    worse = result.chosen.copy()
    worse[np.flatnonzero(worse)[0]] = False
    _, _, objective = matcher.prepare(result.problem)
    tampered = build_result(result.problem, result.edges, result.costs, worse, "ortools", result.certificate, {})
    report = matcher.verify(result.problem, tampered)
    assert report.feasible
    assert report.optimal is False
    fi = flow_input(result.problem, result.edges, objective)
    with pytest.raises(matcher.SolverError, match="not optimal"):
        flow_duals(fi, worse)


def test_dual_objective_is_summed_exactly_beyond_int64() -> None:
    big = 2**62
    fi = FlowInput(
        left_cap=np.array([3, 3], dtype=np.int64),
        right_cap=np.array([1], dtype=np.int64),
        tail=np.array([0, 1], dtype=np.int64),
        head=np.array([0, 0], dtype=np.int64),
        weight=np.array([big, big - 1], dtype=np.int64),
    )
    chosen = np.array([True, False])
    u, y = flow_duals(fi, chosen)
    check = check_duals(fi, chosen, u, y)
    assert check.proves_optimal
    assert check.dual == big
    # Prices on a capacity-3 volunteer would overflow int64 if multiplied there.
    loose = check_duals(fi, chosen, np.array([big, 0], dtype=np.int64), np.array([0], dtype=np.int64))
    assert loose.dual == 3 * big + 0 + (big - 1)
    assert not loose.proves_optimal


def test_negative_prices_are_not_a_certificate() -> None:
    fi = FlowInput(
        left_cap=np.array([1], dtype=np.int64),
        right_cap=np.array([1], dtype=np.int64),
        tail=np.array([0], dtype=np.int64),
        head=np.array([0], dtype=np.int64),
        weight=np.array([5], dtype=np.int64),
    )
    check = check_duals(fi, np.array([True]), np.array([-5], dtype=np.int64), np.array([10], dtype=np.int64))
    assert not check.feasible_duals
    assert not check.proves_optimal


@settings(max_examples=300)
@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=20).flatmap(
        lambda xs: st.tuples(
            st.just(xs), st.none() | st.lists(st.integers(0, 2**62), min_size=len(xs), max_size=len(xs))
        )
    )
)
def test_exact_sums_never_overflow(case: tuple[list[int], list[int] | None]) -> None:
    values, factors = case
    expected = sum(v * (1 if factors is None else f) for v, f in zip(values, factors or values, strict=True))
    got = _exact_sum(np.array(values, dtype=np.int64), None if factors is None else np.array(factors, dtype=np.int64))
    assert got == expected


@settings(max_examples=200)
@given(flow_inputs(), st.integers(1, 7))
def test_slacks_summed_in_blocks_give_the_same_dual(fi: FlowInput, block: int) -> None:
    chosen = solve_ortools(fi)
    u, y = flow_duals(fi, chosen)
    whole = check_duals(fi, chosen, u, y)
    with mock.patch("matcher.certificate.EDGE_BLOCK", block):
        assert check_duals(fi, chosen, u, y) == whole
    assert whole.proves_optimal
