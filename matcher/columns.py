"""Records flattened into parallel lists: the meeting point of every input path.

:func:`~matcher.problem.compile_problem` fills a :class:`Columns` from validated models and
:mod:`matcher.fastpath` straight from plain records and tables; :func:`~matcher.problem.assemble`
then numbers, sorts and packs it into a :class:`~matcher.problem.Problem`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from matcher.models import Activity, Volunteer

__all__ = ["MICROS_PER_HOUR", "NO_SIGNUP", "Columns", "from_micros", "to_micros"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = _EPOCH.date().toordinal()
_MICRO = timedelta(microseconds=1)
_NAN = float("nan")
_INF = float("inf")
#: Microseconds in an hour: times are epoch microseconds, hour limits and reports are in hours.
MICROS_PER_HOUR = 3_600_000_000
#: ``vol_signup`` of a volunteer without ``signed_up_at``: after everyone who gave one.
NO_SIGNUP = 2**63 - 1


def to_micros(moment: datetime) -> int:
    """Exact microseconds since the Unix epoch of an offset-aware datetime."""
    return (moment - _EPOCH) // _MICRO


def from_micros(micros: int) -> datetime:
    """Inverse of :func:`to_micros`, in UTC."""
    return _EPOCH + timedelta(microseconds=micros)


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
    vol_max_hours: list[float] = field(default_factory=list)
    vol_max_hours_day: list[float] = field(default_factory=list)
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
    act_min_volunteers: list[int] = field(default_factory=list)
    role_owner: list[int] = field(default_factory=list)
    role_name: list[str] = field(default_factory=list)
    role_count: list[int] = field(default_factory=list)
    role_min: list[int] = field(default_factory=list)
    role_req_owner: list[int] = field(default_factory=list)
    role_req_name: list[str] = field(default_factory=list)
    role_req_level: list[int] = field(default_factory=list)
    ratio_owner: list[int] = field(default_factory=list)
    ratio_lead: list[str] = field(default_factory=list)
    ratio_per: list[int] = field(default_factory=list)
    ratio_of: list[str] = field(default_factory=list)

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
        self.vol_max_hours.append(v.max_hours if v.max_hours is not None else _INF)
        self.vol_max_hours_day.append(v.max_hours_per_day if v.max_hours_per_day is not None else _INF)
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
        self.act_min_volunteers.append(a.min_volunteers)
        for role in a.roles or ():
            self.add_role(j, role.name, role.count, role.min, [(r.skill, r.min_level) for r in role.requirements])
        for ratio in a.ratios or ():
            self.add_ratio(j, ratio.lead, ratio.per, ratio.of)

    def add_role(self, owner: int, name: str, count: int, least: int, requirements: list[tuple[str, int]]) -> None:
        """Append one role of activity position ``owner`` (roles keep their input order)."""
        k = len(self.role_name)
        self.role_owner.append(owner)
        self.role_name.append(name)
        self.role_count.append(count)
        self.role_min.append(least)
        for skill, level in requirements:
            self.role_req_owner.append(k)
            self.role_req_name.append(skill)
            self.role_req_level.append(level)

    def add_ratio(self, owner: int, lead: str, per: int, of: str) -> None:
        """Append one ratio rule of activity position ``owner``."""
        self.ratio_owner.append(owner)
        self.ratio_lead.append(lead)
        self.ratio_per.append(per)
        self.ratio_of.append(of)
