"""networkx network simplex: the slow, readable reference backend the tests compare against."""

from __future__ import annotations

import numpy as np

from matcher.errors import SolverError
from matcher.solvers.base import FlowInput, Mask

__all__ = ["solve_networkx"]


def solve_networkx(fi: FlowInput) -> Mask:
    """Solve the b-matching with ``networkx.min_cost_flow`` on the same circulation network."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_node("source", demand=0)
    graph.add_node("sink", demand=0)
    node, cap, cost = fi.left_arcs()
    if fi.left_step is None:
        for i, c in zip(node.tolist(), cap.tolist(), strict=True):
            graph.add_edge("source", ("v", i), capacity=c, weight=0)
    else:
        # One arc per load step; a DiGraph has no parallel arcs, so each step gets its own node.
        for k, (i, c) in enumerate(zip(node.tolist(), cost.tolist(), strict=True)):
            graph.add_edge("source", ("step", k), capacity=1, weight=c)
            graph.add_edge(("step", k), ("v", i), capacity=1, weight=0)
    for j, cap in enumerate(fi.right_cap.tolist()):
        graph.add_edge(("a", j), "sink", capacity=cap, weight=0)
    graph.add_edge("sink", "source", capacity=int(fi.left_cap.sum()), weight=0)
    for v, a, w in zip(fi.tail.tolist(), fi.head.tolist(), fi.weight.tolist(), strict=True):
        graph.add_edge(("v", v), ("a", a), capacity=1, weight=-w)
    try:
        flow = nx.min_cost_flow(graph)
    except nx.NetworkXException as exc:
        raise SolverError(f"networkx min-cost flow failed: {type(exc).__name__}") from None
    return np.array(
        [flow[("v", v)][("a", a)] > 0 for v, a in zip(fi.tail.tolist(), fi.head.tolist(), strict=True)],
        dtype=bool,
    )
