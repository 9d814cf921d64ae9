"""Each eligibility rule judged on its own, on any pairs: the facts behind "why not?".

:func:`~matcher.candidates.candidate_edges` only needs to know which pairs pass every rule, so
it filters and forgets. Explanations and the activity funnel need each rule's verdict on pairs
that were never candidates. :func:`diagnose` evaluates the same rule functions
(:func:`~matcher.candidates.skill_check`, :func:`~matcher.candidates.time_check`,
:func:`~matcher.candidates.travel_check`, :func:`~matcher.candidates.membership_check`) on
arbitrary pairs, vectorised, so the verdicts agree with the candidate edges by construction (one
definition per rule; a test checks the agreement). :func:`rule_failures` turns a failed verdict
into the facts a volunteer can read and the smallest change of their own profile that passes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.candidates import (
    membership_check,
    preference_ranks,
    role_check,
    skill_check,
    time_check,
    travel_check,
)
from matcher.problem import Problem, from_micros

__all__ = ["RULES", "Diagnosis", "RuleFailure", "diagnose", "rule_failures"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: The eligibility rules by name, in the order the activity funnel applies them.
RULES = ("travel", "skills", "time", "selection", "membership", "role")


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Per pair, whether each named rule passes, plus the facts the messages quote."""

    vol: I64
    act: I64
    travel: B
    skills: B
    time: B
    selection: B
    membership: B
    role: B
    distance_km: F64
    limit_km: F64
    rank: I32

    @property
    def eligible(self) -> B:
        """Pairs that pass every rule (exactly the candidate edges among them)."""
        return self.travel & self.skills & self.time & self.selection & self.membership & self.role

    def passes(self, rule: str) -> B:
        """The verdicts of one rule by name (see :data:`RULES`)."""
        if rule not in RULES:
            raise KeyError(rule)
        verdict: B = getattr(self, rule)
        return verdict


def diagnose(p: Problem, vol: I64, act: I64) -> Diagnosis:
    """Judge every rule separately on the pairs ``(vol[k], act[k])``.

    >>> import matcher
    >>> from matcher.diagnose import diagnose
    >>> import numpy as np
    >>> p = matcher.compile_problem(
    ...     [matcher.Volunteer(id="v1")],
    ...     [matcher.Activity(id="a1", start="2026-12-01T09:00Z", end="2026-12-01T10:00Z", capacity=1)],
    ...     matcher.Policy(),
    ... )
    >>> bool(diagnose(p, np.array([0]), np.array([0])).eligible[0])
    True
    """
    vol = np.asarray(vol, dtype=np.int64)
    act = np.asarray(act, dtype=np.int64)
    travel_ok, dist_km = travel_check(p, vol, act)
    skills_ok, _ = skill_check(p, vol, act)
    rank = preference_ranks(p, vol, act)
    selection_ok = rank >= 0 if p.policy.selection == "strict" else np.ones(len(vol), dtype=bool)
    return Diagnosis(
        vol=vol,
        act=act,
        travel=travel_ok,
        skills=skills_ok,
        time=time_check(p, vol, act),
        selection=selection_ok,
        membership=membership_check(p, vol, act),
        role=role_check(p, vol, act),
        distance_km=dist_km,
        limit_km=np.minimum(p.vol_max_travel_km[vol], p.policy.max_travel_km),
        rank=rank,
    )


@dataclass(frozen=True)
class RuleFailure:
    """One eligibility rule a pair fails, the facts, and the smallest profile change that passes it.

    ``change`` is None when no change of the volunteer's own profile can pass the rule (for
    example, when the policy's travel limit, not the volunteer's, is the binding one).
    """

    rule: str
    message: str
    facts: dict[str, Any]
    change: dict[str, Any] | None


def _iso(micros: int) -> str:
    return from_micros(micros).strftime("%Y-%m-%dT%H:%M:%SZ")


def _km(value: float) -> float:
    return round(float(value), 3)


def _missing(p: Problem, v: int, codes: Any, levels: Any) -> list[dict[str, Any]]:
    """The requirements ``(codes, levels)`` volunteer ``v`` does not meet, with their levels."""
    lo, hi = p.vol_skill_ptr[v], p.vol_skill_ptr[v + 1]
    held = dict(zip(p.vol_skill_code[lo:hi].tolist(), p.vol_skill_level[lo:hi].tolist(), strict=True))
    missing = []
    for code, need in zip(codes.tolist(), levels.tolist(), strict=True):
        have = held.get(code, 0)
        if have < need:
            missing.append({"skill": p.skill_names[code], "required_level": need, "your_level": have})
    return missing


def _describe(missing: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"requires {m['skill']} level {m['required_level']}, "
        + (f"you have {m['your_level']}" if m["your_level"] else "you do not have it")
        for m in missing
    )


def _skills_failure(p: Problem, v: int, a: int) -> RuleFailure:
    lo, hi = p.req_ptr[a], p.req_ptr[a + 1]
    missing = _missing(p, v, p.req_code[lo:hi], p.req_level[lo:hi])
    change = {"kind": "raise_skills", "skills": {m["skill"]: m["required_level"] for m in missing}}
    return RuleFailure("skills", _describe(missing), {"missing": missing}, change)


def _role_failure(p: Problem, v: int, a: int) -> RuleFailure:
    rules = p.rules
    roles: list[dict[str, Any]] = []
    for k in rules.role_of(a):
        lo, hi = rules.role_req_ptr[k], rules.role_req_ptr[k + 1]
        missing = _missing(p, v, rules.role_req_code[lo:hi], rules.role_req_level[lo:hi])
        roles.append({"role": rules.role_name[k], "missing": missing})
    # The role that needs the fewest levels raised (the first listed among equals).
    easiest = min(roles, key=lambda r: sum(m["required_level"] - m["your_level"] for m in r["missing"]))
    message = "you fit none of the team's roles: " + " | ".join(
        f"{r['role']}: {_describe(r['missing'])}" for r in roles
    )
    change = {
        "kind": "raise_skills",
        "role": easiest["role"],
        "skills": {m["skill"]: m["required_level"] for m in easiest["missing"]},
    }
    return RuleFailure("role", message, {"roles": roles}, change)


def _time_failure(p: Problem, v: int, a: int) -> RuleFailure:
    start, end = int(p.act_start[a]), int(p.act_end[a])
    gaps, cursor = [], start
    for w in range(int(p.avail_ptr[v]), int(p.avail_ptr[v + 1])):
        w_start, w_end = int(p.avail_start[w]), int(p.avail_end[w])
        if w_end <= cursor or w_start >= end:
            continue
        if w_start > cursor:
            gaps.append((cursor, w_start))
        cursor = max(cursor, w_end)
    if cursor < end:
        gaps.append((cursor, end))
    windows = [{"start": _iso(s), "end": _iso(e)} for s, e in gaps]
    message = "you are not available " + ", ".join(f"{w['start']} to {w['end']}" for w in windows)
    facts = {"activity_start": _iso(start), "activity_end": _iso(end), "uncovered": windows}
    return RuleFailure("time", message, facts, {"kind": "add_availability", "windows": windows})


def _travel_failure(p: Problem, d: Diagnosis, k: int) -> RuleFailure:
    v = int(d.vol[k])
    limit = float(d.limit_km[k])
    if not p.vol_has_location[v]:
        message = "the activity takes place in person and your profile has no location"
        change = {"kind": "add_location", "within_km": _km(limit)}
        return RuleFailure("travel", message, {"limit_km": _km(limit)}, change)
    distance = float(d.distance_km[k])
    policy_km = p.policy.max_travel_km
    binding = "policy" if limit >= policy_km else "volunteer"
    facts = {"distance_km": _km(distance), "limit_km": _km(limit), "limit_set_by": binding}
    message = f"{_km(distance)} km away, limit {_km(limit)} km" + (" (the policy's)" if binding == "policy" else "")
    if distance <= policy_km:
        # Round up to the metre so that the suggested limit really admits the distance.
        to_km = min(math.ceil(distance * 1000.0) / 1000.0, policy_km)
        return RuleFailure("travel", message, facts, {"kind": "raise_travel_limit", "to_km": to_km})
    return RuleFailure("travel", message, facts, None)


def _selection_failure() -> RuleFailure:
    message = "the policy only considers activities you ranked, and you did not rank this one"
    return RuleFailure("selection", message, {"selection": "strict"}, {"kind": "rank_activity"})


def _membership_failure(p: Problem, v: int, a: int) -> RuleFailure:
    admitted = [p.membership_names[k] for k in p.act_member_code[p.act_member_ptr[a] : p.act_member_ptr[a + 1]]]
    yours = [p.membership_names[k] for k in p.vol_org_code[p.vol_org_ptr[v] : p.vol_org_ptr[v + 1]]]
    message = "only members of " + ", ".join(admitted) + " may take part, and you belong to none of them"
    facts = {"members_only": admitted, "your_organizations": yours}
    return RuleFailure("membership", message, facts, {"kind": "join_organization", "any_of": admitted})


def rule_failures(p: Problem, d: Diagnosis, k: int) -> tuple[RuleFailure, ...]:
    """Each rule that pair ``k`` of ``d`` fails, with its facts and the smallest change that passes it."""
    v, a = int(d.vol[k]), int(d.act[k])
    out: list[RuleFailure] = []
    for rule in RULES:
        if d.passes(rule)[k]:
            continue
        if rule == "travel":
            out.append(_travel_failure(p, d, k))
        elif rule == "skills":
            out.append(_skills_failure(p, v, a))
        elif rule == "time":
            out.append(_time_failure(p, v, a))
        elif rule == "membership":
            out.append(_membership_failure(p, v, a))
        elif rule == "role":
            out.append(_role_failure(p, v, a))
        else:
            out.append(_selection_failure())
    return tuple(out)
