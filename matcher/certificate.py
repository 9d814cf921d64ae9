"""LP-dual optimality certificates for the flow problem, computed and checked in exact integers.

For the b-matching LP ``max sum w_e x_e`` subject to ``sum_{e at v} x_e <= k_v``,
``sum_{e at a} x_e <= c_a`` and ``0 <= x_e <= 1``, the dual is
``min sum k_v u_v + sum c_a y_a + sum z_e`` with ``u_v + y_a + z_e >= w_e`` and ``u, y, z >= 0``.
Any dual-feasible ``(u, y, z)`` bounds every solution from above (weak duality), so a selection
whose weight equals the dual objective is optimal. ``z`` is implied by ``(u, y)``:
``z_e = max(0, w_e - u_v - y_a)``.

The duals come from shortest-path distances in the residual network of the selected flow:
compiled label correcting (numba) on large networks, one more OR-Tools min-cost flow on small
ones (where loading the compiled kernel would cost more than it saves). Either way the distances
are checked arc by arc; Bellman-Ford is the fallback, and a negative cycle there means the flow
was not optimal.

When the no-overlap rule needed clique rows (``sum_{e in K} x_e <= 1`` for edges of one volunteer
running at a common moment) and the LP with those rows was integral, its duals extend the
certificate: each row gets a price ``q_K``, edge slacks become
``z_e = max(0, w_e - u_v - y_a - sum_{K contains e} q_K)`` and ``sum q_K`` joins the dual
objective. Prices may then be fractions with a small common denominator; the check multiplies
through and stays in exact integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from matcher.arrays import EDGE_BLOCK
from matcher.errors import SolverError
from matcher.solvers.base import FlowInput
from matcher.solvers.overlap import ComponentDuals

__all__ = ["Cliques", "DualCheck", "StagePrices", "check_duals", "flow_duals", "rational_duals", "residual_arcs"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def residual_arcs(fi: FlowInput, chosen: Mask) -> tuple[I64, I64, I64, int]:
    """The residual network of a selection as ``(tails, heads, costs, n_nodes)`` (costs = -weight).

    Nodes: volunteers ``0..L-1``, activities ``L..L+R-1``, then source and sink. The arcs between
    source and sink let the amount of flow change freely, as the b-matching allows.
    """
    n_left, n_right = len(fi.left_cap), len(fi.right_cap)
    source, sink = n_left + n_right, n_left + n_right + 1
    left = np.arange(n_left, dtype=np.int64)
    right = np.arange(n_right, dtype=np.int64) + n_left
    load_l = np.bincount(fi.tail[chosen], minlength=n_left)
    load_r = np.bincount(fi.head[chosen], minlength=n_right)
    total = int(chosen.sum())
    # With convex load the next step costs load * step and undoing the last saves (load - 1) * step.
    step = fi.left_step if fi.left_step is not None else np.zeros(n_left, dtype=np.int64)
    room, used = load_l < fi.left_cap, load_l > 0
    parts = [
        (np.full(n_left, source)[room], left[room], (load_l * step)[room]),
        (left[used], np.full(n_left, source)[used], (-(load_l - 1) * step)[used]),
        (fi.tail[~chosen], fi.head[~chosen] + n_left, -fi.weight[~chosen]),
        (fi.head[chosen] + n_left, fi.tail[chosen], fi.weight[chosen]),
        (right[load_r < fi.right_cap], np.full(n_right, sink)[load_r < fi.right_cap], 0),
        (np.full(n_right, sink)[load_r > 0], right[load_r > 0], 0),
        (np.array([sink]), np.array([source]), 0),
    ]
    if total > 0:
        parts.append((np.array([source]), np.array([sink]), 0))
    tails = np.concatenate([np.asarray(t, dtype=np.int64) for t, _, _ in parts])
    heads = np.concatenate([np.asarray(h, dtype=np.int64) for _, h, _ in parts])
    costs = np.concatenate([np.broadcast_to(np.asarray(c, dtype=np.int64), (len(t),)) for t, _, c in parts])
    return tails, heads, costs, n_left + n_right + 2


def _distances_by_flow(tails: I64, heads: I64, costs: I64, n_nodes: int) -> I64 | None:
    """Shortest distances from a virtual root (0-cost arcs to every node) with one min-cost flow.

    The root sends one unit to every node over uncapacitated arcs; arcs that carry flow then have
    zero reduced cost, so a breadth-first tree over them carries the exact distances, summed
    along the tree by pointer jumping. This runs at compiled speed where Bellman-Ford, even
    SciPy's, needs thousands of passes on large residual networks. Returns None if the solver
    gives no optimum; the caller checks the distances in any case.
    """
    from ortools.graph.python import min_cost_flow

    root = n_nodes
    all_tails = np.concatenate([tails, np.full(n_nodes, root, dtype=np.int64)])
    all_heads = np.concatenate([heads, np.arange(n_nodes, dtype=np.int64)])
    all_costs = np.concatenate([costs, np.zeros(n_nodes, dtype=np.int64)])
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(
        all_tails.astype(np.int32),
        all_heads.astype(np.int32),
        np.full(len(all_tails), n_nodes + 1, dtype=np.int64),
        all_costs,
    )
    supplies = np.full(n_nodes + 1, -1, dtype=np.int64)
    supplies[root] = n_nodes
    smcf.set_nodes_supplies(np.arange(n_nodes + 1, dtype=np.int32), supplies)
    if smcf.solve() != smcf.OPTIMAL:
        return None
    used = np.asarray(smcf.flows(arcs)) > 0
    t_used, h_used, c_used = all_tails[used], all_heads[used], all_costs[used]
    tree = sp.csr_matrix((np.ones(len(t_used)), (t_used, h_used)), shape=(n_nodes + 1, n_nodes + 1))
    order, pred = breadth_first_order(tree, root, directed=True, return_predecessors=True)
    if len(order) != n_nodes + 1:
        return None
    pred = pred.astype(np.int64)
    pred[root] = root
    keys = t_used * (n_nodes + 1) + h_used
    by_key = np.argsort(keys)
    nodes = np.arange(n_nodes + 1, dtype=np.int64)
    step = np.zeros(n_nodes + 1, dtype=np.int64)
    others = nodes != root
    pos = by_key[np.searchsorted(keys[by_key], pred[others] * (n_nodes + 1) + nodes[others])]
    step[others] = c_used[pos]
    ancestor = pred
    while (moving := ancestor != root).any():
        step[moving] += step[ancestor[moving]]
        ancestor[moving] = ancestor[ancestor[moving]]
    return step[:n_nodes]


def _are_potentials(dist: I64, tails: I64, heads: I64, costs: I64) -> bool:
    """No residual arc has negative reduced cost under ``dist``."""
    return bool((dist[heads] <= dist[tails] + costs).all())


def _shortest_distances(tails: I64, heads: I64, costs: I64, n_nodes: int) -> I64:
    """Bellman-Ford from a virtual root joined to every node at cost 0, relaxing all arcs at once."""
    order = np.argsort(heads, kind="stable")
    tails, heads, costs = tails[order], heads[order], costs[order]
    groups = np.flatnonzero(np.r_[True, heads[1:] != heads[:-1]]) if len(heads) else np.zeros(0, dtype=np.int64)
    targets = heads[groups]
    dist = np.zeros(n_nodes, dtype=np.int64)
    for _ in range(n_nodes + 1):
        best = np.minimum.reduceat(dist[tails] + costs, groups) if len(groups) else groups
        improved = best < dist[targets]
        if not improved.any():
            return dist
        dist[targets[improved]] = best[improved]
    raise SolverError("the backend's flow is not optimal: its residual network has a negative cycle")


#: Residual networks with at least this many arcs get their distances from the compiled kernel.
COMPILED_MIN_ARCS = 20_000


def _residual_distances(fi: FlowInput, chosen: Mask, compiled: bool | None) -> I64:
    """Shortest distances from a virtual root in the residual network of ``chosen``."""
    tails, heads, costs, n_nodes = residual_arcs(fi, chosen)
    if compiled if compiled is not None else len(tails) >= COMPILED_MIN_ARCS:
        from matcher.solvers._kernels import label_correcting

        dist = label_correcting(tails, heads, costs, n_nodes)
    else:
        dist = _distances_by_flow(tails, heads, costs, n_nodes)
    if dist is None or not _are_potentials(dist, tails, heads, costs):
        # Bellman-Ford settles it either way: potentials, or proof of a negative cycle.
        dist = _shortest_distances(tails, heads, costs, n_nodes)
    return dist


def flow_duals(
    fi: FlowInput, chosen: Mask, *, compiled: bool | None = None, within: Mask | None = None
) -> tuple[I64, I64]:
    """Dual prices ``(u per volunteer, y per activity)`` proving ``chosen`` optimal.

    ``compiled`` forces (True) or avoids (False) the numba kernel; by default it is used from
    :data:`COMPILED_MIN_ARCS` residual arcs on. ``within`` (e.g. the edges of a sparsified
    solve's last round) is where the distances are first computed, with the chosen edges; every
    other edge is then checked in one pass, and any that would shorten a path joins and the
    distances are computed again. An edge that shortens no path changes no distance, so the
    prices are exactly those of the whole network, from a residual network a fraction of its
    size. Raises :class:`~matcher.errors.SolverError` if ``chosen`` is not an optimal selection.
    """
    from matcher.solvers.pricing import violations

    n_left, n_right = len(fi.left_cap), len(fi.right_cap)
    if within is None:
        dist = _residual_distances(fi, chosen, compiled)
    else:
        inside = within | chosen
        while True:
            idx = np.flatnonzero(inside)
            sub = FlowInput(fi.left_cap, fi.right_cap, fi.tail[idx], fi.head[idx], fi.weight[idx], fi.left_step)
            dist = _residual_distances(sub, chosen[idx], compiled)
            # Each edge left out is unchosen: its residual arc runs volunteer -> activity at
            # -weight, and shortens a path where weight > dist[volunteer] - dist[activity].
            shorter, _ = violations(
                fi.tail, fi.head, fi.weight, inside, dist[:n_left], -dist[n_left : n_left + n_right]
            )
            if len(shorter) == 0:
                break
            inside[shorter] = True
    d_source = dist[n_left + n_right]
    u = np.maximum(dist[:n_left] - d_source, 0)
    y = np.maximum(d_source - dist[n_left : n_left + n_right], 0)
    return u.astype(np.int64), y.astype(np.int64)


@dataclass(frozen=True, eq=False)
class Cliques:
    """No-overlap rows of a certificate, each priced.

    Edges ``members[ptr[k]:ptr[k + 1]]`` belong to one volunteer and run at a common moment, so at
    most one of them can be chosen; row ``k`` is priced ``price[k]``.
    """

    ptr: I64
    members: I64
    price: I64

    def coverage(self, n_edges: int) -> I64:
        """Per edge, the summed price of the rows that contain it."""
        out = np.zeros(n_edges, dtype=np.int64)
        np.add.at(out, self.members, np.repeat(self.price, np.diff(self.ptr)))
        return out


@dataclass(frozen=True)
class DualCheck:
    """Outcome of checking a dual certificate, in exact integers.

    ``dual`` is the dual objective times ``denominator`` (prices may be fractions k/denominator).
    """

    primal: int
    dual: int
    feasible_duals: bool
    denominator: int = 1

    @property
    def proves_optimal(self) -> bool:
        """True when the duals are feasible and close the gap."""
        return self.feasible_duals and self.primal * self.denominator == self.dual


@dataclass(frozen=True, eq=False)
class StagePrices:
    """The proven-optimal prices of one stage of a lexicographic solve (:mod:`matcher.lexicographic`).

    ``levels`` names the objective levels the stage folded; ``dual`` is its dual objective.
    """

    levels: tuple[str, ...]
    u: I64
    y: I64
    dual: int


def _magnitude(values: npt.NDArray[np.int64]) -> int:
    """The largest absolute value, as a Python integer (``abs`` of int64's minimum overflows)."""
    return max(int(values.max(initial=0)), -int(values.min(initial=0)))


def _exact_sum(values: npt.NDArray[np.int64], factors: npt.NDArray[np.int64] | None = None) -> int:
    # Prices times capacities can exceed int64: multiply and sum as Python integers, unless the
    # bound below says int64 is exact (converting 35M slacks to Python integers took ~2 s at L).
    if len(values) == 0:
        return 0
    if values.dtype == np.int64 and (factors is None or factors.dtype == np.int64):
        bound = _magnitude(values) * (1 if factors is None else _magnitude(factors))
        if bound * len(values) < 2**63:
            return int(values.sum() if factors is None else (values * factors).sum())
    exact = values.astype(object)
    if factors is not None:
        exact = exact * factors.astype(object)
    return int(exact.sum())


def _left_dual(fi: FlowInput, u: I64, denominator: int) -> int:
    """The volunteers' share of the dual objective, exactly, scaled by ``denominator``.

    ``sum_k max(0, u_v - (k - 1) * step_v)`` over each volunteer's load steps; ``capacity * u_v``
    without steps.
    """
    if fi.left_step is None:
        return _exact_sum(fi.left_cap, u)
    n, _ = fi.step_bounds(u, denominator)
    n_o, u_o = n.astype(object), u.astype(object)
    step = fi.left_step.astype(object) * denominator
    return int((n_o * u_o - step * n_o * (n_o - 1) // 2).sum())


def check_duals(
    fi: FlowInput, chosen: Mask, u: I64, y: I64, cliques: Cliques | None = None, denominator: int = 1
) -> DualCheck:
    """Check weak duality exactly: compare ``chosen``'s weight with the dual objective of the prices.

    Prices are ``u / denominator`` per volunteer, ``y / denominator`` per activity and, if given,
    ``cliques.price / denominator`` per no-overlap row; each edge's slack ``z_e`` is implied.
    """
    primal = fi.objective(chosen)
    prices = [u, y] if cliques is None else [u, y, cliques.price]
    sizes_ok = len(u) == len(fi.left_cap) and len(y) == len(fi.right_cap)
    if not sizes_ok or denominator < 1 or any(bool((p < 0).any()) for p in prices):
        return DualCheck(primal=primal, dual=0, feasible_duals=False, denominator=max(denominator, 1))
    largest = max([int(np.abs(p).max(initial=0)) for p in prices] + [int(fi.weight.max(initial=0)) * denominator])
    # Exact in int64 while every per-edge sum stays far from overflow; Python integers otherwise.
    dtype: type = np.int64 if largest < 2**59 else object
    u_d: npt.NDArray[Any] = u.astype(dtype)
    y_d: npt.NDArray[Any] = y.astype(dtype)
    coverage: npt.NDArray[Any] | None = cliques.coverage(len(fi.tail)).astype(dtype) if cliques is not None else None
    dual = _left_dual(fi, u, denominator) + _exact_sum(fi.right_cap, y)
    # The edges' implied slacks z_e, in blocks: whole-length temporaries cost ~1 GB at 35M edges.
    for lo in range(0, len(fi.tail), EDGE_BLOCK):
        hi = lo + EDGE_BLOCK
        covered: npt.NDArray[Any] = u_d[fi.tail[lo:hi]] + y_d[fi.head[lo:hi]]
        if coverage is not None:
            covered = covered + coverage[lo:hi]
        dual += _exact_sum(np.asarray(np.maximum(fi.weight[lo:hi].astype(dtype) * denominator - covered, 0)))
    if cliques is not None:
        dual += _exact_sum(cliques.price)
    return DualCheck(primal=primal, dual=dual, feasible_duals=True, denominator=denominator)


_DENOMINATORS = (1, 2, 3, 4, 6, 8, 12, 24)


def rational_duals(u_flow: I64, y_flow: I64, parts: Sequence[ComponentDuals]) -> tuple[int, I64, I64, Cliques] | None:
    """Turn HiGHS' float duals of re-solved components into exact rational prices.

    The flow prices stand for every other component. Returns ``(denominator, u, y, cliques)``
    with all prices scaled by the denominator, or None if no small denominator fits.
    """
    floats = np.concatenate([np.concatenate([p.u, p.y, p.q]) for p in parts]) if parts else np.zeros(0)
    for denominator in _DENOMINATORS:
        scaled = floats * denominator
        if np.all(np.abs(scaled - np.rint(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            break
    else:
        return None

    def exact(values: npt.NDArray[np.float64]) -> I64:
        return np.maximum(np.rint(values * denominator), 0).astype(np.int64)

    u, y = u_flow * denominator, y_flow * denominator
    members: list[I64] = []
    price: list[I64] = []
    for part in parts:
        u[part.vols] = exact(part.u)
        y[part.acts] = exact(part.y)
        members += part.cliques
        price.append(exact(part.q))
    ptr = np.zeros(len(members) + 1, dtype=np.int64)
    np.cumsum([len(m) for m in members], out=ptr[1:])
    cliques = Cliques(
        ptr=ptr,
        members=np.concatenate(members) if members else np.zeros(0, dtype=np.int64),
        price=np.concatenate(price) if price else np.zeros(0, dtype=np.int64),
    )
    return denominator, u, y, cliques
