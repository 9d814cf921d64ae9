"""The menu rules, compiled: roles, minimum staffing, hour limits, rest, together and apart.

These rules are optional. A problem that uses none of them is solved by the pure flow path; the
rules that need an integer program (everything here except ``min_rest_minutes``, which the exact
no-overlap step handles) are solved by :mod:`matcher.solvers.program`, only on the connected
components of the candidate graph that they touch.

Arrays follow the problem's numbering (volunteers and activities in id order). Roles are stored
in CSR form by activity, in the order the activity lists them; ``ratio_lead``/``ratio_of`` are
global role indices. Hours are counted in microseconds: an activity's time on a calendar day of
``policy.time_zone`` (``day_ptr``/``day_index``/``day_micros``, CSR by activity) counts towards
``max_hours_per_day`` of that day, so a night shift counts on both days it touches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from matcher.columns import MICROS_PER_HOUR, Columns, from_micros, to_micros
from matcher.errors import InputIssue
from matcher.models import Policy

__all__ = ["NO_LIMIT", "MenuRules", "compile_rules", "edges_of"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: An hour limit a volunteer did not set.
NO_LIMIT = np.iinfo(np.int64).max


def edges_of(vol: I64, members: I64) -> I64:
    """Positions in ``vol`` (sorted) of the members' entries, without scanning all of ``vol``."""
    lo, hi = np.searchsorted(vol, members, side="left"), np.searchsorted(vol, members, side="right")
    if len(lo) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in zip(lo.tolist(), hi.tolist(), strict=True)])


@dataclass(frozen=True, eq=False)
class MenuRules:
    """The compiled menu rules of a :class:`~matcher.problem.Problem`.

    Hour limits are whole microseconds (``int64`` max where a volunteer set none), rounded down
    from the hours given, so a limit is never exceeded by rounding.
    """

    vol_max_micros: I64
    vol_max_micros_day: I64
    act_min_volunteers: I64
    role_ptr: I64
    role_name: tuple[str, ...]
    role_count: I64
    role_min: I64
    role_req_ptr: I64
    role_req_code: I32
    role_req_level: I32
    ratio_act: I64
    ratio_lead: I64
    ratio_per: I64
    ratio_of: I64
    together_ptr: I64
    together_vol: I64
    apart_a: I64
    apart_b: I64
    day_ptr: I64
    day_index: I64
    day_micros: I64
    rest_micros: int

    @property
    def act_has_roles(self) -> B:
        """Activities whose team is split into roles."""
        has: B = np.diff(self.role_ptr) > 0
        return has

    @cached_property
    def role_act(self) -> I64:
        """The activity of each role."""
        owner: I64 = np.repeat(np.arange(len(self.role_ptr) - 1, dtype=np.int64), np.diff(self.role_ptr))
        owner.flags.writeable = False
        return owner

    @cached_property
    def act_has_minimum(self) -> B:
        """Activities that run only with a minimum met (``min_volunteers`` or a role's ``min``)."""
        has = self.act_min_volunteers > 0
        has[self.role_act[self.role_min > 0]] = True
        has.flags.writeable = False
        return has

    @property
    def act_needs_program(self) -> B:
        """Activities with a rule the flow model cannot express (roles or a minimum)."""
        return self.act_has_roles | (self.act_min_volunteers > 0)

    @property
    def vol_needs_program(self) -> B:
        """Volunteers with an hour limit or in a together group or an apart pair."""
        needs = (self.vol_max_micros < NO_LIMIT) | (self.vol_max_micros_day < NO_LIMIT)
        needs = needs.copy()
        needs[self.together_vol] = True
        needs[self.apart_a] = True
        needs[self.apart_b] = True
        return needs

    @property
    def needs_program(self) -> bool:
        """Whether any rule needs the integer program."""
        return bool(self.act_needs_program.any() or self.vol_needs_program.any())

    def role_of(self, act: int) -> range:
        """Global indices of activity ``act``'s roles."""
        return range(int(self.role_ptr[act]), int(self.role_ptr[act + 1]))


def _micros_limit(hours: list[float], order: I64) -> I64:
    values = np.asarray(hours, dtype=np.float64)[order] if len(order) else np.zeros(0)
    finite = np.isfinite(values)
    out = np.full(len(values), NO_LIMIT, dtype=np.int64)
    # Round down to the microsecond: hours * 3.6e9 is exact for any limit written in whole seconds.
    out[finite] = np.floor(values[finite] * MICROS_PER_HOUR + 1e-6).astype(np.int64)
    return out


def _activity_days(start: I64, end: I64, zone: str) -> tuple[I64, I64, I64]:
    """Per activity, the local calendar days it touches and its microseconds on each (CSR)."""
    tz = ZoneInfo(zone)
    counts: list[int] = []
    days: list[int] = []
    micros: list[int] = []
    for s, e in zip(start.tolist(), end.tolist(), strict=True):
        local = from_micros(s).astimezone(tz)
        cursor, n = s, 0
        while cursor < e:
            day = local.date()
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
            # Wall-clock arithmetic in the zone: the next local midnight, whatever the offset then.
            boundary = to_micros(midnight)
            stop = min(e, boundary)
            days.append(day.toordinal())
            micros.append(stop - cursor)
            n += 1
            cursor = stop
            local = from_micros(cursor).astimezone(tz)
        counts.append(n)
    ptr = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return ptr, np.asarray(days, dtype=np.int64), np.asarray(micros, dtype=np.int64)


def _groups(
    policy: Policy, vol_index: Mapping[str, int], n_v: int, issues: list[InputIssue]
) -> tuple[I64, I64, I64, I64]:
    """Together groups merged where they share a volunteer (CSR, sorted) and apart pairs."""
    parent = list(range(n_v))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def rows(field: str, groups: list[list[str]]) -> list[list[int]]:
        out = []
        for group in groups:
            members = [vol_index.get(vid, -1) for vid in group]
            for vid, row in zip(group, members, strict=True):
                if row < 0:
                    issues.append(
                        InputIssue("policy", "", field, f"refers to unknown volunteer id {vid!r}", "unknown_volunteer")
                    )
            out.append(members)
        return out

    for members in rows("together", policy.together):
        if min(members) >= 0:
            for other in members[1:]:
                parent[find(other)] = find(members[0])
    apart = sorted({(min(m), max(m)) for m in rows("apart", policy.apart) if min(m) >= 0})
    grouped = sorted({i for g in policy.together for i in (vol_index.get(v, -1) for v in g) if i >= 0})
    root = np.array([find(i) for i in grouped], dtype=np.int64)
    vols = np.array(grouped, dtype=np.int64)
    order = np.lexsort((vols, root))
    root, vols = root[order], vols[order]
    # Number the groups by their smallest member, so the layout depends on the problem only.
    first = np.r_[True, root[1:] != root[:-1]] if len(root) else np.zeros(0, dtype=bool)
    sizes = np.diff(np.r_[np.flatnonzero(first), len(root)]) if len(root) else np.zeros(0, dtype=np.int64)
    by_smallest = np.argsort(vols[first], kind="stable")
    starts = np.flatnonzero(first)[by_smallest]
    parts = [vols[s : s + n] for s, n in zip(starts.tolist(), sizes[by_smallest].tolist(), strict=True)]
    ptr = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in parts], out=ptr[1:])
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    a = np.array([x for x, _ in apart], dtype=np.int64)
    b = np.array([y for _, y in apart], dtype=np.int64)
    return ptr, flat, a, b


def compile_rules(
    c: Columns,
    policy: Policy,
    vol_order: I64,
    act_order: I64,
    act_rank: I64,
    vol_index: Mapping[str, int],
    skill_code: Mapping[str, int],
    act_start: I64,
    act_end: I64,
) -> tuple[MenuRules, list[InputIssue]]:
    """Number and pack the rule columns; issues name unknown volunteer ids in ``together``/``apart``."""
    issues: list[InputIssue] = []
    n_v, n_a = len(vol_order), len(act_order)
    role_owner = act_rank[np.asarray(c.role_owner, dtype=np.int64)] if c.role_owner else np.zeros(0, dtype=np.int64)
    role_order = np.lexsort((np.arange(len(role_owner)), role_owner)) if len(role_owner) else role_owner
    role_ptr = np.zeros(n_a + 1, dtype=np.int64)
    np.cumsum(np.bincount(role_owner, minlength=n_a), out=role_ptr[1:])
    role_new = np.empty(len(role_order), dtype=np.int64)
    role_new[role_order] = np.arange(len(role_order), dtype=np.int64)
    req_owner = role_new[np.asarray(c.role_req_owner, dtype=np.int64)] if c.role_req_owner else np.zeros(0, np.int64)
    req_code = np.array([skill_code[s] for s in c.role_req_name], dtype=np.int64)
    req_order = np.lexsort((req_code, req_owner)) if len(req_owner) else req_owner
    req_ptr = np.zeros(len(role_order) + 1, dtype=np.int64)
    np.cumsum(np.bincount(req_owner, minlength=len(role_order)), out=req_ptr[1:])

    # A ratio names roles of its own activity; the model has checked that both exist.
    role_at = {(c.role_owner[k], c.role_name[k]): int(role_new[k]) for k in range(len(c.role_name))}
    lead = [role_at[(o, name)] for o, name in zip(c.ratio_owner, c.ratio_lead, strict=True)]
    of = [role_at[(o, name)] for o, name in zip(c.ratio_owner, c.ratio_of, strict=True)]
    ratio_act = act_rank[np.asarray(c.ratio_owner, dtype=np.int64)] if c.ratio_owner else np.zeros(0, np.int64)
    ratio_order = np.lexsort((np.asarray(lead, dtype=np.int64), ratio_act)) if len(ratio_act) else ratio_act

    together_ptr, together_vol, apart_a, apart_b = _groups(policy, vol_index, n_v, issues)
    max_day = _micros_limit(c.vol_max_hours_day, vol_order)
    if (max_day < NO_LIMIT).any():
        day_ptr, day_index, day_micros = _activity_days(act_start, act_end, policy.time_zone)
    else:
        day_ptr, day_index, day_micros = np.zeros(n_a + 1, dtype=np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    mins = np.asarray(c.act_min_volunteers, dtype=np.int64)[act_order] if n_a else np.zeros(0, dtype=np.int64)
    rules = MenuRules(
        vol_max_micros=_micros_limit(c.vol_max_hours, vol_order),
        vol_max_micros_day=max_day,
        act_min_volunteers=mins,
        role_ptr=role_ptr,
        role_name=tuple(c.role_name[k] for k in role_order.tolist()),
        role_count=np.asarray(c.role_count, dtype=np.int64)[role_order] if len(role_order) else np.zeros(0, np.int64),
        role_min=np.asarray(c.role_min, dtype=np.int64)[role_order] if len(role_order) else np.zeros(0, np.int64),
        role_req_ptr=req_ptr,
        role_req_code=req_code[req_order].astype(np.int32),
        role_req_level=np.asarray(c.role_req_level, dtype=np.int32)[req_order],
        ratio_act=ratio_act[ratio_order],
        ratio_lead=np.asarray(lead, dtype=np.int64)[ratio_order],
        ratio_per=np.asarray(c.ratio_per, dtype=np.int64)[ratio_order],
        ratio_of=np.asarray(of, dtype=np.int64)[ratio_order],
        together_ptr=together_ptr,
        together_vol=together_vol,
        apart_a=apart_a,
        apart_b=apart_b,
        day_ptr=day_ptr,
        day_index=day_index,
        day_micros=day_micros,
        rest_micros=policy.min_rest_minutes * 60_000_000,
    )
    return rules, issues
