"""Explanations a platform can show a volunteer or an organiser: "why wasn't I picked?".

Built lazily from a :class:`~matcher.result.MatchResult` with the same rule functions
(:mod:`matcher.diagnose`) and named cost terms (:mod:`matcher.costs`) the engine used, so an
explanation can never disagree with the dispatch. Nothing here names another volunteer: reasons
that involve others are aggregates (how many places went to a better, equal or worse match).

For an eligible pair that was not used, ``improvement_needed`` says by how many cost points the
pair's match cost would have to drop (strictly more than that) before the optimum would use it.
It is the cost of the cheapest exchange cycle through the pair in the residual network of the
chosen flow, so it is exact whenever volunteers take one activity each; with several activities
per volunteer (the no-overlap rule), or after the overlap step, it is a proven lower bound.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from matcher.costs import COST_TERMS
from matcher.diagnose import RULES, RuleFailure, diagnose, rule_failures

if TYPE_CHECKING:
    from matcher.result import MatchResult

__all__ = [
    "ActivityExplanation",
    "FunnelStep",
    "PairExplanation",
    "RuleFailure",
    "VolunteerExplanation",
    "explain_activity",
    "explain_volunteer",
]

I64 = npt.NDArray[np.int64]

Outcome = Literal["assigned", "not_assigned", "not_eligible"]
Reason = Literal["not_staffed", "used_elsewhere", "time_conflict", "places_taken", "not_selected"]


@dataclass(frozen=True)
class PairExplanation:
    """What happened between one volunteer and one activity, and why."""

    activity_id: str
    preference_rank: int | None
    outcome: Outcome
    message: str
    failures: tuple[RuleFailure, ...] = ()
    reason: Reason | None = None
    cost: int | None = None
    cost_terms: dict[str, int] | None = None
    improvement_needed: int | None = None
    improvement_exact: bool | None = None
    places: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        out = asdict(self)
        out["failures"] = list(out["failures"])
        return out


@dataclass(frozen=True)
class VolunteerExplanation:
    """A volunteer's assignments and, per activity asked about, the outcome and its reasons."""

    volunteer_id: str
    assigned: tuple[str, ...]
    eligible_activities: int
    message: str
    activities: tuple[PairExplanation, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        return {
            "volunteer_id": self.volunteer_id,
            "assigned": list(self.assigned),
            "eligible_activities": self.eligible_activities,
            "message": self.message,
            "activities": [a.to_dict() for a in self.activities],
        }


@dataclass(frozen=True)
class FunnelStep:
    """How many volunteers are still in the running after one more rule."""

    step: str
    volunteers: int
    label: str


@dataclass(frozen=True)
class ActivityExplanation:
    """An activity's funnel: volunteers passing each rule in turn, then free, then assigned."""

    activity_id: str
    capacity: int
    filled: int
    ranked_by: int
    funnel: tuple[FunnelStep, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        out = asdict(self)
        out["funnel"] = list(out["funnel"])
        return out


_FUNNEL_LABELS = {
    "all": "volunteers in the pool",
    "travel": "within travel range",
    "skills": "with the required skills",
    "time": "available for the whole activity",
    "selection": "allowed by the selection policy",
    "membership": "members of an admitted organisation",
    "role": "able to fill one of the team's roles",
    "free": "not used elsewhere",
    "assigned": "assigned",
}


def _improvement_gaps(result: MatchResult, v: int, edge_ids: I64) -> tuple[I64 | None, bool]:
    """Per unused edge of volunteer ``v``: the cost drop it needs beyond which the optimum uses it.

    None for a re-match, whose objective also counts changed assignments: a cost figure would
    mislead there.
    """
    from matcher.solvers._kernels import UNREACHABLE

    p, edges, cert = result.problem, result.edges, result.certificate
    if cert.kind != "lp_dual" or result.rematch is not None:
        return None, False
    weight = result.flow.weight[edge_ids]
    if cert.cliques is None and cert.overlap_rounds == 0:
        # The residual network is searched reversed: distances from v in it are distances to v.
        search = result.shortest_paths
        if search is not None:
            back = search.distances(v, p.n_volunteers + edges.act[edge_ids].astype(np.int64))
            gaps = np.where(back >= UNREACHABLE, -1, back - weight)
            return gaps.astype(np.int64), bool(p.vol_max_activities.max(initial=1) <= 1)
    covered = cert.volunteer_prices[v] + cert.activity_prices[edges.act[edge_ids]]
    if cert.cliques is not None:
        covered = covered + cert.cliques.coverage(len(edges))[edge_ids]
    # Reduced costs under the certificate's prices: a raise below them leaves the proof standing.
    return np.maximum(covered // cert.denominator - weight, 0).astype(np.int64), False


def _not_assigned(
    result: MatchResult, v: int, e: int, gap: int | None, exact: bool, rank: int | None
) -> PairExplanation:
    p, edges = result.problem, result.edges
    a = int(edges.act[e])
    cost = int(result.costs.total[e])
    # Slices of this volunteer's and this activity's edges, not scans of every edge.
    lo, hi = edges.span(v)
    own = [int(x) for x in edges.act[lo:hi][result.chosen[lo:hi]].tolist()]
    busy = p.act_busy_end
    overlapping = [b for b in own if p.act_start[b] < busy[a] and p.act_start[a] < busy[b]]
    index = result.recommend_index
    on_a = index.by_act[index.act_ptr[a] : index.act_ptr[a + 1]]
    at_a = on_a[result.chosen[on_a]]
    taken = result.costs.total[at_a]
    places = {
        "capacity": int(p.act_capacity[a]),
        "filled": len(at_a),
        "better_match": int((taken < cost).sum()),
        "equal_match": int((taken == cost).sum()),
        "worse_match": int((taken > cost).sum()),
    }
    reason: Reason
    idle = _not_staffed(result, a)
    if idle is not None:
        reason, message = "not_staffed", idle
    elif len(own) >= p.vol_max_activities[v]:
        limit = _plural(len(own), "activity", "activities")
        reason = "used_elsewhere"
        message = f"your limit of {limit} went to " + ", ".join(p.activity_ids[b] for b in own)
    elif overlapping:
        reason, message = "time_conflict", "it overlaps " + ", ".join(p.activity_ids[b] for b in overlapping)
        message += ", which you were given"
    elif places["filled"] >= places["capacity"]:
        reason = "places_taken"
        message = (
            f"all places are taken ({places['capacity']}): {places['better_match']} by a better match, "
            f"{places['equal_match']} by an equal one, {places['worse_match']} by volunteers the best overall "
            "plan needed there"
        )
    else:
        reason, message = "not_selected", "not used by the optimal plan"
    if gap is not None and gap >= 0:
        if gap == 0:
            message += "; it was a tie, settled by the documented tie-break"
        elif gap < cost:
            message += f"; your match cost ({cost}) would need to be more than {gap} points lower"
        else:
            message += "; no lower match cost alone would be enough"
    return PairExplanation(
        activity_id=p.activity_ids[a],
        preference_rank=rank,
        outcome="not_assigned",
        message=message,
        reason=reason,
        cost=cost,
        cost_terms=result.costs.breakdown(e),
        improvement_needed=gap if gap is not None and gap >= 0 else None,
        improvement_exact=exact if gap is not None and gap >= 0 else None,
        places=places,
    )


#: Activities explained, beyond those ranked or asked about, for a volunteer who was given none.
UNRANKED_SHOWN = 5


def _closest_activities(result: MatchResult, v: int, lo: int, hi: int) -> I64:
    """The cheapest eligible activities, or, if there are none, those failing the fewest rules."""
    p, edges = result.problem, result.edges
    if hi > lo:
        cheapest = np.lexsort((edges.act[lo:hi], result.costs.total[lo:hi]))[:UNRANKED_SHOWN]
        return edges.act[lo:hi][cheapest].astype(np.int64)
    acts = np.arange(p.n_activities, dtype=np.int64)
    d = diagnose(p, np.full(p.n_activities, v, dtype=np.int64), acts)
    failing = np.sum([~d.passes(rule) for rule in RULES], axis=0, dtype=np.int64)
    return acts[np.lexsort((acts, failing))[:UNRANKED_SHOWN]]


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def explain_volunteer(
    result: MatchResult, volunteer_id: str, activity_ids: list[str] | None = None
) -> VolunteerExplanation:
    """Explain one volunteer's outcome on each activity they ranked or were given, plus any asked about.

    A volunteer who was given nothing also gets their :data:`UNRANKED_SHOWN` cheapest eligible
    activities explained (or, with none eligible, those failing the fewest rules), so the
    answer covers the places they could have had.

    Parameters
    ----------
    result:
        The result to explain.
    volunteer_id:
        Whose outcome; an unknown id raises :class:`~matcher.errors.InputError`.
    activity_ids:
        Further activities to explain (unknown ids raise :class:`~matcher.errors.InputError`).

    """
    p, edges = result.problem, result.edges
    v = p.volunteer_row(volunteer_id)
    lo, hi = edges.span(v)
    chosen_acts = edges.act[lo:hi][result.chosen[lo:hi]].astype(np.int64)
    wanted = set(p.pref_act[p.pref_ptr[v] : p.pref_ptr[v + 1]].tolist()) | set(chosen_acts.tolist())
    if len(chosen_acts) == 0:
        wanted |= set(_closest_activities(result, v, lo, hi).tolist())
    for aid in activity_ids or ():
        wanted.add(p.activity_row(aid))
    acts = np.array(sorted(wanted), dtype=np.int64)
    d = diagnose(p, np.full(len(acts), v, dtype=np.int64), acts)
    edge_of = dict(zip(edges.act[lo:hi].tolist(), range(lo, hi), strict=True))
    unused = np.array([edge_of[a] for a in acts.tolist() if a in edge_of and not result.chosen[edge_of[a]]])
    gaps, exact = _improvement_gaps(result, v, unused.astype(np.int64)) if len(unused) else (None, False)
    gap_of = dict(zip(unused.tolist(), gaps.tolist(), strict=True)) if gaps is not None else {}
    out = []
    for k, a in enumerate(acts.tolist()):
        rank = int(d.rank[k]) + 1 if d.rank[k] >= 0 else None
        e = edge_of.get(a)
        if e is None:
            failures = rule_failures(result.problem, d, k)
            message = "not eligible: " + "; ".join(f.message for f in failures)
            out.append(PairExplanation(p.activity_ids[a], rank, "not_eligible", message, failures))
        elif result.chosen[e]:
            terms = result.costs.breakdown(e)
            detail = ", ".join(f"{name} {terms[name]}" for name in COST_TERMS)
            message = f"assigned; match cost {int(result.costs.total[e])} ({detail})"
            out.append(
                PairExplanation(
                    p.activity_ids[a], rank, "assigned", message, cost=int(result.costs.total[e]), cost_terms=terms
                )
            )
        else:
            out.append(_not_assigned(result, v, e, gap_of.get(e), exact, rank))
    out.sort(key=lambda x: (x.preference_rank is None, x.preference_rank or 0, x.activity_id))
    assigned = tuple(sorted(p.activity_ids[a] for a in chosen_acts.tolist()))
    eligible = int(hi - lo)
    if assigned:
        message = "assigned to " + ", ".join(assigned)
    elif eligible == 0:
        message = "not assigned: no activity on the menu passes every rule for you"
    else:
        message = f"not assigned: eligible for {_plural(eligible, 'activity', 'activities')}, "
        message += "but the optimal plan filled them with others or left them to higher-priority needs"
    return VolunteerExplanation(volunteer_id, assigned, eligible, message, tuple(out))


def _not_staffed(result: MatchResult, act: int) -> str | None:
    """Why activity ``act`` does not run, when the menu rules left it unstaffed."""
    if result.rules is None:
        return None
    activity_id = result.problem.activity_ids[act]
    return next((n.message for n in result.rules.not_staffed if n.activity_id == activity_id), None)


def explain_activity(result: MatchResult, activity_id: str) -> ActivityExplanation:
    """The funnel of one activity: how many volunteers pass each rule in turn, and who is left.

    Steps: the whole pool, within travel range, with the skills, available, allowed by the
    selection policy, members of an admitted organisation, able to fill a role (only for an
    activity with roles; the last rule gives the eligible, which equal the activity's candidate
    edges), not used elsewhere (assigned here, or with a free slot and no overlapping
    assignment), assigned.
    """
    p = result.problem
    a = p.activity_row(activity_id)
    everyone = np.arange(p.n_volunteers, dtype=np.int64)
    d = diagnose(p, everyone, np.full(p.n_volunteers, a, dtype=np.int64))
    alive = np.ones(p.n_volunteers, dtype=bool)
    counts = [("all", p.n_volunteers)]
    for rule in RULES:
        if rule == "role" and not p.rules.act_has_roles[a]:
            continue
        alive &= d.passes(rule)
        counts.append((rule, int(alive.sum())))
    # The eligible volunteers are exactly the activity's candidate edges.
    index = result.recommend_index
    mine = index.by_act[index.act_ptr[a] : index.act_ptr[a + 1]]
    here = result.chosen[mine]
    last_rule = len(counts) - 1
    counts += [("free", int((here | index.free[mine]).sum())), ("assigned", int(here.sum()))]
    funnel = tuple(
        FunnelStep(name, n, _FUNNEL_LABELS[name] + (" (eligible)" if i == last_rule else ""))
        for i, (name, n) in enumerate(counts)
    )
    capacity, filled = int(p.act_capacity[a]), int(here.sum())
    idle = _not_staffed(result, a)
    if idle is not None:
        message = idle
    elif filled >= capacity:
        message = f"all {capacity} places filled"
    else:
        drops = [(counts[i][1] - counts[i + 1][1], counts[i + 1][0]) for i in range(len(counts) - 2)]
        worst = max(drops, key=lambda x: x[0])
        labels = [name for name, _ in counts]
        left = _plural(counts[-2][1], "volunteer", "volunteers")
        message = (
            f"{capacity - filled} of {capacity} places open: {left} eligible and free; "
            f"the largest drop is '{funnel[labels.index(worst[1])].label}' (-{worst[0]})"
        )
    ranked_by = int((p.pref_act == a).sum())
    return ActivityExplanation(p.activity_ids[a], capacity, filled, ranked_by, funnel, message)
