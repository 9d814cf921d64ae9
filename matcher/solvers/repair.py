"""A plan that keeps every menu rule, made from the flow optimum by dropping assignments.

It is the integer program's starting point: branch and bound begins with a good incumbent, and a
time limit always leaves a valid plan. Dropping is enough, because the empty plan keeps every
rule (minima only bind an activity that runs). The repair is greedy (it keeps the heavier
assignments) and deterministic; it is not optimal, the program is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from matcher.problem import Problem
from matcher.rules import NO_LIMIT, edges_of
from matcher.solvers.base import FlowInput
from matcher.solvers.overlap import clashes_with_chosen, conflicting_volunteers

if TYPE_CHECKING:
    from matcher.rules import MenuRules
    from matcher.solvers.rules_model import RulesModel

__all__ = ["repair"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


def _volunteer_limits(p: Problem, vol: I64, act: I64, busy_end: I64, x: Mask, weight: I64) -> bool:
    """Keep, per volunteer who breaks an hour limit or the no-overlap rule, the heaviest plan that fits."""
    rules = p.rules
    duration = (p.act_end - p.act_start)[act]
    hours = np.bincount(vol[x], weights=duration[x].astype(np.float64), minlength=p.n_volunteers)
    bad = set(np.flatnonzero(hours > rules.vol_max_micros.astype(np.float64)).tolist())
    bad |= {int(v) for v in conflicting_volunteers(vol, p.act_start[act], busy_end, x)}
    daily = np.flatnonzero(x & (rules.vol_max_micros_day[vol] < NO_LIMIT))
    bad |= {int(v) for v in vol[daily]}  # few volunteers set a daily cap; check them below
    changed = False
    for v in sorted(bad):
        mine = edges_of(vol, np.array([v]))
        mine = mine[x[mine]]
        order = mine[np.lexsort((mine, -weight[mine]))]
        kept: list[int] = []
        total = 0
        per_day: dict[int, int] = {}
        for e in order.tolist():
            a = int(act[e])
            clash = any(p.act_start[a] < busy_end[k] and p.act_start[act[k]] < busy_end[e] for k in kept)
            days = range(int(rules.day_ptr[a]), int(rules.day_ptr[a + 1]))
            day_ok = all(
                per_day.get(int(rules.day_index[d]), 0) + int(rules.day_micros[d]) <= rules.vol_max_micros_day[v]
                for d in days
            )
            if clash or total + int(duration[e]) > rules.vol_max_micros[v] or not day_ok:
                continue
            kept.append(e)
            total += int(duration[e])
            for d in days:
                per_day[int(rules.day_index[d])] = per_day.get(int(rules.day_index[d]), 0) + int(rules.day_micros[d])
        drop = np.setdiff1d(mine, np.asarray(kept, dtype=np.int64))
        if len(drop):
            x[drop] = False
            changed = True
    return changed


def _groups(p: Problem, vol: I64, act: I64, x: Mask, weight: I64) -> bool:
    """Together: all members or none at each activity; apart: the lighter of the two leaves."""
    rules = p.rules
    changed = False
    for g in range(len(rules.together_ptr) - 1):
        members = rules.together_vol[rules.together_ptr[g] : rules.together_ptr[g + 1]]
        mine = edges_of(vol, members)
        mine = mine[x[mine]]
        acts, counts = np.unique(act[mine], return_counts=True)
        drop = mine[np.isin(act[mine], acts[counts < len(members)])]
        if len(drop):
            x[drop] = False
            changed = True
    for u, w in zip(rules.apart_a.tolist(), rules.apart_b.tolist(), strict=True):
        eu, ew = edges_of(vol, np.array([u])), edges_of(vol, np.array([w]))
        eu, ew = eu[x[eu]], ew[x[ew]]
        for a in np.intersect1d(act[eu], act[ew]).tolist():
            i, j = int(eu[act[eu] == a][0]), int(ew[act[ew] == a][0])
            x[j if (weight[i], -i) >= (weight[j], -j) else i] = False
            changed = True
    return changed


def _assign_roles(
    rules: MenuRules, here: list[int], options_of: dict[int, list[int]], z_role: I64, weight: I64, z: Mask
) -> tuple[dict[int, int], list[int]]:
    """Roles for the volunteers ``here``: the fewest-options first, each where needed most.

    Returns the count per role and the edges that found no open role.
    """
    filled: dict[int, int] = {}
    unplaced: list[int] = []
    if not here or not options_of.get(here[0]):
        return filled, unplaced  # an activity without roles
    for e in sorted(here, key=lambda e: (len(options_of.get(e, [])), -int(weight[e]), e)):
        open_options = [k for k in options_of.get(e, []) if filled.get(int(z_role[k]), 0) < rules.role_count[z_role[k]]]
        if not open_options:
            unplaced.append(e)
            continue
        k = max(open_options, key=lambda k: (rules.role_min[z_role[k]] - filled.get(int(z_role[k]), 0), -k))
        z[k] = True
        filled[int(z_role[k])] = filled.get(int(z_role[k]), 0) + 1
    return filled, unplaced


def _needs(rules: MenuRules, a: int, count: int, filled: dict[int, int]) -> list[int | None]:
    """What activity ``a`` still lacks to run; empty when it may run as it is.

    One role index per missing lead or role minimum, one None per missing volunteer of any role.
    """
    if count == 0:
        return []
    lacking: list[int | None] = []
    for r in rules.role_of(a):
        lacking += [r] * max(int(rules.role_min[r]) - filled.get(r, 0), 0)
    for q in np.flatnonzero(rules.ratio_act == a).tolist():
        lead, of, per = int(rules.ratio_lead[q]), int(rules.ratio_of[q]), int(rules.ratio_per[q])
        lacking += [lead] * max(-(-filled.get(of, 0) // per) - filled.get(lead, 0), 0)
    lacking += [None] * max(int(rules.act_min_volunteers[a]) - count - len(lacking), 0)
    return lacking


def _staffing(p: Problem, model: RulesModel, vol: I64, act: I64, x: Mask, weight: I64, z: Mask) -> bool:
    """Staff the activities with minima or roles, or empty them.

    Each volunteer at a team activity gets a role; free volunteers are recruited for what an
    activity lacks; who fits no open role is dropped, and so is every activity that still cannot
    meet its minima or ratios. Recruits are volunteers with nothing assigned and no rules of their own, so adding them
    breaks no other rule.
    """
    rules = p.rules
    changed = False
    z[:] = False
    options_of: dict[int, list[int]] = {}
    for k, e in enumerate(model.z_edge.tolist()):
        options_of.setdefault(e, []).append(k)
    by_act = np.argsort(act, kind="stable")
    ptr = np.searchsorted(act[by_act], np.arange(p.n_activities + 1))
    load = np.bincount(vol[x], minlength=p.n_volunteers)
    for a in model.acts[rules.act_needs_program[model.acts]].tolist():
        at = by_act[ptr[a] : ptr[a + 1]]
        here = at[x[at]].tolist()
        if not here:
            continue
        trial = z.copy()
        filled, unplaced = _assign_roles(rules, here, options_of, model.z_role, weight, trial)
        lacking = _needs(rules, a, len(here) - len(unplaced), filled)
        recruits: list[int] = []
        if lacking and len(here) - len(unplaced) + len(lacking) <= p.act_capacity[a]:
            pool = at[~x[at] & (load[vol[at]] == 0) & ~rules.vol_needs_program[vol[at]] & (weight[at] > 0)]
            pool = pool[np.lexsort((pool, -weight[pool]))].tolist()
            for need in lacking:
                pick = next(
                    (e for e in pool if need is None or any(model.z_role[k] == need for k in options_of.get(e, []))),
                    None,
                )
                if pick is None:
                    break
                pool.remove(pick)
                recruits.append(pick)
            trial = z.copy()
            filled, unplaced = _assign_roles(rules, here + recruits, options_of, model.z_role, weight, trial)
            lacking = _needs(rules, a, len(here) + len(recruits) - len(unplaced), filled)
        if lacking:
            x[at] = False
            load[vol[here]] -= 1
            changed = True
            continue
        z[:] = trial
        x[recruits] = True
        load[vol[recruits]] += 1
        if unplaced:
            x[unplaced] = False
            load[vol[unplaced]] -= 1
        changed |= bool(recruits or unplaced)
    return changed


def _refill(p: Problem, fi: FlowInput, vol: I64, act: I64, ends: I64, x: Mask, weight: I64) -> None:
    """Fill places the repair freed with volunteers it freed, where no rule can be broken.

    Volunteers without rules of their own, with room left, on activities without program rules
    that do not clash with what they hold, one more place each: such additions keep every rule.
    One exact flow solve.
    """
    from matcher.solvers import get_backend

    rules = p.rules
    load = np.bincount(vol[x], minlength=p.n_volunteers)
    filled = np.bincount(act[x], minlength=p.n_activities)
    free = (~x) & (load[vol] < fi.left_cap[vol]) & ~rules.vol_needs_program[vol] & ~rules.act_needs_program[act]
    free &= (filled[act] < fi.right_cap[act]) & ~clashes_with_chosen(vol, p.act_start[act], ends, x)
    idx = np.flatnonzero(free & (weight > 0))
    if len(idx) == 0:
        return
    sub = FlowInput(
        left_cap=np.minimum(fi.left_cap - load, 1),
        right_cap=np.maximum(fi.right_cap - filled, 0),
        tail=vol[idx],
        head=act[idx],
        weight=weight[idx],
    )
    _, backend = get_backend(None)
    x[idx[backend(sub)]] = True


def repair(p: Problem, fi: FlowInput, model: RulesModel, busy_end: I64, current: Mask) -> F64:
    """A full starting column vector for ``model`` (0/1 values) that keeps every rule."""
    n_x = len(model.edges)
    vol, act = fi.tail[model.edges].astype(np.int64), fi.head[model.edges].astype(np.int64)
    weight = model.weight[:n_x]
    ends = busy_end[model.edges]
    x = current.copy() & (model.col_upper[:n_x] > 0.5)
    z = np.zeros(len(model.z_edge), dtype=bool)
    while True:
        changed = _groups(p, vol, act, x, weight)
        changed |= _volunteer_limits(p, vol, act, ends, x, weight)
        changed |= _staffing(p, model, vol, act, x, weight, z)
        if not changed:
            break
    _refill(p, fi, vol, act, ends, x, weight)
    columns = np.zeros(model.matrix.shape[1])
    columns[:n_x] = x
    if model.n_steps:
        # The cheapest steps carry each volunteer's load: steps are listed per volunteer, cheapest first.
        load = np.bincount(np.searchsorted(model.vols, vol[x]), minlength=len(model.vols))
        steps = fi.left_steps[model.vols]
        first = np.cumsum(steps) - steps
        k = np.arange(model.n_steps) - np.repeat(first, steps)
        columns[n_x : n_x + model.n_steps] = k < np.repeat(load, steps)
    columns[model.z_cols] = z
    runs = np.zeros(p.n_activities, dtype=bool)
    runs[act[x]] = True
    columns[model.y_cols] = runs[model.y_act]
    return columns
