"""Overbooking: standby volunteers so that each full activity is likely to have enough people show up.

With ``policy.target_fill_probability = t``, after the main solve every full activity whose
probability that at least ``capacity`` of its volunteers show up (independent no-shows, each at
the volunteer's show-up probability from :mod:`matcher.reliability`) is below ``t`` gets extra
*standby* places, at most ``policy.max_overbook`` each. Standby places never take anyone from a
real place: they are filled in a second solve over the volunteers' remaining free slots, after
the main result is fixed. The number of extra places grows one at a time for the activities
still below target, re-solving (exactly, and certified, like the main solve) until every activity
reaches the target, hits the cap, or cannot fill another standby place.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from matcher.reliability import at_least_probability, volunteer_scores

if TYPE_CHECKING:
    from matcher.result import MatchResult

__all__ = ["Overbooking", "StandbyActivity", "overbook"]

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class StandbyActivity:
    """One activity's fill probability before and after standby places, and who stands by."""

    activity_id: str
    capacity: int
    standby: tuple[str, ...]
    fill_probability_before: float
    fill_probability: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        return {
            "activity_id": self.activity_id,
            "capacity": self.capacity,
            "standby": list(self.standby),
            "fill_probability_before": self.fill_probability_before,
            "fill_probability": self.fill_probability,
        }


@dataclass(frozen=True)
class Overbooking:
    """The standby plan: per full activity below target, the volunteers asked to stand by."""

    target: float
    max_overbook: int
    rounds: int
    activities: tuple[StandbyActivity, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        return {
            "target": self.target,
            "max_overbook": self.max_overbook,
            "rounds": self.rounds,
            "activities": [a.to_dict() for a in self.activities],
        }


def _round(x: float) -> float:
    return round(x, 6)


def overbook(result: MatchResult, target: float, max_overbook: int) -> Overbooking:
    """Plan standby places for ``result`` (see the module docstring).

    >>> import matcher
    >>> acts = [{"id": "a", "start": "2026-12-07T09:00Z", "end": "2026-12-07T10:00Z", "capacity": 1}]
    >>> flaky = [{"date": "2026-12-01", "outcome": "no_show"}] * 3
    >>> vols = [{"id": "v1", "history": flaky}, {"id": "v2", "preferences": ["a"]}]
    >>> plan = overbook(matcher.match(vols, acts), target=0.9, max_overbook=1)
    >>> [(a.activity_id, a.standby, a.fill_probability_before, a.fill_probability) for a in plan.activities]
    [('a', ('v1',), 0.8, 0.900864)]
    """
    from matcher.pipeline import combined_objective, solve_edges

    p, edges = result.problem, result.edges
    show = volunteer_scores(p).show_probability
    index = result.recommend_index
    chosen_vol = edges.vol[result.chosen].astype(np.int64)
    chosen_act = edges.act[result.chosen].astype(np.int64)

    team = {a: show[chosen_vol[chosen_act == a]] for a in np.flatnonzero(index.filled >= p.act_capacity).tolist()}
    before = {a: at_least_probability(s, int(p.act_capacity[a])) for a, s in team.items()}
    # A standby volunteer needs a free slot and no clash with their own assignments.
    usable = index.free
    extra = np.zeros(p.n_activities, dtype=np.int64)
    for a, prob in before.items():
        if prob < target and max_overbook > 0:
            extra[a] = 1
    rounds, standby_of = 0, {a: np.zeros(0, dtype=np.int64) for a in team}
    while extra.any():
        rounds += 1
        keep = usable & (extra[edges.act] > 0)
        # The standby solve itself must not plan standbys.
        policy = p.policy.model_copy(update={"target_fill_probability": None})
        sub = replace(p, policy=policy, vol_max_activities=p.vol_max_activities - index.load, act_capacity=extra)
        sub_edges, sub_costs = edges.select(keep), result.costs.select(keep)
        second = solve_edges(sub, sub_edges, sub_costs, combined_objective(sub, sub_edges, sub_costs))
        got_vol = sub_edges.vol[second.chosen].astype(np.int64)
        got_act = sub_edges.act[second.chosen].astype(np.int64)
        standby_of = {a: got_vol[got_act == a] for a in team}
        grow = False
        for a in team:
            prob = at_least_probability(np.concatenate([team[a], show[standby_of[a]]]), int(p.act_capacity[a]))
            if prob < target and extra[a] == len(standby_of[a]) and 0 < extra[a] < max_overbook:
                extra[a] += 1
                grow = True
        if not grow:
            break
    out = []
    for a in sorted(team):
        if before[a] >= target:
            continue
        after = at_least_probability(np.concatenate([team[a], show[standby_of[a]]]), int(p.act_capacity[a]))
        out.append(
            StandbyActivity(
                p.activity_ids[a],
                int(p.act_capacity[a]),
                tuple(sorted(p.volunteer_ids[v] for v in standby_of[a].tolist())),
                _round(before[a]),
                _round(after),
            )
        )
    return Overbooking(target, max_overbook, rounds, tuple(out))
