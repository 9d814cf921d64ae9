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
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from matcher.columns import NO_SIGNUP, Columns, from_micros, to_micros
from matcher.errors import InputError, InputIssue
from matcher.models import Activity, Policy, Volunteer
from matcher.rules import MenuRules, compile_rules

__all__ = ["NO_SIGNUP", "Columns", "Problem", "assemble", "compile_problem", "from_micros", "to_micros"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


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
    rules: MenuRules

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
    def act_busy_end(self) -> I64:
        """When each activity stops blocking its volunteers: its end plus ``policy.min_rest_minutes``.

        Two activities clash for one volunteer when ``[start, busy_end)`` intervals overlap.
        """
        busy: I64 = self.act_end + np.int64(self.rules.rest_micros)
        return busy

    @property
    def vol_has_location(self) -> B:
        """Volunteers that gave a location."""
        return ~np.isnan(self.vol_lat)

    @property
    def act_has_location(self) -> B:
        """Activities held in a place (the others are online)."""
        return ~np.isnan(self.act_lat)


def _duplicate_issues(ids: Sequence[str], record: str) -> list[InputIssue]:
    if len(set(ids)) == len(ids):
        return []
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
    return _merge_sorted_windows(owner[order], start[order], end[order], n_owners)


@njit(cache=True)
def _merge_sorted_windows(owner: I64, start: I64, end: I64, n_owners: int) -> tuple[I64, I64, I64]:  # pragma: no cover
    # One pass: numpy needed the times rank-compressed (np.unique, 0.3 s at 1.1M windows) to run
    # a per-owner maximum.
    block_start = np.empty(len(owner), dtype=np.int64)
    block_end = np.empty(len(owner), dtype=np.int64)
    ptr = np.zeros(n_owners + 1, dtype=np.int64)
    m = -1
    for i in range(len(owner)):
        # A window opens a new block unless it starts at or before the end of its owner's
        # current one ("touching" windows merge as well).
        if m >= 0 and owner[i] == owner[i - 1] and start[i] <= block_end[m]:
            block_end[m] = max(block_end[m], end[i])
        else:
            m += 1
            block_start[m], block_end[m] = start[i], end[i]
            ptr[owner[i] + 1] += 1
    return np.cumsum(ptr), block_start[: m + 1].copy(), block_end[: m + 1].copy()


def _codes(code: dict[str, int], names: list[str]) -> I64:
    """The code of each name (every name is in ``code``)."""
    return np.fromiter(map(code.__getitem__, names), dtype=np.int64, count=len(names))


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
    volunteer_ids = tuple(map(c.vol_ids.__getitem__, vol_order.tolist()))
    activity_ids = tuple(map(c.act_ids.__getitem__, act_order.tolist()))

    act_index = dict(zip(c.act_ids, act_rank.tolist(), strict=True))
    pref_act = np.fromiter(map(act_index.get, c.pref_act, repeat(-1)), dtype=np.int64, count=len(c.pref_act))
    if (pref_act < 0).any():
        for k in np.flatnonzero(pref_act < 0):
            owner = c.vol_ids[c.pref_owner[int(k)]]
            message = f"refers to unknown activity id {c.pref_act[int(k)]!r}"
            issues.append(InputIssue("volunteer", owner, "preferences", message, "unknown_activity"))
    if issues:
        raise InputError(issues)

    act_start = np.asarray(c.act_start, dtype=np.int64)[act_order] if n_a else np.zeros(0, dtype=np.int64)
    act_end = np.asarray(c.act_end, dtype=np.int64)[act_order] if n_a else np.zeros(0, dtype=np.int64)
    skill_names = tuple(sorted(set(c.skill_name) | set(c.req_name) | set(c.role_req_name)))
    skill_code = {s: k for k, s in enumerate(skill_names)}
    vol_skill_code = _codes(skill_code, c.skill_name)
    req_code = _codes(skill_code, c.req_name)
    hist_day = np.asarray(c.hist_day, dtype=np.int64)
    hist_attended = np.asarray(c.hist_attended, dtype=np.bool_)
    hist_rating = np.asarray(c.hist_rating, dtype=np.int64)
    hist_ptr, hist_order = _owner_csr(
        c.hist_owner, vol_rank, n_v, hist_day, hist_attended.astype(np.int64), hist_rating
    )
    membership_names = tuple(sorted(set(c.org_name) | set(c.member_name)))
    member_code = {o: k for k, o in enumerate(membership_names)}
    vol_org_code = _codes(member_code, c.org_name)
    act_member_code = _codes(member_code, c.member_name)
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

    rules, rule_issues = compile_rules(
        c,
        policy,
        vol_order,
        act_order,
        act_rank,
        dict(zip(volunteer_ids, range(n_v), strict=True)),
        skill_code,
        act_start,
        act_end,
    )
    if rule_issues:
        raise InputError(rule_issues)

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
        act_start=act_start,
        act_end=act_end,
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
        rules=rules,
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
