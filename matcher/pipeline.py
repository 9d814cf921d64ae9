"""The public entry points: records in, certified result out, each stage timed.

``match`` = validate → compile → :func:`solve`; ``solve`` = candidate edges → cost terms →
backend (sparsified when large) → dual prices → deterministic tie-break → exact no-overlap step →
certificate → result. Each stage is also public on its own
(:func:`~matcher.problem.compile_problem`, :func:`~matcher.candidates.candidate_edges`,
:func:`~matcher.costs.pair_costs`, the backends in :mod:`matcher.solvers`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.candidates import Edges, candidate_edges
from matcher.certificate import StagePrices, check_duals, flow_duals, rational_duals
from matcher.costs import CostTerms, Objective, objective_weights, pair_costs
from matcher.errors import CostRangeError, InputError, InputIssue, SolverError
from matcher.lexicographic import Lexicographic, solve_stages
from matcher.memory import release_free_memory
from matcher.models import Activity, Policy, ProblemDocument, Volunteer
from matcher.modes import MODES, Mode
from matcher.problem import Problem, compile_problem
from matcher.progress import StageTimer
from matcher.records import coerce_activities, coerce_policy, coerce_volunteers
from matcher.result import Certificate, MatchResult, build_result
from matcher.solvers import FlowInput, get_backend
from matcher.solvers.base import Mask
from matcher.solvers.overlap import OverlapOutcome, resolve_overlaps
from matcher.sparsify import solve_flow
from matcher.tiebreak import canonical_selection, tie_keys

__all__ = [
    "combined_objective",
    "flow_input",
    "match",
    "match_document",
    "prepare",
    "price_of_stability",
    "solve",
    "solve_edges",
]

I64 = npt.NDArray[np.int64]


def flow_input(p: Problem, edges: Edges, objective: Objective | I64) -> FlowInput:
    """The solver's view of a problem: capacities, edge endpoints and combined weights (or given ones)."""
    step = p.policy.weights.load
    return FlowInput(
        left_cap=p.vol_max_activities,
        right_cap=p.act_capacity,
        tail=edges.vol,
        head=edges.act,
        weight=objective.weight if isinstance(objective, Objective) else objective,
        left_step=np.full(p.n_volunteers, step, dtype=np.int64) if step else None,
    )


def combined_objective(p: Problem, edges: Edges, costs: CostTerms) -> Objective:
    """The objective weights :func:`solve` maximises for these edges and cost terms."""
    # Range-checked for the strictest backend (OR-Tools multiplies costs by nodes + 1), so that
    # whether a problem is accepted never depends on the backend chosen.
    n_nodes = p.n_volunteers + p.n_activities + 2
    return objective_weights(p, edges, costs, node_factor=n_nodes + 1)


def prepare(p: Problem) -> tuple[Edges, CostTerms, Objective]:
    """Candidate edges, their cost terms and the combined objective, exactly as :func:`solve` uses them."""
    edges = candidate_edges(p)
    costs = pair_costs(p, edges)
    return edges, costs, combined_objective(p, edges, costs)


def solve(
    p: Problem,
    *,
    backend: str | None = None,
    sparsify: bool | None = None,
    timer: StageTimer | None = None,
    mode: Mode = "optimal",
) -> MatchResult:
    """Solve a compiled problem to proven optimality.

    Parameters
    ----------
    p:
        The compiled problem (:func:`~matcher.problem.compile_problem`).
    backend:
        ``"augment"`` (default), ``"ortools"``, ``"highs"`` or ``"networkx"``; see :mod:`matcher.solvers`.
    sparsify:
        Solve through certified sparsification (:mod:`matcher.sparsify`): ``None`` (default)
        decides by size, True or False forces it. The objective is the same either way.
    timer:
        Collects seconds per stage; pass one with a listener for progress output.
    mode:
        ``"optimal"`` (default), or ``"stable"`` / ``"first_come"`` for comparison
        (:mod:`matcher.modes`; their results carry no optimality certificate).

    """
    timer = timer if timer is not None else StageTimer()
    if mode not in MODES:
        raise InputError.single("policy", "", "mode", f"unknown mode; expected one of {', '.join(MODES)}", "mode")
    if mode != "optimal" and p.rules.needs_program:
        message = (
            f"mode {mode!r} supports eligibility (roles' requirements included), capacities and rest "
            "times only; roles' counts, minima, hour limits, together and apart need mode 'optimal'"
        )
        raise InputError.single("policy", "", "mode", message, "unsupported_rule")
    with timer("candidates"):
        edges = candidate_edges(p)
    with timer("costs"):
        costs = pair_costs(p, edges)
        objective = combined_objective(p, edges, costs)
    if mode != "optimal":
        return _solve_mode(p, edges, costs, mode, timer)
    return solve_edges(p, edges, costs, objective, backend=backend, sparsify=sparsify, timer=timer)


def solve_edges(
    p: Problem,
    edges: Edges,
    costs: CostTerms,
    objective: Objective | Lexicographic,
    *,
    backend: str | None = None,
    sparsify: bool | None = None,
    timer: StageTimer | None = None,
) -> MatchResult:
    """The solve stages of :func:`solve` on given edges and objective weights.

    For callers that change the edge set or the objective's levels (:mod:`matcher.rematch`);
    ``objective.priority`` and ``objective.cost`` must be the two levels behind its weights. A
    :class:`~matcher.lexicographic.Lexicographic` objective is solved stage by stage.
    """
    timer = timer if timer is not None else StageTimer()
    name, backend_fn = get_backend(backend)
    staged = isinstance(objective, Lexicographic)
    if staged and p.rules.needs_program:
        message = (
            "this objective is solved in stages (too wide for one 64-bit weight), which the menu rules' "
            "integer program (roles' counts, minima, hour limits, together, apart) does not support"
        )
        raise CostRangeError([InputIssue("policy", "", "weights", message, "cost_range")])
    stages: tuple[StagePrices, ...] = ()
    with timer("solve"):
        if isinstance(objective, Lexicographic):
            # The stages set their own weights; the coarse levels stand in until then.
            fi, flow, stages = solve_stages(
                flow_input(p, edges, objective.priority), objective, backend_fn, sparsify=sparsify
            )
        else:
            # Building the network belongs to the stage (its endpoints are the edges' own int32 columns).
            fi = flow_input(p, edges, objective)
            if p.rules.needs_program:
                from matcher.solvers.program import tightened

                # A tighter relaxation: a better bound, and a flow optimum closer to keeping the rules.
                fi = tightened(p, fi)
            flow = solve_flow(fi, backend_fn, sparsify=sparsify)
        release_free_memory()  # the sparsified rounds' edge subsets: 0.17 GB at 300k volunteers
    with timer("tie-break"):
        flow_chosen = canonical_selection(
            fi, flow.u, flow.y, lambda e: tie_keys(p.volunteer_ids, p.activity_ids, fi.tail[e], fi.head[e])
        )
    u, y = flow.u, flow.y
    if not flow.canonical_duals:
        with timer("duals"):
            # Published prices must not depend on the backend: the residual shortest-path duals
            # (of the whole network, computed on the last round's edges and checked on the rest).
            u, y = flow_duals(fi, flow_chosen, within=flow.kept)
    selection, rules = flow_chosen, None
    if p.rules.needs_program:
        from matcher.solvers.program import solve_rules

        with timer("rules"):
            busy_end = p.act_busy_end[edges.act]
            rules = solve_rules(p, fi, objective.priority, objective.cost, busy_end, flow_chosen)
        selection = rules.chosen
    with timer("overlaps"):
        # Components the rules program settled hold no overlap, so this step leaves them alone.
        outcome = resolve_overlaps(
            fi, objective.priority, objective.cost, p.act_start, p.act_busy_end, selection, combined=not staged
        )
    with timer("certify"):
        certificate = _certify(
            fi, flow_chosen, u, y, outcome, objective.scale, name, rules is not None and rules.edges > 0
        )
        if isinstance(objective, Lexicographic):
            certificate = replace(certificate, levels=objective.names(len(objective.sizes) - 1), stages=stages)
    with timer("result"):
        roles = rules.role if rules is not None else None
        result = build_result(p, edges, costs, outcome.chosen, name, certificate, timer.seconds, fi.weight, roles)
    if rules is not None:
        from matcher.staffing import rules_report

        report = rules_report(result, rules)
        result = replace(result, rules=report, status=report.status)
    if p.policy.target_fill_probability is not None and p.n_activities:
        from matcher.overbook import overbook

        with timer("overbook"):
            plan = overbook(result, p.policy.target_fill_probability, p.policy.max_overbook)
        result = replace(result, overbooking=plan)
    return result


def _solve_mode(p: Problem, edges: Edges, costs: CostTerms, mode: Mode, timer: StageTimer) -> MatchResult:
    from matcher.modes import blocking_pairs, first_come_selection, preference_orders, stable_selection

    with timer("solve"):
        orders = preference_orders(p, edges, costs)
        select = stable_selection if mode == "stable" else first_come_selection
        chosen = select(p, edges, orders)
    zero_v, zero_a = np.zeros(p.n_volunteers, dtype=np.int64), np.zeros(p.n_activities, dtype=np.int64)
    certificate = Certificate("none", 0, 0, zero_v, zero_a)
    with timer("result"):
        name = "deferred_acceptance" if mode == "stable" else "first_come"
        result = replace(build_result(p, edges, costs, chosen, name, certificate, timer.seconds), status=mode)
        result.metrics["blocking_pairs"] = blocking_pairs(result, orders)
    return result


def price_of_stability(p: Problem, *, backend: str | None = None) -> dict[str, Any]:
    """Fill, cost and blocking pairs of the optimal and the stable matching of ``p``, and their ratios."""
    from matcher.modes import stability_report

    return stability_report(solve(p, backend=backend), solve(p, mode="stable"))


def _certify(
    fi: FlowInput,
    flow_chosen: Mask,
    u: I64,
    y: I64,
    outcome: OverlapOutcome,
    scale: int,
    backend: str,
    programmed: bool = False,
) -> Certificate:
    """Prove the final selection optimal: LP duals, extended by clique prices after the overlap step.

    ``programmed``: the menu rules' integer program settled part of the plan, so the proof is
    HiGHS's branch and bound (kind ``milp``), and the flow duals give the bound.
    """
    relaxed = check_duals(fi, flow_chosen, u, y)
    if not relaxed.proves_optimal:
        raise SolverError(f"backend {backend!r} returned a flow its dual certificate does not prove optimal")
    if programmed:
        return Certificate(
            "milp", scale, relaxed.dual, u, y, overlap_rounds=outcome.rounds, overlap_volunteers=outcome.lazy_volunteers
        )
    if outcome.rounds == 0:
        return Certificate("lp_dual", scale, relaxed.dual, u, y)
    extended = rational_duals(u, y, outcome.duals) if outcome.duals is not None else None
    if extended is not None:
        denominator, u_x, y_x, cliques = extended
        check = check_duals(fi, outcome.chosen, u_x, y_x, cliques, denominator)
        if check.proves_optimal:
            return Certificate(
                "lp_dual",
                scale,
                check.dual,
                u_x,
                y_x,
                denominator=denominator,
                cliques=cliques,
                overlap_rounds=outcome.rounds,
                overlap_volunteers=outcome.lazy_volunteers,
            )
    return Certificate(
        "milp",
        scale,
        relaxed.dual,
        u,
        y,
        overlap_rounds=outcome.rounds,
        overlap_volunteers=outcome.lazy_volunteers,
    )


def match(
    volunteers: Iterable[Volunteer | Mapping[str, Any]],
    activities: Iterable[Activity | Mapping[str, Any]],
    policy: Policy | Mapping[str, Any] | None = None,
    *,
    backend: str | None = None,
    sparsify: bool | None = None,
    timer: StageTimer | None = None,
    mode: Mode = "optimal",
) -> MatchResult:
    """Match volunteers to menu activities, exactly optimally, with a certificate.

    Accepts model objects or plain mappings following the JSON contract. Raises
    :class:`~matcher.errors.InputError` (naming record ids and fields) on bad input. ``mode``
    selects the stable or first-come dispatch instead, for comparison (see :func:`solve`).

    >>> import matcher
    >>> r = matcher.match(
    ...     [{"id": "v1", "skills": {"急救": 3}}],
    ...     [{"id": "a1", "start": "2026-12-01T09:00+08:00", "end": "2026-12-01T11:00+08:00",
    ...       "capacity": 1, "requirements": [{"skill": "急救", "min_level": 2}]}],
    ... )
    >>> [(a.volunteer_id, a.activity_id, a.cost) for a in r.assignments]
    [('v1', 'a1', 503)]
    """
    timer = timer if timer is not None else StageTimer()
    with timer("validate"):
        vols = coerce_volunteers(volunteers)
        acts = coerce_activities(activities)
        pol = coerce_policy(policy)
    with timer("compile"):
        problem = compile_problem(vols, acts, pol)
    return solve(problem, backend=backend, sparsify=sparsify, timer=timer, mode=mode)


def match_document(
    document: ProblemDocument, *, backend: str | None = None, timer: StageTimer | None = None
) -> MatchResult:
    """Solve a validated :class:`~matcher.models.ProblemDocument`."""
    return match(document.volunteers, document.activities, document.policy, backend=backend, timer=timer)
