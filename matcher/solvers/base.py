"""The seam between the model and the solver backends: parallel arrays in, a selection out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Backend", "FlowInput"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class FlowInput:
    """A maximum-weight b-matching: choose edges so that no node exceeds its capacity.

    ``tail[e]`` (a volunteer, ``0 <= tail < len(left_cap)``) and ``head[e]`` (an activity) name
    edge ``e``; ``weight[e] > 0`` is maximised; every edge carries at most one unit.
    """

    left_cap: I64
    right_cap: I64
    tail: I64
    head: I64
    weight: I64

    @property
    def n_nodes(self) -> int:
        """Nodes of the flow network: both sides plus a source and a sink."""
        return len(self.left_cap) + len(self.right_cap) + 2


#: A backend returns the optimal selection of edges, or raises SolverError.
Backend = Callable[[FlowInput], Mask]
