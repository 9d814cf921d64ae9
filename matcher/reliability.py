"""Reliability from history (评单): show-up probability, rating, recent load, fill probability.

The scores are time-decayed; the fill probability (at least ``k`` of the assigned volunteers
show up) is computed exactly.

Each past service counts with weight ``0.5 ** (age_days / policy.half_life_days)``, its age
measured from ``policy.as_of`` (default: the UTC date of the earliest activity start; services
dated later count as age 0). With ``A`` the weighted attendances, ``N`` the weighted no-shows,
``R`` the weighted sum of ratings and ``M`` the weight of the rated services:

* show-up probability ``p = (4 + A) / (5 + A + N)`` — a prior of four attendances in five, so a
  newcomer starts at 0.8 and one old no-show barely moves a long good record;
* rating ``q = (2 * 4 + R) / (2 + M)`` — a prior of two ratings of 4 (scale 1..5);
* recent services: the number dated within ``policy.recent_days`` days up to ``as_of``.

Both scores are rounded to millionths before they become integer cost points, so results do not
depend on the last bit of a floating-point power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from matcher.problem import Problem

__all__ = ["PRIOR_ATTENDED", "PRIOR_SERVICES", "Scores", "at_least_probability", "volunteer_scores"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

PRIOR_ATTENDED, PRIOR_SERVICES = 4.0, 5.0
PRIOR_RATING, PRIOR_RATINGS = 4.0, 2.0
_MICRO_DAY = 86_400 * 1_000_000


@dataclass(frozen=True, eq=False)
class Scores:
    """Per volunteer: show-up probability and rating (both in millionths), recent services."""

    show_micro: I64
    rating_micro: I64
    recent: I64
    as_of_day: int

    @property
    def show_probability(self) -> F64:
        """Show-up probability per volunteer, as a float in (0, 1]."""
        return self.show_micro / 1e6


def as_of_day(p: Problem) -> int:
    """The day (since the epoch) history is judged from."""
    if p.policy.as_of is not None:
        return p.policy.as_of.toordinal() - 719_163  # date(1970, 1, 1).toordinal()
    return int(p.act_start.min()) // _MICRO_DAY if p.n_activities else 0


def volunteer_scores(p: Problem) -> Scores:
    """Show-up probability, rating and recent services of every volunteer (see the module docs)."""
    today = as_of_day(p)
    owner = np.repeat(np.arange(p.n_volunteers, dtype=np.int64), np.diff(p.hist_ptr))
    age = np.maximum(today - p.hist_day, 0).astype(np.float64)
    weight = np.power(0.5, age / p.policy.half_life_days)
    attended = np.bincount(owner, weights=weight * p.hist_attended, minlength=p.n_volunteers)
    total = np.bincount(owner, weights=weight, minlength=p.n_volunteers)
    rated = p.hist_rating > 0
    rating_sum = np.bincount(owner, weights=weight * p.hist_rating * rated, minlength=p.n_volunteers)
    rating_weight = np.bincount(owner, weights=weight * rated, minlength=p.n_volunteers)
    show = (PRIOR_ATTENDED + attended) / (PRIOR_SERVICES + total)
    rating = (PRIOR_RATINGS * PRIOR_RATING + rating_sum) / (PRIOR_RATINGS + rating_weight)
    recent_mask = (p.hist_day <= today) & (p.hist_day > today - p.policy.recent_days)
    return Scores(
        show_micro=np.rint(show * 1e6).astype(np.int64),
        rating_micro=np.rint(rating * 1e6).astype(np.int64),
        recent=np.bincount(owner[recent_mask], minlength=p.n_volunteers).astype(np.int64),
        as_of_day=today,
    )


def at_least_probability(show: F64, k: int) -> float:
    """Probability that at least ``k`` of independent volunteers show up (``show[i]`` each).

    Exact dynamic programme over the count of shows (the Poisson-binomial distribution).

    >>> at_least_probability(np.array([0.5, 0.5]), 1)
    0.75
    """
    if k <= 0:
        return 1.0
    dist = np.zeros(len(show) + 1)
    dist[0] = 1.0
    for i, q in enumerate(np.asarray(show, dtype=np.float64).tolist()):
        dist[1 : i + 2] = dist[1 : i + 2] * (1.0 - q) + dist[: i + 1] * q
        dist[0] *= 1.0 - q
    return float(dist[k:].sum())
