"""Certified sparsification: solve on each node's best edges, then prove every other edge unneeded.

Most candidate edges of a large pool can never be in an optimum: a volunteer with forty eligible
activities nearby ends up in one of their best few. The reduced problem keeps, for each volunteer
and each activity, its best edges (a multiple of its capacity); its optimal LP duals ``(u, y)``
are then checked against *every* pruned edge in one vectorised pass. An edge with
``w_e > u_v + y_a`` could improve the solution, so the worst violators of each node join the
reduced set and it is solved again (column generation with partial pricing). When none remain,
the duals are feasible for the full problem with the same objective, so the reduced optimum is
optimal for the full graph, and the same ``(u, y)`` are its certificate (see
:mod:`matcher.certificate`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.arrays import renumber
from matcher.certificate import flow_duals
from matcher.solvers.augment import Augmenter, DegenerateError, applies, augment_with_duals, solve_augment
from matcher.solvers.base import Backend, FlowInput, Mask
from matcher.solvers.ortools_backend import solve_ortools
from matcher.solvers.pricing import best_within, violations, worst_violators

__all__ = ["FlowSolution", "best_edges", "most_violated", "solve_sparsified", "tied"]

I64 = npt.NDArray[np.int64]

#: Below this many edges the full problem is solved directly: pruning would not pay for itself.
SPARSIFY_MIN_EDGES = 100_000

#: Share of the first round's edges that, once tied (see :func:`tied`), sends the rounds to cost
#: scaling. Measured on the benchmark's first rounds: 2-3% on its menus (M and L), 99% where
#: places are filled by priority alone; the searches' budget still catches what falls between.
TIED_SHARE = 0.5


@dataclass(frozen=True, eq=False)
class FlowSolution:
    """An optimal selection with the duals that prove it (``u`` per volunteer, ``y`` per activity).

    ``rounds`` counts reduced solves (0 when the full graph was solved directly);
    ``edges_solved`` is the size of the last graph solved and ``kept`` its edges (None: all).
    ``canonical_duals`` is False when the duals are the augmenting-path potentials: optimal, but
    one of many, so a published certificate takes the residual shortest-path duals instead (the
    same whichever backend).
    """

    chosen: Mask
    u: I64
    y: I64
    rounds: int
    edges_solved: int
    canonical_duals: bool = True
    kept: Mask | None = None


def _best_per_node(fi: FlowInput, edges: I64 | slice, value: I64, per_volunteer: int, per_activity: int) -> Mask:
    """Of ``edges``, each volunteer's and each activity's largest ``value``, a multiple of its capacity."""
    tail, head = fi.tail[edges], fi.head[edges]
    keep = np.zeros(len(tail), dtype=bool)
    if per_volunteer > 0:
        keep |= best_within(tail, value, per_volunteer * fi.left_cap)
    if per_activity > 0:
        keep |= best_within(head, value, per_activity * fi.right_cap)
    return keep


def best_edges(fi: FlowInput, per_volunteer: int, per_activity: int) -> Mask:
    """Keep each volunteer's ``per_volunteer * capacity`` and each activity's ``per_activity * places`` best edges."""
    return _best_per_node(fi, slice(None), fi.weight, per_volunteer, per_activity)


def most_violated(fi: FlowInput, violated: I64, gain: I64, per_activity: int, per_volunteer: int) -> I64:
    """The violators a round admits: each activity's and volunteer's worst, a multiple of its capacity.

    ``violated`` are edge ids with ``weight > u[tail] + y[head]`` and ``gain`` their excess
    ``weight - u - y`` (as :func:`~matcher.solvers.pricing.violations` returns them); worst means
    the largest gain (ties: canonical edge order). A limit of 0 leaves that side out; with both
    0 every violator is admitted. Either way every round admits at least one violator.
    """
    if per_activity <= 0 and per_volunteer <= 0:
        return violated
    return violated[_best_per_node(fi, violated, gain, per_volunteer, per_activity)]


def tied(fi: FlowInput, keep: Mask) -> bool:
    """Whether most ``keep`` edges tie for their activity's best weight, at activities with more such edges than places.

    There every place has several equally good volunteers, and each insertion of the augmenting
    paths crosses a saturated tied region to find a free one (:data:`~matcher.solvers.augment.WORK_PER_EDGE`):
    at 300k volunteers the first round spent 11.6 s before its budget handed it to cost
    scaling, which then solved it in 5 s. This test costs one pass over the kept edges.

    >>> fi = FlowInput(np.ones(3, np.int64), np.array([1, 1]), np.array([0, 1, 2, 2]),
    ...                np.array([0, 0, 0, 1]), np.array([5, 5, 5, 7]))
    >>> tied(fi, np.ones(4, dtype=bool)), tied(fi, np.array([True, False, False, True]))
    (True, False)
    """
    idx = np.flatnonzero(keep)
    if len(idx) == 0:
        return False
    head, weight = fi.head[idx], fi.weight[idx]
    best = np.full(len(fi.right_cap), np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(best, head, weight)
    at_best = weight == best[head]
    n_best = np.bincount(head[at_best], minlength=len(fi.right_cap))
    contested = (n_best > fi.right_cap)[head] & at_best
    return bool(contested.sum() >= TIED_SHARE * len(idx))


def _admitted(fi: FlowInput, keep: Mask, u: I64, y: I64, per_activity: int, per_volunteer: int) -> tuple[I64, int]:
    """The edges :func:`most_violated` admits against the duals ``(u, y)``, and how many violate."""
    if per_activity > 0 and per_volunteer <= 0:
        # Per activity only (the default) fits one pass that never lists the violators.
        return worst_violators(fi.tail, fi.head, fi.weight, keep, u, y, per_activity * fi.right_cap)
    violated, gain = violations(fi.tail, fi.head, fi.weight, keep, u, y)
    return most_violated(fi, violated, gain, per_activity, per_volunteer), len(violated)


def _price_closed(fi: FlowInput, closed: I64, u: I64, y: I64) -> I64:
    """``y`` with each activity without places priced at least its edges' (``closed``) best gain.

    Such an activity takes no edge whatever its price, and its price adds nothing to the dual
    objective (it is multiplied by 0 places), so covering every one of its edges keeps the duals
    optimal. Admission keeps no edge of it (its limit is a multiple of 0 places), so left priced
    by its kept edges only, its other edges stayed violated in every round and the loop ran to
    ``max_rounds`` before solving the full graph.
    """
    y = y.copy()
    np.maximum.at(y, fi.head[closed], fi.weight[closed] - u[fi.tail[closed]])
    return y


def _restrict(fi: FlowInput, idx: I64) -> tuple[FlowInput, I64, I64]:
    """The problem on edges ``idx`` with nodes that have no edge left out (renumbered in order).

    Returns the sub-problem and the original numbers of its volunteers and activities. Leaving
    isolated nodes out matters: the solver's work grows with nodes, not only with edges.
    """
    vols, tail = renumber(fi.tail[idx], len(fi.left_cap))
    acts, head = renumber(fi.head[idx], len(fi.right_cap))
    sub = FlowInput(
        fi.left_cap[vols],
        fi.right_cap[acts],
        tail,
        head,
        fi.weight[idx],
        None if fi.left_step is None else fi.left_step[vols],
    )
    return sub, vols, acts


def _solve_kept(fi: FlowInput, keep: Mask, backend: Backend) -> tuple[Mask, I64, I64, bool]:
    """The optimum on the edges ``keep`` and its duals, solved on the nodes those edges touch.

    Nodes without kept edges are priced 0, so any edge of theirs that would profit is a violator.
    """
    idx = np.flatnonzero(keep)
    sub, vols, acts = _restrict(fi, idx)
    sub_chosen, u_sub, y_sub, canonical = _solve_round(sub, backend)
    u = np.zeros(len(fi.left_cap), dtype=np.int64)
    y = np.zeros(len(fi.right_cap), dtype=np.int64)
    u[vols], y[acts] = u_sub, y_sub
    chosen = np.zeros(len(fi.tail), dtype=bool)
    chosen[idx[sub_chosen]] = True
    return chosen, u, y, canonical


def _solve_round(sub: FlowInput, backend: Backend) -> tuple[Mask, I64, I64, bool]:
    """An optimum of ``sub``, its duals, and whether they are the canonical shortest-path duals."""
    if backend is solve_augment and applies(sub):
        try:
            return (*augment_with_duals(sub), False)
        except DegenerateError:
            backend = solve_ortools
    chosen = backend(sub)
    return (chosen, *flow_duals(sub, chosen), True)


def solve_sparsified(
    fi: FlowInput,
    backend: Backend,
    *,
    per_volunteer: int = 0,
    per_activity: int = 8,
    admit_per_activity: int = 8,
    admit_per_volunteer: int = 0,
    max_rounds: int = 50,
) -> FlowSolution:
    """Solve ``fi`` exactly through reduced problems, returning the optimum and its certifying duals.

    Parameters
    ----------
    fi:
        The full problem.
    backend:
        Solves each reduced problem (any registered backend).
    per_volunteer, per_activity:
        Initial edges kept per unit of capacity; more means fewer repair rounds but larger solves.
        The defaults were the fastest of those measured at M and L: places are the scarce side
        of a menu, so an activity's best candidates decide nearly everything, and every edge kept
        slows each round's solve. Since a round is cheaper than it was, 8 per place (two rounds
        at M and L) beats 5 (three): M 0.44 s vs 0.59 s, L 8.1 s vs 8.6-9.3 s.
    admit_per_activity, admit_per_volunteer:
        Violators admitted per round, per unit of capacity, most violated first (see
        :func:`most_violated`). Admitting all let the first round at L add 12.8M of 35M edges
        (online activities are candidates for everyone); admitting each volunteer's worst piled
        ~100k edges onto single online activities, whose every place then scanned them all. Per
        activity only, L's rounds stay at ~650k edges. 8 per place rather than 2: XL's first
        round finds 129M violators, and at 2 per place it took 7 rounds (127 s) to admit the few
        that matter, at 8 three rounds (74 s); M and L were the same or faster (L 4.6 s, M 0.4 s).
    max_rounds:
        After this many rounds the full graph is solved instead (never needed in practice, but it
        bounds the work whatever the instance).

    """
    keep = best_edges(fi, per_volunteer, per_activity)
    if backend is solve_augment and tied(fi, keep):
        backend = solve_ortools
    # The augmenting-path solver resumes from the last round's optimum instead of starting over.
    resumed = Augmenter(fi) if backend is solve_augment and applies(fi) else None
    closed = np.flatnonzero(fi.right_cap[fi.head] == 0) if (fi.right_cap == 0).any() else None
    for rounds in range(1, max_rounds + 1):
        if resumed is not None:
            try:
                chosen, u, y = resumed.solve(keep)
                canonical = False
            except DegenerateError:
                # Ties make each search sweep the market: cost scaling solves this round and the rest.
                resumed, backend = None, solve_ortools
        if resumed is None:
            chosen, u, y, canonical = _solve_kept(fi, keep, backend)
        if closed is not None:
            y = _price_closed(fi, closed, u, y)
        admitted, n_violated = _admitted(fi, keep, u, y, admit_per_activity, admit_per_volunteer)
        if n_violated == 0:
            return FlowSolution(chosen, u, y, rounds, int(keep.sum()), canonical, keep)
        keep[admitted] = True
    chosen, u, y, canonical = _solve_round(fi, backend)
    return FlowSolution(chosen, u, y, 0, len(fi.tail), canonical)


def solve_flow(fi: FlowInput, backend: Backend, *, sparsify: bool | None = None) -> FlowSolution:
    """Solve ``fi`` with ``backend``, through :func:`solve_sparsified` when it pays.

    ``sparsify=None`` decides by size (:data:`SPARSIFY_MIN_EDGES`); True or False forces it.
    """
    use = sparsify if sparsify is not None else len(fi.tail) >= SPARSIFY_MIN_EDGES
    if use and len(fi.tail):
        return solve_sparsified(fi, backend)
    chosen, u, y, canonical = _solve_round(fi, backend)
    return FlowSolution(chosen, u, y, 0, len(fi.tail), canonical)
