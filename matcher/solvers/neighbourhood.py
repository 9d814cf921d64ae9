"""Large programs, improved neighbourhood by neighbourhood until the time limit.

When the menu rules touch a component too large for HiGHS to finish even its first LP within the
time limit (a city pool is one component), the program is not solved whole. The repaired flow
optimum is improved instead by exact re-optimisation of neighbourhoods: a few activities with
rules, plus the activities their candidates currently hold, re-solved exactly with everything
else fixed. Each accepted step keeps every rule and only raises the objective; the flow optimum
stays the proven bound, so the result is ``feasible`` with that gap (``optimal`` only when the
plan reaches the bound).

A neighbourhood must be self-contained for its rows to be exact: its volunteers hold nothing
outside it (so their capacity, hours, rest and load steps are all inside), and its activities
hold nobody from outside it (so their places, roles and minima are all inside). Volunteers and
activities that break this are left out, until both hold.
"""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt

from matcher.problem import Problem
from matcher.solvers.base import FlowInput
from matcher.solvers.repair import repair
from matcher.solvers.rules_model import build_model

__all__ = ["improve"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

#: Activities with rules per neighbourhood, and activities competing for their volunteers.
BATCH = 4
COMPETITORS = 16
#: Seconds HiGHS gets for one neighbourhood at most, and the size a neighbourhood is cut to
#: (fewer competing activities) so that most settle in well under a second.
STEP_SECONDS = 2.0
STEP_EDGES = 8_000


def _neighbourhood(vol: I64, act: I64, x: Mask, batch: I64, n_acts: int, competitors: int) -> I64:
    """Local edges of the self-contained neighbourhood around the activities ``batch``."""
    at_batch = np.isin(act, batch)
    candidates = np.unique(vol[at_batch])
    held = x & np.isin(vol, candidates) & ~at_batch
    competing, counts = np.unique(act[held], return_counts=True)
    top = competing[np.lexsort((competing, -counts))][:competitors]
    inside = np.zeros(n_acts, dtype=bool)
    inside[batch] = True
    inside[top] = True
    while True:
        outside_load = np.bincount(vol[x & ~inside[act]], minlength=int(vol.max(initial=0)) + 1)
        excluded = outside_load[vol] > 0
        # An activity holding an excluded volunteer would have a place taken from outside.
        blocked = np.unique(act[x & inside[act] & excluded])
        if len(blocked) == 0:
            return np.flatnonzero(inside[act] & ~excluded)
        inside[blocked] = False


def _value(fi: FlowInput, edges: I64, x: Mask) -> int:
    """Exact objective of the edges ``edges[x]`` (their volunteers hold nothing else)."""
    chosen = np.zeros(len(fi.tail), dtype=bool)
    chosen[edges[x]] = True
    return int(fi.weight[chosen].astype(object).sum()) - fi.load_penalty(chosen)


def improve(
    p: Problem, fi: FlowInput, priority: I64, cost: I64, busy_end: I64, edges: I64, current: Mask, deadline: float
) -> tuple[Mask, I64, int]:
    """A plan on ``edges`` that keeps every rule, from ``current`` (the flow optimum there).

    Returns the selection and each edge's role (both over ``edges``) and the number of
    neighbourhoods solved.
    """
    from matcher.solvers.program import settle

    full = build_model(p, fi, priority, cost, busy_end, edges, set())
    start = repair(p, fi, full, busy_end, current) > 0.5
    x = start[: len(edges)].copy()
    role = np.full(len(edges), -1, dtype=np.int64)
    z = start[full.z_cols]
    role[full.z_edge[z]] = full.z_role[z]
    del full, start
    vol, act = fi.tail[edges].astype(np.int64), fi.head[edges].astype(np.int64)
    ruled = np.unique(act[p.rules.act_needs_program[act]])
    # Where the repair lost most against the flow optimum first: with little time, that pays most.
    lost = np.bincount(act[current], minlength=p.n_activities) - np.bincount(act[x], minlength=p.n_activities)
    ruled = ruled[np.lexsort((ruled, -lost[ruled]))]
    rounds, idle = 0, 0
    batches = [ruled[i : i + BATCH] for i in range(0, len(ruled), BATCH)]
    while batches and idle < len(batches) and time.monotonic() < deadline:
        for batch in batches:
            if time.monotonic() >= deadline:
                break
            competitors = COMPETITORS
            local = _neighbourhood(vol, act, x, batch, p.n_activities, competitors)
            while len(local) > STEP_EDGES and competitors > 0:
                competitors //= 2
                local = _neighbourhood(vol, act, x, batch, p.n_activities, competitors)
            if len(local) == 0:
                idle += 1
                continue
            step_deadline = min(deadline, time.monotonic() + STEP_SECONDS)
            before = _value(fi, edges[local], x[local])
            model, columns, _, _, steps = settle(
                p, fi, priority, cost, busy_end, edges[local], x[local], step_deadline, 2**62
            )
            rounds += steps
            if model.value(columns) > before:
                x[local] = columns[: len(local)]
                role[local] = -1
                z = columns[model.z_cols]
                role[local[model.z_edge[z]]] = model.z_role[z]
                idle = 0
            else:
                idle += 1
    return x, role, rounds
