"""Exact no-overlap rule for volunteers who take several activities.

The flow model lets a volunteer with ``max_activities >= 2`` take two activities that overlap in
time. That model is a relaxation, so when its optimum has no such conflict it is optimal for the
real problem too. Otherwise the connected components of the candidate graph that hold a conflict
are re-solved as integer programs with HiGHS (``scipy.optimize.milp``), adding clique constraints
lazily — only for volunteers whose solution conflicts — until none does. Each round solves a
relaxation of the true problem exactly, so the first conflict-free solution is optimal.

The lexicographic objective is solved in two exact stages (maximum priority, then minimum cost at
that priority) to keep HiGHS' floating-point arithmetic on small integers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from matcher.errors import SolverError

__all__ = ["OverlapOutcome", "conflicting_volunteers", "resolve_overlaps"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def conflicting_volunteers(vol: I64, start: I64, end: I64, chosen: Mask) -> I64:
    """Volunteers whose chosen activities overlap in time (half-open intervals ``[start, end)``).

    Sorted by start, a set of intervals overlaps somewhere iff two neighbours overlap.
    """
    idx = np.flatnonzero(chosen)
    order = np.lexsort((end[idx], start[idx], vol[idx]))
    v, s, e = vol[idx][order], start[idx][order], end[idx][order]
    clash = (v[1:] == v[:-1]) & (s[1:] < e[:-1])
    return np.unique(v[1:][clash])


@dataclass(frozen=True)
class OverlapOutcome:
    """What the exact overlap step did."""

    chosen: Mask
    components_resolved: int
    lazy_volunteers: int
    rounds: int


def _clique_rows(edge_ids: I64, start: I64, end: I64) -> list[I64]:
    """Clique constraints of one volunteer's edges: at each start time, the edges running then."""
    rows: list[I64] = []
    seen: set[bytes] = set()
    for t in np.unique(start[edge_ids]):
        members = edge_ids[(start[edge_ids] <= t) & (t < end[edge_ids])]
        if len(members) >= 2:
            key = members.tobytes()
            if key not in seen:
                seen.add(key)
                rows.append(members)
    return rows


def _solve_component(
    edges: I64,
    vol: I64,
    act: I64,
    vol_cap: I64,
    act_cap: I64,
    priority: I64,
    cost: I64,
    start: I64,
    end: I64,
    lazy: set[int],
) -> Mask:
    """Exact two-stage MILP on one component with clique rows for the ``lazy`` volunteers."""
    n = len(edges)
    local = np.arange(n)
    vols, v_row = np.unique(vol[edges], return_inverse=True)
    acts, a_row = np.unique(act[edges], return_inverse=True)
    row_parts = [v_row, a_row + len(vols)]
    col_parts = [local, local]
    upper = [vol_cap[vols], act_cap[acts]]
    next_row = len(vols) + len(acts)
    for v in sorted(lazy):
        mine = local[vol[edges] == v]
        for members in _clique_rows(mine, start[edges], end[edges]):
            row_parts.append(np.full(len(members), next_row))
            col_parts.append(members)
            next_row += 1
    if next_row > len(vols) + len(acts):
        upper.append(np.ones(next_row - len(vols) - len(acts), dtype=np.int64))
    rows, cols = np.concatenate(row_parts), np.concatenate(col_parts)
    matrix = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(next_row, n))
    ub = np.concatenate(upper).astype(np.float64)
    base = LinearConstraint(matrix, -np.inf, ub)
    options = {"mip_rel_gap": 0.0, "presolve": True}
    bounds = Bounds(0, 1)
    integral = np.ones(n)
    prio = priority[edges].astype(np.float64)
    first = milp(-prio, integrality=integral, bounds=bounds, constraints=[base], options=options)
    if first.status != 0 or first.x is None:
        raise SolverError(f"HiGHS MILP (priority stage) ended with status {first.status}: {first.message}")
    best_priority = round(float(prio @ np.rint(first.x)))
    keep_priority = LinearConstraint(prio.reshape(1, -1), best_priority - 0.5, np.inf)
    second = milp(
        cost[edges].astype(np.float64),
        integrality=integral,
        bounds=bounds,
        constraints=[base, keep_priority],
        options=options,
    )
    if second.status != 0 or second.x is None:
        raise SolverError(f"HiGHS MILP (cost stage) ended with status {second.status}: {second.message}")
    return np.asarray(np.rint(second.x) > 0.5)


def resolve_overlaps(
    n_volunteers: int,
    n_activities: int,
    vol: I64,
    act: I64,
    vol_cap: I64,
    act_cap: I64,
    priority: I64,
    cost: I64,
    start: I64,
    end: I64,
    chosen: Mask,
) -> OverlapOutcome:
    """Make ``chosen`` (a flow optimum) exactly optimal under the no-overlap rule.

    Edge arrays are per candidate edge; ``start``/``end`` are the edge's activity times.
    """
    conflicts = conflicting_volunteers(vol, start, end, chosen)
    if len(conflicts) == 0:
        return OverlapOutcome(chosen=chosen, components_resolved=0, lazy_volunteers=0, rounds=0)
    graph = sp.csr_matrix((np.ones(len(vol)), (vol, act + n_volunteers)), shape=(n_volunteers + n_activities,) * 2)
    _, labels = connected_components(graph, directed=False)
    edge_label = labels[vol]
    result = chosen.copy()
    lazy_total = rounds = 0
    for label in np.unique(labels[conflicts]):
        edges = np.flatnonzero(edge_label == label)
        lazy = {int(v) for v in conflicts[labels[conflicts] == label]}
        while True:
            rounds += 1
            local = _solve_component(edges, vol, act, vol_cap, act_cap, priority, cost, start, end, lazy)
            new = conflicting_volunteers(vol[edges], start[edges], end[edges], local)
            if len(new) == 0:
                break
            fresh = {int(v) for v in new} - lazy
            if not fresh:
                raise SolverError("HiGHS returned a solution that breaks its own no-overlap constraints")
            lazy |= fresh
        result[edges] = local
        lazy_total += len(lazy)
    return OverlapOutcome(
        chosen=result,
        components_resolved=len(np.unique(labels[conflicts])),
        lazy_volunteers=lazy_total,
        rounds=rounds,
    )
