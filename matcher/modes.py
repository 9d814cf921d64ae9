"""The other ways dispatch is done in practice, for comparison: stable matching and first come.

Both read the same candidate edges and pair costs as the optimal mode. Preferences are derived
from them, so they follow the volunteer's menu picks first (the ``preference`` term dominates
every other cost), then the rest of the pair cost:

* a volunteer prefers activities in order of (pair cost, tie key, activity id);
* an activity prefers volunteers in order of (pair cost, tie key, volunteer id);

where the tie key is the fixed pseudo-random hash of the pair that also settles ties in the
optimal mode (:func:`matcher.tiebreak.tie_keys`).

``stable``: capacitated deferred acceptance, volunteer-proposing, with **one activity per
volunteer** (``max_activities`` is not used: a volunteer holding several places makes stability
ill-defined once shifts overlap). The result has no blocking pair and is the best stable
matching for every volunteer. Priorities are not used either: a stable matching has no
objective. ``first_come``: volunteers in order of ``signed_up_at`` (missing last, then by id)
each take their best open eligible activities, up to ``max_activities`` that do not overlap —
the 抢单 baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
from numba import njit

from matcher.arrays import Ids, counts
from matcher.solvers._kernels import counting_order
from matcher.tiebreak import tie_keys

if TYPE_CHECKING:
    from matcher.candidates import Edges
    from matcher.costs import CostTerms
    from matcher.problem import Problem
    from matcher.result import MatchResult

__all__ = ["MODES", "Orders", "blocking_pairs", "first_come_selection", "preference_orders", "stable_selection"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

Mode = Literal["optimal", "stable", "first_come"]
MODES: tuple[Mode, ...] = ("optimal", "stable", "first_come")


@dataclass(frozen=True, eq=False)
class Orders:
    """Both sides' preferences over the candidate edges.

    ``by_volunteer`` lists edge ids volunteer by volunteer, each volunteer's best first (slice with
    ``vol_ptr``); ``vol_rank[e]`` / ``act_rank[e]`` is edge ``e``'s position in its volunteer's /
    activity's list (0 = most preferred).
    """

    by_volunteer: I64
    vol_ptr: I64
    vol_rank: I64
    act_rank: I64


@njit(cache=True, nogil=True)
def _sort_segments(order: I64, ptr: I64, key: I64, rank: I64) -> None:  # pragma: no cover - compiled
    """Sort each ``order[ptr[s]:ptr[s + 1]]`` stably by ``key`` of its items; rank its items.

    ``rank[order[k]]`` becomes ``k``'s position within its segment. Keys are gathered a segment
    at a time: a whole-length gather was 280 MB of fresh memory at 35M edges.
    """
    for s in range(len(ptr) - 1):
        lo, hi = ptr[s], ptr[s + 1]
        if hi - lo > 1:
            items = order[lo:hi]
            order[lo:hi] = items[np.argsort(key[items], kind="mergesort")]
        for k in range(lo, hi):
            rank[order[k]] = k - lo


def _ordered(group: Ids, n_groups: int, order: I64, key: I64) -> tuple[I64, I64, I64]:
    """``order`` (items grouped by ``group``, in the tie order wanted) sorted by ``key`` within each group, in place.

    Returns the order, the groups' pointers into it and each item's rank within its group.
    """
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(counts(group, n_groups), out=ptr[1:])
    rank = np.empty(len(order), dtype=np.int64)
    _sort_segments(order, ptr, key, rank)
    return order, ptr, rank


def preference_orders(p: Problem, edges: Edges, costs: CostTerms) -> Orders:
    """Derive both sides' preference orders from the pair costs (see the module docstring).

    Equal to ``np.lexsort((act, key, cost, vol))`` and ``np.lexsort((vol, key, cost, act))``, by
    stable sorts of ``(cost, key)`` within each volunteer's and each activity's edges (edges come
    sorted by volunteer, then activity): the two whole-array lexsorts took 70 s at 35M edges.
    """
    # The edges' own int32 columns throughout: at 35M edges each int64 copy or gather was 280 MB
    # of fresh memory, and fresh memory is what costs on these machines (README, performance).
    vol, act = edges.vol, edges.act
    cost = costs.total
    if len(cost) and (cost.min() < 0 or cost.max() >= 2**32):
        _, cost = np.unique(cost, return_inverse=True)  # ranks keep the order and fit 32 bits
    # Tie keys lie in [0, 2**31): one int64 key orders by cost, then tie key.
    key = tie_keys(p.volunteer_ids, p.activity_ids, vol, act)
    key |= cost.astype(np.int64, copy=False) << np.int64(31)
    every = np.arange(len(vol), dtype=np.int64)
    *_, act_rank = _ordered(act, p.n_activities, counting_order(act, p.n_activities, every), key)
    by_volunteer, vol_ptr, vol_rank = _ordered(vol, p.n_volunteers, every, key)
    return Orders(by_volunteer, vol_ptr, vol_rank, act_rank)


def stable_selection(p: Problem, edges: Edges, orders: Orders) -> Mask:
    """Volunteer-proposing deferred acceptance (one activity per volunteer); returns the chosen edges."""
    act = edges.act.astype(np.int64)
    slots = np.minimum(p.act_capacity, np.bincount(act, minlength=p.n_activities)).astype(np.int64)
    from matcher.solvers._kernels import deferred_acceptance

    chosen: Mask = deferred_acceptance(
        orders.vol_ptr, orders.by_volunteer, edges.vol.astype(np.int64), act, orders.act_rank, slots
    )
    return chosen


def first_come_selection(p: Problem, edges: Edges, orders: Orders) -> Mask:
    """First come, first served by ``signed_up_at`` (missing last, then id); returns the chosen edges."""
    order = np.lexsort((np.arange(p.n_volunteers), p.vol_signup)).astype(np.int64)
    from matcher.solvers._kernels import first_come

    chosen: Mask = first_come(
        order,
        orders.vol_ptr,
        orders.by_volunteer,
        edges.act.astype(np.int64),
        p.act_capacity.astype(np.int64),
        p.vol_max_activities.astype(np.int64),
        p.act_start,
        p.act_busy_end,
    )
    return chosen


def blocking_pairs(result: MatchResult, orders: Orders | None = None) -> int:
    """Eligible pairs that would both rather be together than keep what they have.

    A volunteer wants activity ``a`` if they hold fewer places than they may (``max_activities``;
    one in a stable-mode result), or ``a`` is better for them than the worst place they hold; an
    activity wants the volunteer if it has an open place, or prefers them to the worst volunteer
    it holds (preferences as in the module docstring). Time overlaps are not considered.
    """
    p, edges, chosen = result.problem, result.edges, result.chosen
    orders = orders if orders is not None else preference_orders(p, edges, result.costs)
    most = np.ones(p.n_volunteers, dtype=np.int64) if result.status == "stable" else p.vol_max_activities
    vol, act = edges.vol.astype(np.int64), edges.act.astype(np.int64)
    load = np.bincount(vol[chosen], minlength=p.n_volunteers)
    filled = np.bincount(act[chosen], minlength=p.n_activities)
    worst_v = np.full(p.n_volunteers, -1, dtype=np.int64)
    np.maximum.at(worst_v, vol[chosen], orders.vol_rank[chosen])
    worst_a = np.full(p.n_activities, -1, dtype=np.int64)
    np.maximum.at(worst_a, act[chosen], orders.act_rank[chosen])
    wants_v = (load[vol] < most[vol]) | (orders.vol_rank < worst_v[vol])
    wants_a = (filled[act] < p.act_capacity[act]) | (orders.act_rank < worst_a[act])
    return int((~chosen & wants_v & wants_a).sum())


def stability_report(optimal: MatchResult, stable: MatchResult) -> dict[str, Any]:
    """The price of stability: fill and cost of the stable matching against the optimum."""

    def figures(r: MatchResult) -> dict[str, Any]:
        return {
            "places_filled": r.metrics["places_filled"],
            "priority_filled": r.objective.priority_filled,
            "total_cost": r.objective.total_cost,
            "blocking_pairs": blocking_pairs(r),
        }

    best, fair = figures(optimal), figures(stable)
    return {
        "optimal": best,
        "stable": fair,
        "fill_ratio": round(fair["places_filled"] / best["places_filled"], 6) if best["places_filled"] else None,
        "cost_ratio": round(fair["total_cost"] / best["total_cost"], 6) if best["total_cost"] else None,
    }
