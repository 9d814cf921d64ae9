"""Independent references for the menu rules, written from the README and not from the engine.

Both work on the plain problem document: eligibility and costs come from ``reference.py`` (pure
Python, pair by pair), the rules are read straight from the records. ``rules_brute_force``
enumerates every plan (edge subset and role choice) of a tiny instance; ``rules_milp`` is a
second integer program, formulated differently from the engine's (one variable per pair and
role, big-M staffing rows, pairwise overlap rows) and solved with scipy's HiGHS ``milp``.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from tests.reference import _dt, load_cost, reference_edges

Key = tuple[str, str]


def _fits(vol: dict[str, Any], role: dict[str, Any]) -> bool:
    skills = vol.get("skills", {})
    return all(skills.get(r["skill"], 0) >= r.get("min_level", 1) for r in role.get("requirements", []))


def rules_instance(doc: dict[str, Any]) -> tuple[list[Key], list[int], list[int], dict[Key, list[str | None]]]:
    """Eligible pairs (the five rules, plus: fits some role), their priority, cost and role options."""
    edges = reference_edges(doc)
    vols = {v["id"]: v for v in doc["volunteers"]}
    acts = {a["id"]: a for a in doc["activities"]}
    options: dict[Key, list[str | None]] = {}
    for key in sorted(edges):
        roles = acts[key[1]].get("roles")
        if roles is None:
            options[key] = [None]
        else:
            fitting = [r["name"] for r in roles if _fits(vols[key[0]], r)]
            if fitting:
                options[key] = list(fitting)
    keys = sorted(options)
    return keys, [acts[a].get("priority", 1) for _, a in keys], [sum(edges[k].values()) for k in keys], options


def _day_minutes(act: dict[str, Any], zone: str) -> dict[str, float]:
    """Minutes of an activity on each local calendar day of ``zone``."""
    tz = ZoneInfo(zone)
    start, end = _dt(act["start"]).astimezone(tz), _dt(act["end"]).astimezone(tz)
    out: dict[str, float] = {}
    cursor = start
    while cursor < end:
        midnight = datetime.combine(cursor.date() + timedelta(days=1), datetime.min.time(), tz)
        stop = min(end, midnight)
        out[cursor.date().isoformat()] = out.get(cursor.date().isoformat(), 0) + (stop - cursor).total_seconds() / 60
        cursor = stop
    return out


def _hours(act: dict[str, Any]) -> float:
    return (_dt(act["end"]) - _dt(act["start"])).total_seconds() / 3600


def _clash(a: dict[str, Any], b: dict[str, Any], rest: timedelta) -> bool:
    return _dt(a["start"]) < _dt(b["end"]) + rest and _dt(b["start"]) < _dt(a["end"]) + rest


def rules_feasible(doc: dict[str, Any], plan: dict[Key, str | None]) -> bool:
    """Whether a plan (pair -> role or None) keeps capacity, overlap with rest and every menu rule."""
    policy = doc.get("policy") or {}
    vols = {v["id"]: v for v in doc["volunteers"]}
    acts = {a["id"]: a for a in doc["activities"]}
    rest = timedelta(minutes=policy.get("min_rest_minutes", 0))
    zone = policy.get("time_zone", "Asia/Shanghai")
    by_vol: dict[str, list[str]] = defaultdict(list)
    for v, a in plan:
        by_vol[v].append(a)
    for vid, mine in by_vol.items():
        vol = vols[vid]
        if len(mine) > vol.get("max_activities", 1):
            return False
        if any(_clash(acts[x], acts[y], rest) for x, y in itertools.combinations(mine, 2)):
            return False
        if vol.get("max_hours") is not None and sum(_hours(acts[a]) for a in mine) > vol["max_hours"] + 1e-9:
            return False
        if vol.get("max_hours_per_day") is not None:
            per_day: Counter[str] = Counter()
            for a in mine:
                per_day.update(_day_minutes(acts[a], zone))
            if any(m > vol["max_hours_per_day"] * 60 + 1e-9 for m in per_day.values()):
                return False
    filled = Counter(a for _, a in plan)
    for aid, act in acts.items():
        n = filled.get(aid, 0)
        if n > act["capacity"]:
            return False
        if n and n < act.get("min_volunteers", 0):
            return False
        if act.get("roles") is not None and n:
            per_role = Counter(r for (v, a), r in plan.items() if a == aid)
            for role in act["roles"]:
                if per_role[role["name"]] > role["count"] or per_role[role["name"]] < role.get("min", 0):
                    return False
            for ratio in act.get("ratios") or []:
                if ratio["per"] * per_role[ratio["lead"]] < per_role[ratio["of"]]:
                    return False
    for group in policy.get("together", []):
        for aid in {a for v, a in plan if v in group}:
            if not all((v, aid) in plan for v in group):
                return False
    return all(not set(by_vol.get(u, [])) & set(by_vol.get(w, [])) for u, w in policy.get("apart", []))


def rules_brute_force(doc: dict[str, Any]) -> tuple[int, int]:
    """(priority filled, total cost) of the lexicographic optimum over every plan."""
    keys, prio, cost, options = rules_instance(doc)
    assert len(keys) <= 14, "brute force is for tiny instances only"
    best = (0, 0)
    for mask in range(1 << len(keys)):
        chosen = [i for i in range(len(keys)) if mask >> i & 1]
        p = sum(prio[i] for i in chosen)
        c = sum(cost[i] for i in chosen) + load_cost(doc, [keys[i] for i in chosen])
        if (p, -c) <= (best[0], -best[1]):
            continue
        for roles in itertools.product(*(options[keys[i]] for i in chosen)):
            if rules_feasible(doc, {keys[i]: r for i, r in zip(chosen, roles, strict=True)}):
                best = (p, c)
                break
    return best


def rules_milp(doc: dict[str, Any]) -> tuple[int, int]:
    """(priority filled, total cost) from a second, differently formulated integer program."""
    keys, prio, cost, options = rules_instance(doc)
    if not keys:
        return (0, 0)
    policy = doc.get("policy") or {}
    vols = {v["id"]: v for v in doc["volunteers"]}
    acts = {a["id"]: a for a in doc["activities"]}
    rest = timedelta(minutes=policy.get("min_rest_minutes", 0))
    zone = policy.get("time_zone", "Asia/Shanghai")
    # Columns: w[k, r] per pair and role option; y[a] per activity; load steps per volunteer.
    cols = [(k, r) for k in range(len(keys)) for r in options[keys[k]]]
    act_ids = sorted(acts)
    y_col = {a: len(cols) + i for i, a in enumerate(act_ids)}
    step = (policy.get("weights") or {}).get("load", 0)
    steps: list[tuple[str, int]] = (
        [(v, k) for v in sorted(vols) for k in range(vols[v].get("max_activities", 1))] if step else []
    )
    n = len(cols) + len(act_ids) + len(steps)
    rows: list[dict[int, float]] = []
    lo: list[float] = []
    hi: list[float] = []

    def row(coefs: dict[int, float], low: float, high: float) -> None:
        rows.append(coefs)
        lo.append(low)
        hi.append(high)

    of_pair: dict[int, list[int]] = defaultdict(list)
    for c, (k, _) in enumerate(cols):
        of_pair[k].append(c)
    x = {k: dict.fromkeys(of_pair[k], 1.0) for k in range(len(keys))}
    for coefs in x.values():
        row(coefs, -np.inf, 1)  # a pair is taken once, in one role
    for vid, vol in vols.items():
        mine = [k for k in range(len(keys)) if keys[k][0] == vid]
        load = {c: 1.0 for k in mine for c in x[k]}
        if step:
            load |= {len(cols) + len(act_ids) + s: -1.0 for s, (v, _) in enumerate(steps) if v == vid}
            row(load, -np.inf, 0)
        else:
            row(load, -np.inf, vol.get("max_activities", 1))
        for i, j in itertools.combinations(mine, 2):
            if _clash(acts[keys[i][1]], acts[keys[j][1]], rest):
                row(x[i] | x[j], -np.inf, 1)
        if vol.get("max_hours") is not None:
            row({c: _hours(acts[keys[k][1]]) for k in mine for c in x[k]}, -np.inf, vol["max_hours"] + 1e-7)
        if vol.get("max_hours_per_day") is not None:
            days: dict[str, dict[int, float]] = defaultdict(dict)
            for k in mine:
                for day, minutes in _day_minutes(acts[keys[k][1]], zone).items():
                    days[day] |= dict.fromkeys(x[k], minutes)
            for coefs in days.values():
                row(coefs, -np.inf, vol["max_hours_per_day"] * 60 + 1e-7)
    for aid, act in acts.items():
        here = [k for k in range(len(keys)) if keys[k][1] == aid]
        total = {c: 1.0 for k in here for c in x[k]}
        # Big-M staffing: capacity * y bounds the team, min_volunteers * y is its floor.
        row(total | {y_col[aid]: -float(act["capacity"])}, -np.inf, 0)
        row(total | {y_col[aid]: -float(act.get("min_volunteers", 0))}, 0, np.inf)
        for role in act.get("roles") or []:
            filled = {c: 1.0 for c, (k, r) in enumerate(cols) if keys[k][1] == aid and r == role["name"]}
            row(filled, -np.inf, role["count"])
            row(filled | {y_col[aid]: -float(role.get("min", 0))}, 0, np.inf)
        for ratio in act.get("ratios") or []:
            lead = {c: float(ratio["per"]) for c, (k, r) in enumerate(cols) if keys[k][1] == aid and r == ratio["lead"]}
            of = {c: -1.0 for c, (k, r) in enumerate(cols) if keys[k][1] == aid and r == ratio["of"]}
            row(lead | of, 0, np.inf)
    for group in policy.get("together", []):
        for aid in acts:
            members = [next((k for k in range(len(keys)) if keys[k] == (v, aid)), None) for v in group]
            present = [k for k in members if k is not None]
            if len(present) < len(group):
                for k in present:
                    row(x[k], 0, 0)
            else:
                for k in present[1:]:
                    row(x[k] | dict.fromkeys(x[present[0]], -1.0), 0, 0)
    for u, w in policy.get("apart", []):
        for aid in acts:
            ku = next((k for k in range(len(keys)) if keys[k] == (u, aid)), None)
            kw = next((k for k in range(len(keys)) if keys[k] == (w, aid)), None)
            if ku is not None and kw is not None:
                row(x[ku] | x[kw], -np.inf, 1)
    step_cost = [k * step for _, k in steps]
    scale = sum(cost) + sum(step_cost) + 1
    weight = np.zeros(n)
    for c, (k, _) in enumerate(cols):
        weight[c] = prio[k] * scale - cost[k]
    weight[len(cols) + len(act_ids) :] = [-s for s in step_cost]
    r_idx = [i for i, coefs in enumerate(rows) for _ in coefs]
    c_idx = [c for coefs in rows for c in coefs]
    vals = [v for coefs in rows for v in coefs.values()]
    matrix = sp.csr_matrix((vals, (r_idx, c_idx)), shape=(len(rows), n))
    res = milp(
        -weight,
        integrality=np.ones(n),
        bounds=Bounds(0, 1),
        constraints=[LinearConstraint(matrix, np.array(lo), np.array(hi))],
        options={"mip_rel_gap": 0.0},
    )
    assert res.status == 0, res.message
    on = np.rint(res.x) > 0.5
    chosen = sorted({keys[k] for c, (k, _) in enumerate(cols) if on[c]})
    index = {key: i for i, key in enumerate(keys)}
    return (
        sum(prio[index[k]] for k in chosen),
        sum(cost[index[k]] for k in chosen) + load_cost(doc, chosen),
    )
