"""The columnar problem: validated models compiled into numpy arrays, sorted by id.

After this step nothing touches pydantic objects. Volunteers and activities are numbered in
canonical id order (Python string order, i.e. by Unicode code point), which makes every later
stage independent of the order in which records arrived. Variable-length data (skills,
availability, preferences, requirements) is stored in CSR form: ``ptr[i]:ptr[i + 1]`` slices the
flat arrays for record ``i``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.errors import InputError, InputIssue
from matcher.models import Activity, Policy, Volunteer

__all__ = ["NO_SIGNUP", "Columns", "Problem", "assemble", "compile_problem", "to_micros"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = _EPOCH.date().toordinal()
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
    locations are NaN, a missing personal travel limit is ``inf``. ``act_organization[j]`` indexes
    ``organization_names`` (sorted), -1 where the activity names no organisation; it is reported
    on, never used for matching. History (CSR by volunteer, sorted): ``hist_day`` in days since
    the epoch, ``hist_attended``, ``hist_rating`` (0 = not rated). ``vol_signup`` is the sign-up
    time (int64 max when not given). Memberships (CSR, codes into ``membership_names``): each
    volunteer's ``organizations`` and, for ``members_only`` activities, the organisations admitted.
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
    organization_names: tuple[str, ...]
    act_organization: I32
    vol_signup: I64
    membership_names: tuple[str, ...]
    vol_org_ptr: I64
    vol_org_code: I32
    act_members_only: B
    act_member_ptr: I64
    act_member_code: I32
    hist_ptr: I64
    hist_day: I64
    hist_attended: B
    hist_rating: I32

    @classmethod
    def from_frames(cls, volunteers: Any, activities: Any, policy: Policy | Mapping[str, Any] | None = None) -> Problem:
        """Validate and compile a volunteers table and an activities table.

        Tables are pandas, polars or Arrow tables (or mappings of column name to values), one row
        per record; the columns and the cell syntax are described in :mod:`matcher.tables`.
        """
        from matcher.tables import problem_from_tables

        return problem_from_tables(volunteers, activities, policy)

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

    def volunteer_row(self, volunteer_id: str) -> int:
        """The row of a volunteer id; an unknown id is an :class:`~matcher.errors.InputError`."""
        row = self.volunteer_index.get(volunteer_id)
        if row is None:
            raise InputError.single(
                "volunteer", volunteer_id, "volunteer_id", "no volunteer with this id in the problem", "unknown_id"
            )
        return row

    def activity_row(self, activity_id: str) -> int:
        """The row of an activity id; an unknown id is an :class:`~matcher.errors.InputError`."""
        row = self.activity_index.get(activity_id)
        if row is None:
            raise InputError.single(
                "activity", activity_id, "activity_id", "no activity with this id in the problem", "unknown_id"
            )
        return row

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


@dataclass
class Columns:
    """Records flattened into parallel lists, in input order, ready to be numbered and sorted.

    Both input paths fill one: :func:`compile_problem` from validated models, and
    :mod:`matcher.fastpath` straight from plain records and tables. Nested data is stored as
    (owner position, value...) triples; times are microseconds since the epoch.
    """

    vol_ids: list[str] = field(default_factory=list)
    vol_lat: list[float] = field(default_factory=list)
    vol_lon: list[float] = field(default_factory=list)
    vol_travel: list[float] = field(default_factory=list)
    vol_max_activities: list[int] = field(default_factory=list)
    vol_always: list[bool] = field(default_factory=list)
    vol_groups: list[int] = field(default_factory=list)
    vol_signup: list[int] = field(default_factory=list)
    org_owner: list[int] = field(default_factory=list)
    org_name: list[str] = field(default_factory=list)
    skill_owner: list[int] = field(default_factory=list)
    skill_name: list[str] = field(default_factory=list)
    skill_level: list[int] = field(default_factory=list)
    win_owner: list[int] = field(default_factory=list)
    win_start: list[int] = field(default_factory=list)
    win_end: list[int] = field(default_factory=list)
    pref_owner: list[int] = field(default_factory=list)
    pref_act: list[str] = field(default_factory=list)
    pref_rank: list[int] = field(default_factory=list)
    hist_owner: list[int] = field(default_factory=list)
    hist_day: list[int] = field(default_factory=list)
    hist_attended: list[bool] = field(default_factory=list)
    hist_rating: list[int] = field(default_factory=list)
    act_ids: list[str] = field(default_factory=list)
    act_start: list[int] = field(default_factory=list)
    act_end: list[int] = field(default_factory=list)
    act_lat: list[float] = field(default_factory=list)
    act_lon: list[float] = field(default_factory=list)
    act_capacity: list[int] = field(default_factory=list)
    act_priority: list[int] = field(default_factory=list)
    act_organization: list[str | None] = field(default_factory=list)
    act_members_only: list[bool] = field(default_factory=list)
    member_owner: list[int] = field(default_factory=list)
    member_name: list[str] = field(default_factory=list)
    req_owner: list[int] = field(default_factory=list)
    req_name: list[str] = field(default_factory=list)
    req_level: list[int] = field(default_factory=list)

    def add_volunteer(self, v: Volunteer) -> None:
        """Append one validated volunteer."""
        i = len(self.vol_ids)
        self.vol_ids.append(v.id)
        self.vol_lat.append(v.location.lat if v.location else _NAN)
        self.vol_lon.append(v.location.lon if v.location else _NAN)
        self.vol_travel.append(v.max_travel_km if v.max_travel_km is not None else _INF)
        self.vol_max_activities.append(v.max_activities)
        self.vol_always.append(v.availability is None)
        self.vol_signup.append(to_micros(v.signed_up_at) if v.signed_up_at is not None else NO_SIGNUP)
        for org in v.organizations or ():
            self.org_owner.append(i)
            self.org_name.append(org)
        for name, level in v.skills.items():
            self.skill_owner.append(i)
            self.skill_name.append(name)
            self.skill_level.append(level)
        for w in v.availability or ():
            self.win_owner.append(i)
            self.win_start.append(to_micros(w.start))
            self.win_end.append(to_micros(w.end))
        for service in v.history or ():
            self.hist_owner.append(i)
            self.hist_day.append(service.date.toordinal() - _EPOCH_DAY)
            self.hist_attended.append(service.outcome == "attended")
            self.hist_rating.append(service.rating or 0)
        groups = v.preference_groups()
        self.vol_groups.append(len(groups))
        for rank, group in enumerate(groups):
            for aid in group:
                self.pref_owner.append(i)
                self.pref_act.append(aid)
                self.pref_rank.append(rank)

    def add_activity(self, a: Activity) -> None:
        """Append one validated activity."""
        j = len(self.act_ids)
        self.act_ids.append(a.id)
        self.act_start.append(to_micros(a.start))
        self.act_end.append(to_micros(a.end))
        self.act_lat.append(a.location.lat if a.location else _NAN)
        self.act_lon.append(a.location.lon if a.location else _NAN)
        self.act_capacity.append(a.capacity)
        self.act_priority.append(a.priority)
        self.act_organization.append(a.organization)
        self.act_members_only.append(a.members_only is not None)
        for org in a.members_only or ():
            self.member_owner.append(j)
            self.member_name.append(org)
        for r in a.requirements:
            self.req_owner.append(j)
            self.req_name.append(r.skill)
            self.req_level.append(r.min_level)


_NAN = float("nan")
#: ``vol_signup`` of a volunteer without ``signed_up_at``: after everyone who gave one.
NO_SIGNUP = 2**63 - 1
_INF = float("inf")


def _canonical_order(ids: list[str]) -> I64:
    return np.array(sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64)


def _owner_csr(owner: list[int], rank: I64, n: int, *keys: npt.NDArray[np.int64]) -> tuple[I64, I64]:
    """Order items by (new owner number, keys...); return (ptr, order)."""
    new_owner = rank[np.asarray(owner, dtype=np.int64)] if owner else np.zeros(0, dtype=np.int64)
    order = np.lexsort((*reversed(keys), new_owner)) if len(new_owner) else np.zeros(0, dtype=np.int64)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(new_owner, minlength=n), out=ptr[1:])
    return ptr, order


def assemble(c: Columns, policy: Policy) -> Problem:
    """Number, sort and pack :class:`Columns` into a :class:`Problem`.

    Checks what one record cannot check alone: unique ids and preferences that name existing
    activities; raises :class:`~matcher.errors.InputError` listing every such problem.
    """
    issues = _duplicate_issues(c.vol_ids, "volunteer") + _duplicate_issues(c.act_ids, "activity")
    vol_order, act_order = _canonical_order(c.vol_ids), _canonical_order(c.act_ids)
    n_v, n_a = len(vol_order), len(act_order)
    vol_rank = np.empty(n_v, dtype=np.int64)
    vol_rank[vol_order] = np.arange(n_v, dtype=np.int64)
    act_rank = np.empty(n_a, dtype=np.int64)
    act_rank[act_order] = np.arange(n_a, dtype=np.int64)
    volunteer_ids = tuple(c.vol_ids[i] for i in vol_order)
    activity_ids = tuple(c.act_ids[j] for j in act_order)

    act_index = {aid: int(act_rank[j]) for j, aid in enumerate(c.act_ids)}
    pref_act = np.array([act_index.get(aid, -1) for aid in c.pref_act], dtype=np.int64)
    if (pref_act < 0).any():
        for k in np.flatnonzero(pref_act < 0):
            owner = c.vol_ids[c.pref_owner[int(k)]]
            message = f"refers to unknown activity id {c.pref_act[int(k)]!r}"
            issues.append(InputIssue("volunteer", owner, "preferences", message, "unknown_activity"))
    if issues:
        raise InputError(issues)

    skill_names = tuple(sorted(set(c.skill_name) | set(c.req_name)))
    skill_code = {s: k for k, s in enumerate(skill_names)}
    vol_skill_code = np.array([skill_code[s] for s in c.skill_name], dtype=np.int64)
    req_code = np.array([skill_code[s] for s in c.req_name], dtype=np.int64)
    hist_day = np.asarray(c.hist_day, dtype=np.int64)
    hist_attended = np.asarray(c.hist_attended, dtype=np.bool_)
    hist_rating = np.asarray(c.hist_rating, dtype=np.int64)
    hist_ptr, hist_order = _owner_csr(
        c.hist_owner, vol_rank, n_v, hist_day, hist_attended.astype(np.int64), hist_rating
    )
    membership_names = tuple(sorted(set(c.org_name) | set(c.member_name)))
    member_code = {o: k for k, o in enumerate(membership_names)}
    vol_org_code = np.array([member_code[o] for o in c.org_name], dtype=np.int64)
    act_member_code = np.array([member_code[o] for o in c.member_name], dtype=np.int64)
    vol_org_ptr, vol_org_order = _owner_csr(c.org_owner, vol_rank, n_v, vol_org_code)
    act_member_ptr, act_member_order = _owner_csr(c.member_owner, act_rank, n_a, act_member_code)
    organization_names = tuple(sorted({o for o in c.act_organization if o is not None}))
    org_code = {o: k for k, o in enumerate(organization_names)}
    act_org = [org_code[o] if o is not None else -1 for o in c.act_organization]

    skill_ptr, skill_order = _owner_csr(c.skill_owner, vol_rank, n_v, vol_skill_code)
    req_ptr, req_order = _owner_csr(c.req_owner, act_rank, n_a, req_code)
    pref_rank = np.asarray(c.pref_rank, dtype=np.int64)
    pref_ptr, pref_order = _owner_csr(c.pref_owner, vol_rank, n_v, pref_act)
    win_owner = vol_rank[np.asarray(c.win_owner, dtype=np.int64)] if c.win_owner else np.zeros(0, dtype=np.int64)
    avail_ptr, avail_start, avail_end = _merge_windows(
        win_owner, np.asarray(c.win_start, dtype=np.int64), np.asarray(c.win_end, dtype=np.int64), n_v
    )

    def by_vol(values: Sequence[float] | Sequence[int] | Sequence[bool], dtype: type) -> npt.NDArray[Any]:
        return np.asarray(values, dtype=dtype)[vol_order] if n_v else np.zeros(0, dtype=dtype)

    def by_act(values: Sequence[float] | Sequence[int], dtype: type) -> npt.NDArray[Any]:
        return np.asarray(values, dtype=dtype)[act_order] if n_a else np.zeros(0, dtype=dtype)

    return Problem(
        policy=policy,
        volunteer_ids=volunteer_ids,
        activity_ids=activity_ids,
        skill_names=skill_names,
        vol_lat=by_vol(c.vol_lat, np.float64),
        vol_lon=by_vol(c.vol_lon, np.float64),
        vol_max_travel_km=by_vol(c.vol_travel, np.float64),
        vol_max_activities=by_vol(c.vol_max_activities, np.int64),
        vol_skill_ptr=skill_ptr,
        vol_skill_code=vol_skill_code[skill_order].astype(np.int32),
        vol_skill_level=np.asarray(c.skill_level, dtype=np.int32)[skill_order],
        vol_always_available=by_vol(c.vol_always, np.bool_),
        avail_ptr=avail_ptr,
        avail_start=avail_start,
        avail_end=avail_end,
        pref_ptr=pref_ptr,
        pref_act=pref_act[pref_order].astype(np.int32),
        pref_rank=pref_rank[pref_order].astype(np.int32),
        vol_pref_groups=by_vol(c.vol_groups, np.int32),
        act_start=by_act(c.act_start, np.int64),
        act_end=by_act(c.act_end, np.int64),
        act_lat=by_act(c.act_lat, np.float64),
        act_lon=by_act(c.act_lon, np.float64),
        act_capacity=by_act(c.act_capacity, np.int64),
        act_priority=by_act(c.act_priority, np.int64),
        req_ptr=req_ptr,
        req_code=req_code[req_order].astype(np.int32),
        req_level=np.asarray(c.req_level, dtype=np.int32)[req_order],
        organization_names=organization_names,
        act_organization=by_act(act_org, np.int32),
        vol_signup=by_vol(c.vol_signup, np.int64),
        membership_names=membership_names,
        vol_org_ptr=vol_org_ptr,
        vol_org_code=vol_org_code[vol_org_order].astype(np.int32),
        act_members_only=by_act(c.act_members_only, np.bool_),
        act_member_ptr=act_member_ptr,
        act_member_code=act_member_code[act_member_order].astype(np.int32),
        hist_ptr=hist_ptr,
        hist_day=hist_day[hist_order],
        hist_attended=hist_attended[hist_order],
        hist_rating=hist_rating[hist_order].astype(np.int32),
    )


def compile_problem(volunteers: Sequence[Volunteer], activities: Sequence[Activity], policy: Policy) -> Problem:
    """Compile validated models into a columnar :class:`Problem`.

    Checks what one record cannot check alone: unique ids and preferences that name existing
    activities. Raises :class:`~matcher.errors.InputError` listing every such problem.

    >>> from matcher.models import Policy
    >>> p = compile_problem([], [], Policy())
    >>> p.n_volunteers, p.n_activities
    (0, 0)
    """
    columns = Columns()
    for v in volunteers:
        columns.add_volunteer(v)
    for a in activities:
        columns.add_activity(a)
    return assemble(columns, policy)
