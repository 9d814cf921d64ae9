"""Each eligibility rule judged on its own, on any pairs: the facts behind "why not?".

:func:`~matcher.candidates.candidate_edges` only needs to know which pairs pass every rule, so
it filters and forgets. Explanations and the activity funnel need each rule's verdict on pairs
that were never candidates. :func:`diagnose` evaluates the same rule functions
(:func:`~matcher.candidates.skill_check`, :func:`~matcher.candidates.time_check`,
:func:`~matcher.candidates.travel_check`, :func:`~matcher.candidates.membership_check`) on
arbitrary pairs, vectorised, so the verdicts agree with the candidate edges by construction (one
definition per rule; a test checks the agreement).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.candidates import membership_check, preference_ranks, skill_check, time_check, travel_check
from matcher.problem import Problem

__all__ = ["RULES", "Diagnosis", "diagnose"]

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

#: The eligibility rules by name, in the order the activity funnel applies them.
RULES = ("travel", "skills", "time", "selection", "membership")


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Per pair, whether each named rule passes, plus the facts the messages quote."""

    vol: I64
    act: I64
    travel: B
    skills: B
    time: B
    selection: B
    membership: B
    distance_km: F64
    limit_km: F64
    rank: I32

    @property
    def eligible(self) -> B:
        """Pairs that pass every rule (exactly the candidate edges among them)."""
        return self.travel & self.skills & self.time & self.selection & self.membership

    def passes(self, rule: str) -> B:
        """The verdicts of one rule by name (see :data:`RULES`)."""
        if rule not in RULES:
            raise KeyError(rule)
        verdict: B = getattr(self, rule)
        return verdict


def diagnose(p: Problem, vol: I64, act: I64) -> Diagnosis:
    """Judge every rule separately on the pairs ``(vol[k], act[k])``.

    >>> import matcher
    >>> from matcher.diagnose import diagnose
    >>> import numpy as np
    >>> p = matcher.compile_problem(
    ...     [matcher.Volunteer(id="v1")],
    ...     [matcher.Activity(id="a1", start="2026-12-01T09:00Z", end="2026-12-01T10:00Z", capacity=1)],
    ...     matcher.Policy(),
    ... )
    >>> bool(diagnose(p, np.array([0]), np.array([0])).eligible[0])
    True
    """
    vol = np.asarray(vol, dtype=np.int64)
    act = np.asarray(act, dtype=np.int64)
    travel_ok, dist_km = travel_check(p, vol, act)
    skills_ok, _ = skill_check(p, vol, act)
    rank = preference_ranks(p, vol, act)
    selection_ok = rank >= 0 if p.policy.selection == "strict" else np.ones(len(vol), dtype=bool)
    return Diagnosis(
        vol=vol,
        act=act,
        travel=travel_ok,
        skills=skills_ok,
        time=time_check(p, vol, act),
        selection=selection_ok,
        membership=membership_check(p, vol, act),
        distance_km=dist_km,
        limit_km=np.minimum(p.vol_max_travel_km[vol], p.policy.max_travel_km),
        rank=rank,
    )
