"""Seeded generator of realistic city-scale pools, for benchmarks.

One city with dense districts; Zipf-skewed skills; weekly availability in half-day blocks;
activities with capacities 1-30 in 2-3 hour slots; menu picks drawn from nearby activities.
Everything is vectorised so that XL pools generate in seconds; the output is a plain problem
document (dicts), exactly what a platform would send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

CST = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 12, 7, tzinfo=CST)
SKILL_NAMES = [
    "陪伴聊天",
    "垃圾分类宣传",
    "辅导作业",
    "智能手机教学",
    "驾驶",
    "摄影",
    "急救",
    "英语",
    "护理",
    "书法",
    "声乐",
    "法律咨询",
    "医疗",
    "心理咨询",
    "理发",
    "手语",
    "电工",
    "编程",
    "舞蹈",
    "烹饪",
    "园艺",
    "维修",
    "会计",
    "翻译",
    "绘画",
    "剪辑",
    "主持",
    "救生",
    "消防",
    "导览",
]


@dataclass(frozen=True)
class Scale:
    """Pool size of one named scale."""

    volunteers: int
    activities: int


SCALES = {
    "S": Scale(2_000, 200),
    "M": Scale(50_000, 2_500),
    "L": Scale(300_000, 15_000),
    "XL": Scale(1_000_000, 50_000),
}


def _iso(minutes: np.ndarray) -> list[str]:
    base = MONDAY
    return [(base + timedelta(minutes=int(m))).isoformat() for m in minutes]


#: Instance families (name -> generator keywords), each stressing one part of the engine.
FAMILIES: dict[str, dict[str, Any]] = {
    # The default: one city, one activity per volunteer per dispatch round (the common menu case).
    "city": {},
    # As the city, but 10% of volunteers may take two or three activities in the round.
    "some_multi": {"multi_activity_share": 0.1},
    # Few volunteers hold the skills most activities ask for.
    "scarce_skills": {"skill_share": 0.25, "requirement_boost": 1},
    # Many more volunteers than places: every place is contested.
    "tight_capacity": {"capacity_scale": 0.3},
    # Everyone may take several activities, and shifts overlap: the exact no-overlap step.
    "multi_activity": {"multi_activity_share": 1.0},
    # A 30 km travel limit: far more candidate edges per volunteer.
    "huge_radius": {"max_travel_km": 30.0},
    # As some_multi, with the menu rules on 10% of activities (teams led by a 社工, courses with a
    # minimum) and volunteers (weekly hour caps, together pairs, apart pairs), and 30 min rest.
    "menu_rules": {"multi_activity_share": 0.1, "rules_share": 0.1},
    # A dispatch that fills places by priority alone (no picks, travel or skill costs): every edge
    # of an activity weighs the same, the augmenting-path solver's worst case.
    "fill_only": {"fill_only": True},
}


def add_menu_rules(doc: dict[str, Any], share: float, seed: int = 0) -> dict[str, Any]:
    """Put the menu rules on ``share`` of the activities and volunteers of ``doc`` (in place).

    Activities: a third become 社工-led teams (one 陪伴聊天 level-2 lead, at least one, and at most
    four helpers per lead), a third courses with a minimum of half their places, a third both.
    Volunteers: weekly hour caps; together pairs (the second member moves in with the first);
    apart pairs. Policy: 30 minutes' rest between assignments.
    """
    rng = np.random.default_rng(seed + 7)
    acts, vols = doc["activities"], doc["volunteers"]
    ruled = rng.choice(len(acts), size=int(len(acts) * share), replace=False)
    for k, j in enumerate(np.sort(ruled).tolist()):
        act = acts[j]
        cap = act["capacity"]
        if k % 3 != 1 and cap >= 2:
            lead = {"name": "社工", "count": 1, "min": 1, "requirements": [{"skill": "陪伴聊天", "min_level": 2}]}
            act["roles"] = [lead, {"name": "志愿者", "count": cap - 1}]
            act["ratios"] = [{"lead": "社工", "per": 4, "of": "志愿者"}]
        if k % 3 != 0 and cap >= 2:
            places = min(cap, 5) if "roles" in act else cap
            act["min_volunteers"] = max(2, places // 2)
    n_v = len(vols)
    for i in rng.choice(n_v, size=int(n_v * share), replace=False).tolist():
        vols[i]["max_hours"] = float(rng.choice([4.0, 6.0]))
    pairs = rng.choice(n_v, size=2 * int(n_v * share / 20), replace=False).reshape(-1, 2)
    together = []
    for a, b in pairs[: len(pairs) // 2].tolist():
        for key in ("location", "availability", "max_travel_km"):
            if key in vols[a]:
                vols[b][key] = vols[a][key]
            else:
                vols[b].pop(key, None)
        together.append([vols[a]["id"], vols[b]["id"]])
    apart = [[vols[a]["id"], vols[b]["id"]] for a, b in pairs[len(pairs) // 2 :].tolist()]
    doc["policy"] = {**doc["policy"], "min_rest_minutes": 30, "together": together, "apart": apart}
    return doc


def generate(
    scale: Scale,
    seed: int = 0,
    *,
    multi_activity_share: float = 0.0,
    skill_share: float = 1.0,
    requirement_boost: int = 0,
    capacity_scale: float = 1.0,
    max_travel_km: float = 3.0,
    rules_share: float = 0.0,
    fill_only: bool = False,
) -> dict[str, Any]:
    """A problem document for ``scale``, deterministic in ``seed``; keywords select a family."""
    rng = np.random.default_rng(seed)
    n_v, n_a = scale.volunteers, scale.activities
    # A city of ~30 x 30 km with districts whose density falls off; people cluster around them.
    n_districts = max(4, int(np.sqrt(n_a) / 2))
    # Beyond M the pool covers more ground, not the same city more densely: the area grows with the
    # pool so that density (and edges per volunteer) stays that of a real city. S and M unchanged.
    stretch = max(1.0, np.sqrt(n_v / 50_000))
    lat_half, lon_half = 0.125 * stretch, 0.15 * stretch
    centres = np.column_stack(
        [
            rng.uniform(30.275 - lat_half, 30.275 + lat_half, n_districts),
            rng.uniform(120.15 - lon_half, 120.15 + lon_half, n_districts),
        ]
    )
    weight = 1.0 / np.arange(1, n_districts + 1)
    weight /= weight.sum()

    def place(n: int, spread_km: float) -> np.ndarray:
        d = rng.choice(n_districts, size=n, p=weight)
        # Districts grow with the area too: with a fixed spread, the Zipf-heaviest district of L
        # held five times M's people per km^2 and candidate pairs grew quadratically (44M at L).
        jitter = rng.normal(0.0, spread_km * stretch, size=(n, 2)) / np.array([111.0, 96.0])
        return np.round(centres[d] + jitter, 5)

    zipf = 1.0 / np.arange(1, len(SKILL_NAMES) + 1) ** 1.1
    zipf /= zipf.sum()

    # Activities: half-day blocks (morning, afternoon, evening) over one week, 2-3 hour slots.
    day = rng.integers(0, 7, n_a)
    block_start = np.array([8 * 60, 13 * 60 + 30, 18 * 60 + 30])[rng.integers(0, 3, n_a)]
    start = day * 1440 + block_start + 30 * rng.integers(0, 3, n_a)
    end = start + rng.choice([120, 150, 180], size=n_a)
    capacity = np.maximum(np.minimum(np.rint((1 + rng.geometric(0.15, n_a)) * capacity_scale), 30), 1).astype(int)
    priority = rng.choice([1, 1, 1, 1, 2, 3], size=n_a)
    online = rng.random(n_a) < 0.05
    act_loc = place(n_a, 2.0)
    n_req = rng.choice([0, 0, 1, 1, 1, 2], size=n_a) + requirement_boost
    starts, ends = _iso(start), _iso(end)
    activities = []
    for j in range(n_a):
        act: dict[str, Any] = {
            "id": f"A{j:06d}",
            "start": starts[j],
            "end": ends[j],
            "capacity": int(capacity[j]),
            "priority": int(priority[j]),
        }
        if not online[j]:
            act["location"] = {"lat": float(act_loc[j, 0]), "lon": float(act_loc[j, 1])}
        if n_req[j]:
            skills = rng.choice(len(SKILL_NAMES), size=n_req[j], replace=False, p=zipf)
            act["requirements"] = [{"skill": SKILL_NAMES[s], "min_level": int(rng.integers(1, 4))} for s in skills]
        activities.append(act)

    # Volunteers: a few skills each, weekly half-day availability, picks among nearby activities.
    vol_loc = place(n_v, 3.0)
    n_skills = np.where(rng.random(n_v) < skill_share, np.minimum(rng.poisson(2.0, n_v), 6), 0)
    always = rng.random(n_v) < 0.2
    n_windows = rng.integers(1, 7, n_v)
    max_act = np.where(rng.random(n_v) < multi_activity_share, rng.integers(2, 4, n_v), 1)
    picks_n = np.where(rng.random(n_v) < 0.6, rng.integers(1, 6, n_v), 0)
    limit = rng.choice([0.0, 0.0, 0.0, 2.0, 3.0, 5.0], size=n_v)
    # Nearby activities by a coarse grid lookup keeps pick generation linear.
    cell = np.floor(act_loc / 0.02).astype(np.int64)
    cell_key = cell[:, 0] * 100_000 + cell[:, 1]
    order = np.argsort(cell_key, kind="stable")
    sorted_keys = cell_key[order]
    volunteers = []
    block_starts = np.array([8 * 60, 13 * 60, 18 * 60])
    for i in range(n_v):
        vol: dict[str, Any] = {"id": f"V{i:07d}"}
        if n_skills[i]:
            skills = rng.choice(len(SKILL_NAMES), size=n_skills[i], replace=False, p=zipf)
            levels = rng.choice([1, 2, 3, 4, 5], size=n_skills[i], p=[0.15, 0.3, 0.3, 0.15, 0.1])
            vol["skills"] = {SKILL_NAMES[s]: int(lv) for s, lv in zip(skills, levels, strict=True)}
        if not always[i]:
            slots = rng.choice(21, size=n_windows[i], replace=False)
            w_start = (slots // 3) * 1440 + block_starts[slots % 3]
            w_start.sort()
            vol["availability"] = [
                {"start": s, "end": e} for s, e in zip(_iso(w_start), _iso(w_start + 270), strict=True)
            ]
        vol["location"] = {"lat": float(vol_loc[i, 0]), "lon": float(vol_loc[i, 1])}
        if limit[i]:
            vol["max_travel_km"] = float(limit[i])
        if max_act[i] > 1:
            vol["max_activities"] = int(max_act[i])
        if picks_n[i]:
            c = np.floor(vol_loc[i] / 0.02).astype(np.int64)
            key = c[0] * 100_000 + c[1]
            lo, hi = np.searchsorted(sorted_keys, [key, key + 1])
            near = order[lo:hi]
            pool = near if len(near) >= picks_n[i] else np.arange(n_a)
            chosen = rng.choice(pool, size=min(picks_n[i], len(pool)), replace=False)
            vol["preferences"] = [activities[int(j)]["id"] for j in chosen]
        volunteers.append(vol)
    policy: dict[str, Any] = {"max_travel_km": max_travel_km}
    if fill_only:
        policy |= {"selection": "open", "weights": {"distance": 0, "skill_surplus": 0}}
    doc = {"volunteers": volunteers, "activities": activities, "policy": policy}
    return add_menu_rules(doc, rules_share, seed) if rules_share else doc
