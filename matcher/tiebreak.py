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

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from numba import njit

from matcher.arrays import Ids
from matcher.errors import SolverError
from matcher.solvers.augment import solve_augment
from matcher.solvers.base import FlowInput, Mask
from matcher.sparsify import solve_flow

__all__ = ["canonical_selection", "tie_keys"]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]


def _crc_table() -> U64:
    # The reflected CRC-32 polynomial of zlib, so that keys equal zlib.crc32 of the UTF-8 id.
    table = np.arange(256, dtype=np.uint64)
    for _ in range(8):
        table = np.where(table & np.uint64(1), (table >> np.uint64(1)) ^ np.uint64(0xEDB88320), table >> np.uint64(1))
    return table


_CRC_TABLE = _crc_table()
_FULL32 = np.uint64(0xFFFFFFFF)
_BYTE = np.uint64(0xFF)
_S8, _S27, _S30, _S31, _S32, _S33 = (np.uint64(s) for s in (8, 27, 30, 31, 32, 33))
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


@njit(cache=True, nogil=True)
def _crc32(data: npt.NDArray[np.uint8], ends: I64, table: U64) -> U64:  # pragma: no cover - compiled
    """``zlib.crc32`` of each ``data[ends[i - 1]:ends[i]]``."""
    out = np.empty(len(ends), dtype=np.uint64)
    lo = 0
    for i in range(len(ends)):
        c = _FULL32
        for k in range(lo, ends[i]):
            c = table[(c ^ np.uint64(data[k])) & _BYTE] ^ (c >> _S8)
        out[i] = c ^ _FULL32
        lo = ends[i]
    return out


def _id_hashes(ids: Sequence[str], index: Ids) -> U64:
    """A table over all of ``ids`` holding ``zlib.crc32`` of each UTF-8 id that ``index`` names (0 elsewhere).

    Hashed in one compiled pass over the joined bytes: ``zlib.crc32`` called per id took 0.4 s
    for 300k volunteer ids at every solve.
    """
    present = np.zeros(len(ids), dtype=bool)
    present[index] = True
    which = np.flatnonzero(present)
    named = list(map(ids.__getitem__, which.tolist()))
    joined = "".join(named)
    if joined.isascii():  # the common case: one encoding call, and characters are bytes
        data, lengths = joined.encode("ascii"), map(len, named)
    else:
        pieces = [name.encode() for name in named]
        data, lengths = b"".join(pieces), map(len, pieces)
    ends = np.cumsum(np.fromiter(lengths, dtype=np.int64, count=len(named)))
    table = np.zeros(len(ids), dtype=np.uint64)
    table[which] = _crc32(np.frombuffer(data, dtype=np.uint8), ends, _CRC_TABLE)
    return table


@njit(cache=True, nogil=True)
def _pair_keys(hv: U64, ha: U64, vol: Ids, act: Ids) -> I64:  # pragma: no cover - compiled
    out = np.empty(len(vol), dtype=np.int64)
    for e in range(len(vol)):
        # splitmix64 finaliser: spreads the crc32 pair over all bits before the top 31 are kept.
        x = (hv[vol[e]] << _S32) | ha[act[e]]
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
        out[e] = np.int64((x ^ (x >> _S31)) >> _S33)
    return out


def tie_keys(volunteer_ids: Sequence[str], activity_ids: Sequence[str], vol: Ids, act: Ids) -> I64:
    """The tie key of each pair ``(volunteer_ids[vol[e]], activity_ids[act[e]])``, in ``[0, 2**31)``.

    The top 31 bits of the splitmix64 finaliser of ``crc32(volunteer id) << 32 | crc32(activity id)``
    (ids in UTF-8).

    >>> tie_keys(["v1"], ["a1", "a2"], np.array([0, 0]), np.array([0, 1])).tolist() == tie_keys(
    ...     ["x", "v1"], ["a2", "a1"], np.array([1, 1]), np.array([1, 0])).tolist()
    True
    """
    vol, act = np.ascontiguousarray(vol), np.ascontiguousarray(act)
    return _pair_keys(_id_hashes(volunteer_ids, vol), _id_hashes(activity_ids, act), vol, act)


@njit(cache=True, nogil=True)
def _tight_count(tail: Ids, head: Ids, weight: I64, u: I64, y: I64, forced: Mask) -> int:  # pragma: no cover
    n_tight = 0
    for e in range(len(tail)):
        reduced = weight[e] - u[tail[e]] - y[head[e]]
        forced[e] = reduced > 0
        n_tight += reduced == 0
    return n_tight


@njit(cache=True, nogil=True)
def _tight_ids(tail: Ids, head: Ids, weight: I64, u: I64, y: I64, out: I64) -> None:  # pragma: no cover
    n = 0
    for e in range(len(tail)):
        if weight[e] - u[tail[e]] - y[head[e]] == 0:
            out[n] = e
            n += 1


def _classify(fi: FlowInput, u: I64, y: I64) -> tuple[Mask, I64]:
    """Edges with ``w > u + y`` (a mask) and with ``w == u + y`` (ids), in two compiled passes.

    At 35M edges numpy's blocked passes took 0.3 s and the tight filter after them 0.9 s more.
    """
    forced = np.empty(len(fi.tail), dtype=bool)
    tight = np.empty(_tight_count(fi.tail, fi.head, fi.weight, u, y, forced), dtype=np.int64)
    _tight_ids(fi.tail, fi.head, fi.weight, u, y, tight)
    return forced, tight


@njit(cache=True, nogil=True)
def _useful(
    tight: I64, tail: Ids, head: Ids, need: I64, fixed: Mask, seen_l: Mask, seen_r: Mask
) -> I64:  # pragma: no cover - compiled
    """Mark the nodes tight edges touch; return the tight edges with a constrained end."""
    keep = np.empty(len(tight), dtype=np.int64)
    n = 0
    for e in tight:
        v, a = tail[e], head[e]
        seen_l[v] = True
        seen_r[a] = True
        if need[v] > 0 or fixed[a]:
            keep[n] = e
            n += 1
    return keep[:n].copy()


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
    # Network on the tight edges only; nodes are those tight edges touch, renumbered. A tight
    # edge between two unconstrained nodes only adds its key: no least-key selection uses it
    # (with a zero key either way would do, so it is never used, whichever path solves).
    touched_l = np.zeros(len(fi.left_cap), dtype=bool)
    touched_r = np.zeros(len(fi.right_cap), dtype=bool)
    tight = _useful(tight, fi.tail, fi.head, left_need, y > 0, touched_l, touched_r)
    # Every priced node must be filled; a priced node with no tight edge must already be full.
    if (left_need[~touched_l] != 0).any() or (right_room[~touched_r & (y > 0)] != 0).any():
        raise SolverError("dual prices leave a priced node unfilled: they are not optimal")
    vols, acts = np.flatnonzero(touched_l), np.flatnonzero(touched_r)
    # int32 from the start: the tie network held every tight edge (33M of 35M at 300k volunteers
    # where places are filled by priority alone), and converting int64 endpoints took 0.9 s.
    t_tail = (np.cumsum(touched_l, dtype=np.int32) - 1)[fi.tail[tight]]
    t_head = (np.cumsum(touched_r, dtype=np.int32) - 1)[fi.head[tight]]
    v_need, v_room = left_need[vols], left_room[vols]
    a_room, a_fixed = right_room[acts], y[acts] > 0
    if (v_room <= 1).all():
        picked = _least_keys_by_augment(t_tail, t_head, keys(tight), v_need, v_room, a_room, a_fixed)
    else:
        picked = _least_keys_by_flow(t_tail, t_head, keys(tight), v_need, v_room, a_room, a_fixed)
    chosen[tight] = picked
    return chosen


def _least_keys_by_flow(tail: Ids, head: Ids, key: I64, v_need: I64, v_room: I64, a_room: I64, a_fixed: Mask) -> Mask:
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
    heads = np.concatenate([head.astype(np.int64) + nv, free_v, np.full(len(free_a), hub)])
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


@njit(cache=True, nogil=True)
def _tie_weights(tail: Ids, head: Ids, key: I64, v_fixed: Mask, a_fixed: Mask, bonus: int) -> I64:  # pragma: no cover
    """``bonus * (priced ends) - key`` per edge, in one pass (three whole-length temporaries before)."""
    out = np.empty(len(tail), dtype=np.int64)
    for e in range(len(tail)):
        out[e] = bonus * (np.int64(v_fixed[tail[e]]) + np.int64(a_fixed[head[e]])) - key[e]
    return out


def _least_keys_by_augment(
    tail: Ids, head: Ids, key: I64, v_need: I64, v_room: I64, a_room: I64, a_fixed: Mask
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
    fi = FlowInput(v_room, a_room, tail, head, _tie_weights(tail, head, key, v_need > 0, a_fixed, bonus))
    picked = solve_flow(fi, solve_augment).chosen
    if (np.bincount(tail[picked], minlength=len(v_need)) < v_need).any() or (
        np.bincount(head[picked], minlength=len(a_room))[a_fixed] < a_room[a_fixed]
    ).any():
        raise SolverError("dual prices leave a priced node unfilled: they are not optimal")
    return picked


#: Largest tie-break weight given to the augmenting-path solver (its int64 distances need headroom).
_AUGMENT_WEIGHT_LIMIT = 2**58
