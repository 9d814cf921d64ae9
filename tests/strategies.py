"""Hypothesis strategies that build only valid problem documents (as plain JSON-like dicts)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

BASE = datetime(2026, 12, 7, tzinfo=timezone(timedelta(hours=8)))
SKILLS = ["急救", "护理", "法律咨询"]
VOL_IDS = ["v01", "v02", "v03", "志愿者04", "v05", "v06", "v07", "v08", "V09", "v10"]
ORGS = ["红十字会", "社工站", "团委"]
ACT_IDS = ["a1", "a2", "助老-3", "a4", "a5", "a6", "a7"]
CENTRE = (30.27, 120.15)


@st.composite
def instant(draw: st.DrawFn, hour: int) -> str:
    """The same instant written in one of several offsets."""
    moment = BASE + timedelta(hours=hour)
    zone = draw(st.sampled_from([timezone(timedelta(hours=8)), UTC, timezone(timedelta(hours=-5))]))
    return moment.astimezone(zone).isoformat()


@st.composite
def location(draw: st.DrawFn) -> dict[str, float]:
    # A 0.015-degree grid around one centre: distances from 0 to ~15 km, so travel limits bite.
    dlat = draw(st.integers(-5, 5)) * 0.015
    dlon = draw(st.integers(-5, 5)) * 0.015
    return {"lat": round(CENTRE[0] + dlat, 4), "lon": round(CENTRE[1] + dlon, 4)}


@st.composite
def window(draw: st.DrawFn) -> dict[str, str]:
    start = draw(st.integers(0, 24))
    length = draw(st.integers(2, 30))
    return {"start": draw(instant(start)), "end": draw(instant(start + length))}


@st.composite
def activity(draw: st.DrawFn, aid: str) -> dict[str, Any]:
    start = draw(st.integers(0, 24))
    act: dict[str, Any] = {
        "id": aid,
        "start": draw(instant(start)),
        "end": draw(instant(start + draw(st.integers(1, 5)))),
        "capacity": draw(st.integers(1, 3)),
        "priority": draw(st.sampled_from([1, 1, 1, 2, 3])),
    }
    if draw(st.integers(0, 3)) > 0:
        act["location"] = draw(location())
    skills = draw(st.lists(st.sampled_from(SKILLS), unique=True, max_size=2)) if draw(st.booleans()) else []
    if skills:
        act["requirements"] = [{"skill": s, "min_level": draw(st.integers(1, 3))} for s in skills]
    if draw(st.integers(0, 4)) == 0:
        act["members_only"] = draw(st.lists(st.sampled_from(ORGS), unique=True, min_size=1, max_size=2))
    return act


@st.composite
def service(draw: st.DrawFn) -> dict[str, Any]:
    day = (BASE + timedelta(days=draw(st.integers(-400, 5)))).date().isoformat()
    if draw(st.booleans()):
        return {"date": day, "outcome": "no_show"}
    out: dict[str, Any] = {"date": day, "outcome": "attended"}
    if draw(st.booleans()):
        out["rating"] = draw(st.integers(1, 5))
    return out


@st.composite
def volunteer(draw: st.DrawFn, vid: str, act_ids: list[str]) -> dict[str, Any]:
    vol: dict[str, Any] = {"id": vid}
    skills = draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=3))
    if skills:
        vol["skills"] = skills
    mode = draw(st.integers(0, 9))
    if mode == 1:
        vol["availability"] = []
    elif mode in (2, 3):
        # Back-to-back windows: they touch, so they must merge into one.
        cuts = sorted(draw(st.lists(st.integers(0, 34), min_size=2, max_size=4, unique=True)))
        spans = list(itertools.pairwise(cuts))
        vol["availability"] = [{"start": draw(instant(a)), "end": draw(instant(b))} for a, b in spans]
    elif mode >= 5:
        vol["availability"] = draw(st.lists(window(), min_size=1, max_size=3))
    if draw(st.integers(0, 4)) > 0:
        vol["location"] = draw(location())
    if draw(st.booleans()):
        vol["max_travel_km"] = draw(st.sampled_from([2.5, 5.0, 8.0, 30.0]))
    vol["max_activities"] = draw(st.sampled_from([1, 1, 2, 3, 3]))
    if draw(st.integers(0, 2)) == 0:
        vol["history"] = draw(st.lists(service(), max_size=4))
    if draw(st.integers(0, 2)) == 0:
        vol["organizations"] = draw(st.lists(st.sampled_from(ORGS), unique=True, max_size=2))
    if act_ids and draw(st.booleans()):
        picks = draw(st.lists(st.sampled_from(act_ids), unique=True, max_size=len(act_ids)))
        prefs: list[Any] = []
        i = 0
        while i < len(picks):
            size = draw(st.integers(1, 2))
            group = picks[i : i + size]
            prefs.append(group[0] if len(group) == 1 and draw(st.booleans()) else group)
            i += size
        vol["preferences"] = prefs
    return vol


@st.composite
def policy(draw: st.DrawFn) -> dict[str, Any]:
    pol: dict[str, Any] = {
        "max_travel_km": draw(st.sampled_from([3.0, 6.0, 10.0, 25.0])),
        "selection": draw(st.sampled_from(["open", "prefer", "prefer", "strict"])),
    }
    if draw(st.booleans()):
        rank = draw(st.integers(0, 30))
        pol["weights"] = {
            "rank": rank,
            "unranked": rank * 19 + draw(st.integers(1, 400)),
            "distance": draw(st.integers(0, 30)),
            "skill_surplus": draw(st.integers(0, 10)),
            "reliability": draw(st.sampled_from([0, 0, 100, 777])),
            "rating": draw(st.sampled_from([0, 0, 60, 301])),
            "recent_service": draw(st.sampled_from([0, 0, 15])),
            "load": draw(st.sampled_from([0, 0, 1, 40, 600])),
        }
        if draw(st.booleans()):
            pol["half_life_days"] = draw(st.sampled_from([7, 90, 365]))
            pol["recent_days"] = draw(st.sampled_from([7, 60]))
        if draw(st.booleans()):
            pol["as_of"] = (BASE + timedelta(days=draw(st.integers(-30, 30)))).date().isoformat()
    return pol


@st.composite
def problems(draw: st.DrawFn, max_volunteers: int = 8, max_activities: int = 6) -> dict[str, Any]:
    """A valid problem document with a mix of every feature the contract has."""
    # Empty pools are legal but tested by hand; random ones should give the solver work.
    act_ids = draw(st.lists(st.sampled_from(ACT_IDS), unique=True, min_size=1, max_size=max_activities))
    vol_ids = draw(st.lists(st.sampled_from(VOL_IDS), unique=True, min_size=2, max_size=max_volunteers))
    return {
        "volunteers": [draw(volunteer(v, act_ids)) for v in vol_ids],
        "activities": [draw(activity(a)) for a in act_ids],
        "policy": draw(policy()),
    }


@st.composite
def dense_overlap_problems(draw: st.DrawFn) -> dict[str, Any]:
    """Few always-available, multi-activity volunteers and many overlapping shifts in one morning:
    the instances where the LP with clique rows can be fractional and branch and bound is needed."""
    act_ids = draw(st.lists(st.sampled_from(ACT_IDS), unique=True, min_size=4, max_size=5))
    acts = []
    for aid in act_ids:
        start = draw(st.integers(0, 6))
        acts.append(
            {
                "id": aid,
                "start": draw(instant(start)),
                "end": draw(instant(start + draw(st.integers(1, 3)))),
                "capacity": draw(st.integers(1, 2)),
                "priority": draw(st.integers(1, 3)),
            }
        )
    vols = []
    for vid in draw(st.lists(st.sampled_from(VOL_IDS), unique=True, min_size=3, max_size=4)):
        vol: dict[str, Any] = {"id": vid, "max_activities": draw(st.integers(2, 3))}
        if draw(st.booleans()):
            vol["preferences"] = draw(st.lists(st.sampled_from(act_ids), unique=True, min_size=1))
        vols.append(vol)
    return {
        "volunteers": vols,
        "activities": acts,
        "policy": {"weights": {"load": draw(st.sampled_from([0, 0, 7, 200]))}},
    }


@st.composite
def team_roles(draw: st.DrawFn, capacity: int) -> dict[str, Any]:
    """Roles (and sometimes a ratio and a minimum) for an activity of ``capacity`` places."""
    roles = []
    for name in draw(st.sampled_from([["社工", "志愿者"], ["lead"], ["社工", "志愿者", "driver"]])):
        count = draw(st.integers(1, 2))
        role: dict[str, Any] = {"name": name, "count": count}
        if draw(st.booleans()):
            role["min"] = draw(st.integers(0, 1))
        if draw(st.booleans()):
            role["requirements"] = [{"skill": draw(st.sampled_from(SKILLS)), "min_level": draw(st.integers(1, 3))}]
        roles.append(role)
    while sum(r.get("min", 0) for r in roles) > capacity:
        roles[-1].pop("min", None)
        roles = roles if sum(r.get("min", 0) for r in roles) <= capacity else roles[:1]
    out: dict[str, Any] = {"roles": roles}
    if len(roles) >= 2 and draw(st.booleans()):
        out["ratios"] = [{"lead": roles[0]["name"], "per": draw(st.integers(1, 2)), "of": roles[1]["name"]}]
    return out


@st.composite
def rule_problems(draw: st.DrawFn, max_volunteers: int = 6, max_activities: int = 4) -> dict[str, Any]:
    """Problems that use the menu rules: roles, minima, hour limits, rest, together and apart."""
    doc = draw(problems(max_volunteers=max_volunteers, max_activities=max_activities))
    if draw(st.booleans()):
        # Dense: everyone may take everything (roles aside), so the rules, not eligibility, decide.
        for vol in doc["volunteers"]:
            for key in ("availability", "location", "preferences"):
                vol.pop(key, None)
            vol["max_activities"] = draw(st.integers(1, 3))
        for act in doc["activities"]:
            for key in ("location", "requirements", "members_only"):
                act.pop(key, None)
    for act in doc["activities"]:
        if draw(st.booleans()):
            act.update(draw(team_roles(act["capacity"])))
        places = act["capacity"] if "roles" not in act else min(act["capacity"], sum(r["count"] for r in act["roles"]))
        if draw(st.booleans()):
            act["min_volunteers"] = draw(st.integers(0, places))
    for vol in doc["volunteers"]:
        if draw(st.integers(0, 2)) == 0:
            vol["max_hours"] = draw(st.sampled_from([1.0, 2.5, 4, 6]))
        if draw(st.integers(0, 2)) == 0:
            vol["max_hours_per_day"] = draw(st.sampled_from([1.5, 3.0, 5.0]))
    ids = [v["id"] for v in doc["volunteers"]]
    pol = doc["policy"]
    if draw(st.booleans()):
        pol["min_rest_minutes"] = draw(st.sampled_from([30, 60, 120]))
    if len(ids) >= 2 and draw(st.booleans()):
        pol["together"] = [draw(st.lists(st.sampled_from(ids), unique=True, min_size=2, max_size=3))]
    if len(ids) >= 2 and draw(st.booleans()):
        pol["apart"] = [draw(st.lists(st.sampled_from(ids), unique=True, min_size=2, max_size=2))]
    if draw(st.integers(0, 3)) == 0:
        pol["time_zone"] = draw(st.sampled_from(["UTC", "America/New_York"]))
    return doc
