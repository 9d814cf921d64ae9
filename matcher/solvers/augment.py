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

from matcher.solvers._kernels import heap_pop_below, heap_push
from matcher.solvers.base import FlowInput, Mask
from matcher.solvers.ortools_backend import solve_ortools
from matcher.solvers.reprice import reprice_free_columns

__all__ = ["WORK_PER_EDGE", "Augmenter", "DegenerateError", "applies", "augment_with_duals", "solve_augment"]

I64 = npt.NDArray[np.int64]

_BIG = np.iinfo(np.int64).max // 4
_UNASSIGNED = -1
_DUMMY = -2

#: Edges the searches of one solve may scan, per edge and place solved, before they give way to
#: OR-Tools' cost scaling. A search ends at the nearest free volunteer, who on a map is near:
#: the benchmark's menus scan 21 (M), 43 (L) and 65 (XL) edges per edge. Where an activity's
#: edges all weigh the same (a policy that fills places by priority alone), the nearest free
#: volunteer lies across a saturated region that search after search sweeps again: 960 per edge
#: at M, 10-20 s where cost scaling takes 0.9 s. Either way the optimum is exact.
WORK_PER_EDGE = 250


class DegenerateError(Exception):
    """The searches outgrew their budget (:data:`WORK_PER_EDGE`): ties make cost scaling the better algorithm."""


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
def _insert_rows(
    group_ptr: I64,
    row_group: I64,
    col: I64,
    cost: I64,
    col_cap: I64,
    u: I64,
    v: I64,
    row_col: I64,
    row_slot: I64,
    slot_ptr: I64,
    holder: I64,
    load: I64,
    todo: I64,
    budget: int,
) -> bool:  # pragma: no cover - compiled
    """Insert the rows ``todo`` into the optimal partial assignment held in the other arrays.

    Returns False, leaving the rows after the last one inserted out, once the searches have
    scanned more than ``budget`` edges (see :data:`WORK_PER_EDGE`).
    """
    n_rows, n_cols = len(row_group), len(col_cap)
    dist = np.full(n_cols, _BIG, dtype=np.int64)
    pred = np.full(n_cols, -1, dtype=np.int64)
    settled = np.zeros(n_cols, dtype=np.bool_)
    touched = np.empty(n_cols, dtype=np.int64)
    done = np.empty(n_cols, dtype=np.int64)
    scanned = np.empty(n_rows, dtype=np.int64)
    row_d = np.zeros(n_rows, dtype=np.int64)
    keys = np.empty(len(col) + 1, dtype=np.int64)
    nodes = np.empty(len(col) + 1, dtype=np.int64)
    # The least d - u of a scanned row of each activity. Its places share their edges, so a place
    # reached at d - u no less than one already scanned would relax nothing, and is not scanned.
    # Taken places of an activity hold equal potentials (each is tight on its own edge and feasible
    # on the others'), so in effect each activity is scanned once a search: at M that halves the
    # work of a round.
    group_reach = np.full(len(group_ptr) - 1, _BIG, dtype=np.int64)
    work = 0
    for start in todo:
        if work > budget:
            return False
        g = row_group[start]
        if group_ptr[g] == group_ptr[g + 1]:
            row_col[start] = _DUMMY
            u[start] = 0
            continue
        # The tightest feasible row potential: its best option (or staying out) has reduced cost 0.
        # Of tied options a free volunteer ends the insertion here, without a search.
        best, best_j, best_free = 0, -1, False
        for e in range(group_ptr[g], group_ptr[g + 1]):
            j = col[e]
            c = cost[e] - v[j]
            free = load[j] < col_cap[j]
            if c < best or (c == best and best_j >= 0 and (free > best_free or (free == best_free and j < best_j))):
                best, best_j, best_free = c, j, free
        u[start] = best
        work += group_ptr[g + 1] - group_ptr[g]
        if best_j >= 0 and load[best_j] < col_cap[best_j]:
            # A free volunteer at reduced cost 0: the search would end there too (or at a tied one).
            for k in range(slot_ptr[best_j], slot_ptr[best_j + 1]):
                if holder[k] < 0:
                    holder[k] = start
                    row_col[start], row_slot[start] = best_j, k
                    break
            load[best_j] += 1
            continue
        scanned[0] = start
        row_d[start] = 0
        n_scanned, n_done = 1, 0
        # Staying out costs 0 - u - 0 from a row at distance d: its own free column, priced 0.
        dummy_d, dummy_row = -u[start], start
        group_reach[g] = -u[start]
        size, n_touched = _scan(
            start, 0, group_ptr, row_group, col, cost, u, v, dist, pred, settled, touched, 0, keys, nodes, 0
        )
        terminal = -1
        while True:
            j, size = heap_pop_below(keys, nodes, size, dist, settled, dummy_d)
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
                reach = dist[j] - u[h]
                if reach < dummy_d:
                    dummy_d, dummy_row = reach, h
                if reach >= group_reach[row_group[h]]:
                    continue
                group_reach[row_group[h]] = reach
                work += group_ptr[row_group[h] + 1] - group_ptr[row_group[h]]
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
            group_reach[row_group[h]] = _BIG
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
    return True


def solve_augment(fi: FlowInput) -> Mask:
    """Solve ``fi`` by shortest augmenting paths, or with OR-Tools where :func:`applies` says no.

    OR-Tools also takes over a network whose searches outgrow their budget (:class:`DegenerateError`).
    """
    if applies(fi):
        try:
            chosen, _, _ = augment_with_duals(fi)
            return chosen
        except DegenerateError:
            pass
    return solve_ortools(fi)


def augment_with_duals(fi: FlowInput) -> tuple[Mask, I64, I64]:
    """The optimal selection and its certifying duals ``(u, y)`` (non-negative, exact int64).

    Rows are the activities' places (an activity of capacity c is c rows sharing its edges) and
    columns the volunteers: places are the scarce side of a menu, so most insertions end at a free
    volunteer next to the activity. A place's row potential ``U`` becomes the activity's price
    ``y = min U`` over its places, which keeps every edge covered at the same objective.
    Raises :class:`DegenerateError` where the searches outgrow their budget.
    """
    return Augmenter(fi).solve()


class Augmenter:
    """Shortest augmenting paths on a growing subset of ``fi``'s edges, each solve resuming the last.

    Certified sparsification adds a few thousand violated edges a round, and solving again from
    scratch redid all ~115k place insertions at L (2-4 s a round). Here a new edge unseats only
    the places it undercuts (those whose potential it makes infeasible); they alone are inserted
    again, and a volunteer they leave free is repriced by a column-side search
    (:func:`reprice_free_columns`). The potentials stay feasible and complementary throughout, so
    each solve ends optimal for the edges it was given.

    Repricing replaced a cascade: setting a freed volunteer's price to 0 at once released every
    place that price made infeasible, and their volunteers in turn. In a contested market that
    was most of the market: at XL, 9 new edges released 250k of 378k places (20 s), and a
    resumed round cost more than a fresh solve.
    """

    def __init__(self, fi: FlowInput) -> None:
        if not applies(fi):
            raise ValueError("shortest augmenting paths need volunteers that take at most one activity")
        self.fi = fi
        n_left, n_right = len(fi.left_cap), len(fi.right_cap)
        self.group_rows = np.zeros(n_right + 1, dtype=np.int64)
        np.cumsum(fi.right_cap, out=self.group_rows[1:])
        self.row_group = np.repeat(np.arange(n_right, dtype=np.int64), fi.right_cap)
        n_rows = len(self.row_group)
        self.u = np.zeros(n_rows, dtype=np.int64)
        self.v = np.zeros(n_left, dtype=np.int64)
        self.row_col = np.full(n_rows, _UNASSIGNED, dtype=np.int64)
        self.row_slot = np.full(n_rows, -1, dtype=np.int64)
        self.col_cap = fi.left_cap.astype(np.int64)
        self.slot_ptr = np.zeros(n_left + 1, dtype=np.int64)
        np.cumsum(self.col_cap, out=self.slot_ptr[1:])
        self.holder = np.full(int(self.slot_ptr[-1]), -1, dtype=np.int64)
        self.load = np.zeros(n_left, dtype=np.int64)
        self.kept: Mask | None = None
        self.degenerate = False

    def solve(self, keep: Mask | None = None) -> tuple[Mask, I64, I64]:
        """The optimum on the edges ``keep`` (default all), a superset of the last solve's, and its duals.

        Returns the selection as a mask over all of ``fi``'s edges, the volunteer prices ``u`` and
        the activity prices ``y``. Raises :class:`DegenerateError` where the searches outgrow their
        budget, after which the state is partial and further solves are refused.
        """
        fi = self.fi
        if self.degenerate:
            raise ValueError("a solve that outgrew its budget cannot be resumed")
        keep = np.ones(len(fi.tail), dtype=bool) if keep is None else keep
        if self.kept is not None and (self.kept & ~keep).any():
            raise ValueError("a resumed solve can only add edges")
        idx = np.flatnonzero(keep)
        tail, head, weight = fi.tail[idx].astype(np.int64), fi.head[idx].astype(np.int64), fi.weight[idx]
        todo = np.arange(len(self.row_group), dtype=np.int64) if self.kept is None else self._unseat(keep & ~self.kept)
        self.kept = keep.copy()
        order = np.lexsort((tail, head))
        group_ptr = np.searchsorted(head[order], np.arange(len(fi.right_cap) + 1)).astype(np.int64)
        state = (self.u, self.v, self.row_col, self.row_slot, self.slot_ptr, self.holder, self.load)
        cost = -weight.astype(np.int64)
        budget = WORK_PER_EDGE * (len(idx) + len(todo))
        if not _insert_rows(group_ptr, self.row_group, tail[order], cost[order], self.col_cap, *state, todo, budget):
            self.degenerate = True
            raise DegenerateError(f"the searches scanned over {budget} edges")
        # Volunteers without capacity are never free to take a place: their price is unconstrained.
        freed = np.flatnonzero((self.load == 0) & (self.v < 0) & (self.col_cap > 0))
        if len(freed):
            by_col = np.argsort(tail, kind="stable")
            col_ptr = np.searchsorted(tail[by_col], np.arange(len(fi.left_cap) + 1)).astype(np.int64)
            reprice_free_columns(freed, col_ptr, head[by_col], cost[by_col], self.group_rows, self.row_group, *state)
        return self._selection(idx, tail, head, weight)

    def _unseat(self, new: Mask) -> I64:
        """Unseat the places a new edge makes infeasible, lowering their potentials; return them.

        A place of activity g is undercut when ``-w - u_place - v_vol < 0`` for a new edge of g.
        Lowering its potential to the least such ``-w - v_vol`` makes every edge feasible again,
        but leaves the place's own edge slack, so it leaves its volunteer and is inserted again.
        The volunteer, free but still priced, is repriced by :func:`reprice_free_columns` unless
        the insertions take it back.
        """
        fi = self.fi
        e = np.flatnonzero(new)
        threshold = np.full(len(fi.right_cap), _BIG, dtype=np.int64)
        np.minimum.at(threshold, fi.head[e], -fi.weight[e] - self.v[fi.tail[e]])
        undercut = np.flatnonzero(self.u > threshold[self.row_group])
        self.u[undercut] = threshold[self.row_group[undercut]]
        cols, slots = self.row_col[undercut], self.row_slot[undercut]
        seated = cols >= 0
        self.holder[slots[seated]] = -1
        np.subtract.at(self.load, cols[seated], 1)
        self.row_col[undercut], self.row_slot[undercut] = _UNASSIGNED, -1
        return undercut

    def _selection(self, idx: I64, tail: I64, head: I64, weight: I64) -> tuple[Mask, I64, I64]:
        fi = self.fi
        n_left, n_right = len(fi.left_cap), len(fi.right_cap)
        row_group, row_col, u, v = self.row_group, self.row_col, self.u, self.v
        taken = row_col >= 0
        # A volunteer takes at most one place, so its activity (-1: none) names its chosen edge;
        # matching packed (activity, volunteer) keys with np.isin sorted them: 1.6 s a round at XL.
        activity_of = np.full(n_left, -1, dtype=np.int64)
        activity_of[row_col[taken]] = row_group[taken]
        chosen = np.zeros(len(fi.tail), dtype=bool)
        chosen[idx] = activity_of[tail] == head
        y = np.zeros(n_right, dtype=np.int64)
        has = fi.right_cap > 0
        if has.any():
            # An activity's rows are consecutive: its price is the smallest U = -u among them.
            y[has] = -np.maximum.reduceat(u, self.group_rows[:-1][has])
        closed = ~has[head]
        if closed.any():
            # An activity without places has no rows; priced at its edges' best gain, it costs nothing.
            np.maximum.at(y, head[closed], weight[closed] + v[tail[closed]])
        return chosen, -v, y
