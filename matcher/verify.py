"""Independent checking of a result against its problem: feasibility and proven optimality.

``verify`` recomputes the candidate edges and costs from the problem, so a result produced by
another run, another backend or another program can be checked the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from matcher.arrays import sorted_lookup
from matcher.candidates import Edges, locate_pairs, pair_keys
from matcher.certificate import Cliques, DualCheck, StagePrices, check_duals
from matcher.costs import COST_TERMS, CostTerms, Objective, load_cost
from matcher.errors import InputError
from matcher.lexicographic import Lexicographic, check_stages
from matcher.pipeline import flow_input, prepare
from matcher.problem import Problem
from matcher.rematching import rematch_inputs
from matcher.result import MatchResult
from matcher.rules_check import rule_violations

__all__ = ["Verification", "verify"]


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found.

    ``optimal`` is True when the LP-dual certificate closes the gap exactly, False when it does not,
    and None when optimality rests on the MILP solver's own proof (no-overlap components) or is
    not claimed (``stable`` and ``first_come`` results).
    """

    feasible: bool
    optimal: bool | None
    problems: tuple[str, ...]
    primal: int
    dual: int

    @property
    def ok(self) -> bool:
        """Feasible, and not shown to be suboptimal."""
        return self.feasible and self.optimal is not False


def verify(p: Problem, result: MatchResult | Mapping[str, Any]) -> Verification:
    """Check a result (object or JSON document) against a compiled problem.

    Feasibility: every assignment is an eligible pair with the right cost, no activity over
    capacity, no volunteer over ``max_activities`` or in two overlapping activities (rest
    included), every menu rule kept (:mod:`matcher.rules_check`), and the objective, unfilled
    and unassigned lists agree with the assignments. Optimality: the
    certificate's dual prices must give a dual objective equal to the solution's weight.
    """
    doc = result.to_document() if isinstance(result, MatchResult) else result
    problems: list[str] = []
    section = doc.get("rematch")
    cert = doc.get("certificate", {})
    pinned: npt.NDArray[np.bool_] | None = None
    objective: Objective | Lexicographic
    if section is None:
        edges, costs, objective = prepare(p)
    else:
        try:
            edges, costs, objective, _, pinned = _rematch_context(p, section, cert)
        except InputError as exc:
            return Verification(False, False, tuple(f"rematch section: {issue}" for issue in exc.issues), 0, 0)
    edge_keys = pair_keys(p, edges)
    chosen, role, listed = _assignments(p, edges, costs, edge_keys, doc.get("assignments", []))
    problems += listed
    load = np.bincount(edges.vol[chosen], minlength=p.n_volunteers)
    filled = np.bincount(edges.act[chosen], minlength=p.n_activities)
    problems += [
        f"volunteer {p.volunteer_ids[i]!r} exceeds max_activities" for i in np.flatnonzero(load > p.vol_max_activities)
    ]
    problems += [
        f"activity {p.activity_ids[j]!r} exceeds its capacity" for j in np.flatnonzero(filled > p.act_capacity)
    ]
    problems += rule_violations(p, edges, chosen, role)
    if pinned is not None and (pinned & ~chosen).any():
        problems.append("an accepted (pinned) assignment was not kept")
    priority_filled = int(p.act_priority[edges.act[chosen]].sum())
    workload = load_cost(p, edges, chosen)
    total_cost = int(costs.total[chosen].sum()) + workload
    reported = doc.get("objective", {})
    if reported.get("priority_filled") != priority_filled or reported.get("total_cost") != total_cost:
        problems.append(f"objective should be priority_filled={priority_filled}, total_cost={total_cost}")
    if p.policy.weights.load and reported.get("load_cost") != workload:
        problems.append(f"objective should have load_cost={workload}")
    unfilled = {u.get("activity_id") for u in doc.get("unfilled", [])}
    if unfilled != {p.activity_ids[j] for j in np.flatnonzero(filled < p.act_capacity)}:
        problems.append("the unfilled list does not match the assignments")
    unassigned = {u.get("volunteer_id") for u in doc.get("unassigned", [])}
    if unassigned != {p.volunteer_ids[i] for i in np.flatnonzero(load == 0)}:
        problems.append("the unassigned list does not match the assignments")
    feasible = not problems

    stage_checks: list[DualCheck] = []
    if isinstance(objective, Lexicographic):
        # Each stage's network is rebuilt from the prices of the one before, as the solve built it.
        stages = [StagePrices(tuple(s["levels"]), *_prices(p, s), s.get("dual_objective")) for s in cert["stages"]]
        stage_checks, fi = check_stages(flow_input(p, edges, objective.priority), objective, chosen, stages)
        problems += [
            f"certificate stage {k + 1} reports dual_objective {s.dual}, expected {c.dual}"
            for k, (s, c) in enumerate(zip(stages, stage_checks, strict=True))
            if s.dual != c.dual
        ]
    else:
        fi = flow_input(p, edges, objective)
    u, y = _prices(p, cert)
    cliques, clique_problems = _cliques_from(p, edges, edge_keys, cert.get("cliques", []))
    problems += clique_problems
    denominator = cert.get("denominator", 1)
    if not isinstance(denominator, int) or denominator < 1:
        problems.append("certificate denominator must be a positive integer")
        denominator = 1
    check = check_duals(fi, chosen, u, y, cliques, denominator)
    optimal: bool | None
    if cert.get("kind") == "none" and doc.get("status") in ("stable", "first_come"):
        # The comparison modes claim feasibility only.
        return Verification(feasible, None, tuple(problems), check.primal, 0)
    if clique_problems:
        optimal = False
    elif cert.get("scale") != objective.scale:
        problems.append(f"certificate scale should be {objective.scale}")
        optimal = False
    elif cert.get("kind") == "lp_dual":
        optimal = True
        for name, c in [*((f"stage {k + 1}", c) for k, c in enumerate(stage_checks)), ("dual", check)]:
            if not c.proves_optimal:
                problems.append(f"{name} certificate does not prove optimality (primal {c.primal}, dual {c.dual})")
                optimal = False
    elif cert.get("kind") == "milp":
        # The flow relaxation bounds the true optimum from above; a solution above it is impossible.
        bounded = all(c.feasible_duals and c.primal * c.denominator <= c.dual for c in [*stage_checks, check])
        optimal = None if bounded else False
        if optimal is False:
            problems.append("solution exceeds the bound of its own certificate")
    else:
        problems.append("missing or unknown certificate kind")
        optimal = False
    return Verification(feasible, optimal, tuple(problems), check.primal, check.dual)


def _assignments(
    p: Problem, edges: Edges, costs: CostTerms, edge_keys: npt.NDArray[np.int64], items: list[Any]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64] | None, list[str]]:
    """The edges a document's assignments name (a mask), the role each fills, and what is wrong with them.

    Roles are per edge (-1: none), or None when no assignment names one.

    One lookup for all assignments: one binary search and one cost-terms call per assignment
    took 7 s of the 29 s verify spent at 300k volunteers.
    """
    vids = [item.get("volunteer_id") for item in items]
    aids = [item.get("activity_id") for item in items]
    pos, found, known = locate_pairs(p, edge_keys, vids, aids)
    at = pos[found]
    first = np.zeros(len(items), dtype=bool)
    first[np.flatnonzero(found)[np.unique(at, return_index=True)[1]]] = True
    total = costs.total[at].tolist()
    terms = costs.terms_at(at)
    rows = list(zip(*(terms[name].tolist() for name in COST_TERMS), strict=True))
    chosen = np.zeros(len(edges), dtype=bool)
    chosen[at] = True
    role = np.full(len(edges), -1, dtype=np.int64) if any("role" in item for item in items) else None
    problems: list[str] = []
    k = 0  # position among the found assignments
    for n, item in enumerate(items):
        vid, aid = vids[n], aids[n]
        if not known[n]:
            problems.append(f"assignment ({vid!r}, {aid!r}) names an unknown id")
            continue
        if not found[n]:
            problems.append(f"volunteer {vid!r} is not eligible for activity {aid!r}")
            continue
        if not first[n]:
            problems.append(f"volunteer {vid!r} is assigned to activity {aid!r} twice")
        if role is not None:
            role[at[k]] = _role_index(p, int(edges.act[at[k]]), item.get("role"))
        if item.get("cost") != total[k]:
            problems.append(f"assignment ({vid!r}, {aid!r}) reports cost {item.get('cost')}, expected {total[k]}")
        reported = item.get("cost_terms")
        if reported is not None and (
            not isinstance(reported, Mapping)
            or len(reported) != len(COST_TERMS)
            or tuple(reported.get(name) for name in COST_TERMS) != rows[k]
        ):
            problems.append(f"assignment ({vid!r}, {aid!r}) reports wrong cost terms")
        k += 1
    return chosen, role, problems


def _prices(p: Problem, section: Mapping[str, Any]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The volunteer and activity prices a certificate (or one of its stages) names, by index."""
    u = np.zeros(p.n_volunteers, dtype=np.int64)
    y = np.zeros(p.n_activities, dtype=np.int64)
    for vid, price in section.get("volunteer_prices", {}).items():
        if vid in p.volunteer_index:
            u[p.volunteer_index[vid]] = int(price)
    for aid, price in section.get("activity_prices", {}).items():
        if aid in p.activity_index:
            y[p.activity_index[aid]] = int(price)
    return u, y


def _role_index(p: Problem, act: int, name: Any) -> int:
    """The global index of the role ``name`` at activity ``act``; -1 when absent or unknown."""
    for k in p.rules.role_of(act):
        if p.rules.role_name[k] == name:
            return k
    return -1


def _pairs(value: Any, name: str) -> list[tuple[str, str]]:
    ok = isinstance(value, list) and all(
        isinstance(x, list) and len(x) == 2 and all(isinstance(i, str) for i in x) for x in value
    )
    if not ok:
        raise InputError.single("rematch", "", name, "expected a list of [volunteer_id, activity_id] pairs", "invalid")
    return [(x[0], x[1]) for x in value]


def _stage_names(cert: Any) -> tuple[tuple[str, ...], ...] | None:
    """The level names of each stage a staged certificate records (None: one combined weight)."""
    if not isinstance(cert, Mapping) or "levels" not in cert:
        return None
    stages = cert.get("stages")
    names: list[Any] = [s.get("levels") for s in stages if isinstance(s, Mapping)] if isinstance(stages, list) else []
    names.append(cert.get("levels"))
    if not isinstance(stages, list) or len(names) != len(stages) + 1:
        raise InputError.single("certificate", "", "stages", "expected a list of stage objects", "invalid")
    if not all(isinstance(n, list) and n and all(isinstance(x, str) for x in n) for n in names):
        raise InputError.single("certificate", "", "levels", "expected non-empty lists of level names", "invalid")
    return tuple(tuple(n) for n in names)


def _rematch_context(
    p: Problem, section: Any, cert: Any
) -> tuple[Edges, CostTerms, Objective | Lexicographic, Any, npt.NDArray[np.bool_]]:
    """Rebuild a re-match's edges and objective from the ``rematch`` section (and the certificate's stages)."""
    if not isinstance(section, Mapping):
        raise InputError.single("rematch", "", "", "expected an object", "invalid")
    weight = section.get("disruption_weight")
    if weight is not None and (not isinstance(weight, int) or isinstance(weight, bool) or weight < 0):
        raise InputError.single(
            "rematch", "", "disruption_weight", "expected null or a non-negative integer", "invalid"
        )
    names = _stage_names(cert)
    context = rematch_inputs(
        p,
        _pairs(section.get("previous"), "previous"),
        _pairs(section.get("accepted"), "accepted"),
        _pairs(section.get("declined"), "declined"),
        weight,
        lexicographic=names is not None,
        sizes=None if names is None else tuple(len(n) for n in names),
    )
    lex = context[2]
    if names is not None and isinstance(lex, Lexicographic) and names != tuple(map(lex.names, range(len(names)))):
        raise InputError.single(
            "certificate", "", "levels", "the stages do not name the re-match levels in order", "invalid"
        )
    return context


def _cliques_from(
    p: Problem, edges: Edges, edge_keys: npt.NDArray[np.int64], rows: list[dict[str, Any]]
) -> tuple[Cliques, list[str]]:
    """Clique rows of a certificate document as edge indices, and what is wrong with them.

    A row is valid only if its activities all run at one common moment, so that no feasible
    solution takes two of them.
    """
    n_act = max(p.n_activities, 1)
    members: list[npt.NDArray[np.int64]] = []
    prices: list[int] = []
    problems: list[str] = []
    for row in rows:
        vid, aids = row.get("volunteer_id"), row.get("activity_ids", [])
        i = p.volunteer_index.get(vid) if isinstance(vid, str) else None
        js = [p.activity_index.get(a) if isinstance(a, str) else None for a in aids]
        price = row.get("price")
        if i is None or any(j is None for j in js) or not isinstance(price, int) or price < 0:
            problems.append(f"certificate clique of volunteer {vid!r} names unknown ids or a bad price")
            continue
        acts = np.array(js, dtype=np.int64)
        if len(acts) and p.act_start[acts].max() >= p.act_busy_end[acts].min():
            problems.append(f"certificate clique of volunteer {vid!r} holds activities that do not all overlap")
            continue
        pos, found = sorted_lookup(edge_keys, i * n_act + acts)
        members.append(pos[found].astype(np.int64))
        prices.append(price)
    ptr = np.zeros(len(members) + 1, dtype=np.int64)
    np.cumsum([len(m) for m in members], out=ptr[1:])
    flat = np.concatenate(members) if members else np.zeros(0, dtype=np.int64)
    return Cliques(ptr=ptr, members=flat, price=np.array(prices, dtype=np.int64)), problems
