"""Named cost terms of each candidate pair, and the one place that scales and range-checks them.

The pair cost is the sum of three named integer terms (README, "Objective"):

``preference``
    ``weights.rank * r`` for an activity in the volunteer's tie group ``r`` (0 = first choice);
    ``weights.unranked`` for an activity the volunteer did not rank. Zero under ``selection="open"``.
``distance``
    ``weights.distance`` per km, computed on whole metres and rounded half up; 0 when online.
``skill_surplus``
    ``weights.skill_surplus`` per level above what each requirement asks for.
``reliability``
    ``weights.reliability`` times the volunteer's no-show risk ``1 - p`` (:mod:`matcher.reliability`),
    rounded half up.
``rating``
    ``weights.rating`` times ``(5 - q) / 4`` for the volunteer's rating ``q``, rounded half up.
``recent_service``
    ``weights.recent_service`` per service of the volunteer in the last ``policy.recent_days``.

The lexicographic objective (first the priority filled, then the cost) becomes one integer weight
per pair, ``priority * scale - cost``, with ``scale`` larger than any achievable total cost, so
maximising the weight is exactly the lexicographic optimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.arrays import EDGE_BLOCK, Ids, counts
from matcher.candidates import Edges
from matcher.errors import CostRangeError, InputIssue
from matcher.models import Weights
from matcher.problem import Problem

__all__ = [
    "COST_TERMS",
    "INT64_MAX",
    "CostTerms",
    "Objective",
    "level_weights",
    "load_bound",
    "load_cost",
    "objective_weights",
    "pair_costs",
]

I64 = npt.NDArray[np.int64]

#: The named cost terms, in the order results list them.
COST_TERMS = ("preference", "distance", "skill_surplus", "reliability", "rating", "recent_service")

#: The largest int64: every folded weight, times the flow or a backend's node factor, stays within it.
INT64_MAX = 2**63 - 1


@dataclass(frozen=True, eq=False)
class _Pricing:
    """What the named terms are computed from: the policy's weights and per-volunteer prices."""

    weights: Weights
    open_selection: bool
    #: Per volunteer: the reliability, rating and recent-service terms (None when all are off).
    per_volunteer: tuple[I64, I64, I64] | None


def _named_terms(pricing: _Pricing, edges: Edges, idx: I64 | slice) -> dict[str, I64]:
    """The six named terms of the edges at ``idx``, as fresh int64 arrays."""
    rank = edges.rank[idx].astype(np.int64)
    w = pricing.weights
    if pricing.open_selection:
        preference = np.zeros(len(rank), dtype=np.int64)
    else:
        preference = np.where(rank >= 0, rank * np.int64(w.rank), np.int64(w.unranked))
    distance = edges.distance_m[idx] * np.int64(w.distance)
    distance += 500
    distance //= 1000
    surplus = edges.surplus[idx] * np.int64(w.skill_surplus)
    if pricing.per_volunteer is None:
        zero = np.zeros(len(rank), dtype=np.int64)
        reliability, rating, recent = zero, zero, zero
    else:
        vol = edges.vol[idx]
        reliability, rating, recent = (term[vol] for term in pricing.per_volunteer)
    return dict(zip(COST_TERMS, (preference, distance, surplus, reliability, rating, recent), strict=True))


@dataclass(frozen=True, eq=False)
class CostTerms:
    """Per-edge integer cost terms, aligned with the :class:`~matcher.candidates.Edges`.

    Only ``total`` is stored: the six named terms are cheap formulas of the edge columns, so
    they are computed for the edges asked about (:meth:`term`, :meth:`breakdown`) rather than
    kept for every edge (840 MB of int64 at 35M edges, for the few thousand edges a result
    shows).
    """

    total: I64
    edges: Edges
    pricing: _Pricing

    def term(self, name: str, idx: I64 | None = None) -> I64:
        """One named term, of the edges at ``idx`` (default: every edge)."""
        if name not in COST_TERMS:
            raise KeyError(name)
        return _named_terms(self.pricing, self.edges, slice(None) if idx is None else idx)[name]

    def terms_at(self, idx: I64) -> dict[str, I64]:
        """Every named term of the edges at ``idx``."""
        return _named_terms(self.pricing, self.edges, idx)

    def select(self, keep: npt.NDArray[np.bool_]) -> CostTerms:
        """The terms of the edges where ``keep`` is True (see :meth:`Edges.select`)."""
        return CostTerms(total=self.total[keep], edges=self.edges.select(keep), pricing=self.pricing)

    def breakdown(self, edge: int) -> dict[str, int]:
        """The named terms of one edge."""
        terms = self.terms_at(np.array([edge], dtype=np.int64))
        return {name: int(values[0]) for name, values in terms.items()}


def pair_costs(p: Problem, edges: Edges) -> CostTerms:
    """Compute the named cost terms of every candidate edge.

    >>> from matcher import compile_problem, candidate_edges, Policy
    >>> p = compile_problem([], [], Policy())
    >>> len(pair_costs(p, candidate_edges(p)).total)
    0
    """
    w = p.policy.weights
    per_volunteer = None
    if w.reliability or w.rating or w.recent_service:
        from matcher.reliability import volunteer_scores

        scores = volunteer_scores(p)
        risk = 1_000_000 - scores.show_micro
        deficit = (5_000_000 - scores.rating_micro) // 4
        per_volunteer = (
            (risk * np.int64(w.reliability) + 500_000) // 1_000_000,
            (deficit * np.int64(w.rating) + 500_000) // 1_000_000,
            scores.recent * np.int64(w.recent_service),
        )
    pricing = _Pricing(w, p.policy.selection == "open", per_volunteer)
    # In blocks: whole-length temporaries of every term were ~2 GB of fresh memory at 35M edges.
    total = np.empty(len(edges), dtype=np.int64)
    for lo in range(0, len(edges), EDGE_BLOCK):
        block = slice(lo, lo + EDGE_BLOCK)
        terms = iter(_named_terms(pricing, edges, block).values())
        part = next(terms)
        for term in terms:
            part += term
        total[block] = part
    total.flags.writeable = False
    return CostTerms(total=total, edges=edges, pricing=pricing)


@dataclass(frozen=True, eq=False)
class Objective:
    """The combined integer weight of every edge: ``priority * scale - cost`` (maximised).

    ``priority`` may be a narrow integer type (activity priorities fit 16 bits); sums of it are
    taken in int64 or wider.
    """

    scale: int
    weight: I64
    cost: I64
    priority: Ids

    def decode(self, chosen: npt.NDArray[np.bool_]) -> tuple[int, int]:
        """Return ``(priority_filled, total_cost)`` of a selection of edges, in exact integers."""
        return int(self.priority[chosen].sum()), int(self.cost[chosen].sum())


def max_flow_bound(p: Problem, edges: Edges) -> int:
    """An upper bound on the number of assignments any feasible solution can make."""
    if len(edges) == 0:
        return 0
    vol_deg = counts(edges.vol, p.n_volunteers)
    act_deg = counts(edges.act, p.n_activities)
    by_vol = int(np.minimum(vol_deg, p.vol_max_activities).sum())
    by_act = int(np.minimum(act_deg, p.act_capacity).sum())
    return min(by_vol, by_act, len(edges))


def load_bound(p: Problem, edges: Edges) -> int:
    """The largest convex load cost (``weights.load``) any feasible solution can have."""
    step = p.policy.weights.load
    if step == 0 or len(edges) == 0:
        return 0
    most = np.minimum(p.vol_max_activities, counts(edges.vol, p.n_volunteers)).astype(object)
    return int((most * (most - 1) // 2).sum()) * step


def load_cost(p: Problem, edges: Edges, chosen: npt.NDArray[np.bool_]) -> int:
    """The convex load cost of a selection: ``weights.load * sum(n * (n - 1) / 2)`` over volunteers."""
    step = p.policy.weights.load
    if step == 0:
        return 0
    n = np.bincount(edges.vol[chosen], minlength=p.n_volunteers).astype(object)
    return int((n * (n - 1) // 2).sum()) * step


def objective_weights(p: Problem, edges: Edges, costs: CostTerms, *, node_factor: int = 1) -> Objective:
    """Combine priority and cost into one exact integer weight per edge.

    ``scale`` exceeds the largest total cost any feasible solution can have (pair costs plus the
    convex load cost of :func:`load_bound`), so one more unit of
    priority always outweighs any cost difference. ``node_factor`` is the multiplier the backend
    applies to costs internally (OR-Tools needs ``|weight| * (nodes + 1)`` to fit in int64);
    exceeding it raises :class:`~matcher.errors.CostRangeError`.
    """
    cost = costs.total
    # Priorities are 1..1000 (the model's bound): 2 bytes per edge where int64 took 280 MB at L.
    narrow = p.act_priority.max(initial=0) < 2**15
    priority = (p.act_priority.astype(np.int16) if narrow else p.act_priority)[edges.act]
    flow = max_flow_bound(p, edges)
    c_max = int(cost.max()) if len(cost) else 0
    scale = flow * c_max + load_bound(p, edges) + 1
    message = (
        "costs and priorities are too large for exact 64-bit arithmetic on this problem; "
        "lower the cost weights, the travel limit or the activity priorities"
    )
    return level_weights(priority, cost, scale, flow, node_factor, message)


def level_weights(upper: Ids, lower: I64, scale: int, flow: int, node_factor: int, message: str) -> Objective:
    """Fold two objective levels into one weight per edge, ``upper * scale - lower``, range-checked.

    ``scale`` must exceed the spread of ``lower`` over feasible solutions (the caller's proof);
    the check here is that every weight, times the backend's ``node_factor`` and times the
    largest flow, fits in int64. Raises :class:`~matcher.errors.CostRangeError` with ``message``.
    """
    largest = int(upper.max(initial=0)) * scale + max(0, -int(lower.min(initial=0)))
    if largest * max(node_factor, flow, 1) > INT64_MAX:
        raise CostRangeError([InputIssue("policy", "", "weights", message, "cost_range")])
    weight = upper * np.int64(scale)
    weight -= lower
    return Objective(scale=scale, weight=weight.astype(np.int64, copy=False), cost=lower, priority=upper)
