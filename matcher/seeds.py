"""Seed pairs from indexes: the superset of eligible pairs that the rules then filter.

Never a dense volunteers x activities product: under ``selection="strict"`` the preference list
itself; otherwise a KD-tree range query for activities held in a place (run by run of start
times, against the volunteers with a window around that run) and, for online activities, the
volunteers holding the activity's rarest required skill or those free at its time (a range
search over availability windows sorted by start), whichever is fewer.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy.spatial import cKDTree

from matcher.arrays import segment_positions, sorted_lookup
from matcher.geo import chord_for_km, chords_for_km, unit_vectors
from matcher.problem import Problem

__all__ = ["seed_online", "seed_spatial", "seed_strict"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

# Chord queries run on floats; widen the search radius a little and let the exact haversine rule
# decide, so that no boundary pair is lost to rounding.
_SEARCH_SLACK_KM = 1e-6


def seed_strict(p: Problem) -> tuple[I64, I64]:
    """Every ranked pair (``selection="strict"`` admits no other)."""
    owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.pref_ptr))
    return owner, p.pref_act.astype(np.int64)


def seed_spatial(p: Problem, chunk_pairs: int) -> list[Callable[[], tuple[I64, I64]]]:
    """Seed makers for in-person activities, in groups of about ``chunk_pairs`` pairs each.

    Activities are split by start time into a few runs; each run is joined only with the
    volunteers holding a window that could contain one of its activities, and the always-available
    with all activities. At M a single join seeded 6.25M pairs of which the time rule kept a
    third; by runs, 2.7M (the same eligible pairs, at less than half the checking).
    """
    vols = np.flatnonzero(p.vol_has_location)
    acts = np.flatnonzero(p.act_has_location)
    if len(vols) == 0 or len(acts) == 0:
        return []
    radius = chord_for_km(p.policy.max_travel_km + _SEARCH_SLACK_KM)
    acts = acts[np.argsort(p.act_start[acts], kind="stable")]
    ptr, run_vols, run_acts = _time_runs(p, vols[~p.vol_always_available[vols]], acts)
    tasks = [(vols[p.vol_always_available[vols]], acts)]
    tasks += [(run_vols[ptr[k] : ptr[k + 1]], acts[run_acts[k] : run_acts[k + 1]]) for k in range(len(ptr) - 1)]
    return [maker for v, a in tasks if len(v) and len(a) for maker in _join(p, v, a, radius, chunk_pairs)]


def _join(p: Problem, vols: I64, acts: I64, radius: float, chunk_pairs: int) -> list[Callable[[], tuple[I64, I64]]]:
    """Seed makers for the pairs of ``vols`` and ``acts`` within ``radius`` (and each volunteer's reach)."""
    # Each volunteer's own limit, as a chord: most pairs within the menu's radius are beyond it.
    reach = chords_for_km(np.minimum(p.vol_max_travel_km[vols], p.policy.max_travel_km) + _SEARCH_SLACK_KM)
    vol_points = unit_vectors(p.vol_lat[vols], p.vol_lon[vols])
    vtree = _Lazy(lambda: cKDTree(vol_points))
    points = unit_vectors(p.act_lat[acts], p.act_lon[acts])
    # Group neighbours together (the tree's leaf order): a group spread over the whole city made
    # each join walk most of the volunteers' tree.
    near_first = cKDTree(points).indices
    acts, points = acts[near_first], points[near_first]
    # Bounding first limits the memory of every group before any pair is materialised.
    counts = _ball_bounds(vol_points, points, radius)

    def make(lo: int, hi: int) -> Callable[[], tuple[I64, I64]]:
        def seeds() -> tuple[I64, I64]:
            # A dual-tree join returns flat index arrays: 2.5x faster than per-point hit lists.
            hits = cKDTree(points[lo:hi]).sparse_distance_matrix(vtree.get(), radius, output_type="ndarray")
            hits = hits[hits["v"] <= reach[hits["j"]]]
            return vols[hits["j"]], acts[lo + hits["i"]]

        return seeds

    return [make(lo, hi) for lo, hi in _groups(counts, chunk_pairs)]


class _Lazy:
    """A KD-tree built by the first worker that needs it.

    The runs' trees are built in the workers, alongside the other worker's joins, rather than all
    up front in the calling thread.
    """

    def __init__(self, build: Callable[[], cKDTree]) -> None:
        self._build: Callable[[], cKDTree] | None = build
        self._tree: cKDTree | None = None
        self._lock = threading.Lock()

    def get(self) -> cKDTree:
        with self._lock:
            if self._build is not None:
                self._tree, self._build = self._build(), None
        assert self._tree is not None
        return self._tree


#: Start-time runs of in-person activities, at most; halved while the volunteers would sit in
#: more than half the runs on average (long windows span many runs, and runs stop paying).
_TIME_RUNS = 16


def _time_runs(p: Problem, vols: I64, acts: I64) -> tuple[I64, I64, I64]:
    """Split ``acts`` (sorted by start) into runs and find, per run, who could serve one of them.

    Returns ``(ptr, members, bounds)``: run ``k`` is ``acts[bounds[k]:bounds[k + 1]]`` and
    ``members[ptr[k]:ptr[k + 1]]`` are the volunteers of ``vols`` with a merged window starting by
    the run's last start and ending no earlier than its earliest end: every volunteer the time
    rule admits to one of its activities, and some it refuses. Equal starts share a run.
    """
    starts = p.act_start[acts]
    n_runs = min(_TIME_RUNS, len(np.unique(starts)))
    while True:
        cuts = np.searchsorted(starts, starts[(np.arange(1, n_runs) * len(acts)) // n_runs], side="left")
        bounds = np.unique(np.concatenate([[0], cuts, [len(acts)]]))
        lo_start, hi_start = starts[bounds[:-1]], starts[bounds[1:] - 1]
        min_end = np.minimum.reduceat(p.act_end[acts], bounds[:-1])
        args = (p.avail_ptr, p.avail_start, p.avail_end, vols, lo_start, hi_start, min_end)
        ptr = _run_members(*args, None)
        if n_runs == 1 or 2 * ptr[-1] <= n_runs * len(vols):
            return ptr, _run_members(*args, ptr), bounds
        n_runs //= 2


@njit(cache=True, nogil=True)
def _run_members(
    avail_ptr: I64,
    avail_start: I64,
    avail_end: I64,
    vols: I64,
    lo_start: I64,
    hi_start: I64,
    min_end: I64,
    ptr: I64 | None,
) -> I64:  # pragma: no cover - compiled
    """Without ``ptr``: the CSR pointer of each run's members. With it: the members, in ``vols`` order."""
    n_runs = len(hi_start)
    seen = np.full(n_runs, -1, dtype=np.int64)
    if ptr is None:
        count = np.zeros(n_runs + 1, dtype=np.int64)
    else:
        cursor = ptr[:-1].copy()
        members = np.empty(ptr[-1], dtype=np.int64)
    for v in vols:
        for k in range(avail_ptr[v], avail_ptr[v + 1]):
            # Runs whose last start is no earlier than the window's start, up to the first run
            # starting after the window ends.
            g = np.searchsorted(hi_start, avail_start[k])
            while g < n_runs and lo_start[g] <= avail_end[k]:
                if seen[g] != v and avail_end[k] >= min_end[g]:
                    seen[g] = v
                    if ptr is None:
                        count[g + 1] += 1
                    else:
                        members[cursor[g]] = v
                        cursor[g] += 1
                g += 1
    if ptr is None:
        return np.cumsum(count)
    return members


#: Grid cells per axis at most, so that a cell's three coordinates pack into one int64.
_CELLS = 2**20


def _ball_bounds(targets: F64, centres: F64, radius: float) -> I64:
    """Upper bounds on how many ``targets`` lie within ``radius`` of each of ``centres``.

    The count in the 27 grid cells around each centre, with cells no smaller than ``radius``: a
    few times the exact count, at a small fraction of the KD-tree's counting cost (2 s at 15k
    activities and 300k volunteers).
    """
    size = max(radius, 2.0 / _CELLS)

    def cell(x: F64) -> I64:
        # Unit vectors: every coordinate lies in [-1, 1], so cells index from 0 below 2**21.
        c = np.floor((x + 1.0) / size).astype(np.int64) + 1
        return (c[:, 0] << 42) | (c[:, 1] << 21) | c[:, 2]

    keys, per_cell = np.unique(cell(targets), return_counts=True)
    base = cell(centres)
    bounds = np.zeros(len(centres), dtype=np.int64)
    for dx, dy, dz in itertools.product((-1, 0, 1), repeat=3):
        pos, found = sorted_lookup(keys, base + ((dx << 42) + (dy << 21) + dz))
        bounds[found] += per_cell[pos[found]]
    return bounds


def _groups(counts: I64, chunk_pairs: int) -> list[tuple[int, int]]:
    """Consecutive ``[lo, hi)`` runs of items whose summed ``counts`` stay near ``chunk_pairs``."""
    group = np.cumsum(counts) // max(chunk_pairs, 1)
    cuts = np.flatnonzero(np.diff(group)) + 1
    bounds = np.concatenate([[0], cuts, [len(counts)]])
    return [(int(lo), int(hi)) for lo, hi in itertools.pairwise(bounds) if hi > lo]


@dataclass(frozen=True, eq=False)
class _TimeSeeds:
    """Who is free for a time span: the always-available, and the owners of the windows holding it.

    Merged windows are disjoint per volunteer, so each volunteer appears at most once. Windows no
    longer than ``span`` sit in ``short_*`` sorted by start: one holding ``[s, e]`` starts within
    ``[s - span, s]``, a narrow slice. The few longer ones are scanned whole.
    """

    always: I64
    span: int
    short_start: I64
    short_end: I64
    short_owner: I64
    long_start: I64
    long_end: I64
    long_owner: I64

    @classmethod
    def build(cls, p: Problem) -> _TimeSeeds:
        owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.avail_ptr))
        mine = ~p.vol_always_available[owner]
        start, end, owner = p.avail_start[mine], p.avail_end[mine], owner[mine]
        length = end - start
        span = int(np.quantile(length, _SHORT_QUANTILE, method="lower")) if len(length) else 0
        short = length <= span
        order = np.argsort(start[short], kind="stable")
        return cls(
            always=np.flatnonzero(p.vol_always_available),
            span=span,
            short_start=start[short][order],
            short_end=end[short][order],
            short_owner=owner[short][order],
            long_start=start[~short],
            long_end=end[~short],
            long_owner=owner[~short],
        )

    def bounds(self, start: I64) -> I64:
        """Upper bounds on the number of volunteers free at each of ``start``."""
        lo = np.searchsorted(self.short_start, start - self.span, side="left")
        hi = np.searchsorted(self.short_start, start, side="right")
        return len(self.always) + (hi - lo) + len(self.long_start)

    def free(self, start: int, end: int) -> I64:
        """The volunteers with availability covering ``[start, end]``."""
        lo = int(np.searchsorted(self.short_start, start - self.span, side="left"))
        hi = int(np.searchsorted(self.short_start, start, side="right"))
        near = self.short_owner[lo:hi][self.short_end[lo:hi] >= end]
        far = self.long_owner[(self.long_start <= start) & (self.long_end >= end)]
        return np.concatenate([self.always, near, far])


#: Windows up to this quantile of lengths are range-searched; longer ones are scanned.
_SHORT_QUANTILE = 0.95


def seed_online(p: Problem, chunk_pairs: int) -> list[Callable[[], tuple[I64, I64]]]:
    """Seed makers for online activities, in groups of about ``chunk_pairs`` pairs each.

    An online activity's seeds are the holders of its rarest required skill or the volunteers free
    at its time, whichever set is smaller. Time matters most: an online activity with no skill
    requirement used to seed every volunteer (133M seeds for 31M pairs at 300k volunteers).
    Grouping bounds memory: a few hundred online activities are tens of millions of seeds.
    """
    acts = np.flatnonzero(~p.act_has_location)
    if len(acts) == 0 or p.n_volunteers == 0:
        return []
    owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.vol_skill_ptr))
    # Inverted index: for each skill code, the volunteers holding it (any level).
    by_skill = np.lexsort((owner, p.vol_skill_code))
    holders = owner[by_skill]
    skill_ptr = np.searchsorted(p.vol_skill_code[by_skill], np.arange(len(p.skill_names) + 1)).astype(np.int64)
    # The rarest required skill gives the smallest skill superset of the eligible volunteers (-1: none).
    rarest = np.full(len(acts), -1, dtype=np.int64)
    gated = np.flatnonzero(np.diff(p.req_ptr)[acts] > 0)
    if len(gated):
        req_pos, slot = segment_positions(p.req_ptr, acts[gated])
        order = np.lexsort((np.diff(skill_ptr)[p.req_code[req_pos]], slot))
        first = np.searchsorted(slot[order], np.arange(len(gated)))
        rarest[gated] = p.req_code[req_pos[order[first]]]
    # A trailing 0 stands for 'no skill' (index -1), so that a pool without skills indexes safely.
    by_skill_count = np.where(rarest < 0, p.n_volunteers, np.append(np.diff(skill_ptr), 0)[rarest])
    everyone = np.arange(p.n_volunteers, dtype=np.int64)
    times = _TimeSeeds.build(p)
    by_time_count = times.bounds(p.act_start[acts])
    use_time = by_time_count < by_skill_count
    counts = np.minimum(by_time_count, by_skill_count)

    def one(j: int) -> I64:
        if use_time[j]:
            return times.free(int(p.act_start[acts[j]]), int(p.act_end[acts[j]]))
        r = int(rarest[j])
        return everyone if r < 0 else holders[skill_ptr[r] : skill_ptr[r + 1]]

    def make(lo: int, hi: int) -> Callable[[], tuple[I64, I64]]:
        def seeds() -> tuple[I64, I64]:
            vol_parts = [one(j) for j in range(lo, hi)]
            lengths = np.array([len(part) for part in vol_parts], dtype=np.int64)
            return np.concatenate(vol_parts), np.repeat(acts[lo:hi], lengths)

        return seeds

    return [make(lo, hi) for lo, hi in _groups(counts, chunk_pairs)]
