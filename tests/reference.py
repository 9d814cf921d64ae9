"""Deliberately naive reference implementations, written from the README's rules alone.

Per-pair Python loops over the raw records, no numpy tricks: slow and obviously right, so the
engine's vectorised code can be compared with them.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

R_KM = 6371.0088
MAX_GROUPS = 20
DEFAULT_WEIGHTS = {
    "rank": 20,
    "unranked": 500,
    "distance": 10,
    "skill_surplus": 3,
    "reliability": 0,
    "rating": 0,
    "recent_service": 0,
}


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _haversine(a: dict[str, float], b: dict[str, float]) -> float:
    p1, p2 = math.radians(a["lat"]), math.radians(b["lat"])
    dp = p2 - p1
    dl = math.radians(b["lon"]) - math.radians(a["lon"])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R_KM * math.asin(math.sqrt(min(1.0, max(0.0, h))))


def _merged(windows: list[dict[str, str]]) -> list[tuple[datetime, datetime]]:
    spans = sorted((_dt(w["start"]), _dt(w["end"])) for w in windows)
    merged: list[list[datetime]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def _rank(vol: dict[str, Any], aid: str) -> int | None:
    for r, group in enumerate(vol.get("preferences") or []):
        members = [group] if isinstance(group, str) else group
        if aid in members:
            return r
    return None


def pair_facts(vol: dict[str, Any], act: dict[str, Any], policy: dict[str, Any]) -> dict[str, Any] | None:
    """The eligibility of one pair by the five rules; None if ineligible, else its cost facts."""
    skills = vol.get("skills", {})
    surplus = 0
    for req in act.get("requirements", []):
        have = skills.get(req["skill"], 0)
        need = req.get("min_level", 1)
        if have < need:
            return None
        surplus += have - need
    if vol.get("availability") is not None:
        a_start, a_end = _dt(act["start"]), _dt(act["end"])
        if not any(s <= a_start and a_end <= e for s, e in _merged(vol["availability"])):
            return None
    distance_km = 0.0
    in_person = act.get("location") is not None
    if in_person:
        if vol.get("location") is None:
            return None
        distance_km = _haversine(vol["location"], act["location"])
        limit = policy.get("max_travel_km", 10.0)
        if vol.get("max_travel_km") is not None:
            limit = min(limit, vol["max_travel_km"])
        if distance_km > limit:
            return None
    if act.get("members_only") is not None and not set(act["members_only"]) & set(vol.get("organizations") or []):
        return None
    rank = _rank(vol, act["id"])
    selection = policy.get("selection", "prefer")
    if selection == "strict" and rank is None:
        return None
    return {"distance_km": distance_km, "in_person": in_person, "rank": rank, "surplus": surplus}


def as_of(doc: dict[str, Any]) -> date:
    """The day history is judged from: the policy's, else the UTC date of the earliest activity start."""
    policy = doc.get("policy") or {}
    if policy.get("as_of"):
        return date.fromisoformat(policy["as_of"])
    starts = [_dt(a["start"]).astimezone(UTC).date() for a in doc["activities"]]
    return min(starts) if starts else date(1970, 1, 1)


def history_terms(vol: dict[str, Any], policy: dict[str, Any], today: date) -> dict[str, int]:
    """reliability, rating and recent_service of one volunteer, straight from the README's formulas."""
    w = {**DEFAULT_WEIGHTS, **policy.get("weights", {})}
    half_life = policy.get("half_life_days", 180)
    recent_days = policy.get("recent_days", 28)
    came = total = rated = rating_sum = 0.0
    recent = 0
    for service in vol.get("history") or []:
        day = date.fromisoformat(service["date"])
        weight = 0.5 ** (max((today - day).days, 0) / half_life)
        total += weight
        if service["outcome"] == "attended":
            came += weight
        if service.get("rating") is not None:
            rated += weight
            rating_sum += weight * service["rating"]
        if 0 <= (today - day).days < recent_days:
            recent += 1
    show = round((4 + came) / (5 + total) * 1e6)
    rating = round((8 + rating_sum) / (2 + rated) * 1e6)
    return {
        "reliability": ((1_000_000 - show) * w["reliability"] + 500_000) // 1_000_000,
        "rating": ((5_000_000 - rating) // 4 * w["rating"] + 500_000) // 1_000_000,
        "recent_service": recent * w["recent_service"],
    }


def pair_cost(facts: dict[str, Any], policy: dict[str, Any]) -> dict[str, int]:
    """The named cost terms of one eligible pair that depend on the pair, from the README's formulas."""
    w = {**DEFAULT_WEIGHTS, **policy.get("weights", {})}
    if policy.get("selection", "prefer") == "open":
        pref = 0
    elif facts["rank"] is None:
        pref = w["unranked"]
    else:
        pref = w["rank"] * facts["rank"]
    metres = round(facts["distance_km"] * 1000) if facts["in_person"] else 0
    return {
        "preference": pref,
        "distance": (metres * w["distance"] + 500) // 1000,
        "skill_surplus": w["skill_surplus"] * facts["surplus"],
    }


def reference_edges(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, int]]:
    """Every eligible (volunteer id, activity id) with its cost terms, by brute force over pairs."""
    policy = doc.get("policy") or {}
    today = as_of(doc)
    out = {}
    for vol in doc["volunteers"]:
        for act in doc["activities"]:
            facts = pair_facts(vol, act, policy)
            if facts is not None:
                out[(vol["id"], act["id"])] = pair_cost(facts, policy) | history_terms(vol, policy, today)
    return out


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return _dt(a["start"]) < _dt(b["end"]) and _dt(b["start"]) < _dt(a["end"])


def _instance(doc: dict[str, Any]) -> tuple[list[tuple[str, str]], list[int], list[int]]:
    edges = reference_edges(doc)
    keys = sorted(edges)
    prio = {a["id"]: a.get("priority", 1) for a in doc["activities"]}
    return keys, [prio[a] for _, a in keys], [sum(edges[k].values()) for k in keys]


def _feasible(doc: dict[str, Any], chosen: list[tuple[str, str]]) -> bool:
    vols = {v["id"]: v for v in doc["volunteers"]}
    acts = {a["id"]: a for a in doc["activities"]}
    for vid in {v for v, _ in chosen}:
        mine = [acts[a] for v, a in chosen if v == vid]
        if len(mine) > vols[vid].get("max_activities", 1):
            return False
        if any(_overlap(x, y) for x, y in itertools.combinations(mine, 2)):
            return False
    load = Counter(a for _, a in chosen)
    return all(n <= acts[aid]["capacity"] for aid, n in load.items())


def load_cost(doc: dict[str, Any], chosen: list[tuple[str, str]]) -> int:
    """weights.load times n * (n - 1) / 2 for each volunteer's number n of assignments."""
    step = ((doc.get("policy") or {}).get("weights") or {}).get("load", 0)
    return step * sum(n * (n - 1) // 2 for n in Counter(v for v, _ in chosen).values())


def brute_force_optimum(doc: dict[str, Any]) -> tuple[int, int]:
    """(priority filled, total cost) of the lexicographic optimum, by enumerating edge subsets."""
    keys, prio, cost = _instance(doc)
    assert len(keys) <= 16, "brute force is for tiny instances only"
    best = (0, 0)
    for mask in range(1 << len(keys)):
        chosen = [keys[i] for i in range(len(keys)) if mask >> i & 1]
        if not _feasible(doc, chosen):
            continue
        p = sum(prio[i] for i in range(len(keys)) if mask >> i & 1)
        c = sum(cost[i] for i in range(len(keys)) if mask >> i & 1) + load_cost(doc, chosen)
        if (p, -c) > (best[0], -best[1]):
            best = (p, c)
    return best


def milp_optimum(doc: dict[str, Any]) -> tuple[int, int]:
    """(priority filled, total cost) from an independent MILP with pairwise no-overlap rows."""
    keys, prio, cost = _instance(doc)
    if not keys:
        return (0, 0)
    vols = {v["id"]: v for v in doc["volunteers"]}
    acts = {a["id"]: a for a in doc["activities"]}
    rows: list[list[int]] = []
    ub: list[int] = []
    for vid, vol in vols.items():
        mine = [i for i, (v, _) in enumerate(keys) if v == vid]
        if mine:
            rows.append(mine)
            ub.append(vol.get("max_activities", 1))
        for i, j in itertools.combinations(mine, 2):
            if _overlap(acts[keys[i][1]], acts[keys[j][1]]):
                rows.append([i, j])
                ub.append(1)
    for aid, act in acts.items():
        mine = [i for i, (_, a) in enumerate(keys) if a == aid]
        if mine:
            rows.append(mine)
            ub.append(act["capacity"])
    r = [k for k, row in enumerate(rows) for _ in row]
    c = [i for row in rows for i in row]
    # Convex load: the k-th assignment of a volunteer switches on a 0/1 variable costing (k - 1) * step.
    step = ((doc.get("policy") or {}).get("weights") or {}).get("load", 0)
    step_cost: list[int] = []
    link_r: list[int] = []
    link_c: list[int] = []
    link_v: list[float] = []
    for n_link, vid in enumerate(vols):
        mine = [i for i, (v, _) in enumerate(keys) if v == vid]
        link_r += [n_link] * len(mine)
        link_c += mine
        link_v += [1.0] * len(mine)
        for k in range(len(mine) if step else 0):
            link_r.append(n_link)
            link_c.append(len(keys) + len(step_cost))
            link_v.append(-1.0)
            step_cost.append(k * step)
    n = len(keys) + len(step_cost)
    a = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(len(rows), n))
    constraints = [LinearConstraint(a, -np.inf, np.array(ub, dtype=float))]
    if step:
        link = sp.csr_matrix((link_v, (link_r, link_c)), shape=(len(vols), n))
        constraints.append(LinearConstraint(link, 0, 0))
    # One combined objective; the numbers are small enough to be exact in float64.
    scale = sum(cost) + sum(step_cost) + 1
    weights = np.array([p * scale - k for p, k in zip(prio, cost, strict=True)] + [-k for k in step_cost], dtype=float)
    res = milp(
        -weights, integrality=np.ones(n), bounds=Bounds(0, 1), constraints=constraints, options={"mip_rel_gap": 0.0}
    )
    assert res.status == 0
    x = np.rint(res.x) > 0.5
    chosen = [keys[i] for i in np.flatnonzero(x[: len(keys)])]
    return int(np.array(prio)[x[: len(keys)]].sum()), int(np.array(cost)[x[: len(keys)]].sum()) + load_cost(doc, chosen)
