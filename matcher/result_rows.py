"""The result's long lists, from the arrays: assignments, activities left open, volunteers left out.

A result of 10^5 assignments is mostly these three lists. They are built on demand from the
selection and the candidate edges, either as record objects (:class:`Assignment`, ...) for
callers that walk them, or straight as JSON text for the document the CLI writes. The text is
byte-for-byte what encoding each record's ``to_dict()`` gives (the tests hold the two together);
it skips a dict per record and the encoder's walk over it, which at L (115k assignments, 185k
idle volunteers) cost 3.9 s and a peak of objects nothing else needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from matcher.arrays import counts
from matcher.candidates import Edges
from matcher.costs import COST_TERMS, CostTerms
from matcher.gcpause import gc_paused
from matcher.problem import Problem

__all__ = [
    "Assignment",
    "AssignmentRows",
    "Unassigned",
    "Unfilled",
    "assignment_rows",
    "assignment_text",
    "assignments",
    "unassigned",
    "unassigned_text",
    "unfilled",
    "unfilled_text",
]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Assignment:
    """One volunteer placed on one activity, with the pair's integer cost and its named terms."""

    volunteer_id: str
    activity_id: str
    cost: int
    cost_terms: dict[str, int]
    distance_km: float | None
    preference_rank: int | None
    role: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order (``role`` only at activities with roles)."""
        out = {
            "volunteer_id": self.volunteer_id,
            "activity_id": self.activity_id,
            "cost": self.cost,
            "cost_terms": dict(self.cost_terms),
            "distance_km": self.distance_km,
            "preference_rank": self.preference_rank,
        }
        if self.role is not None:
            out["role"] = self.role
        return out


@dataclass(frozen=True)
class Unfilled:
    """An activity with places left open, and how many volunteers were eligible at all."""

    activity_id: str
    capacity: int
    filled: int
    eligible_volunteers: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        return {
            "activity_id": self.activity_id,
            "capacity": self.capacity,
            "filled": self.filled,
            "unfilled": self.capacity - self.filled,
            "eligible_volunteers": self.eligible_volunteers,
        }


@dataclass(frozen=True)
class Unassigned:
    """A volunteer with no assignment, and why: ``no_eligible_activity`` or ``places_taken``."""

    volunteer_id: str
    reason: Literal["no_eligible_activity", "places_taken"]
    eligible_activities: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        return {
            "volunteer_id": self.volunteer_id,
            "reason": self.reason,
            "eligible_activities": self.eligible_activities,
        }


@dataclass(frozen=True)
class AssignmentRows:
    """The assignments' fields as parallel Python lists (gathered once: numpy costs ~100 ns a field)."""

    volunteer_id: list[str]
    activity_id: list[str]
    cost: list[int]
    terms: list[list[int]]
    distance_km: list[float | None]
    preference_rank: list[int | None]
    role: list[str | None]


def assignment_rows(p: Problem, edges: Edges, costs: CostTerms, chosen: Mask, roles: I64 | None) -> AssignmentRows:
    """Gather the chosen edges' fields; ``roles`` per edge is the role index filled (-1: none)."""
    idx = np.flatnonzero(chosen)
    in_person = edges.in_person[idx]
    km = np.round(edges.distance_m[idx] / 1000.0, 3).tolist()
    rank = edges.rank[idx]
    role_name = p.rules.role_name
    role_of = roles[idx].tolist() if roles is not None else [-1] * len(idx)
    return AssignmentRows(
        volunteer_id=list(map(p.volunteer_ids.__getitem__, edges.vol[idx].tolist())),
        activity_id=list(map(p.activity_ids.__getitem__, edges.act[idx].tolist())),
        cost=costs.total[idx].tolist(),
        terms=[values.tolist() for values in costs.terms_at(idx).values()],
        distance_km=[d if near else None for d, near in zip(km, in_person.tolist(), strict=True)],
        preference_rank=[r + 1 if r >= 0 else None for r in rank.tolist()],
        role=[role_name[r] if r >= 0 else None for r in role_of],
    )


@gc_paused()
def assignments(rows: AssignmentRows) -> tuple[Assignment, ...]:
    """The assignments as records."""
    return tuple(
        Assignment(vid, aid, cost, dict(zip(COST_TERMS, terms, strict=True)), km, rank, role)
        for vid, aid, cost, terms, km, rank, role in zip(
            rows.volunteer_id,
            rows.activity_id,
            rows.cost,
            zip(*rows.terms, strict=True),
            rows.distance_km,
            rows.preference_rank,
            rows.role,
            strict=True,
        )
    )


_TERMS = ", ".join(f'"{name}": %d' for name in COST_TERMS)
_ASSIGNMENT = f'{{"volunteer_id": %s, "activity_id": %s, "cost": %d, "cost_terms": {{{_TERMS}}}, '
_ASSIGNMENT += '"distance_km": %s, "preference_rank": %s%s}'


def _json(value: float | int | None) -> str:
    """A number or null as the JSON encoder writes it (``repr`` for floats and ints)."""
    return "null" if value is None else repr(value)


def assignment_text(rows: AssignmentRows) -> list[str]:
    """Each assignment as the compact JSON of its ``to_dict()`` (``", "`` and ``": "`` separators)."""
    roles = [', "role": ' + encode_basestring(r) if r is not None else "" for r in rows.role]
    return [
        _ASSIGNMENT % (vid, aid, cost, *terms, _json(km), _json(rank), role)
        for vid, aid, cost, terms, km, rank, role in zip(
            map(encode_basestring, rows.volunteer_id),
            map(encode_basestring, rows.activity_id),
            rows.cost,
            zip(*rows.terms, strict=True),
            rows.distance_km,
            rows.preference_rank,
            roles,
            strict=True,
        )
    ]


def _open_activities(p: Problem, edges: Edges, chosen: Mask) -> tuple[list[int], list[int], list[int], list[int]]:
    """(activity, capacity, filled, eligible volunteers) of each activity with places left open."""
    filled = np.bincount(edges.act[chosen], minlength=p.n_activities)
    degree = counts(edges.act, p.n_activities)
    open_acts = np.flatnonzero(filled < p.act_capacity)
    return (
        open_acts.tolist(),
        p.act_capacity[open_acts].tolist(),
        filled[open_acts].tolist(),
        degree[open_acts].tolist(),
    )


def unfilled(p: Problem, edges: Edges, chosen: Mask) -> tuple[Unfilled, ...]:
    """The activities with places left open, as records."""
    open_acts = zip(*_open_activities(p, edges, chosen), strict=True)
    return tuple(Unfilled(p.activity_ids[j], capacity, count, degree) for j, capacity, count, degree in open_acts)


def unfilled_text(p: Problem, edges: Edges, chosen: Mask) -> list[str]:
    """Each open activity as the compact JSON of its ``to_dict()``."""
    template = '{"activity_id": %s, "capacity": %d, "filled": %d, "unfilled": %d, "eligible_volunteers": %d}'
    return [
        template % (encode_basestring(p.activity_ids[j]), capacity, count, capacity - count, degree)
        for j, capacity, count, degree in zip(*_open_activities(p, edges, chosen), strict=True)
    ]


def _idle(p: Problem, edges: Edges, chosen: Mask) -> tuple[list[int], list[int]]:
    """(volunteer, eligible activities) of each volunteer with no assignment."""
    load = np.bincount(edges.vol[chosen], minlength=p.n_volunteers)
    degree = counts(edges.vol, p.n_volunteers)
    idle = np.flatnonzero(load == 0)
    return idle.tolist(), degree[idle].tolist()


def _reason(degree: int) -> Literal["no_eligible_activity", "places_taken"]:
    return "no_eligible_activity" if degree == 0 else "places_taken"


@gc_paused()
def unassigned(p: Problem, edges: Edges, chosen: Mask) -> tuple[Unassigned, ...]:
    """The volunteers with no assignment, as records."""
    return tuple(Unassigned(p.volunteer_ids[i], _reason(d), d) for i, d in zip(*_idle(p, edges, chosen), strict=True))


def unassigned_text(p: Problem, edges: Edges, chosen: Mask) -> list[str]:
    """Each idle volunteer as the compact JSON of its ``to_dict()``."""
    template = '{"volunteer_id": %s, "reason": "%s", "eligible_activities": %d}'
    return [
        template % (encode_basestring(p.volunteer_ids[i]), _reason(d), d)
        for i, d in zip(*_idle(p, edges, chosen), strict=True)
    ]
