"""The integer program of the menu rules, as sparse rows over the edges of the components they touch.

Columns, in order: one binary ``x`` per edge; with convex load, continuous load steps per
volunteer (as in the flow network); one binary ``z`` per (edge, role the volunteer fits); one
binary ``y`` per activity that has a minimum ("runs"). Rows:

* volunteer capacity (``sum x - sum steps <= 0`` with load steps) and activity capacity;
* roles: ``sum_r z[e, r] = x[e]``; per role ``sum z <= count`` and ``sum z >= min * y``;
  a ratio ``per * sum z[lead] - sum z[of] >= 0``;
* minimum staffing: ``x[e] <= y[a]`` and ``sum x >= min_volunteers * y[a]``;
* hours: ``sum duration * x <= max_hours`` per volunteer, and per volunteer and local day,
  in integer units (microseconds divided by their common divisor, so the rows are exact);
* together: equal ``x`` for every member at an activity all members may take (else all 0);
  apart: ``x[u, a] + x[v, a] <= 1``;
* no overlap (with rest): clique rows, added for the volunteers whose plans broke it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from matcher.candidates import role_options
from matcher.problem import Problem
from matcher.rules import NO_LIMIT, edges_of
from matcher.solvers.base import FlowInput
from matcher.solvers.overlap import clique_rows

__all__ = ["RulesModel", "build_model", "component_edges"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


def component_edges(p: Problem, fi: FlowInput) -> I64:
    """Edges of the connected components that hold an activity or a volunteer with a rule."""
    rules = p.rules
    vol, act = fi.tail.astype(np.int64), fi.head.astype(np.int64)
    touched = rules.act_needs_program[act] | rules.vol_needs_program[vol]
    if not touched.any():
        return np.zeros(0, dtype=np.int64)
    n_v, n_a = p.n_volunteers, p.n_activities
    graph = sp.csr_matrix((np.ones(len(vol)), (vol, act + n_v)), shape=(n_v + n_a,) * 2)
    _, labels = connected_components(graph, directed=False)
    hit = np.zeros(labels.max(initial=0) + 1, dtype=bool)
    hit[labels[vol[touched]]] = True
    return np.flatnonzero(hit[labels[vol]]).astype(np.int64)


class _Rows:
    """COO triplets and bounds, appended row block by row block."""

    def __init__(self) -> None:
        self.r: list[I64] = []
        self.c: list[I64] = []
        self.v: list[F64] = []
        self.lower: list[F64] = []
        self.upper: list[F64] = []
        self.n = 0

    def add(self, row: I64, col: I64, val: F64 | float, lower: F64 | float, upper: F64 | float, n_rows: int) -> None:
        self.r.append(np.asarray(row, dtype=np.int64) + self.n)
        self.c.append(np.asarray(col, dtype=np.int64))
        self.v.append(np.broadcast_to(np.asarray(val, dtype=np.float64), (len(self.r[-1]),)).copy())
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=np.float64), (n_rows,)).copy())
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=np.float64), (n_rows,)).copy())
        self.n += n_rows


@dataclass(frozen=True, eq=False)
class RulesModel:
    """One program: sparse rows, column bounds and the objective levels per column."""

    edges: I64
    vols: I64
    acts: I64
    matrix: sp.csr_matrix
    row_lower: F64
    row_upper: F64
    col_lower: F64
    col_upper: F64
    integrality: npt.NDArray[np.int32]
    weight: I64
    priority: I64
    cost: I64
    n_steps: int
    z_edge: I64
    z_role: I64
    y_act: I64

    @property
    def z_cols(self) -> slice:
        """Columns of the role choices."""
        start = len(self.edges) + self.n_steps
        return slice(start, start + len(self.z_edge))

    @property
    def y_cols(self) -> slice:
        """Columns of the "activity runs" switches."""
        start = len(self.edges) + self.n_steps + len(self.z_edge)
        return slice(start, start + len(self.y_act))

    def value(self, columns: Mask) -> int:
        """The exact combined weight of a plan (load steps included)."""
        return int(self.weight[columns].astype(object).sum())

    def keeps_rules(self, columns: Mask) -> bool:
        """Whether a 0/1 plan meets every row (exact: entries and bounds are integers)."""
        if (columns & (self.col_upper < 0.5)).any():
            return False
        lhs = self.matrix @ columns.astype(np.float64)
        return bool(np.all(lhs >= self.row_lower - 1e-9) and np.all(lhs <= self.row_upper + 1e-9))


def _gcd(values: I64) -> int:
    return int(reduce(np.gcd, values.tolist(), 0)) or 1


def build_model(
    p: Problem, fi: FlowInput, priority: I64, cost: I64, busy_end: I64, edges: I64, lazy: set[int]
) -> RulesModel:
    """The program over ``edges`` (whole components), with clique rows for the ``lazy`` volunteers."""
    rules = p.rules
    vol, act = fi.tail[edges].astype(np.int64), fi.head[edges].astype(np.int64)
    n_x = len(edges)
    local = np.arange(n_x, dtype=np.int64)
    vols, v_row = np.unique(vol, return_inverse=True)
    acts, a_row = np.unique(act, return_inverse=True)
    rows = _Rows()
    col_upper = [np.ones(n_x)]

    # Load steps exactly as in the flow network: step k of a volunteer costs k * step.
    n_s = 0
    step_cost = np.zeros(0, dtype=np.int64)
    if fi.left_step is not None:
        steps = fi.left_steps[vols]
        owner = np.repeat(np.arange(len(vols)), steps)
        k = np.arange(len(owner)) - np.repeat(np.cumsum(steps) - steps, steps)
        step_cost = (k * fi.left_step[vols][owner]).astype(np.int64)
        n_s = len(owner)
        rows.add(
            np.r_[v_row, owner],
            np.r_[local, n_x + np.arange(n_s)],
            np.r_[np.ones(n_x), -np.ones(n_s)],
            -np.inf,
            0.0,
            len(vols),
        )
        col_upper.append(np.ones(n_s))
    else:
        rows.add(v_row, local, 1.0, -np.inf, fi.left_cap[vols].astype(np.float64), len(vols))
    rows.add(a_row, local, 1.0, -np.inf, fi.right_cap[acts].astype(np.float64), len(acts))

    # Roles.
    with_roles = np.flatnonzero(rules.act_has_roles[act])
    pair, z_role = role_options(p, vol[with_roles], act[with_roles])
    z_edge = with_roles[pair]
    n_z = len(z_edge)
    z0 = n_x + n_s
    link_row = np.searchsorted(with_roles, z_edge)
    rows.add(
        np.r_[link_row, np.arange(len(with_roles))],
        np.r_[z0 + np.arange(n_z), with_roles],
        np.r_[np.ones(n_z), -np.ones(len(with_roles))],
        0.0,
        0.0,
        len(with_roles),
    )
    col_upper.append(np.ones(n_z))
    roles_here = np.unique(z_role)
    r_row = np.searchsorted(roles_here, z_role)
    rows.add(r_row, z0 + np.arange(n_z), 1.0, -np.inf, rules.role_count[roles_here].astype(np.float64), len(roles_here))

    # "Runs" switches for activities with a minimum (their own, or a role's).
    role_act, has_min = rules.role_act, rules.act_has_minimum
    y_act = acts[has_min[acts]]
    y0 = z0 + n_z
    at_y = np.flatnonzero(has_min[act])
    y_of = y0 + np.searchsorted(y_act, act[at_y])
    rows.add(
        np.r_[np.arange(len(at_y)), np.arange(len(at_y))],
        np.r_[at_y, y_of],
        np.r_[np.ones(len(at_y)), -np.ones(len(at_y))],
        -np.inf,
        0.0,
        len(at_y),
    )
    least = rules.act_min_volunteers[y_act]
    at_min = np.flatnonzero(least[np.searchsorted(y_act, act[at_y])] > 0)
    min_acts = y_act[least > 0]
    m_row = np.searchsorted(min_acts, act[at_y[at_min]])
    rows.add(
        np.r_[m_row, np.arange(len(min_acts))],
        np.r_[at_y[at_min], y0 + np.searchsorted(y_act, min_acts)],
        np.r_[np.ones(len(at_min)), -rules.act_min_volunteers[min_acts].astype(np.float64)],
        0.0,
        np.inf,
        len(min_acts),
    )
    role_mins = roles_here[rules.role_min[roles_here] > 0]
    # A role nobody here can fill still needs its minimum: such an activity can never run.
    all_role_mins = np.flatnonzero((rules.role_min > 0) & np.isin(role_act, acts))
    n_rm = len(all_role_mins)
    zr = np.flatnonzero(np.isin(z_role, role_mins))
    rows.add(
        np.r_[np.searchsorted(all_role_mins, z_role[zr]), np.arange(n_rm)],
        np.r_[z0 + zr, y0 + np.searchsorted(y_act, role_act[all_role_mins])],
        np.r_[np.ones(len(zr)), -rules.role_min[all_role_mins].astype(np.float64)],
        0.0,
        np.inf,
        n_rm,
    )
    ratios = np.flatnonzero(np.isin(rules.ratio_act, acts))
    for q in ratios.tolist():
        lead, of = np.flatnonzero(z_role == rules.ratio_lead[q]), np.flatnonzero(z_role == rules.ratio_of[q])
        rows.add(
            np.zeros(len(lead) + len(of), dtype=np.int64),
            z0 + np.r_[lead, of],
            np.r_[np.full(len(lead), float(rules.ratio_per[q])), -np.ones(len(of))],
            0.0,
            np.inf,
            1,
        )

    # Hours over the horizon and per local day, in exact integer units.
    duration = (p.act_end - p.act_start)[act]
    capped = np.flatnonzero(rules.vol_max_micros[vol] < NO_LIMIT)
    if len(capped):
        unit = _gcd(np.r_[duration[capped], rules.vol_max_micros[np.unique(vol[capped])]])
        h_vols, h_row = np.unique(vol[capped], return_inverse=True)
        rows.add(
            h_row,
            capped,
            (duration[capped] // unit).astype(np.float64),
            -np.inf,
            (rules.vol_max_micros[h_vols] // unit).astype(np.float64),
            len(h_vols),
        )
    daily = np.flatnonzero(rules.vol_max_micros_day[vol] < NO_LIMIT)
    if len(daily):
        n_days = np.diff(rules.day_ptr)[act[daily]]
        e = np.repeat(daily, n_days)
        pos = rules.day_ptr[act[e]] + np.arange(len(e)) - np.repeat(np.cumsum(n_days) - n_days, n_days)
        day, micros = rules.day_index[pos], rules.day_micros[pos]
        limit = rules.vol_max_micros_day[vol[e]]
        unit = _gcd(np.r_[micros, np.unique(limit)])
        keys = np.stack([vol[e], day])
        groups, g_row = np.unique(keys, axis=1, return_inverse=True)
        rows.add(
            g_row.ravel(),
            e,
            (micros // unit).astype(np.float64),
            -np.inf,
            (rules.vol_max_micros_day[groups[0]] // unit).astype(np.float64),
            groups.shape[1],
        )

    # Together and apart, per activity the members share (edges are sorted by volunteer).
    key = vol.astype(np.int64) * np.int64(p.n_activities) + act
    for g in range(len(rules.together_ptr) - 1):
        members = rules.together_vol[rules.together_ptr[g] : rules.together_ptr[g + 1]]
        mine = edges_of(vol, members)
        if len(mine) == 0:
            continue
        shared, counts = np.unique(act[mine], return_counts=True)
        partial = np.isin(act[mine], shared[counts < len(members)])
        col_upper[0][mine[partial]] = 0.0
        others = mine[~partial & (vol[mine] != members[0])]
        lead = np.searchsorted(key, np.int64(members[0]) * np.int64(p.n_activities) + act[others])
        n = len(others)
        rows.add(np.r_[np.arange(n), np.arange(n)], np.r_[others, lead], np.r_[np.ones(n), -np.ones(n)], 0.0, 0.0, n)
    for u, w in zip(rules.apart_a.tolist(), rules.apart_b.tolist(), strict=True):
        eu, ew = edges_of(vol, np.array([u])), edges_of(vol, np.array([w]))
        both = np.intersect1d(act[eu], act[ew])
        n = len(both)
        if n:
            pair_cols = np.r_[eu[np.searchsorted(act[eu], both)], ew[np.searchsorted(act[ew], both)]]
            rows.add(np.r_[np.arange(n), np.arange(n)], pair_cols, 1.0, -np.inf, 1.0, n)

    # No overlap (with rest) for the volunteers whose plans broke it.
    start = p.act_start[act]
    for v in sorted(lazy):
        for members in clique_rows(local[vol == v], start, busy_end[edges]):
            rows.add(np.zeros(len(members), dtype=np.int64), members, 1.0, -np.inf, 1.0, 1)

    n_cols = y0 + len(y_act)
    col_upper.append(np.ones(len(y_act)))
    matrix = sp.csr_matrix(
        (np.concatenate(rows.v), (np.concatenate(rows.r), np.concatenate(rows.c))), shape=(rows.n, n_cols)
    )
    integrality = np.ones(n_cols, dtype=np.int32)
    integrality[n_x : n_x + n_s] = 0
    zeros = np.zeros(n_cols - n_x - n_s, dtype=np.int64)
    return RulesModel(
        edges=edges,
        vols=vols,
        acts=acts,
        matrix=matrix,
        row_lower=np.concatenate(rows.lower),
        row_upper=np.concatenate(rows.upper),
        col_lower=np.zeros(n_cols),
        col_upper=np.concatenate(col_upper),
        integrality=integrality,
        weight=np.concatenate([fi.weight[edges], -step_cost, zeros]),
        priority=np.concatenate([priority[edges], np.zeros(n_s, dtype=np.int64), zeros]),
        cost=np.concatenate([cost[edges], step_cost, zeros]),
        n_steps=n_s,
        z_edge=z_edge,
        z_role=z_role,
        y_act=y_act,
    )
