"""Regenerate ``community_week.json``: one street's week of menu activities and ~300 volunteers.

Seeded and deterministic; run ``python examples/make_community_week.py`` after changing it.
The data are synthetic: ids only, no names or contact details, as the contract requires.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SEED = 20261207
CST = timezone(timedelta(hours=8))
MONDAY = datetime(2026, 12, 7, tzinfo=CST)
# Community centres of one street (街道) in Hangzhou: (name, lat, lon).
PLACES = [
    ("文三社区", 30.2790, 120.1380),
    ("翠苑一区", 30.2870, 120.1330),
    ("学院路社区", 30.2760, 120.1290),
    ("古荡新村", 30.2830, 120.1220),
    ("嘉绿苑", 30.2920, 120.1280),
    ("街道文化站", 30.2810, 120.1310),
    ("社区卫生服务中心", 30.2845, 120.1355),
]
SKILLS = [  # (skill, share of volunteers holding it)
    ("陪伴聊天", 0.45),
    ("垃圾分类宣传", 0.30),
    ("辅导作业", 0.25),
    ("智能手机教学", 0.20),
    ("摄影", 0.12),
    ("驾驶", 0.15),
    ("急救", 0.12),
    ("护理", 0.08),
    ("英语", 0.10),
    ("书法", 0.06),
    ("法律咨询", 0.04),
    ("医疗", 0.04),
    ("心理咨询", 0.04),
    ("理发", 0.03),
    ("声乐", 0.06),
    ("手语", 0.02),
]
# (title, category, organisation, requirements, capacity range, priority, online)
MENU = [
    ("独居老人探访", "助老", "街道社工站", [("陪伴聊天", 2)], (4, 10), 2, False),
    ("老年食堂送餐", "助老", "街道社工站", [("驾驶", 2)], (2, 4), 2, False),
    ("助老义剪", "助老", "街道社工站", [("理发", 3)], (1, 2), 1, False),
    ("长者智能手机课堂", "助老", "青年志愿者协会", [("智能手机教学", 2)], (3, 6), 1, False),
    ("四点半课堂作业辅导", "助学", "实验小学", [("辅导作业", 2)], (4, 8), 1, False),
    ("少儿英语角", "助学", "青年志愿者协会", [("英语", 3)], (2, 3), 1, False),
    ("书法兴趣班", "助学", "街道文化站", [("书法", 3)], (1, 2), 1, False),
    ("线上作业答疑", "助学", "实验小学", [("辅导作业", 3)], (3, 6), 1, True),
    ("垃圾分类督导", "环保", "环保协会", [], (6, 12), 1, False),
    ("河道清洁行动", "环保", "环保协会", [], (8, 15), 1, False),
    ("旧物回收日", "环保", "环保协会", [("垃圾分类宣传", 1)], (3, 6), 1, False),
    ("法律咨询进社区", "法律援助", "区法律援助中心", [("法律咨询", 4)], (1, 2), 2, False),
    ("反诈宣传", "法律援助", "区法律援助中心", [("法律咨询", 1)], (2, 4), 1, False),
    ("健康义诊", "健康义诊", "社区卫生服务中心", [("医疗", 3), ("急救", 2)], (1, 3), 3, False),
    ("血压测量服务", "健康义诊", "社区卫生服务中心", [("护理", 2)], (2, 3), 2, False),
    ("急救知识培训", "健康义诊", "红十字会", [("急救", 4)], (1, 2), 2, False),
    ("线上心理热线", "健康义诊", "街道社工站", [("心理咨询", 3)], (1, 2), 2, True),
    ("社区合唱排练", "文化", "街道文化站", [("声乐", 2)], (2, 4), 1, False),
    ("文化站图书整理", "文化", "街道文化站", [], (2, 5), 1, False),
    ("社区活动摄影", "文化", "街道文化站", [("摄影", 3)], (1, 2), 1, False),
    ("手语角", "文化", "残联", [("手语", 3)], (1, 2), 1, False),
]
SLOTS = [(9, 0, 11, 30), (14, 0, 16, 30), (16, 30, 18, 0), (19, 0, 21, 0), (8, 0, 12, 0)]


def at(day: int, hour: int, minute: int) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def jitter(rng: random.Random, lat: float, lon: float, km: float) -> dict[str, float]:
    return {
        "lat": round(lat + rng.uniform(-km, km) / 111.0, 5),
        "lon": round(lon + rng.uniform(-km, km) / 96.0, 5),
    }


def make_activities(rng: random.Random) -> list[dict[str, Any]]:
    acts = []
    n = 0
    for title, category, org, reqs, (lo, hi), priority, online in MENU:
        for _ in range(rng.choice([1, 2, 2, 3])):
            n += 1
            day = rng.randrange(7)
            h0, m0, h1, m1 = rng.choice(SLOTS if category != "助学" or online else SLOTS[1:3])
            act: dict[str, Any] = {
                "id": f"A{n:03d}",
                "title": title,
                "organization": org,
                "category": category,
                "start": iso(at(day, h0, m0)),
                "end": iso(at(day, h1, m1)),
                "capacity": rng.randint(lo, hi),
                "priority": priority,
            }
            if not online:
                _, lat, lon = rng.choice(PLACES)
                act["location"] = {"lat": lat, "lon": lon}
            if reqs:
                act["requirements"] = [{"skill": s, "min_level": m} for s, m in reqs]
            acts.append(act)
    return acts


def availability(rng: random.Random, kind: str) -> list[dict[str, str]] | None:
    if kind == "flexible":
        return None
    if kind == "away":
        return []
    windows = []
    for day in range(7):
        weekend = day >= 5
        if kind == "retired" and not weekend and rng.random() < 0.8:
            windows.append((at(day, 8, 0), at(day, 12, 0)))
            if rng.random() < 0.6:
                # Touches the morning window: the two merge into one.
                windows.append((at(day, 12, 0), at(day, 17, 0)))
        elif kind == "student" and (weekend or rng.random() < 0.3):
            windows.append((at(day, 9, 0), at(day, 18, 0)) if weekend else (at(day, 16, 0), at(day, 21, 0)))
        elif kind == "worker" and ((weekend and rng.random() < 0.7) or (not weekend and rng.random() < 0.4)):
            windows.append((at(day, 8, 0), at(day, 21, 30)) if weekend else (at(day, 18, 30), at(day, 21, 30)))
    return [{"start": iso(s), "end": iso(e)} for s, e in windows]


def make_volunteers(rng: random.Random, acts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    vols = []
    for i in range(1, 301):
        kind = rng.choices(["retired", "student", "worker", "flexible", "away"], [35, 25, 30, 7, 3])[0]
        vol: dict[str, Any] = {"id": f"V{i:04d}"}
        skills = {
            s: rng.choices([1, 2, 3, 4, 5], [15, 30, 30, 15, 10])[0] for s, share in SKILLS if rng.random() < share
        }
        if skills:
            vol["skills"] = skills
        windows = availability(rng, kind)
        if windows is not None:
            vol["availability"] = windows
        if rng.random() < 0.92:
            _, lat, lon = rng.choice(PLACES)
            vol["location"] = jitter(rng, lat, lon, 2.5)
        if rng.random() < 0.25:
            vol["max_travel_km"] = rng.choice([1.5, 2.0, 3.0, 5.0])
        vol["max_activities"] = rng.choices([1, 2, 3], [55, 30, 15])[0]
        if rng.random() < 0.7:
            # Residents mostly pick what they are qualified for, sometimes aspirationally not.
            fits = [
                a["id"]
                for a in acts
                if all(skills.get(r["skill"], 0) >= r["min_level"] for r in a.get("requirements", []))
            ]
            pool = fits if fits and rng.random() < 0.85 else [a["id"] for a in acts]
            picks = rng.sample(pool, k=min(len(pool), rng.randint(1, 5)))
            prefs: list[Any] = []
            while picks:
                size = 2 if len(picks) >= 2 and rng.random() < 0.2 else 1
                group, picks = picks[:size], picks[size:]
                prefs.append(group if size > 1 else group[0])
            vol["preferences"] = prefs
        vols.append(vol)
    return vols


def add_history(rng: random.Random, vols: list[dict[str, Any]]) -> None:
    """Past services (评单) for about two volunteers in three, from their own seeded stream so the
    rest of the example stays as it was: most come nearly always, a few often do not."""
    for vol in vols:
        if rng.random() < 0.35:
            continue
        show = rng.choices([0.97, 0.85, 0.6], [60, 30, 10])[0]
        services = []
        for _ in range(rng.randint(1, 10)):
            day = (MONDAY - timedelta(days=rng.randint(1, 300))).date().isoformat()
            if rng.random() < show:
                service: dict[str, Any] = {"date": day, "outcome": "attended"}
                if rng.random() < 0.7:
                    service["rating"] = rng.choices([5, 4, 3, 2], [50, 35, 12, 3])[0]
            else:
                service = {"date": day, "outcome": "no_show"}
            services.append(service)
        vol["history"] = sorted(services, key=lambda x: x["date"])


def main() -> None:
    rng = random.Random(SEED)
    acts = make_activities(rng)
    vols = make_volunteers(rng, acts)
    add_history(random.Random(SEED + 1), vols)
    doc = {
        "volunteers": vols,
        "activities": acts,
        "policy": {"max_travel_km": 5.0, "selection": "prefer"},
    }
    out = Path(__file__).with_name("community_week.json")
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(doc['volunteers'])} volunteers, {len(acts)} activities")


if __name__ == "__main__":
    main()
