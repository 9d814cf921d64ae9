"""The menu rules as one integer program, solved by HiGHS on the components they touch.

Roles, minimum staffing, hour limits and together/apart groups do not fit a flow network. The
flow optimum (with the rules dropped) is a relaxation: on connected components of the candidate
graph that no rule touches it stays optimal, and only the other components go into a
mixed-integer program (:mod:`matcher.solvers.rules_model` builds it). Its starting point is the
flow optimum, repaired into a plan that keeps every rule (:mod:`matcher.solvers.repair`), so the
branch and bound starts with a good incumbent and a time limit always leaves a valid plan.

Exactness: the objective is the same integer weight the flow maximises. HiGHS sums in float64,
so while the weights' absolute sum stays below 2**53 one solve settles both levels; beyond that
the levels are solved in turn (most priority, then least cost at that priority). Like the
no-overlap step, clique rows for volunteers who hold overlapping activities are added lazily
until no plan breaks the rule. HiGHS proves optimality (``mip_rel_gap = 0``); when
``policy.time_limit_seconds`` runs out first, the best plan is returned with its proven bound.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.arrays import Ids
from matcher.candidates import role_options
from matcher.errors import SolverError
from matcher.problem import Problem
from matcher.rules import NO_LIMIT
from matcher.solvers.base import FLOAT_EXACT, FlowInput
from matcher.solvers.overlap import conflicting_volunteers
from matcher.solvers.repair import repair
from matcher.solvers.rules_model import RulesModel, build_model, component_edges

__all__ = ["RulesOutcome", "solve_rules", "tightened"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class RulesOutcome:
    """What the rules step did.

    ``chosen`` is the whole selection (edges outside the program keep the flow's choice);
    ``role[e]`` is the global role index edge ``e`` fills (-1: none). ``objective`` and ``bound``
    are the program's value and HiGHS's proven upper bound on it, in combined-weight units
    (``priority * scale - cost``, load cost included); they are equal when ``proven``.
    """

    chosen: Mask
    role: I64
    proven: bool
    objective: int
    bound: int
    edges: int
    volunteers: int
    activities: int
    rounds: int


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    # highspy prints a banner on stdout when a solver object is created, before any option can
    # silence it; a CLI that writes its result to stdout must not get it.
    sys.stdout.flush()
    saved = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


def _highs() -> Any:
    import highspy

    with _quiet_stdout():
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.0)
    h.setOptionValue("random_seed", 0)
    return h


def _run(
    model: RulesModel, objective: F64, start: F64, seconds: float, floor: F64 | None, presolve: bool = True
) -> tuple[F64 | None, float, bool]:
    """Maximise ``objective`` over ``model`` (plus ``floor``: objective row >= value) from ``start``.

    Returns (solution or None, proven upper bound, proven optimal).
    """
    import highspy

    matrix, row_lower, row_upper = model.matrix, model.row_lower, model.row_upper
    if floor is not None:
        import scipy.sparse as sp

        matrix = sp.vstack([matrix, sp.csr_matrix(floor[1:].reshape(1, -1))])
        row_lower = np.append(row_lower, floor[0])
        row_upper = np.append(row_upper, np.inf)
    matrix = matrix.tocsc()
    began = time.monotonic()
    h = _highs()
    h.setOptionValue("time_limit", max(seconds, 0.01))
    if not presolve:
        h.setOptionValue("presolve", "off")
    inf = highspy.kHighsInf
    status = h.passModel(
        matrix.shape[1],
        matrix.shape[0],
        matrix.nnz,
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMaximize),
        0.0,
        objective,
        model.col_lower,
        model.col_upper,
        np.where(np.isfinite(row_lower), row_lower, -inf),
        np.where(np.isfinite(row_upper), row_upper, inf),
        matrix.indptr.astype(np.int32),
        matrix.indices.astype(np.int32),
        matrix.data.astype(np.float64),
        model.integrality,
    )
    if status != highspy.HighsStatus.kOk:
        raise SolverError(f"HiGHS rejected the rules program: {status}")
    h.setSolution(len(start), np.arange(len(start), dtype=np.int32), start)
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value, dtype=np.float64) if info.primal_solution_status == 2 else None
    if x is not None and abs(float(objective @ np.rint(x)) - info.objective_function_value) > 0.5 and presolve:
        # Seen with HiGHS 1.16: when presolve settles a model that was given a starting solution,
        # the reported value is the optimum's but the returned columns are the start's. Solving
        # again without presolve returns columns that match.
        left = seconds - (time.monotonic() - began)
        if left < 0.2:
            return None, float(info.mip_dual_bound), False  # no time to redo it: keep the start
        return _run(model, objective, start, left, floor, presolve=False)
    if model_status == highspy.HighsModelStatus.kOptimal:
        return x, float(info.objective_function_value), True
    if model_status in (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kInterrupt):
        return x, float(info.mip_dual_bound), False
    raise SolverError(f"HiGHS ended the rules program with status {h.modelStatusToString(model_status)}")


def _mask(n: int, idx: I64) -> Mask:
    out = np.zeros(n, dtype=bool)
    out[idx] = True
    return out


def _columns(x: F64 | None) -> Mask | None:
    if x is None:
        return None
    chosen: Mask = np.rint(x) > 0.5
    return chosen


def _solve_levels(model: RulesModel, start: F64, deadline: float, flow_bound: int) -> tuple[Mask, bool, int]:
    """The best plan for ``model`` from ``start``, proven or as far as time allows, and its bound.

    ``flow_bound`` (the flow optimum on these edges) bounds every plan, so it caps the bound.
    """
    fallback: Mask = start > 0.5
    if float(np.abs(model.weight).sum()) < FLOAT_EXACT:
        x, bound, proven = _run(model, model.weight.astype(np.float64), start, deadline - time.monotonic(), None)
        chosen = _columns(x)
        best = chosen if chosen is not None else fallback
        if proven:
            return best, True, model.value(best)
        proven_bound = int(np.floor(bound + 0.5)) if np.isfinite(bound) else flow_bound
        return best, False, min(flow_bound, proven_bound)
    # Weights too large for exact float sums: most priority first, then least cost at that priority.
    prio = model.priority.astype(np.float64)
    x, _, proven = _run(model, prio, start, (deadline - time.monotonic()) / 2, None)
    first = _columns(x)
    if first is None or not proven:
        best = first if first is not None and model.value(first) > model.value(fallback) else fallback
        return best, False, flow_bound
    reached = float(model.priority[first].sum())
    floor = np.concatenate([[reached - 0.5], prio])
    x, _, proven = _run(
        model, -model.cost.astype(np.float64), first.astype(np.float64), deadline - time.monotonic(), floor
    )
    second = _columns(x)
    best = second if second is not None else first
    return best, proven, model.value(best) if proven else flow_bound


def tightened(p: Problem, fi: FlowInput) -> FlowInput:
    """The flow relaxation with capacities the rules imply, so its optimum is a tighter bound.

    Valid for every plan that keeps the rules: a team holds at most its roles' counts, of those
    volunteers who fit each role, and no more of a ratio's ``of`` role than ``per`` times its
    possible leads; an activity whose minimum (or a role's) exceeds who could fill it cannot
    run; a volunteer with an hour cap takes at most as many activities as their shortest
    eligible ones fit in it.
    """
    rules = p.rules
    # The network's own int32 endpoints: nothing here packs keys, and int64 copies were 560 MB at 35M edges.
    vol, act = fi.tail, fi.head
    right = fi.right_cap.copy()
    eligible = np.bincount(act, minlength=p.n_activities)
    right[eligible < rules.act_min_volunteers] = 0
    team = np.flatnonzero(rules.act_has_roles[act])
    _, role = role_options(p, vol[team].astype(np.int64), act[team].astype(np.int64))
    fit = np.minimum(np.bincount(role, minlength=len(rules.role_name)), rules.role_count)
    for q in range(len(rules.ratio_act)):
        lead, of = rules.ratio_lead[q], rules.ratio_of[q]
        fit[of] = min(fit[of], rules.ratio_per[q] * fit[lead])
    role_act = rules.role_act
    team_max = np.bincount(role_act, weights=fit, minlength=p.n_activities).astype(np.int64)
    has_roles = rules.act_has_roles
    right[has_roles] = np.minimum(right[has_roles], team_max[has_roles])
    short = np.zeros(p.n_activities, dtype=bool)
    short[role_act[fit < rules.role_min]] = True
    right[short] = 0
    left = fi.left_cap.copy()
    capped = np.flatnonzero(rules.vol_max_micros < NO_LIMIT)
    if len(capped):
        duration = (p.act_end - p.act_start)[act]
        at = np.isin(vol, capped)
        order = np.lexsort((duration[at], vol[at]))
        v_sorted, d_sorted = vol[at][order], duration[at][order]
        first = np.searchsorted(v_sorted, v_sorted)
        running = np.cumsum(d_sorted) - np.r_[0, np.cumsum(d_sorted)][first]
        fits = running <= rules.vol_max_micros[v_sorted]
        left[capped] = np.minimum(left[capped], np.bincount(v_sorted[fits], minlength=p.n_volunteers)[capped])
    # A node without edges keeps its capacity: tightening it changes no plan, but its dual price
    # could then differ from the untightened problem's, and an LP certificate must hold for that.
    left = np.where(np.bincount(vol, minlength=len(left)) > 0, left, fi.left_cap)
    right = np.where(np.bincount(act, minlength=len(right)) > 0, right, fi.right_cap)
    return replace(fi, left_cap=left, right_cap=right)


#: Programs with more edges than this are not solved whole (HiGHS needs minutes for their first
#: LP alone: 440 s for 1.8M edges); their plan is improved neighbourhood by neighbourhood.
WHOLE_PROGRAM_EDGES = 300_000


def settle(
    p: Problem,
    fi: FlowInput,
    priority: I64,
    cost: I64,
    busy_end: I64,
    edges: I64,
    current: Mask,
    deadline: float,
    flow_bound: int,
) -> tuple[RulesModel, Mask, bool, int, int]:
    """The best plan on ``edges`` (their rows only) from ``current``, with lazy no-overlap rounds.

    Returns the last model, its columns, whether HiGHS proved them optimal, the bound and rounds.
    """
    start_times = p.act_start[fi.head[edges]]
    ends = busy_end[edges]
    lazy: set[int] = set()
    rounds = 0
    while True:
        rounds += 1
        model = build_model(p, fi, priority, cost, busy_end, edges, lazy)
        start = repair(p, fi, model, busy_end, current)
        columns, proven, bound = _solve_levels(model, start, deadline, flow_bound)
        if not model.keeps_rules(columns):
            raise SolverError("HiGHS returned a plan that breaks the menu rules")
        local = columns[: len(edges)]
        new = conflicting_volunteers(fi.tail[edges], start_times, ends, local)
        fresh = {int(v) for v in new} - lazy
        if len(new) and not fresh:
            raise SolverError("HiGHS returned a plan that breaks its own no-overlap rows")
        if not fresh:
            return model, columns, proven, bound, rounds
        if time.monotonic() >= deadline:
            # Out of time with overlaps left: the repaired start keeps every rule, overlaps included.
            return model, start > 0.5, False, bound, rounds
        lazy |= fresh
        current = local


def solve_rules(p: Problem, fi: FlowInput, priority: Ids, cost: I64, busy_end: I64, chosen: Mask) -> RulesOutcome:
    """Make ``chosen`` (the flow optimum without the rules) optimal under the menu rules.

    ``priority``/``cost`` are the objective levels behind ``fi.weight``; ``busy_end`` is each
    edge's activity end plus the rest time (:attr:`~matcher.problem.Problem.act_busy_end`).
    """
    deadline = time.monotonic() + p.policy.time_limit_seconds
    edges = component_edges(p, fi)
    role = np.full(len(fi.tail), -1, dtype=np.int64)
    if len(edges) == 0:
        return RulesOutcome(chosen, role, True, 0, 0, 0, 0, 0, 0)
    result = chosen.copy()
    current = chosen[edges]
    # The flow optimum on these components bounds every plan that keeps the rules.
    in_program = _mask(len(chosen), edges)
    flow_bound = int(fi.weight[edges][current].astype(object).sum()) - fi.load_penalty(chosen & in_program)
    if len(edges) <= WHOLE_PROGRAM_EDGES:
        model, columns, proven, bound, rounds = settle(
            p, fi, priority, cost, busy_end, edges, current, deadline, flow_bound
        )
        local = columns[: len(edges)]
        z = columns[model.z_cols]
        role[edges[model.z_edge[z]]] = model.z_role[z]
        n_vols, n_acts = len(model.vols), len(model.acts)
    else:
        from matcher.solvers.neighbourhood import improve

        local, local_role, rounds = improve(p, fi, priority, cost, busy_end, edges, current, deadline)
        role[edges] = local_role
        n_vols, n_acts = len(np.unique(fi.tail[edges])), len(np.unique(fi.head[edges]))
        proven, bound = False, flow_bound
    result[edges] = local
    value = int(fi.weight[edges][local].astype(object).sum()) - fi.load_penalty(result & in_program)
    proven = proven or value == flow_bound
    return RulesOutcome(
        chosen=result,
        role=role,
        proven=proven,
        objective=value,
        bound=value if proven else max(bound, value),
        edges=len(edges),
        volunteers=n_vols,
        activities=n_acts,
        rounds=rounds,
    )
