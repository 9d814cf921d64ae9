"""The dispatch loop on the bundled week: each knob's effect, a re-match after declines, and the
explanations a volunteer or an organiser would see.

Run: ``python examples/dispatch_loop.py [PROBLEM.json]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

import matcher
from matcher.reliability import volunteer_scores

HERE = Path(__file__).resolve().parent


def outcome(result: matcher.MatchResult) -> dict[str, Any]:
    """The figures the knobs move, for one result."""
    p, edges = result.problem, result.edges
    scores = volunteer_scores(p)
    vol = edges.vol[result.chosen]
    fair = result.fairness_report()
    recent = scores.recent[vol] > 0
    standby = sum(len(a.standby) for a in result.overbooking.activities) if result.overbooking else 0
    return {
        "filled": result.metrics["places_filled"],
        "cost": result.objective.total_cost,
        "expected no-shows": round(float((1.0 - scores.show_probability[vol]).sum()), 1),
        "mean rating": round(float(scores.rating_micro[vol].mean() / 1e6), 3),
        "served recently": f"{recent.mean():.0%}",
        "never assigned": f"{fair.willing_never_assigned_share:.0%}",
        "Gini (load)": round(fair.gini_assignments, 3),
        "Gini (hours)": round(fair.gini_hours, 3),
        "standbys": standby,
    }


def table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    names = list(rows[0][1])
    width = max(len(label) for label, _ in rows)
    cols = [max(len(n), *(len(str(row[n])) for _, row in rows)) for n in names]
    head = f"{'':<{width}}  " + "  ".join(f"{n:>{c}}" for n, c in zip(names, cols, strict=True))
    body = [
        f"{label:<{width}}  " + "  ".join(f"{row[n]!s:>{c}}" for n, c in zip(names, cols, strict=True))
        for label, row in rows
    ]
    return "\n".join([head, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("problem", nargs="?", default=HERE / "community_week.json", type=Path)
    args = parser.parse_args()
    doc = json.loads(args.problem.read_text(encoding="utf-8"))
    vols, acts, base = doc["volunteers"], doc["activities"], doc.get("policy") or {}

    def run(**policy: Any) -> matcher.MatchResult:
        weights = {**base.get("weights", {}), **policy.pop("weights", {})}
        return matcher.match(vols, acts, {**base, **policy, "weights": weights})

    baseline = run()
    knobs = [
        ("baseline", baseline),
        ("weights.reliability = 400", run(weights={"reliability": 400})),
        ("weights.rating = 200", run(weights={"rating": 200})),
        ("weights.recent_service = 60", run(weights={"recent_service": 60})),
        ("weights.load = 60", run(weights={"load": 60})),
        ("target_fill_probability = 0.9", run(target_fill_probability=0.9)),
    ]
    print("Each knob on its own (places filled never drop: they come first):\n")
    print(table([(label, outcome(r)) for label, r in knobs]))

    # 接单: ten volunteers decline, the first ten others accept; re-match.
    declined = [{"volunteer_id": a.volunteer_id, "activity_id": a.activity_id} for a in baseline.assignments[::14][:10]]
    accepted = [
        {"volunteer_id": a.volunteer_id, "activity_id": a.activity_id}
        for a in baseline.assignments
        if {"volunteer_id": a.volunteer_id, "activity_id": a.activity_id} not in declined
    ][:10]
    changes = {"declined": declined, "accepted": accepted}
    fewest = matcher.rematch(vols, acts, base, baseline, changes)
    weighted = matcher.rematch(vols, acts, base, baseline, changes, disruption_weight=50)
    # The same pins and declines, without regard for the previous plan:
    scratch = matcher.rematch(vols, acts, base, {"assignments": []}, changes)
    before = {(a.volunteer_id, a.activity_id) for a in baseline.assignments}
    scratch_pairs = {(a.volunteer_id, a.activity_id) for a in scratch.assignments}
    print(f"\nRe-match after {len(declined)} declines (with {len(accepted)} acceptances pinned):")
    for label, r in (("fewest changes first", fewest), ("disruption_weight = 50", weighted)):
        assert r.rematch is not None
        s = r.rematch
        print(
            f"  {label:<24} filled {r.metrics['places_filled']}, cost {r.objective.total_cost}, "
            f"changes {s.changes} (kept {s.kept}, forced out {s.forced_out}, dropped {s.dropped}, added {s.added})"
        )
    print(
        f"  {'from scratch':<24} filled {scratch.metrics['places_filled']}, cost {scratch.objective.total_cost}, "
        f"changes {len(before ^ scratch_pairs)}"
    )

    unassigned = next(u.volunteer_id for u in baseline.unassigned if u.reason == "places_taken")
    why = baseline.explain_volunteer(unassigned)
    print(f"\nWhy wasn't {unassigned} picked? {why.message}")
    for pair in why.activities[:3]:
        print(f"  {pair.activity_id}: {pair.message}")
    unfilled = baseline.unfilled[0].activity_id
    funnel = baseline.explain_activity(unfilled)
    steps = " → ".join(f"{s.volunteers} {s.label}" for s in funnel.funnel[1:])
    print(f"\nWhy is {unfilled} not full? {funnel.message}\n  {steps}")
    print(f"\nA personal menu for {unassigned}: {[r.id for r in baseline.recommend_activities(unassigned, 3)]}")
    busy = baseline.assignments[0].activity_id
    print(f"Backups for {busy}: {[(r.id, r.kind) for r in baseline.waitlist(busy, 3)]}")
    hours = [h.hours for h in baseline.service_hours()]
    print(f"\nService hours: {sum(hours):.1f} h over {len(hours)} volunteers (median {np.median(hours):.1f} h)")
    fill = baseline.fairness_report().fill_by_organization
    print("Fill by organisation: " + ", ".join(f"{org or '—'} {v['fill_rate']:.0%}" for org, v in fill.items()))


if __name__ == "__main__":
    main()
