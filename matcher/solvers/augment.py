"""Shortest augmenting paths: an exact b-matching solver for pools where each volunteer takes one.

The Hungarian method in Jonker-Volgenant form, adapted to a menu: rows are the activities'
places (an activity of capacity c is c rows sharing its edges), columns are the volunteers (each
takes at most one place), and every place may stay empty at weight 0. Places are inserted one at
a time; each insertion is one Dijkstra over reduced costs that stops at the first free volunteer
or the first place that is better left empty. Places are the scarce side of a menu, so a search
touches a neighbourhood of the map, not the city: that locality is why it beats a general
min-cost-flow code on these graphs, whose cost scaling sweeps every node in each of its phases.

Row potentials ``u`` and column potentials ``v`` stay dual feasible throughout (all in exact
int64), and a column's potential moves only while it is taken, so free volunteers end priced 0.
The final potentials are therefore an optimal LP-dual pair: volunteer prices ``-v`` and activity
prices ``min(-u)`` over each activity's places (:func:`matcher.certificate.check_duals`
re-checks them independently).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from matcher.solvers._kernels import heap_pop, heap_push
from matcher.solvers.base import FlowInput, Mask
from matcher.solvers.ortools_backend import solve_ortools

__all__ = ["applies", "augment_with_duals", "solve_augment"]

I64 = npt.NDArray[np.int64]

_BIG = np.iinfo(np.int64).max // 4
_UNASSIGNED = -1
_DUMMY = -2


def applies(fi: FlowInput) -> bool:
    """Whether the solver handles ``fi``: every volunteer takes at most one activity, no load steps."""
    return fi.left_step is None and bool(np.all(fi.left_cap <= 1))


@njit(cache=True, nogil=True)
def _scan(
    r: int,
    d_r: int,
    group_ptr: I64,
    row_group: I64,
    col: I64,
    cost: I64,
    u: I64,
    v: I64,
    dist: I64,
    pred: I64,
    settled: npt.NDArray[np.bool_],
    touched: I64,
    n_touched: int,
    keys: I64,
    nodes: I64,
    size: int,
) -> tuple[int, int]:  # pragma: no cover - compiled
    """Relax the columns of row ``r`` reached at distance ``d_r``; returns (heap size, touched)."""
    g = row_group[r]
    for e in range(group_ptr[g], group_ptr[g + 1]):
        j = col[e]
        if settled[j]:
            continue
        nd = d_r + cost[e] - u[r] - v[j]
        if nd < dist[j]:
            if dist[j] == _BIG:
                touched[n_touched] = j
                n_touched += 1
            dist[j] = nd
            pred[j] = r
            size = heap_push(keys, nodes, size, nd, j)
    return size, n_touched


@njit(cache=True, nogil=True)
def _augment(
    group_ptr: I64, row_group: I64, col: I64, cost: I64, col_cap: I64
) -> tuple[I64, I64, I64]:  # pragma: no cover - compiled
    n_rows, n_cols = len(row_group), len(col_cap)
    u = np.zeros(n_rows, dtype=np.int64)
    v = np.zeros(n_cols, dtype=np.int64)
    row_col = np.full(n_rows, _UNASSIGNED, dtype=np.int64)
    row_slot = np.full(n_rows, -1, dtype=np.int64)
    slot_ptr = np.zeros(n_cols + 1, dtype=np.int64)
    for j in range(n_cols):
        slot_ptr[j + 1] = slot_ptr[j] + col_cap[j]
    holder = np.full(slot_ptr[n_cols], -1, dtype=np.int64)
    load = np.zeros(n_cols, dtype=np.int64)
    dist = np.full(n_cols, _BIG, dtype=np.int64)
    pred = np.full(n_cols, -1, dtype=np.int64)
    settled = np.zeros(n_cols, dtype=np.bool_)
    touched = np.empty(n_cols, dtype=np.int64)
    done = np.empty(n_cols, dtype=np.int64)
    scanned = np.empty(n_rows, dtype=np.int64)
    row_d = np.zeros(n_rows, dtype=np.int64)
    keys = np.empty(len(col) + 1, dtype=np.int64)
    nodes = np.empty(len(col) + 1, dtype=np.int64)
    for start in range(n_rows):
        g = row_group[start]
        if group_ptr[g] == group_ptr[g + 1]:
            row_col[start] = _DUMMY
            continue
        # The tightest feasible row potential: its best option (or staying out) has reduced cost 0.
        best = 0
        for e in range(group_ptr[g], group_ptr[g + 1]):
            best = min(best, cost[e] - v[col[e]])
        u[start] = best
        scanned[0] = start
        row_d[start] = 0
        n_scanned, n_done = 1, 0
        # Staying out costs 0 - u - 0 from a row at distance d: its own free column, priced 0.
        dummy_d, dummy_row = -u[start], start
        size, n_touched = _scan(
            start, 0, group_ptr, row_group, col, cost, u, v, dist, pred, settled, touched, 0, keys, nodes, 0
        )
        terminal = -1
        while True:
            j = -1
            while size > 0:
                top = nodes[0]
                if settled[top] or keys[0] != dist[top]:
                    size = heap_pop(keys, nodes, size)
                    continue
                if keys[0] < dummy_d:
                    j = top
                    size = heap_pop(keys, nodes, size)
                break
            if j < 0:
                break
            if load[j] < col_cap[j]:
                terminal = j
                break
            # A full column passes the search on to each of its holders over tight arcs.
            settled[j] = True
            done[n_done] = j
            n_done += 1
            for k in range(slot_ptr[j], slot_ptr[j + 1]):
                h = holder[k]
                scanned[n_scanned] = h
                row_d[h] = dist[j]
                n_scanned += 1
                if dist[j] - u[h] < dummy_d:
                    dummy_d, dummy_row = dist[j] - u[h], h
                size, n_touched = _scan(
                    h,
                    dist[j],
                    group_ptr,
                    row_group,
                    col,
                    cost,
                    u,
                    v,
                    dist,
                    pred,
                    settled,
                    touched,
                    n_touched,
                    keys,
                    nodes,
                    size,
                )
        total = dist[terminal] if terminal >= 0 else dummy_d
        # Settled columns fall and scanned rows rise by how much nearer than the end they were.
        for idx in range(n_done):
            v[done[idx]] -= total - dist[done[idx]]
        for idx in range(n_scanned):
            h = scanned[idx]
            u[h] += total - row_d[h]
        # Augment: each row on the path moves into the place the next one frees.
        if terminal >= 0:
            j, slot = terminal, -1
            for k in range(slot_ptr[j], slot_ptr[j + 1]):
                if holder[k] < 0:
                    slot = k
                    break
            load[j] += 1
            r = pred[j]
        else:
            r = dummy_row
            j, slot = row_col[r], row_slot[r]
            row_col[r], row_slot[r] = _DUMMY, -1
            r = -1 if r == start else pred[j]
        while r >= 0:
            prev_j, prev_slot = row_col[r], row_slot[r]
            row_col[r], row_slot[r] = j, slot
            holder[slot] = r
            if r == start:
                break
            j, slot = prev_j, prev_slot
            r = pred[j]
        for idx in range(n_touched):
            c = touched[idx]
            dist[c] = _BIG
            pred[c] = -1
            settled[c] = False
    return row_col, u, v


def solve_augment(fi: FlowInput) -> Mask:
    """Solve ``fi`` by shortest augmenting paths, or with OR-Tools where :func:`applies` says no."""
    if not applies(fi):
        return solve_ortools(fi)
    chosen, _, _ = augment_with_duals(fi)
    return chosen


def augment_with_duals(fi: FlowInput) -> tuple[Mask, I64, I64]:
    """The optimal selection and its certifying duals ``(u, y)`` (non-negative, exact int64).

    Rows are the activities' places (an activity of capacity c is c rows sharing its edges) and
    columns the volunteers: places are the scarce side of a menu, so most insertions end at a free
    volunteer next to the activity. A place's row potential ``U`` becomes the activity's price
    ``y = min U`` over its places, which keeps every edge covered at the same objective.
    """
    if not applies(fi):
        raise ValueError("shortest augmenting paths need volunteers that take at most one activity")
    n_left, n_right = len(fi.left_cap), len(fi.right_cap)
    order = np.lexsort((fi.tail, fi.head))
    group_ptr = np.searchsorted(fi.head[order], np.arange(n_right + 1)).astype(np.int64)
    row_group = np.repeat(np.arange(n_right, dtype=np.int64), fi.right_cap)
    row_col, u, v = _augment(
        group_ptr,
        row_group,
        fi.tail[order].astype(np.int64),
        -fi.weight[order].astype(np.int64),
        fi.left_cap.astype(np.int64),
    )
    width = np.int64(max(n_left, 1))
    taken = row_col >= 0
    chosen = np.isin(fi.head.astype(np.int64) * width + fi.tail, row_group[taken] * width + row_col[taken])
    y = np.zeros(n_right, dtype=np.int64)
    starts = np.searchsorted(row_group, np.arange(n_right))
    has = fi.right_cap > 0
    if has.any():
        # An activity's rows are consecutive: its price is the smallest U = -u among them.
        y[has] = -np.maximum.reduceat(u, starts[has])
    closed = ~has[fi.head]
    if closed.any():
        # An activity without places has no rows; priced at its edges' best gain, it costs nothing.
        np.maximum.at(y, fi.head[closed], fi.weight[closed] + v[fi.tail[closed]])
    return chosen, -v, y
