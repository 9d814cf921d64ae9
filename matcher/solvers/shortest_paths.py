"""Repeated shortest-path queries on one network with negative arcs (the explanations' residual network).

The arcs come in CSR form (:func:`~matcher.solvers._kernels.arcs_by_tail`, or
:func:`~matcher.solvers.residual.reversed_residual` for a selection's residual network); the
build gives them a feasible potential, and each query is a Dijkstra on reduced costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
from numba import njit

from matcher.solvers._kernels import UNREACHABLE, _label_correcting, arcs_by_tail, heap_pop, heap_push

__all__ = ["ShortestPaths"]

I64 = npt.NDArray[np.int64]


@njit(cache=True, nogil=True, inline="always")
def _via_bound(targets: I64, settled: npt.NDArray[np.bool_], via: I64, unreachable: int) -> int:  # pragma: no cover
    """The largest distance through a hub of the targets not yet settled (``unreachable`` if one has none)."""
    bound = -1
    for i in range(len(targets)):
        if not settled[targets[i]]:
            bound = max(bound, via[i])
    return unreachable if bound < 0 else bound


@njit(cache=True, nogil=True)
def _dijkstra(
    ptr: I64,
    head: I64,
    cost: I64,
    potential: I64,
    source: int,
    targets: I64,
    unreachable: int,
    hub_of: I64,
    hub_reduced: I64,
) -> I64:  # pragma: no cover - compiled
    """Distances from ``source`` to ``targets``; hubs (``hub_of >= 0``) are settled but not expanded.

    A path through a hub costs the distance to the hub plus ``hub_reduced[hub_of[hub], target]``,
    the hub's own (reduced) distance; every path's first hub accounts for it. The search stops once
    nothing left in its heap can beat what the hubs already offer each unsettled target (a pass
    over the targets per target or hub settled: queries name a few).
    """
    n = len(ptr) - 1
    dist = np.full(n, unreachable, dtype=np.int64)
    settled = np.zeros(n, dtype=np.bool_)
    wanted = np.zeros(n, dtype=np.bool_)
    via = np.full(len(targets), unreachable, dtype=np.int64)
    bound = unreachable
    remaining = 0
    for t in targets:
        if not wanted[t]:
            wanted[t] = True
            remaining += 1
    keys = np.empty(1024, dtype=np.int64)
    nodes = np.empty(1024, dtype=np.int64)
    dist[source] = 0
    size = heap_push(keys, nodes, 0, 0, source)
    while size > 0 and remaining > 0:
        d, x = keys[0], nodes[0]
        if d >= bound:
            break
        size = heap_pop(keys, nodes, size)
        if settled[x] or d != dist[x]:
            continue
        settled[x] = True
        h = hub_of[x]
        if wanted[x] or h >= 0:
            if wanted[x]:
                remaining -= 1
            if h >= 0:
                for i in range(len(targets)):
                    r = hub_reduced[h, targets[i]]
                    if r < unreachable and d + r < via[i]:
                        via[i] = d + r
            if len(hub_reduced):
                bound = _via_bound(targets, settled, via, unreachable)
            if h >= 0:
                continue
        for k in range(ptr[x], ptr[x + 1]):
            y = head[k]
            # Reduced by a feasible potential, every arc is non-negative: Dijkstra is exact.
            nd = d + cost[k] + potential[x] - potential[y]
            if nd < dist[y]:
                dist[y] = nd
                if size == len(keys):
                    keys = np.concatenate((keys, np.empty_like(keys)))
                    nodes = np.concatenate((nodes, np.empty_like(nodes)))
                size = heap_push(keys, nodes, size, nd, y)
    out = np.full(len(targets), unreachable, dtype=np.int64)
    for i in range(len(targets)):
        t = targets[i]
        best = min(via[i], dist[t]) if settled[t] else via[i]
        if best < unreachable:
            out[i] = best - potential[source] + potential[t]
    return out


class ShortestPaths:
    """Repeated single-source shortest distances on one network with negative arcs.

    Built once: the arcs in CSR form and a feasible potential (distances from a virtual root, by
    label correcting). Each query is then Dijkstra on reduced costs that stops when its targets
    are settled, so one query touches the neighbourhood of its source, not the whole network
    (a label-correcting pass per query took 8 s on 35M arcs).

    ``hubs`` are nodes with arcs to much of the network (a residual network's source and sink):
    a search that reached one swept everything behind it, 0.55 s a query at 300k volunteers. The
    build runs one full search from each hub; queries then stop at hubs and add the hub's own
    distances, and stop altogether once no path left to explore can beat them.
    """

    def __init__(self, ptr: I64, head: I64, cost: I64, potential: I64, hubs: I64) -> None:
        self._ptr, self._head, self._cost, self._potential = ptr, head, cost, potential
        n = len(ptr) - 1
        self._hub_of = np.full(n, -1, dtype=np.int64)
        self._hub_reduced = np.zeros((0, n), dtype=np.int64)
        everyone = np.arange(n, dtype=np.int64)
        # One full search per hub, side by side (the search releases the GIL): this build went
        # from 1.7 s to 1.2 s at L.
        with ThreadPoolExecutor(max(min(len(hubs), 2), 1)) as pool:
            swept = list(pool.map(lambda hub: self.distances(hub, everyone), hubs.tolist()))
        reduced = [
            np.where(d < UNREACHABLE, d + potential[hub] - potential, UNREACHABLE)
            for hub, d in zip(hubs.tolist(), swept, strict=True)
        ]
        if reduced:
            self._hub_of[hubs] = np.arange(len(hubs), dtype=np.int64)
            self._hub_reduced = np.ascontiguousarray(np.stack(reduced), dtype=np.int64)

    @classmethod
    def build(cls, tails: I64, heads: I64, costs: I64, n_nodes: int, hubs: Sequence[int] = ()) -> ShortestPaths | None:
        """The search structure, or None if the network has a negative cycle."""
        return cls.from_csr(*arcs_by_tail(tails, heads, costs, n_nodes), hubs=hubs)

    @classmethod
    def from_csr(cls, ptr: I64, head: I64, cost: I64, hubs: Sequence[int] = ()) -> ShortestPaths | None:
        """The search structure on arcs already in CSR form by tail (:func:`arcs_by_tail`), or None as :meth:`build`."""
        n_nodes = len(ptr) - 1
        potential, ok = _label_correcting(ptr, head, cost, n_nodes, -1, UNREACHABLE)
        if not ok:
            return None
        hub_ids = np.unique(np.asarray(hubs, dtype=np.int64))
        return cls(ptr, head, cost, np.asarray(potential, dtype=np.int64), hub_ids)

    def distances(self, source: int, targets: I64) -> I64:
        """Shortest distances from ``source`` to each of ``targets`` (:data:`UNREACHABLE` if none).

        >>> sp = ShortestPaths.build(np.array([0, 1, 0]), np.array([1, 2, 2]), np.array([-2, -3, 1]), 3)
        >>> sp.distances(0, np.array([2, 1])).tolist(), sp.distances(2, np.array([0])).tolist() == [UNREACHABLE]
        ([-5, -2], True)
        """
        targets = np.ascontiguousarray(targets, dtype=np.int64)
        return _dijkstra(
            self._ptr,
            self._head,
            self._cost,
            self._potential,
            int(source),
            targets,
            UNREACHABLE,
            self._hub_of,
            self._hub_reduced,
        )
