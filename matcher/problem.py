"""The columnar problem: validated models compiled into numpy arrays, sorted by id.

After this step nothing touches pydantic objects. Volunteers and activities are numbered in
canonical id order (Python string order, i.e. by Unicode code point), which makes every later
stage independent of the order in which records arrived. Variable-length data (skills,
availability, preferences, requirements) is stored in CSR form: ``ptr[i]:ptr[i + 1]`` slices the
flat arrays for record ``i``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

import numpy as np
import numpy.typing as npt

from matcher.errors import InputError, InputIssue
from matcher.models import Activity, Policy, Volunteer

__all__ = ["Problem", "compile_problem", "to_micros"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """Exact microseconds since the Unix epoch of an offset-aware datetime."""
    return (moment - _EPOCH) // _MICRO


def from_micros(micros: int) -> datetime:
    """Inverse of :func:`to_micros`, in UTC."""
    return _EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True, eq=False)
class Problem:
    """A compiled, immutable matching problem; build it with :func:`compile_problem`.

    Volunteer ``i`` is ``volunteer_ids[i]``; activity ``j`` is ``activity_ids[j]``; skill code
    ``k`` is ``skill_names[k]``. Times are int64 microseconds since the epoch (UTC). Missing
    locations are NaN, a missing personal travel limit is ``inf``.
    """

    policy: Policy
    volunteer_ids: tuple[str, ...]
    activity_ids: tuple[str, ...]
    skill_names: tuple[str, ...]
    vol_lat: F64
    vol_lon: F64
    vol_max_travel_km: F64
    vol_max_activities: I64
    vol_skill_ptr: I64
    vol_skill_code: I32
    vol_skill_level: I32
    vol_always_available: B
    avail_ptr: I64
    avail_start: I64
    avail_end: I64
    pref_ptr: I64
    pref_act: I32
    pref_rank: I32
    vol_pref_groups: I32
    act_start: I64
    act_end: I64
    act_lat: F64
    act_lon: F64
    act_capacity: I64
    act_priority: I64
    req_ptr: I64
    req_code: I32
    req_level: I32

    @property
    def n_volunteers(self) -> int:
        """Number of volunteers."""
        return len(self.volunteer_ids)

    @property
    def n_activities(self) -> int:
        """Number of activities."""
        return len(self.activity_ids)

    @cached_property
    def volunteer_index(self) -> dict[str, int]:
        """Map a volunteer id to its row."""
        return {vid: i for i, vid in enumerate(self.volunteer_ids)}

    @cached_property
    def activity_index(self) -> dict[str, int]:
        """Map an activity id to its row."""
        return {aid: j for j, aid in enumerate(self.activity_ids)}

    @property
    def vol_has_location(self) -> B:
        """Volunteers that gave a location."""
        return ~np.isnan(self.vol_lat)

    @property
    def act_has_location(self) -> B:
        """Activities held in a place (the others are online)."""
        return ~np.isnan(self.act_lat)


def _duplicate_issues(ids: Sequence[str], record: str) -> list[InputIssue]:
    counts = Counter(ids)
    return [
        InputIssue(record, rid, "id", f"duplicate id (appears {n} times)", "duplicate_id")
        for rid, n in sorted(counts.items())
        if n > 1
    ]


def _csr(lengths: Sequence[int]) -> I64:
    ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(np.asarray(lengths, dtype=np.int64), out=ptr[1:])
    return ptr


def _merge_windows(owner: I64, start: I64, end: I64, n_owners: int) -> tuple[I64, I64, I64]:
    """Merge each owner's windows that overlap or touch; return (ptr, start, end) in CSR form."""
    if len(owner) == 0:
        return np.zeros(n_owners + 1, dtype=np.int64), start, end
    order = np.lexsort((end, start, owner))
    owner, start, end = owner[order], start[order], end[order]
    # Rank-compress the times so that (owner, time) packs into one monotone int64 key.
    times, inverse = np.unique(np.concatenate([start, end]), return_inverse=True)
    stride = np.int64(len(times) + 1)
    skey = owner * stride + inverse[: len(start)]
    ekey = owner * stride + inverse[len(start) :]
    reach = np.maximum.accumulate(ekey)
    # A window opens a new merged block unless it starts at or before the reach of its
    # predecessors of the same owner ("touching" windows merge as well).
    new_block = np.ones(len(start), dtype=bool)
    new_block[1:] = skey[1:] > reach[:-1]
    block_id = np.cumsum(new_block) - 1
    block_start = start[new_block]
    block_end = np.full(int(block_id[-1]) + 1, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(block_end, block_id, end)
    block_owner = owner[new_block]
    ptr = np.zeros(n_owners + 1, dtype=np.int64)
    np.cumsum(np.bincount(block_owner, minlength=n_owners), out=ptr[1:])
    return ptr, block_start, block_end


def compile_problem(volunteers: Sequence[Volunteer], activities: Sequence[Activity], policy: Policy) -> Problem:
    """Compile validated models into a columnar :class:`Problem`.

    Checks what one record cannot check alone: unique ids and preferences that name existing
    activities. Raises :class:`~matcher.errors.InputError` listing every such problem.

    >>> from matcher.models import Policy
    >>> p = compile_problem([], [], Policy())
    >>> p.n_volunteers, p.n_activities
    (0, 0)
    """
    issues = _duplicate_issues([v.id for v in volunteers], "volunteer")
    issues += _duplicate_issues([a.id for a in activities], "activity")
    vols = sorted(volunteers, key=lambda v: v.id)
    acts = sorted(activities, key=lambda a: a.id)
    act_index = {a.id: j for j, a in enumerate(acts)}

    pref_lengths: list[int] = []
    pref_act: list[int] = []
    pref_rank: list[int] = []
    n_groups: list[int] = []
    for v in vols:
        groups = v.preference_groups()
        pairs: list[tuple[int, int]] = []
        for rank, group in enumerate(groups):
            for aid in group:
                j = act_index.get(aid)
                if j is None:
                    issues.append(
                        InputIssue(
                            "volunteer",
                            v.id,
                            "preferences",
                            f"refers to unknown activity id {aid!r}",
                            "unknown_activity",
                        )
                    )
                else:
                    pairs.append((j, rank))
        pairs.sort()
        pref_lengths.append(len(pairs))
        pref_act.extend(j for j, _ in pairs)
        pref_rank.extend(r for _, r in pairs)
        n_groups.append(len(groups))
    if issues:
        raise InputError(issues)

    skill_names = tuple(sorted({s for v in vols for s in v.skills} | {r.skill for a in acts for r in a.requirements}))
    skill_code = {s: k for k, s in enumerate(skill_names)}

    skill_items = [sorted((skill_code[s], lvl) for s, lvl in v.skills.items()) for v in vols]
    req_items = [sorted((skill_code[r.skill], r.min_level) for r in a.requirements) for a in acts]

    win_owner = [i for i, v in enumerate(vols) for _ in (v.availability or ())]
    win_start = [to_micros(w.start) for v in vols for w in (v.availability or ())]
    win_end = [to_micros(w.end) for v in vols for w in (v.availability or ())]
    avail_ptr, avail_start, avail_end = _merge_windows(
        np.asarray(win_owner, dtype=np.int64),
        np.asarray(win_start, dtype=np.int64),
        np.asarray(win_end, dtype=np.int64),
        len(vols),
    )

    nan = float("nan")
    return Problem(
        policy=policy,
        volunteer_ids=tuple(v.id for v in vols),
        activity_ids=tuple(a.id for a in acts),
        skill_names=skill_names,
        vol_lat=np.array([v.location.lat if v.location else nan for v in vols], dtype=np.float64),
        vol_lon=np.array([v.location.lon if v.location else nan for v in vols], dtype=np.float64),
        vol_max_travel_km=np.array(
            [v.max_travel_km if v.max_travel_km is not None else np.inf for v in vols], dtype=np.float64
        ),
        vol_max_activities=np.array([v.max_activities for v in vols], dtype=np.int64),
        vol_skill_ptr=_csr([len(items) for items in skill_items]),
        vol_skill_code=np.array([k for items in skill_items for k, _ in items], dtype=np.int32),
        vol_skill_level=np.array([lvl for items in skill_items for _, lvl in items], dtype=np.int32),
        vol_always_available=np.array([v.availability is None for v in vols], dtype=bool),
        avail_ptr=avail_ptr,
        avail_start=avail_start,
        avail_end=avail_end,
        pref_ptr=_csr(pref_lengths),
        pref_act=np.array(pref_act, dtype=np.int32),
        pref_rank=np.array(pref_rank, dtype=np.int32),
        vol_pref_groups=np.array(n_groups, dtype=np.int32),
        act_start=np.array([to_micros(a.start) for a in acts], dtype=np.int64),
        act_end=np.array([to_micros(a.end) for a in acts], dtype=np.int64),
        act_lat=np.array([a.location.lat if a.location else nan for a in acts], dtype=np.float64),
        act_lon=np.array([a.location.lon if a.location else nan for a in acts], dtype=np.float64),
        act_capacity=np.array([a.capacity for a in acts], dtype=np.int64),
        act_priority=np.array([a.priority for a in acts], dtype=np.int64),
        req_ptr=_csr([len(items) for items in req_items]),
        req_code=np.array([k for items in req_items for k, _ in items], dtype=np.int32),
        req_level=np.array([lvl for items in req_items for _, lvl in items], dtype=np.int32),
    )
