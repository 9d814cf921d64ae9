"""The re-match order as objective weights: one combined weight where int64 allows, else levels.

Pins kept, then priority filled, then fewest changes, then cost (:mod:`matcher.rematching`).
Folded into one integer weight per edge the ranges multiply; where that leaves exact int64 (at
10^5 volunteers) the levels stay apart and are solved in stages (:mod:`matcher.lexicographic`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.candidates import Edges
from matcher.costs import CostTerms, Objective, level_weights, load_bound, max_flow_bound
from matcher.errors import CostRangeError, InputError, InputIssue
from matcher.lexicographic import Lexicographic, group_levels, level, stages_fit
from matcher.problem import Problem

__all__ = ["Coarse", "coarse_levels", "rematch_objective"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Coarse:
    """The re-match order as two levels, each within int64, with the bounds that fold them.

    ``upper`` is pins, then priority; ``lower`` is changes, then cost (may be negative);
    ``priority`` is each edge's activity priority; ``flow`` bounds the number of assignments and
    ``load`` the convex load cost.
    """

    upper: I64
    lower: I64
    priority: npt.NDArray[np.integer]
    flow: int
    load: int
    node_factor: int


def coarse_levels(
    p: Problem, edges: Edges, costs: CostTerms, previous: Mask, pinned: Mask, disruption_weight: int | None
) -> Coarse:
    """The two coarse levels of a re-match over ``edges`` (see :class:`Coarse`)."""
    flow = max(max_flow_bound(p, edges), 1)
    cost = costs.total
    load = load_bound(p, edges)
    per_change = flow * int(cost.max(initial=0)) + load + 1 if disruption_weight is None else disruption_weight
    # -1 per previous pair kept, +1 per new one: |P Δ N| = |P| + the sum over N.
    lower = np.where(previous, -np.int64(per_change), np.int64(per_change))
    lower += cost
    priority = p.act_priority[edges.act]
    pin_unit = flow * int(priority.max(initial=0)) + 1
    upper = np.where(pinned, np.int64(pin_unit), np.int64(0))
    upper += priority
    # OR-Tools multiplies costs by its node count plus one (source, sink, circulation arc).
    return Coarse(upper, lower, priority, flow, load, p.n_volunteers + p.n_activities + 3)


def _combined(coarse: Coarse) -> Objective:
    scale = 2 * coarse.flow * int(np.abs(coarse.lower).max(initial=0)) + coarse.load + 1
    message = (
        "the re-match objective is too large for exact 64-bit arithmetic; lower the cost weights, "
        "the disruption weight or the activity priorities"
    )
    return level_weights(coarse.upper, coarse.lower, scale, coarse.flow, coarse.node_factor, message)


def _staged(
    costs: CostTerms,
    previous: Mask,
    pinned: Mask,
    disruption_weight: int | None,
    coarse: Coarse,
    sizes: tuple[int, ...] | None,
) -> Lexicographic:
    """The levels apart, grouped by ``sizes`` (None: as few stages as int64 allows)."""
    flow = coarse.flow
    levels = [level("pins", pinned.view(np.int8), flow), level("priority", coarse.priority, flow)]
    if disruption_weight is None:
        levels.append(level("changes", previous.view(np.int8) * np.int8(2) - np.int8(1), flow))
        levels.append(level("cost", costs.total, flow, coarse.load, sign=-1))
    else:
        levels.append(level("cost", coarse.lower, flow, coarse.load, sign=-1))  # cost plus the weighted changes
    if sizes is None:
        sizes = group_levels(levels, flow, coarse.node_factor)
    if sum(sizes) != len(levels) or min(sizes) < 1:
        raise InputError.single("certificate", "", "levels", "the stages do not split the re-match levels", "invalid")
    if not stages_fit(levels, sizes, flow, coarse.node_factor):
        message = "a stage folds more levels than exact 64-bit arithmetic allows"
        raise CostRangeError([InputIssue("policy", "", "weights", message, "cost_range")])
    return Lexicographic(tuple(levels), sizes, flow, coarse.upper, coarse.lower)


def rematch_objective(
    p: Problem,
    edges: Edges,
    costs: CostTerms,
    previous: Mask,
    pinned: Mask,
    disruption_weight: int | None,
    *,
    lexicographic: bool | None = None,
    sizes: tuple[int, ...] | None = None,
) -> Objective | Lexicographic:
    """The re-match objective over ``edges``: ``previous`` and ``pinned`` mark edges, per edge.

    One combined weight ``upper * scale - lower`` (:class:`Coarse`) where exact int64 allows;
    otherwise the levels ``pins``, ``priority``, ``changes`` (+1 per previous pair kept, -1 per
    new one) and ``cost`` (negated, with the load cost; with a disruption weight it holds the
    weighted changes and there is no ``changes`` level), in as few stages as int64 allows.
    ``lexicographic`` True forces one stage per level, False the combined weight (raising
    :class:`~matcher.errors.CostRangeError` where it does not fit); ``sizes`` gives the stages
    a certificate recorded.
    """
    coarse = coarse_levels(p, edges, costs, previous, pinned, disruption_weight)
    parts = (costs, previous, pinned, disruption_weight, coarse)
    if sizes is not None or lexicographic:
        n_levels = 4 if disruption_weight is None else 3
        return _staged(*parts, sizes if sizes is not None else (1,) * n_levels)
    try:
        return _combined(coarse)
    except CostRangeError:
        if lexicographic is False:
            raise
    return _staged(*parts, None)
