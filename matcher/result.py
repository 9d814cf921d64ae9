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

from matcher import jsontext, result_rows
from matcher.candidates import Edges
from matcher.certificate import Cliques, StagePrices
from matcher.costs import CostTerms, load_cost
from matcher.gcpause import gc_paused
from matcher.problem import Problem
from matcher.result_rows import Assignment, AssignmentRows, Unassigned, Unfilled

if TYPE_CHECKING:
    from matcher.explain import ActivityExplanation, VolunteerExplanation
    from matcher.overbook import Overbooking
    from matcher.recommend import Recommendation, RecommendIndex
    from matcher.rematching import RematchSummary
    from matcher.report import FairnessReport, ServiceHours
    from matcher.solvers.base import FlowInput
    from matcher.solvers.shortest_paths import ShortestPaths
    from matcher.staffing import RulesReport

__all__ = ["Assignment", "Certificate", "MatchResult", "ObjectiveValue", "Unassigned", "Unfilled", "build_result"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

#: ``optimal``: the certified optimum; ``feasible``: the menu rules' integer program hit its time
#: limit (the ``rules`` section gives the proven gap); ``stable`` / ``first_come``: the other
#: modes (:mod:`matcher.modes`).
Status = Literal["optimal", "feasible", "stable", "first_come"]


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
    ``levels`` (a re-match too wide for one 64-bit weight, :mod:`matcher.lexicographic`): the
    objective levels the prices above belong to, the last stage's; ``stages`` holds the prices of
    every earlier stage, from which that stage's network is rebuilt. Empty for one combined weight.
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
    levels: tuple[str, ...] = ()
    stages: tuple[StagePrices, ...] = ()


@dataclass(frozen=True, eq=False)
class MatchResult:
    """The outcome of :func:`matcher.match`; see the README for the document layout."""

    problem: Problem
    edges: Edges
    costs: CostTerms
    chosen: Mask
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

    @cached_property
    def _assignment_rows(self) -> AssignmentRows:
        return result_rows.assignment_rows(self.problem, self.edges, self.costs, self.chosen, self.roles)

    @cached_property
    def assignments(self) -> tuple[Assignment, ...]:
        """The assignments, in (volunteer, activity) order; built on first use."""
        return result_rows.assignments(self._assignment_rows)

    @cached_property
    def unfilled(self) -> tuple[Unfilled, ...]:
        """The activities with places left open, in id order; built on first use."""
        return result_rows.unfilled(self.problem, self.edges, self.chosen)

    @cached_property
    def unassigned(self) -> tuple[Unassigned, ...]:
        """The volunteers with no assignment, in id order; built on first use."""
        return result_rows.unassigned(self.problem, self.edges, self.chosen)

    def to_document(self, *, include_timings: bool = False, waitlist: int = 0) -> dict[str, Any]:
        """The result as the JSON-ready document the CLI writes.

        Timings only on request; ``waitlist > 0`` adds ``waitlists``: per activity, up to that many
        ordered backups (:meth:`waitlist`).
        """
        lists = (
            [a.to_dict() for a in self.assignments],
            [u.to_dict() for u in self.unfilled],
            [u.to_dict() for u in self.unassigned],
        )
        return self._document(lists, include_timings, waitlist)

    def _price_document(self, u: I64, y: I64) -> dict[str, dict[str, int]]:
        """Nonzero prices by id."""
        p = self.problem
        return {
            "volunteer_prices": {p.volunteer_ids[i]: int(u[i]) for i in np.flatnonzero(u)},
            "activity_prices": {p.activity_ids[j]: int(y[j]) for j in np.flatnonzero(y)},
        }

    def _document(
        self, lists: tuple[list[Any], list[Any], list[Any]], include_timings: bool, waitlist: int
    ) -> dict[str, Any]:
        """The document around its three long lists (records, or their JSON text for :meth:`to_json`)."""
        cert = self.certificate
        certificate: dict[str, Any] = {
            "kind": cert.kind,
            "scale": cert.scale,
            "denominator": cert.denominator,
            "dual_objective": cert.dual_objective,
        }
        certificate.update(self._price_document(cert.volunteer_prices, cert.activity_prices))
        certificate["cliques"] = self._clique_document()
        if cert.overlap_rounds:
            certificate["overlap_rounds"] = cert.overlap_rounds
            certificate["overlap_volunteers"] = cert.overlap_volunteers
        if cert.levels:
            certificate["levels"] = list(cert.levels)
            certificate["stages"] = [
                {"levels": list(s.levels), "dual_objective": s.dual, **self._price_document(s.u, s.y)}
                for s in cert.stages
            ]
        doc: dict[str, Any] = {
            "assignments": lists[0],
            "unfilled": lists[1],
            "unassigned": lists[2],
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
        from matcher.solvers.residual import reversed_residual
        from matcher.solvers.shortest_paths import ShortestPaths

        ptr, head, cost = reversed_residual(self.flow, self.chosen)
        n_nodes = len(ptr) - 1
        # Source and sink reach every volunteer with room and every activity with places.
        return ShortestPaths.from_csr(ptr, head, cost, hubs=(n_nodes - 2, n_nodes - 1))

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
        p, edges, chosen = self.problem, self.edges, self.chosen
        lists = (
            jsontext.Rows(result_rows.assignment_text(self._assignment_rows)),
            jsontext.Rows(result_rows.unfilled_text(p, edges, chosen)),
            jsontext.Rows(result_rows.unassigned_text(p, edges, chosen)),
        )
        return jsontext.dumps(self._document(lists, include_timings, waitlist))


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
    priority_filled = int(p.act_priority[edges.act[chosen]].sum())
    workload = load_cost(p, edges, chosen)
    total_cost = int(costs.total[chosen].sum()) + workload
    return MatchResult(
        problem=p,
        edges=edges,
        costs=costs,
        chosen=chosen,
        objective=ObjectiveValue(priority_filled, total_cost, workload),
        status="optimal",
        backend=backend,
        certificate=certificate,
        metrics=compute_metrics(p, edges, chosen),
        timings=timings,
        weight=weight,
        roles=roles,
    )
