"""The result's ``rules`` section: how the menu rules were solved, and which activities do not run.

An activity with a minimum (``min_volunteers`` or a role's ``min``) either runs with its minima
met or gets nobody. When it gets nobody the section says why, from facts that name no other
volunteer: ``too_few_eligible`` (fewer eligible volunteers than the minimum), ``role_short``
(fewer volunteers who fit a role than that role's minimum), or ``volunteers_needed_elsewhere``
(enough could come, but staffing it would cost the plan more than it gains, or break another
rule such as an hour limit or a together group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from matcher.arrays import counts
from matcher.candidates import role_options

if TYPE_CHECKING:
    from matcher.result import MatchResult
    from matcher.solvers.program import RulesOutcome

__all__ = ["NotStaffed", "RulesReport", "rules_report"]


@dataclass(frozen=True)
class NotStaffed:
    """An activity with a minimum that does not run, and why."""

    activity_id: str
    min_volunteers: int
    eligible_volunteers: int
    reason: Literal["too_few_eligible", "role_short", "volunteers_needed_elsewhere"]
    role: str | None = None

    @property
    def message(self) -> str:
        """The reason in words a volunteer can read (no other volunteer named)."""
        if self.reason == "too_few_eligible":
            return (
                f"the activity does not run: it needs at least {self.min_volunteers} volunteers "
                f"and {self.eligible_volunteers} are eligible"
            )
        if self.reason == "role_short":
            return f"the activity does not run: too few eligible volunteers fit its role {self.role}"
        return (
            f"the activity does not run: it needs at least {self.min_volunteers} volunteers, and staffing "
            "it would cost the best plan more than it gains"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        return {
            "activity_id": self.activity_id,
            "min_volunteers": self.min_volunteers,
            "eligible_volunteers": self.eligible_volunteers,
            "reason": self.reason,
            "role": self.role,
        }


@dataclass(frozen=True)
class RulesReport:
    """How the menu rules' integer program ended.

    ``objective`` and ``bound`` are in combined-weight units (``priority * scale - cost``) over
    the components the program covered; ``gap = bound - objective`` is 0 when ``status`` is
    ``optimal`` and the most the plan can fall short by when it is ``feasible``.
    """

    status: Literal["optimal", "feasible"]
    objective: int
    bound: int
    program_edges: int
    program_volunteers: int
    program_activities: int
    rounds: int
    not_staffed: tuple[NotStaffed, ...]

    @property
    def gap(self) -> int:
        """Proven bound minus the plan's value (0 when optimal)."""
        return self.bound - self.objective

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        return {
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "program": {
                "edges": self.program_edges,
                "volunteers": self.program_volunteers,
                "activities": self.program_activities,
                "rounds": self.rounds,
            },
            "not_staffed": [n.to_dict() for n in self.not_staffed],
        }


def _not_staffed(result: MatchResult) -> tuple[NotStaffed, ...]:
    p, edges = result.problem, result.edges
    rules = p.rules
    filled = np.bincount(edges.act[result.chosen], minlength=p.n_activities)
    eligible = counts(edges.act, p.n_activities)
    idle = np.flatnonzero(rules.act_has_minimum & (filled == 0))
    at_idle = np.flatnonzero(np.isin(edges.act, idle))
    _, role = role_options(p, edges.vol[at_idle].astype(np.int64), edges.act[at_idle].astype(np.int64))
    fitting = np.bincount(role, minlength=len(rules.role_name))
    out = []
    for a in idle.tolist():
        need = max(int(rules.act_min_volunteers[a]), int(rules.role_min[rules.role_of(a)].sum()))
        short = [r for r in rules.role_of(a) if fitting[r] < rules.role_min[r]]
        if eligible[a] < need:
            item = NotStaffed(p.activity_ids[a], need, int(eligible[a]), "too_few_eligible")
        elif short:
            item = NotStaffed(p.activity_ids[a], need, int(eligible[a]), "role_short", rules.role_name[short[0]])
        else:
            item = NotStaffed(p.activity_ids[a], need, int(eligible[a]), "volunteers_needed_elsewhere")
        out.append(item)
    return tuple(out)


def rules_report(result: MatchResult, outcome: RulesOutcome) -> RulesReport:
    """The ``rules`` section of a result solved under the menu rules."""
    return RulesReport(
        status="optimal" if outcome.proven else "feasible",
        objective=outcome.objective,
        bound=outcome.bound,
        program_edges=outcome.edges,
        program_volunteers=outcome.volunteers,
        program_activities=outcome.activities,
        rounds=outcome.rounds,
        not_staffed=_not_staffed(result),
    )
