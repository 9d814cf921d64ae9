"""Reports on a result: service hours per volunteer, and how fairly work and places were shared.

Service hours feed hour ledgers (such as the national volunteer service system): each assigned
activity counts its scheduled length. The fairness report is descriptive; the knobs that change
the outcome are cost terms (see the README's "Fairness" section).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from matcher.arrays import counts
from matcher.columns import MICROS_PER_HOUR

if TYPE_CHECKING:
    from matcher.result import MatchResult

__all__ = ["FairnessReport", "ServiceHours", "fairness_report", "gini", "service_hours"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ServiceHours:
    """Hours one volunteer is assigned in a result (scheduled length of each activity)."""

    volunteer_id: str
    activities: int
    hours: float


def service_hours(result: MatchResult) -> tuple[ServiceHours, ...]:
    """Per assigned volunteer, by id: the number of activities and their total hours (2 decimals).

    >>> import matcher
    >>> r = matcher.match([{"id": "v1"}], [{"id": "a1", "start": "2026-12-01T09:00+08:00",
    ...     "end": "2026-12-01T11:30+08:00", "capacity": 1}])
    >>> service_hours(r)
    (ServiceHours(volunteer_id='v1', activities=1, hours=2.5),)
    """
    p, edges = result.problem, result.edges
    vol = edges.vol[result.chosen]
    act = edges.act[result.chosen]
    micros = np.bincount(vol, weights=(p.act_end - p.act_start)[act], minlength=p.n_volunteers)
    count = np.bincount(vol, minlength=p.n_volunteers)
    return tuple(
        ServiceHours(p.volunteer_ids[i], int(count[i]), round(float(micros[i]) / MICROS_PER_HOUR, 2))
        for i in np.flatnonzero(count).tolist()
    )


def gini(values: F64) -> float:
    """Gini coefficient of non-negative values: 0 = all equal, near 1 = one holds everything.

    >>> gini(np.array([1.0, 1.0, 1.0])), gini(np.array([0.0, 0.0, 3.0]))
    (0.0, 0.666667)
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n, total = len(x), float(x.sum())
    if n == 0 or total == 0.0:
        return 0.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return round(float((2.0 * (ranks * x).sum()) / (n * total) - (n + 1) / n), 6)


@dataclass(frozen=True)
class FairnessReport:
    """How evenly a result shares assignments among the volunteers who could have served.

    ``willing_volunteers`` are those eligible for at least one activity; the Gini coefficients
    run over them (assignments, and assigned hours). ``fill_by_organization`` maps each
    organisation named on the menu (``""`` for activities naming none) to its places offered,
    places filled and fill rate.
    """

    willing_volunteers: int
    willing_never_assigned: int
    willing_never_assigned_share: float | None
    gini_assignments: float
    gini_hours: float
    fill_by_organization: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping with a fixed key order."""
        return asdict(self)


def fairness_report(result: MatchResult) -> FairnessReport:
    """Gini of assignments and hours, share of willing volunteers never assigned, fill by organisation."""
    p, edges = result.problem, result.edges
    vol, act = edges.vol[result.chosen], edges.act[result.chosen]
    willing = counts(edges.vol, p.n_volunteers) > 0
    count = np.bincount(vol, minlength=p.n_volunteers).astype(np.float64)
    hours = np.bincount(vol, weights=(p.act_end - p.act_start)[act], minlength=p.n_volunteers) / MICROS_PER_HOUR
    n_willing = int(willing.sum())
    never = int((willing & (count == 0)).sum())
    filled = np.bincount(act, minlength=p.n_activities)
    by_org: dict[str, dict[str, Any]] = {}
    codes = p.act_organization if len(p.act_organization) == p.n_activities else np.full(p.n_activities, -1)
    for code in np.unique(codes).tolist():
        mine = codes == code
        offered, got = int(p.act_capacity[mine].sum()), int(filled[mine].sum())
        name = p.organization_names[code] if code >= 0 else ""
        by_org[name] = {"places": offered, "filled": got, "fill_rate": round(got / offered, 6)}
    return FairnessReport(
        willing_volunteers=n_willing,
        willing_never_assigned=never,
        willing_never_assigned_share=round(never / n_willing, 6) if n_willing else None,
        gini_assignments=gini(count[willing]),
        gini_hours=gini(hours[willing]),
        fill_by_organization=dict(sorted(by_org.items())),
    )
