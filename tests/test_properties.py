"""Property tests on random valid problems: eligibility, feasibility, optimality, determinism."""

from __future__ import annotations

import contextlib
import copy
import json
import random
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from tests.helpers import assert_certified, compile_doc, objective, overlap_possible, solve_doc
from tests.reference import brute_force_optimum, milp_optimum, reference_edges
from tests.strategies import dense_overlap_problems, problems


@settings(max_examples=300)
@given(problems())
def test_candidate_edges_equal_naive_reference(doc: dict[str, Any]) -> None:
    p = compile_doc(doc)
    edges, costs, _ = matcher.prepare(p)
    got = {
        (p.volunteer_ids[v], p.activity_ids[a]): costs.breakdown(e)
        for e, (v, a) in enumerate(zip(edges.vol.tolist(), edges.act.tolist(), strict=True))
    }
    assert got == reference_edges(doc)


@settings(max_examples=200)
@given(problems(), st.sampled_from([1, 2, 7]), st.sampled_from([1, 2]))
def test_candidate_edges_do_not_depend_on_chunks_or_threads(doc: dict[str, Any], chunk: int, workers: int) -> None:
    p = compile_doc(doc)
    whole = matcher.candidate_edges(p)
    split = matcher.candidate_edges(p, chunk_pairs=chunk, workers=workers)
    for name in ("vol", "act", "distance_m", "in_person", "rank", "surplus"):
        assert getattr(split, name).tolist() == getattr(whole, name).tolist(), name


@settings(max_examples=1000)
@given(problems())
def test_result_is_feasible_optimal_and_certified(doc: dict[str, Any]) -> None:
    result = solve_doc(doc)
    # An LP-dual certificate (with clique prices where needed) must check out exactly; only
    # results that needed branch and bound rest on the solver's own proof.
    assert_certified(result)
    if overlap_possible(doc):
        assert objective(result) == milp_optimum(doc)
    else:
        reference = solve_doc(doc, backend="networkx")
        assert objective(result) == objective(reference)
        assert matcher.verify(reference.problem, reference).optimal
        # Without multi-activity volunteers the flow model is exact: the LP-dual proof must hold.
        assert result.certificate.kind == "lp_dual"


@settings(max_examples=300)
@given(dense_overlap_problems())
def test_dense_overlaps_match_brute_force_and_milp(doc: dict[str, Any]) -> None:
    result = solve_doc(doc)
    assert_certified(result)
    assert objective(result) == milp_optimum(doc)
    if len(reference_edges(doc)) <= 12:
        assert objective(result) == brute_force_optimum(doc)


@settings(max_examples=300)
@given(problems(max_volunteers=4, max_activities=3))
def test_objective_equals_brute_force_on_tiny_instances(doc: dict[str, Any]) -> None:
    if len(reference_edges(doc)) > 12:
        return
    assert objective(solve_doc(doc)) == brute_force_optimum(doc)


@settings(max_examples=300)
@given(problems())
def test_backends_agree_on_objective(doc: dict[str, Any]) -> None:
    results = [solve_doc(doc, backend=name) for name in sorted(matcher.BACKENDS)]
    assert len({objective(r) for r in results}) == 1
    assert all(matcher.verify(r.problem, r).ok for r in results)


def _shuffled(doc: dict[str, Any], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    out = copy.deepcopy(doc)
    rng.shuffle(out["volunteers"])
    rng.shuffle(out["activities"])
    for vol in out["volunteers"]:
        if "skills" in vol:
            items = list(vol["skills"].items())
            rng.shuffle(items)
            vol["skills"] = dict(items)
        if vol.get("availability"):
            rng.shuffle(vol["availability"])
        for group in vol.get("preferences") or []:
            if isinstance(group, list):
                rng.shuffle(group)
    for act in out["activities"]:
        if "requirements" in act:
            rng.shuffle(act["requirements"])
    return out


@settings(max_examples=300)
@given(problems(), st.integers(0, 2**32 - 1))
def test_shuffled_input_gives_byte_identical_document(doc: dict[str, Any], seed: int) -> None:
    first = solve_doc(doc).to_json()
    again = solve_doc(_shuffled(doc, seed)).to_json()
    assert first == again
    json.loads(first)


class _NoLP:
    status = 1
    x = None


@pytest.mark.parametrize("path", ["branch_and_bound", "two_level"])
@settings(max_examples=150)
@given(doc=dense_overlap_problems())
def test_every_exact_overlap_path_reaches_the_same_optimum(path: str, doc: dict[str, Any]) -> None:
    # Force the rarer paths on every instance: branch and bound without the LP shortcut, and the
    # two-level form used when combined weights are too large for float64.
    # overlap.py imports scipy.optimize when it runs, so the patch goes on scipy.optimize itself.
    patches = [mock.patch("scipy.optimize.linprog", return_value=_NoLP())]
    if path == "two_level":
        patches.append(mock.patch("matcher.solvers.overlap.FLOAT_EXACT", 0))
    with contextlib.ExitStack() as stack:
        for p in patches:
            stack.enter_context(p)
        result = solve_doc(doc)
    assert objective(result) == milp_optimum(doc)
    report = matcher.verify(result.problem, result)
    assert report.feasible, report.problems
    assert report.optimal is not False
