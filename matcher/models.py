"""Validated records: the JSON problem contract as pydantic models.

These models are the boundary. Everything after :func:`matcher.problem.compile_problem` works on
numpy arrays and never touches them again. Every model forbids unknown fields (a typo such as
``capcity`` is an error, not a silently ignored key), rejects NaN/Infinity, and hides input values
in its errors so that no personal data can leak through an error message.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "MAX_PREFERENCE_GROUPS",
    "Activity",
    "Changes",
    "Location",
    "PairRef",
    "Policy",
    "ProblemDocument",
    "Requirement",
    "Role",
    "RoleRatio",
    "Service",
    "TimeWindow",
    "Volunteer",
    "Weights",
]

#: A volunteer may rank at most this many tie groups; it bounds the rank cost so that an unranked
#: activity can be priced above every ranked one with a fixed, documented weight.
MAX_PREFERENCE_GROUPS = 20

_CONFIG = ConfigDict(
    extra="forbid",
    frozen=True,
    hide_input_in_errors=True,
    allow_inf_nan=False,
    str_strip_whitespace=False,
)


def _iso_datetime_only(value: Any) -> Any:
    # pydantic's lax mode would read a bare number as a Unix timestamp; the contract says ISO-8601.
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("expected an ISO-8601 datetime string with a UTC offset")
    return value


def _distinct_organisations(cls: type[BaseModel], orgs: list[str] | None) -> list[str] | None:
    if orgs is not None and len(set(orgs)) != len(orgs):
        raise ValueError("an organisation is listed more than once")
    return orgs


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(cls: type[BaseModel], value: Any) -> Any:
    # A calendar day, written YYYY-MM-DD: lax mode would also take timestamps and datetimes.
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("expected an ISO-8601 date (YYYY-MM-DD)")
    return value


def _end_after_start(cls: type[BaseModel], end: datetime, info: ValidationInfo) -> datetime:
    start = info.data.get("start")
    if start is not None and end <= start:
        raise ValueError("end must be after start")
    return end


Id = Annotated[str, StringConstraints(min_length=1, strict=True)]
SkillName = Annotated[str, StringConstraints(min_length=1, strict=True)]
Level = Annotated[int, Field(ge=1, le=5, strict=True)]
Instant = Annotated[AwareDatetime, BeforeValidator(_iso_datetime_only)]
TravelKm = Annotated[float, Field(gt=0, le=20_000, strict=True)]
Weight = Annotated[int, Field(ge=0, le=1_000_000, strict=True)]
Places = Annotated[int, Field(ge=1, le=100_000, strict=True)]
Hours = Annotated[float, Field(gt=0, le=100_000, strict=True)]


class Location(BaseModel):
    """A point on the earth in decimal degrees (WGS 84)."""

    model_config = _CONFIG

    lat: Annotated[float, Field(ge=-90, le=90, strict=True)]
    lon: Annotated[float, Field(ge=-180, le=180, strict=True)]


class TimeWindow(BaseModel):
    """A half-open availability window ``[start, end)``; ``end`` must be after ``start``."""

    model_config = _CONFIG

    start: Instant
    end: Instant

    _end_after_start = field_validator("end")(_end_after_start)


class Requirement(BaseModel):
    """A skill an activity needs, at ``min_level`` or above (levels run 1..5)."""

    model_config = _CONFIG

    skill: SkillName
    min_level: Level = 1


def _one_requirement_per_skill(cls: type[BaseModel], reqs: list[Requirement]) -> list[Requirement]:
    skills = [r.skill for r in reqs]
    if len(set(skills)) != len(skills):
        raise ValueError("a skill is required more than once")
    return reqs


class Role(BaseModel):
    """A role on an activity's team (e.g. 社工 leading 志愿者).

    At most ``count`` volunteers fill it, and, whenever the activity runs, at least ``min``.
    Whoever fills it meets its ``requirements`` as well as the activity's.
    """

    model_config = _CONFIG

    name: Id
    count: Places
    min: Annotated[int, Field(ge=0, le=100_000, strict=True)] = 0
    requirements: list[Requirement] = Field(default_factory=list)

    _one_requirement_per_skill = field_validator("requirements")(_one_requirement_per_skill)

    @model_validator(mode="after")
    def _min_within_count(self) -> Role:
        if self.min > self.count:
            raise ValueError("min must not exceed count")
        return self


class RoleRatio(BaseModel):
    """At least one volunteer in role ``lead`` per ``per`` volunteers in role ``of``."""

    model_config = _CONFIG

    lead: Id
    per: Annotated[int, Field(ge=1, le=1000, strict=True)]
    of: Id


class Service(BaseModel):
    """One past assignment of a volunteer (评单): its date, whether they came, and the rating."""

    model_config = _CONFIG

    date: Annotated[date, Field(strict=False)]
    outcome: Literal["attended", "no_show"]
    rating: Level | None = None

    _iso_date = field_validator("date", mode="before")(_iso_date_only)

    @model_validator(mode="after")
    def _rating_needs_attendance(self) -> Service:
        if self.rating is not None and self.outcome != "attended":
            raise ValueError("only an attended service can be rated")
        return self


class Volunteer(BaseModel):
    """A volunteer profile.

    ``availability`` omitted or ``None`` means always available; ``[]`` means never.
    ``preferences`` ranks activity ids, most wanted first; an element that is itself a list is a
    tie group whose members share one rank. ``history`` lists past services (see the README's
    "Ratings and reliability"). ``signed_up_at`` orders volunteers in ``first_come`` mode.
    """

    model_config = _CONFIG

    id: Id
    skills: dict[SkillName, Level] = Field(default_factory=dict)
    availability: list[TimeWindow] | None = None
    location: Location | None = None
    max_travel_km: TravelKm | None = None
    max_activities: Annotated[int, Field(ge=1, le=1000, strict=True)] = 1
    preferences: list[Id | list[Id]] | None = None
    history: list[Service] | None = None
    signed_up_at: Instant | None = None
    organizations: list[Id] | None = None
    max_hours: Hours | None = None
    max_hours_per_day: Annotated[float, Field(gt=0, le=24, strict=True)] | None = None

    _distinct_organizations = field_validator("organizations")(_distinct_organisations)

    @field_validator("preferences")
    @classmethod
    def _check_preferences(cls, prefs: list[str | list[str]] | None) -> list[str | list[str]] | None:
        if prefs is None:
            return None
        if len(prefs) > MAX_PREFERENCE_GROUPS:
            raise ValueError(f"at most {MAX_PREFERENCE_GROUPS} ranked entries (tie groups) are allowed")
        seen: set[str] = set()
        for group in prefs:
            members = [group] if isinstance(group, str) else group
            if not members:
                raise ValueError("a tie group must not be empty")
            for member in members:
                if member in seen:
                    raise ValueError("an activity is ranked more than once")
                seen.add(member)
        return prefs

    def preference_groups(self) -> list[list[str]]:
        """Return the preferences as tie groups: ``[[first choices], [second choices], ...]``."""
        if not self.preferences:
            return []
        return [[g] if isinstance(g, str) else list(g) for g in self.preferences]


class Activity(BaseModel):
    """A menu item: what, when, where, how many people and which skills.

    ``members_only`` restricts it to volunteers who belong to one of the listed organisations
    (a volunteer's ``organizations``). ``roles`` splits the team: every assigned volunteer fills
    exactly one role; ``ratios`` ask for a lead per so many of another role. With
    ``min_volunteers`` the activity runs with at least that many volunteers or not at all.
    """

    model_config = _CONFIG

    id: Id
    title: str | None = None
    organization: str | None = None
    category: str | None = None
    start: Instant
    end: Instant
    location: Location | None = None
    requirements: list[Requirement] = Field(default_factory=list)
    capacity: Places
    priority: Annotated[int, Field(ge=1, le=1000, strict=True)] = 1
    members_only: Annotated[list[Id], Field(min_length=1)] | None = None
    roles: Annotated[list[Role], Field(min_length=1)] | None = None
    ratios: Annotated[list[RoleRatio], Field(min_length=1)] | None = None
    min_volunteers: Annotated[int, Field(ge=0, le=100_000, strict=True)] = 0

    _end_after_start = field_validator("end")(_end_after_start)
    _distinct_members = field_validator("members_only")(_distinct_organisations)
    _one_requirement_per_skill = field_validator("requirements")(_one_requirement_per_skill)

    @field_validator("roles")
    @classmethod
    def _distinct_roles(cls, roles: list[Role] | None) -> list[Role] | None:
        if roles is not None and len({r.name for r in roles}) != len(roles):
            raise ValueError("a role is listed more than once")
        return roles

    @model_validator(mode="after")
    def _staffing_fits(self) -> Activity:
        places = self.capacity if self.roles is None else min(self.capacity, sum(r.count for r in self.roles))
        if self.min_volunteers > places:
            raise ValueError("min_volunteers exceeds the places (capacity, and the roles' counts)")
        if self.roles is not None and sum(r.min for r in self.roles) > self.capacity:
            raise ValueError("the roles' minima add up to more than the capacity")
        names = {r.name for r in self.roles or ()}
        for ratio in self.ratios or ():
            if ratio.lead not in names or ratio.of not in names:
                raise ValueError("a ratio names a role the activity does not list")
            if ratio.lead == ratio.of:
                raise ValueError("a ratio needs two different roles")
        return self


class Weights(BaseModel):
    """Integer weights of the named cost terms (see the README's objective section).

    ``rank``: cost per preference tie group below the first (first choice costs 0).
    ``unranked``: cost of an activity the volunteer did not rank, under ``selection="prefer"``;
    it must exceed ``rank * (MAX_PREFERENCE_GROUPS - 1)`` so that it costs more than any ranked one.
    ``distance``: cost per kilometre of travel (computed on whole metres, rounded half up).
    ``skill_surplus``: cost per skill level above what a requirement asks for.
    ``reliability``: cost of a certain no-show, times the volunteer's no-show risk.
    ``rating``: cost of the lowest rating (1), scaled linearly to 0 at the highest (5).
    ``recent_service``: cost per service in the last ``policy.recent_days`` days (spreads
    opportunities: volunteers not served recently go first at equal cost otherwise).
    The last three are 0 by default.
    ``load``: convex cost of a volunteer's workload: their ``k``-th assignment costs
    ``(k - 1) * load`` extra (0 by default), which spreads places over more volunteers.
    """

    model_config = _CONFIG

    rank: Weight = 20
    unranked: Weight = 500
    distance: Weight = 10
    skill_surplus: Weight = 3
    reliability: Weight = 0
    rating: Weight = 0
    recent_service: Weight = 0
    load: Weight = 0

    @model_validator(mode="after")
    def _unranked_above_ranked(self) -> Weights:
        if self.unranked <= self.rank * (MAX_PREFERENCE_GROUPS - 1):
            raise ValueError(
                f"weights.unranked must exceed weights.rank * {MAX_PREFERENCE_GROUPS - 1} "
                "so that an unranked activity costs more than any ranked one"
            )
        return self


class Policy(BaseModel):
    """How the dispatch is run: travel limit, how preferences are used, cost weights.

    ``as_of`` is the day history is judged from (default: the UTC date of the earliest activity
    start, so that results never depend on the clock); ``half_life_days`` is how fast old
    services fade; ``recent_days`` is the window of ``weights.recent_service``. With
    ``target_fill_probability`` set, full activities get up to ``max_overbook`` standby
    volunteers each (:mod:`matcher.overbook`).

    Menu rules (:mod:`matcher.rules`): ``min_rest_minutes`` between two assignments of one
    volunteer; ``together`` groups of volunteer ids (all or none of a group, on the same
    activities); ``apart`` pairs (never on the same activity); ``time_zone`` (IANA name) sets the
    days of ``max_hours_per_day``; ``time_limit_seconds`` bounds the integer program these rules
    may need, after which the best plan found is returned as ``feasible`` with its proven gap.
    """

    model_config = _CONFIG

    max_travel_km: TravelKm = 10.0
    selection: Literal["open", "prefer", "strict"] = "prefer"
    weights: Weights = Field(default_factory=Weights)
    as_of: date | None = None
    half_life_days: Annotated[int, Field(ge=1, le=3650, strict=True)] = 180
    recent_days: Annotated[int, Field(ge=1, le=3650, strict=True)] = 28
    target_fill_probability: Annotated[float, Field(gt=0, lt=1, strict=True)] | None = None
    max_overbook: Annotated[int, Field(ge=0, le=1000, strict=True)] = 2
    min_rest_minutes: Annotated[int, Field(ge=0, le=10_080, strict=True)] = 0
    together: list[Annotated[list[Id], Field(min_length=2)]] = Field(default_factory=list)
    apart: list[Annotated[list[Id], Field(min_length=2, max_length=2)]] = Field(default_factory=list)
    time_zone: Annotated[str, StringConstraints(min_length=1, strict=True)] = "Asia/Shanghai"
    time_limit_seconds: Annotated[float, Field(gt=0, le=86_400, strict=True)] = 60.0

    _iso_date = field_validator("as_of", mode="before")(_iso_date_only)

    @field_validator("together", "apart")
    @classmethod
    def _distinct_members(cls, groups: list[list[str]]) -> list[list[str]]:
        for group in groups:
            if len(set(group)) != len(group):
                raise ValueError("a volunteer is listed twice in one group")
        return groups

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown IANA time zone") from exc
        return name


class PairRef(BaseModel):
    """A (volunteer, activity) pair named by ids."""

    model_config = _CONFIG

    volunteer_id: Id
    activity_id: Id


class Changes(BaseModel):
    """What happened since a result was published, for :func:`matcher.rematch`.

    ``accepted`` assignments are pinned (they stay); ``declined`` pairs may not be assigned again;
    ``cancelled_activities`` and ``removed_volunteers`` leave the pool; ``volunteers`` and
    ``activities`` are added, or replace the record with the same id; ``capacities`` sets new
    capacities by activity id.
    """

    model_config = _CONFIG

    accepted: list[PairRef] = Field(default_factory=list)
    declined: list[PairRef] = Field(default_factory=list)
    cancelled_activities: list[Id] = Field(default_factory=list)
    removed_volunteers: list[Id] = Field(default_factory=list)
    volunteers: list[Volunteer] = Field(default_factory=list)
    activities: list[Activity] = Field(default_factory=list)
    capacities: dict[Id, Annotated[int, Field(ge=1, le=100_000, strict=True)]] = Field(default_factory=dict)


class ProblemDocument(BaseModel):
    """The JSON problem document: ``{"volunteers": [...], "activities": [...], "policy": {...}}``."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        allow_inf_nan=False,
        title="matcher problem document",
    )

    volunteers: list[Volunteer]
    activities: list[Activity]
    policy: Policy = Field(default_factory=Policy)
