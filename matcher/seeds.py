"""Seed pairs from indexes: the superset of eligible pairs that the rules then filter.

Never a dense volunteers x activities product: under ``selection="strict"`` the preference list
itself; otherwise a KD-tree range query for activities held in a place and, for online
activities, the volunteers holding the activity's rarest required skill (or everyone, when it
requires none).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.spatial import cKDTree

from matcher.geo import chord_for_km, unit_vectors
from matcher.problem import Problem

__all__ = ["seed_online", "seed_spatial", "seed_strict"]

I64 = npt.NDArray[np.int64]

# Chord queries run on floats; widen the search radius a little and let the exact haversine rule
# decide, so that no boundary pair is lost to rounding.
_SEARCH_SLACK_KM = 1e-6


def _segment_positions(ptr: I64, owners: I64) -> tuple[I64, I64]:
    """For each owner, expand ``ptr[o]:ptr[o+1]``; return (position in flat array, owner slot)."""
    lengths = ptr[owners + 1] - ptr[owners]
    slot = np.repeat(np.arange(len(owners), dtype=np.int64), lengths)
    starts = np.repeat(ptr[owners] - np.cumsum(lengths) + lengths, lengths)
    return starts + np.arange(len(slot), dtype=np.int64), slot


def seed_strict(p: Problem) -> tuple[I64, I64]:
    """Every ranked pair (``selection="strict"`` admits no other)."""
    owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.pref_ptr))
    return owner, p.pref_act.astype(np.int64)


def seed_spatial(p: Problem, chunk_pairs: int) -> list[Callable[[], tuple[I64, I64]]]:
    """Seed makers for in-person activities, in groups of about ``chunk_pairs`` pairs each."""
    vols = np.flatnonzero(p.vol_has_location)
    acts = np.flatnonzero(p.act_has_location)
    if len(vols) == 0 or len(acts) == 0:
        return []
    radius = chord_for_km(p.policy.max_travel_km + _SEARCH_SLACK_KM)
    vtree = cKDTree(unit_vectors(p.vol_lat[vols], p.vol_lon[vols]))
    points = unit_vectors(p.act_lat[acts], p.act_lon[acts])
    # Counting first bounds the memory of every group before any pair is materialised.
    counts = vtree.query_ball_point(points, radius, return_length=True)

    def make(lo: int, hi: int) -> Callable[[], tuple[I64, I64]]:
        def seeds() -> tuple[I64, I64]:
            # A dual-tree join returns flat index arrays: 2.5x faster than per-point hit lists.
            hits = cKDTree(points[lo:hi]).sparse_distance_matrix(vtree, radius, output_type="ndarray")
            return vols[hits["j"]], acts[lo + hits["i"]]

        return seeds

    return [make(lo, hi) for lo, hi in _groups(counts, chunk_pairs)]


def _groups(counts: I64, chunk_pairs: int) -> list[tuple[int, int]]:
    """Consecutive ``[lo, hi)`` runs of items whose summed ``counts`` stay near ``chunk_pairs``."""
    group = np.cumsum(counts) // max(chunk_pairs, 1)
    cuts = np.flatnonzero(np.diff(group)) + 1
    bounds = np.concatenate([[0], cuts, [len(counts)]])
    return [(int(lo), int(hi)) for lo, hi in itertools.pairwise(bounds) if hi > lo]


def seed_online(p: Problem, chunk_pairs: int) -> list[Callable[[], tuple[I64, I64]]]:
    """Seed makers for online activities, in groups of about ``chunk_pairs`` pairs each.

    An online activity's seeds are the holders of its rarest required skill, or every volunteer
    when it requires none. Grouping matters: at 300k volunteers, a few hundred open online
    activities are tens of millions of seeds, which in one piece peaked at gigabytes.
    """
    acts = np.flatnonzero(~p.act_has_location)
    if len(acts) == 0 or p.n_volunteers == 0:
        return []
    owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.vol_skill_ptr))
    # Inverted index: for each skill code, the volunteers holding it (any level).
    by_skill = np.lexsort((owner, p.vol_skill_code))
    holders = owner[by_skill]
    skill_ptr = np.searchsorted(p.vol_skill_code[by_skill], np.arange(len(p.skill_names) + 1)).astype(np.int64)
    everyone = np.arange(p.n_volunteers, dtype=np.int64)
    # The rarest required skill gives the smallest superset of the eligible volunteers (-1: none).
    rarest = np.full(len(acts), -1, dtype=np.int64)
    gated = np.flatnonzero(np.diff(p.req_ptr)[acts] > 0)
    if len(gated):
        req_pos, slot = _segment_positions(p.req_ptr, acts[gated])
        order = np.lexsort((np.diff(skill_ptr)[p.req_code[req_pos]], slot))
        first = np.searchsorted(slot[order], np.arange(len(gated)))
        rarest[gated] = p.req_code[req_pos[order[first]]]
    # A trailing 0 stands for 'no skill' (index -1), so that a pool without skills indexes safely.
    counts = np.where(rarest < 0, p.n_volunteers, np.append(np.diff(skill_ptr), 0)[rarest])

    def make(lo: int, hi: int) -> Callable[[], tuple[I64, I64]]:
        def seeds() -> tuple[I64, I64]:
            vol_parts = [
                everyone if r < 0 else holders[skill_ptr[r] : skill_ptr[r + 1]] for r in rarest[lo:hi].tolist()
            ]
            return np.concatenate(vol_parts), np.repeat(acts[lo:hi], counts[lo:hi])

        return seeds

    return [make(lo, hi) for lo, hi in _groups(counts, chunk_pairs)]
