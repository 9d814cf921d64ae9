"""The certified result: ids again, exact integer objective, certificate, metrics.

A :class:`MatchResult` keeps the compiled problem, the candidate edges and their cost terms, so
explanations and verification reuse exactly what the solver saw. Its JSON document
(:meth:`MatchResult.to_document`) is a deterministic function of the input records: the same
records in any order give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from matcher import jsontext
from matcher.candidates import Edges
from matcher.certificate import Cliques
from matcher.costs import COST_TERMS, CostTerms, load_cost
from matcher.gcpause import gc_paused
from matcher.problem import Problem

if TYPE_CHECKING:
    from matcher.explain import ActivityExplanation, VolunteerExplanation
    from matcher.overbook import Overbooking
    from matcher.recommend import Recommendation, RecommendIndex
    from matcher.rematching import RematchSummary
    from matcher.report import FairnessReport, ServiceHours
    from matcher.solvers._kernels import ShortestPaths
    from matcher.solvers.base import FlowInput
    from matcher.staffing import RulesReport

__all__ = ["Assignment", "Certificate", "MatchResult", "ObjectiveValue", "Unassigned", "Unfilled", "build_result"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

#: ``optimal``: the certified optimum; ``feasible``: the menu rules' integer program hit its time
#: limit (the ``rules`` section gives the proven gap); ``stable`` / ``first_come``: the other
#: modes (:mod:`matcher.modes`).
Status = Literal["optimal", "feasible", "stable", "first_come"]


@dataclass(frozen=True)
class Assignment:
    """One volunteer placed on one activity, with the pair's integer cost and its named terms."""

    volunteer_id: str
    activity_id: str
    cost: int
    cost_terms: dict[str, int]
    distance_km: float | None
    preference_rank: int | None
    role: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order (``role`` only at activities with roles)."""
        out = {
            "volunteer_id": self.volunteer_id,
            "activity_id": self.activity_id,
            "cost": self.cost,
            "cost_terms": dict(self.cost_terms),
            "distance_km": self.distance_km,
            "preference_rank": self.preference_rank,
        }
        if self.role is not None:
            out["role"] = self.role
        return out


@dataclass(frozen=True)
class Unfilled:
    """An activity with places left open, and how many volunteers were eligible at all."""

    activity_id: str
    capacity: int
    filled: int
    eligible_volunteers: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        return {
            "activity_id": self.activity_id,
            "capacity": self.capacity,
            "filled": self.filled,
            "unfilled": self.capacity - self.filled,
            "eligible_volunteers": self.eligible_volunteers,
        }


@dataclass(frozen=True)
class Unassigned:
    """A volunteer with no assignment, and why: ``no_eligible_activity`` or ``places_taken``."""

    volunteer_id: str
    reason: Literal["no_eligible_activity", "places_taken"]
    eligible_activities: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        return {
            "volunteer_id": self.volunteer_id,
            "reason": self.reason,
            "eligible_activities": self.eligible_activities,
        }


@dataclass(frozen=True)
class ObjectiveValue:
    """The lexicographic objective: priority filled (maximised), then total cost (minimised).

    ``total_cost`` is the assignments' pair costs plus ``load_cost``, the convex workload cost
    (``weights.load``; 0 by default).
    """

    priority_filled: int
    total_cost: int
    load_cost: int = 0


@dataclass(frozen=True)
class Certificate:
    """Proof of optimality.

    ``kind="lp_dual"``: dual prices of the flow LP (plus, where the no-overlap rule needed them,
    priced clique rows) whose objective equals the solution's combined weight
    ``priority_filled * scale - total_cost``; prices and ``dual_objective`` are scaled by
    ``denominator``. Checked by :func:`matcher.verify`.
    ``kind="milp"``: the no-overlap rule needed branch and bound; HiGHS proved optimality, and
    ``dual_objective`` is the flow relaxation's bound, which the solution may fall short of.
    ``kind="none"``: a ``stable`` or ``first_come`` result, which makes no optimality claim.
    """

    kind: Literal["lp_dual", "milp", "none"]
    scale: int
    dual_objective: int
    volunteer_prices: I64
    activity_prices: I64
    denominator: int = 1
    cliques: Cliques | None = None
    overlap_rounds: int = 0
    overlap_volunteers: int = 0


@dataclass(frozen=True, eq=False)
class MatchResult:
    """The outcome of :func:`matcher.match`; see the README for the document layout."""

    problem: Problem
    edges: Edges
    costs: CostTerms
    chosen: Mask
    assignments: tuple[Assignment, ...]
    unfilled: tuple[Unfilled, ...]
    unassigned: tuple[Unassigned, ...]
    objective: ObjectiveValue
    status: Status
    backend: str
    certificate: Certificate
    metrics: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    rematch: RematchSummary | None = None
    overbooking: Overbooking | None = None
    weight: I64 | None = None
    roles: I64 | None = None
    rules: RulesReport | None = None

    def to_document(self, *, include_timings: bool = False, waitlist: int = 0) -> dict[str, Any]:
        """The result as the JSON-ready document the CLI writes.

        Timings only on request; ``waitlist > 0`` adds ``waitlists``: per activity, up to that many
        ordered backups (:meth:`waitlist`).
        """
        p, cert = self.problem, self.certificate
        certificate: dict[str, Any] = {
            "kind": cert.kind,
            "scale": cert.scale,
            "denominator": cert.denominator,
            "dual_objective": cert.dual_objective,
        }
        certificate["volunteer_prices"] = {
            p.volunteer_ids[i]: int(cert.volunteer_prices[i]) for i in np.flatnonzero(cert.volunteer_prices)
        }
        certificate["activity_prices"] = {
            p.activity_ids[j]: int(cert.activity_prices[j]) for j in np.flatnonzero(cert.activity_prices)
        }
        certificate["cliques"] = self._clique_document()
        if cert.overlap_rounds:
            certificate["overlap_rounds"] = cert.overlap_rounds
            certificate["overlap_volunteers"] = cert.overlap_volunteers
        doc: dict[str, Any] = {
            "assignments": [a.to_dict() for a in self.assignments],
            "unfilled": [u.to_dict() for u in self.unfilled],
            "unassigned": [u.to_dict() for u in self.unassigned],
            "objective": self._objective_document(),
            "status": self.status,
            "backend": self.backend,
            "metrics": dict(self.metrics),
            "certificate": certificate,
        }
        if waitlist > 0:
            doc["waitlists"] = {
                aid: [r.to_dict() for r in self.waitlist(aid, waitlist)] for aid in self.problem.activity_ids
            }
        if self.rules is not None:
            doc["rules"] = self.rules.to_dict()
        if self.overbooking is not None:
            doc["overbooking"] = self.overbooking.to_dict()
        if self.rematch is not None:
            doc["rematch"] = self.rematch.to_dict()
        if include_timings:
            doc["timings"] = {k: round(v, 6) for k, v in self.timings.items()}
        return doc

    def explain_volunteer(self, volunteer_id: str, activity_ids: list[str] | None = None) -> VolunteerExplanation:
        """Why this volunteer got what they got, per activity (see :func:`matcher.explain.explain_volunteer`)."""
        from matcher.explain import explain_volunteer

        return explain_volunteer(self, volunteer_id, activity_ids)

    def explain_activity(self, activity_id: str) -> ActivityExplanation:
        """The activity's funnel of volunteers rule by rule (see :func:`matcher.explain.explain_activity`)."""
        from matcher.explain import explain_activity

        return explain_activity(self, activity_id)

    @cached_property
    def flow(self) -> FlowInput:
        """The flow network this result solved, built on first use.

        Its weights are those the solver maximised (``weight``; a re-match has its own), rebuilt
        from the problem when the result was assembled without them.
        """
        from matcher.pipeline import combined_objective, flow_input

        p, edges = self.problem, self.edges
        objective = combined_objective(p, edges, self.costs)
        fi = flow_input(p, edges, objective)
        return fi if self.weight is None else replace(fi, weight=self.weight)

    @cached_property
    def shortest_paths(self) -> ShortestPaths | None:
        """Distances in the residual network of the chosen flow, reversed (arcs point backwards).

        Built on first use; None if that network has a negative cycle (the flow is not optimal).
        """
        from matcher.certificate import residual_arcs
        from matcher.solvers._kernels import ShortestPaths

        tails, heads, costs, n_nodes = residual_arcs(self.flow, self.chosen)
        return ShortestPaths.build(heads, tails, costs, n_nodes)

    @cached_property
    def recommend_index(self) -> RecommendIndex:
        """Arrays shared by the recommendation queries, built on first use."""
        from matcher.recommend import RecommendIndex

        return RecommendIndex.build(self)

    def recommend_activities(self, volunteer_id: str, k: int = 10) -> tuple[Recommendation, ...]:
        """A personal menu of open, eligible activities (see :func:`matcher.recommend.recommend_activities`)."""
        from matcher.recommend import recommend_activities

        return recommend_activities(self, volunteer_id, k)

    def recommend_volunteers(self, activity_id: str, k: int = 10) -> tuple[Recommendation, ...]:
        """Volunteers to invite to an activity (see :func:`matcher.recommend.recommend_volunteers`)."""
        from matcher.recommend import recommend_volunteers

        return recommend_volunteers(self, activity_id, k)

    def waitlist(self, activity_id: str, k: int = 5) -> tuple[Recommendation, ...]:
        """Ordered backups for an activity (see :func:`matcher.recommend.waitlist`)."""
        from matcher.recommend import waitlist

        return waitlist(self, activity_id, k)

    def blocking_pairs(self) -> int:
        """Eligible pairs that would rather be together (see :func:`matcher.modes.blocking_pairs`)."""
        from matcher.modes import blocking_pairs

        return blocking_pairs(self)

    def service_hours(self) -> tuple[ServiceHours, ...]:
        """Hours assigned per volunteer (see :func:`matcher.report.service_hours`)."""
        from matcher.report import service_hours

        return service_hours(self)

    def fairness_report(self) -> FairnessReport:
        """Gini of load, willing volunteers left out, fill by organisation (:func:`matcher.report.fairness_report`)."""
        from matcher.report import fairness_report

        return fairness_report(self)

    def _objective_document(self) -> dict[str, int]:
        out = {"priority_filled": self.objective.priority_filled, "total_cost": self.objective.total_cost}
        if self.problem.policy.weights.load:
            out["load_cost"] = self.objective.load_cost
        return out

    def _clique_document(self) -> list[dict[str, Any]]:
        cliques, p, edges = self.certificate.cliques, self.problem, self.edges
        if cliques is None:
            return []
        rows = []
        for k in np.flatnonzero(cliques.price).tolist():
            members = cliques.members[cliques.ptr[k] : cliques.ptr[k + 1]]
            rows.append(
                {
                    "volunteer_id": p.volunteer_ids[edges.vol[members[0]]],
                    "activity_ids": [p.activity_ids[a] for a in edges.act[members].tolist()],
                    "price": int(cliques.price[k]),
                }
            )
        return sorted(rows, key=lambda r: (r["volunteer_id"], r["activity_ids"]))

    @gc_paused()
    def to_json(self, *, include_timings: bool = False, waitlist: int = 0) -> str:
        """The document as deterministic, human-readable JSON (UTF-8 text, ids unescaped).

        Indented at the top two levels, one record per line below (:mod:`matcher.jsontext`).
        """
        return jsontext.dumps(self.to_document(include_timings=include_timings, waitlist=waitlist))


def _km(metres: int) -> float:
    return round(metres / 1000.0, 3)


def compute_metrics(p: Problem, edges: Edges, chosen: Mask) -> dict[str, Any]:
    """Places filled and offered, volunteers assigned, first-choice share, travel mean and p90."""
    vol, act = edges.vol[chosen], edges.act[chosen]
    assigned = np.unique(vol)
    ranked = np.diff(p.pref_ptr) > 0
    ranked_assigned = assigned[ranked[assigned]]
    got_first = np.unique(vol[edges.rank[chosen] == 0])
    travel = edges.distance_m[chosen][edges.in_person[chosen]] / 1000.0
    offered = int(p.act_capacity.sum())
    return {
        "places_offered": offered,
        "places_filled": len(act),
        "fill_rate": round(len(act) / offered, 6) if offered else None,
        "volunteers_total": p.n_volunteers,
        "volunteers_assigned": len(assigned),
        "candidate_pairs": len(edges),
        "first_choice_share": round(len(got_first) / len(ranked_assigned), 6) if len(ranked_assigned) else None,
        "travel_km_mean": round(float(travel.mean()), 3) if len(travel) else None,
        "travel_km_p90": round(float(np.percentile(travel, 90)), 3) if len(travel) else None,
    }


@gc_paused()
def build_result(
    p: Problem,
    edges: Edges,
    costs: CostTerms,
    chosen: Mask,
    backend: str,
    certificate: Certificate,
    timings: dict[str, float],
    weight: I64 | None = None,
    roles: I64 | None = None,
) -> MatchResult:
    """Assemble a :class:`MatchResult` from the solver's selection of edges.

    ``weight``, the objective weights the solver maximised, is kept for explanations; ``roles``
    (per edge, the global role index filled, -1 for none) names each assignment's role.
    """
    role_name = p.rules.role_name
    idx = np.flatnonzero(chosen)
    # Gathered once as Python lists: indexing numpy arrays element by element costs ~100 ns a
    # field, ten fields an assignment.
    names = COST_TERMS
    term_rows = zip(*(costs.term(name)[idx].tolist() for name in names), strict=True)
    roles_of = roles[idx].tolist() if roles is not None else [-1] * len(idx)
    assignments = tuple(
        Assignment(
            volunteer_id=vid,
            activity_id=aid,
            cost=cost,
            cost_terms=dict(zip(names, row, strict=True)),
            distance_km=_km(metres) if in_person else None,
            preference_rank=rank + 1 if rank >= 0 else None,
            role=role_name[role] if role >= 0 else None,
        )
        for vid, aid, cost, row, metres, in_person, rank, role in zip(
            map(p.volunteer_ids.__getitem__, edges.vol[idx].tolist()),
            map(p.activity_ids.__getitem__, edges.act[idx].tolist()),
            costs.total[idx].tolist(),
            term_rows,
            edges.distance_m[idx].tolist(),
            edges.in_person[idx].tolist(),
            edges.rank[idx].tolist(),
            roles_of,
            strict=True,
        )
    )
    filled = np.bincount(edges.act[chosen], minlength=p.n_activities)
    act_degree = np.bincount(edges.act, minlength=p.n_activities)
    open_acts = np.flatnonzero(filled < p.act_capacity)
    unfilled = tuple(
        Unfilled(p.activity_ids[j], capacity, count, degree)
        for j, capacity, count, degree in zip(
            open_acts.tolist(),
            p.act_capacity[open_acts].tolist(),
            filled[open_acts].tolist(),
            act_degree[open_acts].tolist(),
            strict=True,
        )
    )
    load = np.bincount(edges.vol[chosen], minlength=p.n_volunteers)
    vol_degree = np.bincount(edges.vol, minlength=p.n_volunteers)
    idle = np.flatnonzero(load == 0)
    unassigned = tuple(
        Unassigned(p.volunteer_ids[i], "no_eligible_activity" if degree == 0 else "places_taken", degree)
        for i, degree in zip(idle.tolist(), vol_degree[idle].tolist(), strict=True)
    )
    priority_filled = int(p.act_priority[edges.act[chosen]].sum())
    workload = load_cost(p, edges, chosen)
    total_cost = int(costs.total[chosen].sum()) + workload
    return MatchResult(
        problem=p,
        edges=edges,
        costs=costs,
        chosen=chosen,
        assignments=assignments,
        unfilled=unfilled,
        unassigned=unassigned,
        objective=ObjectiveValue(priority_filled, total_cost, workload),
        status="optimal",
        backend=backend,
        certificate=certificate,
        metrics=compute_metrics(p, edges, chosen),
        timings=timings,
        weight=weight,
        roles=roles,
    )
