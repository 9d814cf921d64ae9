"""Exact no-overlap rule for volunteers who take several activities.

The flow model lets a volunteer with ``max_activities >= 2`` take two activities that overlap in
time. That model is a relaxation, so when its optimum has no such conflict it is optimal for the
real problem too. Otherwise the connected components of the candidate graph that hold a conflict
are re-solved with HiGHS, adding clique constraints lazily — only for volunteers whose solution
conflicts — until none does. Each round solves a relaxation of the true problem exactly, so the
first conflict-free solution is optimal.

A round first tries the LP (dual simplex): with the clique rows it is usually still integral, and
an integral LP optimum is an exact optimum. Otherwise it runs branch and bound
(``scipy.optimize.milp``) on the same rows. Both use the combined integer weight while its sums
are exact in float64; beyond that the two objective levels are solved separately (maximum
priority, then minimum cost at that priority), which is exact but slower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from matcher.errors import SolverError
from matcher.solvers.base import FlowInput

__all__ = ["ComponentDuals", "OverlapOutcome", "conflicting_volunteers", "resolve_overlaps"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

# HiGHS computes in float64: integer objectives are exact while their absolute sum stays below this.
_FLOAT_EXACT = 2**53
_MILP = {"mip_rel_gap": 0.0, "presolve": True}


def conflicting_volunteers(vol: I64, start: I64, end: I64, chosen: Mask) -> I64:
    """Volunteers whose chosen activities overlap in time (half-open intervals ``[start, end)``).

    Sorted by start, a set of intervals overlaps somewhere iff two neighbours overlap.
    """
    idx = np.flatnonzero(chosen)
    order = np.lexsort((end[idx], start[idx], vol[idx]))
    v, s, e = vol[idx][order], start[idx][order], end[idx][order]
    clash = (v[1:] == v[:-1]) & (s[1:] < e[:-1])
    return np.unique(v[1:][clash])


@dataclass(frozen=True, eq=False)
class ComponentDuals:
    """LP dual prices of one re-solved component whose final LP was integral.

    ``u``/``y`` price the capacity rows of ``vols``/``acts``; ``q[k]`` prices the clique row whose
    member edges are ``cliques[k]`` (global edge indices). Floats, as HiGHS returns them.
    """

    vols: I64
    acts: I64
    u: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    cliques: list[I64]
    q: npt.NDArray[np.float64]


@dataclass(frozen=True)
class OverlapOutcome:
    """What the exact overlap step did; ``duals`` is None when branch and bound was needed."""

    chosen: Mask
    components_resolved: int
    lazy_volunteers: int
    rounds: int
    duals: list[ComponentDuals] | None = None


def _clique_rows(edge_ids: I64, start: I64, end: I64) -> list[tuple[int, I64]]:
    """Clique constraints of one volunteer's edges: at each start time ``t``, the edges running then."""
    rows: list[tuple[int, I64]] = []
    seen: set[bytes] = set()
    for t in np.unique(start[edge_ids]):
        members = edge_ids[(start[edge_ids] <= t) & (t < end[edge_ids])]
        if len(members) >= 2:
            key = members.tobytes()
            if key not in seen:
                seen.add(key)
                rows.append((int(t), members))
    return rows


@dataclass(frozen=True, eq=False)
class _Component:
    """One connected component's edges and the constraint rows shared by every round."""

    edges: I64
    vols: I64
    acts: I64
    rows: I64
    cols: I64
    upper: npt.NDArray[np.float64]
    n_rows: int


def _base_rows(edges: I64, vol: I64, act: I64, vol_cap: I64, act_cap: I64) -> _Component:
    local = np.arange(len(edges))
    vols, v_row = np.unique(vol[edges], return_inverse=True)
    acts, a_row = np.unique(act[edges], return_inverse=True)
    return _Component(
        edges=edges,
        vols=vols,
        acts=acts,
        rows=np.concatenate([v_row, a_row + len(vols)]),
        cols=np.concatenate([local, local]),
        upper=np.concatenate([vol_cap[vols], act_cap[acts]]).astype(np.float64),
        n_rows=len(vols) + len(acts),
    )


def _with_cliques(
    comp: _Component, vol: I64, start: I64, end: I64, lazy: set[int]
) -> tuple[LinearConstraint, list[tuple[int, int]]]:
    """The component's rows plus clique rows for ``lazy``; also each clique's (volunteer, moment)."""
    rows, cols, n_rows = [comp.rows], [comp.cols], comp.n_rows
    local = np.arange(len(comp.edges))
    e_vol, e_start, e_end = vol[comp.edges], start[comp.edges], end[comp.edges]
    cliques: list[tuple[int, int]] = []
    for v in sorted(lazy):
        for moment, members in _clique_rows(local[e_vol == v], e_start, e_end):
            rows.append(np.full(len(members), n_rows))
            cols.append(members)
            cliques.append((v, moment))
            n_rows += 1
    upper = np.concatenate([comp.upper, np.ones(n_rows - comp.n_rows)])
    r, c = np.concatenate(rows), np.concatenate(cols)
    matrix = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(n_rows, len(comp.edges)))
    return LinearConstraint(matrix, -np.inf, upper), cliques


def _integral(x: npt.NDArray[np.float64] | None) -> Mask | None:
    if x is None or np.abs(x - np.rint(x)).max(initial=0.0) > 1e-6:
        return None
    chosen: Mask = np.rint(x) > 0.5
    return chosen


def _solve_round(
    rows: LinearConstraint, weight: I64, priority: I64, cost: I64
) -> tuple[Mask, npt.NDArray[np.float64] | None]:
    """Exact optimum of one relaxation round (flow rows plus the lazy clique rows).

    Returns the selection and, when the LP settled it, the LP's row duals (a certificate).
    """
    n = len(weight)
    exact = int(np.abs(weight).sum()) < _FLOAT_EXACT
    if exact:
        # Usually the clique rows leave the LP integral: dual simplex then settles it at once.
        lp = linprog(-weight.astype(np.float64), A_ub=rows.A, b_ub=rows.ub, bounds=(0, 1), method="highs-ds")
        if lp.status == 0 and (chosen := _integral(lp.x)) is not None:
            return chosen, -np.asarray(lp.ineqlin.marginals, dtype=np.float64)
        res = milp(
            -weight.astype(np.float64), integrality=np.ones(n), bounds=Bounds(0, 1), constraints=[rows], options=_MILP
        )
        if res.status != 0 or (chosen := _integral(res.x)) is None:
            raise SolverError(f"HiGHS MILP ended with status {res.status}: {res.message}")
        return chosen, None
    # Weights too large for exact float64 sums: solve the two levels separately on small integers.
    prio = priority.astype(np.float64)
    first = milp(-prio, integrality=np.ones(n), bounds=Bounds(0, 1), constraints=[rows], options=_MILP)
    if first.status != 0 or (best := _integral(first.x)) is None:
        raise SolverError(f"HiGHS MILP (priority level) ended with status {first.status}: {first.message}")
    keep = LinearConstraint(prio.reshape(1, -1), int(priority[best].sum()) - 0.5, np.inf)
    second = milp(
        cost.astype(np.float64), integrality=np.ones(n), bounds=Bounds(0, 1), constraints=[rows, keep], options=_MILP
    )
    if second.status != 0 or (chosen := _integral(second.x)) is None:
        raise SolverError(f"HiGHS MILP (cost level) ended with status {second.status}: {second.message}")
    return chosen, None


def _members(edges: I64, vol: I64, start: I64, end: I64, clique: tuple[int, int]) -> I64:
    """Every edge of ``edges`` in a clique: the volunteer's edges running at the clique's moment."""
    v, t = clique
    members: I64 = edges[(vol[edges] == v) & (start[edges] <= t) & (t < end[edges])]
    return members


def _unpriced(
    fi: FlowInput, edges: I64, kept: Mask, comp: _Component, row_duals: npt.NDArray[np.float64], cliques: list[I64]
) -> Mask:
    """Pruned edges of a component whose LP reduced profit is not clearly negative (local mask).

    With floats from HiGHS, near-ties count as violators: adding an edge too many costs a little
    time, missing a real violator would cost optimality.
    """
    nv, na = len(comp.vols), len(comp.acts)
    u = np.zeros(len(fi.left_cap))
    y = np.zeros(len(fi.right_cap))
    u[comp.vols], y[comp.acts] = row_duals[:nv], row_duals[nv : nv + na]
    pruned = edges[~kept]
    cover = u[fi.tail[pruned]] + y[fi.head[pruned]]
    for q, clique in zip(row_duals[nv + na :], cliques, strict=True):
        if q > 0 and len(pruned):
            # ``pruned`` is sorted (edges are), so membership is a binary search per member.
            pos = np.minimum(np.searchsorted(pruned, clique), len(pruned) - 1)
            cover[pos[pruned[pos] == clique]] += q
    weight = fi.weight[pruned].astype(np.float64)
    violated = np.zeros(len(edges), dtype=bool)
    violated[np.flatnonzero(~kept)] = weight - cover > -1e-6 * np.maximum(weight, 1.0)
    return violated


def _resolve_component(
    fi: FlowInput, edges: I64, kept: Mask, lazy: set[int], priority: I64, cost: I64, start: I64, end: I64
) -> tuple[Mask, ComponentDuals | None, int]:
    """Optimum of one component under the no-overlap rule, solving on ``kept`` edges and pricing the rest.

    Returns (selection over ``edges``, duals or None after branch and bound, rounds).
    """
    vol, act, weight = fi.tail, fi.head, fi.weight
    rounds = 0
    while True:
        rounds += 1
        sub = edges[kept]
        comp = _base_rows(sub, vol, act, fi.left_cap, fi.right_cap)
        rows, cliques = _with_cliques(comp, vol, start, end, lazy)
        local, row_duals = _solve_round(rows, weight[sub], priority[sub], cost[sub])
        new = conflicting_volunteers(vol[sub], start[sub], end[sub], local)
        if len(new):
            fresh = {int(v) for v in new} - lazy
            if not fresh:
                raise SolverError("HiGHS returned a solution that breaks its own no-overlap constraints")
            lazy |= fresh
            continue
        if row_duals is None and not kept.all():
            # Branch and bound on a reduced set proves nothing about the rest: widen to everything.
            kept = np.ones(len(edges), dtype=bool)
            continue
        full_cliques = [_members(edges, vol, start, end, c) for c in cliques]
        violated = _unpriced(fi, edges, kept, comp, row_duals, full_cliques) if row_duals is not None else kept
        if row_duals is not None and violated.any():
            kept = kept | violated
            continue
        selection = np.zeros(len(edges), dtype=bool)
        selection[kept] = local
        if row_duals is None:
            return selection, None, rounds
        # Prices for every node of the component (0 where no kept edge touched it).
        vols, acts = np.unique(vol[edges]), np.unique(act[edges])
        nv, na = len(comp.vols), len(comp.acts)
        u = np.zeros(len(vols))
        y = np.zeros(len(acts))
        u[np.searchsorted(vols, comp.vols)] = row_duals[:nv]
        y[np.searchsorted(acts, comp.acts)] = row_duals[nv : nv + na]
        duals = ComponentDuals(vols=vols, acts=acts, u=u, y=y, cliques=full_cliques, q=row_duals[nv + na :])
        return selection, duals, rounds


def resolve_overlaps(
    fi: FlowInput, priority: I64, cost: I64, start: I64, end: I64, chosen: Mask, keep: Mask | None = None
) -> OverlapOutcome:
    """Make ``chosen`` (an optimum of ``fi``) exactly optimal under the no-overlap rule.

    ``priority`` and ``cost`` are the two objective levels behind ``fi.weight``; ``start``/``end``
    are each edge's activity times. ``keep`` (optional) marks the edges each component is first
    solved on; the others are priced with the LP's duals and join only if they could improve it,
    as in :mod:`matcher.sparsify`. Without it every edge is used from the start.
    """
    vol, act, vol_cap, act_cap = fi.tail, fi.head, fi.left_cap, fi.right_cap
    n_volunteers, n_activities = len(vol_cap), len(act_cap)
    conflicts = conflicting_volunteers(vol, start, end, chosen)
    if len(conflicts) == 0:
        return OverlapOutcome(chosen=chosen, components_resolved=0, lazy_volunteers=0, rounds=0)
    graph = sp.csr_matrix((np.ones(len(vol)), (vol, act + n_volunteers)), shape=(n_volunteers + n_activities,) * 2)
    _, labels = connected_components(graph, directed=False)
    edge_label = labels[vol]
    result = chosen.copy()
    lazy_total = rounds = 0
    duals: list[ComponentDuals] | None = []
    for label in np.unique(labels[conflicts]):
        edges = np.flatnonzero(edge_label == label)
        lazy = {int(v) for v in conflicts[labels[conflicts] == label]}
        kept = (keep[edges] | chosen[edges]) if keep is not None else np.ones(len(edges), dtype=bool)
        local, part, used = _resolve_component(fi, edges, kept, lazy, priority, cost, start, end)
        result[edges] = local
        rounds += used
        lazy_total += len(lazy)
        if duals is not None and part is not None:
            duals.append(part)
        else:
            duals = None
    return OverlapOutcome(
        chosen=result,
        components_resolved=len(np.unique(labels[conflicts])),
        lazy_volunteers=lazy_total,
        rounds=rounds,
        duals=duals,
    )
