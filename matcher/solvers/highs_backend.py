"""HiGHS dual simplex on the network LP (via SciPy): exact because the LP's vertices are integral."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from matcher.errors import CostRangeError, InputIssue, SolverError
from matcher.solvers.base import FLOAT_EXACT, FlowInput, Mask

__all__ = ["solve_highs"]


def solve_highs(fi: FlowInput) -> Mask:
    """Solve the b-matching LP with HiGHS' dual simplex and round the (integral) vertex."""
    n_edges = len(fi.tail)
    if n_edges == 0:
        return np.zeros(0, dtype=bool)
    if int(fi.weight.max()) * n_edges >= FLOAT_EXACT:
        raise CostRangeError(
            [
                InputIssue(
                    "policy", "", "weights", "weights too large for exact float64 solving with HiGHS", "cost_range"
                )
            ]
        )
    n_left, n_right = len(fi.left_cap), len(fi.right_cap)
    cols = np.arange(n_edges)
    node, _, step_cost = fi.left_arcs()
    n_steps = len(node) if fi.left_step is not None else 0
    # Without steps: sum of a volunteer's edges <= capacity. With steps: that sum minus the
    # volunteer's step variables (each in [0, 1], priced by its step cost) <= 0.
    step_cols = sp.csr_matrix((-np.ones(n_steps), (node[:n_steps], np.arange(n_steps))), shape=(n_left, n_steps))
    a_ub = sp.vstack(
        [
            sp.hstack([sp.csr_matrix((np.ones(n_edges), (fi.tail, cols)), shape=(n_left, n_edges)), step_cols]),
            sp.csr_matrix((np.ones(n_edges), (fi.head, cols)), shape=(n_right, n_edges + n_steps)),
        ]
    ).tocsr()
    left_bound = fi.left_cap if fi.left_step is None else np.zeros(n_left, dtype=np.int64)
    b_ub = np.concatenate([left_bound, fi.right_cap]).astype(np.float64)
    c = np.concatenate([-fi.weight.astype(np.float64), step_cost[:n_steps].astype(np.float64)])
    from scipy.optimize import linprog  # 0.35 s to import: only when this backend runs

    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs-ds")
    if res.status != 0:
        raise SolverError(f"HiGHS ended with status {res.status}: {res.message}")
    x = np.asarray(res.x)[:n_edges]
    if np.abs(x - np.rint(x)).max(initial=0.0) > 1e-6:
        raise SolverError("HiGHS returned a fractional vertex")
    chosen: Mask = np.rint(x) > 0.5
    return chosen
