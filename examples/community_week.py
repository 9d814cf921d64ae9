"""Dispatch one street's week of menu activities and print a summary an organiser can read.

Run: ``python examples/community_week.py [PROBLEM.json] [--backend NAME]``
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict
from pathlib import Path

import matcher

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("problem", nargs="?", default=HERE / "community_week.json", type=Path)
    parser.add_argument("--backend", default=None, choices=sorted(matcher.BACKENDS))
    args = parser.parse_args()

    doc = matcher.load_document(args.problem)
    result = matcher.match_document(doc, backend=args.backend)
    report = matcher.verify(result.problem, result)
    acts = {a.id: a for a in doc.activities}
    m = result.metrics

    print(f"社区一周菜单派单 — {len(doc.activities)} activities, {len(doc.volunteers)} volunteers")
    print(
        f"status: {result.status} (backend {result.backend}, certificate {result.certificate.kind}); "
        f"verified: feasible={report.feasible}, optimal={report.optimal}"
    )
    print(
        f"places filled: {m['places_filled']}/{m['places_offered']} ({m['fill_rate']:.0%}); "
        f"volunteers assigned: {m['volunteers_assigned']}/{m['volunteers_total']}"
    )
    print(
        f"got a first choice: {m['first_choice_share']:.0%} of assigned volunteers who ranked activities; "
        f"travel mean {m['travel_km_mean']} km, p90 {m['travel_km_p90']} km"
    )
    print(f"objective: priority filled {result.objective.priority_filled}, total cost {result.objective.total_cost}")

    offered: Counter[str] = Counter()
    filled: Counter[str] = Counter()
    for a in doc.activities:
        offered[a.category or "其他"] += a.capacity
    for x in result.assignments:
        filled[acts[x.activity_id].category or "其他"] += 1
    print("\nby category (filled / offered):")
    for category in sorted(offered):
        print(f"  {filled[category]:>3} / {offered[category]:<3}  {category}")

    print("\nplaces left open:")
    for u in result.unfilled:
        a = acts[u.activity_id]
        print(
            f"  {u.activity_id} {a.title} ({a.organization}, {a.start:%a %H:%M}): "
            f"{u.capacity - u.filled} of {u.capacity} open, {u.eligible_volunteers} eligible volunteers"
        )

    reasons = Counter(u.reason for u in result.unassigned)
    print(
        f"\nvolunteers not assigned: {len(result.unassigned)} "
        f"({reasons['no_eligible_activity']} had no eligible activity, "
        f"{reasons['places_taken']} were eligible but places went to better matches)"
    )

    teams: defaultdict[str, list[str]] = defaultdict(list)
    for x in result.assignments:
        teams[x.activity_id].append(x.volunteer_id)
    print("\nfirst five teams:")
    for aid in sorted(teams)[:5]:
        a = acts[aid]
        print(f"  {aid} {a.title} {a.start:%m-%d %H:%M}: {', '.join(teams[aid])}")


if __name__ == "__main__":
    main()
