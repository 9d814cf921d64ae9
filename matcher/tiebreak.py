"""The deterministic tie-break: among all optimal selections, one fixed by the problem alone.

Equally good answers are common (two volunteers at the same distance, ranking an activity the
same). Which one a solver returns depends on arc order, on whether the graph was sparsified or
split into components, and on the solver's version, so the library fixes the choice itself.

Optimal dual prices ``(u, y)`` describe *every* optimal selection at once (complementary
slackness): an edge with ``w_e > u_v + y_a`` is in all of them, one with ``w_e < u_v + y_a`` in
none, the rest ("tight") are free, and a node with a positive price is filled to capacity in
each. Among selections meeting these conditions — exactly the optimal ones, whichever duals
were used — the tie-break takes the one with the smallest total *tie key*: a fixed 31-bit hash
of ``(volunteer id, activity id)``. Keys are pseudo-random, so no volunteer is favoured by the
spelling of their id, and the same pair keeps its key from one dispatch round to the next.

The least-key selection is a flow on the tight edges: solved by the shortest-augmenting-path
solver (sparsified when large) when each volunteer takes at most one place, by OR-Tools otherwise.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from matcher.arrays import EDGE_BLOCK, renumber
from matcher.errors import SolverError
from matcher.solvers.augment import solve_augment
from matcher.solvers.base import FlowInput, Mask
from matcher.sparsify import solve_flow

__all__ = ["canonical_selection", "tie_keys"]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


def _id_hashes(ids: Sequence[str], which: I64) -> U64:
    return np.array([zlib.crc32(ids[int(i)].encode()) for i in which], dtype=np.uint64)


def _mix(x: U64) -> U64:
    # splitmix64 finaliser: spreads the crc32 pair over all bits before the top 31 are kept.
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def tie_keys(volunteer_ids: Sequence[str], activity_ids: Sequence[str], vol: I64, act: I64) -> I64:
    """The tie key of each pair ``(volunteer_ids[vol[e]], activity_ids[act[e]])``, in ``[0, 2**31)``.

    >>> tie_keys(["v1"], ["a1", "a2"], np.array([0, 0]), np.array([0, 1])).tolist() == tie_keys(
    ...     ["x", "v1"], ["a2", "a1"], np.array([1, 1]), np.array([1, 0])).tolist()
    True
    """
    vols, v_inv = renumber(vol, len(volunteer_ids))
    acts, a_inv = renumber(act, len(activity_ids))
    hv = _id_hashes(volunteer_ids, vols)[v_inv]
    ha = _id_hashes(activity_ids, acts)[a_inv]
    return (_mix((hv << np.uint64(32)) | ha) >> np.uint64(33)).astype(np.int64)


def _classify(fi: FlowInput, u: I64, y: I64, block: int = EDGE_BLOCK) -> tuple[Mask, I64]:
    """Edges with ``w > u + y`` (a mask) and with ``w == u + y`` (ids), in blocks of edges."""
    forced = np.empty(len(fi.tail), dtype=bool)
    tight = []
    for lo in range(0, len(fi.tail), block):
        hi = lo + block
        reduced = fi.weight[lo:hi] - u[fi.tail[lo:hi]] - y[fi.head[lo:hi]]
        forced[lo:hi] = reduced > 0
        tight.append(np.flatnonzero(reduced == 0) + lo)
    return forced, np.concatenate(tight) if tight else np.zeros(0, dtype=np.int64)


def canonical_selection(fi: FlowInput, u: I64, y: I64, keys: Callable[[I64], I64]) -> Mask:
    """The optimal selection of least total tie key, given optimal duals ``(u, y)`` of ``fi``.

    ``keys(edges)`` returns the tie keys of those edges, in ``[0, 2**31)`` (:func:`tie_keys`); only
    tight edges are ever asked for, which keeps hashing off the hot path. Raises
    :class:`~matcher.errors.SolverError` if the duals admit no selection (they were not optimal).
    """
    forced, tight = _classify(fi, u, y)
    chosen = forced.copy()
    # Complementary slackness bounds each volunteer's load to [low, high] (see FlowInput.step_bounds);
    # below, "room" is what tight edges may add and "need" what they must add.
    low, high = fi.step_bounds(u)
    forced_l = np.bincount(fi.tail[forced], minlength=len(fi.left_cap))
    left_room = high - forced_l
    left_need = np.maximum(low - forced_l, 0)
    right_room = fi.right_cap - np.bincount(fi.head[forced], minlength=len(fi.right_cap))
    if (left_room < 0).any() or (right_room < 0).any():
        raise SolverError("dual prices force more edges than capacity allows: they are not optimal")
    if len(tight) == 0:
        if (left_need != 0).any() or (right_room[y > 0] != 0).any():
            raise SolverError("dual prices leave a priced node unfilled: they are not optimal")
        return chosen
    # Network on the tight edges only; nodes are those tight edges touch, renumbered.
    vols, t_tail = renumber(fi.tail[tight], len(fi.left_cap))
    acts, t_head = renumber(fi.head[tight], len(fi.right_cap))
    # Every priced node must be filled; a priced node with no tight edge must already be full.
    untouched_l = np.ones(len(fi.left_cap), dtype=bool)
    untouched_l[vols] = False
    untouched_r = np.ones(len(fi.right_cap), dtype=bool)
    untouched_r[acts] = False
    if (left_need[untouched_l] != 0).any() or (right_room[untouched_r & (y > 0)] != 0).any():
        raise SolverError("dual prices leave a priced node unfilled: they are not optimal")
    v_need, v_room = left_need[vols], left_room[vols]
    a_room, a_fixed = right_room[acts], y[acts] > 0
    # A tight edge between two unconstrained nodes only adds its key: no least-key selection uses
    # it (with a zero key either way would do, so it is never used, whichever path solves).
    useful = (v_need[t_tail] > 0) | a_fixed[t_head]
    tight, t_tail, t_head = tight[useful], t_tail[useful], t_head[useful]
    if (v_room <= 1).all():
        picked = _least_keys_by_augment(t_tail, t_head, keys(tight), v_need, v_room, a_room, a_fixed)
    else:
        picked = _least_keys_by_flow(t_tail, t_head, keys(tight), v_need, v_room, a_room, a_fixed)
    chosen[tight] = picked
    return chosen


def _least_keys_by_flow(tail: I64, head: I64, key: I64, v_need: I64, v_room: I64, a_room: I64, a_fixed: Mask) -> Mask:
    """The least-key selection on tight edges as a min-cost flow (OR-Tools): loads in ``[need, room]``."""
    from ortools.graph.python import min_cost_flow

    nv, na = len(v_need), len(a_room)
    hub = nv + na
    v_spare = v_room - v_need
    supplies = np.zeros(hub + 1, dtype=np.int64)
    supplies[:nv] = v_need
    supplies[nv:hub][a_fixed] = -a_room[a_fixed]
    supplies[hub] = -int(supplies[:hub].sum())
    free_v, free_a = np.flatnonzero(v_spare > 0), np.flatnonzero(~a_fixed)
    tails = np.concatenate([tail, np.full(len(free_v), hub), free_a + nv])
    heads = np.concatenate([head + nv, free_v, np.full(len(free_a), hub)])
    caps = np.concatenate([np.ones(len(tail), dtype=np.int64), v_spare[free_v], a_room[free_a]])
    costs = np.concatenate([key, np.zeros(len(free_v) + len(free_a), dtype=np.int64)])
    smcf = min_cost_flow.SimpleMinCostFlow()
    arcs = smcf.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64), costs.astype(np.int64)
    )
    smcf.set_nodes_supplies(np.arange(hub + 1, dtype=np.int32), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise SolverError(f"tie-break flow ended with status {status.name}: the dual prices were not optimal")
    return np.asarray(smcf.flows(arcs[: len(tail)])) > 0


def _least_keys_by_augment(
    tail: I64, head: I64, key: I64, v_need: I64, v_room: I64, a_room: I64, a_fixed: Mask
) -> Mask:
    """The least-key selection when each volunteer takes at most one place, by certified sparsification.

    A max-weight matching with weight ``B * (priced ends) - key``, ``B`` above any key sum: the
    most priced ends filled comes first (all of them, as the duals were optimal), then the least
    key. The shortest-augmenting-path solver on each activity's best edges, every other edge
    priced in one pass: at L the tie network has 5M tight edges, 50k on a full online activity,
    and OR-Tools' cost scaling took 6.5-7.5 s over them (3 s this way, same selection).
    """
    bonus = int(min(a_room.sum(), v_room.sum())) * 2**31 + 1
    if 2 * bonus > _AUGMENT_WEIGHT_LIMIT:
        return _least_keys_by_flow(tail, head, key, v_need, v_room, a_room, a_fixed)
    priced_ends = a_fixed[head].astype(np.int64) + (v_need[tail] > 0)
    fi = FlowInput(v_room, a_room, tail, head, priced_ends * np.int64(bonus) - key)
    picked = solve_flow(fi, solve_augment).chosen
    if (np.bincount(tail[picked], minlength=len(v_need)) < v_need).any() or (
        np.bincount(head[picked], minlength=len(a_room))[a_fixed] < a_room[a_fixed]
    ).any():
        raise SolverError("dual prices leave a priced node unfilled: they are not optimal")
    return picked


#: Largest tie-break weight given to the augmenting-path solver (its int64 distances need headroom).
_AUGMENT_WEIGHT_LIMIT = 2**58
