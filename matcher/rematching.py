"""Re-match after declines, cancellations and other changes, disturbing as few assignments as possible.

The new result is exactly lexicographically optimal for, in this order:

1. every ``accepted`` assignment kept (pins are hard: infeasible pins are an input error);
2. the priority filled (as in :func:`matcher.match`);
3. the fewest changed assignments: ``|previous Δ new|``, counting previous assignments that are
   no longer possible (declined, cancelled, removed, no longer eligible) as changes that no
   choice can avoid;
4. the total cost.

With ``disruption_weight=w`` the third level is folded into the fourth instead: each change
costs ``w`` cost points. Per edge, a change is ``+1`` for a pair that was not assigned before and
``-1`` for one that was (``|P Δ N| = |P| + Σ_{e∈N} (±1)``), so the objective stays linear and the
same certified flow engine solves it. The result document carries a ``rematch`` section (the
previous pairs, pins, declines and the weight) from which :func:`matcher.verify` rebuilds the
exact objective.

The levels are folded into one integer weight per edge where exact int64 allows (one solve).
At 10^5 volunteers and more their ranges multiply beyond it; the levels are then solved in
stages, each on the optimal face of the one before (:mod:`matcher.lexicographic`), and the
certificate carries every stage's prices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ValidationError

from matcher.candidates import Edges, candidate_edges, locate_pairs, pair_keys
from matcher.costs import CostTerms, Objective, pair_costs
from matcher.diagnose import RULES, diagnose
from matcher.errors import InputError, InputIssue
from matcher.fastpath import compile_records
from matcher.lexicographic import Lexicographic
from matcher.models import Activity, Changes, Policy, Volunteer
from matcher.problem import Problem
from matcher.progress import StageTimer
from matcher.records import _issues_from, coerce_policy
from matcher.rematch_objective import rematch_objective
from matcher.result import MatchResult
from matcher.rules_check import overlapping

__all__ = ["RematchSummary", "apply_changes", "coerce_changes", "rematch", "rematch_objective", "solve_rematch"]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
Pair = tuple[str, str]


@dataclass(frozen=True)
class RematchSummary:
    """What a re-match changed, and the inputs :func:`matcher.verify` needs to rebuild its objective.

    ``kept``: previous assignments still held; ``dropped``: previous assignments that could have
    stayed but were given up (for priority, or for another change); ``forced_out``: previous
    assignments that could not stay; ``added``: new assignments. ``changes`` is the sum of the last
    three.
    """

    previous: tuple[Pair, ...]
    accepted: tuple[Pair, ...]
    declined: tuple[Pair, ...]
    disruption_weight: int | None
    kept: int
    dropped: int
    forced_out: int
    added: int

    @property
    def changes(self) -> int:
        """Assignments changed: ``|previous Δ new|``."""
        return self.dropped + self.forced_out + self.added

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        return {
            "previous": [list(x) for x in self.previous],
            "accepted": [list(x) for x in self.accepted],
            "declined": [list(x) for x in self.declined],
            "disruption_weight": self.disruption_weight,
            "changes": {
                "kept": self.kept,
                "dropped": self.dropped,
                "forced_out": self.forced_out,
                "added": self.added,
                "total": self.changes,
            },
        }


def coerce_changes(changes: Changes | Mapping[str, Any] | None) -> Changes:
    """Validate changes given as a model, a mapping or None (no changes)."""
    if changes is None:
        return Changes()
    if isinstance(changes, Changes):
        return changes
    try:
        return Changes.model_validate(changes)
    except ValidationError as exc:
        issues = _issues_from(exc, changes, None)
        raise InputError([replace(i, record="changes") if i.record == "document" else i for i in issues]) from None


def _changes_issue(record_id: str, field: str, message: str) -> InputIssue:
    return InputIssue("changes", record_id, field, message, "invalid_change")


def _record_id(record: Any) -> Any:
    if isinstance(record, Volunteer | Activity):
        return record.id
    return record.get("id") if isinstance(record, Mapping) else None


def _with_capacity(record: Any, capacity: int) -> Any:
    if isinstance(record, BaseModel):
        return record.model_copy(update={"capacity": capacity})
    return {**record, "capacity": capacity}


def _without_preferences(record: Any, gone: set[str]) -> Any:
    """The record with cancelled activities struck from its preferences (later picks move up)."""
    prefs = record.preferences if isinstance(record, Volunteer) else record.get("preferences")
    if not isinstance(prefs, list) or not any(
        (g in gone) if isinstance(g, str) else isinstance(g, list) and bool(gone.intersection(g)) for g in prefs
    ):
        return record
    kept: list[Any] = []
    for group in prefs:
        if isinstance(group, list):
            rest = [x for x in group if x not in gone]
            if rest:
                kept.append(rest)
        elif group not in gone:
            kept.append(group)
    if isinstance(record, Volunteer):
        return record.model_copy(update={"preferences": kept or None})
    return {**record, "preferences": kept or None}


def apply_changes(
    volunteers: Iterable[Any], activities: Iterable[Any], changes: Changes
) -> tuple[list[Any], list[Any]]:
    """The pool after ``changes``: removals, additions/replacements by id, capacity edits.

    Records may be models or plain mappings and are not validated here (the compile step does
    that, naming the record). Cancelled activities are struck from volunteers' preferences.
    Unknown ids in removals and capacity edits are input errors.
    """
    vols, acts = list(volunteers), list(activities)
    vol_ids = {_record_id(v) for v in vols} | {v.id for v in changes.volunteers}
    act_ids = {_record_id(a) for a in acts} | {a.id for a in changes.activities}
    issues = [
        _changes_issue(vid, "removed_volunteers", "no volunteer with this id")
        for vid in changes.removed_volunteers
        if vid not in vol_ids
    ]
    issues += [
        _changes_issue(aid, "cancelled_activities", "no activity with this id")
        for aid in changes.cancelled_activities
        if aid not in act_ids
    ]
    issues += [
        _changes_issue(aid, "capacities", "no activity with this id")
        for aid in changes.capacities
        if aid not in act_ids
    ]
    if issues:
        raise InputError(issues)
    replaced_v = {v.id for v in changes.volunteers} | set(changes.removed_volunteers)
    replaced_a = {a.id for a in changes.activities} | set(changes.cancelled_activities)
    new_vols = [v for v in vols if _record_id(v) not in replaced_v] + [
        v for v in changes.volunteers if v.id not in changes.removed_volunteers
    ]
    new_acts = [a for a in acts if _record_id(a) not in replaced_a] + [
        a for a in changes.activities if a.id not in changes.cancelled_activities
    ]
    new_acts = [
        _with_capacity(a, changes.capacities[_record_id(a)]) if _record_id(a) in changes.capacities else a
        for a in new_acts
    ]
    gone = set(changes.cancelled_activities)
    if gone:
        new_vols = [_without_preferences(v, gone) for v in new_vols]
    return new_vols, new_acts


def _edge_mask(p: Problem, keys: I64, pairs: Iterable[Pair]) -> tuple[Mask, list[Pair]]:
    """Edges (by their :func:`~matcher.candidates.pair_keys`) named by ``pairs``, and the pairs that are not edges."""
    pairs = list(pairs)
    pos, found, _ = locate_pairs(p, keys, [v for v, _ in pairs], [a for _, a in pairs])
    mask = np.zeros(len(keys), dtype=bool)
    mask[pos[found]] = True
    return mask, [pairs[k] for k in np.flatnonzero(~found).tolist()]


def _pin_issues(p: Problem, edges: Edges, pinned: Mask, missing: list[Pair]) -> list[InputIssue]:
    issues = []
    for vid, aid in missing:
        i, j = p.volunteer_index.get(vid), p.activity_index.get(aid)
        if i is None or j is None:
            why = "the volunteer or the activity is no longer in the pool"
        else:
            d = diagnose(p, np.array([i]), np.array([j]))
            failed = [rule for rule in RULES if not d.passes(rule)[0]]
            why = "no longer eligible (" + ", ".join(failed) + ")" if failed else "it was also declined"
        issues.append(_changes_issue(vid, "accepted", f"accepted assignment to {aid!r} cannot be kept: {why}"))
    load = np.bincount(edges.vol[pinned], minlength=p.n_volunteers)
    filled = np.bincount(edges.act[pinned], minlength=p.n_activities)
    issues += [
        _changes_issue(p.volunteer_ids[i], "accepted", "more accepted assignments than max_activities")
        for i in np.flatnonzero(load > p.vol_max_activities)
    ]
    issues += [
        _changes_issue(p.activity_ids[j], "accepted", "more accepted assignments than the activity's capacity")
        for j in np.flatnonzero(filled > p.act_capacity)
    ]
    clash = overlapping(p, edges, pinned)
    issues += [_changes_issue(p.volunteer_ids[i], "accepted", "accepted assignments overlap in time") for i in clash]
    return issues


def rematch_inputs(
    p: Problem,
    previous: Iterable[Pair],
    accepted: Iterable[Pair],
    declined: Iterable[Pair],
    disruption_weight: int | None,
    *,
    lexicographic: bool | None = None,
    sizes: tuple[int, ...] | None = None,
) -> tuple[Edges, CostTerms, Objective | Lexicographic, Mask, Mask]:
    """Everything the re-match solve needs, built the way :func:`matcher.verify` rebuilds it.

    Returns the edges without the declined pairs, their costs, the re-match objective, and the
    previous and pinned masks; raises :class:`~matcher.errors.InputError` for pins that cannot
    be kept. The objective is one combined weight when it fits exact int64, else levels solved
    in stages; ``lexicographic`` forces stages (True: one per level) or the combined weight
    (False), and ``sizes`` gives the stages a certificate recorded.
    """
    all_edges = candidate_edges(p)
    keys = pair_keys(p, all_edges)
    declined_mask, _ = _edge_mask(p, keys, declined)
    edges = all_edges.select(~declined_mask)
    keys = keys[~declined_mask]
    costs = pair_costs(p, edges)
    previous_mask, _ = _edge_mask(p, keys, previous)
    pinned, missing = _edge_mask(p, keys, accepted)
    del keys
    issues = _pin_issues(p, edges, pinned, missing)
    if issues:
        raise InputError(issues)
    objective = rematch_objective(
        p, edges, costs, previous_mask, pinned, disruption_weight, lexicographic=lexicographic, sizes=sizes
    )
    return edges, costs, objective, previous_mask, pinned


def solve_rematch(
    p: Problem,
    previous: Iterable[Pair],
    accepted: Iterable[Pair] = (),
    declined: Iterable[Pair] = (),
    *,
    disruption_weight: int | None = None,
    backend: str | None = None,
    sparsify: bool | None = None,
    lexicographic: bool | None = None,
    timer: StageTimer | None = None,
) -> MatchResult:
    """Re-match a compiled problem (already holding the changed pool) against previous pairs.

    ``lexicographic``: None (default) folds the levels into one weight when exact int64 allows
    and solves them in stages otherwise; True solves one stage per level, False refuses with
    :class:`~matcher.errors.CostRangeError` where one weight does not fit.
    """
    from matcher.pipeline import solve_edges

    if disruption_weight is not None and (isinstance(disruption_weight, bool) or disruption_weight < 0):
        raise InputError.single("policy", "", "disruption_weight", "must be a non-negative integer or None", "invalid")
    previous_t = tuple(sorted(set(previous)))
    accepted_t = tuple(sorted(set(accepted)))
    declined_t = tuple(sorted(set(declined)))
    timer = timer if timer is not None else StageTimer()
    with timer("candidates"):
        edges, costs, objective, previous_mask, _ = rematch_inputs(
            p, previous_t, accepted_t, declined_t, disruption_weight, lexicographic=lexicographic
        )
    result = solve_edges(p, edges, costs, objective, backend=backend, sparsify=sparsify, timer=timer)
    kept = int((result.chosen & previous_mask).sum())
    summary = RematchSummary(
        previous=previous_t,
        accepted=accepted_t,
        declined=declined_t,
        disruption_weight=disruption_weight,
        kept=kept,
        dropped=int(previous_mask.sum()) - kept,
        forced_out=len(previous_t) - int(previous_mask.sum()),
        added=int(result.chosen.sum()) - kept,
    )
    return replace(result, rematch=summary)


def previous_pairs(previous: MatchResult | Mapping[str, Any]) -> list[Pair]:
    """The (volunteer id, activity id) assignments of a result object or result document."""
    if isinstance(previous, MatchResult):
        return [(a.volunteer_id, a.activity_id) for a in previous.assignments]
    items = previous.get("assignments")
    if not isinstance(items, list) or not all(
        isinstance(x, Mapping) and isinstance(x.get("volunteer_id"), str) and isinstance(x.get("activity_id"), str)
        for x in items
    ):
        raise InputError.single(
            "previous", "", "assignments", "expected a list of volunteer_id/activity_id objects", "invalid"
        )
    return [(x["volunteer_id"], x["activity_id"]) for x in items]


def rematch(
    volunteers: Iterable[Volunteer | Mapping[str, Any]],
    activities: Iterable[Activity | Mapping[str, Any]],
    policy: Policy | Mapping[str, Any] | None,
    previous: MatchResult | Mapping[str, Any],
    changes: Changes | Mapping[str, Any] | None = None,
    *,
    disruption_weight: int | None = None,
    backend: str | None = None,
    lexicographic: bool | None = None,
) -> MatchResult:
    """Re-match after ``changes``, keeping accepted assignments and changing as few others as possible.

    Parameters
    ----------
    volunteers, activities, policy:
        The pool the ``previous`` result was computed on (records or models).
    previous:
        The previous result (object or JSON document); only its assignments are read.
    changes:
        Declines, pins, cancellations, removals, additions and capacity edits (:class:`~matcher.models.Changes`).
    disruption_weight:
        None (default): fewest changes is its own level, above cost. An integer: each change
        costs that many cost points instead.
    backend:
        As for :func:`matcher.match`.
    lexicographic:
        None (default): the levels are folded into one integer weight where exact int64 allows,
        else solved in stages, each on the optimal face of the one before
        (:mod:`matcher.lexicographic`); True: one stage per level; False: refuse
        (:class:`~matcher.errors.CostRangeError`) where one weight does not fit.

    >>> import matcher
    >>> acts = [{"id": "a", "start": "2026-12-01T09:00Z", "end": "2026-12-01T10:00Z", "capacity": 1}]
    >>> vols = [{"id": "v1", "preferences": ["a"]}, {"id": "v2"}]
    >>> first = matcher.match(vols, acts)
    >>> again = matcher.rematch(vols, acts, None, first, {"declined": [{"volunteer_id": "v1", "activity_id": "a"}]})
    >>> [(x.volunteer_id, x.activity_id) for x in again.assignments], again.rematch.changes
    ([('v2', 'a')], 2)

    """
    vols, acts = apply_changes(volunteers, activities, changes := coerce_changes(changes))
    p = compile_records(vols, acts, coerce_policy(policy))
    return solve_rematch(
        p,
        previous_pairs(previous),
        [(x.volunteer_id, x.activity_id) for x in changes.accepted],
        [(x.volunteer_id, x.activity_id) for x in changes.declined],
        disruption_weight=disruption_weight,
        backend=backend,
        lexicographic=lexicographic,
    )
