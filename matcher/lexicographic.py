"""Objectives with more levels than one 64-bit weight can hold, solved stage by stage.

A re-match ranks selections by pins kept, then priority filled, then fewest changes, then cost.
Folding all four into one integer weight multiplies their ranges: at 300k volunteers the
weights would need ~4e18 before a backend's ``(nodes + 1)`` factor, far beyond int64. Instead
the levels are grouped into *stages*, each folded as far as exact int64 allows, and solved in
order, each on the optimal face of the stage before.

Optimal dual prices ``(u, y)`` of a stage describe all of its optimal selections at once
(complementary slackness, as in :mod:`matcher.tiebreak`): an edge with reduced cost
``w - u - y > 0`` is in every one, one below zero in none, the rest are free, and a node with a
positive price is full. The next stage puts a ``must`` level above its own: per edge, ``-1`` for
an edge of the second kind (its weight turns negative: never worth choosing), otherwise one for
an edge of the first kind plus one per priced end. A selection reaches the largest ``must`` total exactly when it
keeps every such edge and fills every priced node, i.e. exactly when it is optimal for the stage
before. So the last stage's optimum is lexicographically optimal, and every stage's prices prove
its step: the certificate carries them all and :func:`matcher.verify` rebuilds each stage from
the prices of the one before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from numba import njit

from matcher.arrays import Ids
from matcher.certificate import DualCheck, StagePrices, check_duals, flow_duals
from matcher.costs import INT64_MAX
from matcher.errors import CostRangeError, InputIssue, SolverError
from matcher.solvers.base import Backend, FlowInput
from matcher.sparsify import FlowSolution, solve_flow

__all__ = [
    "Level",
    "Lexicographic",
    "check_stages",
    "face_of",
    "group_levels",
    "level",
    "solve_stages",
    "stages_fit",
]

I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]

#: Name of the level each later stage puts first: the previous stage's optimality, as a count.
MUST = "must"


@dataclass(frozen=True, eq=False)
class Level:
    """One objective level: a value per edge (maximised) with bounds that make folding exact.

    ``sign * value`` is maximised (-1: minimised, without a negated copy of an edge-length
    column); ``peak`` bounds ``|value|``; ``spread`` bounds how far the level's total can differ
    between two feasible selections (for the last level, the convex load cost included).
    """

    name: str
    value: npt.NDArray[np.integer] | None
    peak: int
    spread: int
    sign: int = 1


def level(name: str, value: npt.NDArray[np.integer], flow: int, extra: int = 0, *, sign: int = 1) -> Level:
    """A level maximising ``sign * value`` over selections of at most ``flow`` edges; ``extra`` widens its spread."""
    hi, lo = int(value.max(initial=0)), int(value.min(initial=0))
    return Level(name, value, max(hi, -lo), flow * (max(hi, 0) - min(lo, 0)) + extra, sign)


def _must(flow: int) -> Level:
    # At most one forced edge and two priced ends per chosen edge.
    return Level(MUST, None, 3, 3 * flow)


def _scales(levels: Sequence[Level]) -> list[int]:
    """Multipliers that make the folded weight rank selections exactly lexicographically."""
    out: list[int] = []
    below = 0  # the largest difference the levels below can make, in folded units
    for lvl in reversed(levels):
        scale = below + 1
        out.append(scale)
        below += lvl.spread * scale
    return out[::-1]


def _fits(levels: Sequence[Level], flow: int, node_factor: int) -> bool:
    largest = sum(lvl.peak * s for lvl, s in zip(levels, _scales(levels), strict=True))
    return largest * max(flow, node_factor, 1) <= INT64_MAX


def group_levels(levels: Sequence[Level], flow: int, node_factor: int) -> tuple[int, ...]:
    """How many levels each stage folds: as many as exact int64 allows, in order.

    Raises :class:`~matcher.errors.CostRangeError` when one level (with the ``must`` level above
    it) does not fit on its own.
    """
    sizes: list[int] = []
    i = 0
    while i < len(levels):
        top = [_must(flow)] if sizes else []
        k = i
        while k < len(levels) and _fits([*top, *levels[i : k + 1]], flow, node_factor):
            k += 1
        if k == i:
            message = f"the objective level {levels[i].name!r} alone is too large for exact 64-bit arithmetic"
            raise CostRangeError([InputIssue("policy", "", "weights", message, "cost_range")])
        sizes.append(k - i)
        i = k
    return tuple(sizes)


def _stage(levels: Sequence[Level], sizes: Sequence[int], flow: int, k: int) -> tuple[Level, ...]:
    """The levels stage ``k`` folds, ``must`` first from the second stage on."""
    lo = sum(sizes[:k])
    own = tuple(levels[lo : lo + sizes[k]])
    return (_must(flow), *own) if k else own


def stages_fit(levels: Sequence[Level], sizes: Sequence[int], flow: int, node_factor: int) -> bool:
    """Whether ``sizes`` splits ``levels`` into stages that each fold within exact int64."""
    if sum(sizes) != len(levels) or min(sizes, default=1) < 1:
        return False
    return all(_fits(_stage(levels, sizes, flow, k), flow, node_factor) for k in range(len(sizes)))


@dataclass(frozen=True, eq=False)
class Lexicographic:
    """Levels, maximised in order, and how they are grouped into stages (``sizes``).

    The last level carries the convex load cost (the network's load steps). ``priority`` and
    ``cost`` are the same order as two coarse levels, each within int64 (the exact no-overlap
    step solves them one after the other); ``flow`` bounds the number of chosen edges.
    """

    levels: tuple[Level, ...]
    sizes: tuple[int, ...]
    flow: int
    priority: I64
    cost: I64

    def __post_init__(self) -> None:
        if sum(self.sizes) != len(self.levels) or min(self.sizes, default=1) < 1:
            raise ValueError("stage sizes must split the levels")

    def stage(self, k: int) -> tuple[Level, ...]:
        """The levels of stage ``k``, ``must`` first from the second stage on."""
        return _stage(self.levels, self.sizes, self.flow, k)

    def names(self, k: int) -> tuple[str, ...]:
        """The names of stage ``k``'s own levels."""
        return tuple(lvl.name for lvl in self.stage(k) if lvl.name != MUST)

    @property
    def scale(self) -> int:
        """The multiplier of the last stage's first level."""
        return _scales(self.stage(len(self.sizes) - 1))[0]

    def weight(self, k: int, face: I8 | None) -> I64:
        """Stage ``k``'s folded weight per edge; ``face`` (from the stage before) is required from ``k = 1``."""
        levels = self.stage(k)
        scales = _scales(levels)
        weight = np.zeros(len(self.priority), dtype=np.int64)
        for lvl, scale in zip(levels, scales, strict=True):
            value = face if lvl.value is None else lvl.value
            if value is None:
                raise ValueError("a later stage needs the face of the stage before")
            weight += value.astype(np.int64, copy=False) * np.int64(lvl.sign * scale)
        # An edge off the face has must -1: its weight is negative (never chosen), as the scale
        # of must exceeds what the levels below can add on one edge.
        return weight


@njit(cache=True, nogil=True)
def _face(tail: Ids, head: Ids, weight: I64, u: I64, y: I64, out: I8) -> None:  # pragma: no cover - compiled
    for e in range(len(tail)):
        reduced = weight[e] - u[tail[e]] - y[head[e]]
        if reduced < 0:
            out[e] = -1
        else:
            out[e] = (reduced > 0) + (u[tail[e]] > 0) + (y[head[e]] > 0)


def face_of(fi: FlowInput, u: I64, y: I64) -> I8:
    """Per edge: -1 if no optimal selection of ``fi`` holds it, else its ``must`` count (see the module).

    Only for networks without load steps, where a priced volunteer is one that must be full.
    """
    if fi.left_step is not None:
        raise ValueError("a stage with load steps is the last one")
    out = np.empty(len(fi.tail), dtype=np.int8)
    _face(fi.tail, fi.head, fi.weight, u.astype(np.int64), y.astype(np.int64), out)
    return out


def _stage_input(base: FlowInput, lex: Lexicographic, k: int, face: I8 | None) -> FlowInput:
    last = k == len(lex.sizes) - 1
    return replace(base, weight=lex.weight(k, face), left_step=base.left_step if last else None)


def solve_stages(
    base: FlowInput, lex: Lexicographic, backend: Backend, *, sparsify: bool | None = None
) -> tuple[FlowInput, FlowSolution, tuple[StagePrices, ...]]:
    """Solve every stage on the optimal face of the one before.

    ``base`` is the network (its weights are not read). Returns the last stage's network and
    solution, and the proven-optimal prices of every earlier stage.
    """
    face: I8 | None = None
    prices: list[StagePrices] = []
    for k in range(len(lex.sizes)):
        fi = _stage_input(base, lex, k, face)
        flow = solve_flow(fi, backend, sparsify=sparsify)
        if k == len(lex.sizes) - 1:
            return fi, flow, tuple(prices)
        # The face must not depend on the backend: take the canonical (residual shortest-path) prices.
        u, y = (flow.u, flow.y) if flow.canonical_duals else flow_duals(fi, flow.chosen, within=flow.kept)
        check = check_duals(fi, flow.chosen, u, y)
        if not check.proves_optimal:
            raise SolverError(f"stage {k + 1} of the lexicographic solve is not proven optimal")
        prices.append(StagePrices(lex.names(k), u, y, check.dual))
        face = face_of(fi, u, y)
        del fi, flow
    raise AssertionError("unreachable: a lexicographic objective has at least one stage")


def check_stages(
    base: FlowInput, lex: Lexicographic, chosen: npt.NDArray[np.bool_], prices: Sequence[StagePrices]
) -> tuple[list[DualCheck], FlowInput]:
    """Check each earlier stage's prices against ``chosen``; return the checks and the last stage's network.

    Each stage's network is rebuilt from the prices of the stage before, as the solve built it.
    """
    if len(prices) != len(lex.sizes) - 1:
        raise ValueError("one set of prices per stage but the last")
    face: I8 | None = None
    checks: list[DualCheck] = []
    for k, stage in enumerate(prices):
        fi = _stage_input(base, lex, k, face)
        checks.append(check_duals(fi, chosen, stage.u, stage.y))
        face = face_of(fi, stage.u, stage.y)
    return checks, _stage_input(base, lex, len(prices), face)
