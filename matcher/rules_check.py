"""Whether a plan keeps the menu rules, checked directly from the problem (not from the program).

:func:`~matcher.verify.verify` uses it on result documents, and the tests use it on every plan
the integer program returns, so the program's rows are checked against a second, plain reading
of the rules.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from matcher.candidates import Edges, role_options
from matcher.problem import Problem
from matcher.rules import NO_LIMIT
from matcher.solvers.overlap import conflicting_volunteers

__all__ = ["overlapping", "rule_violations"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


def _hours(p: Problem, vol: I64, act: I64) -> list[str]:
    rules = p.rules
    micros = np.bincount(vol, weights=(p.act_end - p.act_start)[act].astype(np.float64), minlength=p.n_volunteers)
    over_total = np.flatnonzero(micros > rules.vol_max_micros.astype(np.float64)).tolist()
    out = [f"volunteer {p.volunteer_ids[i]!r} exceeds max_hours" for i in over_total]
    daily = np.flatnonzero(rules.vol_max_micros_day[vol] < NO_LIMIT)
    per_day: dict[tuple[int, int], int] = {}
    for k in daily.tolist():
        v, a = int(vol[k]), int(act[k])
        for d in range(int(rules.day_ptr[a]), int(rules.day_ptr[a + 1])):
            key = (v, int(rules.day_index[d]))
            per_day[key] = per_day.get(key, 0) + int(rules.day_micros[d])
    over = sorted({v for (v, _), m in per_day.items() if m > rules.vol_max_micros_day[v]})
    out += [f"volunteer {p.volunteer_ids[v]!r} exceeds max_hours_per_day" for v in over]
    return out


def _groups(p: Problem, vol: I64, act: I64) -> list[str]:
    rules = p.rules
    out: list[str] = []
    if len(rules.together_ptr) <= 1 and len(rules.apart_a) == 0:
        return out
    held: dict[int, set[int]] = {}
    for v, a in zip(vol.tolist(), act.tolist(), strict=True):
        held.setdefault(v, set()).add(a)
    for g in range(len(rules.together_ptr) - 1):
        members = rules.together_vol[rules.together_ptr[g] : rules.together_ptr[g + 1]].tolist()
        for a in sorted(set().union(*(held.get(v, set()) for v in members))):
            if not all(a in held.get(v, ()) for v in members):
                first = p.volunteer_ids[members[0]]
                out.append(f"together group of {first!r} is split at activity {p.activity_ids[a]!r}")
    out += [
        f"volunteers {p.volunteer_ids[u]!r} and {p.volunteer_ids[w]!r} must be apart "
        f"but share activity {p.activity_ids[a]!r}"
        for u, w in zip(rules.apart_a.tolist(), rules.apart_b.tolist(), strict=True)
        for a in sorted(held.get(u, set()) & held.get(w, set()))
    ]
    return out


def _staffing(p: Problem, vol: I64, act: I64, role: I64) -> list[str]:
    rules, out = p.rules, []
    has_roles = rules.act_has_roles[act]
    # Pairs at activities with roles must fill one they fit; role -1 (none) fits nothing.
    pair, options = role_options(p, vol, act)
    width = np.int64(len(rules.role_name) + 1)
    fits = np.isin(np.arange(len(vol), dtype=np.int64) * width + role + 1, pair * width + options + 1)
    misfit, stray = has_roles & ~fits, ~has_roles & (role != -1)
    for k in np.flatnonzero(misfit | stray).tolist():
        a = int(act[k])
        if misfit[k]:
            out.append(f"volunteer {p.volunteer_ids[vol[k]]!r} has no role at activity {p.activity_ids[a]!r} they fit")
        else:
            out.append(f"activity {p.activity_ids[a]!r} has no roles to fill")
    counts = np.bincount(act, minlength=p.n_activities)
    filled = np.bincount(role[role >= 0], minlength=len(rules.role_name))
    out += [f"role {rules.role_name[r]!r} is over its count" for r in np.flatnonzero(filled > rules.role_count)]
    role_act = rules.role_act
    running = counts > 0
    out += [
        f"activity {p.activity_ids[a]!r} runs below min_volunteers"
        for a in np.flatnonzero(running & (counts < rules.act_min_volunteers))
    ]
    out += [
        f"activity {p.activity_ids[role_act[r]]!r} runs below the minimum of role {rules.role_name[r]!r}"
        for r in np.flatnonzero(running[role_act] & (filled < rules.role_min))
    ]
    out += [
        f"activity {p.activity_ids[rules.ratio_act[q]]!r} breaks a ratio of roles"
        for q in range(len(rules.ratio_act))
        if rules.ratio_per[q] * filled[rules.ratio_lead[q]] < filled[rules.ratio_of[q]]
    ]
    return out


def overlapping(p: Problem, edges: Edges, chosen: Mask) -> I64:
    """Volunteers whose chosen edges overlap in time, rest included (gathers the chosen edges only)."""
    vol, act = edges.vol[chosen].astype(np.int64), edges.act[chosen]
    return conflicting_volunteers(vol, p.act_start[act], p.act_busy_end[act], np.ones(len(vol), dtype=bool))


def rule_violations(p: Problem, edges: Edges, chosen: Mask, role: I64 | None) -> list[str]:
    """Every way the selection breaks a menu rule or the no-overlap-with-rest rule (empty: none).

    ``role[e]`` is the global role index that chosen edge ``e`` fills (-1: none; None: no roles filled).
    """
    vol, act = edges.vol[chosen].astype(np.int64), edges.act[chosen].astype(np.int64)
    filled = np.full(len(vol), -1, dtype=np.int64) if role is None else np.asarray(role, dtype=np.int64)[chosen]
    out = [
        f"volunteer {p.volunteer_ids[i]!r} has overlapping assignments (rest included)"
        for i in overlapping(p, edges, chosen).tolist()
    ]
    return out + _hours(p, vol, act) + _groups(p, vol, act) + _staffing(p, vol, act, filled)
