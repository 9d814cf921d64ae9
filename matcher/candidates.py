"""Candidate edges: every eligible (volunteer, activity) pair, as sorted COO arrays.

The four eligibility rules (README, "Eligibility") are applied as vectorised filters over seed
pairs. Seeds come from indexes, never from a dense volunteers x activities product: under
``selection="strict"`` the preference list itself, otherwise a KD-tree range query for activities
held in a place and, for online activities, the volunteers holding the activity's rarest required
skill (or everyone, when it requires none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from matcher.geo import chord_for_km, haversine_km, unit_vectors
from matcher.problem import Problem

__all__ = [
    "SKILL_TABLE_CELLS",
    "Edges",
    "SkillTable",
    "candidate_edges",
    "preference_ranks",
    "skill_check",
    "sorted_lookup",
    "time_check",
    "travel_check",
]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

# Chord queries run on floats; widen the search radius a little and let the exact haversine rule
# decide, so that no boundary pair is lost to rounding.
_SEARCH_SLACK_KM = 1e-6


@dataclass(frozen=True, eq=False)
class Edges:
    """Eligible pairs sorted by (volunteer, activity), with the facts the cost terms need.

    ``distance_m`` is the travel distance in whole metres (0 for online activities, which
    ``in_person`` marks False); ``rank`` is the preference tie-group index (0 = first choice,
    -1 = not ranked); ``surplus`` is the summed skill levels above what the activity requires.
    """

    vol: I32
    act: I32
    distance_m: I64
    in_person: B
    rank: I32
    surplus: I64

    def __len__(self) -> int:
        return len(self.vol)


def _empty_i64() -> I64:
    return np.zeros(0, dtype=np.int64)


def _segment_positions(ptr: I64, owners: I64) -> tuple[I64, I64]:
    """For each owner, expand ``ptr[o]:ptr[o+1]``; return (position in flat array, owner slot)."""
    lengths = ptr[owners + 1] - ptr[owners]
    slot = np.repeat(np.arange(len(owners), dtype=np.int64), lengths)
    starts = np.repeat(ptr[owners] - np.cumsum(lengths) + lengths, lengths)
    return starts + np.arange(len(slot), dtype=np.int64), slot


def sorted_lookup(keys: I64, query: I64) -> tuple[I64, B]:
    """Positions of ``query`` in sorted ``keys`` and whether each was found."""
    pos = np.searchsorted(keys, query)
    found = np.zeros(len(query), dtype=bool)
    inside = pos < len(keys)
    found[inside] = keys[pos[inside]] == query[inside]
    return pos, found


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
    def build(cls, p: Problem) -> SkillTable:
        """The table for ``p`` (levels run 1..5, so one byte per cell)."""
        required = np.unique(p.req_code)
        column = np.full(len(p.skill_names), -1, dtype=np.int64)
        column[required] = np.arange(len(required), dtype=np.int64)
        if p.n_volunteers * len(required) > SKILL_TABLE_CELLS:
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
        owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.vol_skill_ptr))
        pos, found = sorted_lookup(owner * n_skills + p.vol_skill_code, vol * n_skills + code)
        level = np.zeros(len(vol), dtype=np.int64)
        level[found] = p.vol_skill_level[pos[found]]
        return level


#: Largest volunteers x required-skills table built for skill lookups (one byte per cell).
SKILL_TABLE_CELLS = 256 * 2**20


def skill_check(p: Problem, vol: I64, act: I64, table: SkillTable | None = None) -> tuple[B, I64]:
    """Rule 1 on pairs: return (every requirement met, summed surplus levels)."""
    table = table if table is not None else SkillTable.build(p)
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


def time_check(p: Problem, vol: I64, act: I64) -> B:
    """Rule 2 on pairs: one merged availability window contains ``[start, end]`` of the activity."""
    ok = p.vol_always_available[vol].copy()
    todo = np.flatnonzero(~ok)
    if len(todo) == 0 or len(p.avail_start) == 0:
        return ok
    v, a = vol[todo], act[todo]
    times = np.unique(np.concatenate([p.avail_start, p.act_start]))
    stride = np.int64(len(times) + 1)
    owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.avail_ptr))
    window_keys = owner * stride + np.searchsorted(times, p.avail_start)
    query = v * stride + np.searchsorted(times, p.act_start[a])
    idx = np.searchsorted(window_keys, query, side="right") - 1
    mine = (idx >= p.avail_ptr[v]) & (idx >= 0)
    safe = np.maximum(idx, 0)
    ok[todo] = mine & (p.avail_end[safe] >= p.act_end[a])
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
    owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.pref_ptr))
    n_act = np.int64(max(p.n_activities, 1))
    pos, found = sorted_lookup(owner * n_act + p.pref_act, vol * n_act + act)
    ranks = np.full(len(vol), -1, dtype=np.int32)
    ranks[found] = p.pref_rank[pos[found]]
    return ranks


def _seed_strict(p: Problem) -> tuple[I64, I64]:
    owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.pref_ptr))
    return owner, p.pref_act.astype(np.int64)


def _seed_spatial(p: Problem) -> tuple[I64, I64]:
    vols = np.flatnonzero(p.vol_has_location)
    acts = np.flatnonzero(p.act_has_location)
    if len(vols) == 0 or len(acts) == 0:
        return _empty_i64(), _empty_i64()
    radius = chord_for_km(p.policy.max_travel_km + _SEARCH_SLACK_KM)
    vtree = cKDTree(unit_vectors(p.vol_lat[vols], p.vol_lon[vols]))
    atree = cKDTree(unit_vectors(p.act_lat[acts], p.act_lon[acts]))
    # output_type="ndarray" keeps zero-distance pairs, which a sparse matrix would drop.
    hits = atree.sparse_distance_matrix(vtree, radius, output_type="ndarray")
    return vols[hits["j"]].astype(np.int64), acts[hits["i"]].astype(np.int64)


def _seed_online(p: Problem) -> tuple[I64, I64]:
    acts = np.flatnonzero(~p.act_has_location)
    if len(acts) == 0 or p.n_volunteers == 0:
        return _empty_i64(), _empty_i64()
    owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.vol_skill_ptr))
    # Inverted index: for each skill code, the volunteers holding it (any level).
    by_skill = np.lexsort((owner, p.vol_skill_code))
    holders = owner[by_skill]
    skill_ptr = np.searchsorted(p.vol_skill_code[by_skill], np.arange(len(p.skill_names) + 1))
    holder_count = np.diff(skill_ptr)
    vol_parts: list[I64] = []
    act_parts: list[I64] = []
    open_acts = acts[np.diff(p.req_ptr)[acts] == 0]
    if len(open_acts):
        vol_parts.append(np.tile(np.arange(p.n_volunteers, dtype=np.int64), len(open_acts)))
        act_parts.append(np.repeat(open_acts, p.n_volunteers))
    gated = acts[np.diff(p.req_ptr)[acts] > 0]
    if len(gated):
        # The rarest required skill gives the smallest superset of the eligible volunteers.
        req_pos, slot = _segment_positions(p.req_ptr, gated)
        counts = holder_count[p.req_code[req_pos]]
        order = np.lexsort((counts, slot))
        first = np.searchsorted(slot[order], np.arange(len(gated)))
        rarest = p.req_code[req_pos[order[first]]].astype(np.int64)
        pos, slot2 = _segment_positions(skill_ptr.astype(np.int64), rarest)
        vol_parts.append(holders[pos])
        act_parts.append(gated[slot2])
    return np.concatenate(vol_parts), np.concatenate(act_parts)


def candidate_edges(p: Problem) -> Edges:
    """Return every pair that passes all four eligibility rules, sorted by (volunteer, activity).

    >>> from matcher import compile_problem, Policy
    >>> len(candidate_edges(compile_problem([], [], Policy())))
    0
    """
    if p.policy.selection == "strict":
        vol, act = _seed_strict(p)
    else:
        sv, sa = _seed_spatial(p)
        ov, oa = _seed_online(p)
        vol, act = np.concatenate([sv, ov]), np.concatenate([sa, oa])

    skills_ok, surplus = skill_check(p, vol, act)
    keep = np.flatnonzero(skills_ok)
    vol, act, surplus = vol[keep], act[keep], surplus[keep]

    keep = np.flatnonzero(time_check(p, vol, act))
    vol, act, surplus = vol[keep], act[keep], surplus[keep]

    travel_ok, dist_km = travel_check(p, vol, act)
    keep = np.flatnonzero(travel_ok)
    vol, act, surplus, dist_km = vol[keep], act[keep], surplus[keep], dist_km[keep]

    ranks = preference_ranks(p, vol, act)
    order = np.lexsort((act, vol))
    return Edges(
        vol=vol[order].astype(np.int32),
        act=act[order].astype(np.int32),
        distance_m=np.rint(dist_km[order] * 1000.0).astype(np.int64),
        in_person=p.act_has_location[act[order]],
        rank=ranks[order],
        surplus=surplus[order],
    )
