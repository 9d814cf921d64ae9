"""Column-side shortest paths: bring a freed volunteer's price back to 0 without re-solving.

When a resumed solve (:class:`matcher.solvers.augment.Augmenter`) unseats a place, the volunteer
it held is left free while still priced (``v < 0``), which complementary slackness forbids: a
volunteer with spare capacity must be priced 0. Setting the price to 0 at once, as the solver
first did, makes that volunteer's other edges infeasible, which releases their places, whose
volunteers are then freed in turn; in a contested market the cascade released 250k of XL's 378k
places for 9 new edges. Here each freed volunteer runs one Dijkstra over reduced costs instead,
the mirror image of a place's insertion: it ends where lowering the price costs least, either
at a volunteer whose price can fall to 0 as it gives up its place (every place on the way
moving one step along the path), or at an activity with an empty place, which takes one more
volunteer. Potentials of the nodes settled on the way move by how much nearer than the end they
were, so every edge stays feasible and every chosen edge tight.

Activities are the search's nodes rather than places: places of one activity share its edges, a
place left empty is priced 0, and feasibility then forces every taken place of that activity to
0 as well, while the taken places of a full activity are priced alike (each is tight on its
own edge and feasible on the others'). So an activity is reached at one distance through any
of its places, and one with an empty place ends the search.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from matcher.solvers._kernels import heap_pop_below, heap_push

__all__ = ["reprice_free_columns"]

I64 = npt.NDArray[np.int64]

_BIG = np.iinfo(np.int64).max // 4
_DUMMY = -2


@njit(cache=True, nogil=True)
def _grow(keys: I64, nodes: I64, size: int) -> tuple[I64, I64]:  # pragma: no cover - compiled
    """The heap's arrays with room for one more entry."""
    if size < len(keys):
        return keys, nodes
    bigger_keys = np.empty(2 * len(keys), dtype=np.int64)
    bigger_nodes = np.empty(2 * len(keys), dtype=np.int64)
    bigger_keys[:size] = keys[:size]
    bigger_nodes[:size] = nodes[:size]
    return bigger_keys, bigger_nodes


@njit(cache=True, nogil=True)
def _relax(
    j: int,
    col_ptr: I64,
    col_group: I64,
    col_cost: I64,
    group_rows: I64,
    u: I64,
    v: I64,
    col_dist: I64,
    dist: I64,
    pred: I64,
    settled: npt.NDArray[np.bool_],
    touched: I64,
    n_touched: int,
    keys: I64,
    nodes: I64,
    size: int,
) -> tuple[int, int, I64, I64]:  # pragma: no cover - compiled
    """Relax the activities of column ``j`` (reached at ``col_dist[j]``); returns (touched, heap size, heap)."""
    for e in range(col_ptr[j], col_ptr[j + 1]):
        g = col_group[e]
        if settled[g] or group_rows[g] == group_rows[g + 1]:
            continue
        nd = col_dist[j] + col_cost[e] - u[group_rows[g]] - v[j]
        if nd < dist[g]:
            if dist[g] == _BIG:
                touched[n_touched] = g
                n_touched += 1
            dist[g], pred[g] = nd, j
            keys, nodes = _grow(keys, nodes, size)
            size = heap_push(keys, nodes, size, nd, g)
    return n_touched, size, keys, nodes


@njit(cache=True, nogil=True)
def reprice_free_columns(
    cols: I64,
    col_ptr: I64,
    col_group: I64,
    col_cost: I64,
    group_rows: I64,
    row_group: I64,
    u: I64,
    v: I64,
    row_col: I64,
    row_slot: I64,
    slot_ptr: I64,
    holder: I64,
    load: I64,
) -> None:  # pragma: no cover - compiled
    """Price each free column of ``cols`` 0 again, moving places along cheapest paths where needed.

    Columns have capacity 1. ``col_ptr``/``col_group``/``col_cost`` list each column's edges (its
    activity and the cost ``-weight``); every row is taken or left empty (``_DUMMY``). The state
    arrays are those of :func:`matcher.solvers.augment._insert_rows` and are updated in place.
    """
    n_groups, n_cols = len(group_rows) - 1, len(v)
    dist = np.full(n_groups, _BIG, dtype=np.int64)
    pred = np.full(n_groups, -1, dtype=np.int64)
    settled = np.zeros(n_groups, dtype=np.bool_)
    touched = np.empty(n_groups, dtype=np.int64)
    done_groups = np.empty(n_groups, dtype=np.int64)
    col_dist = np.zeros(n_cols, dtype=np.int64)
    col_via = np.full(n_cols, -1, dtype=np.int64)
    done_cols = np.empty(n_cols, dtype=np.int64)
    keys = np.empty(1024, dtype=np.int64)
    nodes = np.empty(1024, dtype=np.int64)
    for start in cols:
        if load[start] > 0 or v[start] == 0:
            continue
        # Ending at the start: it stays free, its price lowered to 0 at cost -v.
        stop, stop_col = -v[start], start
        done_cols[0] = start
        col_dist[start] = 0
        n_cols_done, n_relaxed, n_groups_done, n_touched, size, empty = 1, 0, 0, 0, 0, -1
        while True:
            # Relax the columns reached since the last pop (the start, then each settled activity's).
            while n_relaxed < n_cols_done:
                n_touched, size, keys, nodes = _relax(
                    done_cols[n_relaxed],
                    col_ptr,
                    col_group,
                    col_cost,
                    group_rows,
                    u,
                    v,
                    col_dist,
                    dist,
                    pred,
                    settled,
                    touched,
                    n_touched,
                    keys,
                    nodes,
                    size,
                )
                n_relaxed += 1
            g, size = heap_pop_below(keys, nodes, size, dist, settled, stop)
            if g < 0:
                break
            settled[g] = True
            done_groups[n_groups_done] = g
            n_groups_done += 1
            for r in range(group_rows[g], group_rows[g + 1]):
                if row_col[r] == _DUMMY:
                    empty = r
                    break
            if empty >= 0:
                break
            # A full activity passes the search on to each of its places' columns over tight edges.
            for r in range(group_rows[g], group_rows[g + 1]):
                c = row_col[r]
                col_dist[c], col_via[c] = dist[g], r
                done_cols[n_cols_done] = c
                n_cols_done += 1
                if dist[g] - v[c] < stop:
                    stop, stop_col = dist[g] - v[c], c
        total = dist[row_group[empty]] if empty >= 0 else stop
        # Settled nodes move by how much nearer than the end they were: every edge stays feasible.
        for k in range(n_cols_done):
            c = done_cols[k]
            v[c] += total - col_dist[c]
        for k in range(n_groups_done):
            g = done_groups[k]
            for r in range(group_rows[g], group_rows[g + 1]):
                u[r] -= total - dist[g]
        # Each row on the path takes the column its activity was reached from.
        if empty >= 0:
            r = empty
        elif stop_col != start:
            r = col_via[stop_col]
            holder[row_slot[r]] = -1
            load[stop_col] -= 1
        else:
            r = -1
        while r >= 0:
            j = pred[row_group[r]]
            prev = col_via[j] if j != start else -1
            if j == start:
                load[start] += 1
            row_col[r], row_slot[r] = j, slot_ptr[j]
            holder[slot_ptr[j]] = r
            r = prev
        for k in range(n_touched):
            g = touched[k]
            dist[g], pred[g], settled[g] = _BIG, -1, False
        for k in range(n_cols_done):
            col_via[done_cols[k]] = -1
