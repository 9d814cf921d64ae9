"""Pricing: which pruned edges could still improve a solution, and which of them to admit.

Compiled (numba) passes over every candidate edge, made once per sparsification round and once
per certificate check; at XL that is 354M edges, so each is a single pass with no edge-length
temporaries.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["PARALLEL_MIN_EDGES", "best_within", "violations", "worst_violators"]

I64 = npt.NDArray[np.int64]
Ids = npt.NDArray[np.int32] | I64
Mask = npt.NDArray[np.bool_]


@njit(cache=True, nogil=True, inline="always")
def _worse(heap_v: I64, heap_i: I64, a: int, b: int) -> bool:  # pragma: no cover - compiled
    # The heap's root is its worst item: smallest value, and the highest index among equals.
    return bool(heap_v[a] < heap_v[b] or (heap_v[a] == heap_v[b] and heap_i[a] > heap_i[b]))


@njit(cache=True, nogil=True, inline="always")
def _sift_down(heap_v: I64, heap_i: I64, base: int, size: int) -> None:  # pragma: no cover - compiled
    k = 0
    while True:
        child = 2 * k + 1
        if child >= size:
            return
        if child + 1 < size and _worse(heap_v, heap_i, base + child + 1, base + child):
            child += 1
        if not _worse(heap_v, heap_i, base + child, base + k):
            return
        heap_v[base + k], heap_v[base + child] = heap_v[base + child], heap_v[base + k]
        heap_i[base + k], heap_i[base + child] = heap_i[base + child], heap_i[base + k]
        k = child


@njit(cache=True, nogil=True, inline="always")
def _offer(
    heap_v: I64, heap_i: I64, size: I64, floor: I64, b: int, room: int, g: int, value: int, i: int
) -> None:  # pragma: no cover
    """Offer item ``i`` to group ``g``'s bounded heap at ``b`` (``room`` entries): kept if among the best.

    Callers pass only items above ``floor[g]`` (see :func:`_floors`), which this keeps equal to
    the root's value once the heap is full.
    """
    n = size[g]
    if n < room:
        # Sift up: the heap keeps its worst item at the root.
        k = n
        heap_v[b + k], heap_i[b + k] = value, i
        while k > 0:
            parent = (k - 1) // 2
            if not _worse(heap_v, heap_i, b + k, b + parent):
                break
            heap_v[b + k], heap_v[b + parent] = heap_v[b + parent], heap_v[b + k]
            heap_i[b + k], heap_i[b + parent] = heap_i[b + parent], heap_i[b + k]
            k = parent
        size[g] = n + 1
        if n + 1 == room:
            floor[g] = heap_v[b]
    elif value > heap_v[b]:
        # A later item never wins a tie: it has the higher index.
        heap_v[b], heap_i[b] = value, i
        _sift_down(heap_v, heap_i, b, n)
        floor[g] = heap_v[b]


@njit(cache=True, nogil=True)
def _floors(room: I64) -> I64:  # pragma: no cover - compiled
    """The value an item must beat to enter each group's heap: none yet, or all for a group with no room.

    Items arrive in index order, so an item equal to a full heap's root loses (higher index). One
    8-byte read per item in a table that stays in cache, where testing the heap itself read its
    size, offset and root at random over a multi-megabyte heap array: each activity's best at L
    (35M edges) took 1.2 s on one thread, 0.4 s with the floors, where two threads no longer help.
    """
    floor = np.empty(len(room), dtype=np.int64)
    for g in range(len(room)):
        floor[g] = _LOWEST if room[g] > 0 else _HIGHEST
    return floor


_LOWEST = np.iinfo(np.int64).min
_HIGHEST = np.iinfo(np.int64).max


def best_within(group: Ids, value: I64, limit: I64) -> Mask:
    """Mark each group's ``limit[g]`` items of largest ``value`` (ties: lower item index first).

    One pass in item order with a bounded heap per group: an item enters only if it beats its
    group's current worst, which after the first few is rare. Reading each item once, in order,
    took 0.3 s where a counting sort by group and a selection per group took 3.6 s on 35M edges
    (the scatter by group missed cache on every item).
    """
    keep = np.zeros(len(group), dtype=bool)
    keep[_best_ids(group, value, limit)] = True
    return keep


@njit(cache=True, nogil=True)
def _best_ids(group: Ids, value: I64, limit: I64) -> I64:  # pragma: no cover - compiled
    """:func:`best_within` as sorted item ids."""
    n_groups = len(limit)
    count = np.zeros(n_groups, dtype=np.int64)
    for g in group:
        count[g] += 1
    room = np.maximum(np.minimum(limit, count), 0)
    base = np.zeros(n_groups + 1, dtype=np.int64)
    for g in range(n_groups):
        base[g + 1] = base[g] + room[g]
    heap_v = np.empty(base[n_groups], dtype=np.int64)
    heap_i = np.empty(base[n_groups], dtype=np.int64)
    size = np.zeros(n_groups, dtype=np.int64)
    floor = _floors(room)
    for i in range(len(group)):
        g = group[i]
        if value[i] > floor[g]:
            _offer(heap_v, heap_i, size, floor, base[g], room[g], g, value[i], i)
    return _picks(heap_i, base, size)


@njit(cache=True, nogil=True)
def _picks(heap_i: I64, base: I64, size: I64) -> I64:  # pragma: no cover - compiled
    """The item ids held in the groups' heaps, sorted."""
    out = np.empty(size.sum(), dtype=np.int64)
    k = 0
    for g in range(len(size)):
        out[k : k + size[g]] = heap_i[base[g] : base[g] + size[g]]
        k += size[g]
    return np.sort(out)


@njit(cache=True, nogil=True)
def violations(
    tail: I64, head: I64, weight: I64, skip: npt.NDArray[np.bool_], u: I64, y: I64
) -> tuple[I64, I64]:  # pragma: no cover - compiled
    """The edges not in ``skip`` whose weight exceeds their endpoints' prices, in index order, with that excess.

    One pass with no temporaries: the numpy expression built four edge-length arrays per
    sparsification round (0.4 s a round at 35M edges), and gathering the excess of millions of
    violators afterwards took as long again.
    """
    out = np.empty(len(tail), dtype=np.int64)
    gain = np.empty(len(tail), dtype=np.int64)
    n = 0
    for e in range(len(tail)):
        if not skip[e]:
            g = weight[e] - u[tail[e]] - y[head[e]]
            if g > 0:
                out[n] = e
                gain[n] = g
                n += 1
    return out[:n].copy(), gain[:n].copy()


#: Below this many edges the pricing pass runs on one thread: starting a pool would cost more.
PARALLEL_MIN_EDGES = 1 << 22


def _workers(n: int, workers: int | None) -> int:
    return workers if workers is not None else (min(os.cpu_count() or 1, 2) if n >= PARALLEL_MIN_EDGES else 1)


def worst_violators(
    tail: Ids, head: Ids, weight: I64, skip: Mask, u: I64, y: I64, limit: I64, workers: int | None = None
) -> tuple[I64, int]:
    """Each activity's ``limit[a]`` most violated edges not in ``skip``, sorted, and how many violate.

    The same edges as :func:`best_within` over the heads and excesses :func:`violations` returns
    (largest excess first, ties: lower edge), in one pass: XL's first round has 129M violators,
    and writing them out (2 GB) and gathering their heads took 10-18 s to admit 83k of them.
    ``workers`` threads (default: up to 2 from 4M edges) each price a contiguous share; each
    activity's best over the whole are among the best of the shares, so those are selected again.
    """
    n = len(tail)
    workers = _workers(n, workers)
    bounds = [n * k // workers for k in range(workers + 1)]
    if workers <= 1:
        return _worst_in(tail, head, weight, skip, u, y, limit, 0, n)
    with ThreadPoolExecutor(workers) as pool:
        parts = list(
            pool.map(
                lambda k: _worst_in(tail, head, weight, skip, u, y, limit, bounds[k], bounds[k + 1]), range(workers)
            )
        )
    ids = np.concatenate([ids for ids, _ in parts])  # shares in edge order, so still sorted
    gain = weight[ids] - u[tail[ids]] - y[head[ids]]
    return ids[_best_ids(head[ids], gain, limit)], sum(count for _, count in parts)


@njit(cache=True, nogil=True)
def _worst_in(
    tail: Ids, head: Ids, weight: I64, skip: Mask, u: I64, y: I64, limit: I64, lo: int, hi: int
) -> tuple[I64, int]:  # pragma: no cover - compiled
    """:func:`worst_violators` over the edges ``lo:hi``."""
    n_groups = len(limit)
    base = np.zeros(n_groups + 1, dtype=np.int64)
    for g in range(n_groups):
        base[g + 1] = base[g] + max(limit[g], 0)
    heap_v = np.empty(base[n_groups], dtype=np.int64)
    heap_i = np.empty(base[n_groups], dtype=np.int64)
    size = np.zeros(n_groups, dtype=np.int64)
    floor = _floors(limit)
    n = 0
    for e in range(lo, hi):
        if not skip[e]:
            g = head[e]
            gain = weight[e] - u[tail[e]] - y[g]
            if gain > 0:
                n += 1
                if gain > floor[g]:
                    _offer(heap_v, heap_i, size, floor, base[g], limit[g], g, gain, e)
    return _picks(heap_i, base, size), n
