"""Compiled eligibility on seed pairs: every rule but travel in one pass per pair.

The numpy rule functions in :mod:`matcher.candidates` take one pass over all pairs per rule and
per requirement position, with a temporary array each time; at 300k volunteers that was most of
the candidate stage (tens of millions of seed pairs, ~15 s). Here one compiled loop reads each
pair's few skills, windows, memberships and roles in place. The numpy functions stay: the
explanations use them rule by rule, and the tests check this kernel against them.

Travel is left to :func:`matcher.candidates.travel_check` so that distances come from one
haversine implementation (a compiled ``sin`` may differ from numpy's in the last bit, which
could move a pair across the travel limit or a metre boundary).
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
from numba import njit, types
from numba.typed import List

from matcher.problem import Problem
from matcher.solvers._kernels import counting_order

__all__ = ["check_pairs", "merge_pairs", "vol_order"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
B = npt.NDArray[np.bool_]


@njit(cache=True, nogil=True, inline="always")
def _level(ptr: I64, code: I32, level: I32, v: int, skill: int) -> int:  # pragma: no cover - compiled
    # A volunteer holds a handful of skills, sorted by code.
    for k in range(ptr[v], ptr[v + 1]):
        if code[k] == skill:
            return int(level[k])
        if code[k] > skill:
            break
    return 0


@njit(cache=True, nogil=True, inline="always")
def _available(
    always: B, avail_ptr: I64, avail_start: I64, avail_end: I64, v: int, start: int, end: int
) -> bool:  # pragma: no cover - compiled
    if always[v]:
        return True
    # Merged windows are disjoint and sorted: only the last one starting by ``start`` can hold it.
    last = -1
    for k in range(avail_ptr[v], avail_ptr[v + 1]):
        if avail_start[k] > start:
            break
        last = k
    return last >= 0 and avail_end[last] >= end


@njit(cache=True, nogil=True, inline="always")
def _member(org_ptr: I64, org_code: I32, member_ptr: I64, member_code: I32, v: int, a: int) -> bool:  # pragma: no cover
    for k in range(member_ptr[a], member_ptr[a + 1]):
        for m in range(org_ptr[v], org_ptr[v + 1]):
            if org_code[m] == member_code[k]:
                return True
    return False


@njit(cache=True, nogil=True)
def _check(
    vol: I64,
    act: I64,
    skill_ptr: I64,
    skill_code: I32,
    skill_level: I32,
    req_ptr: I64,
    req_code: I32,
    req_level: I32,
    always: B,
    avail_ptr: I64,
    avail_start: I64,
    avail_end: I64,
    act_start: I64,
    act_end: I64,
    members_only: B,
    org_ptr: I64,
    org_code: I32,
    member_ptr: I64,
    member_code: I32,
    role_ptr: I64,
    role_req_ptr: I64,
    role_req_code: I32,
    role_req_level: I32,
    pref_ptr: I64,
    pref_act: I32,
    pref_rank: I32,
) -> tuple[B, I32, I32]:  # pragma: no cover - compiled
    n = len(vol)
    keep = np.zeros(n, dtype=np.bool_)
    surplus = np.zeros(n, dtype=np.int32)
    rank = np.full(n, -1, dtype=np.int32)
    for i in range(n):
        v, a = vol[i], act[i]
        if not _available(always, avail_ptr, avail_start, avail_end, v, act_start[a], act_end[a]):
            continue
        extra, met = 0, True
        for k in range(req_ptr[a], req_ptr[a + 1]):
            gap = _level(skill_ptr, skill_code, skill_level, v, req_code[k]) - req_level[k]
            if gap < 0:
                met = False
                break
            extra += gap
        if not met:
            continue
        if members_only[a] and not _member(org_ptr, org_code, member_ptr, member_code, v, a):
            continue
        if role_ptr[a + 1] > role_ptr[a]:
            fits = False
            for r in range(role_ptr[a], role_ptr[a + 1]):
                fits = True
                for k in range(role_req_ptr[r], role_req_ptr[r + 1]):
                    if _level(skill_ptr, skill_code, skill_level, v, role_req_code[k]) < role_req_level[k]:
                        fits = False
                        break
                if fits:
                    break
            if not fits:
                continue
        keep[i] = True
        surplus[i] = extra
        for k in range(pref_ptr[v], pref_ptr[v + 1]):
            if pref_act[k] == a:
                rank[i] = pref_rank[k]
                break
            if pref_act[k] > a:
                break
    return keep, surplus, rank


def check_pairs(p: Problem, vol: I64, act: I64) -> tuple[B, I32, I32]:
    """Rules 1, 2, 5 and 6 on pairs, with each kept pair's skill surplus and preference rank.

    Returns ``(keep, surplus, rank)``: ``keep`` is :func:`~matcher.candidates.skill_check`,
    :func:`~matcher.candidates.time_check`, :func:`~matcher.candidates.membership_check` and
    :func:`~matcher.candidates.role_check` together; ``surplus`` and ``rank`` (the preference
    tie-group, -1 where unranked) are set where ``keep`` is True, 0 and -1 elsewhere. Releases the
    GIL, so threads run it on both cores.
    """
    rules = p.rules
    return _check(
        np.ascontiguousarray(vol, dtype=np.int64),
        np.ascontiguousarray(act, dtype=np.int64),
        p.vol_skill_ptr,
        p.vol_skill_code,
        p.vol_skill_level,
        p.req_ptr,
        p.req_code,
        p.req_level,
        p.vol_always_available,
        p.avail_ptr,
        p.avail_start,
        p.avail_end,
        p.act_start,
        p.act_end,
        p.act_members_only,
        p.vol_org_ptr,
        p.vol_org_code,
        p.act_member_ptr,
        p.act_member_code,
        rules.role_ptr,
        rules.role_req_ptr,
        rules.role_req_code,
        rules.role_req_level,
        p.pref_ptr,
        p.pref_act,
        p.pref_rank,
    )


def vol_order(vol: I64, n_volunteers: int) -> I64:
    """The stable permutation that sorts pairs by volunteer.

    :func:`check_pairs` runs 3-4x faster on pairs in this order at 300k volunteers: each
    volunteer's skills, windows and preferences are read from memory once, not once per pair.
    """
    vol = np.ascontiguousarray(vol, dtype=np.int64)
    return counting_order(vol, n_volunteers, np.arange(len(vol), dtype=np.int64))


Pairs = tuple[I32, I32, I32, I32, I32]
# The numba type of one group in the typed list the merge kernel reads (numba ships no stubs).
_PAIRS_TYPE = types.UniTuple(types.int32[::1], 5)  # type: ignore[no-untyped-call]


@njit(cache=True, nogil=True, inline="always")
def _permute(values: I32, order: I64, buffer: I32, lo: int, n: int) -> None:  # pragma: no cover
    """``values[lo:lo+n] = values[order[:n]]``, through ``buffer``."""
    for k in range(n):
        buffer[k] = values[order[k]]
    values[lo : lo + n] = buffer[:n]


@njit(cache=True, nogil=True)
def _sort_segment(
    lo: int, hi: int, act: I32, surplus: I32, rank: I32, dist: I32, keys: I64, order: I64, narrow: I32
) -> None:  # pragma: no cover - compiled
    """Sort pairs ``lo..hi-1`` stably by activity, all four columns alike.

    A volunteer's pairs come as a few unsorted spatial ones followed by the online ones in
    activity order (online groups cover ascending activity ranges). So the unsorted prefix is
    sorted on its own and merged with the sorted suffix: close to linear in the segment, where
    sorting it whole was most of the merge's time at 35M pairs. Correct for any order.
    """
    cut = hi - 1
    while cut > lo and act[cut - 1] <= act[cut]:
        cut -= 1
    if cut <= lo:
        return
    # Keys (activity, position) are distinct, so the fast unstable sort gives the stable order.
    m = cut - lo
    for k in range(m):
        keys[k] = np.int64(act[lo + k]) * m + k
    keys[:m].sort()
    for k in range(m):
        keys[k] = keys[k] % m + lo
    i, j, n = 0, cut, 0
    while i < m or j < hi:
        # Ties go to the prefix: it came first.
        if j >= hi or (i < m and act[keys[i]] <= act[j]):
            order[n] = keys[i]
            i += 1
        else:
            order[n] = j
            j += 1
        n += 1
    _permute(act, order, narrow, lo, n)
    _permute(rank, order, narrow, lo, n)
    _permute(surplus, order, narrow, lo, n)
    _permute(dist, order, narrow, lo, n)


@njit(cache=True, nogil=True)
def _merge_blocks(
    bounds: I32,
    first: int,
    last: int,
    cuts: I64,
    parts: List[Pairs] | tuple[Pairs],
    ptr: I64,
    cursor: I64,
    out: Pairs,
    longest: int,
) -> bool:  # pragma: no cover - compiled
    """Fill volunteer blocks ``first..last-1`` of ``out`` from every group; False if a pair falls outside its block.

    Block ``b`` holds volunteers ``bounds[b] <= v < bounds[b + 1]``; group ``i`` reaches it at
    ``cuts[i, b]``, in ``parts[i]`` or, when ``parts`` is one copy of all the groups one after
    another, in ``parts[0]``. Each block's slice of the output is a few MB, so it stays in cache
    while every group writes into it and while its volunteers' pairs are sorted by activity.
    """
    _, act, surplus, rank, dist = out
    keys = np.empty(longest, dtype=np.int64)
    order = np.empty(longest, dtype=np.int64)
    narrow = np.empty(longest, dtype=np.int32)
    for b in range(first, last):
        lo_v, hi_v = bounds[b], bounds[b + 1]
        for i in range(cuts.shape[0]):
            vol, p_act, p_surplus, p_rank, p_dist = parts[i if len(parts) > 1 else 0]
            for j in range(cuts[i, b], cuts[i, b + 1]):
                v = vol[j]
                if v < lo_v or v >= hi_v:
                    return False
                k = cursor[v]
                cursor[v] = k + 1
                act[k] = p_act[j]
                surplus[k] = p_surplus[j]
                rank[k] = p_rank[j]
                dist[k] = p_dist[j]
        for v in range(lo_v, hi_v):
            _sort_segment(ptr[v], ptr[v + 1], act, surplus, rank, dist, keys, order, narrow)
    return True


#: Pairs per volunteer block of the merge: 4 int32 columns of 256k pairs (4 MB) stay in cache.
MERGE_BLOCK = 1 << 18


#: Pools of up to this many pairs are merged from one copy of their groups (at most 160 MB),
#: larger ones from a numba typed list of the groups. The list's methods are compiled afresh in
#: every process, 0.6 s before the first merge at any size: most of a small pool's matching
#: time; copying the 35M pairs of L instead cost 0.5-1 s.
COPY_MAX_PAIRS = 1 << 23


def _groups(parts: list[Pairs], start: I64) -> List[Pairs] | tuple[Pairs]:
    """The groups as the merge kernel reads them: one copy of all of them, or a typed list."""
    if 0 < start[-1] <= COPY_MAX_PAIRS:
        joined = [np.concatenate([part[k] for part in parts]).astype(np.int32, copy=False) for k in range(5)]
        return ((joined[0], joined[1], joined[2], joined[3], joined[4]),)
    groups = List.empty_list(_PAIRS_TYPE)
    for part in parts:
        groups.append(tuple(np.ascontiguousarray(column, dtype=np.int32) for column in part))
    return groups


def merge_pairs(parts: list[Pairs], n_volunteers: int, workers: int = 1, block: int = MERGE_BLOCK) -> Pairs:
    """Concatenate groups of ``(vol, act, surplus, rank, distance)`` and sort them by (volunteer, activity).

    Each group must be sorted by volunteer (:func:`vol_order`); ``ValueError`` where one is not
    and that would misplace a pair. The output is cut into blocks of consecutive volunteers holding
    about ``block`` pairs; each block takes its slice of every group and then sorts its
    volunteers' few pairs by activity in place, with the blocks shared between ``workers``
    threads. Scattering whole groups into the whole output instead wrote each pair to a cache line
    that every other group also visited: 2.4 s of memory traffic at 35M pairs. The result equals
    a stable ``np.lexsort((act, vol))`` of the concatenation.

    >>> parts = [(np.array([0, 1], np.int32), np.array([2, 1], np.int32), np.array([5, 6], np.int32),
    ...           np.array([0, -1], np.int32), np.array([7, 8], np.int32)),
    ...          (np.array([0], np.int32), np.array([1], np.int32), np.array([4], np.int32),
    ...           np.array([1], np.int32), np.array([9], np.int32))]
    >>> [x.tolist() for x in merge_pairs(parts, 2)]
    [[0, 0, 1], [1, 2, 1], [4, 5, 6], [1, 0, -1], [9, 7, 8]]
    """
    counts = np.zeros(n_volunteers, dtype=np.int64)
    for part in parts:
        counts += np.bincount(part[0], minlength=n_volunteers)
    ptr = np.zeros(n_volunteers + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    n = int(ptr[-1])
    vol = np.repeat(np.arange(n_volunteers, dtype=np.int32), counts)
    out: Pairs = (vol, np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.int32))
    # Block bounds: the volunteers where each block-th pair falls, deduplicated.
    owners = np.searchsorted(ptr, np.arange(0, n, block), side="right") - 1
    bounds = np.unique(np.concatenate([[0], owners, [n_volunteers]])).astype(np.int32)
    n_blocks = len(bounds) - 1
    start = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(part[0]) for part in parts], out=start[1:])
    groups = _groups(parts, start)
    # Where each group reaches each block: within the group, or within the one copy of them all.
    offset = start if len(groups) == 1 else np.zeros(len(start), dtype=np.int64)
    cuts = np.zeros((len(parts), n_blocks + 1), dtype=np.int64)
    for i, part in enumerate(parts):
        cuts[i] = np.searchsorted(part[0], bounds) + offset[i]
    cursor = ptr[:-1].copy()
    longest = int(counts.max(initial=0))
    # Blocks split between the threads by pairs, so each thread sorts about as much.
    split = np.searchsorted(ptr[bounds], [n * k // workers for k in range(1, workers)]).tolist()
    spans = [(lo, max(hi, lo)) for lo, hi in itertools.pairwise([0, *split, n_blocks])]

    def fill(span: tuple[int, int]) -> bool:
        return bool(_merge_blocks(bounds, span[0], span[1], cuts, groups, ptr, cursor, out, longest))

    if workers > 1 and n_blocks > 1:
        with ThreadPoolExecutor(workers) as pool:
            ok = all(list(pool.map(fill, spans)))
    else:
        ok = fill((0, n_blocks))
    if not ok:
        raise ValueError("merge_pairs: a group of pairs is not sorted by volunteer")
    return out
