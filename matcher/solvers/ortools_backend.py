"""OR-Tools ``SimpleMinCostFlow``: the default backend (cost scaling push-relabel, compiled C++)."""

from __future__ import annotations

import numpy as np

from matcher.errors import SolverError
from matcher.solvers.base import FlowInput, Mask

__all__ = ["solve_ortools"]


def solve_ortools(fi: FlowInput) -> Mask:
    """Solve the b-matching as a min-cost circulation with OR-Tools.

    Network: source -> volunteer (capacity = max activities, or one arc per load step costing
    ``(k - 1) * left_step`` when load is convex), volunteer -> activity (capacity 1,
    cost = -weight), activity -> sink (capacity = places), sink -> source (free). With zero
    supplies the optimum circulation takes exactly the profitable assignments.
    """
    from ortools.graph.python import min_cost_flow

    n_left, n_right = len(fi.left_cap), len(fi.right_cap)
    if len(fi.tail) == 0:
        return np.zeros(0, dtype=bool)
    source, sink = n_left + n_right, n_left + n_right + 1
    right = np.arange(n_right, dtype=np.int64)
    node, cap, cost = fi.left_arcs()
    tails = np.concatenate([fi.tail, np.full(len(node), source), right + n_left, [sink]])
    heads = np.concatenate([fi.head + n_left, node, np.full(n_right, sink), [source]])
    caps = np.concatenate([np.ones(len(fi.tail), dtype=np.int64), cap, fi.right_cap, [int(fi.left_cap.sum())]])
    costs = np.concatenate([-fi.weight, cost, np.zeros(n_right + 1, dtype=np.int64)])
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64), costs.astype(np.int64)
    )
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise SolverError(f"OR-Tools min-cost flow ended with status {status.name}")
    flows = np.asarray(smcf.flows(arcs[: len(fi.tail)]))
    return flows > 0
