"""Menu rules on the bundled week: a 社工-led team, a course that needs a minimum, an hour cap.

Run ``python examples/menu_rules.py``. It adds the rules a real service centre writes on its
menu to ``community_week.json``, solves the week with and without them, and prints what changed:

* the elderly visits (助老) become teams: one 社工 (心理咨询 level 2 or more) leads, and there is
  at least one 社工 per four 志愿者;
* the health check-ups (健康义诊) run only with at least four volunteers;
* volunteers who give several shifts give at most 5 hours this week and rest 60 minutes between
  shifts; two volunteers come as a parent and child, two others are kept apart.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import matcher

WEEK = Path(__file__).resolve().parent / "community_week.json"


def with_rules(doc: dict[str, Any]) -> dict[str, Any]:
    """The week with the menu rules added (a copy)."""
    doc = copy.deepcopy(doc)
    for act in doc["activities"]:
        if act.get("category") == "助老":
            lead = {"name": "社工", "count": 2, "min": 1, "requirements": [{"skill": "心理咨询", "min_level": 2}]}
            act["roles"] = [lead, {"name": "志愿者", "count": act["capacity"]}]
            act["ratios"] = [{"lead": "社工", "per": 4, "of": "志愿者"}]
        if act.get("category") == "健康义诊":
            act["min_volunteers"] = min(4, act["capacity"])
    for vol in doc["volunteers"]:
        if vol.get("max_activities", 1) > 1:
            vol["max_hours"] = 5.0
    ids = sorted(v["id"] for v in doc["volunteers"])
    doc["policy"] = {
        **doc["policy"],
        "min_rest_minutes": 60,
        "together": [[ids[10], ids[11]]],
        "apart": [[ids[20], ids[21]]],
    }
    return doc


def summary(result: matcher.MatchResult, caps: dict[str, float]) -> dict[str, Any]:
    """Places, hours over the caps and places per category of a result, for the comparison."""
    hours = {item.volunteer_id: item.hours for item in result.service_hours()}
    categories = {a["id"]: a.get("category") for a in json.loads(WEEK.read_text(encoding="utf-8"))["activities"]}
    filled = Counter(categories[a.activity_id] for a in result.assignments)
    return {
        "places": result.metrics["places_filled"],
        "over_cap": sum(1 for vid, cap in caps.items() if hours.get(vid, 0.0) > cap),
        "filled_by_category": dict(sorted(filled.items())),
        "status": result.status,
    }


def main() -> None:
    doc = json.loads(WEEK.read_text(encoding="utf-8"))
    ruled = with_rules(doc)
    plain = matcher.match(doc["volunteers"], doc["activities"], doc["policy"])
    rules = matcher.match(ruled["volunteers"], ruled["activities"], ruled["policy"])
    caps = {v["id"]: v["max_hours"] for v in ruled["volunteers"] if "max_hours" in v}
    before, after = summary(plain, caps), summary(rules, caps)
    print(f"{'':34}{'ignoring rules':>16}{'with rules':>12}")
    print(f"{'places filled':34}{before['places']:>16}{after['places']:>12}")
    print(f"{'volunteers over their 5 h cap':34}{before['over_cap']:>16}{after['over_cap']:>12}")
    for category in sorted(set(before["filled_by_category"]) | set(after["filled_by_category"])):
        b, a = before["filled_by_category"].get(category, 0), after["filled_by_category"].get(category, 0)
        print(f"{'  filled: ' + category:34}{b:>16}{a:>12}")
    print(f"status: {after['status']}, certificate: {rules.certificate.kind}")
    assert rules.rules is not None
    print(
        f"program: {rules.rules.program_edges} pairs, {rules.rules.program_activities} activities, "
        f"gap {rules.rules.gap}"
    )

    print("\nTeams of the elderly visits (社工 leads):")
    teams: dict[str, Counter[str]] = {}
    for a in rules.assignments:
        if a.role is not None:
            teams.setdefault(a.activity_id, Counter())[a.role] += 1
    for aid, team in sorted(teams.items()):
        print(f"  {aid}: " + ", ".join(f"{n} {role}" for role, n in sorted(team.items())))
    print("\nActivities with a minimum that do not run:")
    for item in rules.rules.not_staffed:
        detail = f" (role {item.role})" if item.role else ""
        print(
            f"  {item.activity_id}: needs {item.min_volunteers}, {item.eligible_volunteers} eligible "
            f"-> {item.reason}{detail}"
        )
    check = matcher.verify(rules.problem, rules)
    print(f"\nverify: feasible={check.feasible}, problems={len(check.problems)}")


if __name__ == "__main__":
    main()
