"""Compiled kernels (numba) for the loops that cannot be vectorised: shortest paths, proposal rounds.

Kept to plain arrays in, plain arrays out, so that every result is re-checked by numpy code
(:func:`matcher.certificate.check_duals`) and a kernel bug can never produce a false certificate.
``cache=True`` stores the machine code beside the module (or in the user cache) after the first
compilation, so later processes start in milliseconds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = [
    "UNREACHABLE",
    "arcs_by_tail",
    "counting_order",
    "deferred_acceptance",
    "first_come",
    "heap_pop",
    "heap_pop_below",
    "heap_push",
    "label_correcting",
]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

#: Distance reported for nodes a single-source search cannot reach.
UNREACHABLE = np.iinfo(np.int64).max // 4


@njit(cache=True, nogil=True)
def heap_push(keys: I64, nodes: I64, size: int, key: int, node: int) -> int:  # pragma: no cover - compiled
    """Push onto a binary min-heap of (key, node) held in ``keys[:size]``, ``nodes[:size]``; returns the new size.

    Ties go to the lower node, so that searches are deterministic. Entries are never updated in
    place: a search pushes a node again when its key drops and skips stale entries when popped.
    """
    i = size
    keys[i] = key
    nodes[i] = node
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] < keys[i] or (keys[parent] == keys[i] and nodes[parent] <= nodes[i]):
            break
        keys[i], keys[parent] = keys[parent], keys[i]
        nodes[i], nodes[parent] = nodes[parent], nodes[i]
        i = parent
    return size + 1


@njit(cache=True, nogil=True)
def heap_pop(keys: I64, nodes: I64, size: int) -> int:  # pragma: no cover - compiled
    """Remove the root of the heap (read it from ``keys[0]``, ``nodes[0]`` first); returns the new size."""
    size -= 1
    keys[0] = keys[size]
    nodes[0] = nodes[size]
    i = 0
    while True:
        left, right, low = 2 * i + 1, 2 * i + 2, i
        if left < size and (keys[left] < keys[low] or (keys[left] == keys[low] and nodes[left] < nodes[low])):
            low = left
        if right < size and (keys[right] < keys[low] or (keys[right] == keys[low] and nodes[right] < nodes[low])):
            low = right
        if low == i:
            return size
        keys[i], keys[low] = keys[low], keys[i]
        nodes[i], nodes[low] = nodes[low], nodes[i]
        i = low


@njit(cache=True, nogil=True, inline="always")
def heap_pop_below(
    keys: I64, nodes: I64, size: int, dist: I64, settled: npt.NDArray[np.bool_], bound: int
) -> tuple[int, int]:  # pragma: no cover - compiled
    """Pop the nearest live node of a search's heap if its key is below ``bound``: (node or -1, size).

    Entries of settled nodes, and entries pushed before a node's key dropped, are stale and are
    dropped on the way (see :func:`heap_push`).
    """
    while size > 0:
        top = nodes[0]
        if settled[top] or keys[0] != dist[top]:
            size = heap_pop(keys, nodes, size)
            continue
        if keys[0] < bound:
            return top, heap_pop(keys, nodes, size)
        break
    return -1, size


@njit(cache=True, nogil=True)
def counting_order(key: I64 | I32, n_keys: int, order: I64) -> I64:  # pragma: no cover - compiled
    """``order`` stably re-sorted by ``key[order]`` (keys in ``[0, n_keys)``), in linear time."""
    start = np.zeros(n_keys + 1, dtype=np.int64)
    for i in range(len(order)):
        start[key[order[i]] + 1] += 1
    for k in range(n_keys):
        start[k + 1] += start[k]
    out = np.empty(len(order), dtype=np.int64)
    for i in range(len(order)):
        k = key[order[i]]
        out[start[k]] = order[i]
        start[k] += 1
    return out


@njit(cache=True, nogil=True)
def _label_correcting(
    ptr: I64, head: I64, cost: I64, n: int, source: int, unreachable: int
) -> tuple[I64, bool]:  # pragma: no cover - compiled
    hops = np.zeros(n, dtype=np.int64)
    queue = np.empty(n + 1, dtype=np.int64)
    if source < 0:
        dist = np.zeros(n, dtype=np.int64)
        queued = np.ones(n, dtype=np.bool_)
        for i in range(n):
            queue[i] = i
        first, last, size = 0, n, n
    else:
        # Only queued nodes are ever scanned, so an unreachable label is never added to.
        dist = np.full(n, unreachable, dtype=np.int64)
        queued = np.zeros(n, dtype=np.bool_)
        dist[source] = 0
        queued[source] = True
        queue[0] = source
        first, last, size = 0, 1, 1
    while size > 0:
        v = queue[first]
        first = first + 1 if first < n else 0
        size -= 1
        queued[v] = False
        dv = dist[v]
        for k in range(ptr[v], ptr[v + 1]):
            w = head[k]
            candidate = dv + cost[k]
            if candidate < dist[w]:
                dist[w] = candidate
                hops[w] = hops[v] + 1
                if hops[w] >= n:
                    # A shortest path cannot have n arcs: there is a negative cycle.
                    return dist, False
                if not queued[w]:
                    queued[w] = True
                    queue[last] = w
                    last = last + 1 if last < n else 0
                    size += 1
    return dist, True


def label_correcting(tails: I64, heads: I64, costs: I64, n_nodes: int, source: int | None = None) -> I64 | None:
    """Shortest distances by FIFO label correcting (negative arcs allowed).

    From ``source`` if given (unreached nodes get :data:`UNREACHABLE`), otherwise from a virtual
    root joined to every node at cost 0. Returns None if a negative cycle is found. Arcs may come
    in any order.

    >>> import numpy as np
    >>> label_correcting(np.array([0, 1]), np.array([1, 2]), np.array([-2, -3]), 3).tolist()
    [0, -2, -5]
    >>> label_correcting(np.array([0, 1]), np.array([1, 2]), np.array([-2, -3]), 3, source=1)[1:].tolist()
    [0, -3]
    """
    ptr, head, cost = arcs_by_tail(tails, heads, costs, n_nodes)
    dist, ok = _label_correcting(ptr, head, cost, n_nodes, -1 if source is None else int(source), UNREACHABLE)
    return np.asarray(dist, dtype=np.int64) if ok else None


def arcs_by_tail(tails: I64, heads: I64, costs: I64, n_nodes: int) -> tuple[I64, I64, I64]:
    """Arcs in CSR form by tail: ``(ptr, head, cost)``, arcs of equal tail in their given order.

    >>> [a.tolist() for a in arcs_by_tail(np.array([1, 0, 1]), np.array([2, 1, 0]), np.array([5, 6, 7]), 3)]
    [[0, 1, 3, 3], [1, 2, 0], [6, 5, 7]]
    """
    tails = np.ascontiguousarray(tails, dtype=np.int64)
    order = counting_order(tails, n_nodes, np.arange(len(tails), dtype=np.int64))
    ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails, minlength=n_nodes), out=ptr[1:])
    return ptr, np.ascontiguousarray(heads[order], dtype=np.int64), np.ascontiguousarray(costs[order], dtype=np.int64)


@njit(cache=True)
def deferred_acceptance(
    vol_ptr: I64, by_volunteer: I64, edge_vol: I64, edge_act: I64, act_rank: I64, slots: I64
) -> npt.NDArray[np.bool_]:  # pragma: no cover - compiled
    """Volunteer-proposing deferred acceptance, one place per volunteer (see :mod:`matcher.modes`)."""
    n_vol = len(vol_ptr) - 1
    slot_ptr = np.zeros(len(slots) + 1, dtype=np.int64)
    for a in range(len(slots)):
        slot_ptr[a + 1] = slot_ptr[a] + slots[a]
    held = np.full(slot_ptr[-1], -1, dtype=np.int64)
    count = np.zeros(len(slots), dtype=np.int64)
    nxt = vol_ptr[:-1].copy()
    stack = np.arange(n_vol - 1, -1, -1).astype(np.int64)
    top = n_vol
    while top > 0:
        top -= 1
        v = stack[top]
        while nxt[v] < vol_ptr[v + 1]:
            e = by_volunteer[nxt[v]]
            nxt[v] += 1
            a = edge_act[e]
            base = slot_ptr[a]
            if count[a] < slots[a]:
                held[base + count[a]] = e
                count[a] += 1
                break
            worst = 0
            for i in range(1, slots[a]):
                if act_rank[held[base + i]] > act_rank[held[base + worst]]:
                    worst = i
            if act_rank[e] < act_rank[held[base + worst]]:
                loser = held[base + worst]
                held[base + worst] = e
                stack[top] = edge_vol[loser]
                top += 1
                break
    chosen = np.zeros(len(edge_vol), dtype=np.bool_)
    for i in range(len(held)):
        if held[i] >= 0:
            chosen[held[i]] = True
    return chosen


@njit(cache=True)
def first_come(
    order: I64, vol_ptr: I64, by_volunteer: I64, edge_act: I64, capacity: I64, most: I64, start: I64, end: I64
) -> npt.NDArray[np.bool_]:  # pragma: no cover - compiled
    """Volunteers in ``order`` take their best open, non-clashing places (see :mod:`matcher.modes`)."""
    chosen = np.zeros(len(edge_act), dtype=np.bool_)
    filled = np.zeros(len(capacity), dtype=np.int64)
    mine = np.zeros(max(int(most.max()) if len(most) else 1, 1), dtype=np.int64)
    for v in order:
        taken = 0
        for k in range(vol_ptr[v], vol_ptr[v + 1]):
            if taken >= most[v]:
                break
            e = by_volunteer[k]
            a = edge_act[e]
            if filled[a] >= capacity[a]:
                continue
            clash = False
            for i in range(taken):
                b = mine[i]
                if start[a] < end[b] and start[b] < end[a]:
                    clash = True
                    break
            if clash:
                continue
            chosen[e] = True
            filled[a] += 1
            mine[taken] = a
            taken += 1
    return chosen
