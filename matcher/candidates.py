"""Candidate edges: every eligible (volunteer, activity) pair, as sorted COO arrays.

The six eligibility rules (README, "Eligibility") are applied to the seed pairs of
:mod:`matcher.seeds` in groups of bounded size, on both cores: by the compiled
:func:`matcher.pairkernel.check_pairs` when generating, and by the vectorised rule functions here
when explaining a pair rule by rule (:mod:`matcher.diagnose`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.arrays import renumber, segment_positions, sorted_lookup
from matcher.geo import haversine_km
from matcher.memory import release_free_memory
from matcher.pairkernel import check_pairs, merge_pairs, vol_order
from matcher.problem import Problem
from matcher.seeds import seed_online, seed_spatial, seed_strict

__all__ = [
    "SKILL_TABLE_CELLS",
    "Edges",
    "SkillTable",
    "candidate_edges",
    "locate_pairs",
    "membership_check",
    "pair_keys",
    "preference_ranks",
    "role_check",
    "role_options",
    "skill_check",
    "time_check",
    "travel_check",
]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Edges:
    """Eligible pairs sorted by (volunteer, activity), with the facts the cost terms need.

    ``distance_m`` is the travel distance in whole metres (0 for online activities, which
    ``in_person`` marks False); ``rank`` is the preference tie-group index (0 = first choice,
    -1 = not ranked); ``surplus`` is the summed skill levels above what the activity requires.
    Every column is 32-bit (travel is capped at 20,000 km, 2e7 m): at 35M edges each int64
    column cost 140 MB more for the same values.
    """

    vol: I32
    act: I32
    distance_m: I32
    in_person: B
    rank: I32
    surplus: I32

    def __len__(self) -> int:
        return len(self.vol)

    def span(self, v: int) -> tuple[int, int]:
        """Positions ``lo, hi`` of volunteer ``v``'s edges, by binary search (edges are sorted by volunteer).

        The query takes the column's dtype: numpy casts the whole int32 column to compare it with
        int64 keys, 42 ms at 35M edges against 20 µs, on every explanation and recommendation.

        >>> e = Edges(*(np.array(c, dtype=np.int32) for c in ([0, 2, 2], [1, 0, 1], [0] * 3)),
        ...           np.ones(3, dtype=bool), *(np.zeros(3, dtype=np.int32) for _ in range(2)))
        >>> e.span(2), e.span(1)
        ((1, 3), (1, 1))
        """
        lo, hi = np.searchsorted(self.vol, np.array([v, v + 1], dtype=self.vol.dtype))
        return int(lo), int(hi)

    def select(self, keep: B) -> Edges:
        """The edges where ``keep`` is True, still sorted."""
        return Edges(
            vol=self.vol[keep],
            act=self.act[keep],
            distance_m=self.distance_m[keep],
            in_person=self.in_person[keep],
            rank=self.rank[keep],
            surplus=self.surplus[keep],
        )


def pair_keys(p: Problem, edges: Edges) -> I64:
    """One sortable int64 key per edge, ``vol * n_activities + act`` (ascending: edges are sorted)."""
    return edges.vol.astype(np.int64) * np.int64(max(p.n_activities, 1)) + edges.act


def locate_pairs(p: Problem, keys: I64, vids: Sequence[Any], aids: Sequence[Any]) -> tuple[I64, B, B]:
    """Where each ``(vids[k], aids[k])`` is among the edges with :func:`pair_keys` ``keys``.

    Returns ``(position, found, known)``: ``known`` is False where an id is not in the problem
    (or not a string), ``found`` where the pair is an edge; ``position`` is meaningful only there.
    """
    vol = np.array([p.volunteer_index.get(v, -1) if isinstance(v, str) else -1 for v in vids], dtype=np.int64)
    act = np.array([p.activity_index.get(a, -1) if isinstance(a, str) else -1 for a in aids], dtype=np.int64)
    known = (vol >= 0) & (act >= 0)
    pos, found = sorted_lookup(keys, vol * np.int64(max(p.n_activities, 1)) + act)
    return pos, found & known, known


@dataclass(frozen=True, eq=False)
class SkillTable:
    """Each volunteer's level in each *required* skill (0 = not held), for O(1) lookups.

    ``levels[v, column[k]]`` is volunteer ``v``'s level in skill code ``k``; ``column[k]`` is -1
    for skills no activity requires. ``levels`` is None when the table would exceed
    :data:`SKILL_TABLE_CELLS`, and lookups fall back to binary search.
    """

    column: I64
    levels: npt.NDArray[np.int8] | None

    @classmethod
    def build(cls, p: Problem, n_pairs: int | None = None) -> SkillTable:
        """The table for ``p`` (levels run 1..5, so one byte per cell).

        For ``n_pairs`` lookups fewer than a quarter of the volunteers (an explanation's few),
        no table: building one for the whole pool cost 13 ms a query at 300k volunteers.
        """
        required = np.unique(np.concatenate([p.req_code, p.rules.role_req_code]))
        column = np.full(len(p.skill_names), -1, dtype=np.int64)
        column[required] = np.arange(len(required), dtype=np.int64)
        few = n_pairs is not None and 4 * n_pairs < p.n_volunteers
        if few or p.n_volunteers * len(required) > SKILL_TABLE_CELLS:
            return cls(column, None)
        levels = np.zeros((p.n_volunteers, len(required)), dtype=np.int8)
        owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.vol_skill_ptr))
        col = column[p.vol_skill_code]
        held = col >= 0
        levels[owner[held], col[held]] = p.vol_skill_level[held]
        return cls(column, levels)

    def lookup(self, p: Problem, vol: I64, code: I64) -> I64:
        """Levels of volunteers ``vol`` in required skills ``code`` (pairwise)."""
        if self.levels is not None:
            return self.levels[vol, self.column[code]].astype(np.int64)
        n_skills = np.int64(max(len(p.skill_names), 1))
        rows, owner, slot = _rows_of(p.vol_skill_ptr, vol)
        at, found = sorted_lookup(owner * n_skills + p.vol_skill_code[rows], slot * n_skills + code)
        level = np.zeros(len(vol), dtype=np.int64)
        level[found] = p.vol_skill_level[rows[at[found]]]
        return level


def _rows_of(ptr: I64, vol: I64) -> tuple[I64, I64, I64]:
    """The rows of a per-volunteer CSR table that belong to the volunteers in ``vol``.

    Returns ``(positions, owner slot of each row, slot of each of vol)``: a pair's rows are those
    whose slot is its own. Rows stay in table order, so keys ``slot * n + code`` built on them
    are sorted where the codes are sorted within each volunteer. Only the volunteers asked about
    are keyed: an explanation asks about one, and keying the whole pool cost tens of ms a query
    at 300k volunteers.
    """
    who, slot = renumber(vol, len(ptr) - 1)
    rows, owner = segment_positions(ptr, who)
    return rows, owner, slot


#: Largest volunteers x required-skills table built for skill lookups (one byte per cell).
SKILL_TABLE_CELLS = 256 * 2**20


def skill_check(p: Problem, vol: I64, act: I64) -> tuple[B, I64]:
    """Rule 1 on pairs: return (every requirement met, summed surplus levels)."""
    table = SkillTable.build(p, len(vol))
    n_req = np.diff(p.req_ptr)[act]
    ok = np.ones(len(vol), dtype=bool)
    surplus = np.zeros(len(vol), dtype=np.int64)
    # One pass per requirement position (activities need a handful of skills): no pair x
    # requirement expansion, which cost more than the lookups themselves.
    for j in range(int(n_req.max(initial=0))):
        rows = np.flatnonzero(n_req > j)
        pos = p.req_ptr[act[rows]] + j
        gap = table.lookup(p, vol[rows], p.req_code[pos].astype(np.int64)) - p.req_level[pos]
        ok[rows] &= gap >= 0
        surplus[rows] += np.maximum(gap, 0)
    return ok, surplus


def role_options(p: Problem, vol: I64, act: I64) -> tuple[I64, I64]:
    """Each (pair, role) where the pair's volunteer meets the requirements of a role of its activity.

    Returns ``(pair index, global role index)``, sorted by pair and then role order. Only the
    roles' own requirements are checked here; the activity's are :func:`skill_check`'s.
    """
    rules = p.rules
    n_roles = np.diff(rules.role_ptr)[act]
    pair = np.repeat(np.arange(len(vol), dtype=np.int64), n_roles)
    first = np.repeat(np.cumsum(n_roles) - n_roles, n_roles)
    role = rules.role_ptr[act[pair]] + np.arange(len(pair), dtype=np.int64) - first
    ok = np.ones(len(pair), dtype=bool)
    if len(rules.role_req_code):
        table = SkillTable.build(p, len(pair))
        n_req = np.diff(rules.role_req_ptr)[role]
        for j in range(int(n_req.max(initial=0))):
            rows = np.flatnonzero(n_req > j)
            pos = rules.role_req_ptr[role[rows]] + j
            level = table.lookup(p, vol[pair[rows]], rules.role_req_code[pos].astype(np.int64))
            ok[rows] &= level >= rules.role_req_level[pos]
    return pair[ok], role[ok]


def role_check(p: Problem, vol: I64, act: I64) -> B:
    """Rule 6 on pairs: at an activity with roles, the volunteer meets some role's requirements."""
    ok = ~p.rules.act_has_roles[act]
    todo = np.flatnonzero(~ok)
    if len(todo):
        pair, _ = role_options(p, vol[todo], act[todo])
        ok[todo[pair]] = True
    return ok


def time_check(p: Problem, vol: I64, act: I64) -> B:
    """Rule 2 on pairs: one merged availability window contains ``[start, end]`` of the activity."""
    ok = p.vol_always_available[vol].copy()
    todo = np.flatnonzero(~ok)
    if len(todo) == 0 or len(p.avail_start) == 0:
        return ok
    v, a = vol[todo], act[todo]
    rows, owner, slot = _rows_of(p.avail_ptr, v)
    if len(rows) == 0:
        return ok
    # Windows keyed by (volunteer, rank of start time): one binary search per pair.
    starts = p.avail_start[rows]
    times = np.unique(np.concatenate([starts, p.act_start[a]]))
    window_keys = owner * np.int64(len(times) + 1) + np.searchsorted(times, starts)
    query = slot * np.int64(len(times) + 1) + np.searchsorted(times, p.act_start[a])
    idx = np.searchsorted(window_keys, query, side="right") - 1
    mine = (idx >= np.searchsorted(owner, slot)) & (idx >= 0)
    safe = np.maximum(idx, 0)
    ok[todo] = mine & (p.avail_end[rows[safe]] >= p.act_end[a])
    return ok


def membership_check(p: Problem, vol: I64, act: I64) -> B:
    """Rule 5 on pairs: an activity that is ``members_only`` admits members of a listed organisation."""
    ok = ~p.act_members_only[act]
    todo = np.flatnonzero(~ok)
    if len(todo) == 0:
        return ok
    n_codes = np.int64(max(len(p.membership_names), 1))
    v, a = vol[todo], act[todo]
    orgs, owner, slot = _rows_of(p.vol_org_ptr, v)
    held = owner * n_codes + p.vol_org_code[orgs]  # sorted: CSR by volunteer, codes sorted within
    n_listed = np.diff(p.act_member_ptr)[a]
    member = np.zeros(len(todo), dtype=bool)
    # One pass per listed position, as for skill requirements: lists are short.
    for j in range(int(n_listed.max(initial=0))):
        rows = np.flatnonzero(n_listed > j)
        code = p.act_member_code[p.act_member_ptr[a[rows]] + j].astype(np.int64)
        _, found = sorted_lookup(held, slot[rows] * n_codes + code)
        member[rows] |= found
    ok[todo] = member
    return ok


def travel_check(p: Problem, vol: I64, act: I64) -> tuple[B, F64]:
    """Rule 3 on pairs: return (reachable, distance in km; 0 for online activities)."""
    dist = np.zeros(len(vol), dtype=np.float64)
    in_person = p.act_has_location[act]
    both = in_person & p.vol_has_location[vol]
    dist[both] = haversine_km(p.vol_lat[vol[both]], p.vol_lon[vol[both]], p.act_lat[act[both]], p.act_lon[act[both]])
    limit = np.minimum(p.vol_max_travel_km[vol], p.policy.max_travel_km)
    ok = ~in_person | (both & (dist <= limit))
    return ok, dist


def preference_ranks(p: Problem, vol: I64, act: I64) -> I32:
    """Tie-group index of each pair in the volunteer's preferences, -1 where unranked."""
    n_acts = np.int64(max(p.n_activities, 1))
    prefs, owner, slot = _rows_of(p.pref_ptr, vol)
    at, found = sorted_lookup(owner * n_acts + p.pref_act[prefs], slot * n_acts + act)
    ranks = np.full(len(vol), -1, dtype=np.int32)
    ranks[found] = p.pref_rank[prefs[at[found]]]
    return ranks


#: Seed pairs materialised at once per worker: bounds the peak memory of candidate generation.
CHUNK_PAIRS = 2_000_000


def _no_seeds() -> tuple[I64, I64]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)


def _eligible(p: Problem, seeds: Callable[[], tuple[I64, I64]]) -> tuple[I32, I32, I32, I32, I32]:
    """The pairs of one seed group that pass all six rules, with surplus, rank and distance (m)."""
    vol, act = seeds()
    by_vol = vol_order(vol, p.n_volunteers)
    vol, act = vol[by_vol], act[by_vol]
    keep, surplus, rank = check_pairs(p, vol, act)
    kept = np.flatnonzero(keep)
    vol, act, surplus, rank = vol[kept], act[kept], surplus[kept], rank[kept]
    travel_ok, dist_km = travel_check(p, vol, act)
    kept = np.flatnonzero(travel_ok)
    # Narrow here, on both cores: the merged arrays are tens of millions long.
    distance_m = np.rint(dist_km[kept] * 1000.0).astype(np.int32)
    return vol[kept].astype(np.int32), act[kept].astype(np.int32), surplus[kept], rank[kept], distance_m


def candidate_edges(p: Problem, *, chunk_pairs: int = CHUNK_PAIRS, workers: int | None = None) -> Edges:
    """Return every pair that passes all six eligibility rules, sorted by (volunteer, activity).

    Seed pairs are produced and filtered in groups of about ``chunk_pairs``, on ``workers``
    threads (default: one per core, at most 2; numpy and the KD-tree release the GIL in the
    heavy loops). The output does not depend on either setting.

    >>> from matcher import compile_problem, Policy
    >>> len(candidate_edges(compile_problem([], [], Policy())))
    0
    """
    if p.policy.selection == "strict":
        groups = [lambda: seed_strict(p)]
    else:
        groups = [*seed_spatial(p, chunk_pairs), *seed_online(p, chunk_pairs)] or [_no_seeds]
    workers = workers if workers is not None else min(os.cpu_count() or 1, 2)
    if workers > 1 and len(groups) > 1:
        with ThreadPoolExecutor(workers) as pool:
            parts = list(pool.map(lambda g: _eligible(p, g), groups))
    else:
        parts = [_eligible(p, g) for g in groups]
    vol, act, surplus, rank, distance_m = merge_pairs(parts, p.n_volunteers, workers)
    del parts
    release_free_memory()  # the groups' memory, spread over both threads' heaps
    return Edges(
        vol=vol,
        act=act,
        distance_m=distance_m,
        in_person=p.act_has_location[act],
        rank=rank,
        surplus=surplus,
    )
