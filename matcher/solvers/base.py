"""The seam between the model and the solver backends: parallel arrays in, a selection out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from matcher.arrays import Ids

__all__ = ["FLOAT_EXACT", "Backend", "FlowInput"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

#: HiGHS computes in float64: integer objectives are exact while their absolute sum stays below this.
FLOAT_EXACT = 2**53


@dataclass(frozen=True, eq=False)
class FlowInput:
    """A maximum-weight b-matching: choose edges so that no node exceeds its capacity.

    ``tail[e]`` (a volunteer, ``0 <= tail < len(left_cap)``) and ``head[e]`` (an activity) name
    edge ``e``; ``weight[e] > 0`` is maximised; every edge carries at most one unit. Endpoints
    are held as int32 (converted if given wider): the candidate edges' own columns serve
    without a copy, where int64 endpoints were 560 MB at 35M edges.
    ``left_step`` (optional) makes load convex: the ``k``-th edge chosen at left node ``v`` costs
    ``(k - 1) * left_step[v]`` extra, so the objective is ``sum(weight[chosen]) - load_penalty``.
    """

    left_cap: I64
    right_cap: I64
    tail: Ids
    head: Ids
    weight: I64
    left_step: I64 | None = None

    def __post_init__(self) -> None:
        if len(self.left_cap) >= 2**31 or len(self.right_cap) >= 2**31:
            raise ValueError("more than 2**31 nodes on one side")
        for name in ("tail", "head"):
            ends = getattr(self, name)
            if ends.dtype != np.int32:
                object.__setattr__(self, name, np.ascontiguousarray(ends, dtype=np.int32))

    def load_penalty(self, chosen: Mask) -> int:
        """The convex load cost of a selection, exactly (0 without ``left_step``)."""
        if self.left_step is None:
            return 0
        load = np.bincount(self.tail[chosen], minlength=len(self.left_cap)).astype(object)
        return int((self.left_step.astype(object) * load * (load - 1) // 2).sum())

    def objective(self, chosen: Mask) -> int:
        """The maximised value of a selection: its weight less the load penalty, exactly."""
        return int(self.weight[chosen].astype(object).sum()) - self.load_penalty(chosen)

    @cached_property
    def left_steps(self) -> I64:
        """Load steps per left node: its capacity, or its number of edges if that is smaller.

        Steps beyond a node's edges can never be used; leaving them out gives the same problem
        and a tighter dual.
        """
        return np.minimum(self.left_cap, np.bincount(self.tail, minlength=len(self.left_cap))).astype(np.int64)

    def left_arcs(self) -> tuple[I64, I64, I64]:
        """Source arcs as ``(node, capacity, unit cost)``: one per node, or one per load step."""
        nodes = np.arange(len(self.left_cap), dtype=np.int64)
        if self.left_step is None:
            return nodes, self.left_cap.astype(np.int64), np.zeros(len(nodes), dtype=np.int64)
        steps = self.left_steps
        node = np.repeat(nodes, steps)
        k = np.arange(len(node), dtype=np.int64) - np.repeat(np.cumsum(steps) - steps, steps)
        return node, np.ones(len(node), dtype=np.int64), k * self.left_step[node]

    def step_bounds(self, u: I64, denominator: int = 1) -> tuple[I64, I64]:
        """Loads that complementary slackness allows at price ``u / denominator``: ``[low, high]``.

        Steps priced below ``u`` must be used, those above must not; a step priced exactly ``u``
        may go either way. Without steps: full when ``u > 0``, anything when ``u == 0``.
        """
        if self.left_step is None:
            cap = self.left_cap
            return np.where(u > 0, cap, 0), cap.copy()
        cap = self.left_steps
        step = self.left_step * denominator
        safe = np.maximum(step, 1)
        # Step k (0-based) costs k * step: used if k * step < u, allowed if k * step <= u.
        below = np.where(step > 0, -(-u // safe), np.where(u > 0, cap, 0))
        upto = np.where(step > 0, u // safe + 1, cap)
        return np.minimum(below, cap), np.minimum(upto, cap)

    @property
    def n_nodes(self) -> int:
        """Nodes of the flow network: both sides plus a source and a sink."""
        return len(self.left_cap) + len(self.right_cap) + 2


#: A backend returns the optimal selection of edges, or raises SolverError.
Backend = Callable[[FlowInput], Mask]
