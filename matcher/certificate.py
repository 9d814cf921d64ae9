"""LP-dual optimality certificates for the flow problem, computed and checked in exact integers.

For the b-matching LP ``max sum w_e x_e`` subject to ``sum_{e at v} x_e <= k_v``,
``sum_{e at a} x_e <= c_a`` and ``0 <= x_e <= 1``, the dual is
``min sum k_v u_v + sum c_a y_a + sum z_e`` with ``u_v + y_a + z_e >= w_e`` and ``u, y, z >= 0``.
Any dual-feasible ``(u, y, z)`` bounds every solution from above (weak duality), so a selection
whose weight equals the dual objective is optimal. ``z`` is implied by ``(u, y)``:
``z_e = max(0, w_e - u_v - y_a)``.

The duals come from shortest-path distances in the residual network of the selected flow
(vectorised Bellman-Ford); a negative cycle there means the flow was not optimal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.errors import SolverError
from matcher.solvers.base import FlowInput

__all__ = ["DualCheck", "check_duals", "flow_duals"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def _residual_arcs(fi: FlowInput, chosen: Mask) -> tuple[I64, I64, I64, int]:
    n_left, n_right = len(fi.left_cap), len(fi.right_cap)
    source, sink = n_left + n_right, n_left + n_right + 1
    left = np.arange(n_left, dtype=np.int64)
    right = np.arange(n_right, dtype=np.int64) + n_left
    load_l = np.bincount(fi.tail[chosen], minlength=n_left)
    load_r = np.bincount(fi.head[chosen], minlength=n_right)
    total = int(chosen.sum())
    parts = [
        (np.full(n_left, source)[load_l < fi.left_cap], left[load_l < fi.left_cap], 0),
        (left[load_l > 0], np.full(n_left, source)[load_l > 0], 0),
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


def flow_duals(fi: FlowInput, chosen: Mask) -> tuple[I64, I64]:
    """Dual prices ``(u per volunteer, y per activity)`` proving ``chosen`` optimal.

    Raises :class:`~matcher.errors.SolverError` if ``chosen`` is not an optimal selection.
    """
    tails, heads, costs, n_nodes = _residual_arcs(fi, chosen)
    dist = _shortest_distances(tails, heads, costs, n_nodes)
    n_left, n_right = len(fi.left_cap), len(fi.right_cap)
    d_source = dist[n_left + n_right]
    u = np.maximum(dist[:n_left] - d_source, 0)
    y = np.maximum(d_source - dist[n_left : n_left + n_right], 0)
    return u.astype(np.int64), y.astype(np.int64)


@dataclass(frozen=True)
class DualCheck:
    """Outcome of checking a dual certificate: both objectives, in exact integers."""

    primal: int
    dual: int
    feasible_duals: bool

    @property
    def proves_optimal(self) -> bool:
        """True when the duals are feasible and close the gap."""
        return self.feasible_duals and self.primal == self.dual


def _exact_sum(values: npt.NDArray[np.int64], factors: npt.NDArray[np.int64] | None = None) -> int:
    # Prices times capacities can exceed int64: multiply and sum as Python integers.
    if len(values) == 0:
        return 0
    exact = values.astype(object)
    if factors is not None:
        exact = exact * factors.astype(object)
    return int(exact.sum())


def check_duals(fi: FlowInput, chosen: Mask, u: I64, y: I64) -> DualCheck:
    """Check weak duality exactly: compare ``chosen``'s weight with the dual objective of ``(u, y)``."""
    ok = bool((u >= 0).all() and (y >= 0).all()) and len(u) == len(fi.left_cap) and len(y) == len(fi.right_cap)
    if not ok:
        return DualCheck(primal=_exact_sum(fi.weight[chosen]), dual=0, feasible_duals=False)
    z = np.maximum(fi.weight - u[fi.tail] - y[fi.head], 0)
    dual = _exact_sum(fi.left_cap, u) + _exact_sum(fi.right_cap, y) + _exact_sum(z)
    return DualCheck(primal=_exact_sum(fi.weight[chosen]), dual=dual, feasible_duals=True)
