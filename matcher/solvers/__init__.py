"""Solver backends behind one registry; the backend is a parameter of :func:`matcher.match`.

``"augment"`` (default) is matcher's own compiled shortest-augmenting-path solver for pools where
every volunteer takes at most one activity, handing other networks to OR-Tools; ``"ortools"`` is
OR-Tools' compiled min-cost-flow; ``"highs"`` solves the same network LP with HiGHS' dual simplex;
``"networkx"`` is the pure-Python reference the tests compare with.
The default may change between versions; results are optimal whichever backend is used, but
equally good solutions may differ between backends.
"""

from __future__ import annotations

from matcher.errors import UnknownBackendError
from matcher.solvers.augment import solve_augment
from matcher.solvers.base import Backend, FlowInput
from matcher.solvers.highs_backend import solve_highs
from matcher.solvers.networkx_backend import solve_networkx
from matcher.solvers.ortools_backend import solve_ortools

__all__ = ["BACKENDS", "DEFAULT_BACKEND", "Backend", "FlowInput", "get_backend"]

BACKENDS: dict[str, Backend] = {
    "augment": solve_augment,
    "ortools": solve_ortools,
    "highs": solve_highs,
    "networkx": solve_networkx,
}

DEFAULT_BACKEND = "augment"


def get_backend(name: str | None) -> tuple[str, Backend]:
    """Resolve a backend name (``None`` = default) to ``(name, function)``."""
    key = DEFAULT_BACKEND if name is None else name
    try:
        return key, BACKENDS[key]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise UnknownBackendError(f"unknown backend {key!r}; choose one of: {known}") from None
