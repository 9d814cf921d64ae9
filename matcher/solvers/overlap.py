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
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from numba import njit
from scipy.sparse.csgraph import connected_components

from matcher.arrays import Ids
from matcher.errors import SolverError
from matcher.solvers.base import FLOAT_EXACT, FlowInput

if TYPE_CHECKING:
    from scipy.optimize import LinearConstraint

__all__ = [
    "ComponentDuals",
    "OverlapOutcome",
    "clashes_with_chosen",
    "clique_rows",
    "conflicting_volunteers",
    "free_edges",
    "resolve_overlaps",
]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

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


@njit(cache=True, nogil=True)
def _clashes(
    vol: Ids, act: Ids, start: I64, end: I64, chosen: Mask, most: I64, clash: Mask, free: Mask
) -> None:  # pragma: no cover - compiled
    n = len(vol)
    i = 0
    while i < n:
        j, held = i, 0
        while j < n and vol[j] == vol[i]:
            held += chosen[j]
            j += 1
        # A volunteer's few held edges against each of their edges, in place.
        for h in range(i, j):
            if chosen[h]:
                for e in range(i, j):
                    if start[act[h]] < end[act[e]] and start[act[e]] < end[act[h]]:
                        clash[e] = True
        room = held < most[vol[i]]
        for e in range(i, j):
            free[e] = room and not chosen[e] and not clash[e]
        i = j


def clashes_with_chosen(vol: Ids, start: I64, end: I64, chosen: Mask) -> Mask:
    """Per edge, whether its activity overlaps one its volunteer holds in ``chosen``.

    ``vol`` must be sorted (edges grouped by volunteer); ``start`` and ``end`` are per edge; a
    chosen edge overlaps itself. One compiled pass over each volunteer's edges: the vectorised
    form took one pass per held assignment with edge-length temporaries each (4.5 s at 35M edges).
    """
    clash = np.zeros(len(vol), dtype=bool)
    most = np.zeros(int(vol.max(initial=-1)) + 1, dtype=np.int64)
    _clashes(vol, np.arange(len(vol)), start, end, chosen, most, clash, np.empty(len(vol), dtype=bool))
    return clash


def free_edges(vol: Ids, act: Ids, act_start: I64, act_end: I64, chosen: Mask, most: I64) -> tuple[Mask, Mask]:
    """Per edge: whether it clashes with its volunteer's chosen edges, and whether it is free.

    Free: unused, no clash, and its volunteer holds fewer than ``most`` (per volunteer)
    activities. Times are per activity (``act`` gives each edge's): the per-edge copies and the
    per-edge load lookups of the vectorised form were 3 s of a 300k pool's recommendation index.
    """
    clash = np.zeros(len(vol), dtype=bool)
    free = np.empty(len(vol), dtype=bool)
    _clashes(vol, act, act_start, act_end, chosen, np.asarray(most, dtype=np.int64), clash, free)
    return clash, free


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


def clique_rows(edge_ids: I64, start: I64, end: I64) -> list[I64]:
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


@dataclass(frozen=True, eq=False)
class _Component:
    """One connected component's edges and the constraint rows shared by every round.

    Columns are the edges, then (with convex load) one step variable per volunteer load step,
    priced ``step_cost``; a volunteer's row then reads ``edges - steps <= 0``.
    """

    edges: I64
    vols: I64
    acts: I64
    rows: I64
    cols: I64
    vals: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    n_rows: int
    step_cost: I64

    @property
    def n_cols(self) -> int:
        """Edges plus step variables."""
        return len(self.edges) + len(self.step_cost)


def _base_rows(fi: FlowInput, edges: I64) -> _Component:
    vol, act = fi.tail, fi.head
    local = np.arange(len(edges))
    vols, v_row = np.unique(vol[edges], return_inverse=True)
    acts, a_row = np.unique(act[edges], return_inverse=True)
    rows, cols = [v_row, a_row + len(vols)], [local, local]
    vals = [np.ones(2 * len(edges))]
    vol_upper = fi.left_cap[vols]
    step_cost = np.zeros(0, dtype=np.int64)
    if fi.left_step is not None:
        # A component holds all of its volunteers' edges, so their step counts are unchanged.
        steps = fi.left_steps[vols]
        owner = np.repeat(np.arange(len(vols)), steps)
        k = np.arange(len(owner)) - np.repeat(np.cumsum(steps) - steps, steps)
        step_cost = k * fi.left_step[vols][owner]
        rows.append(owner)
        cols.append(len(edges) + np.arange(len(owner)))
        vals.append(-np.ones(len(owner)))
        vol_upper = np.zeros(len(vols), dtype=np.int64)
    return _Component(
        edges=edges,
        vols=vols,
        acts=acts,
        rows=np.concatenate(rows),
        cols=np.concatenate(cols),
        vals=np.concatenate(vals),
        upper=np.concatenate([vol_upper, fi.right_cap[acts]]).astype(np.float64),
        n_rows=len(vols) + len(acts),
        step_cost=step_cost.astype(np.int64),
    )


def _with_cliques(
    comp: _Component, vol: I64, start: I64, end: I64, lazy: set[int]
) -> tuple[LinearConstraint, list[I64]]:
    """The component's rows plus clique rows for ``lazy``; also the cliques (local edge ids)."""
    from scipy.optimize import LinearConstraint  # scipy.optimize takes 0.35 s to import: only when needed

    rows, cols, vals, n_rows = [comp.rows], [comp.cols], [comp.vals], comp.n_rows
    local = np.arange(len(comp.edges))
    e_vol, e_start, e_end = vol[comp.edges], start[comp.edges], end[comp.edges]
    cliques: list[I64] = []
    for v in sorted(lazy):
        for members in clique_rows(local[e_vol == v], e_start, e_end):
            rows.append(np.full(len(members), n_rows))
            cols.append(members)
            vals.append(np.ones(len(members)))
            cliques.append(members)
            n_rows += 1
    upper = np.concatenate([comp.upper, np.ones(n_rows - comp.n_rows)])
    r, c = np.concatenate(rows), np.concatenate(cols)
    matrix = sp.csr_matrix((np.concatenate(vals), (r, c)), shape=(n_rows, comp.n_cols))
    return LinearConstraint(matrix, -np.inf, upper), cliques


def _integral(x: npt.NDArray[np.float64] | None) -> Mask | None:
    if x is None or np.abs(x - np.rint(x)).max(initial=0.0) > 1e-6:
        return None
    chosen: Mask = np.rint(x) > 0.5
    return chosen


def _solve_round(
    rows: LinearConstraint, weight: I64 | None, priority: I64, cost: I64
) -> tuple[Mask, npt.NDArray[np.float64] | None]:
    """Exact optimum of one relaxation round (flow rows plus the lazy clique rows).

    Returns the selection and, when the LP settled it, the LP's row duals (a certificate).
    ``weight`` None: there is no combined weight, the two levels are solved one after the other.
    """
    from scipy.optimize import Bounds, LinearConstraint, linprog, milp

    n = len(priority)
    if weight is not None and int(np.abs(weight).sum()) < FLOAT_EXACT:
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


def resolve_overlaps(
    fi: FlowInput, priority: Ids, cost: I64, act_start: I64, act_end: I64, chosen: Mask, *, combined: bool = True
) -> OverlapOutcome:
    """Make ``chosen`` (an optimum of ``fi``) exactly optimal under the no-overlap rule.

    ``priority`` and ``cost`` are the two objective levels behind ``fi.weight``;
    ``act_start``/``act_end`` are each activity's times (indexed by ``fi.head``). With
    ``combined=False`` ``fi.weight`` is not their fold (a staged solve's last stage): components
    are then re-solved level by level, and no LP duals are returned.
    """
    vol, act, weight = fi.tail, fi.head, fi.weight
    n_volunteers, n_activities = len(fi.left_cap), len(fi.right_cap)
    held = np.flatnonzero(chosen)
    held_act = act[held]
    conflicts = conflicting_volunteers(
        vol[held], act_start[held_act], act_end[held_act], np.ones(len(held), dtype=np.bool_)
    )
    if len(conflicts) == 0:
        return OverlapOutcome(chosen=chosen, components_resolved=0, lazy_volunteers=0, rounds=0)
    # Edge-length times only on this rare path: two 280 MB gathers at 35M edges otherwise.
    start, end = act_start[act], act_end[act]
    graph = sp.csr_matrix((np.ones(len(vol)), (vol, act + n_volunteers)), shape=(n_volunteers + n_activities,) * 2)
    _, labels = connected_components(graph, directed=False)
    edge_label = labels[vol]
    result = chosen.copy()
    lazy_total = rounds = 0
    duals: list[ComponentDuals] | None = []
    for label in np.unique(labels[conflicts]):
        edges = np.flatnonzero(edge_label == label)
        comp = _base_rows(fi, edges)
        lazy = {int(v) for v in conflicts[labels[conflicts] == label]}
        # Step variables join the objective's lower level: they cost, they carry no priority.
        steps = comp.step_cost
        col_weight = np.concatenate([weight[edges], -steps]) if combined else None
        col_priority = np.concatenate([priority[edges], np.zeros(len(steps), dtype=np.int64)])
        col_cost = np.concatenate([cost[edges], steps])
        while True:
            rounds += 1
            rows, cliques = _with_cliques(comp, vol, start, end, lazy)
            columns, row_duals = _solve_round(rows, col_weight, col_priority, col_cost)
            local = columns[: len(edges)]
            new = conflicting_volunteers(vol[edges], start[edges], end[edges], local)
            if len(new) == 0:
                break
            fresh = {int(v) for v in new} - lazy
            if not fresh:
                raise SolverError("HiGHS returned a solution that breaks its own no-overlap constraints")
            lazy |= fresh
        result[edges] = local
        lazy_total += len(lazy)
        if duals is not None and row_duals is not None:
            nv, na = len(comp.vols), len(comp.acts)
            duals.append(
                ComponentDuals(
                    vols=comp.vols,
                    acts=comp.acts,
                    u=row_duals[:nv],
                    y=row_duals[nv : nv + na],
                    cliques=[edges[members] for members in cliques],
                    q=row_duals[nv + na :],
                )
            )
        else:
            duals = None
    return OverlapOutcome(
        chosen=result,
        components_resolved=len(np.unique(labels[conflicts])),
        lazy_volunteers=lazy_total,
        rounds=rounds,
        duals=duals,
    )
